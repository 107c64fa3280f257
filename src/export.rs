//! `reflectdiffu export`: a checkpoint's weights as a safetensors file in PyTorch's conventions (burn-store
//! with its `BurnToPyTorchAdapter`: Linear weights transposed to [out, in], LayerNorm gamma/beta renamed
//! weight/bias), so that `safetensors.torch.load_file` and the rest of the ecosystem can read them. The run
//! config travels in the file's metadata (`reflectdiffu_config`). Or as burnpack with f16 weights: half the
//! download for the web page; every loader casts them back to f32.

use std::path::Path;

use crate::output::{OutputFile, checkpoint_files};

use anyhow::Context;
use burn::module::{Module, ModuleMapper, Param};
use burn::prelude::*;
use burn::store::{BurnToPyTorchAdapter, ModuleSnapshot, SafetensorsStore};

use crate::checkpoint;

/// One tensor of an exported file, as its header lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorInfo {
    pub name: String,
    pub dtype: String,
    pub shape: Vec<usize>,
}

/// Writes the weights of the checkpoint in `dir` to `out` and returns the file's tensors, sorted by name.
pub fn export_safetensors(dir: &Path, out: &Path) -> anyhow::Result<Vec<TensorInfo>> {
    anyhow::ensure!(
        !out.is_dir(),
        "--out {} is a folder; pass a file name such as {}",
        out.display(),
        out.join("model.safetensors").display()
    );
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
        anyhow::bail!("cannot write {}: {e}", out.display());
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
pub fn export_burnpack_f16(dir: &Path, out: &Path) -> anyhow::Result<usize> {
    anyhow::ensure!(
        !out.is_dir(),
        "--out {} is a folder; pass a file name such as {}",
        out.display(),
        out.join("model.bpk").display()
    );
    let file = OutputFile::check(out, &checkpoint_files(dir), dir)?;
    let responder = checkpoint::load_responder(dir, &Device::flex())?;
    let weights = responder.model.num_params();
    let bytes = responder
        .model
        .map(&mut ToF16)
        .into_record()
        .into_bytes()
        .map_err(|e| anyhow::anyhow!("cannot encode the f16 weights: {e}"))?;
    file.write(&bytes)?;
    Ok(weights)
}

/// The tensor list of a safetensors file: an 8-byte little-endian header length, then a JSON header.
pub fn read_header(path: &Path) -> anyhow::Result<Vec<TensorInfo>> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let bad = || anyhow::anyhow!("{} is not a safetensors file", path.display());
    let len = u64::from_le_bytes(bytes.get(..8).ok_or_else(bad)?.try_into()?) as usize;
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
pub fn export_lexical_f16(dir: &Path, out: &Path) -> anyhow::Result<usize> {
    let file = OutputFile::check(out, &checkpoint_files(dir), dir)?;
    let path = dir.join(crate::emotion::FILE);
    let bytes = std::fs::read(&path).map_err(|e| {
        anyhow::anyhow!(
            "cannot read {}: {e} (add a reader with `reflectdiffu emotion train --checkpoint DIR`)",
            path.display()
        )
    })?;
    let reader = crate::emotion::LexicalEmotion::from_bytes(&bytes)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let half = reader.to_bytes_f16();
    file.write(&half)?;
    Ok(half.len())
}
