//! The sampler's n-gram ban (`--no-repeat-ngram`) and context bias (`--context-bias`): what a position may not
//! draw given the reply written so far, and its logits with the context's words boosted. Host only.

use crate::tokenizer::{EOS, MASK, PAD};

/// The tokens the `n`-gram ban forbids at position `p` of `reply`, `blank` ones included (none with n = 0).
pub(super) fn banned(n: usize, blank: &[u32], reply: &[u32], p: usize) -> Vec<u32> {
    if n == 0 {
        return Vec::new();
    }
    let mut b = repeats(reply, p, n);
    b.extend_from_slice(blank);
    b.extend(neighbours(reply, p));
    b
}

/// One position's logits with `bias` added to the tokens in `boost` (in `scratch`), or as they are.
pub(super) fn boosted<'a>(
    logits: &'a [f32],
    boost: &[u32],
    bias: f32,
    scratch: &'a mut Vec<f32>,
) -> &'a [f32] {
    if boost.is_empty() {
        return logits;
    }
    scratch.clear();
    scratch.extend_from_slice(logits);
    for &t in boost {
        scratch[t as usize] += bias;
    }
    scratch
}

/// The tokens that would make, at position `p` of `reply`, an `n`-gram the reply already holds: for every window
/// of n positions through `p` whose other positions are written (not masked or ended), the token that an earlier
/// or later written occurrence of those n − 1 tokens has at `p`'s place. Windows that end at `p` catch "… to hear
/// that. sorry to" written left to right; windows that start or pass through it catch the same repeat written
/// out of order, as confidence order does inside a block.
pub(super) fn repeats(reply: &[u32], p: usize, n: usize) -> Vec<u32> {
    let written = |t: u32| !matches!(t, MASK | EOS | PAD);
    let mut banned = Vec::new();
    for start in p.saturating_sub(n - 1)..=p {
        let Some(window) = reply.get(start..start + n) else {
            break;
        };
        let at = p - start;
        let others = (0..n).filter(|&j| j != at);
        if !others.clone().all(|j| written(window[j])) {
            continue;
        }
        banned.extend(
            reply
                .windows(n)
                .enumerate()
                .filter(|(j, w)| {
                    *j != start
                        && w.iter().all(|t| written(*t))
                        && others.clone().all(|k| w[k] == window[k])
                })
                .map(|(_, w)| w[at]),
        );
    }
    banned
}

/// The written tokens right before and after position `p`: the denoiser, with the positions after a word still
/// masked, sometimes writes the word again right after it ("you did well well", "maybe maybe").
pub(super) fn neighbours(reply: &[u32], p: usize) -> impl Iterator<Item = u32> + '_ {
    let before = p.checked_sub(1).map(|q| reply[q]);
    let after = reply.get(p + 1).copied();
    [before, after]
        .into_iter()
        .flatten()
        .filter(|t| !matches!(*t, MASK | EOS | PAD))
}
