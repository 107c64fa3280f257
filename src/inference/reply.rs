//! The reply path: encode a batch of contexts, read each one's emotion and choose its intent (the denoiser's
//! condition), then run the reverse diffusion and decode the replies.

use burn::prelude::*;
use burn::tensor::activation::softmax;
use burn::tensor::read_sync;

use super::{InferenceError, Reply, Responder, TopEmotions, host_async, until_eos};
use crate::data::{EMOTIONS, INTENTS};
use crate::diffusion::sampler::{Sampler, SamplerConfig};
use crate::diffusion::{generate_async, generate_blocks_async};
use crate::inputs::{EncodedSample, ids_tensor};
use crate::intent::judge::N_INTENTS;
use crate::intent::policy::{Chosen, IntentChoice, choose};
use crate::model::{Batch, Condition};
use crate::tokenizer::{TextTokenizer, TokenizerError};

/// What the encoder read from one context.
pub(super) struct RowRead {
    pub(super) emotions: TopEmotions,
    pub(super) intent: Chosen,
}

impl Responder {
    /// The same diffusion time for every row, [rows].
    fn same_t(&self, t: f32, rows: usize) -> Tensor<1> {
        Tensor::from_data(TensorData::new(vec![t; rows], [rows]), &self.device)
    }

    /// Encodes a batch of contexts and reads the emotion and chooses the intent: the denoiser's condition
    /// (conditioned on the most probable emotion and the chosen intent) and what was read from each row.
    /// `intents` forces each row's intent (the RL stage's sampled ones); `None` chooses by `self.intent`, a drawn
    /// intent from its own stream of the row's seed `seeds[i]`.
    pub(super) async fn condition(
        &self,
        encoded: &[EncodedSample],
        intents: Option<&[usize]>,
        seeds: &[u64],
    ) -> Result<(Condition, Vec<RowRead>), InferenceError> {
        let rows = encoded.len();
        let batch = Batch::new(&encoded.iter().collect::<Vec<_>>(), &self.device);
        let enc = self.model.encode(&batch);
        let mut probs = host_async(softmax(enc.emotion_logits, 1)).await?;
        let n_emo = EMOTIONS.len();
        if let Some(lexical) = &self.lexical {
            for (p, e) in probs.chunks_mut(n_emo).zip(encoded) {
                lexical.fuse(p, &e.lexical);
            }
        }
        let top: Vec<TopEmotions> = probs
            .chunks(n_emo)
            .map(|p| {
                let mut p: Vec<(usize, f32)> = p.iter().copied().enumerate().collect();
                p.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
                p.truncate(3);
                p
            })
            .collect();
        let policy = match enc.intent_logits {
            Some(l) => Some(host_async(softmax(l, 1)).await?),
            None => None,
        };
        let read: Vec<RowRead> = top
            .into_iter()
            .enumerate()
            .map(|(i, emotions)| RowRead {
                intent: choose(
                    intents.map_or(self.intent, |f| IntentChoice::Fixed(f[i])),
                    policy
                        .as_ref()
                        .map(|p| &p[i * N_INTENTS..(i + 1) * N_INTENTS]),
                    emotions[0].0,
                    intent_uniform(seeds[i]),
                ),
                emotions,
            })
            .collect();
        let emotion: Vec<i64> = read.iter().map(|r| r.emotions[0].0 as i64).collect();
        let intent: Vec<i64> = read.iter().map(|r| r.intent.0 as i64).collect();
        let mut cond = Condition {
            memory: enc.h,
            memory_pad: batch.ctx_pad,
            emotion: Tensor::from_data(TensorData::new(emotion, [rows]), &self.device),
            intent: Tensor::from_data(TensorData::new(intent, [rows]), &self.device),
            memory_bias: enc.reason_bias,
            memory_cache: None,
            draft_hint: None,
        };
        let exemplars: Vec<&[Vec<u32>]> = encoded.iter().map(|e| &e.exemplars[..]).collect();
        self.model
            .attach_exemplars(&mut cond, &exemplars, self.config.exemplar_count());
        self.model.denoiser.cache_memory(&mut cond);
        Ok((cond, read))
    }

