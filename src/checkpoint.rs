//! The on-disk checkpoint layout. Only this module knows it:
//!
//! ```text
//! checkpoints/<name>/
//!   config.json        the run config (model + train sections) the weights were built from
//!   model.bpk          weights, burnpack
//!   tokenizer.json     Hugging Face tokenizer
//!   reason_words.txt   the lexicon of the emotion-reason tagger
//!   meta.json          what data, how many steps, wall time, validation metrics
//!   metrics.jsonl      one line per logged step / epoch
//!   optimizer.bpk      optimizer state (for --resume; not shipped)
//!   state.json         where training stopped (for --resume)
//! ```
//!
//! Every file is written to `<file>.tmp` and renamed, so a crash never leaves a half-written checkpoint.

use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::optim::ModuleOptimizer;
use burn::prelude::*;
use burn::store::ModuleRecord;
use burn::tensor::Bytes;

use crate::inference::{InferenceError, Responder};
use crate::model::ReflectDiffu;

pub const CONFIG: &str = "config.json";
pub const WEIGHTS: &str = "model.bpk";
pub const TOKENIZER: &str = "tokenizer.json";
pub const REASON_WORDS: &str = "reason_words.txt";
pub const META: &str = "meta.json";
pub const METRICS: &str = "metrics.jsonl";
pub const OPTIMIZER: &str = "optimizer.bpk";
pub const STATE: &str = "state.json";

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

fn read(dir: &Path, file: &'static str) -> Result<Vec<u8>, CheckpointError> {
    let path = dir.join(file);
    if !path.exists() {
        return Err(CheckpointError::Missing {
            dir: dir.display().to_string(),
            file,
        });
    }
    std::fs::read(&path).map_err(|e| io_err(&path, e))
}

/// Writes `bytes` to `dir/file` through a temporary file and a rename.
pub fn write_atomic(dir: &Path, file: &str, bytes: &[u8]) -> Result<(), CheckpointError> {
    std::fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
    let path = dir.join(file);
    let tmp = dir.join(format!("{file}.tmp"));
    std::fs::write(&tmp, bytes).map_err(|e| io_err(&tmp, e))?;
    std::fs::rename(&tmp, &path).map_err(|e| io_err(&path, e))
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

/// Appends one JSON line to the metrics log.
pub fn append_metrics(dir: &Path, line: &serde_json::Value) -> Result<(), CheckpointError> {
    use std::io::Write;
    let path = dir.join(METRICS);
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(|e| io_err(&path, e))?;
    writeln!(f, "{line}").map_err(|e| io_err(&path, e))
}

pub fn save_model(dir: &Path, model: ReflectDiffu) -> Result<(), CheckpointError> {
    let bytes = model
        .into_record()
        .into_bytes()
        .map_err(|e| io_err(&dir.join(WEIGHTS), e))?;
    write_atomic(dir, WEIGHTS, &bytes)
}

pub fn load_model(dir: &Path, model: ReflectDiffu) -> Result<ReflectDiffu, CheckpointError> {
    let path = dir.join(WEIGHTS);
    let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(read(dir, WEIGHTS)?))
        .map_err(|e| io_err(&path, e))?;
    model.try_load_record(record).map_err(|e| io_err(&path, e))
}

pub fn save_optimizer(dir: &Path, optim: &ModuleOptimizer) -> Result<(), CheckpointError> {
    let bytes = optim
        .into_bytes()
        .map_err(|e| io_err(&dir.join(OPTIMIZER), e))?;
    write_atomic(dir, OPTIMIZER, &bytes)
}

pub fn load_optimizer(
    dir: &Path,
    optim: ModuleOptimizer,
) -> Result<ModuleOptimizer, CheckpointError> {
    let bytes = read(dir, OPTIMIZER)?;
    optim
        .from_bytes(Bytes::from_bytes_vec(bytes))
        .map_err(|e| io_err(&dir.join(OPTIMIZER), e))
}

/// Loads everything `sample`, `chat` and `eval` need.
pub fn load_responder(dir: &Path, device: &Device) -> Result<Responder, CheckpointError> {
    let config = read(dir, CONFIG)?;
    let weights = read(dir, WEIGHTS)?;
    let tokenizer = read(dir, TOKENIZER)?;
    let words = read_text(dir, REASON_WORDS)?;
    Responder::from_bytes(&config, weights, &tokenizer, &words, device).map_err(|source| {
        CheckpointError::Load {
            path: dir.display().to_string(),
            source,
        }
    })
}
