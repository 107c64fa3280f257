//! Drawing one token from one position's logits: [EOS]/[PAD] bias, temperature, nucleus (top-p) truncation, then
//! the draw itself from a uniform number the caller supplies.
//!
//! The rule below is shared, step for step, by the host code here, the tensor-op reference and the fused GPU
//! kernel in `kernels/sample`, so the three give the same token for the same uniform:
//!
//! 1. Any non-finite logit (NaN, ±∞) in the row is an error; so is a row where every token is forbidden.
//! 2. `l_i + bias` for [EOS] and [PAD], forbidden tokens get probability 0, and `p = softmax(l / T)` (T = 1 when the
//!    temperature is 0).
//! 3. Temperature 0: the first token of highest probability.
//! 4. Otherwise the nucleus is every token with `p_i ≥ τ`, where τ is the probability of the k-th most probable
//!    token and k the smallest count whose mass reaches `top_p`: ties with the k-th token are all kept, so the set
//!    does not depend on a sort order. If rounding leaves even the whole vocabulary short of `top_p`, every token
//!    with `p_i > 0` is kept.
//! 5. Walking the nucleus in **vocabulary order**, the token is the first whose running mass exceeds `u · total`
//!    (the last nucleus token if rounding leaves none). Its probability `p_i` is the confidence.

use crate::tokenizer::{BOS, EOS, LISTENER, MASK, PAD, SEP, SPEAKER, UNK};

/// Tokens the sampler never writes into a reply.
pub const FORBIDDEN: [u32; 6] = [MASK, UNK, BOS, SEP, SPEAKER, LISTENER];

/// The logits of one position hold NaN or ±∞ (or allow no token at all), so no distribution can be drawn from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NonFiniteLogits;

/// What turns logits into a distribution (the sampler's settings that act on a single position).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DrawParams {
    pub temperature: f32,
    pub top_p: f32,
    /// Added to the logits of [EOS] and [PAD].
    pub eos_bias: f32,
}

/// Draws a token from one position's logits with the uniform number `u` in [0, 1); returns it and its
/// probability (the confidence). `u` is not used at temperature 0.
pub fn draw(logits: &[f32], params: DrawParams, u: f32) -> Result<(u32, f32), NonFiniteLogits> {
    draw_excluding(logits, params, u, &[])
}

/// [`draw`] with the tokens in `banned` forbidden too (the sampler's n-gram ban; host only: the device draws do
/// not take it). An error when `banned` leaves no token.
pub fn draw_excluding(
    logits: &[f32],
    params: DrawParams,
    u: f32,
    banned: &[u32],
) -> Result<(u32, f32), NonFiniteLogits> {
    let allowed = |i: usize| !FORBIDDEN.contains(&(i as u32)) && !banned.contains(&(i as u32));
    // One NaN or infinity poisons the softmax (and an all-forbidden row has no mass): refuse instead of
    // returning an arbitrary token.
    if logits.iter().any(|l| !l.is_finite()) || !(0..logits.len()).any(allowed) {
        return Err(NonFiniteLogits);
    }
    let logit = |i: usize| {
        let bias = if i == EOS as usize || i == PAD as usize {
            params.eos_bias
        } else {
            0.0
        };
        logits[i] + bias
    };
    let max = (0..logits.len())
        .filter(|i| allowed(*i))
        .map(logit)
        .fold(f32::MIN, f32::max);
    let temp = if params.temperature > 0.0 {
        params.temperature
    } else {
        1.0
    };
    let mut probs: Vec<f32> = (0..logits.len())
        .map(|i| {
            if allowed(i) {
                ((logit(i) - max) / temp).exp()
            } else {
                0.0
            }
        })
        .collect();
    let z: f32 = probs.iter().sum();
    probs.iter_mut().for_each(|p| *p /= z);
    if params.temperature == 0.0 {
        let (i, p) =
            probs.iter().enumerate().fold(
                (0, f32::MIN),
                |a, (i, p)| if *p > a.1 { (i, *p) } else { a },
            );
        return Ok((i as u32, p));
    }
    let tau = nucleus_threshold(&probs, params.top_p);
    let kept = |p: f32| p > 0.0 && p >= tau;
    let total: f32 = probs.iter().copied().filter(|p| kept(*p)).sum();
    let target = u * total;
    let mut mass = 0.0;
    let mut last = None;
    for (i, &p) in probs.iter().enumerate() {
        if kept(p) {
            mass += p;
            if mass > target {
                return Ok((i as u32, p));
            }
            last = Some((i as u32, p));
        }
    }
    last.ok_or(NonFiniteLogits)
}

/// τ of rule 4: the probability of the k-th most probable token, k the smallest count whose mass reaches `top_p`
/// (0 when no count does). Sorts only the tokens above a small fraction of the maximum when they already hold the
/// needed mass (exact either way).
fn nucleus_threshold(probs: &[f32], top_p: f32) -> f32 {
    let pmax = probs.iter().copied().fold(0.0, f32::max);
    let mut cand: Vec<f32> = probs
        .iter()
        .copied()
        .filter(|p| *p >= pmax * 1e-3)
        .collect();
    if cand.iter().sum::<f32>() < top_p {
        cand = probs.iter().copied().filter(|p| *p > 0.0).collect();
    }
    cand.sort_by(|a, b| b.total_cmp(a));
    let mut mass = 0.0;
    for p in cand {
        mass += p;
        if mass >= top_p {
            return p;
        }
    }
    0.0
}

#[cfg(test)]
mod tests {
    use super::*;

    const PARAMS: DrawParams = DrawParams {
        temperature: 0.7,
        top_p: 0.9,
        eos_bias: 0.0,
    };

    #[test]
    fn non_finite_logits_are_an_error_not_a_panic() {
        for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
            let mut logits = vec![0.5f32; 20];
            logits[11] = bad;
            for temperature in [0.0, 0.7] {
                let params = DrawParams {
                    temperature,
                    ..PARAMS
                };
                assert_eq!(draw(&logits, params, 0.3), Err(NonFiniteLogits));
            }
        }
        assert!(draw(&[0.5f32; 20], PARAMS, 0.3).is_ok());
    }

    #[test]
    fn the_nucleus_keeps_ties_and_the_walk_is_in_vocabulary_order() {
        // Tokens 10, 11, 12 share the top probability; top-p 0.5 needs two of them, so τ keeps all three.
        let mut logits = vec![-30.0f32; 16];
        for i in [10, 11, 12] {
            logits[i] = 5.0;
        }
        let params = DrawParams {
            temperature: 1.0,
            top_p: 0.5,
            eos_bias: 0.0,
        };
        let token = |u: f32| draw(&logits, params, u).unwrap().0;
        assert_eq!([token(0.0), token(0.4), token(0.9)], [10, 11, 12]);
        // Greedy takes the first of the tied tokens.
        let greedy = DrawParams {
            temperature: 0.0,
            ..params
        };
        assert_eq!(draw(&logits, greedy, 0.9).unwrap().0, 10);
    }
}
