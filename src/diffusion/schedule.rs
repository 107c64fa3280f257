//! The noise schedule. We use MDLM's log-linear schedule: α_t = 1 − t, so a token is masked at time t with
//! probability `mask_rate(t) = t`; t = 0 is clean data, t = 1 is all [MASK].

/// Smallest t drawn in training; the ELBO weight 1/t is unbounded at 0.
pub const T_MIN: f32 = 1e-3;

/// Probability that a token is [MASK] at time t ∈ [0, 1].
pub fn mask_rate(t: f32) -> f32 {
    t.clamp(0.0, 1.0)
}

/// Continuous-time ELBO weight −α'_t / (1 − α_t) = 1/t for the log-linear schedule (MDLM eq. 10).
pub fn elbo_weight(t: f32) -> f32 {
    1.0 / t.max(T_MIN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mask_rate_is_zero_at_zero_and_one_at_one() {
        assert_eq!(mask_rate(0.0), 0.0);
        assert_eq!(mask_rate(1.0), 1.0);
        assert!(mask_rate(0.3) < mask_rate(0.6));
    }
}
