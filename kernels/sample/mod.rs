//! The fused sampling step: for every position of a `[n, vocab]` block of logits, the [EOS]/[PAD] bias,
//! temperature, nucleus (top-p) truncation and the draw from that position's uniform number, returning only the
//! token and its probability. On a GPU this keeps the logits on the device: `n` ids and `n` probabilities cross
//! to the host instead of `n × vocab` floats.
//!
//! The rule is `diffusion::draw`'s. What is identical between the three implementations (host, [`reference`],
//! the CubeCL kernel) and what is not:
//! * the nucleus is defined by a threshold, not by a sort order, and the draw walks it in vocabulary order, so
//!   for the same uniform number all three pick the same token — except when the number, or the nucleus mass,
//!   lies within float rounding (~1e-6 relative) of a boundary: each sums the same probabilities in a different
//!   order (the host sequentially, the kernel in a tree of partial sums), and the GPU's `exp` is not the CPU's;
//! * the uniform numbers come from the sampler's per-row ChaCha streams on the host, so a seed gives the same
//!   random numbers whichever implementation draws;
//! * probabilities agree to float rounding, not bit for bit.

#[cfg(feature = "gpu")]
mod cube;
pub mod reference;

use burn::prelude::*;

use super::Implementation;
#[cfg(feature = "gpu")]
use super::fused_supported;
use crate::diffusion::draw::DrawParams;

/// `logits` [n, vocab], `uniforms` [n] → (token [n], its probability [n], NaN where a position's logits are not
/// finite). `Fused` on a device without kernel support falls back to the reference.
pub fn sample(
    logits: Tensor<2>,
    uniforms: Tensor<1>,
    params: DrawParams,
    implementation: Implementation,
) -> (Tensor<1, Int>, Tensor<1>) {
    #[cfg(feature = "gpu")]
    if implementation == Implementation::Fused && fused_supported(&logits.device()) {
        return cube::sample(logits, uniforms, params);
    }
    let _ = implementation;
    reference::sample(logits, uniforms, params)
}
