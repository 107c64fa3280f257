//! The polarity experts' training signal: supervised NT-Xent over the batch (each context is pulled towards the
//! others of its VADER polarity and pushed from the rest; Khosla et al. 2020's form of NT-Xent) plus a binary
//! cross-entropy on the experts' gate. Contexts with no polarity (no VADER word, or a zero sum) are left out.

use burn::prelude::*;
use burn::tensor::activation::log_softmax;

/// The polarity of a context from VADER: +1 when the valences of its words sum above 0, −1 below, 0 otherwise.
pub fn polarity(turns: &[String], lexicon: &crate::reason::era::Lexicon) -> i8 {
    let sum: f32 = turns
        .iter()
        .flat_map(|t| {
            t.split(|c: char| !(c.is_alphabetic() || c == '\''))
                .map(str::to_lowercase)
                .collect::<Vec<_>>()
        })
        .filter_map(|w| lexicon.valence(&w))
        .sum();
    if sum > 0.0 {
        1
    } else if sum < 0.0 {
        -1
    } else {
        0
    }
}

/// Supervised NT-Xent of the normalised embeddings `z` [batch, d] under polarity `labels`, temperature `tau`,
/// plus the gate's binary cross-entropy; `None` when fewer than two contexts of one polarity are in the batch.
pub fn loss(z: Tensor<2>, gate_logit: Tensor<1>, labels: &[i8], tau: f32) -> Option<Tensor<1>> {
    let device = z.device();
    let keep: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] != 0).collect();
    let n = keep.len();
    let positives = |i: usize| {
        keep.iter()
            .filter(|&&j| j != i && labels[j] == labels[i])
            .count()
    };
    if !keep.iter().any(|&i| positives(i) > 0) {
        return None;
    }
    let idx = Tensor::<1, Int>::from_data(
        TensorData::new(keep.iter().map(|&i| i as i64).collect::<Vec<_>>(), [n]),
        &device,
    );
    let z = z.select(0, idx.clone());
    // Similarities with the diagonal removed from the softmax (−1e4 before log-softmax).
    let eye: Vec<f32> = (0..n * n)
        .map(|k| if k / n == k % n { -1.0e4 } else { 0.0 })
        .collect();
    let sim = z.clone().matmul(z.transpose()) / tau
        + Tensor::from_data(TensorData::new(eye, [n, n]), &device);
    let logp = log_softmax(sim, 1);
    // Average log-probability of the positives of each anchor that has some.
    let (mut w, mut anchors) = (vec![0f32; n * n], 0usize);
    for (a, &i) in keep.iter().enumerate() {
        let p = positives(i);
        if p == 0 {
            continue;
        }
        anchors += 1;
        for (b, &j) in keep.iter().enumerate() {
            if j != i && labels[j] == labels[i] {
                w[a * n + b] = 1.0 / p as f32;
            }
        }
    }
    let w = Tensor::<2>::from_data(TensorData::new(w, [n, n]), &device);
    let ntxent = (logp * w).sum().neg() / anchors as f32;
    let target: Vec<f32> = keep
        .iter()
        .map(|&i| if labels[i] > 0 { 1.0 } else { 0.0 })
        .collect();
    let target = Tensor::<1>::from_data(TensorData::new(target, [n]), &device);
    let x = gate_logit.select(0, idx);
    // Numerically stable BCE with logits: max(x,0) − x·y + log(1 + e^−|x|).
    let bce =
        (x.clone().clamp_min(0.0) - x.clone() * target + (x.abs().neg().exp() + 1.0).log()).mean();
    Some(ntxent + bce)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_polarity_close_together_costs_less_than_mixed() {
        let device = Device::flex();
        let labels = [1i8, 1, -1, -1, 0];
        let z = |rows: [[f32; 2]; 5]| {
            let flat: Vec<f32> = rows.iter().flatten().copied().collect();
            let t = Tensor::<2>::from_data(TensorData::new(flat, [5, 2]), &device);
            let norm = t.clone().powf_scalar(2.0).sum_dim(1).sqrt();
            t / norm
        };
        let gate = Tensor::<1>::from_data(
            TensorData::new(vec![2.0f32, 2.0, -2.0, -2.0, 0.0], [5]),
            &device,
        );
        let good = loss(
            z([[1., 0.], [1., 0.1], [-1., 0.], [-1., 0.1], [0., 1.]]),
            gate.clone(),
            &labels,
            0.1,
        )
        .unwrap()
        .into_scalar::<f32>();
        let bad = loss(
            z([[1., 0.], [-1., 0.1], [1., 0.1], [-1., 0.], [0., 1.]]),
            gate,
            &labels,
            0.1,
        )
        .unwrap()
        .into_scalar::<f32>();
        assert!(good.is_finite() && bad.is_finite());
        assert!(good < bad, "{good} vs {bad}");
        // No two contexts share a polarity: nothing to contrast.
        let one = Tensor::<2>::ones([2, 2], &device);
        assert!(loss(one, Tensor::zeros([2], &device), &[1, -1], 0.1).is_none());
    }

    #[test]
    fn polarity_from_vader() {
        let lex =
            crate::reason::era::Lexicon::parse("happy\t2.7\t0.6\t[]\nsad\t-2.1\t0.5\t[]\n", "");
        let t = |s: &str| vec![s.to_string()];
        assert_eq!(polarity(&t("I am so HAPPY today"), &lex), 1);
        assert_eq!(polarity(&t("sad, sad but happy"), &lex), -1);
        assert_eq!(polarity(&t("the bus was late"), &lex), 0);
    }
}
