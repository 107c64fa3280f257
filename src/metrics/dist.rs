//! Dist-n (Li et al., NAACL 2016), corpus level: distinct n-grams / all n-grams over every reply, × 100.

use std::collections::HashSet;

/// Tokenisation used by every metric here: lower-case, split on whitespace, punctuation split off as its own
/// token (so "sad." and "sad" count as the same word plus a period).
pub fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for chunk in text.to_lowercase().split_whitespace() {
        let mut cur = String::new();
        for c in chunk.chars() {
            if c.is_alphanumeric() || c == '\'' {
                cur.push(c);
            } else {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                out.push(c.to_string());
            }
        }
        if !cur.is_empty() {
            out.push(cur);
        }
    }
    out
}

/// Corpus-level Dist-n × 100; 0 when there are no n-grams.
pub fn distinct_n(replies: &[Vec<String>], n: usize) -> f64 {
    let mut all = 0usize;
    let mut distinct = HashSet::new();
    for r in replies {
        for g in r.windows(n) {
            all += 1;
            distinct.insert(g.to_vec());
        }
    }
    if all == 0 {
        0.0
    } else {
        100.0 * distinct.len() as f64 / all as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dist_n_on_hand_computed_examples() {
        let r = vec![words("I am sad."), words("i am happy")];
        // unigrams: i am sad . i am happy → 7 in all, {i, am, sad, ., happy} = 5 distinct
        assert!((distinct_n(&r, 1) - 500.0 / 7.0).abs() < 1e-9);
        // bigrams: (i am)(am sad)(sad .)(i am)(am happy) → 5 in all, 4 distinct
        assert!((distinct_n(&r, 2) - 80.0).abs() < 1e-9);
        assert_eq!(distinct_n(&[words("hi")], 2), 0.0);
    }
}
