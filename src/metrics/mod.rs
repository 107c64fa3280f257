//! Corpus-level text metrics used by the literature on EmpatheticDialogues.

mod bleu;
mod dist;

pub use bleu::corpus_bleu;
pub use dist::{distinct_n, words};
