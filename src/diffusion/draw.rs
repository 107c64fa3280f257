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
    draw_excluding(logits, params, u, &[], None)
}

/// [`draw`] with the tokens in `banned` forbidden too (the sampler's n-gram ban), and, with a `stop_temperature`,
/// the choice between ending here and writing a word made at that temperature (see [`split_stop`]). Host only:
/// the device draws take neither. An error when `banned` leaves no token.
pub fn draw_excluding(
    logits: &[f32],
    params: DrawParams,
    u: f32,
    banned: &[u32],
    stop_temperature: Option<f32>,
) -> Result<(u32, f32), NonFiniteLogits> {
    let allowed = |i: usize| !FORBIDDEN.contains(&(i as u32)) && !banned.contains(&(i as u32));
    // One NaN or infinity poisons the softmax (and an all-forbidden row has no mass): refuse instead of
    // returning an arbitrary token.
    if logits.iter().any(|l| !l.is_finite()) || !(0..logits.len()).any(allowed) {
        return Err(NonFiniteLogits);
    }
    let logit = |i: usize| {
        let bias = if is_end(i) { params.eos_bias } else { 0.0 };
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
    if let Some(stop) = stop_temperature.filter(|_| params.temperature > 0.0) {
        let end_logits = [EOS, PAD].map(|t| {
            let i = t as usize;
            (i < logits.len() && allowed(i)).then(|| logit(i))
        });
        let words = (0..logits.len())
            .filter(|&i| allowed(i) && !is_end(i))
            .map(logit);
        split_stop(&mut probs, end_logits, words, max, stop);
    }
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

fn is_end(i: usize) -> bool {
    i == EOS as usize || i == PAD as usize
}

/// Rescales `probs` (the draw's distribution at its temperature T) so that [EOS] and [PAD] together hold the mass
/// they have at temperature `stop` instead, each group keeping its shape. A low T sharpens the choice of word, but
/// it also sharpens the choice of *whether* to go on: where ending is the likeliest single token, T 0.5 ends the
/// reply far more often than the model does, and replies come out shorter than the data's. `stop` = T changes
/// nothing (the split of a softmax at T is the softmax at T).
fn split_stop(
    probs: &mut [f32],
    end_logits: [Option<f32>; 2],
    words: impl Iterator<Item = f32>,
    max: f32,
    stop: f32,
) {
    let weight = |l: f32| ((l - max) / stop).exp();
    let end: f32 = end_logits.iter().flatten().map(|l| weight(*l)).sum();
    let word: f32 = words.map(weight).sum();
    let (end_now, word_now) =
        probs.iter().enumerate().fold(
            (0.0, 0.0),
            |(e, w), (i, p)| {
                if is_end(i) { (e + p, w) } else { (e, w + p) }
            },
        );
    if end + word <= 0.0 || end_now <= 0.0 || word_now <= 0.0 {
        return; // one group has no mass to rescale (underflow): leave the draw as it is
    }
    let target = end / (end + word);
    for (i, p) in probs.iter_mut().enumerate() {
        *p *= if is_end(i) {
            target / end_now
        } else {
            (1.0 - target) / word_now
        };
    }
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

    #[test]
    fn the_stop_temperature_moves_only_the_mass_of_ending() {
        // [EOS] is the single likeliest token, but most of the mass is on words.
        let mut logits = vec![-30.0f32; 16];
        logits[EOS as usize] = 2.0;
        for (i, l) in [(10, 1.5), (11, 1.4), (12, 1.3), (13, 1.2)] {
            logits[i] = l;
        }
        let params = DrawParams {
            temperature: 0.5,
            top_p: 1.0,
            eos_bias: 0.0,
        };
        let ends = |stop: Option<f32>| {
            (0..1000)
                .filter(|k| {
                    let u = (*k as f32 + 0.5) / 1000.0;
                    draw_excluding(&logits, params, u, &[], stop).unwrap().0 == EOS
                })
                .count()
        };
        // The stop temperature equal to the temperature is the plain draw, token for token (the confidence up to
        // rounding).
        for k in 0..100 {
            let u = k as f32 / 100.0;
            let (same, plain) = (
                draw_excluding(&logits, params, u, &[], Some(0.5)).unwrap(),
                draw(&logits, params, u).unwrap(),
            );
            assert_eq!(same.0, plain.0);
            assert!((same.1 - plain.1).abs() < 1e-5);
        }
        // At T 1 [EOS] holds e^2 / (e^2 + e^1.5 + e^1.4 + e^1.3 + e^1.2) ≈ 32 % of the mass; at T 0.5, ≈ 47 %.
        let (sharp, calibrated) = (ends(None), ends(Some(1.0)));
        assert!((462..=482).contains(&sharp), "{sharp}");
        assert!((312..=332).contains(&calibrated), "{calibrated}");
        // Among words the temperature still acts: the first word keeps its T 0.5 share of the word mass.
        let first_word = (0..1000)
            .filter(|k| {
                let u = (*k as f32 + 0.5) / 1000.0;
                draw_excluding(&logits, params, u, &[], Some(1.0))
                    .unwrap()
                    .0
                    == 10
            })
            .count();
        let share = 1.0 / (1.0 + (-0.2f32).exp() + (-0.4f32).exp() + (-0.6f32).exp());
        let expected = ((1.0 - 0.3224) * share * 1000.0) as usize;
        assert!(
            first_word.abs_diff(expected) <= 15,
            "{first_word} vs {expected}"
        );
    }
}
