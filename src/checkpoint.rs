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

/// Flushes the metrics log to disk and returns its length in bytes; a generation records it so that a resumed
/// run can cut the lines written after that generation (which it will write again).
pub fn sync_metrics(dir: &Path) -> Result<u64, CheckpointError> {
    let path = dir.join(METRICS);
    if !path.exists() {
        return Ok(0);
    }
    let f = std::fs::File::open(&path).map_err(|e| io_err(&path, e))?;
    f.sync_all().map_err(|e| io_err(&path, e))?;
    Ok(f.metadata().map_err(|e| io_err(&path, e))?.len())
}

/// Redraws `curves.svg` from the metrics log.
pub fn write_curves(dir: &Path) -> Result<(), CheckpointError> {
    let path = dir.join(METRICS);
    let text = std::fs::read_to_string(&path).map_err(|e| io_err(&path, e))?;
    let label = dir
        .file_name()
        .map_or("run".to_string(), |n| n.to_string_lossy().to_string());
    let svg = crate::plot::curves_svg(&[(label, text)]);
    write_atomic(dir, CURVES, svg.as_bytes())
}

/// Cuts the metrics log back to `len` bytes (what it held when the generation being resumed was written).
pub fn truncate_metrics(dir: &Path, len: u64) -> Result<(), CheckpointError> {
    let path = dir.join(METRICS);
    if !path.exists() {
        return Ok(());
    }
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .map_err(|e| io_err(&path, e))?;
    let now = f.metadata().map_err(|e| io_err(&path, e))?.len();
    if now > len {
        f.set_len(len).map_err(|e| io_err(&path, e))?;
        f.sync_all().map_err(|e| io_err(&path, e))?;
    }
    Ok(())
}

/// FNV-1a, 64 bits: enough to tell a torn or mixed-up file from the one a manifest describes (not a defence
/// against tampering).
fn fnv1a64(bytes: &[u8]) -> String {
    let h = bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    format!("{h:016x}")
}

fn hook(step: usize, file: &str) {
    if let Ok(stop_at) = std::env::var(HOOK_ENV) {
        eprintln!("checkpoint-hook: step {step} wrote {file}");
        if stop_at == format!("{step}:{file}") {
            std::thread::sleep(std::time::Duration::from_secs(60));
        }
    }
}

/// True when every weight of `model` is finite (one reduction, one read-back).
pub fn weights_are_finite(model: &ReflectDiffu) -> bool {
    struct AbsSum(Option<Tensor<1>>);
    impl burn::module::ModuleVisitor for AbsSum {
        fn visit_float<const D: usize>(&mut self, p: &burn::module::Param<Tensor<D>>) {
            let s = p.val().abs().sum(); // NaN and ±∞ survive the sum
            self.0 = Some(match self.0.take() {
                Some(acc) => acc + s,
                None => s,
            });
        }
    }
    let mut v = AbsSum(None);
    model.visit(&mut v);
    v.0.is_none_or(|s| s.into_scalar::<f32>().is_finite())
}

fn generation_name(step: usize) -> String {
    format!("step-{step:09}")
}

/// Writes one resumable generation for `step` (see the module docs for the order), then publishes its weights
/// as the top-level `model.bpk`. Refuses, writing nothing, when the weights are not finite.
pub fn save_generation<S: serde::Serialize>(
    dir: &Path,
    step: usize,
    model: &ReflectDiffu,
    optim: &ModuleOptimizer,
    state: &S,
) -> Result<(), CheckpointError> {
    if !weights_are_finite(model) {
        return Err(CheckpointError::NonFiniteWeights { step });
    }
    let resume = dir.join(RESUME_DIR);
    // A second save at the same step (the end of an epoch right after a periodic checkpoint) must not touch
    // the generation LATEST names: it gets the next free suffix.
    let current = std::fs::read_to_string(resume.join(LATEST)).unwrap_or_default();
    let name = (0..)
        .map(|n| match n {
            0 => generation_name(step),
            n => format!("{}.{n}", generation_name(step)),
        })
        .find(|n| n != current.trim())
        .unwrap_or_else(|| generation_name(step));
    let generation = resume.join(&name);
    if generation.exists() {
        // A leftover of a crash during an earlier write of the same step: never switched to, so never used.
        std::fs::remove_dir_all(&generation).map_err(|e| io_err(&generation, e))?;
    }
    std::fs::create_dir_all(&generation).map_err(|e| io_err(&generation, e))?;
    let weights = model
        .clone()
        .into_record()
        .into_bytes()
        .map_err(|e| io_err(&generation.join(WEIGHTS), e))?;
    let optimizer = optim
        .into_bytes()
        .map_err(|e| io_err(&generation.join(OPTIMIZER), e))?;
    let mut files = serde_json::Map::new();
    for (file, bytes) in [(WEIGHTS, &weights), (OPTIMIZER, &optimizer)] {
        write_synced(&generation.join(file), bytes)?;
        files.insert(
            file.into(),
            serde_json::json!({"bytes": bytes.len(), "fnv1a64": fnv1a64(bytes)}),
        );
        hook(step, file);
    }
    let manifest = serde_json::json!({"step": step, "files": files, "state": state});
    let text = serde_json::to_string_pretty(&manifest).map_err(|e| io_err(&generation, e))? + "\n";
    write_synced(&generation.join(STATE), text.as_bytes())?;
    sync_dir(&generation)?;
    hook(step, STATE);
    write_atomic(&resume, LATEST, format!("{name}\n").as_bytes())?;
    hook(step, LATEST);
    write_atomic(dir, WEIGHTS, &weights)?;
    hook(step, "top-level model.bpk");
    remove_other_generations(&resume, &name)
}

