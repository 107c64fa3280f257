//! One training forward pass (the exemplar memory and the draft corruption included) and the learning-rate
//! schedule; the label losses are in `label_losses.rs`, validation in `validation.rs`.

use burn::prelude::*;
use rand::{Rng, RngExt};

use crate::data::UNKNOWN_INTENT;
use crate::diffusion::loss::{selected_cross_entropy, selection};
use crate::diffusion::{q_xt, sample_t};
use crate::inputs::{EncodedSample, ids_tensor};
use crate::model::{Batch, Condition, ReflectDiffu};
use crate::tokenizer::EOS;

use super::contrast;
use super::label_losses::{condition_emotion, emotion_loss, intent_loss, known_emotions};
pub use super::validation::{ValidMetrics, validate};

/// What a training pass computes besides the batch.
#[derive(Debug, Clone, Copy)]
pub struct StepOptions {
    /// Diffusion block length (`ModelConfig::block`).
    pub block: usize,
    /// Weight of the diffusion loss; 0 skips the decoder (encoder-only runs, for encoder ablations).
    pub diffusion_weight: f32,
    /// λ of the emotion cross-entropy.
    pub emotion_weight: f32,
    /// Score block models only up to the block holding the batch's last [EOS] (`train.length_buckets`).
    pub trim: bool,
    /// Weight and temperature of the polarity experts' loss (used when the model has experts and the batch
    /// comes with polarities).
    pub contrastive_weight: f32,
    pub contrastive_temperature: f32,
    /// Fraction of rows whose intent the decoder does not see (conditioned on "unknown").
    pub intent_dropout: f32,
    /// Weight of the intent policy's cross-entropy (when the model has a policy).
    pub intent_weight: f32,
    /// Fraction of rows whose exemplar memory is dropped (models with exemplars; `train.exemplar_dropout`).
    pub exemplar_dropout: f32,
    /// Fraction of rows with exemplars trained from draft-initialised corruptions (`train.draft_rate`).
    pub draft_rate: f32,
}

impl StepOptions {
    /// Validation: the diffusion loss alone, on full replies (not even that for an encoder-only run,
    /// `diffusion` false: its validation reads only the emotion accuracy).
    pub fn validation(block: usize, diffusion: bool) -> Self {
        Self {
            block,
            diffusion_weight: if diffusion { 1.0 } else { 0.0 },
            emotion_weight: 0.0,
            trim: false,
            contrastive_weight: 0.0,
            contrastive_temperature: 1.0,
            intent_dropout: 0.0,
            intent_weight: 0.0,
            exemplar_dropout: 0.0,
            draft_rate: 0.0,
        }
    }
}

pub struct Losses {
    pub total: Tensor<1>,
    pub diffusion: Tensor<1>,
    pub emotion_logits: Tensor<2>,
    /// The intent policy's logits, [batch, 9]; `None` without a policy.
    pub intent_logits: Option<Tensor<2>>,
}

