//! Block diffusion (BD3-LM, Arriola et al., ICLR 2025): the reply is written in blocks of `block` tokens, left to
//! right; inside a block, absorbing-state diffusion as before. These are the attention layouts that make training
//! match sampling:
//!
//! * training reads `[x_t ; x_0]` (2·len tokens, both at reply positions 0..len): a noisy token attends its own
//!   noisy block and the *clean* blocks before it; a clean token attends clean blocks up to its own;
//! * sampling reads `[noisy block ; clean prefix]`: the noisy block attends itself and the whole prefix, the prefix
//!   attends itself block-causally — for every block, exactly the computation training scored.
//!
//! Masks are `true` where a query may **not** attend a key (burn's convention), shaped [batch, seq, seq].

use burn::prelude::*;

/// The training mask over `[x_t ; x_0]`, 2·len × 2·len, row-major.
pub fn train_mask(len: usize, block: usize) -> Vec<bool> {
    let n = 2 * len;
    let mut m = vec![true; n * n];
    for q in 0..n {
        let (q_noisy, qb) = (q < len, (q % len) / block);
        for k in 0..n {
            let (k_noisy, kb) = (k < len, (k % len) / block);
            let allowed = match (q_noisy, k_noisy) {
                (true, true) => qb == kb,
                (true, false) => kb < qb,
                (false, true) => false,
                (false, false) => kb <= qb,
            };
            m[q * n + k] = !allowed;
        }
    }
    m
}

/// The sampling mask over `[noisy block (width) ; clean prefix (prefix)]`, row-major.
pub fn sample_mask(width: usize, prefix: usize, block: usize) -> Vec<bool> {
    let n = width + prefix;
    let mut m = vec![true; n * n];
    for q in 0..n {
        for k in 0..n {
            let allowed = if q < width {
                true // the noisy block sees itself and all of the clean prefix
            } else {
                k >= width && (k - width) / block <= (q - width) / block
            };
            m[q * n + k] = !allowed;
        }
    }
    m
}

/// A square mask as a [batch, n, n] Bool tensor.
pub fn mask_tensor(mask: Vec<bool>, n: usize, batch: usize, device: &Device) -> Tensor<3, Bool> {
    Tensor::<3, Bool>::from_data(TensorData::new(mask, [1, n, n]), device).repeat_dim(0, batch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_noisy_block_sees_itself_and_only_earlier_clean_blocks() {
        let (len, block) = (4, 2);
        let m = train_mask(len, block);
        let may = |q: usize, k: usize| !m[q * 2 * len + k];
        // noisy block 1 = positions 2, 3; clean copy = 4..8
        assert!(may(2, 3) && may(3, 2), "within its noisy block");
        assert!(!may(2, 0), "not another noisy block");
        assert!(may(2, 4) && may(2, 5), "clean block 0");
        assert!(!may(2, 6) && !may(2, 7), "not its own clean copy");
        assert!(!may(0, 4), "block 0 has no earlier clean block");
        assert!(
            may(6, 4) && may(6, 7) && !may(4, 6),
            "clean half is block-causal"
        );
        assert!(!may(4, 0), "clean tokens never see noisy ones");
    }

    #[test]
    fn sampling_sees_what_training_saw() {
        // Block 1 of a 4-token reply with blocks of 2: the noisy block (2 tokens) and the clean block 0.
        let (len, block) = (4, 2);
        let train = train_mask(len, block);
        let sample = sample_mask(2, 2, block);
        // training indices of the same tokens: noisy block 1 = 2, 3; clean block 0 = 4, 5
        let map = [2, 3, 4, 5];
        for (qs, &qt) in map.iter().enumerate() {
            for (ks, &kt) in map.iter().enumerate() {
                assert_eq!(
                    sample[qs * 4 + ks],
                    train[qt * 2 * len + kt],
                    "query {qs}, key {ks}"
                );
            }
        }
    }
}
