//! Exemplar-guided diffusion's memory: the replies people wrote to the contexts most like this one (the exemplar
//! index, [`crate::retrieve`]) are read by the encoder, marked with a learned segment vector and appended to the
//! memory the denoiser cross-attends, after the condition slot and the context's states.
//!
//! The exemplars are read by the same encoder as the context (as listener turns, no reason tags), so they land in
//! the space the decoder's cross-attention already reads; a model fine-tuned from one without exemplars starts
//! from there. A row without exemplars (dropped in training, or nothing found) gets memory positions that are all
//! padding, which attention ignores: the same as no exemplar memory at all.

use burn::prelude::*;

use super::denoiser::EXEMPLAR_SEGMENT;
use super::{Condition, ROLE_LISTENER, ReflectDiffu};
use crate::tokenizer::{EOS, PAD};

/// Each row's exemplar replies as the encoder reads them: `k` sequences per row, [rows·k, width].
struct ExemplarTokens {
    ids: Tensor<2, Int>,
    /// True at the encoder's padding, [rows·k, width].
    encoder_pad: Tensor<2, Bool>,
    /// True where the decoder must not look, [rows, k·width]: padding, and every position of a missing exemplar.
    memory_pad: Tensor<2, Bool>,
    width: usize,
}

impl ExemplarTokens {
    /// `exemplars[row]`: up to `k` replies' token ids (without [EOS]), each cut to `max_len` tokens; `None`
    /// when no row has any.
    fn new(exemplars: &[&[Vec<u32>]], k: usize, max_len: usize, device: &Device) -> Option<Self> {
        let longest = exemplars
            .iter()
            .flat_map(|row| row.iter().take(k))
            .map(Vec::len)
            .max()
            .unwrap_or(0);
        if longest == 0 {
            return None;
        }
        let width = longest.min(max_len.max(1));
        let rows = exemplars.len();
        let (mut ids, mut encoder_pad, mut memory_pad) = (
            Vec::with_capacity(rows * k * width),
            Vec::with_capacity(rows * k * width),
            Vec::with_capacity(rows * k * width),
        );
        for row in exemplars {
            for j in 0..k {
                let reply = row.get(j).map_or(&[][..], |r| &r[..r.len().min(width)]);
                // A missing exemplar is one [EOS] to the encoder (a sequence with no token would leave attention
                // with nothing to attend) and nothing at all to the decoder.
                let seen = reply.len().max(1);
                for p in 0..width {
                    ids.push(i64::from(match reply.get(p) {
                        Some(&t) => t,
                        None if p == 0 => EOS,
                        None => PAD,
                    }));
                    encoder_pad.push(p >= seen);
                    memory_pad.push(p >= reply.len());
                }
            }
        }
        Some(Self {
            ids: Tensor::from_data(TensorData::new(ids, [rows * k, width]), device),
            encoder_pad: Tensor::from_data(TensorData::new(encoder_pad, [rows * k, width]), device),
            memory_pad: Tensor::from_data(TensorData::new(memory_pad, [rows, k * width]), device),
            width,
        })
    }
}

impl ReflectDiffu {
    /// Appends each row's exemplar replies (`exemplars[row]`, up to `k` of them, token ids without [EOS]) to
    /// the denoiser's memory in `cond`. Nothing changes for a model without exemplar slots, for `k` = 0 or when
    /// no row has an exemplar. Call before [`super::Denoiser::cache_memory`].
    pub fn attach_exemplars(&self, cond: &mut Condition, exemplars: &[&[Vec<u32>]], k: usize) {
        let Some(segment) = self.denoiser.exemplar_vector(EXEMPLAR_SEGMENT) else {
            return;
        };
        let device = cond.memory.device();
        let [rows, _, d] = cond.memory.dims();
        let max_len = self.encoder.max_len();
        let Some(tokens) = ExemplarTokens::new(exemplars, k, max_len, &device).filter(|_| k > 0)
        else {
            return;
        };
        let shape = tokens.ids.dims();
        let roles = Tensor::<2, Int>::full(shape, ROLE_LISTENER as i64, &device);
        let reasons = Tensor::<2, Int>::zeros(shape, &device);
        let states = self
            .encoder
            .states(tokens.ids, roles, reasons, tokens.encoder_pad, None)
            .reshape([rows, k * tokens.width, d])
            + segment;
        cond.memory = Tensor::cat(vec![cond.memory.clone(), states], 1);
        cond.memory_pad = Tensor::cat(vec![cond.memory_pad.clone(), tokens.memory_pad], 1);
        cond.memory_bias = cond
            .memory_bias
            .take()
            .map(|b| Tensor::cat(vec![b, Tensor::zeros([rows, k * tokens.width], &device)], 1));
    }
}
