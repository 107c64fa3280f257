//! The WGPU process: forward, backward, a sampling step and block diffusion's masked layouts, and our CubeCL
//! sampling kernel against the host sampler. Without a GPU it runs on Mesa's
//! software Vulkan (lavapipe: `apt-get install mesa-vulkan-drivers libvulkan1`), which needs 20–100 s to warm
//! up, so everything WGPU is in this one test (one process).
#![cfg(feature = "cli")]

mod common;

use burn::optim::GradientsParams;
use burn::prelude::*;
use common::sampling::{assert_distribution, assert_matches_host, assert_nll_matches_reference};
use common::*;
use reflectdiffu::diffusion::loss::masked_cross_entropy;
use reflectdiffu::diffusion::sampler::{Sampler, SamplerConfig};
use reflectdiffu::inputs::ids_tensor;
use reflectdiffu::kernels::{Implementation, fused_supported};
use reflectdiffu::model::Batch;
use reflectdiffu::tokenizer::MASK;

#[test]
fn wgpu_runs_forward_backward_and_a_sampling_step() {
    let device = Device::wgpu(DeviceKind::DefaultDevice).autodiff();
    let model = tiny_config().init(&device);
    let s = samples();
    let batch = Batch::new(&s.iter().collect::<Vec<_>>(), &device);
    let cond = condition(&model, &batch, &device);
    let x = reflectdiffu::diffusion::prior(2, REPLY);
    let t = Tensor::<1>::from_data(TensorData::new(vec![1.0f32, 1.0], [2]), &device);
    let logits = model.denoise(ids_tensor(&x, &device), t, &cond);
    let x0 = ids_tensor(
        &s.iter().map(|s| s.reply.clone()).collect::<Vec<_>>(),
        &device,
    );
    let loss = masked_cross_entropy(
        logits.clone(),
        x0.clone(),
        Tensor::ones([2, REPLY], &device),
    );
    assert!(loss.clone().into_scalar::<f32>().is_finite());
    let grads = GradientsParams::from_grads(loss.backward(), &model);
    assert!(!grads.is_empty());

    let mut sampler = Sampler::new(
        SamplerConfig {
            steps: 2,
            ..Default::default()
        },
        2,
    );
    let mut x = x;
    sampler
        .step(
            &mut x,
            &logits.into_data().try_into_vec_as::<f32>().unwrap(),
            VOCAB,
            0,
        )
        .unwrap();
    // half of each row is revealed (more if an [EOS] came out: the positions behind it become [PAD])
    assert!(x.iter().flatten().filter(|t| **t == MASK).count() <= REPLY);

    // Block diffusion's masked layouts (training [x_t ; x_0], sampling [block ; clean prefix]) run here too.
    let t = Tensor::<1>::from_data(TensorData::new(vec![0.5f32, 0.5], [2]), &device);
    let block = REPLY / 2;
    let train = model.denoise_train(ids_tensor(&x, &device), x0.clone(), t.clone(), &cond, block);
    assert_eq!(train.dims(), [2, REPLY, VOCAB]);
    let prefix: Vec<Vec<u32>> = s.iter().map(|s| s.reply[..block].to_vec()).collect();
    let noisy = reflectdiffu::diffusion::prior(2, block);
    let sampled = model.denoise_block(
        ids_tensor(&noisy, &device),
        Some(ids_tensor(&prefix, &device)),
        t,
        &cond,
        block,
    );
    assert_eq!(sampled.dims(), [2, block, VOCAB]);
    let values = sampled.into_data().try_into_vec_as::<f32>().unwrap();
    assert!(values.iter().all(|v| v.is_finite()));
}

#[test]
fn our_kernels_match_their_references() {
    let device = Device::wgpu(DeviceKind::DefaultDevice);
    assert!(fused_supported(&device));
    assert_matches_host(Implementation::Fused, &device);
    assert_distribution(Implementation::Fused, &device);
    assert_nll_matches_reference(Implementation::Fused, &device);
}
