//! Reading the split files from a folder (native builds only).

use std::path::{Path, PathBuf};

use super::{Conversation, DataError, parse_conversations};

/// The official split names, in the order reports list them.
pub const SPLITS: [&str; 3] = ["train", "valid", "test"];

/// Where `--data` points when it is not given: the project's shared copy, when it exists.
pub const DEFAULT_DATA_DIR: &str = "../shared/data/empatheticdialogues";

/// `--data` if given, else [`DEFAULT_DATA_DIR`]; errors (with download instructions) if the folder is missing.
pub fn resolve_data_dir(dir: Option<&Path>) -> Result<PathBuf, DataError> {
    let dir = dir
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
    if !dir.is_dir() {
        return Err(DataError::MissingFolder(dir.display().to_string()));
    }
    Ok(dir)
}

/// Reads and parses `DIR/<split>.csv`.
pub fn load_split(dir: &Path, split: &str) -> Result<Vec<Conversation>, DataError> {
    let path = dir.join(format!("{split}.csv"));
    let bytes = std::fs::read(&path).map_err(|e| DataError::Io {
        path: path.display().to_string(),
        message: format!(
            "{e} (expected the official EmpatheticDialogues file {split}.csv in {})",
            dir.display()
        ),
    })?;
    parse_conversations(&path.display().to_string(), &bytes)
}

/// Counts reported by `reflectdiffu data stats`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct SplitStats {
    pub conversations: usize,
    pub samples: usize,
    pub emotions: usize,
}

pub fn split_stats(conversations: &[Conversation]) -> SplitStats {
    let emotions: std::collections::HashSet<usize> =
        conversations.iter().map(|c| c.emotion).collect();
    SplitStats {
        conversations: conversations.len(),
        samples: super::samples(conversations, usize::MAX).len(),
        emotions: emotions.len(),
    }
}