/// Deletes every generation folder but `keep` (older ones, and any a crash left half-written).
fn remove_other_generations(resume: &Path, keep: &str) -> Result<(), CheckpointError> {
    let entries = std::fs::read_dir(resume).map_err(|e| io_err(resume, e))?;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if name.starts_with("step-") && name != keep {
            std::fs::remove_dir_all(entry.path()).map_err(|e| io_err(&entry.path(), e))?;
        }
    }
    Ok(())
}

/// True when `dir` holds a generation to resume from.
pub fn has_generation(dir: &Path) -> bool {
    dir.join(RESUME_DIR).join(LATEST).exists()
}

/// A generation as read back: its training state and the two weight files, checked against the manifest.
pub struct Generation<S> {
    pub step: usize,
    pub state: S,
    pub weights: Vec<u8>,
    pub optimizer: Vec<u8>,
}

/// Reads the generation `resume/LATEST` names and checks every file against its manifest.
pub fn read_generation<S: serde::de::DeserializeOwned>(
    dir: &Path,
) -> Result<Generation<S>, CheckpointError> {
    let resume = dir.join(RESUME_DIR);
    let latest = resume.join(LATEST);
    let name = std::fs::read_to_string(&latest).map_err(|e| io_err(&latest, e))?;
    let generation = resume.join(name.trim());
    let manifest: serde_json::Value = {
        let path = generation.join(STATE);
        let bytes = std::fs::read(&path).map_err(|e| io_err(&path, e))?;
        serde_json::from_slice(&bytes).map_err(|e| io_err(&path, e))?
    };
    let damaged = |path: &Path, what: String| CheckpointError::Damaged {
        path: path.display().to_string(),
        what,
        dir: generation.display().to_string(),
    };
    let read_checked = |file: &str| -> Result<Vec<u8>, CheckpointError> {
        let path = generation.join(file);
        let bytes = std::fs::read(&path).map_err(|e| io_err(&path, e))?;
        let want = &manifest["files"][file];
        let (size, hash) = (bytes.len() as u64, fnv1a64(&bytes));
        if want["bytes"].as_u64() != Some(size) || want["fnv1a64"].as_str() != Some(hash.as_str()) {
            return Err(damaged(
                &path,
                format!("{size} bytes, hash {hash}; the manifest says {want}"),
            ));
        }
        Ok(bytes)
    };
    let weights = read_checked(WEIGHTS)?;
    let optimizer = read_checked(OPTIMIZER)?;
    let path = generation.join(STATE);
    let state = serde_json::from_value(manifest["state"].clone()).map_err(|e| io_err(&path, e))?;
    let step = manifest["step"]
        .as_u64()
        .ok_or_else(|| damaged(&path, "no step".into()))? as usize;
    Ok(Generation {
        step,
        state,
        weights,
        optimizer,
    })
}

/// Loads weights from burnpack bytes into `model`.
pub fn load_weights(
    path: &Path,
    model: ReflectDiffu,
    bytes: Vec<u8>,
) -> Result<ReflectDiffu, CheckpointError> {
    let record =
        ModuleRecord::from_bytes(Bytes::from_bytes_vec(bytes)).map_err(|e| io_err(path, e))?;
    model.try_load_record(record).map_err(|e| io_err(path, e))
}

/// Loads optimizer state from its bytes.
pub fn load_optimizer(
    path: &Path,
    optim: ModuleOptimizer,
    bytes: Vec<u8>,
) -> Result<ModuleOptimizer, CheckpointError> {
    optim
        .from_bytes(Bytes::from_bytes_vec(bytes))
        .map_err(|e| io_err(path, e))
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
