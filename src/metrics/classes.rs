//! Accuracy and macro-F1 of a classifier (emotion read from the context, intent judge).

/// Index of the largest value (the last of equals, as `Iterator::max_by`; 0 for an empty slice): a classifier's
/// prediction from its probabilities.
pub fn argmax(p: &[f32]) -> usize {
    (0..p.len())
        .max_by(|&a, &b| p[a].total_cmp(&p[b]))
        .unwrap_or(0)
}

/// Accuracy and macro-F1 in %, the F1 averaged over the classes that occur in `gold` (a class never predicted
/// and never gold does not count; one gold but never predicted counts 0).
pub fn accuracy_macro_f1(gold: &[usize], predicted: &[usize]) -> (f64, f64) {
    let n = gold.len().max(1) as f64;
    let correct = gold.iter().zip(predicted).filter(|(g, p)| g == p).count() as f64;
    let classes = gold.iter().copied().max().map_or(0, |m| m + 1);
    let mut f1s = Vec::new();
    for c in 0..classes {
        let support = gold.iter().filter(|g| **g == c).count();
        if support == 0 {
            continue;
        }
        let tp = gold
            .iter()
            .zip(predicted)
            .filter(|(g, p)| **g == c && **p == c)
            .count() as f64;
        let predicted_c = predicted.iter().filter(|p| **p == c).count() as f64;
        let (prec, rec) = (tp / predicted_c.max(1.0), tp / support as f64);
        f1s.push(if prec + rec == 0.0 {
            0.0
        } else {
            2.0 * prec * rec / (prec + rec)
        });
    }
    let macro_f1 = f1s.iter().sum::<f64>() / f1s.len().max(1) as f64;
    (100.0 * correct / n, 100.0 * macro_f1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accuracy_and_macro_f1_by_hand() {
        let (acc, f1) = accuracy_macro_f1(&[0, 0, 1, 1], &[0, 1, 1, 1]);
        assert!((acc - 75.0).abs() < 1e-9);
        // F1(0) = 2·1·0.5/1.5 = 0.667, F1(1) = 2·(2/3)·1/(5/3) = 0.8.
        assert!((f1 - 100.0 * (2.0 / 3.0 + 0.8) / 2.0).abs() < 1e-9);
        // A gold class never predicted counts 0; a predicted class never gold does not count.
        let (_, f1) = accuracy_macro_f1(&[0, 2], &[0, 1]);
        assert!((f1 - 50.0).abs() < 1e-9);
    }
}
