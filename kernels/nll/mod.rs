//! Per-position negative log-likelihood of a target token, `−log softmax(logits)[target]`, for scoring (the
//! ELBO bound `eval` reports): no gradient is needed there, so a forward-only kernel can fuse the max, the
//! normaliser and the pick into one launch instead of materialising `log_softmax` over the whole vocabulary.

#[cfg(feature = "gpu")]
mod cube;

use burn::prelude::*;
use burn::tensor::activation::log_softmax;

use super::Implementation;
#[cfg(feature = "gpu")]
use super::fused_supported;

/// `logits` [n, vocab], `targets` [n] → NLL [n].
pub fn token_nll(
    logits: Tensor<2>,
    targets: Tensor<1, Int>,
    implementation: Implementation,
) -> Tensor<1> {
    #[cfg(feature = "gpu")]
    if implementation == Implementation::Fused && fused_supported(&logits.device()) {
        return cube::token_nll(logits, targets);
    }
    let _ = implementation;
    reference(logits, targets)
}

/// The op chain: log-softmax over the vocabulary, then the target's entry.
pub fn reference(logits: Tensor<2>, targets: Tensor<1, Int>) -> Tensor<1> {
    let picked: Tensor<2> = log_softmax(logits, 1).gather(1, targets.unsqueeze_dim(1));
    picked.squeeze_dim::<1>(1).neg()
}
