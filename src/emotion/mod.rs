//! The lexical emotion reader: two bag-of-words models of the whole context (every turn, however long — the
//! encoder sees only its window), fused with the encoder's emotion.
//! * a multinomial logistic regression over TF-IDF vectors (sublinear tf, smoothed idf from the train split,
//!   L2-normalised) of hashed word 1–2-grams and character 3–5-grams, the linear model that issue 10 measured at
//!   42 % on ED test;
//! * a bag of embeddings (`crate::emotion::bag`, fastText's classifier) over hashed word 1–2-grams, which shares a
//!   low-rank space between words and so reads differently.
//!
//! At inference p ∝ (p_encoder · p_regression^β · p_bag^γ)^(1/(1+β+γ)) — a weighted geometric mean, so the fused
//! probabilities stay as spread as their inputs — with β and γ tuned on the validation split
//! (`reflectdiffu emotion train`).

use crate::emotion::bag::{BagSettings, EmbeddingBag};
use crate::sparse::linear::HashedLinear;

pub mod bag;
mod file;
pub mod fusion;

/// The file a checkpoint keeps it in.
pub const FILE: &str = "emotion_ngrams.bin";
const BITS: u32 = 17;
/// Hash width of the word 1–2-grams the embedding bag reads.
const BAG_BITS: u32 = 16;
const CLASSES: usize = crate::data::EMOTIONS.len();

/// A trained reader and its fusion weights.
#[derive(Debug, Clone, PartialEq)]
pub struct LexicalEmotion {
    model: HashedLinear,
    /// Inverse document frequency of each hashed feature (2^BITS).
    idf: Vec<f32>,
    bag: Option<EmbeddingBag>,
    /// β: the regression's weight in the fusion (0 = leave it out).
    pub weight: f32,
    /// γ: the embedding bag's weight in the fusion (0 = leave it out; ignored without a bag).
    pub bag_weight: f32,
}

/// What the reader reads of a context: the regression's n-grams and the bag's word n-grams, hashed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContextFeatures {
    pub ngrams: Vec<u32>,
    pub words: Vec<u32>,
}

/// The hashed features of a context (turns oldest first).
pub fn features(turns: &[String]) -> ContextFeatures {
    let h = |parts: &[&str]| crate::sparse::hashing::feature(parts, BITS);
    let hw = |parts: &[&str]| crate::sparse::hashing::feature(parts, BAG_BITS);
    let mut f = vec![h(&["bias"])];
    let mut words = Vec::new();
    for turn in turns {
        let w = crate::intent::judge::words(turn);
        for (i, x) in w.iter().enumerate() {
            f.push(h(&["w", x]));
            words.push(hw(&["w", x]));
            if let Some(y) = w.get(i + 1) {
                f.push(h(&["b", x, y]));
                words.push(hw(&["b", x, y]));
            }
        }
        let chars: Vec<char> = format!(" {} ", w.join(" ")).chars().collect();
        for n in 3..=5 {
            for win in chars.windows(n) {
                let g: String = win.iter().collect();
                f.push(h(&["c", &g]));
            }
        }
    }
    ContextFeatures { ngrams: f, words }
}

/// The TF-IDF vector of a feature list: (1 + ln tf) · idf per distinct feature, L2-normalised.
fn tfidf(idf: &[f32], features: &[u32]) -> Vec<(u32, f32)> {
    let mut sorted = features.to_vec();
    sorted.sort_unstable();
    let mut out: Vec<(u32, f32)> = Vec::new();
    for k in sorted {
        match out.last_mut() {
            Some((last, tf)) if *last == k => *tf += 1.0,
            _ => out.push((k, 1.0)),
        }
    }
    for (k, v) in out.iter_mut() {
        *v = (1.0 + v.ln()) * idf[*k as usize];
    }
    let norm = out
        .iter()
        .map(|(_, v)| v * v)
        .sum::<f32>()
        .sqrt()
        .max(1e-12);
    out.iter_mut().for_each(|(_, v)| *v /= norm);
    out
}

impl LexicalEmotion {
    /// Trains the regression (AdaGrad, `epochs` passes at `lr`) and, given its settings, the embedding bag on
    /// (context, emotion) pairs; β starts at 1 and γ at 1 with a bag, 0 without (set them by tuning).
    pub fn train(
        data: &[(Vec<String>, usize)],
        epochs: usize,
        lr: f32,
        bag: Option<BagSettings>,
        seed: u64,
    ) -> Self {
        let feats: Vec<ContextFeatures> = data.iter().map(|(t, _)| features(t)).collect();
        let mut df = vec![0u32; 1 << BITS];
        for f in &feats {
            let mut seen = f.ngrams.clone();
            seen.sort_unstable();
            seen.dedup();
            seen.into_iter().for_each(|k| df[k as usize] += 1);
        }
        let n = feats.len() as f32;
        let idf: Vec<f32> = df
            .into_iter()
            .map(|d| ((1.0 + n) / (1.0 + d as f32)).ln() + 1.0)
            .collect();
        let rows: Vec<(Vec<(u32, f32)>, usize)> = feats
            .iter()
            .zip(data)
            .map(|(f, (_, e))| (tfidf(&idf, &f.ngrams), *e))
            .collect();
        let model = HashedLinear::train(&rows, CLASSES, BITS, epochs, lr, seed);
        let bag = bag.map(|settings| {
            let rows: Vec<(Vec<u32>, usize)> = feats
                .into_iter()
                .zip(data)
                .map(|(f, (_, e))| (f.words, *e))
                .collect();
            EmbeddingBag::train(&rows, CLASSES, BAG_BITS, settings, seed)
        });
        Self {
            model,
            idf,
            bag_weight: if bag.is_some() { 1.0 } else { 0.0 },
            bag,
            weight: 1.0,
        }
    }

