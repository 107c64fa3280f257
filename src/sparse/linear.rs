//! Multinomial logistic regression over hashed sparse features (index, value), trained with AdaGrad: the model
//! behind the intent judge and the lexical emotion reader. Weights are stored [feature][class], row-major.

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

/// A trained linear classifier over 2^`bits` hashed features.
#[derive(Debug, Clone, PartialEq)]
pub struct HashedLinear {
    classes: usize,
    bits: u32,
    weights: Vec<f32>,
}

/// A sparse feature vector: (hashed index, value) pairs; an index may repeat (the values add up).
pub type Features = [(u32, f32)];

pub(crate) fn softmax(z: &mut [f32]) {
    let m = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for v in z.iter_mut() {
        *v = (*v - m).exp();
        sum += *v;
    }
    for v in z.iter_mut() {
        *v /= sum;
    }
}

impl HashedLinear {
    /// Trains on `rows` (features with indices below 2^`bits`; class below `classes`) for `epochs` passes,
    /// AdaGrad with learning rate `lr`; each class's loss is weighted by 1 / sqrt(its share of the data), so that
    /// rare classes are not drowned by frequent ones.
    pub fn train(
        rows: &[(Vec<(u32, f32)>, usize)],
        classes: usize,
        bits: u32,
        epochs: usize,
        lr: f32,
        seed: u64,
    ) -> Self {
        let mut counts = vec![0usize; classes];
        for (_, y) in rows {
            counts[*y] += 1;
        }
        let n = rows.len().max(1) as f32;
        let class_weight: Vec<f32> = counts
            .iter()
            .map(|&c| {
                if c == 0 {
                    0.0
                } else {
                    (n / (classes as f32 * c as f32)).sqrt()
                }
            })
            .collect();
        let size = (1usize << bits) * classes;
        let (mut w, mut g2) = (vec![0f32; size], vec![1e-6f32; size]);
        let mut order: Vec<usize> = (0..rows.len()).collect();
        let mut rng = StdRng::seed_from_u64(seed);
        let mut p = vec![0f32; classes];
        for _ in 0..epochs {
            order.shuffle(&mut rng);
            for &r in &order {
                let (f, y) = &rows[r];
                p.fill(0.0);
                for &(k, x) in f {
                    let row = &w[k as usize * classes..(k as usize + 1) * classes];
                    p.iter_mut().zip(row).for_each(|(pc, wc)| *pc += x * wc);
                }
                softmax(&mut p);
                for (c, pc) in p.iter_mut().enumerate() {
                    *pc = (*pc - if c == *y { 1.0 } else { 0.0 }) * class_weight[*y];
                }
                for &(k, x) in f {
                    let base = k as usize * classes;
                    for (c, g) in p.iter().enumerate() {
                        let (i, g) = (base + c, g * x);
                        g2[i] += g * g;
                        w[i] -= lr * g / g2[i].sqrt();
                    }
                }
            }
        }
        Self {
            classes,
            bits,
            weights: w,
        }
    }

    /// Class probabilities of one feature vector.
    pub fn probabilities(&self, features: &Features) -> Vec<f32> {
        let mut p = vec![0f32; self.classes];
        for &(k, x) in features {
            let row = &self.weights[k as usize * self.classes..(k as usize + 1) * self.classes];
            p.iter_mut().zip(row).for_each(|(pc, wc)| *pc += x * wc);
        }
        softmax(&mut p);
        p
    }

    /// A model from its weights ([feature][class], row-major); `None` when their number does not match.
    pub fn from_weights(classes: usize, bits: u32, weights: Vec<f32>) -> Option<Self> {
        (weights.len() == (1usize << bits) * classes).then_some(Self {
            classes,
            bits,
            weights,
        })
    }

    pub fn weights(&self) -> &[f32] {
        &self.weights
    }

    pub fn classes(&self) -> usize {
        self.classes
    }

    pub fn bits(&self) -> u32 {
        self.bits
    }

    /// `magic`, then the weights as little-endian f32.
    pub fn to_bytes(&self, magic: &[u8]) -> Vec<u8> {
        let mut out = magic.to_vec();
        out.reserve(4 * self.weights.len());
        for v in &self.weights {
            out.extend(v.to_le_bytes());
        }
        out
    }

    /// Reads what [`Self::to_bytes`] wrote with the same `magic`, `classes` and `bits`; `None` when the bytes
    /// are something else.
    pub fn from_bytes(bytes: &[u8], magic: &[u8], classes: usize, bits: u32) -> Option<Self> {
        let size = (1usize << bits) * classes;
        if !bytes.starts_with(magic) || bytes.len() != magic.len() + 4 * size {
            return None;
        }
        Some(Self {
            classes,
            bits,
            weights: bytes[magic.len()..]
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes(b.try_into().expect("4 bytes")))
                .collect(),
        })
    }
}
