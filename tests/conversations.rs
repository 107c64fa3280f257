//! A conversations file (JSON Lines) through the commands that train and score: `tokenizer train`, a fine-tune
//! with `train --from` that changes the weights and then samples, and `eval`, which scores the file's test part
//! exactly as it scores the same conversations read from ED's CSV.

mod common;

use std::path::Path;

use common::cli::{converted_fixtures, reflectdiffu, stdout_ok, tiny_run_config, train_cmd};

fn eval(ck: &Path, data: &Path, out: &Path) -> serde_json::Value {
    stdout_ok(
        reflectdiffu()
            .args([
                "eval", "--split", "test", "--limit", "4", "--steps", "2", "--seed", "3",
            ])
            .arg("--data")
            .arg(data)
            .arg("--checkpoint")
            .arg(ck)
            .arg("--out")
            .arg(out)
            .output()
            .unwrap(),
    );
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(out).unwrap()).unwrap();
    v["settings"].as_object_mut().unwrap().remove("data");
    v
}

#[test]
fn a_conversations_file_trains_a_tokenizer_fine_tunes_a_checkpoint_and_is_scored() {
    let dir = tempfile::tempdir().unwrap();
    let file = converted_fixtures(dir.path());

    let tok = dir.path().join("tokenizer.json");
    stdout_ok(
        reflectdiffu()
            .args(["tokenizer", "train", "--vocab-size", "400", "--data"])
            .arg(&file)
            .arg("--out")
            .arg(&tok)
            .output()
            .unwrap(),
    );
    let tokenizer =
        reflectdiffu::tokenizer::TextTokenizer::from_bytes(&std::fs::read(&tok).unwrap()).unwrap();
    assert_eq!(tokenizer.vocab_size(), 400);

    // A base trained on ED's CSV, then fine-tuned on the file (keeping the base's tokenizer).
    let base = dir.path().join("base");
    stdout_ok(
        train_cmd(Path::new("configs/tiny.json"), &base)
            .output()
            .unwrap(),
    );
    let cfg = tiny_run_config(dir.path(), "fine", |c| c["train"]["lr"] = 3e-3.into());
    let fine = dir.path().join("fine");
    stdout_ok(
        reflectdiffu()
            .args(["train", "--lexicons", "tests/fixtures/lexicons", "--data"])
            .arg(&file)
            .arg("--config")
            .arg(&cfg)
            .arg("--from")
            .arg(&base)
            .arg("--out")
            .arg(&fine)
            .output()
            .unwrap(),
    );
    assert_ne!(
        std::fs::read(base.join("model.bpk")).unwrap(),
        std::fs::read(fine.join("model.bpk")).unwrap(),
        "the fine-tune moved the weights"
    );
    assert_eq!(
        std::fs::read(base.join("tokenizer.json")).unwrap(),
        std::fs::read(fine.join("tokenizer.json")).unwrap()
    );
    let reply = stdout_ok(
        reflectdiffu()
            .args(["sample", "--steps", "2", "--checkpoint"])
            .arg(&fine)
            .arg("I finally finished my exams!")
            .output()
            .unwrap(),
    );
    assert!(!reply.trim().is_empty());

    // The file's test part is scored exactly as ED's test split.
    let from_file = eval(&fine, &file, &dir.path().join("file.json"));
    let from_ed = eval(
        &fine,
        Path::new("tests/fixtures/ed"),
        &dir.path().join("ed.json"),
    );
    for key in [
        "bleu1",
        "bleu2",
        "dist1",
        "emotion_acc",
        "ppl_bound",
        "samples",
    ] {
        assert_eq!(from_file[key], from_ed[key], "{key}");
    }
    assert_eq!(from_file["samples"], 4);
}