    /// Replies to already-encoded contexts (one forward batch); `encoded[i]` samples with seed
    /// `cfg.seed + rows[i]`.
    pub(super) async fn respond_rows(
        &self,
        encoded: &[EncodedSample],
        rows: &[usize],
        cfg: &SamplerConfig,
    ) -> Result<Vec<Reply>, InferenceError> {
        let (cond, read) = self.condition(encoded, None, &row_seeds(rows, cfg)).await?;
        self.respond_conditioned(encoded, &cond, read, rows, cfg)
            .await
    }

    /// Replies to already-encoded contexts, row `i` written for intent `intents[i]` with seed `cfg.seed + i`
    /// (one forward batch; the RL stage's rollouts).
    pub fn respond_with_intents(
        &self,
        encoded: &[EncodedSample],
        intents: &[usize],
        cfg: &SamplerConfig,
    ) -> Result<Vec<Reply>, InferenceError> {
        let rows: Vec<usize> = (0..encoded.len()).collect();
        let (cond, read) =
            read_sync(self.condition(encoded, Some(intents), &row_seeds(&rows, cfg)))?;
        read_sync(self.respond_conditioned(encoded, &cond, read, &rows, cfg))
    }

    pub(super) async fn respond_conditioned(
        &self,
        encoded: &[EncodedSample],
        cond: &Condition,
        read: Vec<RowRead>,
        rows: &[usize],
        cfg: &SamplerConfig,
    ) -> Result<Vec<Reply>, InferenceError> {
        let seeds = row_seeds(rows, cfg);
        let rows = encoded.len();
        let drafts = self.drafts(encoded, &seeds, cfg)?;
        let (len, vocab) = (self.config.max_reply_len, self.config.vocab_size);
        let block = self.config.block();
        let tokens = if block < len {
            // `steps` is the budget of denoiser passes for the whole reply, shared by its blocks.
            let per_block = SamplerConfig {
                steps: (cfg.steps / len.div_ceil(block)).max(1),
                ..cfg.clone()
            };
            let mut sampler = Sampler::with_seeds(per_block, seeds);
            sampler.set_context(context_words(encoded));
            sampler.set_blank(self.blank_tokens.clone());
            generate_blocks_async(
                &mut sampler,
                rows,
                len,
                block,
                vocab,
                async |prefix, xb, t, u| {
                    let start = prefix[0].len();
                    let (xb, hinted) = drafts.show(xb, start, cond, &self.device);
                    let cond = hinted.as_ref().unwrap_or(cond);
                    let prefix = (start > 0).then(|| ids_tensor(prefix, &self.device));
                    let t = self.same_t(t, rows);
                    self.draw(self.model.denoise_block(xb, prefix, t, cond, block), u, cfg)
                        .await
                },
            )
            .await?
        } else {
            let mut sampler = Sampler::with_seeds(cfg.clone(), seeds);
            sampler.set_context(context_words(encoded));
            sampler.set_blank(self.blank_tokens.clone());
            generate_async(&mut sampler, rows, len, vocab, async |x, t, u| {
                let (x, hinted) = drafts.show(x, 0, cond, &self.device);
                let cond = hinted.as_ref().unwrap_or(cond);
                let t = self.same_t(t, rows);
                self.draw(self.model.denoise(x, t, cond), u, cfg).await
            })
            .await?
        };
        let mut out = Vec::with_capacity(rows);
        for ((toks, read), enc) in tokens.iter().zip(read).zip(encoded) {
            let toks = whole_sentences(&self.tokenizer, toks)?;
            out.push(Reply {
                // One space between words: ED's writers often put two after a full stop, and the model
                // copies them ("that's terrible.  i would…").
                text: self
                    .tokenizer
                    .decode(toks)?
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" "),
                tokens: toks.to_vec(),
                emotion: read
                    .emotions
                    .iter()
                    .map(|(e, p)| (EMOTIONS[*e].to_string(), *p))
                    .collect(),
                emotion_id: read.emotions[0].0,
                intent_id: read.intent.0,
                intents: read
                    .intent
                    .1
                    .iter()
                    .map(|(i, p)| (INTENTS[*i].to_string(), *p))
                    .collect(),
                truncated: enc.truncated,
            });
        }
        Ok(out)
    }
}

