//! Masked-LM pre-training of the encoder (`train.mlm_steps`; issue 10 asked whether it pays at equal time): BERT's
//! objective on exactly what the encoder reads — a share of the context's word tokens is hidden behind [MASK]
//! (their reason tags too, which would give the word away) and the encoder guesses them through its own
//! word-embedding matrix. No emotion, reply or decoder takes part.

use burn::nn::loss::CrossEntropyLossConfig;
use burn::prelude::*;
use rand::{Rng, RngExt};

use crate::inputs::EncodedSample;
use crate::model::{Batch, ReflectDiffu};
use crate::tokenizer::{MASK, SPECIAL_TOKENS};

/// The batch with about `rate` of its word tokens masked, and the flat positions (row · width + column, width
/// the batch's longest context) and ids of what was hidden.
pub fn mask(
    samples: &[&EncodedSample],
    rate: f32,
    rng: &mut impl Rng,
) -> (Vec<EncodedSample>, Vec<i64>, Vec<i64>) {
    let width = samples.iter().map(|s| s.ctx_ids.len()).max().unwrap_or(0);
    let (mut masked, mut positions, mut targets) = (Vec::new(), Vec::new(), Vec::new());
    for (row, s) in samples.iter().enumerate() {
        let mut s = (*s).clone();
        for (col, id) in s.ctx_ids.iter_mut().enumerate() {
            if (*id as usize) >= SPECIAL_TOKENS.len() && rng.random::<f32>() < rate {
                positions.push((row * width + col) as i64);
                targets.push(i64::from(*id));
                *id = MASK;
                s.ctx_reasons[col] = crate::reason::NOEM;
            }
        }
        masked.push(s);
    }
    (masked, positions, targets)
}

/// The masked-LM cross-entropy of one batch (mean over hidden tokens); `None` when nothing was hidden.
pub fn loss(
    model: &ReflectDiffu,
    samples: &[&EncodedSample],
    rate: f32,
    rng: &mut impl Rng,
    device: &Device,
) -> Option<Tensor<1>> {
    let (masked, positions, targets) = mask(samples, rate, rng);
    if positions.is_empty() {
        return None;
    }
    let refs: Vec<&EncodedSample> = masked.iter().collect();
    let h = model.encode(&Batch::new(&refs, device)).h;
    let [rows, width, d] = h.dims();
    let n = positions.len();
    let picked = h.reshape([rows * width, d]).select(
        0,
        Tensor::<1, Int>::from_data(TensorData::new(positions, [n]), device),
    );
    Some(CrossEntropyLossConfig::new().init(device).forward(
        model.encoder.token_logits(picked),
        Tensor::from_data(TensorData::new(targets, [n]), device),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn masks_only_word_tokens_and_remembers_them() {
        let mut a = EncodedSample::with_reply_tokens(3);
        a.ctx_ids = vec![3, 6, 100, 101, 102, 5, 7, 103];
        a.ctx_roles = vec![2; 8];
        a.ctx_reasons = vec![1; 8];
        let mut b = a.clone();
        b.ctx_ids.truncate(4);
        b.ctx_roles.truncate(4);
        b.ctx_reasons.truncate(4);
        let mut rng = StdRng::seed_from_u64(0);
        let (m, pos, ids) = mask(&[&a, &b], 1.0, &mut rng);
        // Every word token is hidden (rate 1), no special token is; positions index the padded [2, 8] batch.
        assert_eq!(pos, vec![2, 3, 4, 7, 10, 11]);
        assert_eq!(ids, vec![100, 101, 102, 103, 100, 101]);
        assert_eq!(m[0].ctx_ids, vec![3, 6, MASK, MASK, MASK, 5, 7, MASK]);
        assert_eq!(m[0].ctx_reasons, vec![1, 1, 0, 0, 0, 1, 1, 0]);
        assert_eq!(m[1].ctx_ids, vec![3, 6, MASK, MASK]);
        let (_, none, _) = mask(&[&a], 1e-9, &mut rng);
        assert!(none.is_empty());
    }

    #[test]
    fn a_few_steps_learn_to_fill_in_a_context() {
        use burn::optim::{AdamWConfig, GradientsParams};
        let cfg = crate::train::RunConfig::load(std::path::Path::new("configs/tiny.json"))
            .expect("configs/tiny.json loads");
        let device = Device::flex().autodiff();
        device.seed(1);
        let mut model = cfg.model.init(&device);
        // Two contexts whose words always come in the same order: each hidden word is given by its neighbours.
        let sample = |ids: Vec<u32>| {
            let mut s = EncodedSample::with_reply_tokens(2);
            s.ctx_roles = vec![0; ids.len()];
            s.ctx_reasons = vec![0; ids.len()];
            s.ctx_ids = ids;
            s
        };
        let (a, b) = (sample((20..36).collect()), sample((40..56).collect()));
        let batch = [&a, &b, &a, &b];
        let mut optim = AdamWConfig::new().init();
        let score = |model: &ReflectDiffu| {
            let mut rng = StdRng::seed_from_u64(99);
            let loss = loss(&model.valid(), &batch, 0.3, &mut rng, &Device::flex());
            loss.unwrap().into_scalar::<f32>()
        };
        let before = score(&model);
        for step in 0..60 {
            let mut rng = StdRng::seed_from_u64(step);
            let l = loss(&model, &batch, 0.3, &mut rng, &device).unwrap();
            let grads = GradientsParams::from_grads(l.backward(), &model);
            model = optim.step(1e-2, model, grads);
        }
        let after = score(&model);
        assert!(after < 0.7 * before, "masked-LM loss {before} → {after}");
    }
}
