//! The lexical emotion reader: multinomial logistic regression over TF-IDF vectors (sublinear tf, smoothed idf
//! from the train split, L2-normalised) of hashed word 1–2-grams and character 3–5-grams of the whole context (every turn, however long — the encoder sees only its window), the linear
//! model that issue 10 measured at 42 % on ED test. At inference its probabilities are fused with the encoder's,
//! p ∝ (p_encoder · p_lexical^β)^(1/(1+β)) — a weighted geometric mean, so the fused probabilities stay as spread
//! as their inputs — with β tuned on the validation split (`reflectdiffu emotion train`).

use crate::linear::HashedLinear;

/// The file a checkpoint keeps it in.
pub const FILE: &str = "emotion_ngrams.bin";
const MAGIC: &[u8; 8] = b"RDEMO02\0";
/// The same layout with the idf table and the weights as f16 (half the size; what the web page downloads).
const MAGIC_F16: &[u8; 8] = b"RDEMH02\0";
const BITS: u32 = 17;
const CLASSES: usize = crate::data::EMOTIONS.len();

/// A trained reader and its fusion weight β.
#[derive(Debug, Clone, PartialEq)]
pub struct LexicalEmotion {
    model: HashedLinear,
    /// Inverse document frequency of each hashed feature (2^BITS).
    idf: Vec<f32>,
    /// β in p ∝ p_encoder · p_lexical^β (0 = the encoder alone).
    pub weight: f32,
}

/// The hashed features of a context (turns oldest first).
pub fn features(turns: &[String]) -> Vec<u32> {
    let h = |parts: &[&str]| crate::hashing::feature(parts, BITS);
    let mut f = vec![h(&["bias"])];
    for turn in turns {
        let w = crate::intent::judge::words(turn);
        for (i, x) in w.iter().enumerate() {
            f.push(h(&["w", x]));
            if let Some(y) = w.get(i + 1) {
                f.push(h(&["b", x, y]));
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
    f
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
    /// Trains on (context, emotion) pairs; β starts at 1 (set it with [`Self::weight`]).
    pub fn train(data: &[(Vec<String>, usize)], epochs: usize, lr: f32, seed: u64) -> Self {
        let feats: Vec<Vec<u32>> = data.iter().map(|(t, _)| features(t)).collect();
        let mut df = vec![0u32; 1 << BITS];
        for f in &feats {
            let mut seen = f.clone();
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
            .map(|(f, (_, e))| (tfidf(&idf, f), *e))
            .collect();
        Self {
            model: HashedLinear::train(&rows, CLASSES, BITS, epochs, lr, seed),
            idf,
            weight: 1.0,
        }
    }

    /// P(emotion | context) of the lexical model alone, from the context's [`features`].
    pub fn probabilities(&self, features: &[u32]) -> Vec<f32> {
        self.model.probabilities(&tfidf(&self.idf, features))
    }

    /// Fuses the encoder's probabilities `p` (32) with this reader's on `features`, in place: the weighted
    /// geometric mean (p^1 · q^β)^(1/(1+β)), renormalised.
    pub fn fuse(&self, p: &mut [f32], features: &[u32]) {
        if self.weight == 0.0 || features.is_empty() {
            return;
        }
        self.fuse_probabilities(p, &self.probabilities(features));
    }

    /// [`Self::fuse`] with this reader's probabilities `q` already computed.
    pub fn fuse_probabilities(&self, p: &mut [f32], q: &[f32]) {
        let k = 1.0 / (1.0 + self.weight);
        for (a, b) in p.iter_mut().zip(q) {
            *a = ((a.max(1e-12).ln() + self.weight * b.max(1e-12).ln()) * k).exp();
        }
        let sum: f32 = p.iter().sum();
        if sum > 0.0 && sum.is_finite() {
            p.iter_mut().for_each(|a| *a /= sum);
        }
    }

    /// `RDEMO02\0`, β, the idf table, then the weights, all little-endian f32.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut head = MAGIC.to_vec();
        head.extend(self.weight.to_le_bytes());
        for v in &self.idf {
            head.extend(v.to_le_bytes());
        }
        self.model.to_bytes(&head)
    }

    /// As [`Self::to_bytes`] with the idf table and the weights as f16 (`RDEMH02\0`); β stays f32.
    pub fn to_bytes_f16(&self) -> Vec<u8> {
        let mut out = MAGIC_F16.to_vec();
        out.extend(self.weight.to_le_bytes());
        for v in self.idf.iter().chain(self.model.weights()) {
            out.extend(burn::tensor::f16::from_f32(*v).to_le_bytes());
        }
        out
    }

    /// Reads either layout ([`Self::to_bytes`] or [`Self::to_bytes_f16`]).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, String> {
        let bad = || {
            format!(
                "not a lexical emotion reader ({FILE}, written by `reflectdiffu emotion train`)"
            )
        };
        let width = if bytes.starts_with(MAGIC) {
            4
        } else if bytes.starts_with(MAGIC_F16) {
            2
        } else {
            return Err(bad());
        };
        let (buckets, classes) = (1usize << BITS, CLASSES);
        if bytes.len() != 12 + width * buckets * (1 + classes) {
            return Err(bad());
        }
        let weight = f32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes"));
        if !(weight >= 0.0 && weight.is_finite()) {
            return Err(bad());
        }
        let values: Vec<f32> = bytes[12..]
            .chunks_exact(width)
            .map(|b| match b {
                [a, b] => burn::tensor::f16::from_le_bytes([*a, *b]).to_f32(),
                _ => f32::from_le_bytes(b.try_into().expect("4 bytes")),
            })
            .collect();
        let (idf, weights) = values.split_at(buckets);
        let model = HashedLinear::from_weights(classes, BITS, weights.to_vec()).ok_or_else(bad)?;
        Ok(Self {
            model,
            idf: idf.to_vec(),
            weight,
        })
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
        let mut r = LexicalEmotion::train(&data, 3, 0.5, 0);
        let f = features(&["so proud of him".to_string()]);
        let p = r.probabilities(&f);
        assert!(p[26] > p[0] && p[26] > 0.5);
        // Fusion moves a flat encoder towards the lexical reading, never past it; β = 0 leaves it alone.
        let mut flat = vec![1.0 / 32.0; 32];
        r.fuse(&mut flat, &f);
        let best = (0..32)
            .max_by(|&a, &b| flat[a].total_cmp(&flat[b]))
            .unwrap();
        assert_eq!(best, 26);
        assert!(flat[26] > 1.0 / 32.0 && flat[26] <= p[26] + 1e-6);
        assert!((flat.iter().sum::<f32>() - 1.0).abs() < 1e-4);
        r.weight = 0.0;
        let mut flat0 = vec![1.0 / 32.0; 32];
        r.fuse(&mut flat0, &f);
        assert_eq!(flat0, vec![1.0 / 32.0; 32]);
        r.weight = 0.5;
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
        assert!(LexicalEmotion::from_bytes(b"RDEMO02\0\0\0\0\0").is_err());
        assert!(LexicalEmotion::from_bytes(b"nope").is_err());
    }
}
