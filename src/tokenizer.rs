//! The subword tokenizer: a byte-level BPE (Hugging Face `tokenizers`) trained on the ED train split.
//!
//! Normalisation: NFKC, then lower-casing (ED is informal and inconsistently cased; lower-casing halves the
//! vocabulary a small model has to learn). Pre-tokenisation: GPT-2 byte-level with a prefix space, so any UTF-8
//! input round-trips and nothing maps to [UNK]. The file written is a plain Hugging Face `tokenizer.json`.

use std::ops::Range;

use tokenizers::models::bpe::{BPE, BpeTrainerBuilder};
use tokenizers::normalizers::{Lowercase, NFKC, Sequence};
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::{
    AddedToken, DecoderWrapper, NormalizerWrapper, PostProcessorWrapper, PreTokenizerWrapper,
    Tokenizer, TokenizerBuilder,
};

/// Special tokens, in id order: pad, unk, mask, bos, eos, sep, then one per speaker role.
pub const SPECIAL_TOKENS: [&str; 8] = [
    "[PAD]", "[UNK]", "[MASK]", "[BOS]", "[EOS]", "[SEP]", "[SPK]", "[LST]",
];
pub const PAD: u32 = 0;
pub const UNK: u32 = 1;
pub const MASK: u32 = 2;
pub const BOS: u32 = 3;
pub const EOS: u32 = 4;
pub const SEP: u32 = 5;
/// Marks the start of a turn by the speaker (the person telling what happened).
pub const SPEAKER: u32 = 6;
/// Marks the start of a turn by the listener (the role the model plays).
pub const LISTENER: u32 = 7;

#[derive(Debug, thiserror::Error)]
pub enum TokenizerError {
    #[error("tokenizer: {0}")]
    Library(String),
    #[error(
        "tokenizer special token {token} has id {found:?}, expected {expected}; this tokenizer.json was not made by \
         `reflectdiffu tokenizer train`"
    )]
    WrongSpecialToken {
        token: String,
        found: Option<u32>,
        expected: u32,
    },
}

fn lib_err(e: impl std::fmt::Display) -> TokenizerError {
    TokenizerError::Library(e.to_string())
}

/// A word-level view of one encoded text: ids plus the word each token belongs to.
#[derive(Debug, Clone, PartialEq)]
pub struct Encoded {
    pub ids: Vec<u32>,
    /// For each token, the lower-cased word it is part of (all subword pieces of a word share it).
    pub words: Vec<String>,
    /// For each token, the index of its word in the turn (0, 0, 1, 2, 2, …).
    pub word_index: Vec<usize>,
}

/// The tokenizer as the model uses it.
#[derive(Clone)]
pub struct TextTokenizer {
    inner: Tokenizer,
}