/// Corrupts the replies at fresh times t and scores the denoiser; the decoder is conditioned on the gold
/// emotion (teacher forcing), sampling conditions on the predicted one. `block` is the diffusion block length
/// (`ModelConfig::block`): below the reply length, each noisy block sees the clean blocks before it. With `trim`
/// (block models only) the replies are cut after the block that holds the batch's last [EOS]: the sampler never
/// computes the blocks after a reply has ended, so training need not either.
pub fn forward(
    model: &ReflectDiffu,
    samples: &[&EncodedSample],
    polarity: Option<&[i8]>,
    opts: &StepOptions,
    rng: &mut impl Rng,
    device: &Device,
) -> Losses {
    let StepOptions {
        block,
        emotion_weight,
        trim,
        ..
    } = *opts;
    let full = samples[0].reply.len();
    let len = if trim && block < full {
        trimmed_width(samples, block)
    } else {
        full
    };
    let batch = Batch::new(samples, device);
    let enc = model.encode(&batch);
    let shown: Vec<i64> = samples
        .iter()
        .map(|s| {
            let hide = opts.intent_dropout > 0.0 && rng.random::<f32>() < opts.intent_dropout;
            (if hide { UNKNOWN_INTENT } else { s.intent }) as i64
        })
        .collect();
    let known = known_emotions(samples);
    let mut cond = Condition {
        memory: enc.h.clone(),
        memory_pad: batch.ctx_pad.clone(),
        emotion: condition_emotion(&known, &batch.emotion, &enc.emotion_logits, device),
        intent: Tensor::from_data(TensorData::new(shown, [samples.len()]), device),
        memory_bias: enc.reason_bias.clone(),
        memory_cache: None,
        draft_hint: None,
    };
    let drafts = attach_exemplars(model, &mut cond, samples, opts, rng);
    let diffusion = if opts.diffusion_weight > 0.0 {
        let corrupt = Corruption {
            len,
            block,
            drafts: &drafts,
        };
        diffusion_loss(model, &cond, samples, &corrupt, rng, device)
    } else {
        Tensor::<1>::zeros([1], device)
    };
    let emotion = emotion_loss(&known, enc.emotion_logits.clone(), batch.emotion, device);
    let weighted = if opts.diffusion_weight == 1.0 {
        diffusion.clone()
    } else {
        diffusion.clone() * opts.diffusion_weight
    };
    let mut total = weighted + emotion * emotion_weight;
    if let (Some(e), Some(labels)) = (&enc.experts, polarity)
        && opts.contrastive_weight > 0.0
        && let Some(c) = contrast::loss(
            e.z.clone(),
            e.gate_logit.clone(),
            labels,
            opts.contrastive_temperature,
        )
    {
        total = total + c * opts.contrastive_weight;
    }
    if let Some(logits) = &enc.intent_logits
        && opts.intent_weight > 0.0
        && let Some(l) = intent_loss(logits.clone(), samples, device)
    {
        total = total + l * opts.intent_weight;
    }
    Losses {
        total,
        diffusion,
        emotion_logits: enc.emotion_logits,
        intent_logits: enc.intent_logits,
    }
}

/// Gives the decoder each row's exemplar memory (models with exemplar slots whose samples carry exemplars):
/// dropped as a whole for `opts.exemplar_dropout` of the rows. Returns each row's draft for draft editing (the
/// best exemplar as a reply, [EOS] and [PAD] after it) and the share R of its positions left masked, for
/// `opts.draft_rate` of the rows that kept their exemplars; `None` elsewhere. Draws nothing for other models, so
/// their training noise is what it always was.
fn attach_exemplars(
    model: &ReflectDiffu,
    cond: &mut Condition,
    samples: &[&EncodedSample],
    opts: &StepOptions,
    rng: &mut impl Rng,
) -> Vec<Option<(Vec<u32>, f32)>> {
    let k = samples.iter().map(|s| s.exemplars.len()).max().unwrap_or(0);
    if k == 0 || !model.denoiser.has_exemplar_slots() {
        return vec![None; samples.len()];
    }
    let mut drafts = Vec::with_capacity(samples.len());
    let kept: Vec<&[Vec<u32>]> = samples
        .iter()
        .map(|s| {
            let keep = !s.exemplars.is_empty() && rng.random::<f32>() >= opts.exemplar_dropout;
            let draft = keep && opts.draft_rate > 0.0 && rng.random::<f32>() < opts.draft_rate;
            drafts.push(draft.then(|| {
                let r: f32 = rng.random();
                (
                    crate::inputs::padded_reply(&s.exemplars[0], s.reply.len()),
                    r,
                )
            }));
            if keep { &s.exemplars[..] } else { &[][..] }
        })
        .collect();
    model.attach_exemplars(cond, &kept, k);
    drafts
}

/// How [`diffusion_loss`] corrupts a batch: the first `len` reply positions, in blocks of `block`; rows with a
/// draft show its token instead of [MASK] at a masked position with probability 1 − R.
struct Corruption<'a> {
    len: usize,
    block: usize,
    drafts: &'a [Option<(Vec<u32>, f32)>],
}

