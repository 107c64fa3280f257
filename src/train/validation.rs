//! Validation: the diffusion loss on fixed corruption noise, the emotion head's accuracy (on the samples with an
//! emotion label) and the intent policy's.

use burn::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;

use super::step::{StepOptions, forward};
use crate::data::UNKNOWN_INTENT;
use crate::inputs::EncodedSample;
use crate::model::ReflectDiffu;
use crate::train::{Result, TrainError};

pub struct ValidMetrics {
    pub diffusion_loss: f64,
    /// Fraction (0–1), as logged since the first runs; `None` when no valid sample has an emotion label.
    pub emotion_acc: Option<f64>,
    /// Macro-F1 over the 32 emotions, in %; `None` as `emotion_acc`.
    pub emotion_macro_f1: Option<f64>,
    /// The intent policy's accuracy on the rows with a known intent, in %; `None` without a policy or labels.
    pub intent_acc: Option<f64>,
}

/// Validation with a fixed corruption seed, so epochs are compared on the same noise.
pub fn validate(
    model: &ReflectDiffu,
    block: usize,
    diffusion: bool,
    set: &[EncodedSample],
    batch_size: usize,
    device: &Device,
) -> Result<ValidMetrics> {
    let mut rng = StdRng::seed_from_u64(20_250_727);
    let (mut loss, mut n) = (0.0f64, 0usize);
    let (mut gold, mut predicted) = (Vec::new(), Vec::new());
    let (mut intent_right, mut intent_rows) = (0usize, 0usize);
    for chunk in set.chunks(batch_size) {
        let refs: Vec<&EncodedSample> = chunk.iter().collect();
        let out = forward(
            model,
            &refs,
            None,
            &StepOptions::validation(block, diffusion),
            &mut rng,
            device,
        );
        loss += out.diffusion.into_scalar::<f32>() as f64 * chunk.len() as f64;
        let pred = out
            .emotion_logits
            .argmax(1)
            .into_data()
            .try_into_vec_as::<i64>()
            .map_err(|e| TrainError::Run(format!("{e:?}")))?;
        // (scored on the rows with an emotion label only: data without labels has no accuracy to report)
        for (p, s) in pred.iter().zip(chunk) {
            if s.emotion < crate::data::EMOTIONS.len() {
                predicted.push(*p as usize);
                gold.push(s.emotion);
            }
        }
        if let Some(logits) = out.intent_logits {
            let pred = logits
                .argmax(1)
                .into_data()
                .try_into_vec_as::<i64>()
                .map_err(|e| TrainError::Run(format!("{e:?}")))?;
            for (p, s) in pred.iter().zip(chunk) {
                if s.intent < UNKNOWN_INTENT {
                    intent_rows += 1;
                    intent_right += usize::from(*p as usize == s.intent);
                }
            }
        }
        n += chunk.len();
    }
    let scored = (!gold.is_empty()).then(|| crate::metrics::accuracy_macro_f1(&gold, &predicted));
    Ok(ValidMetrics {
        diffusion_loss: loss / n.max(1) as f64,
        emotion_acc: scored.map(|(acc, _)| acc / 100.0),
        emotion_macro_f1: scored.map(|(_, f1)| f1),
        intent_acc: (intent_rows > 0).then(|| 100.0 * intent_right as f64 / intent_rows as f64),
    })
}
