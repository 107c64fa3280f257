//! The on-disk checkpoint layout. Only this module knows it:
//!
//! ```text
//! checkpoints/<name>/
//!   config.json        the run config (model + train sections) the weights were built from
//!   model.bpk          weights, burnpack
//!   tokenizer.json     Hugging Face tokenizer
//!   reason_words.txt   the emotion-reason tagger: the lexicon rule's words (or reason_tagger.bin, an ERA tagger)
//!   meta.json          what data, how many steps, wall time, validation metrics
//!   metrics.jsonl      one line per logged step / epoch
//!   curves.svg         training and validation curves drawn from metrics.jsonl
//!   resume/            what `train --resume` needs (not shipped)
//!     LATEST           the name of the newest complete generation, switched last
//!     step-000000500/  one generation: model.bpk, optimizer.bpk, state.json (the training state plus the size
//!                      and FNV-1a hash of both .bpk files)
//! ```
//!
//! A resumable checkpoint is one atomic unit: a generation folder is written completely (each file fsynced),
//! then `LATEST` is switched to it (temporary file, fsync, rename, fsync of the folder), then the top-level
//! `model.bpk` is republished and older generations are deleted. A crash at any point leaves `LATEST` naming a
//! complete generation whose files match its manifest, so a resumed run never mixes the weights of one step with
//! the optimizer state or position of another, and loses at most the steps since that generation. Every other
//! file is written to `<file>.tmp`, fsynced and renamed.

use std::path::{Path, PathBuf};

use burn::prelude::*;

use crate::inference::{InferenceError, Responder};

mod generation;
mod metrics;

pub use generation::{
    Generation, has_generation, load_optimizer, load_weights, read_generation, save_generation,
    weights_are_finite,
};
pub use metrics::{append_metrics, sync_metrics, truncate_metrics, write_curves};

pub const CONFIG: &str = "config.json";
pub const WEIGHTS: &str = "model.bpk";
pub const TOKENIZER: &str = "tokenizer.json";
pub const REASON_WORDS: &str = crate::reason::REASON_WORDS_FILE;
pub const REASON_TAGGER: &str = crate::reason::REASON_TAGGER_FILE;
pub const META: &str = "meta.json";
pub const METRICS: &str = "metrics.jsonl";
pub const CURVES: &str = "curves.svg";
pub const OPTIMIZER: &str = "optimizer.bpk";
pub const STATE: &str = "state.json";
pub const RESUME_DIR: &str = "resume";
pub const LATEST: &str = "LATEST";
/// Test-only: when set, every file of a generation write is announced on stderr (`checkpoint-hook: step N wrote
/// FILE`); when set to `N:FILE`, the process also stops for a minute right after writing FILE at step N, so that
/// a test can kill it at that exact point of the write.
pub const HOOK_ENV: &str = "REFLECTDIFFU_CHECKPOINT_HOOK";

/// The shipped checkpoint, relative to the repository root.
pub const DEFAULT_CHECKPOINT: &str = "checkpoints/default";

#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error(
        "checkpoint folder {dir} has no {file}; train one with `reflectdiffu train --config configs/default.json \
         --out {dir}` or pass --checkpoint DIR"
    )]
    Missing { dir: String, file: &'static str },
    #[error("{path}: {message}")]
    Io { path: String, message: String },
    #[error("{path}: {source}")]
    Load {
        path: String,
        source: InferenceError,
    },
    #[error(
        "{path} does not match its manifest ({what}); the generation is damaged: delete {dir} to resume from an \
         older copy, or start a new run"
    )]
    Damaged {
        path: String,
        what: String,
        dir: String,
    },
    #[error(
        "refusing to write a checkpoint at step {step}: the weights hold NaN or infinite values (the previous \
         checkpoint is kept); resume from it with a lower train.lr or a smaller train.grad_clip"
    )]
    NonFiniteWeights { step: usize },
}

