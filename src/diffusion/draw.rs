//! Drawing one token from one position's logits: temperature, then nucleus (top-p) truncation.

use rand::RngExt;
use rand::rngs::StdRng;

use crate::tokenizer::{BOS, LISTENER, MASK, SEP, SPEAKER, UNK};

/// Tokens the sampler never writes into a reply.
pub const FORBIDDEN: [u32; 6] = [MASK, UNK, BOS, SEP, SPEAKER, LISTENER];

/// The logits of one position hold NaN or ±∞ (or allow no token at all), so no distribution can be drawn from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NonFiniteLogits;

/// Draws a token from one position's logits; returns it and its probability (the confidence).
pub fn draw(
    logits: &[f32],
    temperature: f32,
    top_p: f32,
    rng: &mut StdRng,
) -> Result<(u32, f32), NonFiniteLogits> {
    let allowed = |i: usize| !FORBIDDEN.contains(&(i as u32));
    // One NaN or infinity poisons the softmax (and an all-forbidden row has no mass): refuse instead of
    // returning an arbitrary token.
    if logits.iter().any(|l| !l.is_finite()) || !(0..logits.len()).any(allowed) {
        return Err(NonFiniteLogits);
    }
    let max = logits
        .iter()
        .enumerate()
        .filter(|(i, _)| allowed(*i))
        .map(|(_, l)| *l)
        .fold(f32::MIN, f32::max);
    let temp = if temperature > 0.0 { temperature } else { 1.0 };
    let mut probs: Vec<f32> = logits
        .iter()
        .enumerate()
        .map(|(i, l)| {
            if allowed(i) {
                ((l - max) / temp).exp()
            } else {
                0.0
            }
        })
        .collect();
    let z: f32 = probs.iter().sum();
    probs.iter_mut().for_each(|p| *p /= z);
    if temperature == 0.0 {
        let (i, p) =
            probs.iter().enumerate().fold(
                (0, f32::MIN),
                |a, (i, p)| if *p > a.1 { (i, *p) } else { a },
            );
        return Ok((i as u32, p));
    }
    // Nucleus: sort only tokens above a small threshold when they already hold the needed mass (exact either way).
    let pmax = probs.iter().copied().fold(0.0, f32::max);
    let mut cand: Vec<(usize, f32)> = probs
        .iter()
        .copied()
        .enumerate()
        .filter(|(_, p)| *p >= pmax * 1e-3)
        .collect();
    if cand.iter().map(|c| c.1).sum::<f32>() < top_p {
        cand = probs
            .iter()
            .copied()
            .enumerate()
            .filter(|(_, p)| *p > 0.0)
            .collect();
    }
    cand.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut mass = 0.0;
    let mut keep = cand.len();
    for (n, (_, p)) in cand.iter().enumerate() {
        mass += p;
        if mass >= top_p {
            keep = n + 1;
            break;
        }
    }
    let cand = &cand[..keep];
    let total: f32 = cand.iter().map(|c| c.1).sum();
    let mut u = rng.random::<f32>() * total;
    for &(i, p) in cand {
        if u < p {
            return Ok((i as u32, p));
        }
        u -= p;
    }
    // Rounding left u just above the total: the last candidate (the list is never empty: probs sum to 1).
    cand.last()
        .map(|&(i, p)| (i as u32, p))
        .ok_or(NonFiniteLogits)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn non_finite_logits_are_an_error_not_a_panic() {
        let mut rng = StdRng::seed_from_u64(0);
        for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
            let mut logits = vec![0.5f32; 20];
            logits[11] = bad;
            for temperature in [0.0, 0.7] {
                assert_eq!(
                    draw(&logits, temperature, 0.9, &mut rng),
                    Err(NonFiniteLogits)
                );
            }
        }
        assert!(draw(&[0.5f32; 20], 0.7, 0.9, &mut rng).is_ok());
    }
}
