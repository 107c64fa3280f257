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

use super::ban::{banned, boosted};
use super::draw::{DrawParams, NonFiniteLogits, draw, draw_excluding};
use super::schedule::mask_rate;
use crate::tokenizer::{EOS, MASK, PAD};

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

    fn take_step(
        &mut self,
        x: &mut [Vec<u32>],
        source: Source,
        uniforms: &[f32],
        vocab: usize,
        k: usize,
    ) -> Result<(), SampleError> {
        let step = StepInputs {
            source,
            uniforms,
            vocab,
            k,
            t: self.t_at(k),
            s: self.t_at(k + 1),
            params: self.cfg.draw_params(),
            stop: Some(self.cfg.stop_temperature).filter(|t| *t > 0.0),
        };
        // One position's boosted logits (context bias), reused across positions and rows.
        let mut scratch: Vec<f32> = Vec::new();
        let mut rngs = std::mem::take(&mut self.rngs);
        let result =
            x.iter_mut()
                .zip(rngs.iter_mut())
                .enumerate()
                .try_for_each(|(row, (tokens, rng))| {
                    self.step_row(&step, row, tokens, rng, &mut scratch)
                });
        self.rngs = rngs;
        result
    }

    /// Reverse step on one row: draw its masked positions, choose which to reveal, write them.
    fn step_row(
        &self,
        step: &StepInputs,
        row: usize,
        tokens: &mut [u32],
        rng: &mut StdRng,
        scratch: &mut Vec<f32>,
    ) -> Result<(), SampleError> {
        let masked: Vec<usize> = (0..tokens.len()).filter(|&i| tokens[i] == MASK).collect();
        if masked.is_empty() {
            return Ok(());
        }
        let reveal = masked.len() - still_masked(tokens.len(), step.s).min(masked.len());
        let mut reply = RowReply::new(self, row, tokens);
        let mut draws =
            self.draw_masked(step, row, tokens.len(), &masked, reveal, &reply, scratch)?;
        let revealed = self.choose(step, &mut draws, reveal, rng);
        self.commit(step, row, tokens, revealed, &mut reply, scratch);
        if let Some(eos) = tokens.iter().position(|t| *t == EOS) {
            tokens[eos + 1..]
                .iter_mut()
                .filter(|t| **t == MASK)
                .for_each(|t| *t = PAD);
        }
        Ok(())
    }

    /// The block position `i` belongs to (0 for every position without blocks).
    fn block_of(&self, i: usize) -> usize {
        i.checked_div(self.cfg.block_len).unwrap_or(0)
    }

    /// A token and its probability for every masked position that can be revealed this step. The confidence
    /// strategy reveals `reveal` positions, earliest blocks first, so a position in a later block than the
    /// reveal-th masked one is not drawn (its uniform number was taken all the same, so replies are identical to
    /// drawing it).
    #[allow(clippy::too_many_arguments)]
    fn draw_masked(
        &self,
        step: &StepInputs,
        row: usize,
        len: usize,
        masked: &[usize],
        reveal: usize,
        reply: &RowReply,
        scratch: &mut Vec<f32>,
    ) -> Result<Vec<(usize, u32, f32)>, SampleError> {
        let lazy = self.lazy && self.cfg.strategy == Strategy::Confidence;
        let last_block = reveal.checked_sub(1).map(|r| self.block_of(masked[r])); // None: nothing is revealed
        let mut draws: Vec<(usize, u32, f32)> = Vec::with_capacity(masked.len());
        for &i in masked {
            if lazy && last_block.is_none_or(|b| self.block_of(i) > b) {
                continue;
            }
            let at = row * len + i;
            let error = SampleError {
                step: step.k,
                row,
                position: i,
            };
            let (tok, conf) = match step.source {
                Source::Logits(logits) => {
                    let l = boosted(
                        &logits[at * step.vocab..(at + 1) * step.vocab],
                        &reply.boost,
                        self.cfg.context_bias,
                        scratch,
                    );
                    let banned = reply.banned(self, i);
                    draw_excluding(l, step.params, step.uniforms[at], &banned, step.stop)
                        .or_else(|_| draw(l, step.params, step.uniforms[at]))
                        .map_err(|NonFiniteLogits| error)?
                }
                Source::Drawn(drawn) if drawn[at].prob.is_nan() => return Err(error),
                Source::Drawn(drawn) => (drawn[at].token, drawn[at].prob),
            };
            draws.push((i, tok, conf));
        }
        Ok(draws)
    }

    /// The drawn positions to reveal: the most confident `reveal` (earliest blocks first), or for the ancestral
    /// sampler each with probability (t − s) / t.
    fn choose(
        &self,
        step: &StepInputs,
        draws: &mut [(usize, u32, f32)],
        reveal: usize,
        rng: &mut StdRng,
    ) -> Vec<(usize, u32)> {
        let (t, s) = (step.t, step.s);
        match self.cfg.strategy {
            Strategy::Confidence => {
                draws.sort_by(|a, b| {
                    self.block_of(a.0)
                        .cmp(&self.block_of(b.0))
                        .then(b.2.total_cmp(&a.2))
                        .then(a.0.cmp(&b.0))
                });
                draws.iter().take(reveal).map(|d| (d.0, d.1)).collect()
            }
            Strategy::Ancestral => {
                let p_reveal = if t <= 0.0 { 1.0 } else { (t - s) / t };
                draws
                    .iter()
                    .filter(|_| s <= 0.0 || rng.random::<f32>() < p_reveal)
                    .map(|d| (d.0, d.1))
                    .collect()
            }
        }
    }

    /// Writes the revealed tokens. Positions revealed in one step were drawn without seeing each other: with the
    /// ban on, each is checked again against those committed before it (in reveal order) and, when it would now
    /// repeat one of them ("well well" written in one pass), drawn again from its logits without it.
    fn commit(
        &self,
        step: &StepInputs,
        row: usize,
        tokens: &mut [u32],
        revealed: Vec<(usize, u32)>,
        reply: &mut RowReply,
        scratch: &mut Vec<f32>,
    ) {
        let len = tokens.len();
        let recheck = self.cfg.no_repeat_ngram > 0
            && revealed.len() > 1
            && matches!(step.source, Source::Logits(_));
        for (i, mut tok) in revealed {
            if recheck {
                let banned = reply.banned(self, i);
                if banned.contains(&tok) {
                    let Source::Logits(logits) = step.source else {
                        unreachable!("checked above")
                    };
                    let at = row * len + i;
                    let boost: Vec<u32> = reply
                        .boost
                        .iter()
                        .copied()
                        .filter(|t| !reply.tokens.contains(t))
                        .collect();
                    let l = boosted(
                        &logits[at * step.vocab..(at + 1) * step.vocab],
                        &boost,
                        self.cfg.context_bias,
                        scratch,
                    );
                    tok = draw_excluding(l, step.params, step.uniforms[at], &banned, step.stop)
                        .map_or(tok, |(t, _)| t);
                }
            }
            tokens[i] = tok;
            if let Some(r) = reply.tokens.get_mut(reply.before + i) {
                *r = tok;
            }
        }
    }
}

