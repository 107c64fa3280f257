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

mod k {
    use crate::kernels::reduce;
    use cubecl::prelude::*;

    #[cube]
    fn allowed(i: usize) -> bool {
        i == 0 || i == 4 || i >= 8
    }

    #[cube]
    fn bias(i: usize, eos_bias: f32) -> f32 {
        if i == 0 || i == 4 { eos_bias } else { 0.0f32 }
    }

    /// The unnormalised probability exp((logit + bias − max) / T) of token `i` of the row at `base`.
    #[cube]
    fn weight(
        logits: &Tensor<f32>,
        base: usize,
        i: usize,
        eos_bias: f32,
        max: f32,
        temp: f32,
    ) -> f32 {
        ((logits[base + i] + bias(i, eos_bias) - max) / temp).exp()
    }

    #[allow(clippy::manual_div_ceil)] // usize::div_ceil is not a CubeCL operation
    #[cube(launch)]
    pub fn sample_kernel(
        logits: &Tensor<f32>,
        uniforms: &Tensor<f32>,
        exps: &mut Tensor<f32>,
        tokens: &mut Tensor<u32>,
        probs: &mut Tensor<f32>,
        temperature: f32,
        top_p: f32,
        eos_bias: f32,
        #[comptime] greedy: bool,
        #[comptime] units: usize,
    ) {
        let row = CUBE_POS;
        let vocab = logits.shape(1);
        let base = row * vocab;
        let unit = UNIT_POS as usize;
        let mut values = Shared::<[f32]>::new_slice(units);
        let mut index = Shared::<[u32]>::new_slice(units);
        // (the host passes temperature 1 when greedy: the argmax is the same, and prob is softmax at T = 1)
        let temp = temperature;

        // 1. max of the biased allowed logits; any non-finite logit flags the row
        // −3e38 stands in for −∞ (WGSL has no infinite literals); 0xFFFF_FFFF for "no token"
        let mut max = f32::new(-3.0e38);
        let mut bad = 0u32;
        let mut i = unit;
        while i < vocab {
            let l = logits[base + i];
            if l.is_nan() || l.is_inf() {
                bad = 1u32;
            } else if allowed(i) {
                let v = l + bias(i, eos_bias);
                if v > max {
                    max = v;
                }
            }
            i += units;
        }
        values[unit] = max;
        index[unit] = bad;
        sync_cube();
        reduce::max(&mut values);
        reduce::max(&mut index);
        let max = values[0];
        let bad = index[0];
        sync_cube();

        // 2. the normaliser z and the first most probable token
        let mut z = 0.0f32;
        let mut best = f32::new(-3.0e38);
        let mut arg = 0xFFFF_FFFFu32;
        let mut i = unit;
        while i < vocab {
            let mut e = 0.0f32;
            if allowed(i) {
                e = weight(logits, base, i, eos_bias, max, temp);
                z += e;
                if e > best {
                    best = e;
                    arg = i as u32;
                }
            }
            // kept for the bisection, which reads back only what this unit wrote
            exps[base + i] = e;
            i += units;
        }
        values[unit] = z;
        sync_cube();
        reduce::sum(&mut values);
        let z = values[0];
        sync_cube();
        values[unit] = best;
        index[unit] = arg;
        sync_cube();
        reduce::argmax(&mut values, &mut index);
        let arg = index[0];
        sync_cube();

        let mut token = arg;
        let mut prob = 1.0f32 / z;
        if !greedy {
            // 3. τ: the largest probability whose at-or-above mass still reaches top-p, by bisection on its bits
            let mut lo = 0u32; // mass(0) is everything
            let mut hi = 0x3F80_0001u32; // the float after 1.0, above any probability: mass 0
            for _ in 0..32u32 {
                let mid = lo + (hi - lo) / 2;
                let tau = f32::from_bits(mid);
                let mut mass = 0.0f32;
                let mut i = unit;
                while i < vocab {
                    let p = exps[base + i] / z; // 0 for forbidden tokens, and τ > 0
                    if p >= tau {
                        mass += p;
                    }
                    i += units;
                }
                values[unit] = mass;
                sync_cube();
                reduce::sum(&mut values);
                let mass = values[0];
                sync_cube();
                if hi - lo > 1 {
                    if mass >= top_p {
                        lo = mid;
                    } else {
                        hi = mid;
                    }
                }
            }
            let tau = f32::from_bits(lo);

            // 4. nucleus mass and last nucleus token of this unit's contiguous slice
            let chunk = (vocab + units - 1) / units;
            let start = unit * chunk;
            let end = if start + chunk < vocab {
                start + chunk
            } else {
                vocab
            };
            let mut mass = 0.0f32;
            let mut last = 0xFFFF_FFFFu32;
            let mut i = start;
            while i < end {
                if allowed(i) {
                    let p = weight(logits, base, i, eos_bias, max, temp) / z;
                    if p > 0.0 && p >= tau {
                        mass += p;
                        last = i as u32;
                    }
                }
                i += 1;
            }
            values[unit] = mass;
            index[unit] = last;
            sync_cube();

            // 5. unit 0 walks the slices in vocabulary order
            if unit == 0 {
                let mut total = 0.0f32;
                for s in 0..units {
                    total += values[s];
                }
                let target = uniforms[row] * total;
                let mut acc = 0.0f32;
                let mut slice = 0xFFFF_FFFFu32;
                let mut fallback = 0xFFFF_FFFFu32;
                for s in 0..units {
                    if index[s] != 0xFFFF_FFFFu32 {
                        fallback = index[s];
                    }
                    if slice == 0xFFFF_FFFFu32 {
                        if acc + values[s] > target {
                            slice = s as u32;
                        } else {
                            acc += values[s];
                        }
                    }
                }
                token = fallback;
                if slice != 0xFFFF_FFFFu32 {
                    let start = slice as usize * chunk;
                    let end = if start + chunk < vocab {
                        start + chunk
                    } else {
                        vocab
                    };
                    let mut found = false;
                    let mut i = start;
                    while i < end {
                        if !found && allowed(i) {
                            let p = weight(logits, base, i, eos_bias, max, temp) / z;
                            if p > 0.0 && p >= tau {
                                acc += p;
                                token = i as u32;
                                found = acc > target;
                            }
                        }
                        i += 1;
                    }
                }
                let i = token as usize;
                prob = weight(logits, base, i, eos_bias, max, temp) / z;
            }
        }
        if unit == 0 {
            tokens[row] = token;
            probs[row] = if bad == 1u32 { -1.0f32 } else { prob };
        }
    }
}

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
