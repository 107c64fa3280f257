//! The Empath and VADER lexicons as the ERA tagger and the lexicon rule read them.

use std::collections::HashMap;

/// |valence| ≥ 1.5 keeps clearly emotional words ("scared" −1.9, "happy" 2.7) and drops mild ones ("okay" 0.9).
pub const VADER_MIN_ABS_VALENCE: f32 = 1.5;

/// Empath categories that name an emotion (the rest are topics such as "office" or "beach").
pub const EMPATH_EMOTION_CATEGORIES: [&str; 30] = [
    "positive_emotion",
    "negative_emotion",
    "sadness",
    "joy",
    "fear",
    "anger",
    "rage",
    "love",
    "hate",
    "nervousness",
    "surprise",
    "disgust",
    "shame",
    "envy",
    "pride",
    "optimism",
    "suffering",
    "horror",
    "cheerfulness",
    "irritability",
    "exasperation",
    "sympathy",
    "disappointment",
    "contentment",
    "affection",
    "torment",
    "timidity",
    "zest",
    "emotional",
    "pain",
];

/// The Empath emotion categories and VADER valences of words.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Lexicon {
    valence: HashMap<String, f32>,
    /// Bit i set: the word is in `EMPATH_EMOTION_CATEGORIES[i]`.
    categories: HashMap<String, u32>,
}

impl Lexicon {
    /// Parses VADER's `word\tmean\tsd\t[ratings]` and Empath's `category\tword\tword…`.
    pub fn parse(vader: &str, empath: &str) -> Self {
        let mut valence = HashMap::new();
        for line in vader.lines() {
            let mut f = line.split('\t');
            if let (Some(word), Some(Ok(mean))) = (f.next(), f.next().map(str::parse::<f32>))
                && word.chars().all(|c| c.is_ascii_alphabetic() || c == '\'')
            {
                valence.insert(word.to_lowercase(), mean);
            }
        }
        let mut categories: HashMap<String, u32> = HashMap::new();
        for line in empath.lines() {
            let mut f = line.split('\t');
            if let Some(i) = f
                .next()
                .and_then(|c| EMPATH_EMOTION_CATEGORIES.iter().position(|e| *e == c))
            {
                for w in f.filter(|w| !w.contains(' ')) {
                    *categories.entry(w.to_lowercase()).or_default() |= 1 << i;
                }
            }
        }
        Self {
            valence,
            categories,
        }
    }

    /// The lexicon rule: |VADER valence| ≥ [`VADER_MIN_ABS_VALENCE`] or in an Empath emotion category.
    pub fn is_emotional(&self, word: &str) -> bool {
        self.valence
            .get(word)
            .is_some_and(|v| v.abs() >= VADER_MIN_ABS_VALENCE)
            || self.categories.contains_key(word)
    }

    /// The VADER mean valence of a (lower-cased) word.
    pub fn valence(&self, word: &str) -> Option<f32> {
        self.valence.get(word).copied()
    }

    /// The Empath emotion categories of a word, as bits over `EMPATH_EMOTION_CATEGORIES`.
    pub fn categories(&self, word: &str) -> Option<u32> {
        self.categories.get(word).copied()
    }

    /// Every word the rule marks.
    pub fn rule_words(&self) -> impl Iterator<Item = &String> {
        self.valence
            .keys()
            .chain(self.categories.keys())
            .filter(|w| self.is_emotional(w))
    }
}