impl TextTokenizer {
    /// Loads a `tokenizer.json` from its bytes (works in the browser) and checks the special-token ids.
    ///
    /// Text is always plain text: a user who types "[PAD]" or "[MASK]" gets those characters, never the control
    /// tokens (which only the code places, by id).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, TokenizerError> {
        let mut inner = Tokenizer::from_bytes(bytes).map_err(lib_err)?;
        inner.set_encode_special_tokens(true);
        for (expected, token) in SPECIAL_TOKENS.iter().enumerate() {
            let found = inner.token_to_id(token);
            if found != Some(expected as u32) {
                return Err(TokenizerError::WrongSpecialToken {
                    token: token.to_string(),
                    found,
                    expected: expected as u32,
                });
            }
        }
        Ok(Self { inner })
    }

    /// Trains a byte-level BPE of `vocab_size` entries (special tokens included) on `texts`.
    pub fn train<I>(texts: I, vocab_size: usize) -> Result<Self, TokenizerError>
    where
        I: Iterator<Item = String> + Send,
    {
        let mut trainer = BpeTrainerBuilder::new()
            .vocab_size(vocab_size)
            .min_frequency(2)
            .show_progress(false)
            .special_tokens(
                SPECIAL_TOKENS
                    .iter()
                    .map(|t| AddedToken::from(*t, true))
                    .collect(),
            )
            .initial_alphabet(ByteLevel::alphabet().into_iter().collect())
            .build();
        let normalizer =
            NormalizerWrapper::Sequence(Sequence::new(vec![NFKC.into(), Lowercase.into()]));
        let mut tok = TokenizerBuilder::<
            BPE,
            NormalizerWrapper,
            PreTokenizerWrapper,
            PostProcessorWrapper,
            DecoderWrapper,
        >::new()
        .with_model(BPE::default())
        .with_normalizer(Some(normalizer))
        .with_pre_tokenizer(Some(ByteLevel::new(true, true, true).into()))
        .with_decoder(Some(ByteLevel::default().into()))
        .build()
        .map_err(lib_err)?;
        tok.train(&mut trainer, texts).map_err(lib_err)?;
        let json = tok.to_string(false).map_err(lib_err)?;
        Self::from_bytes(json.as_bytes())
    }

    /// The Hugging Face `tokenizer.json` text.
    pub fn to_json(&self) -> Result<String, TokenizerError> {
        self.inner.to_string(true).map_err(lib_err)
    }

    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    /// Encodes one turn (no special tokens added).
    pub fn encode(&self, text: &str) -> Result<Encoded, TokenizerError> {
        let (enc, word_text) = self.encode_words(text)?;
        let words = enc
            .get_word_ids()
            .iter()
            .map(|w| word_text[w.unwrap_or(0) as usize].clone())
            .collect();
        Ok(Encoded {
            ids: enc.get_ids().to_vec(),
            words,
            word_index: enc
                .get_word_ids()
                .iter()
                .map(|w| w.unwrap_or(0) as usize)
                .collect(),
        })
    }

    /// The words of `text` in order, each as its byte range in `text` and the lower-cased form the reason tagger
    /// reads (the same words [`Self::encode`] gives the model). Ranges lie on character boundaries and hold no
    /// surrounding white space.
    pub fn words(&self, text: &str) -> Result<Vec<(Range<usize>, String)>, TokenizerError> {
        let (enc, word_text) = self.encode_words(text)?;
        let mut spans: Vec<Option<Range<usize>>> = vec![None; word_text.len()];
        for (w, &(start, end)) in enc.get_word_ids().iter().zip(enc.get_offsets()) {
            let span = &mut spans[w.unwrap_or(0) as usize];
            *span = Some(match span.take() {
                Some(r) => r.start.min(start)..r.end.max(end),
                None => start..end,
            });
        }
        let boundary_down = |mut i: usize| {
            i = i.min(text.len());
            while !text.is_char_boundary(i) {
                i -= 1;
            }
            i
        };
        let boundary_up = |mut i: usize| {
            i = i.min(text.len());
            while !text.is_char_boundary(i) {
                i += 1;
            }
            i
        };
        Ok(spans
            .into_iter()
            .zip(word_text)
            .filter_map(|(r, w)| {
                let r = r?;
                let (start, end) = (boundary_down(r.start), boundary_up(r.end));
                // The byte-level pre-tokenizer counts the space before a word as part of it.
                let piece = &text[start..end];
                let start = start + (piece.len() - piece.trim_start().len());
                let end = end - (piece.len() - piece.trim_end().len());
                (start < end).then_some((start..end, w))
            })
            .collect())
    }

    /// The encoding and, per word id, the word's lower-cased text (its pieces joined, without the space marker).
    fn encode_words(
        &self,
        text: &str,
    ) -> Result<(tokenizers::Encoding, Vec<String>), TokenizerError> {
        let enc = self.inner.encode(text, false).map_err(lib_err)?;
        let mut word_text: Vec<String> = Vec::new();
        for (tok, w) in enc.get_tokens().iter().zip(enc.get_word_ids()) {
            let w = w.unwrap_or(0) as usize;
            if word_text.len() <= w {
                word_text.resize(w + 1, String::new());
            }
            word_text[w].push_str(tok.trim_start_matches('Ġ'));
        }
        Ok((enc, word_text))
    }

    /// The tokens that decode to white space alone (ED's double spaces after a full stop): a reply gains nothing
    /// a reader sees from them.
    pub fn blank_tokens(&self) -> Vec<u32> {
        (0..self.vocab_size() as u32)
            .filter(|&id| {
                self.inner
                    .decode(&[id], true)
                    .is_ok_and(|s| !s.is_empty() && s.trim().is_empty())
            })
            .collect()
    }

    /// Decodes ids to text, dropping special tokens.
    pub fn decode(&self, ids: &[u32]) -> Result<String, TokenizerError> {
        Ok(self
            .inner
            .decode(ids, true)
            .map_err(lib_err)?
            .trim()
            .to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trained_tokenizer_round_trips_and_keeps_special_ids() {
        let texts: Vec<String> = [
            "I was so scared, my tire burst!",
            "Are you fine now?",
            "That sounds scary.",
        ]
        .iter()
        .cycle()
        .take(60)
        .map(|s| s.to_string())
        .collect();
        let tok = TextTokenizer::train(texts.into_iter(), 300).unwrap();
        let reloaded = TextTokenizer::from_bytes(tok.to_json().unwrap().as_bytes()).unwrap();
        let enc = reloaded.encode("I was so Scared").unwrap();
        assert_eq!(reloaded.decode(&enc.ids).unwrap(), "i was so scared");
        assert!(enc.words.iter().any(|w| w == "scared"));
        assert_eq!(reloaded.inner.token_to_id("[MASK]"), Some(MASK));
    }

    #[test]
    fn special_token_names_typed_by_a_user_are_plain_text() {
        let texts = ["I was so scared [PAD] my tire burst!", "Are you fine now?"];
        let texts: Vec<String> = texts
            .iter()
            .cycle()
            .take(40)
            .map(|s| s.to_string())
            .collect();
        let tok = TextTokenizer::train(texts.into_iter(), 300).unwrap();
        let typed = SPECIAL_TOKENS.join(" ");
        let enc = tok.encode(&typed).unwrap();
        let special = SPECIAL_TOKENS.len() as u32;
        assert!(
            enc.ids.iter().all(|id| *id >= special),
            "special ids in {:?}",
            enc.ids
        );
        // …and the characters survive (lower-cased, like all text).
        assert_eq!(tok.decode(&enc.ids).unwrap(), typed.to_lowercase());
    }
}
