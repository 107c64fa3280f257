//! One training forward pass, the validation pass and the learning-rate schedule.

use burn::nn::loss::CrossEntropyLossConfig;
use burn::prelude::*;
use rand::Rng;
use rand::SeedableRng;
use rand::rngs::StdRng;

use crate::diffusion::loss::masked_cross_entropy;
use crate::diffusion::{q_xt, sample_t};
use crate::model::{Batch, Condition, EncodedSample, ReflectDiffu, ids_tensor};

pub struct Losses {
    pub total: Tensor<1>,
    pub diffusion: Tensor<1>,
    pub emotion_logits: Tensor<2>,
}

/// Corrupts the replies at fresh times t and scores the denoiser; the decoder is conditioned on the gold
/// emotion (teacher forcing), sampling conditions on the predicted one. `block` is the diffusion block length
/// (`ModelConfig::block`): below the reply length, each noisy block sees the clean blocks before it.
pub fn forward(
    model: &ReflectDiffu,
    block: usize,
    samples: &[&EncodedSample],
    emotion_weight: f32,
    rng: &mut impl Rng,
    device: &Device,
) -> Losses {
    let rows = samples.len();
    let batch = Batch::new(samples, device);
    let ts = sample_t(rows, rng);
    let (mut xt, mut masked) = (
        Vec::with_capacity(rows),
        Vec::with_capacity(rows * samples[0].reply.len()),
    );
    for (s, &t) in samples.iter().zip(&ts) {
        let (x, m) = q_xt(&s.reply, t, rng);
        xt.push(x);
        masked.extend(m.into_iter().map(|m| if m { 1.0f32 } else { 0.0 }));
    }
    let len = samples[0].reply.len();
    let x0 = ids_tensor(
        &samples.iter().map(|s| s.reply.clone()).collect::<Vec<_>>(),
        device,
    );
    let masked = Tensor::<2>::from_data(TensorData::new(masked, [rows, len]), device);
    let enc = model.encode(&batch);
    let cond = Condition::unknown_intent(enc.h, batch.ctx_pad.clone(), batch.emotion.clone());
    let t = Tensor::<1>::from_data(TensorData::new(ts, [rows]), device);
    let logits = model.denoise_train(ids_tensor(&xt, device), x0.clone(), t, &cond, block);
    let diffusion = masked_cross_entropy(logits, x0, masked);
    let emotion = CrossEntropyLossConfig::new()
        .init(device)
        .forward(enc.emotion_logits.clone(), batch.emotion);
    Losses {
        total: diffusion.clone() + emotion * emotion_weight,
        diffusion,
        emotion_logits: enc.emotion_logits,
    }
}

pub struct ValidMetrics {
    pub diffusion_loss: f64,
    pub emotion_acc: f64,
}

/// Validation with a fixed corruption seed, so epochs are compared on the same noise.
pub fn validate(
    model: &ReflectDiffu,
    block: usize,
    set: &[EncodedSample],
    batch_size: usize,
    device: &Device,
) -> anyhow::Result<ValidMetrics> {
    let mut rng = StdRng::seed_from_u64(20_250_727);
    let (mut loss, mut correct, mut n) = (0.0f64, 0usize, 0usize);
    for chunk in set.chunks(batch_size) {
        let refs: Vec<&EncodedSample> = chunk.iter().collect();
        let out = forward(model, block, &refs, 0.0, &mut rng, device);
        loss += out.diffusion.into_scalar::<f32>() as f64 * chunk.len() as f64;
        let pred = out
            .emotion_logits
            .argmax(1)
            .into_data()
            .try_into_vec_as::<i64>()
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        correct += pred
            .iter()
            .zip(chunk)
            .filter(|(p, s)| **p as usize == s.emotion)
            .count();
        n += chunk.len();
    }
    Ok(ValidMetrics {
        diffusion_loss: loss / n.max(1) as f64,
        emotion_acc: correct as f64 / n.max(1) as f64,
    })
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
