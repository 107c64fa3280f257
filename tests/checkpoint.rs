//! Checkpoint writing refuses what it must not keep.

mod common;

use burn::module::{Module, ModuleMapper, Param};
use burn::optim::AdamWConfig;
use burn::prelude::*;
use reflectdiffu::checkpoint::{self, CheckpointError};

/// Turns every weight into NaN, as a diverged update would.
struct Poison;

impl ModuleMapper for Poison {
    fn map_float<const D: usize>(&mut self, p: Param<Tensor<D>>) -> Param<Tensor<D>> {
        p.map(|t| t.mul_scalar(f32::NAN))
    }
}

#[test]
fn a_checkpoint_with_non_finite_weights_is_never_written() {
    let dir = tempfile::tempdir().unwrap();
    let model = common::tiny_config().init(&Device::flex());
    let optim = AdamWConfig::new().init();
    let state = serde_json::json!({"global_step": 5});
    assert!(checkpoint::weights_are_finite(&model));
    checkpoint::save_generation(dir.path(), 5, &model, &optim, &state).unwrap();
    let published = std::fs::read(dir.path().join("model.bpk")).unwrap();

    let poisoned = model.map(&mut Poison);
    assert!(!checkpoint::weights_are_finite(&poisoned));
    let err = checkpoint::save_generation(dir.path(), 6, &poisoned, &optim, &state).unwrap_err();
    assert!(
        matches!(err, CheckpointError::NonFiniteWeights { step: 6 }),
        "{err}"
    );
    // Nothing of step 6 exists; the step-5 generation is still the one to resume, and its weights are published.
    assert!(!dir.path().join("resume/step-000000006").exists());
    let latest = std::fs::read_to_string(dir.path().join("resume/LATEST")).unwrap();
    assert_eq!(latest.trim(), "step-000000005");
    assert_eq!(
        std::fs::read(dir.path().join("model.bpk")).unwrap(),
        published
    );
    let g = checkpoint::read_generation::<serde_json::Value>(dir.path()).unwrap();
    assert_eq!(g.step, 5);
    assert_eq!(g.weights, published);
}

#[test]
fn a_damaged_generation_is_named_not_loaded() {
    let dir = tempfile::tempdir().unwrap();
    let model = common::tiny_config().init(&Device::flex());
    let optim = AdamWConfig::new().init();
    checkpoint::save_generation(dir.path(), 2, &model, &optim, &serde_json::json!({})).unwrap();
    let weights = dir.path().join("resume/step-000000002/model.bpk");
    let mut bytes = std::fs::read(&weights).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&weights, bytes).unwrap();
    let err = checkpoint::read_generation::<serde_json::Value>(dir.path())
        .err()
        .expect("a flipped byte must be caught");
    assert!(
        err.to_string().contains("does not match its manifest"),
        "{err}"
    );
}
