//! Exemplar-guided diffusion: the exemplar memory is read and an absent one changes nothing, the draft hint is
//! read, a tiny model trained with exemplars and draft editing writes its index and answers with it, with
//! `--draft-mask` and without the index, a fine-tune gives a model trained without exemplars its memory, and
//! draft editing is refused where it cannot work.

mod common;

use burn::prelude::*;
use common::cli::{reflectdiffu, rl_cmd, stdout_ok, tiny_rl_config, tiny_run_config, train_cmd};
use common::*;
use reflectdiffu::inputs::ids_tensor;
use reflectdiffu::model::Batch;

fn max_diff(a: &Tensor<3>, b: &Tensor<3>) -> f32 {
    (a.clone() - b.clone()).abs().max().into_scalar::<f32>()
}

/// Logits of one row, [1, REPLY, VOCAB].
fn row(t: &Tensor<3>, r: usize) -> Tensor<3> {
    t.clone().slice([r..r + 1, 0..REPLY, 0..VOCAB])
}

#[test]
fn the_exemplar_memory_is_read_and_a_row_without_one_answers_as_without_memory() {
    let device = Device::flex();
    let model = tiny_config()
        .with_exemplars(Some(2))
        .with_dropout(0.0)
        .init(&device);
    let s = samples();
    let batch = Batch::new(&s.iter().collect::<Vec<_>>(), &device);
    let t = Tensor::<1>::from_data(TensorData::new(vec![0.5f32, 0.9], [2]), &device);
    let x = ids_tensor(&x_t(), &device);
    let plain = condition(&model, &batch, &device);
    let without = model.denoise(x.clone(), t.clone(), &plain);

    // No row has an exemplar: the memory is not extended at all.
    let mut cond = plain.clone();
    model.attach_exemplars(&mut cond, &[&[], &[]], 2);
    assert_eq!(cond.memory.dims(), plain.memory.dims());

    // Row 0 has two exemplars, row 1 none: row 0 reads them, row 1 answers as it did without memory.
    let exemplars = vec![vec![40, 41, 42], vec![50, 51]];
    let mut cond = plain.clone();
    model.attach_exemplars(&mut cond, &[&exemplars, &[]], 2);
    assert_eq!(cond.memory.dims()[1], plain.memory.dims()[1] + 2 * 3);
    let with = model.denoise(x.clone(), t.clone(), &cond);
    assert!(max_diff(&row(&with, 0), &row(&without, 0)) > 1e-4);
    assert!(max_diff(&row(&with, 1), &row(&without, 1)) < 1e-5);

    // The memory's keys cached once give the same logits as projected in every pass.
    let mut cached = cond.clone();
    model.denoiser.cache_memory(&mut cached);
    assert!(max_diff(&model.denoise(x, t, &cached), &with) < 1e-4);
}

#[test]
fn the_draft_hint_marks_positions_and_a_model_without_exemplars_has_no_slots() {
    let device = Device::flex();
    let model = tiny_config()
        .with_exemplars(Some(1))
        .with_dropout(0.0)
        .init(&device);
    assert!(model.denoiser.has_exemplar_slots());
    assert!(!tiny_config().init(&device).denoiser.has_exemplar_slots());
    let s = samples();
    let batch = Batch::new(&s.iter().collect::<Vec<_>>(), &device);
    let t = Tensor::<1>::from_data(TensorData::new(vec![0.5f32, 0.5], [2]), &device);
    let x = ids_tensor(&x_t(), &device);
    let mut cond = condition(&model, &batch, &device);
    let plain = model.denoise(x.clone(), t.clone(), &cond);
    let mut hint = vec![0.0f32; 2 * REPLY];
    hint[REPLY + 3] = 1.0; // row 1, position 3
    cond.draft_hint = Some(Tensor::from_data(
        TensorData::new(hint, [2, REPLY]),
        &device,
    ));
    let hinted = model.denoise(x, t, &cond);
    assert!(max_diff(&row(&hinted, 1), &row(&plain, 1)) > 1e-4);
    assert!(max_diff(&row(&hinted, 0), &row(&plain, 0)) < 1e-6);
}

/// `sample --json` from `dir` with `extra` flags.
fn sample(dir: &std::path::Path, extra: &[&str]) -> std::process::Output {
    reflectdiffu()
        .args(["sample", "--steps", "4", "--json", "--checkpoint"])
        .arg(dir)
        .args(extra)
        .arg("My dog died last week and I miss him so much.")
        .output()
        .unwrap()
}

