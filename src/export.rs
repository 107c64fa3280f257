//! `reflectdiffu export`: a checkpoint's weights as a safetensors file in PyTorch's conventions (burn-store
//! with its `BurnToPyTorchAdapter`: Linear weights transposed to [out, in], LayerNorm gamma/beta renamed
//! weight/bias), so that `safetensors.torch.load_file` and the rest of the ecosystem can read them. The run
//! config travels in the file's metadata (`reflectdiffu_config`).

use std::path::Path;

use anyhow::Context;
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
    let responder = checkpoint::load_responder(dir, &burn::prelude::Device::flex())?;
    let config = checkpoint::read_text(dir, checkpoint::CONFIG)?;
    let mut store = SafetensorsStore::from_file(out)
        .with_to_adapter(BurnToPyTorchAdapter)
        .skip_enum_variants(true)
        .metadata("reflectdiffu_config", config)
        .overwrite(true);
    responder
        .model
        .save_into(&mut store)
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", out.display()))?;
    read_header(out)
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