    /// P(emotion | context) of the regression alone.
    pub fn probabilities(&self, features: &ContextFeatures) -> Vec<f32> {
        self.model
            .probabilities(&tfidf(&self.idf, &features.ngrams))
    }

    /// P(emotion | context) of the embedding bag alone, when the reader has one.
    pub fn bag_probabilities(&self, features: &ContextFeatures) -> Option<Vec<f32>> {
        Some(self.bag.as_ref()?.probabilities(&features.words))
    }

    pub fn has_bag(&self) -> bool {
        self.bag.is_some()
    }

    /// Fuses the encoder's probabilities `p` (32) with this reader's on `features`, in place: the weighted
    /// geometric mean (p · q^β · r^γ)^(1/(1+β+γ)), renormalised.
    pub fn fuse(&self, p: &mut [f32], features: &ContextFeatures) {
        if features.ngrams.is_empty() {
            return;
        }
        let q = self.probabilities(features);
        self.fuse_probabilities(p, &q, self.bag_probabilities(features).as_deref());
    }

    /// [`Self::fuse`] with the regression's probabilities `q` and the bag's `r` already computed.
    pub fn fuse_probabilities(&self, p: &mut [f32], q: &[f32], r: Option<&[f32]>) {
        let (beta, gamma) = (self.weight, if r.is_some() { self.bag_weight } else { 0.0 });
        if beta == 0.0 && gamma == 0.0 {
            return;
        }
        let k = 1.0 / (1.0 + beta + gamma);
        let ln = |x: f32| x.max(1e-12).ln();
        for (c, a) in p.iter_mut().enumerate() {
            let bag = r.map_or(0.0, |r| gamma * ln(r[c]));
            *a = ((ln(*a) + beta * ln(q[c]) + bag) * k).exp();
        }
        let sum: f32 = p.iter().sum();
        if sum > 0.0 && sum.is_finite() {
            p.iter_mut().for_each(|a| *a /= sum);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learns_emotion_words_fuses_and_round_trips() {
        let data: Vec<(Vec<String>, usize)> = [
            ("i was so scared of the storm", 0),
            ("the dark house terrified me", 0),
            ("i am so proud of my daughter", 26),
            ("my son graduated, so proud", 26),
        ]
        .iter()
        .cycle()
        .take(40)
        .map(|(t, e)| (vec![t.to_string()], *e))
        .collect();
        let bag = BagSettings {
            dim: 8,
            epochs: 10,
            lr: 0.5,
        };
        let mut r = LexicalEmotion::train(&data, 3, 0.5, Some(bag), 0);
        let f = features(&["so proud of him".to_string()]);
        let p = r.probabilities(&f);
        assert!(p[26] > p[0] && p[26] > 0.5);
        let b = r.bag_probabilities(&f).unwrap();
        assert!(b[26] > b[0] && b[26] > 0.5, "{b:?}");
        // Fusion moves a flat encoder towards the lexical readings, never past them; β = γ = 0 leaves it alone.
        let mut flat = vec![1.0 / 32.0; 32];
        r.fuse(&mut flat, &f);
        let best = (0..32)
            .max_by(|&a, &b| flat[a].total_cmp(&flat[b]))
            .unwrap();
        assert_eq!(best, 26);
        assert!(flat[26] > 1.0 / 32.0 && flat[26] <= p[26].max(b[26]) + 1e-6);
        assert!((flat.iter().sum::<f32>() - 1.0).abs() < 1e-4);
        (r.weight, r.bag_weight) = (0.0, 0.0);
        let mut flat0 = vec![1.0 / 32.0; 32];
        r.fuse(&mut flat0, &f);
        assert_eq!(flat0, vec![1.0 / 32.0; 32]);
        (r.weight, r.bag_weight) = (0.5, 2.0);
        let back = LexicalEmotion::from_bytes(&r.to_bytes()).unwrap();
        assert_eq!(back, r);
        // The f16 file is half the size and reads the same emotion.
        let half = LexicalEmotion::from_bytes(&r.to_bytes_f16()).unwrap();
        assert!(r.to_bytes_f16().len() < r.to_bytes().len() / 2 + 16);
        let (a, b) = (r.probabilities(&f), half.probabilities(&f));
        assert!(
            a.iter().zip(&b).all(|(x, y)| (x - y).abs() < 1e-2),
            "{a:?} {b:?}"
        );
        // A regression-only reader (what checkpoints before the bag hold) still reads, without a bag.
        let mut v2 = file::MAGIC_V2.to_vec();
        v2.extend(0.5f32.to_le_bytes());
        for v in r.idf.iter().chain(r.model.weights()) {
            v2.extend(v.to_le_bytes());
        }
        let old = LexicalEmotion::from_bytes(&v2).unwrap();
        assert!(!old.has_bag() && old.bag_probabilities(&f).is_none());
        assert_eq!(old.probabilities(&f), r.probabilities(&f));
        assert!(LexicalEmotion::from_bytes(&v2[..v2.len() - 1]).is_err());
        assert!(LexicalEmotion::from_bytes(b"RDEMO03\0\0\0\0\0").is_err());
        assert!(LexicalEmotion::from_bytes(b"nope").is_err());
    }
}
