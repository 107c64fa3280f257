//! Forward process q(x_t | x_0): each token is replaced by [MASK] independently with probability mask_rate(t).
//! Runs on the host with a seeded RNG so training and evaluation are reproducible on every backend.

use rand::{Rng, RngExt};

use super::schedule::{T_MIN, mask_rate};
use crate::tokenizer::MASK;

/// Draws one t per row with MDLM's low-discrepancy sampler: t_i = (u + i/n) mod 1, mapped into [T_MIN, 1].
/// It covers [0, 1] evenly within a batch, which lowers the variance of the loss.
pub fn sample_t(n: usize, rng: &mut impl Rng) -> Vec<f32> {
    let u: f32 = rng.random();
    (0..n)
        .map(|i| T_MIN + (1.0 - T_MIN) * ((u + i as f32 / n as f32) % 1.0))
        .collect()
}

/// Corrupts `x0` at time `t`: returns x_t and which positions were masked.
pub fn q_xt(x0: &[u32], t: f32, rng: &mut impl Rng) -> (Vec<u32>, Vec<bool>) {
    let p = mask_rate(t);
    let masked: Vec<bool> = x0.iter().map(|_| rng.random::<f32>() < p).collect();
    let xt = x0
        .iter()
        .zip(&masked)
        .map(|(&x, &m)| if m { MASK } else { x })
        .collect();
    (xt, masked)
}

/// The prior at t = 1: every position [MASK].
pub fn prior(batch: usize, len: usize) -> Vec<Vec<u32>> {
    vec![vec![MASK; len]; batch]
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn q_xt_masks_the_expected_fraction() {
        let mut rng = StdRng::seed_from_u64(7);
        let x0 = vec![42u32; 20_000];
        for t in [0.1f32, 0.5, 0.9] {
            let (xt, masked) = q_xt(&x0, t, &mut rng);
            let frac = masked.iter().filter(|m| **m).count() as f32 / x0.len() as f32;
            assert!((frac - t).abs() < 0.02, "t={t} masked {frac}");
            assert!(xt.iter().zip(&masked).all(|(x, m)| (*x == MASK) == *m));
        }
        assert!(q_xt(&x0, 0.0, &mut rng).1.iter().all(|m| !m));
        assert!(q_xt(&x0, 1.0, &mut rng).1.iter().all(|m| *m));
    }

    #[test]
    fn sample_t_covers_the_unit_interval() {
        let mut rng = StdRng::seed_from_u64(1);
        let t = sample_t(8, &mut rng);
        assert!(t.iter().all(|t| (T_MIN..=1.0).contains(t)));
        let mut s = t.clone();
        s.sort_by(f32::total_cmp);
        assert!(
            s.windows(2)
                .all(|w| (w[1] - w[0] - 0.125 * (1.0 - T_MIN)).abs() < 1e-4)
        );
    }
}
