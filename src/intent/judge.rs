//! The intent judge: which of the 9 empathetic intents a listener reply carries. Multinomial logistic regression
//! over hashed word 1–2-grams, the reply's first words and last token, and character 3–5-grams, trained with
//! AdaGrad on EmpatheticIntents' lexically extended data (Welivita & Pu 2020). It is the "correct" step of Intent
//! Twice and the intent metric, so it stays frozen and separate from the generator.

use crate::sparse::linear::HashedLinear;

pub use crate::data::N_INTENTS;
pub use crate::data::intents::{Labelled, intent_of_file, parse_lines};
const BITS: u32 = 18;
const MAGIC: &[u8; 8] = b"RDINT01\0";

/// Lower-cased words and punctuation marks.
pub(crate) fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for c in text.to_lowercase().chars() {
        if c.is_alphanumeric() || c == '\'' {
            cur.push(c);
        } else {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            if matches!(c, '?' | '!' | '.') {
                out.push(c.to_string());
            }
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// The hashed features of a reply (with repeats: a repeated n-gram counts twice).
pub fn features(text: &str) -> Vec<u32> {
    let h = |parts: &[&str]| crate::sparse::hashing::feature(parts, BITS);
    let w = words(text);
    let mut f = vec![h(&["bias"])];
    for (i, x) in w.iter().enumerate() {
        f.push(h(&["w", x]));
        if let Some(y) = w.get(i + 1) {
            f.push(h(&["b", x, y]));
        }
    }
    let first = |k: usize| w.iter().take(k).cloned().collect::<Vec<_>>().join(" ");
    f.push(h(&["first1", &first(1)]));
    f.push(h(&["first2", &first(2)]));
    f.push(h(&["last", w.last().map_or("", String::as_str)]));
    let chars: Vec<char> = format!(" {} ", w.join(" ")).chars().collect();
    for n in 3..=5 {
        for win in chars.windows(n) {
            let g: String = win.iter().collect();
            f.push(h(&["c", &g]));
        }
    }
    f
}

/// Every feature with value 1 (a repeated n-gram counts twice).
fn ones(features: Vec<u32>) -> Vec<(u32, f32)> {
    features.into_iter().map(|k| (k, 1.0)).collect()
}

/// A trained judge.
#[derive(Debug, Clone, PartialEq)]
pub struct IntentJudge {
    model: HashedLinear,
}

impl IntentJudge {
    /// Trains for `epochs` passes (AdaGrad, learning rate 0.2, classes weighted by 1 / sqrt(their share), so
    /// that rare intents are not drowned by "questioning").
    pub fn train(data: &[Labelled], epochs: usize, seed: u64) -> Self {
        let rows: Vec<(Vec<(u32, f32)>, usize)> = data
            .iter()
            .map(|d| (ones(features(&d.text)), d.intent))
            .collect();
        Self {
            model: HashedLinear::train(&rows, N_INTENTS, BITS, epochs, 0.2, seed),
        }
    }

    /// P(intent | reply) over the 9 intents.
    pub fn probabilities(&self, text: &str) -> [f32; N_INTENTS] {
        let p = self.model.probabilities(&ones(features(text)));
        std::array::from_fn(|i| p[i])
    }

    /// The most probable intent.
    pub fn classify(&self, text: &str) -> usize {
        crate::metrics::argmax(&self.probabilities(text))
    }

    /// `RDINT01\0`, then the weights as little-endian f32.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.model.to_bytes(MAGIC)
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, crate::format::Invalid> {
        HashedLinear::from_bytes(bytes, MAGIC, N_INTENTS, BITS)
            .map(|model| Self { model })
            .ok_or_else(|| {
                "not an intent judge file (written by `reflectdiffu intent train`)".into()
            })
    }
}

pub use crate::metrics::accuracy_macro_f1;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learns_intent_phrases_and_round_trips() {
        let data: Vec<Labelled> = [
            ("what happened next?", 6),
            ("how did you feel about it?", 6),
            ("i am so sorry to hear that", 4),
            ("that is so sad, i'm sorry", 4),
            ("i hope it works out for you", 7),
            ("good luck, i hope you get it", 7),
        ]
        .iter()
        .cycle()
        .take(60)
        .map(|(t, i)| Labelled {
            text: t.to_string(),
            intent: *i,
        })
        .collect();
        let judge = IntentJudge::train(&data, 3, 0);
        assert_eq!(judge.classify("what did you do?"), 6);
        assert_eq!(judge.classify("i'm so sorry for your loss"), 4);
        assert_eq!(judge.classify("i hope you get better"), 7);
        let back = IntentJudge::from_bytes(&judge.to_bytes()).unwrap();
        assert_eq!(back.probabilities("hope"), judge.probabilities("hope"));
        assert!(IntentJudge::from_bytes(b"RDINT01\0").is_err());
    }

    #[test]
    fn files_and_scores() {
        assert_eq!(intent_of_file("acknowleding"), Some(1));
        assert_eq!(intent_of_file("advising"), None);
        let l = parse_lines("35 <SEP> i hope you go to the doctor\n\nplain line\n", 3);
        assert_eq!(l.len(), 2);
        assert_eq!(l[0].text, "i hope you go to the doctor");
    }
}
