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

#[test]
fn a_file_without_emotion_labels_trains_without_the_emotion_head_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let ed = converted_fixtures(dir.path());
    // The same conversations with their `emotion` left out.
    let data = dir.path().join("no-emotions.jsonl");
    let lines: Vec<String> = std::fs::read_to_string(&ed)
        .unwrap()
        .lines()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
            v.as_object_mut().unwrap().remove("emotion");
            v.to_string()
        })
        .collect();
    std::fs::write(&data, lines.join("\n") + "\n").unwrap();

    let stats: serde_json::Value = serde_json::from_str(&stdout_ok(
        reflectdiffu()
            .args(["data", "stats", "--json", "--data"])
            .arg(&data)
            .output()
            .unwrap(),
    ))
    .unwrap();
    assert_eq!(stats["train"]["emotions"], 0);
    assert_eq!(
        stats["train"]["unlabelled"],
        stats["train"]["conversations"]
    );

    let config = tiny_run_config(dir.path(), "tiny", |c| c["train"]["max_steps"] = 2.into());
    let run = dir.path().join("run");
    let out = reflectdiffu()
        .args(["train", "--lexicons", "tests/fixtures/lexicons", "--data"])
        .arg(&data)
        .arg("--config")
        .arg(&config)
        .arg("--out")
        .arg(&run)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("no emotion labels: the emotion head is not trained"),
        "{stderr}"
    );
    let metrics = std::fs::read_to_string(run.join("metrics.jsonl")).unwrap();
    let last: serde_json::Value = serde_json::from_str(metrics.lines().last().unwrap()).unwrap();
    assert!(last["valid_emotion_acc"].is_null(), "{last}");
    assert!(last["valid_diffusion_loss"].as_f64().unwrap().is_finite());

    // eval scores the replies and reports no emotion accuracy; the lexical reader has nothing to learn from.
    let report = eval(&run, &data, &dir.path().join("eval.json"));
    assert!(report["emotion_acc"].is_null(), "{report}");
    assert!(report["bleu1"].as_f64().is_some());
    let out = reflectdiffu()
        .args(["emotion", "train", "--data"])
        .arg(&data)
        .arg("--checkpoint")
        .arg(&run)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no emotion labels"));
}
