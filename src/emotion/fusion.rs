//! Choosing the fusion weights of the lexical readers: the encoder's emotion + regression · β + bag · γ, each
//! (β, γ) of a grid scored by emotion accuracy on the validation split, the best kept (`emotion train`).

use super::LexicalEmotion;
use crate::metrics::{accuracy_macro_f1, argmax};

/// The regression's fusion weights tried.
pub const BETAS: [f32; 9] = [0.0, 2.0, 4.0, 8.0, 12.0, 16.0, 24.0, 32.0, 48.0];
/// The bag's (only 0 when the reader has no bag).
pub const GAMMAS: [f32; 6] = [0.0, 2.0, 4.0, 8.0, 12.0, 16.0];

/// What each reader makes of the validation contexts (probabilities per context), and the gold emotions.
pub struct Readings {
    pub encoder: Vec<Vec<f32>>,
    pub regression: Vec<Vec<f32>>,
    /// `None` when the reader has no bag of embeddings.
    pub bags: Option<Vec<Vec<f32>>>,
    pub gold: Vec<usize>,
}

impl Readings {
    /// Accuracy and macro-F1 (in %) of one reader alone.
    pub fn alone(&self, probs: &[Vec<f32>]) -> (f64, f64) {
        accuracy_macro_f1(
            &self.gold,
            &probs.iter().map(|p| argmax(p)).collect::<Vec<_>>(),
        )
    }
}

/// The accuracy of every (β, γ) tried and the best one.
pub struct FusionGrid {
    pub betas: Vec<f32>,
    pub gammas: Vec<f32>,
    /// `acc[i][j]`: accuracy in % at `betas[i]`, `gammas[j]`.
    pub acc: Vec<Vec<f64>>,
    /// (accuracy, β, γ); the first best in row order on a tie.
    pub best: (f64, f32, f32),
}

/// Scores the fusion on `readings` for every (β, γ) of the grid, using `reader`'s fusion rule (its weights are
/// left at the best pair).
pub fn fit(reader: &mut LexicalEmotion, readings: &Readings) -> FusionGrid {
    let gammas: Vec<f32> = if readings.bags.is_some() {
        GAMMAS.to_vec()
    } else {
        vec![0.0]
    };
    let mut best = (f64::NEG_INFINITY, 0.0f32, 0.0f32);
    let mut acc = Vec::with_capacity(BETAS.len());
    for beta in BETAS {
        let mut row = Vec::with_capacity(gammas.len());
        for &gamma in &gammas {
            (reader.weight, reader.bag_weight) = (beta, gamma);
            let fused: Vec<usize> = (0..readings.gold.len())
                .map(|i| {
                    let mut p = readings.encoder[i].clone();
                    let bag = readings.bags.as_ref().map(|b| b[i].as_slice());
                    reader.fuse_probabilities(&mut p, &readings.regression[i], bag);
                    argmax(&p)
                })
                .collect();
            let (a, _) = accuracy_macro_f1(&readings.gold, &fused);
            row.push(a);
            if a > best.0 {
                best = (a, beta, gamma);
            }
        }
        acc.push(row);
    }
    (reader.weight, reader.bag_weight) = (best.1, best.2);
    FusionGrid {
        betas: BETAS.to_vec(),
        gammas,
        acc,
        best,
    }
}
