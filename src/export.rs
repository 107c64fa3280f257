//! `reflectdiffu export`: a checkpoint's weights as a safetensors file in PyTorch's conventions (burn-store
//! with its `BurnToPyTorchAdapter`: Linear weights transposed to [out, in], LayerNorm gamma/beta renamed
//! weight/bias), so that `safetensors.torch.load_file` and the rest of the ecosystem can read them. The run
//! config travels in the file's metadata (`reflectdiffu_config`). Or as burnpack with f16 weights: half the
//! download for the web page; every loader casts them back to f32.

use std::path::Path;

use crate::output::{OutputFile, checkpoint_files};

use burn::module::{Module, ModuleMapper, Param};
use burn::prelude::*;
use burn::store::{BurnToPyTorchAdapter, ModuleSnapshot, SafetensorsStore};

use crate::checkpoint;

type Result<T, E = ExportError> = std::result::Result<T, E>;

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("cannot write {path}: {message}")]
    Write { path: String, message: String },
    #[error("cannot encode the f16 weights: {0}")]
    Encode(String),
    #[error("cannot read {path}: {message}")]
    Read { path: String, message: String },
    #[error("{0} is not a safetensors file")]
    NotSafetensors(String),
    #[error(
        "cannot read {path}: {message} (add a reader with `reflectdiffu emotion train --checkpoint DIR`)"
    )]
    NoReader { path: String, message: String },
    #[error("{path}: {message}")]
    BadReader { path: String, message: String },
    #[error(transparent)]
    Checkpoint(#[from] checkpoint::CheckpointError),
    #[error(transparent)]
    Output(#[from] crate::output::OutputError),
}

/// One tensor of an exported file, as its header lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorInfo {
    pub name: String,
    pub dtype: String,
    pub shape: Vec<usize>,
}

/// Writes the weights of the checkpoint in `dir` to `out` and returns the file's tensors, sorted by name.
pub fn export_safetensors(dir: &Path, out: &Path) -> Result<Vec<TensorInfo>> {
    let file = OutputFile::check(out, &checkpoint_files(dir), dir)?;
    let responder = checkpoint::load_responder(dir, &burn::prelude::Device::flex())?;
    let config = checkpoint::read_text(dir, checkpoint::CONFIG)?;
    let mut store = SafetensorsStore::from_file(file.temp_path())
        .with_to_adapter(BurnToPyTorchAdapter)
        .skip_enum_variants(true)
        .metadata("reflectdiffu_config", config)
        .overwrite(true);
    if let Err(e) = responder.model.save_into(&mut store) {
        file.discard();
        return Err(ExportError::Write {
            path: out.display().to_string(),
            message: e.to_string(),
        });
    }
    file.commit()?;
    read_header(out)
}

/// Casts every float parameter to f16.
struct ToF16;

impl ModuleMapper for ToF16 {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        param.map(|t| t.cast(burn::tensor::DType::F16))
    }
}

/// Writes the weights of the checkpoint in `dir` to `out` as burnpack with f16 values (the folder's other files
/// are unchanged, so a copy of the folder with this `model.bpk` is a checkpoint). Returns the number of weights.
pub fn export_burnpack_f16(dir: &Path, out: &Path) -> Result<usize> {
    let file = OutputFile::check(out, &checkpoint_files(dir), dir)?;
    let responder = checkpoint::load_responder(dir, &Device::flex())?;
    let weights = responder.model.num_params();
    let bytes = responder
        .model
        .map(&mut ToF16)
        .into_record()
        .into_bytes()
        .map_err(|e| ExportError::Encode(e.to_string()))?;
    file.write(&bytes)?;
    Ok(weights)
}

/// The tensor list of a safetensors file: an 8-byte little-endian header length, then a JSON header.
pub fn read_header(path: &Path) -> Result<Vec<TensorInfo>> {
    let bytes = std::fs::read(path).map_err(|e| ExportError::Read {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    let bad = || ExportError::NotSafetensors(path.display().to_string());
    let head: [u8; 8] = bytes
        .get(..8)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(bad)?;
    let len = u64::from_le_bytes(head) as usize;
    let header: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(bytes.get(8..8 + len).ok_or_else(bad)?).map_err(|_| bad())?;
    let mut out: Vec<TensorInfo> = header
        .iter()
        .filter(|(k, _)| *k != "__metadata__")
        .map(|(name, v)| TensorInfo {
            name: name.clone(),
            dtype: v["dtype"].as_str().unwrap_or("?").to_string(),
            shape: v["shape"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|d| d.as_u64())
                        .map(|d| d as usize)
                        .collect()
                })
                .unwrap_or_default(),
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// Writes the lexical emotion reader of the checkpoint in `dir` to `out` with f16 values (the web page's copy);
/// returns the file's size.
pub fn export_lexical_f16(dir: &Path, out: &Path) -> Result<usize> {
    let file = OutputFile::check(out, &checkpoint_files(dir), dir)?;
    let path = dir.join(crate::emotion::FILE);
    let bytes = std::fs::read(&path).map_err(|e| ExportError::NoReader {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    let reader =
        crate::emotion::LexicalEmotion::from_bytes(&bytes).map_err(|e| ExportError::BadReader {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
    let half = reader.to_bytes_f16();
    file.write(&half)?;
    Ok(half.len())
}