/// Corrupts the first `len` reply tokens at fresh times t and scores the denoiser on the masked positions (a
/// position that shows a draft token counts as masked: it is still to be decided).
fn diffusion_loss(
    model: &ReflectDiffu,
    cond: &Condition,
    samples: &[&EncodedSample],
    corrupt: &Corruption,
    rng: &mut impl Rng,
    device: &Device,
) -> Tensor<1> {
    let Corruption { len, block, drafts } = *corrupt;
    let rows = samples.len();
    let ts = sample_t(rows, rng);
    let (mut xt, mut masked) = (Vec::with_capacity(rows), Vec::with_capacity(rows));
    let mut hint = vec![0.0f32; rows * len];
    for (row, (s, &t)) in samples.iter().zip(&ts).enumerate() {
        let (mut x, m) = q_xt(&s.reply[..len], t, rng);
        if let Some((draft, r)) = &drafts[row] {
            for i in 0..len {
                if m[i] && rng.random::<f32>() >= *r {
                    x[i] = draft[i];
                    hint[row * len + i] = 1.0;
                }
            }
        }
        xt.push(x);
        masked.push(m);
    }
    let mut cond = cond.clone();
    if drafts.iter().any(Option::is_some) {
        cond.draft_hint = Some(Tensor::from_data(
            TensorData::new(hint, [rows, len]),
            device,
        ));
    }
    let cond = &cond;
    let x0: Vec<Vec<u32>> = samples.iter().map(|s| s.reply[..len].to_vec()).collect();
    let t = Tensor::<1>::from_data(TensorData::new(ts, [rows]), device);
    let hidden = model.denoise_train_hidden(
        ids_tensor(&xt, device),
        ids_tensor(&x0, device),
        t,
        cond,
        block,
    );
    let (index, weight) = selection(&masked);
    if index.is_empty() {
        return Tensor::<1>::zeros([1], device);
    }
    let n = index.len();
    let targets: Vec<i64> = index
        .iter()
        .map(|&i| i64::from(x0[i as usize / len][i as usize % len]))
        .collect();
    let d = hidden.dims()[2];
    let picked = hidden.reshape([rows * len, d]).select(
        0,
        Tensor::<1, Int>::from_data(TensorData::new(index, [n]), device),
    );
    selected_cross_entropy(
        model.denoiser.project(picked),
        Tensor::from_data(TensorData::new(targets, [n]), device),
        Tensor::from_data(TensorData::new(weight, [n]), device),
    )
}

/// Reply positions a trimmed batch keeps: up to its longest reply ([EOS] included), rounded up to whole blocks.
fn trimmed_width(samples: &[&EncodedSample], block: usize) -> usize {
    let full = samples[0].reply.len();
    let longest = samples
        .iter()
        .map(|s| {
            s.reply
                .iter()
                .position(|&id| id == EOS)
                .map_or(full, |p| p + 1)
        })
        .max()
        .unwrap_or(full);
    longest.div_ceil(block).saturating_mul(block).min(full)
}

/// Linear warm-up to `peak`, then cosine decay to 10 % of it at `total`.
pub struct LrSchedule {
    pub peak: f64,
    pub warmup: usize,
    pub total: usize,
}

impl LrSchedule {
    pub fn at(&self, step: usize) -> f64 {
        if step < self.warmup {
            return self.peak * (step + 1) as f64 / self.warmup as f64;
        }
        let span = self.total.saturating_sub(self.warmup).max(1) as f64;
        let frac = ((step - self.warmup) as f64 / span).min(1.0);
        self.peak * (0.1 + 0.9 * 0.5 * (1.0 + (std::f64::consts::PI * frac).cos()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(reply_tokens: usize) -> EncodedSample {
        EncodedSample::with_reply_tokens(reply_tokens)
    }

    #[test]
    fn a_trimmed_batch_keeps_whole_blocks_up_to_its_last_eos() {
        let (a, b) = (sample(2), sample(8));
        // Longest reply: 8 tokens + [EOS] = 9 positions → three blocks of 4.
        assert_eq!(trimmed_width(&[&a, &b], 4), 12);
        assert_eq!(trimmed_width(&[&a], 4), 4);
        // [EOS] exactly at the end of a block needs no further block.
        assert_eq!(trimmed_width(&[&sample(3)], 4), 4);
        // A reply cut at the length limit has no [EOS] and keeps the whole width.
        assert_eq!(trimmed_width(&[&a, &sample(40)], 4), 32);
    }
}
