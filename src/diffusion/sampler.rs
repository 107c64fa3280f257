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

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};

use super::draw::{NonFiniteLogits, draw};
use super::schedule::mask_rate;
use crate::tokenizer::{EOS, MASK, PAD};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Strategy {
    Confidence,
    Ancestral,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SamplerConfig {
    /// Reverse steps from t = 1 to t = 0.
    pub steps: usize,
    /// Softmax temperature; 0 means greedy.
    pub temperature: f32,
    /// Nucleus sampling mass in (0, 1].
    pub top_p: f32,
    pub strategy: Strategy,
    /// Confidence strategy only: write the reply in blocks of this many positions, left to right; 0 = one
    /// block (plain confidence order).
    pub block_len: usize,
    pub seed: u64,
}

impl Default for SamplerConfig {
    fn default() -> Self {
        Self {
            // One position per step, left to right, T 0.5: the best BLEU-1/2 of four settings on 300 ED valid
            // samples with the shipped checkpoint (README, "Choosing the sampler defaults").
            steps: 32,
            temperature: 0.5,
            top_p: 0.9,
            strategy: Strategy::Confidence,
            block_len: 1,
            seed: 0,
        }
    }
}

impl SamplerConfig {
    /// The config for the part of a request that starts at row `first_row`, so that row i of the whole request
    /// keeps seed `seed + i` however the request is cut into batches.
    pub fn from_row(&self, first_row: usize) -> Self {
        Self {
            seed: self.seed.wrapping_add(first_row as u64),
            ..self.clone()
        }
    }

    pub fn validate(&self) -> Result<(), String> {
        if self.steps == 0 {
            return Err("--steps must be at least 1".into());
        }
        if !(self.temperature >= 0.0 && self.temperature.is_finite()) {
            return Err(format!(
                "--temperature must be a finite number ≥ 0, found {}",
                self.temperature
            ));
        }
        if !(self.top_p > 0.0 && self.top_p <= 1.0) {
            return Err(format!("--top-p must be in (0, 1], found {}", self.top_p));
        }
        Ok(())
    }
}

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

/// One sampler per request; row `i` draws from its own RNG seeded with `seed + i`, so a reply does not depend on
/// which other rows share its batch.
pub struct Sampler {
    cfg: SamplerConfig,
    rngs: Vec<StdRng>,
    /// Skip the softmax of positions that cannot be revealed this step (off only to test that it changes
    /// nothing).
    lazy: bool,
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
            lazy: true,
        }
    }

    pub fn steps(&self) -> usize {
        self.cfg.steps
    }

    /// True when reverse step `k` reveals nothing in any row of `x` (the confidence schedule keeps every masked
    /// position masked, as happens when there are more steps than positions), so the denoiser need not run:
    /// `step` with empty logits then only advances the random streams as a full step would.
    pub fn idle_at(&self, x: &[Vec<u32>], k: usize) -> bool {
        if !(self.lazy && self.cfg.strategy == Strategy::Confidence) {
            return false;
        }
        let s = self.t_at(k + 1);
        x.iter().all(|row| {
            let masked = row.iter().filter(|t| **t == MASK).count();
            masked <= ((row.len() as f32) * mask_rate(s)).round() as usize
        })
    }

    /// Time at the start of step `k` (k = 0 is t = 1).
    pub fn t_at(&self, k: usize) -> f32 {
        1.0 - k as f32 / self.cfg.steps as f32
    }

    /// Reverse step `k`: `logits` is [rows, len, vocab] row-major for the current `x`. Fails, leaving `x`
    /// unchanged from that row on, when a masked position's logits are not finite.
    pub fn step(
        &mut self,
        x: &mut [Vec<u32>],
        logits: &[f32],
        vocab: usize,
        k: usize,
    ) -> Result<(), SampleError> {
        let (t, s) = (self.t_at(k), self.t_at(k + 1));
        for (row, (tokens, rng)) in x.iter_mut().zip(self.rngs.iter_mut()).enumerate() {
            let len = tokens.len();
            let masked: Vec<usize> = (0..len).filter(|&i| tokens[i] == MASK).collect();
            if masked.is_empty() {
                continue;
            }
            let block = |i: usize| i.checked_div(self.cfg.block_len).unwrap_or(0);
            // The confidence strategy reveals `reveal` positions, earliest blocks first, so a position in a later
            // block than the reveal-th masked one cannot be revealed this step: its softmax is skipped, but the
            // one random number its draw would use is still taken, so replies are identical to drawing it.
            let still_masked = ((len as f32) * mask_rate(s)).round() as usize;
            let reveal = masked.len() - still_masked.min(masked.len());
            let lazy = self.lazy && self.cfg.strategy == Strategy::Confidence;
            let last_block = reveal.checked_sub(1).map(|r| block(masked[r])); // None: nothing is revealed
            let mut draws: Vec<(usize, u32, f32)> = Vec::with_capacity(masked.len());
            for &i in &masked {
                if lazy && last_block.is_none_or(|b| block(i) > b) {
                    if self.cfg.temperature > 0.0 {
                        let _skipped: f32 = rng.random();
                    }
                    continue;
                }
                let off = (row * len + i) * vocab;
                let (tok, conf) = draw(
                    &logits[off..off + vocab],
                    self.cfg.temperature,
                    self.cfg.top_p,
                    rng,
                )
                .map_err(|NonFiniteLogits| SampleError {
                    step: k,
                    row,
                    position: i,
                })?;
                draws.push((i, tok, conf));
            }
            match self.cfg.strategy {
                Strategy::Confidence => {
                    draws.sort_by(|a, b| {
                        block(a.0)
                            .cmp(&block(b.0))
                            .then(b.2.total_cmp(&a.2))
                            .then(a.0.cmp(&b.0))
                    });
                    for &(i, tok, _) in draws.iter().take(reveal) {
                        tokens[i] = tok;
                    }
                }
                Strategy::Ancestral => {
                    let p_reveal = if t <= 0.0 { 1.0 } else { (t - s) / t };
                    for &(i, tok, _) in &draws {
                        if s <= 0.0 || rng.random::<f32>() < p_reveal {
                            tokens[i] = tok;
                        }
                    }
                }
            }
            if let Some(eos) = tokens.iter().position(|t| *t == EOS) {
                tokens[eos + 1..]
                    .iter_mut()
                    .filter(|t| **t == MASK)
                    .for_each(|t| *t = PAD);
            }
        }
        Ok(())
    }
}

