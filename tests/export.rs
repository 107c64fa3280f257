//! `reflectdiffu export --format safetensors`: the file, read back with the `safetensors` crate, holds every
//! weight of the checkpoint under its PyTorch name and in PyTorch's layout.

mod common;

use common::cli::{reflectdiffu, stdout_ok};
use std::path::Path;

use burn::prelude::*;
use burn::store::ModuleSnapshot;
use safetensors::{Dtype, SafeTensors};

const CHECKPOINT: &str = "checkpoints/default";

/// burn's embedding tables (kept as they are: PyTorch's nn.Embedding is also [num, dim]).
const EMBEDDINGS: [&str; 6] = ["word", "position", "reason", "role", "emotion", "intent"];

/// The PyTorch name of a burn tensor path, and whether PyTorch stores it transposed (nn.Linear: [out, in]).
fn pytorch_name(burn: &str) -> (String, bool) {
    let (parent, leaf) = burn.rsplit_once('.').unwrap();
    let module = parent.rsplit('.').next().unwrap();
    match leaf {
        "gamma" => (format!("{parent}.weight"), false),
        "beta" => (format!("{parent}.bias"), false),
        "weight" if !EMBEDDINGS.contains(&module) => (burn.to_string(), true),
        _ => (burn.to_string(), false),
    }
}

#[test]
fn exported_safetensors_hold_every_weight_in_pytorch_layout() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("default.safetensors");
    let out = reflectdiffu()
        .args([
            "export",
            "--format",
            "safetensors",
            "--checkpoint",
            CHECKPOINT,
            "--out",
        ])
        .arg(&file)
        .output()
        .unwrap();
    let listing = stdout_ok(out);
    // A folder as --out is a clear error.
    let to_dir = reflectdiffu()
        .args(["export", "--checkpoint", CHECKPOINT, "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(to_dir.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&to_dir.stderr).contains("is a folder"));

    let bytes = std::fs::read(&file).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let responder =
        reflectdiffu::checkpoint::load_responder(Path::new(CHECKPOINT), &Device::flex()).unwrap();
    let ours = responder.model.collect(None, None, true);
    assert_eq!(st.len(), ours.len(), "tensor count");
    let mut transposed = 0;
    for t in &ours {
        let (name, transpose) = pytorch_name(&t.name);
        let view = st
            .tensor(&name)
            .unwrap_or_else(|e| panic!("{} (burn {}): {e}", name, t.name));
        assert_eq!(view.dtype(), Dtype::F32, "{name}");
        assert!(listing.contains(&format!("`{name}`")), "{name} not listed");
        let data = burn::store::bridge::to_data(t).unwrap();
        let want = data.as_slice::<f32>().unwrap();
        let got: Vec<f32> = view
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
            .collect();
        assert_eq!(got.len(), want.len(), "{name}: element count");
        if transpose {
            transposed += 1;
            let shape = view.shape();
            assert_eq!(shape.len(), 2, "{name}");
            let (rows, cols) = (shape[0], shape[1]); // PyTorch [out, in]; burn [in, out]
            for o in 0..rows {
                for i in 0..cols {
                    assert_eq!(got[o * cols + i], want[i * rows + o], "{name}[{o}, {i}]");
                }
            }
        } else {
            assert_eq!(got, want, "{name}");
        }
    }
    assert!(transposed > 0, "no Linear weight found");
    // The run config travels with the weights.
    let (_, meta) = SafeTensors::read_metadata(&bytes).unwrap();
    let config = meta.metadata().as_ref().unwrap()["reflectdiffu_config"].clone();
    assert!(config.contains("\"model\""), "{config}");
}

#[test]
fn f16_burnpack_is_half_the_size_and_loads_as_a_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("ck");
    std::fs::create_dir(&copy).unwrap();
    for f in ["config.json", "tokenizer.json", "reason_words.txt"] {
        std::fs::copy(Path::new(CHECKPOINT).join(f), copy.join(f)).unwrap();
    }
    let out = reflectdiffu()
        .args([
            "export",
            "--format",
            "burnpack-f16",
            "--checkpoint",
            CHECKPOINT,
            "--out",
        ])
        .arg(copy.join("model.bpk"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let f32_len = std::fs::metadata(Path::new(CHECKPOINT).join("model.bpk"))
        .unwrap()
        .len();
    let f16_len = std::fs::metadata(copy.join("model.bpk")).unwrap().len();
    assert!(
        f16_len * 2 < f32_len + f32_len / 50,
        "{f16_len} vs {f32_len} bytes"
    );

    // Loads (cast back to f32) and every weight is the f32 one rounded to f16.
    let device = Device::flex();
    let full = reflectdiffu::checkpoint::load_responder(Path::new(CHECKPOINT), &device).unwrap();
    let half = reflectdiffu::checkpoint::load_responder(&copy, &device).unwrap();
    let a = full.model.collect(None, None, true);
    let b = half.model.collect(None, None, true);
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        let x = burn::store::bridge::to_data(x).unwrap();
        let y = burn::store::bridge::to_data(y).unwrap();
        assert_eq!(y.dtype(), burn::tensor::DType::F32);
        let x = x.try_to_vec::<f32>().unwrap();
        let y = y.try_to_vec::<f32>().unwrap();
        for (u, v) in x.iter().zip(&y) {
            assert_eq!(burn::tensor::f16::from_f32(*u).to_f32(), *v);
        }
    }
}
