//! The body of the fused sampling kernel (see `cube.rs` for its passes and why its barriers are uniform): the
//! token rules compiled in, and the one `#[cube(launch)]` function, one cube per position.

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
fn weight(logits: &Tensor<f32>, base: usize, i: usize, eos_bias: f32, max: f32, temp: f32) -> f32 {
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
