//! The denoising loss: cross-entropy of the clean token at masked positions.
//!
//! Training uses the unweighted mean over masked tokens (the "simple" loss; MDLM's 1/t ELBO weight makes the
//! gradient of nearly-clean batches explode on small models). [`masked_nll_sum`] with weights 1/t gives the
//! continuous-time ELBO, used for the reported perplexity bound.

use burn::prelude::*;
use burn::tensor::activation::log_softmax;

/// Per-position negative log-likelihood of `x0` under `logits`: [batch, len, vocab] → [batch, len].
pub fn token_nll(logits: Tensor<3>, x0: Tensor<2, Int>) -> Tensor<2> {
    let logp = log_softmax(logits, 2);
    let picked: Tensor<3> = logp.gather(2, x0.unsqueeze_dim(2));
    picked.squeeze_dim::<2>(2).neg()
}

/// Mean NLL over masked positions; `masked` is 1.0 where x_t is [MASK], [batch, len].
pub fn masked_cross_entropy(logits: Tensor<3>, x0: Tensor<2, Int>, masked: Tensor<2>) -> Tensor<1> {
    let count = masked.clone().sum().clamp_min(1.0);
    (token_nll(logits, x0) * masked).sum() / count
}

/// Σ weight · NLL over positions; with weight = masked / t this is the per-row diffusion ELBO term.
pub fn masked_nll_sum(logits: Tensor<3>, x0: Tensor<2, Int>, weight: Tensor<2>) -> Tensor<1> {
    (token_nll(logits, x0) * weight).sum_dim(1).squeeze_dim(1)
}