fn reply(stdout: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    v["reply"].as_str().unwrap().to_string()
}

#[test]
fn a_model_trained_with_exemplars_answers_with_them_with_a_draft_and_without_an_index() {
    let dir = tempfile::tempdir().unwrap();
    let config = tiny_run_config(dir.path(), "exemplars", |c| {
        c["model"]["exemplars"] = 2.into();
        c["train"]["draft_rate"] = 0.5.into();
        c["train"]["max_steps"] = 2.into();
    });
    let run = dir.path().join("run");
    let log = train_cmd(&config, &run).output().unwrap();
    assert!(
        log.status.success(),
        "{}",
        String::from_utf8_lossy(&log.stderr)
    );
    assert!(
        run.join("exemplars.bin").exists(),
        "the run keeps its index"
    );
    reply(&stdout_ok(sample(&run, &[])));
    reply(&stdout_ok(sample(&run, &["--draft-mask", "0.5"])));
    let out = sample(&run, &["--draft-mask", "1.5"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("draft_mask must be in [0, 1]"));

    // Without its index the model answers without exemplar memory; draft editing then has nothing to edit.
    std::fs::remove_file(run.join("exemplars.bin")).unwrap();
    std::fs::remove_file(run.join("checksums.json")).unwrap();
    reply(&stdout_ok(sample(&run, &[])));
    let out = sample(&run, &["--draft-mask", "0.5"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("exemplar index"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_fine_tune_gives_a_model_without_exemplars_its_memory() {
    let dir = tempfile::tempdir().unwrap();
    let plain = tiny_run_config(dir.path(), "plain", |_| {});
    let base = dir.path().join("base");
    stdout_ok(train_cmd(&plain, &base).output().unwrap());
    // Trained without exemplars, it cannot edit a draft: it would read the draft's tokens as written ones.
    let out = sample(&base, &["--draft-mask", "0.5"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("trained with exemplars"));
    let with = tiny_run_config(dir.path(), "with", |c| {
        c["model"]["exemplars"] = 1.into();
    });
    let tuned = dir.path().join("tuned");
    let log = train_cmd(&with, &tuned)
        .arg("--from")
        .arg(&base)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&log.stderr);
    assert!(log.status.success(), "{stderr}");
    assert!(stderr.contains("new exemplar vectors"), "{stderr}");
    let cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(tuned.join("config.json")).unwrap()).unwrap();
    assert_eq!(cfg["model"]["exemplars"], 1);
    reply(&stdout_ok(sample(&tuned, &[])));
}

#[test]
fn the_rl_stage_runs_on_a_model_trained_with_exemplars() {
    let dir = tempfile::tempdir().unwrap();
    let judge = dir.path().join("judge.bin");
    stdout_ok(
        reflectdiffu()
            .args([
                "intent",
                "train",
                "--data",
                "tests/fixtures/intents",
                "--epochs",
                "1",
                "--out",
            ])
            .arg(&judge)
            .output()
            .unwrap(),
    );
    let config = tiny_run_config(dir.path(), "intents", |c| {
        c["model"]["intent_policy"] = true.into();
        c["model"]["exemplars"] = 2.into();
        c["train"]["max_steps"] = 2.into();
        c["train"]["intent_labels"] = "tests/fixtures/intents/annotated".into();
        c["train"]["intent_judge"] = serde_json::json!(judge);
    });
    let run = dir.path().join("run");
    stdout_ok(train_cmd(&config, &run).output().unwrap());
    // The whole model, not only the policy head: the rollouts' condition and the anchor read exemplar memory.
    let rl_config = tiny_rl_config(dir.path(), &judge, |rl| {
        rl["rl"]["policy_only"] = false.into()
    });
    let rl_run = dir.path().join("rl-run");
    let out = rl_cmd(&rl_config, &run, &rl_run);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let log = std::fs::read_to_string(rl_run.join("metrics.jsonl")).unwrap();
    assert_eq!(log.lines().count(), 2);
    assert!(rl_run.join("exemplars.bin").exists(), "it keeps the index");
    reply(&stdout_ok(sample(&rl_run, &["--draft-mask", "0.5"])));
}
