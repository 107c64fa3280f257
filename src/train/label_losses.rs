//! The label losses of a training step: the emotion head's and the intent policy's cross-entropies over the rows
//! whose data has the label, and the emotion the decoder is conditioned on (the gold one, or the encoder's where
//! the data has none).

use burn::nn::loss::CrossEntropyLossConfig;
use burn::prelude::*;

use crate::data::UNKNOWN_INTENT;
use crate::inputs::EncodedSample;

/// Which rows have an emotion label (data without one: [`crate::data::UNKNOWN_EMOTION`]).
pub(super) fn known_emotions(samples: &[&EncodedSample]) -> Vec<bool> {
    samples
        .iter()
        .map(|s| s.emotion < crate::data::EMOTIONS.len())
        .collect()
}

/// The emotion the decoder is conditioned on: the gold one (teacher forcing), or on rows without a label the
/// encoder's (detached), as when sampling.
pub(super) fn condition_emotion(
    known: &[bool],
    gold: &Tensor<1, Int>,
    logits: &Tensor<2>,
    device: &Device,
) -> Tensor<1, Int> {
    if known.iter().all(|k| *k) {
        return gold.clone();
    }
    let read: Tensor<1, Int> = logits.clone().detach().argmax(1).squeeze_dim(1);
    let unknown = Tensor::<1, Bool>::from_data(
        TensorData::new(known.iter().map(|k| !k).collect::<Vec<_>>(), [known.len()]),
        device,
    );
    gold.clone().mask_where(unknown, read)
}

/// The emotion cross-entropy over the rows with a label (all of ED's); zero when no row has one, so a data set
/// without emotions does not train the emotion head.
pub(super) fn emotion_loss(
    known: &[bool],
    logits: Tensor<2>,
    gold: Tensor<1, Int>,
    device: &Device,
) -> Tensor<1> {
    let ce = CrossEntropyLossConfig::new().init(device);
    if known.iter().all(|k| *k) {
        return ce.forward(logits, gold);
    }
    let rows: Vec<i64> = (0..known.len() as i64)
        .filter(|&i| known[i as usize])
        .collect();
    if rows.is_empty() {
        return Tensor::<1>::zeros([1], device);
    }
    let index = Tensor::<1, Int>::from_data(TensorData::new(rows.clone(), [rows.len()]), device);
    ce.forward(logits.select(0, index.clone()), gold.select(0, index))
}

/// Cross-entropy of the intent policy on the rows whose intent is known; `None` when no row's is.
pub(super) fn intent_loss(
    logits: Tensor<2>,
    samples: &[&EncodedSample],
    device: &Device,
) -> Option<Tensor<1>> {
    let (rows, gold): (Vec<i64>, Vec<i64>) = samples
        .iter()
        .enumerate()
        .filter(|(_, s)| s.intent < UNKNOWN_INTENT)
        .map(|(i, s)| (i as i64, s.intent as i64))
        .unzip();
    if rows.is_empty() {
        return None;
    }
    let n = rows.len();
    let picked = logits.select(0, Tensor::from_data(TensorData::new(rows, [n]), device));
    Some(CrossEntropyLossConfig::new().init(device).forward(
        picked,
        Tensor::from_data(TensorData::new(gold, [n]), device),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_without_an_emotion_label_train_no_emotion_and_condition_on_the_encoders() {
        let device = Device::flex();
        let logits = Tensor::<2>::from_data(
            TensorData::new(vec![2.0f32, 0.0, 0.0, 0.0, 0.0, 3.0], [2, 3]),
            &device,
        );
        let gold = Tensor::<1, Int>::from_data(TensorData::new(vec![0i64, 32], [2]), &device);
        // Row 1 has no label: the decoder reads the encoder's emotion (class 2) there.
        let cond = condition_emotion(&[true, false], &gold, &logits, &device);
        assert_eq!(
            cond.into_data().try_into_vec_as::<i64>().unwrap(),
            vec![0, 2]
        );
        // The loss is row 0's alone; with no label at all, nothing.
        let row0 = emotion_loss(
            &[true],
            logits.clone().slice([0..1, 0..3]),
            gold.clone().slice(0..1),
            &device,
        );
        let both = emotion_loss(&[true, false], logits.clone(), gold.clone(), &device);
        let (a, b) = (row0.into_scalar::<f32>(), both.into_scalar::<f32>());
        assert!((a - b).abs() < 1e-6, "{a} {b}");
        let none = emotion_loss(&[false, false], logits, gold, &device);
        assert_eq!(none.into_scalar::<f32>(), 0.0);
    }
}
