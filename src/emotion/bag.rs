//! A bag of embeddings (fastText's classifier, Joulin et al. 2017): each hashed feature has a `dim`-wide
//! embedding, a text is the mean of its features' embeddings, and a linear layer reads the class from it. Trained
//! with plain SGD whose rate decays linearly to zero. Unlike the sparse logistic regression in `crate::sparse::linear`,
//! words share a low-rank space, so the two read a context differently and are worth fusing.

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};

/// A trained bag-of-embeddings classifier over 2^`bits` hashed features.
#[derive(Debug, Clone, PartialEq)]
pub struct EmbeddingBag {
    dim: usize,
    /// [feature][dim], row-major.
    embeddings: Vec<f32>,
    /// [class][dim], row-major.
    output: Vec<f32>,
}

/// How to train an [`EmbeddingBag`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BagSettings {
    pub dim: usize,
    pub epochs: usize,
    /// The SGD rate at the start; it falls linearly to 0 over the run.
    pub lr: f32,
}

impl EmbeddingBag {
    /// Trains on `rows` (feature indices below 2^`bits`, class below `classes`).
    pub fn train(
        rows: &[(Vec<u32>, usize)],
        classes: usize,
        bits: u32,
        settings: BagSettings,
        seed: u64,
    ) -> Self {
        let BagSettings { dim, epochs, lr } = settings;
        let mut rng = StdRng::seed_from_u64(seed);
        let scale = 1.0 / dim as f32;
        let embeddings = (0..(1usize << bits) * dim)
            .map(|_| (rng.random::<f32>() - 0.5) * scale)
            .collect();
        let mut bag = Self {
            dim,
            embeddings,
            output: vec![0.0; classes * dim],
        };
        let mut order: Vec<usize> = (0..rows.len()).collect();
        let total = (epochs * rows.len()).max(1) as f32;
        let mut done = 0.0f32;
        let mut grad_hidden = vec![0f32; dim];
        for _ in 0..epochs {
            order.shuffle(&mut rng);
            for &r in &order {
                let (features, y) = &rows[r];
                if features.is_empty() {
                    continue;
                }
                let rate = lr * (1.0 - done / total);
                done += 1.0;
                let hidden = bag.hidden(features);
                let p = bag.probabilities_of(&hidden);
                grad_hidden.fill(0.0);
                for (c, pc) in p.iter().enumerate() {
                    let g = pc - if c == *y { 1.0 } else { 0.0 };
                    let row = &mut bag.output[c * dim..(c + 1) * dim];
                    for ((gh, w), h) in grad_hidden.iter_mut().zip(row.iter_mut()).zip(&hidden) {
                        *gh += g * *w;
                        *w -= rate * g * h;
                    }
                }
                let step = rate / features.len() as f32;
                for &k in features {
                    let row = &mut bag.embeddings[k as usize * dim..(k as usize + 1) * dim];
                    row.iter_mut()
                        .zip(&grad_hidden)
                        .for_each(|(w, g)| *w -= step * g);
                }
            }
        }
        bag
    }

    /// The mean embedding of `features`.
    fn hidden(&self, features: &[u32]) -> Vec<f32> {
        let mut h = vec![0f32; self.dim];
        for &k in features {
            let row = &self.embeddings[k as usize * self.dim..(k as usize + 1) * self.dim];
            h.iter_mut().zip(row).for_each(|(a, b)| *a += b);
        }
        let n = features.len().max(1) as f32;
        h.iter_mut().for_each(|a| *a /= n);
        h
    }

    fn probabilities_of(&self, hidden: &[f32]) -> Vec<f32> {
        let mut z: Vec<f32> = self
            .output
            .chunks_exact(self.dim)
            .map(|w| w.iter().zip(hidden).map(|(a, b)| a * b).sum())
            .collect();
        crate::sparse::linear::softmax(&mut z);
        z
    }

    /// Class probabilities of one text's features.
    pub fn probabilities(&self, features: &[u32]) -> Vec<f32> {
        self.probabilities_of(&self.hidden(features))
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The embeddings, then the output layer (what the checkpoint file stores).
    pub fn values(&self) -> impl Iterator<Item = &f32> {
        self.embeddings.iter().chain(&self.output)
    }

    /// Number of values [`Self::values`] yields for these shapes.
    pub fn value_count(classes: usize, bits: u32, dim: usize) -> usize {
        ((1usize << bits) + classes) * dim
    }

    /// A model from [`Self::values`]; `None` when their number does not match the shapes.
    pub fn from_values(classes: usize, bits: u32, dim: usize, values: &[f32]) -> Option<Self> {
        if dim == 0 || values.len() != Self::value_count(classes, bits, dim) {
            return None;
        }
        let (embeddings, output) = values.split_at((1usize << bits) * dim);
        Some(Self {
            dim,
            embeddings: embeddings.to_vec(),
            output: output.to_vec(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learns_a_separable_task_and_rebuilds_from_its_values() {
        // Class 0 texts use features 1–3, class 1 texts 4–6; feature 7 is shared noise.
        let rows: Vec<(Vec<u32>, usize)> = (0..60)
            .map(|i| {
                let base = if i % 2 == 0 { 1 } else { 4 };
                (vec![base + (i as u32 / 2) % 3, 7], i % 2)
            })
            .collect();
        let settings = BagSettings {
            dim: 8,
            epochs: 20,
            lr: 0.5,
        };
        let bag = EmbeddingBag::train(&rows, 2, 4, settings, 0);
        let p0 = bag.probabilities(&[2, 7]);
        let p1 = bag.probabilities(&[5, 7]);
        assert!(p0[0] > 0.8 && p1[1] > 0.8, "{p0:?} {p1:?}");
        assert!((p0.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        let values: Vec<f32> = bag.values().copied().collect();
        assert_eq!(values.len(), EmbeddingBag::value_count(2, 4, 8));
        assert_eq!(EmbeddingBag::from_values(2, 4, 8, &values), Some(bag));
        assert_eq!(EmbeddingBag::from_values(2, 4, 8, &values[1..]), None);
        // The same seed trains the same model.
        let again = EmbeddingBag::train(&rows, 2, 4, settings, 0);
        assert_eq!(again.probabilities(&[2, 7]), p0);
    }
}
