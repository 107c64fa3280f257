//! Why a training run (the supervised stage or RL), or reading one of its inputs, failed. Each message says what
//! was wrong and what to do; the causes' own messages are part of it (not chained sources, which the CLI would
//! print a second time).

use crate::checkpoint::CheckpointError;
use crate::data::DataError;
use crate::inference::InferenceError;
use crate::output::OutputError;
use crate::tokenizer::TokenizerError;

/// `Result` with [`TrainError`] unless another error is named.
pub type Result<T, E = TrainError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// The run cannot start or go on.
    #[error("{0}")]
    Run(String),
    /// A file or folder could not be read: `what` names it and how to provide it.
    #[error("{what}: {message}")]
    Read { what: String, message: String },
    /// A file was read but its content is not what it should be.
    #[error("{path}: {message}")]
    File { path: String, message: String },
    #[error(transparent)]
    Config(#[from] super::ConfigError),
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    #[error(transparent)]
    Data(#[from] DataError),
    #[error(transparent)]
    Inference(#[from] InferenceError),
    #[error(transparent)]
    Output(#[from] OutputError),
    #[error(transparent)]
    Tokenizer(#[from] TokenizerError),
}

impl TrainError {
    /// A file whose content is wrong (`e` says how).
    pub fn file(path: &std::path::Path, e: impl std::fmt::Display) -> Self {
        Self::File {
            path: path.display().to_string(),
            message: e.to_string(),
        }
    }
}

/// `.reading(|| "cannot read X (how to get it)")` on an I/O result.
pub(crate) trait Reading<T> {
    fn reading(self, what: impl FnOnce() -> String) -> Result<T, TrainError>;
}

impl<T> Reading<T> for std::io::Result<T> {
    fn reading(self, what: impl FnOnce() -> String) -> Result<T, TrainError> {
        self.map_err(|e| TrainError::Read {
            what: what(),
            message: e.to_string(),
        })
    }
}

/// Returns `TrainError::Run` with a formatted message.
macro_rules! fail {
    ($($arg:tt)*) => {
        return Err($crate::train::TrainError::Run(format!($($arg)*)))
    };
}
pub(crate) use fail;
