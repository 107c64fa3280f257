//! Block diffusion's two layouts (training on [x_t ; x_0], sampling one block next to the clean ones) and the
//! decoder's cached cross-attention keys and values give the logits of the plain path.

mod common;

use burn::prelude::*;
use common::*;
use reflectdiffu::inputs::{EncodedSample, ids_tensor};
use reflectdiffu::model::{Batch, Condition, ReflectDiffu};

/// A tiny model with blocks of `block` tokens, the two fixture samples, and their condition.
fn block_model(block: usize) -> (Device, ReflectDiffu, Vec<EncodedSample>, Condition) {
    let device = Device::flex();
    let model = tiny_config().with_block_len(Some(block)).init(&device);
    let s = samples();
    let batch = Batch::new(&s.iter().collect::<Vec<_>>(), &device);
    let cond = condition(&model, &batch, &device);
    (device, model, s, cond)
}

#[test]
fn block_diffusion_scores_each_block_in_training_as_it_samples_it() {
    // REPLY = 10 tokens in blocks of 5: block 1 of the training layout [x_t ; x_0] must give the same logits as
    // sampling block 1 next to the clean block 0.
    let block = 5;
    let (device, model, s, cond) = block_model(block);
    let t = Tensor::<1>::from_data(TensorData::new(vec![0.5f32, 0.9], [2]), &device);
    let x0: Vec<Vec<u32>> = s.iter().map(|s| s.reply.clone()).collect();
    let xt = x_t();
    let train = model.denoise_train(
        ids_tensor(&xt, &device),
        ids_tensor(&x0, &device),
        t.clone(),
        &cond,
        block,
    );
    assert_eq!(train.dims(), [2, REPLY, VOCAB]);
    let noisy: Vec<Vec<u32>> = xt.iter().map(|r| r[block..].to_vec()).collect();
    let prefix: Vec<Vec<u32>> = x0.iter().map(|r| r[..block].to_vec()).collect();
    let sample = model.denoise_block(
        ids_tensor(&noisy, &device),
        Some(ids_tensor(&prefix, &device)),
        t.clone(),
        &cond,
        block,
    );
    assert_close(sample, train.clone().slice([0..2, block..REPLY]));
    // Block 0 sees no clean prefix, in both layouts.
    let first: Vec<Vec<u32>> = xt.iter().map(|r| r[..block].to_vec()).collect();
    let sample0 = model.denoise_block(ids_tensor(&first, &device), None, t, &cond, block);
    assert_close(sample0, train.slice([0..2, 0..block]));
}

#[test]
fn cached_encoder_keys_and_values_give_the_same_logits() {
    // The keys and values of H projected once per request (what inference does) against every pass.
    let block = 5;
    let (device, model, s, cond) = block_model(block);
    let mut cached = cond.clone();
    model.denoiser.cache_memory(&mut cached);
    assert!(cached.memory_cache.is_some());
    let t = Tensor::<1>::from_data(TensorData::new(vec![0.3f32, 0.8], [2]), &device);
    let xt = x_t();
    let full = |c: &Condition| model.denoise(ids_tensor(&xt, &device), t.clone(), c);
    assert_close(full(&cached), full(&cond));
    let prefix: Vec<Vec<u32>> = s.iter().map(|s| s.reply[..block].to_vec()).collect();
    let noisy: Vec<Vec<u32>> = xt.iter().map(|r| r[block..2 * block].to_vec()).collect();
    let in_block = |c: &Condition| {
        model.denoise_block(
            ids_tensor(&noisy, &device),
            Some(ids_tensor(&prefix, &device)),
            t.clone(),
            c,
            block,
        )
    };
    assert_close(in_block(&cached), in_block(&cond));
}

fn assert_close(a: Tensor<3>, b: Tensor<3>) {
    assert_eq!(a.dims(), b.dims());
    let (a, b) = (
        a.into_data().try_into_vec::<f32>().unwrap(),
        b.into_data().try_into_vec::<f32>().unwrap(),
    );
    let worst = a
        .iter()
        .zip(&b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0f32, f32::max);
    assert!(worst < 1e-4, "largest difference {worst}");
}
