//! Emotion-reason tags (the "reasoning mask" of ReflectDiffu): each context token is `<em>` (carries the emotion
//! or its cause) or `<noem>`.
//!
//! Until the ERA tagger (trained on RECCON spans) exists, tags come from a lexicon rule, and [`ReasonTagger`] is
//! the one place a trained tagger will replace. Rule: a word is `<em>` when VADER (Hutto & Gilbert 2014) gives it
//! a mean valence of at least [`VADER_MIN_ABS_VALENCE`] in absolute value, or when it belongs to one of Empath's
//! (Fast et al. 2016) emotion categories in [`EMPATH_EMOTION_CATEGORIES`].

use std::collections::HashSet;

/// `<noem>` tag id.
pub const NOEM: u32 = 0;
/// `<em>` tag id.
pub const EM: u32 = 1;

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

/// Tags words as emotion reasons.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReasonTagger {
    words: HashSet<String>,
}

impl ReasonTagger {
    /// Builds the word set from the VADER lexicon (`word\tmean\tsd\t[ratings]`) and Empath's `categories.tsv`
    /// (`category\tword\tword…`).
    pub fn from_lexicons(vader: &str, empath: &str) -> Self {
        Self::from_lexicon(&crate::era::Lexicon::parse(vader, empath))
    }

    /// The rule's words of a parsed lexicon.
    pub fn from_lexicon(lexicon: &crate::era::Lexicon) -> Self {
        Self {
            words: lexicon.rule_words().cloned().collect(),
        }
    }

    /// Loads a word list written by [`Self::to_word_list`] (one word per line).
    pub fn from_word_list(text: &str) -> Self {
        Self {
            words: text
                .lines()
                .map(str::trim)
                .filter(|w| !w.is_empty())
                .map(String::from)
                .collect(),
        }
    }

    /// One word per line, sorted, so the file is stable across runs.
    pub fn to_word_list(&self) -> String {
        let mut w: Vec<&str> = self.words.iter().map(String::as_str).collect();
        w.sort_unstable();
        w.join("\n") + "\n"
    }

    pub fn len(&self) -> usize {
        self.words.len()
    }

    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// `EM` or `NOEM` for each token, given the lower-cased word each token belongs to.
    pub fn tag(&self, token_words: &[String]) -> Vec<u32> {
        token_words
            .iter()
            .map(|w| if self.words.contains(w) { EM } else { NOEM })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lexicon_rule_marks_emotional_words_only() {
        let vader = "scared\t-1.9\t0.3\t[]\nokay\t0.9\t0.5\t[]\nhappy\t2.7\t0.6\t[]\n";
        let empath = "fear\tterrified\tpanic\noffice\tdesk\n";
        let t = ReasonTagger::from_lexicons(vader, empath);
        let words: Vec<String> = ["i", "was", "scared", "okay", "terrified", "desk"]
            .map(String::from)
            .to_vec();
        assert_eq!(t.tag(&words), [NOEM, NOEM, EM, NOEM, EM, NOEM]);
        assert_eq!(ReasonTagger::from_word_list(&t.to_word_list()), t);
    }
}