/// Runs the whole reverse process from the all-[MASK] prior. `denoise(x, t)` returns [rows, len, vocab] logits.
pub fn generate(
    sampler: &mut Sampler,
    rows: usize,
    len: usize,
    vocab: usize,
    mut denoise: impl FnMut(&[Vec<u32>], f32) -> Vec<f32>,
) -> Result<Vec<Vec<u32>>, SampleError> {
    let mut x = super::prior(rows, len);
    for k in 0..sampler.steps() {
        // Every row has ended ([EOS], then [PAD]): the remaining steps would change nothing.
        if x.iter().all(|r| !r.contains(&MASK)) {
            break;
        }
        if sampler.idle_at(&x, k) {
            sampler.step(&mut x, &[], vocab, k)?;
            continue;
        }
        let logits = denoise(&x, sampler.t_at(k));
        sampler.step(&mut x, &logits, vocab, k)?;
    }
    Ok(x)
}

/// Block diffusion: writes the reply `block` positions at a time, left to right, running the sampler's reverse
/// steps inside each block; `denoise(prefix, block, t)` gets the clean reply so far ([rows][start]) and the noisy
/// block ([rows][width]) and returns [rows, width, vocab] logits. A row is finished once a block holds [EOS] (or
/// [PAD]); later blocks are not computed once every row is finished, and a block stops early when nothing in it is
/// masked. Returns [rows][len], [PAD] after the end.
pub fn generate_blocks(
    sampler: &mut Sampler,
    rows: usize,
    len: usize,
    block: usize,
    vocab: usize,
    mut denoise: impl FnMut(&[Vec<u32>], &[Vec<u32>], f32) -> Vec<f32>,
) -> Result<Vec<Vec<u32>>, SampleError> {
    let mut x: Vec<Vec<u32>> = vec![Vec::with_capacity(len); rows];
    let mut done = vec![false; rows];
    for start in (0..len).step_by(block.max(1)) {
        let width = block.max(1).min(len - start);
        let mut xb = super::prior(rows, width);
        for (row, finished) in xb.iter_mut().zip(&done) {
            if *finished {
                row.fill(PAD);
            }
        }
        for k in 0..sampler.steps() {
            if xb.iter().all(|r| !r.contains(&MASK)) {
                break;
            }
            if sampler.idle_at(&xb, k) {
                sampler.step(&mut xb, &[], vocab, k)?;
                continue;
            }
            let logits = denoise(&x, &xb, sampler.t_at(k));
            sampler.step(&mut xb, &logits, vocab, k)?;
        }
        for ((row, b), finished) in x.iter_mut().zip(&xb).zip(done.iter_mut()) {
            row.extend_from_slice(b);
            *finished |= b.iter().any(|t| *t == EOS || *t == PAD);
        }
        if done.iter().all(|d| *d) {
            break;
        }
    }
    for row in &mut x {
        if let Some(end) = row.iter().position(|t| *t == EOS || *t == PAD) {
            row[end + 1..].iter_mut().for_each(|t| *t = PAD);
        }
        row.resize(len, PAD);
    }
    Ok(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn random_logits(rows: usize, len: usize, vocab: usize, seed: u64) -> Vec<f32> {
        let mut rng = StdRng::seed_from_u64(seed);
        (0..rows * len * vocab)
            .map(|_| rng.random::<f32>() * 4.0)
            .collect()
    }

    #[test]
    fn sampler_never_rewrites_an_unmasked_token() {
        for strategy in [Strategy::Confidence, Strategy::Ancestral] {
            let cfg = SamplerConfig {
                steps: 6,
                strategy,
                ..Default::default()
            };
            let mut sampler = Sampler::new(cfg, 3);
            let mut x = crate::diffusion::prior(3, 10);
            x[0][4] = 99; // a token fixed before sampling starts
            let mut seen: Vec<Vec<u32>> = x.clone();
            for k in 0..6 {
                sampler
                    .step(&mut x, &random_logits(3, 10, 50, k as u64), 50, k)
                    .unwrap();
                for (r, row) in x.iter().enumerate() {
                    for (i, &tok) in row.iter().enumerate() {
                        if seen[r][i] != MASK {
                            assert_eq!(
                                tok, seen[r][i],
                                "{strategy:?} step {k} rewrote row {r} pos {i}"
                            );
                        }
                    }
                }
                seen = x.clone();
            }
            assert!(
                x.iter().flatten().all(|t| *t != MASK),
                "{strategy:?} left a [MASK] after the last step"
            );
            assert_eq!(x[0][4], 99);
        }
    }

    #[test]
    fn confidence_sampler_follows_the_schedule() {
        let mut sampler = Sampler::new(
            SamplerConfig {
                steps: 4,
                ..Default::default()
            },
            1,
        );
        let mut x = crate::diffusion::prior(1, 8);
        sampler
            .step(&mut x, &no_eos(random_logits(1, 8, 20, 3), 20), 20, 0)
            .unwrap();
        assert_eq!(x[0].iter().filter(|t| **t == MASK).count(), 6); // mask_rate(0.75) · 8
    }

    fn no_eos(mut logits: Vec<f32>, vocab: usize) -> Vec<f32> {
        logits
            .chunks_mut(vocab)
            .for_each(|l| l[EOS as usize] = -100.0);
        logits
    }

    #[test]
    fn blocks_are_written_left_to_right() {
        let cfg = SamplerConfig {
            steps: 4,
            block_len: 2,
            ..Default::default()
        };
        let mut sampler = Sampler::new(cfg, 1);
        let mut x = crate::diffusion::prior(1, 8);
        for k in 0..4 {
            sampler
                .step(
                    &mut x,
                    &no_eos(random_logits(1, 8, 20, k), 20),
                    20,
                    k as usize,
                )
                .unwrap();
            let revealed: Vec<bool> = x[0].iter().map(|t| *t != MASK).collect();
            assert!(
                revealed[..2 * (k as usize + 1)].iter().all(|r| *r),
                "step {k}: {:?}",
                x[0]
            );
            assert!(
                revealed[2 * (k as usize + 1)..].iter().all(|r| !*r),
                "step {k}: {:?}",
                x[0]
            );
        }
    }

    #[test]
    fn positions_after_a_revealed_eos_become_pad() {
        let vocab = 20;
        let mut logits = vec![0.0f32; 6 * vocab];
        for (i, l) in logits.chunks_mut(vocab).enumerate() {
            l[if i == 1 { EOS as usize } else { 10 + i }] = 50.0;
        }
        let cfg = SamplerConfig {
            steps: 3,
            temperature: 0.0,
            block_len: 2,
            ..Default::default()
        };
        let mut x = crate::diffusion::prior(1, 6);
        Sampler::new(cfg, 1)
            .step(&mut x, &logits, vocab, 0)
            .unwrap();
        assert_eq!(x[0], [10, EOS, PAD, PAD, PAD, PAD]);
    }

    #[test]
    fn same_seed_gives_same_tokens_and_forbidden_tokens_never_appear() {
        let run = |seed| {
            let mut s = Sampler::new(
                SamplerConfig {
                    seed,
                    steps: 3,
                    ..Default::default()
                },
                2,
            );
            generate(&mut s, 2, 6, 30, |x, _| random_logits(x.len(), 6, 30, 11)).unwrap()
        };
        assert_eq!(run(5), run(5));
        assert!(
            run(5)
                .iter()
                .flatten()
                .all(|t| !super::super::draw::FORBIDDEN.contains(t))
        );
    }

    #[test]
    fn nan_logits_are_a_typed_error_naming_the_step() {
        for strategy in [Strategy::Confidence, Strategy::Ancestral] {
            let cfg = SamplerConfig {
                steps: 4,
                strategy,
                ..Default::default()
            };
            let mut s = Sampler::new(cfg, 2);
            // Clean logits for steps 0 and 1, then NaN everywhere in row 1.
            let err = generate(&mut s, 2, 6, 30, |x, t| {
                let mut l = no_eos(random_logits(x.len(), 6, 30, 4), 30);
                if t < 0.6 {
                    l[6 * 30..].fill(f32::NAN);
                }
                l
            })
            .unwrap_err();
            assert_eq!(err.row, 1, "{strategy:?}");
            assert_eq!(err.step, 2, "{strategy:?}: {err}");
            assert!(err.to_string().contains("step 2"), "{err}");
        }
    }

    #[test]
    fn blocks_are_written_in_order_and_stop_after_eos() {
        // A denoiser that puts [EOS] at reply position 5 and token 10 + position elsewhere.
        let (rows, len, block, vocab) = (2, 12, 4, 30);
        let cfg = SamplerConfig {
            steps: 4,
            temperature: 0.0,
            block_len: 0,
            ..Default::default()
        };
        let mut s = Sampler::new(cfg, rows);
        let mut calls = Vec::new();
        let x = generate_blocks(&mut s, rows, len, block, vocab, |prefix, xb, _| {
            let start = prefix[0].len();
            calls.push(start);
            // every prefix is clean: no [MASK] before the block being written
            assert!(prefix.iter().flatten().all(|t| *t != MASK));
            let mut l = vec![0.0f32; rows * xb[0].len() * vocab];
            for (r, row) in l.chunks_mut(xb[0].len() * vocab).enumerate() {
                for (i, pos) in row.chunks_mut(vocab).enumerate() {
                    let p = start + i;
                    pos[if p == 5 { EOS as usize } else { 10 + p + r }] = 50.0;
                }
            }
            l
        })
        .unwrap();
        assert_eq!(x[0][..5], [10, 11, 12, 13, 14]);
        assert_eq!(x[0][5], EOS);
        assert!(x.iter().all(|r| r[6..].iter().all(|t| *t == PAD)));
        // blocks 0 and 1 only: after block 1 every row has ended, so block 2 is never computed
        assert!(calls.iter().all(|s| *s == 0 || *s == 4), "{calls:?}");
        assert!(calls.contains(&4));
    }

    #[test]
    fn skipping_unrevealable_draws_changes_no_token() {
        for (block_len, temperature, steps) in [
            (1, 0.5, 8),
            (2, 0.7, 8),
            (3, 0.0, 8),
            (0, 0.5, 8),
            (1, 0.5, 20), // more steps than positions: idle steps are skipped
        ] {
            let cfg = SamplerConfig {
                steps,
                block_len,
                temperature,
                ..Default::default()
            };
            let run = |lazy: bool| {
                let mut s = Sampler::new(cfg.clone(), 3);
                s.lazy = lazy;
                let mut calls = 0;
                // Logits depend on t, not on how many calls came before, as a real denoiser's would.
                let x = generate(&mut s, 3, 12, 40, |x, t| {
                    calls += 1;
                    random_logits(x.len(), 12, 40, (t * 1000.0) as u64)
                })
                .unwrap();
                (x, calls)
            };
            let ((lazy, lazy_calls), (full, full_calls)) = (run(true), run(false));
            assert_eq!(
                lazy, full,
                "block_len {block_len}, T {temperature}, {steps} steps"
            );
            assert!(lazy_calls <= full_calls);
            if steps > 12 {
                assert!(
                    lazy_calls <= 12,
                    "{lazy_calls} denoiser calls for 12 positions"
                );
            }
        }
    }

    #[test]
    fn generation_stops_once_every_row_has_ended() {
        // [EOS] is the most likely token everywhere: greedy left-to-right writes it first, then nothing is masked.
        let cfg = SamplerConfig {
            steps: 8,
            temperature: 0.0,
            ..Default::default()
        };
        let mut calls = 0;
        let x = generate(&mut Sampler::new(cfg, 2), 2, 8, 20, |x, _| {
            calls += 1;
            let mut l = vec![0.0f32; x.len() * 8 * 20];
            l.chunks_mut(20).for_each(|p| p[EOS as usize] = 9.0);
            l
        })
        .unwrap();
        assert_eq!(calls, 1);
        assert!(
            x.iter()
                .all(|r| r[0] == EOS && r[1..].iter().all(|t| *t == PAD))
        );
    }

    #[test]
    fn block_sampling_leaves_no_mask_writes_no_forbidden_token_and_is_seeded() {
        for strategy in [Strategy::Confidence, Strategy::Ancestral] {
            let run = |seed| {
                let cfg = SamplerConfig {
                    steps: 3,
                    seed,
                    strategy,
                    ..Default::default()
                };
                let mut s = Sampler::new(cfg, 3);
                generate_blocks(&mut s, 3, 10, 4, 30, |prefix, xb, t| {
                    // depends on the prefix, like a real denoiser
                    let salt = prefix.iter().flatten().map(|t| *t as u64).sum::<u64>();
                    no_eos(
                        random_logits(xb.len(), xb[0].len(), 30, salt + (t * 100.0) as u64),
                        30,
                    )
                })
                .unwrap()
            };
            let x = run(4);
            assert!(x.iter().all(|r| r.len() == 10), "{strategy:?}");
            assert!(
                x.iter().flatten().all(|t| *t != MASK),
                "{strategy:?}: {x:?}"
            );
            assert!(
                x.iter()
                    .flatten()
                    .all(|t| !super::super::draw::FORBIDDEN.contains(t)),
                "{strategy:?}"
            );
            assert_eq!(x, run(4), "{strategy:?}");
        }
    }
}
