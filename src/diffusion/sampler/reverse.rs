//! One reverse step of the [`Sampler`], row by row: draw a token for every masked position that can be revealed,
//! choose which to reveal (by confidence, earliest blocks first, or MDLM's ancestral rule), write them with the
//! n-gram ban checked again across the step's own draws, and pad behind a revealed [EOS].

use rand::RngExt;
use rand::rngs::StdRng;

use super::super::ban::{banned, boosted};
use super::super::draw::{DrawParams, NonFiniteLogits, draw, draw_excluding};
use super::{SampleError, Sampler, Source, Strategy, still_masked};
use crate::tokenizer::{EOS, MASK, PAD};

impl Sampler {
    pub(super) fn take_step(
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
