//! kernels/ against burn's op chain: the fused sampling step and the fused scoring NLL on their own, and one reply
//! (and a batch of 64) end to end with and without the sampling kernel. Run: `cargo bench --bench kernels` (needs
//! a Vulkan driver for WGPU; on a machine without a GPU that is lavapipe, a CPU, so read its numbers as "the code
//! runs", not as GPU speed). `BENCH_DEVICES=flex` times only the CPU rows.

mod common;

use std::path::Path;

use burn::prelude::*;
use common::devices;
use criterion::{Criterion, criterion_group, criterion_main};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use reflectdiffu::checkpoint;
use reflectdiffu::diffusion::draw::{DrawParams, draw};
use reflectdiffu::diffusion::sampler::SamplerConfig;
use reflectdiffu::kernels::Implementation;
use reflectdiffu::kernels::sample::sample;

/// One block-diffusion step of a 64-row batch: 64 rows × 4 positions × the shipped 6,000-token vocabulary.
const POSITIONS: usize = 256;
const VOCAB: usize = 6000;

fn sampling_step(c: &mut Criterion) {
    let mut rng = StdRng::seed_from_u64(0);
    let logits: Vec<f32> = (0..POSITIONS * VOCAB)
        .map(|_| rng.random::<f32>() * 8.0)
        .collect();
    let uniforms: Vec<f32> = (0..POSITIONS).map(|_| rng.random::<f32>()).collect();
    let params = SamplerConfig::default().draw_params();
    for (name, device) in devices() {
        let l =
            Tensor::<2>::from_data(TensorData::new(logits.clone(), [POSITIONS, VOCAB]), &device);
        let u = Tensor::<1>::from_data(TensorData::new(uniforms.clone(), [POSITIONS]), &device);
        let mut group = c.benchmark_group(format!("sample_step_256x6000/{name}"));
        // The logits are already on the device (as the denoiser leaves them); each variant ends with what the
        // sampler needs on the host.
        group.bench_function("host: read back logits + draw", |b| {
            b.iter(|| host_draw(l.clone(), &uniforms, params))
        });
        group.bench_function("reference: tensor ops", |b| {
            b.iter(|| {
                read(sample(
                    l.clone(),
                    u.clone(),
                    params,
                    Implementation::Reference,
                ))
            })
        });
        if name == "wgpu" {
            group.bench_function("fused: CubeCL kernel", |b| {
                b.iter(|| read(sample(l.clone(), u.clone(), params, Implementation::Fused)))
            });
        }
        group.finish();
    }
}

/// The scoring NLL of one ELBO pass over a 64-row batch of 32-token replies: 2,048 positions × 6,000 tokens.
fn nll(c: &mut Criterion) {
    use reflectdiffu::kernels::nll::token_nll;
    let n = 64 * 32;
    let mut rng = StdRng::seed_from_u64(1);
    let logits: Vec<f32> = (0..n * VOCAB).map(|_| rng.random::<f32>() * 8.0).collect();
    let targets: Vec<i64> = (0..n).map(|_| rng.random_range(0..VOCAB as i64)).collect();
    for (name, device) in devices() {
        let l = Tensor::<2>::from_data(TensorData::new(logits.clone(), [n, VOCAB]), &device);
        let t = Tensor::<1, Int>::from_data(TensorData::new(targets.clone(), [n]), &device);
        let mut group = c.benchmark_group(format!("token_nll_2048x6000/{name}"));
        let mut options = vec![("op chain: log_softmax + gather", Implementation::Reference)];
        if name == "wgpu" {
            options.push(("fused: CubeCL kernel", Implementation::Fused));
        }
        for (label, implementation) in options {
            group.bench_function(label, |b| {
                b.iter(|| {
                    token_nll(l.clone(), t.clone(), implementation)
                        .into_data()
                        .iter::<f32>()
                        .sum::<f32>()
                })
            });
        }
        group.finish();
    }
}

fn host_draw(logits: Tensor<2>, uniforms: &[f32], params: DrawParams) -> Vec<u32> {
    let values = logits.into_data().try_into_vec::<f32>().unwrap();
    values
        .chunks(VOCAB)
        .zip(uniforms)
        .map(|(row, u)| draw(row, params, *u).unwrap().0)
        .collect()
}

fn read((tokens, probs): (Tensor<1, Int>, Tensor<1>)) -> (Vec<i64>, Vec<f32>) {
    (
        tokens.into_data().iter::<i64>().collect(),
        probs.into_data().iter::<f32>().collect(),
    )
}

/// Replies from the shipped checkpoint, drawing on the host vs on the device.
fn replies(c: &mut Criterion) {
    let dir = Path::new(checkpoint::DEFAULT_CHECKPOINT);
    let context = vec!["I finally got the job I wanted after months of searching.".to_string()];
    let batch: Vec<Vec<String>> = vec![context.clone(); 64];
    let cfg = SamplerConfig::default();
    for (name, device) in devices() {
        let mut responder =
            checkpoint::load_responder(dir, &device).expect("the shipped checkpoint");
        // (The reference on WGPU is left out: its vocabulary sort takes 14 s per step on lavapipe.)
        let options = if name == "wgpu" {
            vec![
                ("host draw", None),
                ("fused kernel", Some(Implementation::Fused)),
            ]
        } else {
            vec![
                ("host draw", None),
                ("reference", Some(Implementation::Reference)),
            ]
        };
        let mut group = c.benchmark_group(format!("reply/{name}"));
        for (label, draw_on_device) in options {
            responder.draw_on_device = draw_on_device;
            group.bench_function(format!("1 reply, {label}"), |b| {
                b.iter(|| {
                    responder
                        .respond(std::slice::from_ref(&context), &cfg)
                        .unwrap()
                })
            });
            group.bench_function(format!("64 replies, {label}"), |b| {
                b.iter(|| responder.respond(&batch, &cfg).unwrap())
            });
        }
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).warm_up_time(std::time::Duration::from_secs(3));
    targets = sampling_step, nll, replies
}
criterion_main!(benches);
