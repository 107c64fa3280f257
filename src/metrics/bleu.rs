//! Corpus BLEU (Papineni et al., ACL 2002) with one reference per hypothesis, as NLTK's `corpus_bleu` computes
//! it without smoothing: clipped n-gram counts summed over the corpus, cumulative uniform weights (BLEU-n
//! averages the log precisions of orders 1..n), brevity penalty exp(1 − r/c) when the hypotheses are shorter
//! than the references. A zero precision at any order gives 0. Like NLTK, each hypothesis adds at least 1 to
//! the n-gram count of every order (its `max(1, len − n + 1)`), so a reply shorter than n lowers the precision
//! of order n instead of being left out. Tokens come from [`super::words`] (lower-cased, punctuation split off).

use std::collections::HashMap;

fn ngrams(tokens: &[String], n: usize) -> HashMap<&[String], usize> {
    let mut m = HashMap::new();
    for g in tokens.windows(n) {
        *m.entry(g).or_insert(0) += 1;
    }
    m
}

/// BLEU-1..BLEU-`max_n` (× 100) of `hypotheses` against one reference each.
pub fn corpus_bleu(
    hypotheses: &[Vec<String>],
    references: &[Vec<String>],
    max_n: usize,
) -> Vec<f64> {
    assert_eq!(
        hypotheses.len(),
        references.len(),
        "one reference per hypothesis"
    );
    let mut matched = vec![0usize; max_n];
    let mut total = vec![0usize; max_n];
    let (mut hyp_len, mut ref_len) = (0usize, 0usize);
    for (h, r) in hypotheses.iter().zip(references) {
        hyp_len += h.len();
        ref_len += r.len();
        for n in 1..=max_n {
            let rc = ngrams(r, n);
            for (g, c) in ngrams(h, n) {
                matched[n - 1] += c.min(*rc.get(g).unwrap_or(&0));
            }
            total[n - 1] += h.len().saturating_sub(n - 1).max(1);
        }
    }
    let bp = if hyp_len == 0 {
        0.0
    } else if hyp_len > ref_len {
        1.0
    } else {
        (1.0 - ref_len as f64 / hyp_len as f64).exp()
    };
    let mut out = Vec::with_capacity(max_n);
    let mut log_sum = 0.0;
    let mut zero = false;
    for n in 1..=max_n {
        if matched[n - 1] == 0 || total[n - 1] == 0 {
            zero = true;
        } else {
            log_sum += (matched[n - 1] as f64 / total[n - 1] as f64).ln();
        }
        out.push(if zero {
            0.0
        } else {
            100.0 * bp * (log_sum / n as f64).exp()
        });
    }
    out
}
