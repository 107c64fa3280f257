//! Corpus-level text metrics used by the literature on EmpatheticDialogues.

mod bleu;
mod classes;
mod copies;
mod dist;
pub mod intents;
mod repeat;

pub use bleu::corpus_bleu;
pub use classes::{accuracy_macro_f1, argmax};
pub use copies::longest_common_run;
pub use dist::{distinct_n, words};
pub use repeat::{has_bigram_repeat, has_word_repeat, repeat_rates};
