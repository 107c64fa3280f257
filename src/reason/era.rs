//! ERA tagger: which words of a turn carry an emotion or its cause (`<em>`), learned from RECCON's annotated
//! emotion-cause spans (Poria et al. 2021, DailyDialog part) instead of a lexicon rule.
//!
//! A logistic-regression token classifier over hashed features of the word, its neighbours (±2), its shape
//! and position, and — optionally — the Empath / VADER lexicons (valence bucket, emotion categories, distance to
//! the nearest lexicon word). Trained with AdaGrad; the decision threshold is the one with the best F1 on RECCON
//! valid. Words are the tokenizer's words ([`crate::tokenizer::TextTokenizer::words`]), so the tagger sees text
//! exactly as the model does.

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

pub use super::lexicon::Lexicon;
pub use super::reccon::{Example, reccon_examples};

use super::lexicon::EMPATH_EMOTION_CATEGORIES;
use crate::format::Invalid;

/// Hashed feature space (2^18 weights, 1 MB as f32).
const FEATURE_BITS: u32 = 18;
/// The first bytes of an ERA tagger file.
pub const MAGIC: &[u8; 8] = b"RDERA01\0";

fn hash(parts: &[&str]) -> u32 {
    crate::sparse::hashing::feature(parts, FEATURE_BITS)
}

fn shape(word: &str) -> &'static str {
    match word.chars().next() {
        Some(c) if c.is_alphabetic() => "alpha",
        Some(c) if c.is_numeric() => "num",
        Some(_) => "punct",
        None => "empty",
    }
}

/// The hashed features of word `i` of `words`.
pub fn features(words: &[String], i: usize, lexicon: Option<&Lexicon>) -> Vec<u32> {
    let at = |d: isize| -> &str {
        let j = i as isize + d;
        if j < 0 {
            "<s>"
        } else {
            words.get(j as usize).map_or("</s>", String::as_str)
        }
    };
    let w = at(0);
    let chars: Vec<char> = w.chars().collect();
    let prefix: String = chars.iter().take(3).collect();
    let suffix: String = chars[chars.len().saturating_sub(3)..].iter().collect();
    let position = (i * 5 / words.len().max(1)).to_string();
    let length = (words.len().min(40) / 5).to_string();
    let mut f = vec![
        hash(&["bias"]),
        hash(&["w", w]),
        hash(&["pre", &prefix]),
        hash(&["suf", &suffix]),
        hash(&["shape", shape(w)]),
        hash(&["w-1", at(-1)]),
        hash(&["w+1", at(1)]),
        hash(&["w-2", at(-2)]),
        hash(&["w+2", at(2)]),
        hash(&["w-1w", at(-1), w]),
        hash(&["ww+1", w, at(1)]),
        hash(&["pos", &position]),
        hash(&["len", &length]),
    ];
    // The sentence the word is in (cause spans are mostly whole clauses): its words, its index, whether it is
    // the last one; and the words of the whole turn (whether a turn holds a cause at all depends on its content).
    let end_of_sentence = |x: &str| matches!(x, "." | "!" | "?" | ";" | "..." | "!!" | "?!");
    let start = (0..i)
        .rev()
        .find(|&j| end_of_sentence(&words[j]))
        .map_or(0, |j| j + 1);
    let end = (i..words.len())
        .find(|&j| end_of_sentence(&words[j]))
        .map_or(words.len(), |j| j + 1);
    let sentence_index = words[..start].iter().filter(|x| end_of_sentence(x)).count();
    f.push(hash(&["sidx", &sentence_index.min(3).to_string()]));
    f.push(hash(&["slast", if end >= words.len() { "y" } else { "n" }]));
    f.push(hash(&["spos", &((i - start).min(8)).to_string()]));
    for x in &words[start..end] {
        f.push(hash(&["sw", x]));
    }
    for x in words {
        f.push(hash(&["tw", x]));
    }
    if let Some(lex) = lexicon {
        let in_sentence = words[start..end].iter().any(|x| lex.is_emotional(x));
        f.push(hash(&["lexsent", if in_sentence { "y" } else { "n" }]));
        let bucket = |word: &str| match lex.valence(word) {
            Some(v) if v <= -1.5 => "--",
            Some(v) if v < 0.0 => "-",
            Some(v) if v >= 1.5 => "++",
            Some(_) => "+",
            None => "0",
        };
        f.push(hash(&["val", bucket(w)]));
        f.push(hash(&["val-1", bucket(at(-1))]));
        f.push(hash(&["val+1", bucket(at(1))]));
        if let Some(bits) = lex.categories(w) {
            for (k, name) in EMPATH_EMOTION_CATEGORIES.iter().enumerate() {
                if bits & (1 << k) != 0 {
                    f.push(hash(&["cat", name]));
                }
            }
        }
        let nearest = (0..words.len())
            .filter(|&j| lex.is_emotional(&words[j]))
            .map(|j| j.abs_diff(i))
            .min();
        let distance = nearest.map_or("none".to_string(), |d| d.min(6).to_string());
        f.push(hash(&["lexdist", &distance]));
        let in_turn = words.iter().any(|x| lex.is_emotional(x));
        f.push(hash(&["lexturn", if in_turn { "y" } else { "n" }]));
    }
    f
}

/// A trained tagger.
#[derive(Debug, Clone, PartialEq)]
pub struct EraModel {
    weights: Vec<f32>,
    /// Probability above which a word is `<em>`.
    pub threshold: f32,
    /// Whether the lexicon features are used (the model then needs the lexicon to run).
    pub uses_lexicon: bool,
}

/// Training settings.
#[derive(Debug, Clone)]
pub struct TrainOptions {
    pub epochs: usize,
    pub learning_rate: f32,
    pub l2: f32,
    pub seed: u64,
}

