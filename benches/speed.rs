//! Speed of the two things users wait for: one reply at the default sampling settings (from the shipped
//! checkpoint) and one training step at the shipped config, on Flex (CPU) and WGPU.
//! Run: `cargo bench --bench speed` (WGPU needs a Vulkan driver; set BENCH_DEVICES=flex to skip it;
//! BENCH_CHECKPOINT=DIR times another checkpoint's replies).

mod common;

use std::path::Path;

use burn::optim::{AdamWConfig, GradientsParams};
use common::devices;
use criterion::{Criterion, criterion_group, criterion_main};
use rand::SeedableRng;
use rand::rngs::StdRng;
use reflectdiffu::checkpoint;
use reflectdiffu::diffusion::sampler::SamplerConfig;
use reflectdiffu::inputs::EncodedSample;
use reflectdiffu::train::RunConfig;
use reflectdiffu::train::clip::clip_global_norm;
use reflectdiffu::train::step::{StepOptions, forward};

/// `BENCH_CHECKPOINT=DIR` times another checkpoint's replies (e.g. a block-diffusion run); default: the shipped one.
fn reply(c: &mut Criterion) {
    reflectdiffu::train::reuse_freed_memory(); // as the CLI does
    let dir =
        std::env::var("BENCH_CHECKPOINT").unwrap_or_else(|_| checkpoint::DEFAULT_CHECKPOINT.into());
    let dir = Path::new(&dir);
    for (name, device) in devices() {
        let responder = checkpoint::load_responder(dir, &device).expect("a checkpoint to time");
        let context = vec!["I finally got the job I wanted after months of searching.".to_string()];
        // BENCH_NO_REPEAT_NGRAM=0 times the sampler without its n-gram ban, BENCH_STOP_TEMPERATURE=0 with one
        // temperature (shorter replies).
        let mut cfg = SamplerConfig::default();
        if let Ok(n) = std::env::var("BENCH_NO_REPEAT_NGRAM") {
            cfg.no_repeat_ngram = n.parse().expect("BENCH_NO_REPEAT_NGRAM is a number");
        }
        if let Ok(s) = std::env::var("BENCH_STOP_TEMPERATURE") {
            cfg.stop_temperature = s.parse().expect("BENCH_STOP_TEMPERATURE is a number");
        }
        c.bench_function(&format!("reply_default_steps/{name}"), |b| {
            b.iter(|| {
                responder
                    .respond(std::slice::from_ref(&context), &cfg)
                    .unwrap()
            })
        });
    }
}

/// A batch of the shipped config's shape: full-length contexts and replies of random token ids.
fn synthetic_batch(cfg: &RunConfig) -> Vec<EncodedSample> {
    let m = &cfg.model;
    let mut rng = StdRng::seed_from_u64(0);
    use rand::RngExt;
    (0..cfg.train.batch_size)
        .map(|i| EncodedSample {
            ctx_ids: (0..m.max_context_len)
                .map(|_| rng.random_range(8..m.vocab_size as u32))
                .collect(),
            ctx_roles: vec![0; m.max_context_len],
            ctx_reasons: vec![0; m.max_context_len],
            reply: (0..m.max_reply_len)
                .map(|_| rng.random_range(8..m.vocab_size as u32))
                .collect(),
            emotion: i % 32,
            intent: i % 10,
            truncated: false,
            lexical: Default::default(),
            exemplars: Vec::new(),
        })
        .collect()
}

/// The supervised step's options of the benchmarks: every sample at full length, no contrastive term, no intent
/// dropout (so the work does not depend on the draw).
fn step_options(cfg: &RunConfig) -> StepOptions {
    StepOptions {
        block: cfg.model.block(),
        diffusion_weight: 1.0,
        emotion_weight: 1.0,
        trim: false,
        contrastive_weight: 0.0,
        contrastive_temperature: 1.0,
        intent_dropout: 0.0,
        intent_weight: cfg.train.intent_weight,
        exemplar_dropout: 0.0,
        draft_rate: 0.0,
    }
}

/// The run config the training-step benchmarks measure: BENCH_CHECKPOINT=DIR's (shapes, block length, options),
/// the shipped checkpoint's by default; with the allocator setting the CLI uses.
fn step_config() -> RunConfig {
    reflectdiffu::train::reuse_freed_memory(); // as the CLI does
    let dir = std::env::var("BENCH_CHECKPOINT").unwrap_or(checkpoint::DEFAULT_CHECKPOINT.into());
    checkpoint::read_json(Path::new(&dir), checkpoint::CONFIG).expect("a checkpoint's config.json")
}

fn train_step(c: &mut Criterion) {
    let cfg = step_config();
    let batch = synthetic_batch(&cfg);
    let refs: Vec<&EncodedSample> = batch.iter().collect();
    for (name, device) in devices() {
        let device = device.autodiff();
        let mut model = Some(cfg.model.init(&device));
        let mut optim = AdamWConfig::new().init();
        let mut rng = StdRng::seed_from_u64(1);
        c.bench_function(&format!("train_step_shipped_config/{name}"), |b| {
            b.iter(|| {
                let m = model.take().unwrap();
                let opts = step_options(&cfg);
                let losses = forward(&m, &refs, None, &opts, &mut rng, &device);
                let _ = losses.total.clone().into_scalar::<f32>();
                let mut grads = GradientsParams::from_grads(losses.total.backward(), &m);
                // As train does: clip the global norm (one extra reduction and read-back per step).
                clip_global_norm(&m, &mut grads, 1.0);
                model = Some(optim.step(1e-4, m, grads));
            })
        });
    }
}

/// The same step as `train_step`, each phase timed on its own (`iter_custom` counts only that phase's time):
/// the forward pass with the losses, the backward pass into gradients, and clipping with the AdamW update.
fn train_step_phases(c: &mut Criterion) {
    use std::time::{Duration, Instant};
    let cfg = step_config();
    let batch = synthetic_batch(&cfg);
    let refs: Vec<&EncodedSample> = batch.iter().collect();
    let opts = step_options(&cfg);
    for (name, device) in devices() {
        let device = device.autodiff();
        for phase in ["forward", "backward", "optimizer"] {
            let mut model = Some(cfg.model.init(&device));
            let mut optim = AdamWConfig::new().init();
            let mut rng = StdRng::seed_from_u64(1);
            c.bench_function(&format!("train_step_phase_{phase}/{name}"), |b| {
                b.iter_custom(|iters| {
                    let mut spent = Duration::ZERO;
                    for _ in 0..iters {
                        let m = model.take().unwrap();
                        let t0 = Instant::now();
                        let losses = forward(&m, &refs, None, &opts, &mut rng, &device);
                        let _ = losses.total.clone().into_scalar::<f32>();
                        let t1 = Instant::now();
                        let mut grads = GradientsParams::from_grads(losses.total.backward(), &m);
                        let t2 = Instant::now();
                        clip_global_norm(&m, &mut grads, 1.0);
                        model = Some(optim.step(1e-4, m, grads));
                        let t3 = Instant::now();
                        spent += match phase {
                            "forward" => t1 - t0,
                            "backward" => t2 - t1,
                            _ => t3 - t2,
                        };
                    }
                    spent
                })
            });
        }
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).warm_up_time(std::time::Duration::from_secs(3));
    targets = reply, train_step, train_step_phases
}
criterion_main!(benches);
