//! Reverse-process samplers. They take logits and return tokens; they know nothing of the network.
//!
//! * [`Strategy::Confidence`] — MaskGIT / LLaDA "low-confidence remasking": at each of `steps` steps, draw a
//!   token for every masked position, keep the most confident ones so that mask_rate(t) of the reply stays
//!   masked at the next t. With `block_len` > 0 the reply is split into blocks written left to right (LLaDA's
//!   semi-autoregressive remasking): positions in earlier blocks go first, confidence orders within a block.
//! * [`Strategy::Ancestral`] — MDLM's ancestral sampler: going from t to s < t, each masked position is revealed
//!   with probability (t − s)/t, its token drawn from the denoiser's x_0 distribution.
//!
//! After every step, masked positions behind a revealed [EOS] are set to [PAD] (the only token the data ever has
//! there), so no step is spent on them.
//!
//! Invariant (tested): a position that holds a token other than [MASK] is never written again.

pub use super::settings::{MAX_BIAS, MAX_STEPS, SamplerConfig, SettingsError, Strategy};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use super::schedule::mask_rate;
use crate::tokenizer::MASK;

/// A reverse step could not draw a token because the denoiser's logits were not finite.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the denoiser returned NaN or infinite logits at sampling step {step} (row {row}, reply position {position}); \
     the checkpoint's weights are probably corrupt: retrain or restore it"
)]
pub struct SampleError {
    /// Reverse step, 0-based (0 is t = 1).
    pub step: usize,
    pub row: usize,
    pub position: usize,
}

/// What the denoiser hands a reverse step: its logits, [rows, len, vocab] row-major, for the sampler to draw
/// from on the host; or one token already drawn per position, [rows, len] row-major (the fused GPU step in
/// `kernels/sample`, which drew them with the step's [`Sampler::uniforms`]).
pub enum Denoised {
    Logits(Vec<f32>),
    Drawn(Vec<Drawn>),
}

impl From<Vec<f32>> for Denoised {
    fn from(logits: Vec<f32>) -> Self {
        Self::Logits(logits)
    }
}

/// A token drawn at one position and its probability; a NaN probability means the position's logits were not
/// finite.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Drawn {
    pub token: u32,
    pub prob: f32,
}

/// A borrowed [`Denoised`].
#[derive(Clone, Copy)]
enum Source<'a> {
    Logits(&'a [f32]),
    Drawn(&'a [Drawn]),
}

/// One sampler per request; row `i` draws from its own RNG seeded with `seed + i`, so a reply does not depend on
/// which other rows share its batch.
pub struct Sampler {
    cfg: SamplerConfig,
    rngs: Vec<StdRng>,
    /// Each row's reply before the part being sampled (block diffusion's finished blocks), for the n-gram ban.
    prefix: Vec<Vec<u32>>,
    /// Each row's context tokens, for `context_bias`.
    context: Vec<Vec<u32>>,
    /// Tokens that are only white space, banned with the n-gram ban (`set_blank`).
    blank: Vec<u32>,
    /// Skip the softmax of positions that cannot be revealed this step (off only to test that it changes
    /// nothing).
    pub(super) lazy: bool,
}

impl Sampler {
    pub fn new(cfg: SamplerConfig, rows: usize) -> Self {
        let seeds = (0..rows as u64).map(|i| cfg.seed.wrapping_add(i)).collect();
        Self::with_seeds(cfg, seeds)
    }

    /// One row per seed (`cfg.seed` is not used): for requests whose rows are not numbered 0, 1, 2, …
    pub fn with_seeds(cfg: SamplerConfig, seeds: Vec<u64>) -> Self {
        let rngs = seeds.into_iter().map(StdRng::seed_from_u64).collect();
        Self {
            cfg,
            rngs,
            prefix: Vec::new(),
            context: Vec::new(),
            blank: Vec::new(),
            lazy: true,
        }
    }

    /// The rows' context tokens (the logits of these get `context_bias`).
    pub fn set_context(&mut self, context: Vec<Vec<u32>>) {
        self.context = context;
    }

    /// The tokens that are only white space: with the n-gram ban on they are never drawn, since they change
    /// nothing a reader sees but let a repeat through (". i" written again as ". ␣ i" is a new token bigram).
    pub fn set_blank(&mut self, blank: Vec<u32>) {
        self.blank = blank;
    }

    /// The rows' finished reply before the positions the next steps sample (block diffusion).
    pub fn set_prefix(&mut self, prefix: &[Vec<u32>]) {
        if self.cfg.no_repeat_ngram > 0 || self.cfg.context_bias != 0.0 {
            self.prefix = prefix.to_vec();
        }
    }

    pub fn steps(&self) -> usize {
        self.cfg.steps
    }

    /// True when reverse step `k` reveals nothing in any row of `x` (the confidence schedule keeps every masked
    /// position masked, as happens when there are more steps than positions), so the denoiser need not run:
    /// taking the step's [`Sampler::uniforms`] then advances the random streams as a full step would.
    pub fn idle_at(&self, x: &[Vec<u32>], k: usize) -> bool {
        if !(self.lazy && self.cfg.strategy == Strategy::Confidence) {
            return false;
        }
        let s = self.t_at(k + 1);
        x.iter().all(|row| {
            let masked = row.iter().filter(|t| **t == MASK).count();
            masked <= still_masked(row.len(), s)
        })
    }

    /// Time at the start of step `k` (k = 0 is t = 1).
    pub fn t_at(&self, k: usize) -> f32 {
        1.0 - k as f32 / self.cfg.steps as f32
    }

    /// The uniform numbers of one reverse step's draws, [rows, len] row-major: one per masked position, in
    /// position order, from each row's stream (0 elsewhere, and everywhere at temperature 0, which draws
    /// nothing). Taking them advances the streams; [`Sampler::apply`] then consumes them.
    pub fn uniforms(&mut self, x: &[Vec<u32>]) -> Vec<f32> {
        let sample = self.cfg.temperature > 0.0;
        let mut out = Vec::with_capacity(x.iter().map(Vec::len).sum());
        for (row, rng) in x.iter().zip(self.rngs.iter_mut()) {
            out.extend(row.iter().map(|t| {
                if sample && *t == MASK {
                    rng.random::<f32>()
                } else {
                    0.0
                }
            }));
        }
        out
    }

    /// Reverse step `k` on logits, [rows, len, vocab] row-major for the current `x` (host drawing).
    pub fn step(
        &mut self,
        x: &mut [Vec<u32>],
        logits: &[f32],
        vocab: usize,
        k: usize,
    ) -> Result<(), SampleError> {
        let u = self.uniforms(x);
        self.take_step(x, Source::Logits(logits), &u, vocab, k)
    }

    /// Reverse step `k` with this step's `uniforms` (from [`Sampler::uniforms`] on the same `x`). Fails, leaving
    /// `x` unchanged from that row on, when a position that could be revealed has non-finite logits.
    pub fn apply(
        &mut self,
        x: &mut [Vec<u32>],
        denoised: &Denoised,
        uniforms: &[f32],
        vocab: usize,
        k: usize,
    ) -> Result<(), SampleError> {
        let source = match denoised {
            Denoised::Logits(logits) => Source::Logits(logits),
            Denoised::Drawn(drawn) => Source::Drawn(drawn),
        };
        self.take_step(x, source, uniforms, vocab, k)
    }
}

/// How many of `len` positions the confidence schedule keeps masked at time `s`.
fn still_masked(len: usize, s: f32) -> usize {
    ((len as f32) * mask_rate(s)).round() as usize
}

mod reverse;

#[cfg(test)]
#[path = "sampler_tests.rs"]
mod tests;
