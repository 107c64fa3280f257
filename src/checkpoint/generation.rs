//! Resumable checkpoints as generations (see the module docs of `checkpoint` for the layout and the order in which
//! a generation is written): weights, optimizer state and the training state, checked against a manifest on load.

use std::path::Path;

use burn::module::Module;
use burn::optim::ModuleOptimizer;
use burn::prelude::*;
use burn::store::ModuleRecord;
use burn::tensor::Bytes;

use super::{
    CheckpointError, HOOK_ENV, LATEST, OPTIMIZER, RESUME_DIR, STATE, WEIGHTS, io_err, sync_dir,
    write_atomic, write_synced,
};
use crate::model::ReflectDiffu;

/// FNV-1a, 64 bits: enough to tell a torn or mixed-up file from the one a manifest describes (not a defence
/// against tampering).
pub(crate) fn fnv1a64(bytes: &[u8]) -> String {
    format!("{:016x}", crate::format::fnv1a64(bytes))
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
    // The run is in progress: the checkpoint is unsealed until it ends (`super::seal`), so a crash between here
    // and the end never leaves checksums that name other weights.
    super::unseal(dir)?;
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
