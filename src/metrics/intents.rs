//! Intent metrics of a set of replies: how the intents are spread, and how often a listener repeats the intent of
//! their previous turn in the same conversation (MINT, 2025: humans ≈ 0.27, LLMs 0.50–0.56).

/// Share of each of `classes` intents among `intents`, in %.
pub fn distribution(intents: &[usize], classes: usize) -> Vec<f64> {
    let mut counts = vec![0usize; classes];
    for &i in intents {
        if i < classes {
            counts[i] += 1;
        }
    }
    let n = intents.len().max(1) as f64;
    counts.into_iter().map(|c| 100.0 * c as f64 / n).collect()
}

/// Fraction (0–1) of consecutive listener-turn pairs of the same conversation whose intents are equal.
/// `rows` are (conversation id, turn index, intent) in any order; pairs are turns of one conversation that
/// follow each other among its listener turns. `None` when no conversation has two listener turns.
pub fn cross_turn_repetition(rows: &[(&str, usize, usize)]) -> Option<f64> {
    let mut sorted: Vec<&(&str, usize, usize)> = rows.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(b.0).then(a.1.cmp(&b.1)));
    let (mut pairs, mut same) = (0usize, 0usize);
    for w in sorted.windows(2) {
        if w[0].0 == w[1].0 {
            pairs += 1;
            same += usize::from(w[0].2 == w[1].2);
        }
    }
    (pairs > 0).then(|| same as f64 / pairs as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repetition_counts_pairs_within_a_conversation_only() {
        // c1: questioning → questioning → consoling (1 of 2 pairs repeats); c2: one turn, no pair; the boundary
        // between c1 and c2 is not a pair even though the intents match.
        let rows = [("c1", 5, 3), ("c1", 1, 6), ("c1", 3, 6), ("c2", 1, 3)];
        assert_eq!(cross_turn_repetition(&rows), Some(0.5));
        assert_eq!(cross_turn_repetition(&rows[3..]), None);
    }

    #[test]
    fn distribution_is_in_percent_of_all_rows() {
        let d = distribution(&[0, 0, 2, 9], 9);
        assert_eq!(d.len(), 9);
        assert_eq!(d[0], 50.0);
        assert_eq!(d[2], 25.0);
        assert_eq!(
            d.iter().sum::<f64>(),
            75.0,
            "the 'unknown' row counts in the total"
        );
    }
}
