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
/// Size and FNV-1a hash of every file a model is loaded from, written when a run or command that writes the
/// checkpoint ends (`seal`) and checked on every load (`verify`).
pub const CHECKSUMS: &str = "checksums.json";
/// The files `CHECKSUMS` covers, when present.
const SEALED_FILES: &[&str] = &[
    CONFIG,
    WEIGHTS,
    TOKENIZER,
    REASON_WORDS,
    REASON_TAGGER,
    crate::emotion::FILE,
    crate::retrieve::INDEX_FILE,
];
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
    #[error(
        "there is no checkpoint folder {dir}; pass --checkpoint DIR with a folder written by `reflectdiffu train` \
         (the shipped one is checkpoints/default)"
    )]
    NoFolder { dir: String },
    #[error("{path}: {message}")]
    Io { path: String, message: String },
    // Not a `#[source]`: the message already carries the cause, and anyhow would print it a second time.
    #[error("{path}: {cause}")]
    Load { path: String, cause: InferenceError },
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
        "{path} is not the file this checkpoint was written with ({what}, against {CHECKSUMS}): it was changed or \
         damaged since; restore it from a copy (git checkout, or the run's folder), or if you changed it on \
         purpose, run `reflectdiffu checkpoint seal {dir}`"
    )]
    Changed {
        path: String,
        what: String,
        dir: String,
    },
    #[error("{path} holds NaN or infinite weights: the file is damaged; restore it from a copy")]
    NonFiniteLoaded { path: String },
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
    if !dir.is_dir() {
        return Err(CheckpointError::NoFolder {
            dir: dir.display().to_string(),
        });
    }
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
    verify(dir)?;
    let mut responder = load_network(dir, device)?;
    if !weights_are_finite(&responder.model) {
        return Err(CheckpointError::NonFiniteLoaded {
            path: dir.join(WEIGHTS).display().to_string(),
        });
    }
    if has(dir, crate::emotion::FILE) {
        let path = dir.join(crate::emotion::FILE);
        let bytes = std::fs::read(&path).map_err(|e| io_err(&path, e))?;
        responder.lexical =
            Some(crate::emotion::LexicalEmotion::from_bytes(&bytes).map_err(|e| io_err(&path, e))?);
    }
    if has(dir, crate::retrieve::INDEX_FILE) {
        let path = dir.join(crate::retrieve::INDEX_FILE);
        let bytes = std::fs::read(&path).map_err(|e| io_err(&path, e))?;
        let index =
            crate::retrieve::ExemplarIndex::from_bytes(&bytes).map_err(|e| io_err(&path, e))?;
        if index.vocab_size as usize != responder.config.vocab_size {
            // Token ids of another tokenizer would hand the decoder (and --explain) other words.
            return Err(io_err(
                &path,
                format!(
                    "it was built with a {}-token vocabulary, the model's has {}; rebuild it with \
                     `reflectdiffu index build --force --checkpoint {}`",
                    index.vocab_size,
                    responder.config.vocab_size,
                    dir.display()
                ),
            ));
        }
        responder.exemplars = Some(index);
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
            cause: source,
        }
    })
}

/// Writes `CHECKSUMS` for the checkpoint in `dir`: called when a run or a command that changes the checkpoint
/// ends, and by `reflectdiffu checkpoint seal DIR` after a deliberate change.
pub fn seal(dir: &Path) -> Result<(), CheckpointError> {
    let mut files = serde_json::Map::new();
    for file in SEALED_FILES {
        let path = dir.join(file);
        if !path.exists() {
            continue;
        }
        let bytes = std::fs::read(&path).map_err(|e| io_err(&path, e))?;
        files.insert(
            (*file).into(),
            serde_json::json!({"bytes": bytes.len(), "fnv1a64": generation::fnv1a64(&bytes)}),
        );
    }
    write_json(dir, CHECKSUMS, &serde_json::json!({ "files": files }))
}

/// Removes `CHECKSUMS` while a run rewrites the checkpoint's files.
pub fn unseal(dir: &Path) -> Result<(), CheckpointError> {
    let path = dir.join(CHECKSUMS);
    match std::fs::remove_file(&path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io_err(&path, e)),
        _ => Ok(()),
    }
}

/// Checks every file `CHECKSUMS` lists against its size and hash. A checkpoint without the file (written before
/// checksums existed, or by a run still in progress) passes; its weights are still checked for NaN on load.
pub fn verify(dir: &Path) -> Result<(), CheckpointError> {
    let path = dir.join(CHECKSUMS);
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(());
    };
    let manifest: serde_json::Value = serde_json::from_str(&text).map_err(|e| io_err(&path, e))?;
    let files = manifest["files"].as_object().cloned().unwrap_or_default();
    for (file, want) in files {
        let p = dir.join(&file);
        let changed = |what: String| CheckpointError::Changed {
            path: p.display().to_string(),
            what,
            dir: dir.display().to_string(),
        };
        let bytes = std::fs::read(&p).map_err(|_| changed("missing".into()))?;
        if want["bytes"].as_u64() != Some(bytes.len() as u64) {
            return Err(changed(format!(
                "{} bytes, {} expected",
                bytes.len(),
                want["bytes"]
            )));
        }
        if want["fnv1a64"].as_str() != Some(generation::fnv1a64(&bytes).as_str()) {
            return Err(changed("same size, different content".into()));
        }
    }
    Ok(())
}