impl Default for TrainOptions {
    fn default() -> Self {
        Self {
            epochs: 2,
            learning_rate: 0.2,
            l2: 1e-6,
            seed: 0,
        }
    }
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

impl EraModel {
    /// Trains on `train`; the threshold maximises F1 on `valid`.
    pub fn train(
        train: &[Example],
        valid: &[Example],
        lexicon: Option<&Lexicon>,
        opts: &TrainOptions,
    ) -> Self {
        let mut rows: Vec<(Vec<u32>, bool)> = Vec::new();
        for ex in train {
            for (i, &y) in ex.labels.iter().enumerate() {
                rows.push((features(&ex.words, i, lexicon), y));
            }
        }
        let n = 1usize << FEATURE_BITS;
        let (mut w, mut g2) = (vec![0f32; n], vec![1e-6f32; n]);
        let mut rng = StdRng::seed_from_u64(opts.seed);
        for _ in 0..opts.epochs {
            rows.shuffle(&mut rng);
            for (f, y) in &rows {
                let p = sigmoid(f.iter().map(|&k| w[k as usize]).sum());
                let grad = p - if *y { 1.0 } else { 0.0 };
                for &k in f {
                    let k = k as usize;
                    let g = grad + opts.l2 * w[k];
                    g2[k] += g * g;
                    w[k] -= opts.learning_rate * g / g2[k].sqrt();
                }
            }
        }
        let mut model = Self {
            weights: w,
            threshold: 0.5,
            uses_lexicon: lexicon.is_some(),
        };
        let probs: Vec<(f32, bool)> = valid
            .iter()
            .flat_map(|ex| {
                let p = model.probabilities(&ex.words, lexicon);
                p.into_iter().zip(ex.labels.iter().copied())
            })
            .collect();
        let best = (1..20)
            .map(|k| k as f32 * 0.05)
            .map(|th| {
                let s = Score::count(probs.iter().map(|(p, y)| (*p >= th, *y)));
                (th, s.f1())
            })
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map_or(0.5, |b| b.0);
        model.threshold = best;
        model
    }

    /// P(`<em>`) for every word.
    pub fn probabilities(&self, words: &[String], lexicon: Option<&Lexicon>) -> Vec<f32> {
        let lexicon = if self.uses_lexicon { lexicon } else { None };
        (0..words.len())
            .map(|i| {
                sigmoid(
                    features(words, i, lexicon)
                        .iter()
                        .map(|&k| self.weights[k as usize])
                        .sum(),
                )
            })
            .collect()
    }

    /// `<em>` (true) or `<noem>` for every word.
    pub fn tag(&self, words: &[String], lexicon: Option<&Lexicon>) -> Vec<bool> {
        self.probabilities(words, lexicon)
            .into_iter()
            .map(|p| p >= self.threshold)
            .collect()
    }

    /// `RDERA01\0`, threshold (f32), uses_lexicon (u8), then the weights as little-endian f32.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.extend(self.threshold.to_le_bytes());
        out.push(u8::from(self.uses_lexicon));
        for w in &self.weights {
            out.extend(w.to_le_bytes());
        }
        out
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Invalid> {
        let n = 1usize << FEATURE_BITS;
        if bytes.len() != MAGIC.len() + 5 + 4 * n || !bytes.starts_with(MAGIC) {
            return Err(Invalid::from(
                "not an ERA tagger file (era.bin written by `reflectdiffu era train`)",
            ));
        }
        let th = f32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes"));
        let weights = bytes[13..]
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().expect("4 bytes")))
            .collect();
        Ok(Self {
            weights,
            threshold: th,
            uses_lexicon: bytes[12] == 1,
        })
    }
}

/// Token-level counts and precision / recall / F1 of `<em>`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Score {
    pub tp: usize,
    pub fp: usize,
    pub fn_: usize,
    pub words: usize,
}

impl Score {
    /// Counts (predicted, gold) pairs.
    pub fn count(pairs: impl Iterator<Item = (bool, bool)>) -> Self {
        let mut s = Self::default();
        for (p, y) in pairs {
            s.words += 1;
            match (p, y) {
                (true, true) => s.tp += 1,
                (true, false) => s.fp += 1,
                (false, true) => s.fn_ += 1,
                _ => {}
            }
        }
        s
    }

    pub fn precision(&self) -> f64 {
        self.tp as f64 / (self.tp + self.fp).max(1) as f64
    }

    pub fn recall(&self) -> f64 {
        self.tp as f64 / (self.tp + self.fn_).max(1) as f64
    }

    pub fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        }
    }
}

/// Scores a tagger on examples.
pub fn evaluate(examples: &[Example], tagger: impl Fn(&[String]) -> Vec<bool>) -> Score {
    Score::count(examples.iter().flat_map(|ex| {
        tagger(&ex.words)
            .into_iter()
            .zip(ex.labels.iter().copied())
            .collect::<Vec<_>>()
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_and_the_file_format() {
        let s =
            Score::count([(true, true), (true, false), (false, true), (false, false)].into_iter());
        assert_eq!((s.tp, s.fp, s.fn_, s.words), (1, 1, 1, 4));
        assert!((s.f1() - 0.5).abs() < 1e-12);
        let ex = vec![Example {
            words: ["i", "lost", "my", "job", "."].map(String::from).to_vec(),
            labels: vec![false, true, true, true, false],
        }];
        let model = EraModel::train(&ex, &ex, None, &TrainOptions::default());
        let back = EraModel::from_bytes(&model.to_bytes()).unwrap();
        assert_eq!(back, model);
        assert_eq!(back.tag(&ex[0].words, None), model.tag(&ex[0].words, None));
        assert!(EraModel::from_bytes(b"RDERA01\0short").is_err());
    }
}