fn io_err(path: &Path, e: impl std::fmt::Display) -> CheckpointError {
    CheckpointError::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

/// `--checkpoint` if given; else `checkpoints/default` under the working directory or, failing that, under the
/// source tree this binary was built from (so `cargo run` works from anywhere in a clone).
pub fn resolve(dir: Option<&Path>) -> PathBuf {
    if let Some(d) = dir {
        return d.to_path_buf();
    }
    let local = PathBuf::from(DEFAULT_CHECKPOINT);
    if local.join(CONFIG).exists() {
        return local;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join(DEFAULT_CHECKPOINT)
}

pub fn read(dir: &Path, file: &'static str) -> Result<Vec<u8>, CheckpointError> {
    let path = dir.join(file);
    if !path.exists() {
        return Err(CheckpointError::Missing {
            dir: dir.display().to_string(),
            file,
        });
    }
    std::fs::read(&path).map_err(|e| io_err(&path, e))
}

/// Writes `bytes` to `dir/file` through a temporary file, an fsync and a rename (then fsyncs the folder, so the
/// rename itself survives a power cut).
pub fn write_atomic(dir: &Path, file: &str, bytes: &[u8]) -> Result<(), CheckpointError> {
    std::fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
    let path = dir.join(file);
    let tmp = dir.join(format!("{file}.tmp"));
    write_synced(&tmp, bytes)?;
    std::fs::rename(&tmp, &path).map_err(|e| io_err(&path, e))?;
    sync_dir(dir)
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), CheckpointError> {
    use std::io::Write;
    let mut f = std::fs::File::create(path).map_err(|e| io_err(path, e))?;
    f.write_all(bytes).map_err(|e| io_err(path, e))?;
    f.sync_all().map_err(|e| io_err(path, e))
}

fn sync_dir(dir: &Path) -> Result<(), CheckpointError> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io_err(dir, e))
}

pub fn write_json<T: serde::Serialize>(
    dir: &Path,
    file: &str,
    value: &T,
) -> Result<(), CheckpointError> {
    let text = serde_json::to_string_pretty(value).map_err(|e| io_err(&dir.join(file), e))? + "\n";
    write_atomic(dir, file, text.as_bytes())
}

pub fn read_json<T: serde::de::DeserializeOwned>(
    dir: &Path,
    file: &'static str,
) -> Result<T, CheckpointError> {
    let bytes = read(dir, file)?;
    serde_json::from_slice(&bytes).map_err(|e| io_err(&dir.join(file), e))
}

pub fn has(dir: &Path, file: &str) -> bool {
    dir.join(file).exists()
}

pub fn read_text(dir: &Path, file: &'static str) -> Result<String, CheckpointError> {
    String::from_utf8(read(dir, file)?).map_err(|e| io_err(&dir.join(file), e))
}

/// The bytes of the checkpoint's reason tagger: `reason_tagger.bin` (ERA) when present, else
/// `reason_words.txt`.
pub fn read_reasons(dir: &Path) -> Result<Vec<u8>, CheckpointError> {
    if has(dir, REASON_TAGGER) {
        read(dir, REASON_TAGGER)
    } else {
        read(dir, REASON_WORDS)
    }
}

/// Loads everything `sample`, `chat` and `eval` need.
pub fn load_responder(dir: &Path, device: &Device) -> Result<Responder, CheckpointError> {
    let mut responder = load_network(dir, device)?;
    if has(dir, crate::lexical::FILE) {
        let path = dir.join(crate::lexical::FILE);
        let bytes = std::fs::read(&path).map_err(|e| io_err(&path, e))?;
        responder.lexical =
            Some(crate::lexical::LexicalEmotion::from_bytes(&bytes).map_err(|e| io_err(&path, e))?);
    }
    Ok(responder)
}

/// The checkpoint's network, tokenizer and tagger, without its lexical emotion reader (for training a new one).
pub fn load_network(dir: &Path, device: &Device) -> Result<Responder, CheckpointError> {
    let config = read(dir, CONFIG)?;
    let weights = read(dir, WEIGHTS)?;
    let tokenizer = read(dir, TOKENIZER)?;
    let reasons = read_reasons(dir)?;
    Responder::from_bytes(&config, weights, &tokenizer, &reasons, device).map_err(|source| {
        CheckpointError::Load {
            path: dir.display().to_string(),
            source,
        }
    })
}
