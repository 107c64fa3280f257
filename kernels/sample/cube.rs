//! The fused sampling step as a CubeCL kernel, registered through burn's backend extension (WGPU and the other
//! CubeCL runtimes, with or without fusion).
//!
//! One cube (workgroup) per position, [`UNITS`] units each. Five passes over that position's logits, each ending
//! in a shared-memory tree reduction: (1) max of the biased, allowed logits and a non-finite flag; (2) the
//! softmax's normaliser and its first argmax, keeping each exponential in a scratch tensor; (3) the nucleus
//! threshold τ, from the kept exponentials, found by bisection on the bit pattern
//! of a probability (positive floats order like their bits, so 31 halvings pin τ to an exact float: the
//! probability of the k-th most probable token, as in `diffusion::draw`) — no sorted vocabulary exists anywhere;
//! (4) each unit's share of the nucleus mass over a contiguous slice of the vocabulary; (5) unit 0 walks the
//! slices, then the one slice, in vocabulary order to the token whose running mass exceeds `u · total`.
//! Every barrier sits in a loop whose bound is the same for the whole cube (a constant, or halvings of
//! `CUBE_DIM` in `kernels/reduce.rs`), so control flow around barriers is uniform, as WGSL requires. (An
//! unrolled loop over a compile-time halving counter failed cubecl's IR verification: "Expected operand type
//! cube.ptr, but found cube.index".)

use burn::backend::fusion::custom::TensorSpec;
use burn::backend::tensor::{FloatTensor, IntTensor};
use burn::backend::{Backend, Dispatch, backend_extension};
use burn::prelude::*;
use burn::tensor::DType;
use burn_cubecl::CubeBackend;
use burn_cubecl::kernel::into_contiguous;
use burn_cubecl::ops::numeric::empty_device_dtype;
use cubecl::prelude::{CubeCount, CubeDim};

use crate::diffusion::draw::DrawParams;

/// Units per cube: a power of two (the tree reductions halve it).
const UNITS: usize = 256;

#[path = "cube_kernel.rs"]
mod k;

#[backend_extension(Cube, Fusion)]
pub trait SampleOps: Backend {
    #[fusion(meta = |_logits, uniforms, _temperature, _top_p, _eos_bias| (
        TensorSpec::new(uniforms.shape.clone(), DType::U32),
        uniforms.clone(),
    ))]
    fn fused_sample(
        logits: FloatTensor<Self>,
        uniforms: FloatTensor<Self>,
        temperature: f32,
        top_p: f32,
        eos_bias: f32,
    ) -> (IntTensor<Self>, FloatTensor<Self>);
}

impl SampleOps for CubeBackend {
    fn fused_sample(
        logits: FloatTensor<Self>,
        uniforms: FloatTensor<Self>,
        temperature: f32,
        top_p: f32,
        eos_bias: f32,
    ) -> (IntTensor<Self>, FloatTensor<Self>) {
        let (logits, uniforms) = (into_contiguous(logits), into_contiguous(uniforms));
        let n = logits.meta.shape()[0];
        let client = logits.client.clone();
        // exp((l − max) / T) per token, written once and read by the bisection's passes (unsorted, same shape
        // as the logits): on lavapipe the exponentials were nearly all of the kernel's time.
        let exps = empty_device_dtype(
            client.clone(),
            logits.device.clone(),
            logits.meta.shape().clone(),
            DType::F32,
        );
        let tokens = empty_device_dtype(
            client.clone(),
            logits.device.clone(),
            [n].into(),
            DType::U32,
        );
        let probs = empty_device_dtype(
            client.clone(),
            logits.device.clone(),
            [n].into(),
            DType::F32,
        );
        k::sample_kernel::launch(
            &client,
            CubeCount::Static(n as u32, 1, 1),
            CubeDim::new_1d(UNITS as u32),
            logits.into_tensor_arg(),
            uniforms.into_tensor_arg(),
            exps.into_tensor_arg(),
            tokens.clone().into_tensor_arg(),
            probs.clone().into_tensor_arg(),
            if temperature == 0.0 { 1.0 } else { temperature },
            top_p,
            eos_bias,
            temperature == 0.0,
            UNITS,
        );
        (tokens, probs)
    }
}

/// The kernel's half of [`super::sample`]: f32 logits on a CubeCL device.
pub fn sample(
    logits: Tensor<2>,
    uniforms: Tensor<1>,
    params: DrawParams,
) -> (Tensor<1, Int>, Tensor<1>) {
    let (tokens, probs) = Dispatch::fused_sample(
        logits.into_dispatch(),
        uniforms.into_dispatch(),
        params.temperature,
        params.top_p,
        params.eos_bias,
    );
    let probs = Tensor::<1>::from_dispatch(probs);
    let bad = probs.clone().lower_elem(0.0);
    (
        Tensor::<1, Int>::from_dispatch(tokens),
        probs.mask_fill(bad, f32::NAN),
    )
}

#[cfg(test)]
mod tests {
    use crate::diffusion::draw::FORBIDDEN;
    use crate::tokenizer::{EOS, PAD};

    /// The kernel's compiled-in token rules (`k::allowed`, `k::bias`), checked against the tokenizer.
    #[test]
    fn the_compiled_in_token_rules_match_the_tokenizer() {
        let allowed = |i: usize| i == 0 || i == 4 || i >= 8;
        let biased = |i: usize| i == 0 || i == 4;
        for i in 0..64 {
            assert_eq!(allowed(i), !FORBIDDEN.contains(&(i as u32)), "token {i}");
            assert_eq!(
                biased(i),
                i == EOS as usize || i == PAD as usize,
                "token {i}"
            );
        }
    }
}
