//! Shared helpers for the tests: a tiny config and a hand-made batch for the model tests, and (in `cli`) helpers
//! for running the binary.
#![allow(dead_code)]

pub mod cli;
pub mod sampling;

use burn::prelude::*;
use reflectdiffu::inputs::EncodedSample;
use reflectdiffu::model::{Batch, Condition, ModelConfig};

pub const VOCAB: usize = 300;
pub const REPLY: usize = 10;

pub fn tiny_config() -> ModelConfig {
    ModelConfig::new(VOCAB)
        .with_d_model(32)
        .with_n_heads(2)
        .with_d_ff(64)
        .with_encoder_layers(1)
        .with_decoder_layers(1)
        .with_max_context_len(24)
        .with_max_reply_len(REPLY)
}

/// Two samples with contexts of different lengths (so padding is exercised).
pub fn samples() -> Vec<EncodedSample> {
    let s = |ctx: Vec<u32>, emotion| EncodedSample {
        ctx_roles: vec![0; ctx.len()],
        ctx_reasons: ctx.iter().map(|t| t % 2).collect(),
        ctx_ids: ctx,
        reply: (20..20 + REPLY as u32).collect(),
        emotion,
        intent: reflectdiffu::data::UNKNOWN_INTENT,
        truncated: false,
        lexical: Default::default(),
        exemplars: Vec::new(),
    };
    vec![
        s(vec![3, 6, 40, 41, 42, 43, 44], 5),
        s(vec![3, 6, 50, 51], 27),
    ]
}

pub fn condition(
    model: &reflectdiffu::model::ReflectDiffu,
    batch: &Batch,
    device: &Device,
) -> Condition {
    let enc = model.encode(batch);
    Condition {
        memory: enc.h,
        memory_pad: batch.ctx_pad.clone(),
        emotion: batch.emotion.clone(),
        intent: Tensor::from_data(TensorData::new(vec![9i64, 9], [2]), device),
        memory_bias: enc.reason_bias,
        memory_cache: None,
        draft_hint: None,
    }
}

/// A noisy reply for each of the two fixture samples, [2][REPLY] (all [MASK] in the first).
pub fn x_t() -> Vec<Vec<u32>> {
    vec![
        vec![2; REPLY],
        (20..20 + REPLY as u32)
            .map(|t| if t % 3 == 0 { 2 } else { t })
            .collect(),
    ]
}
