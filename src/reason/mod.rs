//! Emotion-reason tags (the "reasoning mask" of ReflectDiffu): each context token is `<em>` (carries the emotion
//! or its cause) or `<noem>`.
//!
//! [`ReasonTagger`] is the one place tags come from: a word list (the lexicon rule: a word is `<em>` when VADER,
//! Hutto & Gilbert 2014, gives it a mean valence of at least [`VADER_MIN_ABS_VALENCE`] in absolute value, or when
//! it belongs to one of Empath's, Fast et al. 2016, emotion categories in [`EMPATH_EMOTION_CATEGORIES`]; an empty
//! list tags nothing), or the ERA tagger trained on RECCON's cause spans ([`era`]). A checkpoint keeps the
//! tagger its model was trained with (`reason_words.txt` or `reason_tagger.bin`).

pub mod era;
pub mod lexicon;
pub mod reccon;

pub use lexicon::{EMPATH_EMOTION_CATEGORIES, VADER_MIN_ABS_VALENCE};

use crate::format::Invalid;
use std::collections::HashSet;

/// `<noem>` tag id.
pub const NOEM: u32 = 0;
/// `<em>` tag id.
pub const EM: u32 = 1;

/// Tags words as emotion reasons.
#[derive(Debug, Clone, PartialEq)]
pub struct ReasonTagger {
    kind: Kind,
}

#[derive(Debug, Clone, PartialEq)]
enum Kind {
    Words(HashSet<String>),
    Era(Box<era::EraModel>),
}

impl Default for ReasonTagger {
    fn default() -> Self {
        Self {
            kind: Kind::Words(HashSet::new()),
        }
    }
}

impl ReasonTagger {
    /// Builds the word set from the VADER lexicon (`word\tmean\tsd\t[ratings]`) and Empath's `categories.tsv`
    /// (`category\tword\tword…`).
    pub fn from_lexicons(vader: &str, empath: &str) -> Self {
        Self::from_lexicon(&lexicon::Lexicon::parse(vader, empath))
    }

    /// The rule's words of a parsed lexicon.
    pub fn from_lexicon(lexicon: &lexicon::Lexicon) -> Self {
        Self {
            kind: Kind::Words(lexicon.rule_words().cloned().collect()),
        }
    }

    /// A trained ERA tagger; it must not need the lexicons (`era train --no-lexicon`), which a checkpoint does
    /// not carry.
    pub fn from_era(model: era::EraModel) -> Result<Self, Invalid> {
        if model.uses_lexicon {
            return Err(Invalid::from(
                "this ERA tagger reads lexicon features; train one with `reflectdiffu era train --no-lexicon` \
                 to use it in a model",
            ));
        }
        Ok(Self {
            kind: Kind::Era(Box::new(model)),
        })
    }

    /// Loads a word list written by [`Self::to_word_list`] (one word per line).
    pub fn from_word_list(text: &str) -> Self {
        Self {
            kind: Kind::Words(
                text.lines()
                    .map(str::trim)
                    .filter(|w| !w.is_empty())
                    .map(String::from)
                    .collect(),
            ),
        }
    }

    /// A checkpoint's tagger file: an ERA tagger (`era.bin` format) or a word list (UTF-8 text).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Invalid> {
        if bytes.starts_with(era::MAGIC) {
            return Self::from_era(era::EraModel::from_bytes(bytes)?);
        }
        let text = std::str::from_utf8(bytes)
            .map_err(|_| "the reason word list is not UTF-8 text".to_string())?;
        Ok(Self::from_word_list(text))
    }

    /// The checkpoint file this tagger is saved as, and its bytes.
    pub fn to_file(&self) -> (&'static str, Vec<u8>) {
        match &self.kind {
            Kind::Words(_) => (REASON_WORDS_FILE, self.to_word_list().into_bytes()),
            Kind::Era(m) => (REASON_TAGGER_FILE, m.to_bytes()),
        }
    }

    /// One word per line, sorted, so the file is stable across runs (empty for an ERA tagger).
    pub fn to_word_list(&self) -> String {
        match &self.kind {
            Kind::Words(words) => {
                let mut w: Vec<&str> = words.iter().map(String::as_str).collect();
                w.sort_unstable();
                w.join("\n") + "\n"
            }
            Kind::Era(_) => String::new(),
        }
    }

    /// Words in the list (0 for an ERA tagger).
    pub fn len(&self) -> usize {
        match &self.kind {
            Kind::Words(w) => w.len(),
            Kind::Era(_) => 0,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `<em>` (true) or not for each word of a turn (lower-cased, as the tokenizer splits them).
    pub fn tag_words(&self, words: &[String]) -> Vec<bool> {
        match &self.kind {
            Kind::Words(set) => words.iter().map(|w| set.contains(w)).collect(),
            Kind::Era(m) => m.tag(words, None),
        }
    }

    /// `EM` or `NOEM` for each token of an encoded turn (every piece of a word shares its tag).
    pub fn tag(&self, enc: &crate::tokenizer::Encoded) -> Vec<u32> {
        let mut words: Vec<String> = Vec::new();
        for (&w, text) in enc.word_index.iter().zip(&enc.words) {
            if words.len() <= w {
                words.resize(w + 1, String::new());
                words[w] = text.clone();
            }
        }
        let tags = self.tag_words(&words);
        enc.word_index
            .iter()
            .map(|&w| if tags[w] { EM } else { NOEM })
            .collect()
    }
}

/// Checkpoint file of a word-list tagger.
pub const REASON_WORDS_FILE: &str = "reason_words.txt";
/// Checkpoint file of an ERA tagger.
pub const REASON_TAGGER_FILE: &str = "reason_tagger.bin";

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
        assert_eq!(
            t.tag_words(&words),
            [false, false, true, false, true, false]
        );
        assert_eq!(ReasonTagger::from_word_list(&t.to_word_list()), t);
    }
}
