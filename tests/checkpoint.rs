//! Checkpoint writing refuses what it must not keep, and a fine-tune (`train --from`) starts from the checkpoint
//! it names.

mod common;

use std::path::Path;
use std::process::Command;

use burn::module::{Module, ModuleMapper, Param};
use burn::optim::AdamWConfig;
use burn::prelude::*;
use common::cli::{reflectdiffu, stdout_ok, tiny_run_config, train_cmd};
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

/// The stderr of a command that must fail.
fn stderr_of_failure(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(!out.status.success(), "the command should have failed");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_fine_tune_starts_from_the_checkpoint_it_names() {
    let dir = tempfile::tempdir().unwrap();
    let ck = dir.path().join("base");
    stdout_ok(
        train_cmd(Path::new("configs/tiny.json"), &ck)
            .output()
            .unwrap(),
    );
    // A learning rate too small to move the weights: the fine-tune must read exactly as its base does, and a
    // run from scratch (another seed) must not.
    let still = tiny_run_config(dir.path(), "still", |c| c["train"]["lr"] = 1e-12.into());
    let fine = dir.path().join("fine");
    stdout_ok(
        train_cmd(&still, &fine)
            .arg("--from")
            .arg(&ck)
            .output()
            .unwrap(),
    );
    let scratch_cfg = tiny_run_config(dir.path(), "scratch", |c| {
        c["train"]["lr"] = 1e-12.into();
        c["train"]["seed"] = 8.into();
    });
    let scratch = dir.path().join("scratch");
    stdout_ok(train_cmd(&scratch_cfg, &scratch).output().unwrap());
    let emotions = |ck: &Path| -> Vec<f64> {
        let out = reflectdiffu()
            .args([
                "sample",
                "--json",
                "--steps",
                "2",
                "--seed",
                "1",
                "--checkpoint",
            ])
            .arg(ck)
            .arg("I lost my keys again and I am so annoyed.")
            .output()
            .unwrap();
        let json: serde_json::Value = serde_json::from_str(&stdout_ok(out)).unwrap();
        json["emotion"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["p"].as_f64().unwrap())
            .collect()
    };
    let close = |a: &[f64], b: &[f64]| a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-4);
    assert!(close(&emotions(&ck), &emotions(&fine)));
    assert!(!close(&emotions(&ck), &emotions(&scratch)));
    for f in ["tokenizer.json", "reason_words.txt"] {
        assert_eq!(
            std::fs::read(ck.join(f)).unwrap(),
            std::fs::read(fine.join(f)).unwrap(),
            "{f}"
        );
    }
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fine.join("config.json")).unwrap()).unwrap();
    assert_eq!(config["train"]["init_from"], ck.display().to_string());

    // The network must be the checkpoint's; --resume continues --out and takes no --from.
    let wider = tiny_run_config(dir.path(), "wider", |c| c["model"]["d_model"] = 48.into());
    let err = stderr_of_failure(
        train_cmd(&wider, &dir.path().join("wider"))
            .arg("--from")
            .arg(&ck),
    );
    assert!(err.contains("model section differs"), "{err}");
    let err = stderr_of_failure(
        train_cmd(&still, &fine)
            .args(["--resume", "--from"])
            .arg(&ck),
    );
    assert!(err.contains("drop --from"), "{err}");
}
