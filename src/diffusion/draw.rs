//! Drawing one token from one position's logits: temperature, then nucleus (top-p) truncation.

use rand::RngExt;
use rand::rngs::StdRng;

use crate::tokenizer::{BOS, LISTENER, MASK, SEP, SPEAKER, UNK};

/// Tokens the sampler never writes into a reply.
pub const FORBIDDEN: [u32; 6] = [MASK, UNK, BOS, SEP, SPEAKER, LISTENER];

/// Draws a token from one position's logits; returns it and its probability (the confidence).
pub fn draw(logits: &[f32], temperature: f32, top_p: f32, rng: &mut StdRng) -> (u32, f32) {
    let allowed = |i: usize| !FORBIDDEN.contains(&(i as u32));
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
        return (i as u32, p);
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
            return (i as u32, p);
        }
        u -= p;
    }
    let (i, p) = cand[cand.len() - 1];
    (i as u32, p)
}
