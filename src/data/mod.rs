//! EmpatheticDialogues (Rashkin et al., ACL 2019) in its official CSV format, and the samples built from it.
//!
//! A sample is one listener turn (even `utterance_idx`) with up to K previous turns as its context.

pub mod conversations;
mod ed;
#[cfg(feature = "cli")]
pub mod files;
pub mod intents;
mod sample;

pub use ed::{Conversation, parse_conversations};
pub use sample::{Sample, samples};

/// The 32 emotion labels of EmpatheticDialogues, in alphabetical order (the index is the class id).
pub const EMOTIONS: [&str; 32] = [
    "afraid",
    "angry",
    "annoyed",
    "anticipating",
    "anxious",
    "apprehensive",
    "ashamed",
    "caring",
    "confident",
    "content",
    "devastated",
    "disappointed",
    "disgusted",
    "embarrassed",
    "excited",
    "faithful",
    "furious",
    "grateful",
    "guilty",
    "hopeful",
    "impressed",
    "jealous",
    "joyful",
    "lonely",
    "nostalgic",
    "prepared",
    "proud",
    "sad",
    "sentimental",
    "surprised",
    "terrified",
    "trusting",
];

/// The 9 empathetic intents of Welivita & Pu (2020) / EmpHi, plus a trailing "unknown" slot used until the
/// intent stage (Intent Twice) picks one.
pub const INTENTS: [&str; 10] = [
    "agreeing",
    "acknowledging",
    "encouraging",
    "consoling",
    "sympathizing",
    "suggesting",
    "questioning",
    "wishing",
    "neutral",
    "unknown",
];

/// The 9 intents (without "unknown").
pub const N_INTENTS: usize = 9;

/// Index of the "unknown" intent in [`INTENTS`].
pub const UNKNOWN_INTENT: usize = 9;

/// The emotion id of a conversation whose data has no emotion label (a conversations file without `emotion`):
/// the emotion head does not learn from it, and the decoder reads the encoder's emotion instead.
pub const UNKNOWN_EMOTION: usize = EMOTIONS.len();

/// An emotion id's label; "unknown" for [`UNKNOWN_EMOTION`].
pub fn emotion_name(id: usize) -> &'static str {
    EMOTIONS.get(id).copied().unwrap_or("unknown")
}

/// Class id of an emotion label, if it is one of the 32.
pub fn emotion_id(label: &str) -> Option<usize> {
    EMOTIONS.iter().position(|e| *e == label)
}

/// What went wrong while reading data; every message names the file and, where there is one, the line.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error(
        "data folder {0} does not exist; download EmpatheticDialogues from \
         https://dl.fbaipublicfiles.com/parlai/empatheticdialogues/empatheticdialogues.tar.gz, unpack it and pass \
         the folder holding train.csv, valid.csv and test.csv with --data DIR"
    )]
    MissingFolder(String),
    #[error("cannot read {path}: {message}")]
    Io { path: String, message: String },
    #[error("{file}:{line}: {message}")]
    Parse {
        file: String,
        line: usize,
        message: String,
    },
    #[error("{file}: the split has no conversations (only a header or nothing at all)")]
    EmptySplit { file: String },
    #[error("{file}: no conversation has \"split\": \"{split}\" (a line without one is train's)")]
    NoSuchSplit { file: String, split: String },
    /// A file (or folder) of another data set whose content is not what it should be.
    #[error("{path}: {message}")]
    Format { path: String, message: String },
}