/// The seed of each row: `cfg.seed + row`.
pub(super) fn row_seeds(rows: &[usize], cfg: &SamplerConfig) -> Vec<u64> {
    rows.iter()
        .map(|r| cfg.seed.wrapping_add(*r as u64))
        .collect()
}

/// The uniform number a row's intent is drawn with: a stream of its seed apart from the reply's tokens, so that
/// drawing the intent leaves the reply's draws as they were.
fn intent_uniform(seed: u64) -> f32 {
    use rand::{RngExt, SeedableRng};
    rand::rngs::StdRng::seed_from_u64(seed ^ 0x1_7E47_D2A9).random::<f32>()
}

/// Tokens below this id are not copied by the context bias: the BPE vocabulary is in merge order, so these are
/// the bytes, the special tokens and the most frequent pieces and words ("the", "you", "that", "my", …). Copying
/// those lengthens replies and crowds out what carries their intent (docs/experiments/sampler-defaults.md).
const FIRST_CONTENT_TOKEN: u32 = 600;

/// Each row's distinct content tokens of the context (ids from [`FIRST_CONTENT_TOKEN`]).
fn context_words(encoded: &[EncodedSample]) -> Vec<Vec<u32>> {
    encoded
        .iter()
        .map(|e| {
            let mut ids: Vec<u32> = e
                .ctx_ids
                .iter()
                .copied()
                .filter(|&t| t >= FIRST_CONTENT_TOKEN)
                .collect();
            ids.sort_unstable();
            ids.dedup();
            ids
        })
        .collect()
}

/// The reply's tokens before [EOS]; a reply that ran out of positions before it ended is cut back to its last
/// finished sentence (when it has one), so that nobody reads "… did you get to have".
fn whole_sentences<'a>(
    tokenizer: &TextTokenizer,
    tokens: &'a [u32],
) -> Result<&'a [u32], TokenizerError> {
    let reply = until_eos(tokens);
    if reply.len() < tokens.len() {
        return Ok(reply);
    }
    for end in (1..=reply.len()).rev() {
        if tokenizer
            .decode(&reply[end - 1..end])?
            .ends_with(['.', '!', '?'])
        {
            return Ok(&reply[..end]);
        }
    }
    Ok(reply)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokenizer::{EOS, PAD};

    fn tokenizer() -> TextTokenizer {
        let texts = [
            "that is great.  i am glad you got it!",
            "what happened? i am so sorry.",
        ];
        let texts = texts.iter().cycle().take(40).map(|s| s.to_string());
        TextTokenizer::train(texts, 300).unwrap()
    }

    #[test]
    fn a_reply_that_runs_out_of_positions_keeps_its_finished_sentences() {
        let tok = tokenizer();
        let ids = tok.encode("that is great. i am glad you").unwrap().ids;
        let kept = whole_sentences(&tok, &ids).unwrap();
        assert_eq!(tok.decode(kept).unwrap(), "that is great.");
        // A reply that ended is cut at its [EOS], whatever it holds.
        let mut ended = ids.clone();
        ended.extend([EOS, PAD]);
        assert_eq!(whole_sentences(&tok, &ended).unwrap(), &ids[..]);
        // Without a sentence end there is nothing better to keep.
        let ids = tok.encode("i am glad you").unwrap().ids;
        assert_eq!(whole_sentences(&tok, &ids).unwrap(), &ids[..]);
    }

    #[test]
    fn the_double_space_is_a_blank_token_and_words_are_not() {
        let tok = tokenizer();
        let blank = tok.blank_tokens();
        let doubled = tok.encode("that is great.  i am glad").unwrap().ids;
        assert!(
            doubled.iter().any(|id| blank.contains(id)),
            "{doubled:?} {blank:?}"
        );
        let words = tok.encode("that is great. i am glad").unwrap().ids;
        assert!(
            words.iter().all(|id| !blank.contains(id)),
            "{words:?} {blank:?}"
        );
    }
}