/// What one reverse step shares across rows.
struct StepInputs<'a> {
    source: Source<'a>,
    uniforms: &'a [f32],
    vocab: usize,
    /// The step, 0-based, and its times: from t to s < t.
    k: usize,
    t: f32,
    s: f32,
    params: DrawParams,
    stop: Option<f32>,
}

/// One row's reply as the n-gram ban and the context bias see it during a step.
struct RowReply {
    /// The finished prefix (earlier blocks) and the positions being sampled; empty when neither the ban nor
    /// the bias reads it.
    tokens: Vec<u32>,
    /// Length of the prefix: position i of the sampled part is `tokens[before + i]`.
    before: usize,
    /// The context tokens the reply does not hold yet (a context word is copied at most once). The reply does
    /// not change during the step's draws (they are applied after), so this holds for every position.
    boost: Vec<u32>,
}

impl RowReply {
    fn new(sampler: &Sampler, row: usize, tokens: &[u32]) -> Self {
        let cfg = &sampler.cfg;
        let before = sampler.prefix.get(row).map_or(0, Vec::len);
        let reply: Vec<u32> = if cfg.no_repeat_ngram > 0 || cfg.context_bias != 0.0 {
            sampler
                .prefix
                .get(row)
                .into_iter()
                .flatten()
                .chain(tokens.iter())
                .copied()
                .collect()
        } else {
            Vec::new()
        };
        let boost: Vec<u32> = match sampler.context.get(row) {
            Some(ctx) if cfg.context_bias != 0.0 => {
                ctx.iter().copied().filter(|t| !reply.contains(t)).collect()
            }
            _ => Vec::new(),
        };
        Self {
            tokens: reply,
            before,
            boost,
        }
    }

    /// The tokens the n-gram ban forbids at sampled position `i`.
    fn banned(&self, sampler: &Sampler, i: usize) -> Vec<u32> {
        banned(
            sampler.cfg.no_repeat_ngram,
            &sampler.blank,
            &self.tokens,
            self.before + i,
        )
    }
}

/// How many of `len` positions the confidence schedule keeps masked at time `s`.
fn still_masked(len: usize, s: f32) -> usize {
    ((len as f32) * mask_rate(s)).round() as usize
}

#[cfg(test)]
#[path = "sampler_tests.rs"]
mod tests;
