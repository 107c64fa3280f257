//! The denoising loss: cross-entropy of the clean token at masked positions.
//!
//! Training uses [`masked_cross_entropy`]: each reply's mean NLL over its own masked positions, averaged over the
//! batch. Like MDLM's ELBO weight 1/t it gives every reply the same total weight whatever its t (a plain mean
//! over all masked tokens of the batch would weight a reply ∝ t, so the model would mostly learn to fill almost
//! empty replies and barely learn to use the revealed neighbours — we saw exactly that: "sorry sorry sorry"),
//! without 1/t's variance when only one or two tokens are masked. [`masked_nll_sum`] with weights 1/t gives the
//! continuous-time ELBO itself, used for the reported perplexity bound.

use burn::prelude::*;
use burn::tensor::activation::log_softmax;

use crate::kernels::Implementation;

/// Per-position negative log-likelihood of `x0` under `logits`: [batch, len, vocab] → [batch, len]. The op
/// chain (`kernels::nll::reference`) unless `implementation` is the fused kernel and the device runs it (the
/// kernel has no backward: scoring only).
pub fn token_nll(
    logits: Tensor<3>,
    x0: Tensor<2, Int>,
    implementation: Implementation,
) -> Tensor<2> {
    let [batch, len, vocab] = logits.dims();
    let flat = crate::kernels::nll::token_nll(
        logits.reshape([batch * len, vocab]),
        x0.reshape([batch * len]),
        implementation,
    );
    flat.reshape([batch, len])
}

/// Per-reply mean NLL over masked positions, averaged over the batch; `masked` is 1.0 where x_t is [MASK],
/// [batch, len]. A reply with no masked position contributes 0.
pub fn masked_cross_entropy(logits: Tensor<3>, x0: Tensor<2, Int>, masked: Tensor<2>) -> Tensor<1> {
    let count = masked.clone().sum_dim(1).clamp_min(1.0); // [batch, 1]
    let per_reply = (token_nll(logits, x0, Implementation::Reference) * masked).sum_dim(1) / count; // [batch, 1]
    per_reply.mean()
}

/// Σ weight · NLL over positions; with weight = masked / t this is the per-row diffusion ELBO term.
pub fn masked_nll_sum(
    logits: Tensor<3>,
    x0: Tensor<2, Int>,
    weight: Tensor<2>,
    implementation: Implementation,
) -> Tensor<1> {
    (token_nll(logits, x0, implementation) * weight)
        .sum_dim(1)
        .squeeze_dim(1)
}

/// The training loss [`masked_cross_entropy`] computed from the masked positions alone: `logits` [n, vocab] of
/// the n masked positions, their clean tokens `targets` [n] and `weights` [n] = 1 / (masked positions in the
/// position's reply · replies in the batch). Equal to `masked_cross_entropy` over the full logits, at the cost
/// of n instead of batch · len rows of output layer and softmax.
pub fn selected_cross_entropy(
    logits: Tensor<2>,
    targets: Tensor<1, Int>,
    weights: Tensor<1>,
) -> Tensor<1> {
    let picked: Tensor<2> = log_softmax(logits, 1).gather(1, targets.unsqueeze_dim(1));
    (picked.squeeze_dim::<1>(1).neg() * weights).sum()
}

/// Per-position weights of [`selected_cross_entropy`] for replies with the given mask (row-major over
/// [batch, len]): the flat indices of masked positions and each one's weight.
pub fn selection(masked: &[Vec<bool>]) -> (Vec<i64>, Vec<f32>) {
    let rows = masked.len().max(1) as f32;
    let len = masked.first().map_or(0, Vec::len);
    let (mut index, mut weight) = (Vec::new(), Vec::new());
    for (r, row) in masked.iter().enumerate() {
        let count = row.iter().filter(|&&m| m).count() as f32;
        for (p, _) in row.iter().enumerate().filter(|(_, m)| **m) {
            index.push((r * len + p) as i64);
            weight.push(1.0 / (count * rows));
        }
    }
    (index, weight)
}
