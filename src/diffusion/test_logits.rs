//! Logits for the sampler tests.

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use crate::tokenizer::EOS;

/// Uniform random logits in [0, 4), [rows, len, vocab] row-major.
pub fn random_logits(rows: usize, len: usize, vocab: usize, seed: u64) -> Vec<f32> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..rows * len * vocab)
        .map(|_| rng.random::<f32>() * 4.0)
        .collect()
}

/// The same logits with [EOS] made impossible, so that no position is filled with [PAD].
pub fn no_eos(mut logits: Vec<f32>, vocab: usize) -> Vec<f32> {
    logits
        .chunks_mut(vocab)
        .for_each(|l| l[EOS as usize] = -100.0);
    logits
}
