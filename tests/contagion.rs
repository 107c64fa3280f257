//! Emotion contagion through the real binary: `sample --explain` on the shipped checkpoint, and a tiny run with
//! every issue-10 option on.

mod common;

use assert_cmd::Command;
use common::cli::{stdout_ok, tiny_run_config, train_cmd};

fn bin() -> Command {
    Command::cargo_bin("reflectdiffu").unwrap()
}

#[test]
fn explain_shows_the_emotion_and_the_reason_words_of_every_speaker_turn() {
    let turns = [
        "My dog died last week.",
        "oh no, i'm so sorry.",
        "The house feels so empty and I am heartbroken.",
    ];
    let out = bin()
        .args(["sample", "--json", "--explain"])
        .args(turns)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&stdout_ok(out)).unwrap();
    let e = &v["explain"];
    assert_eq!(e["emotion"], v["emotion"]);
    assert_eq!(e["emotion"].as_array().unwrap().len(), 3);
    // The shipped model has an intent policy: the reply is written for an intent drawn from it, and the
    // explanation names it and the policy's top 3.
    let chosen = e["intent"]["chosen"].as_str().unwrap();
    assert!(
        reflectdiffu::data::INTENTS[..9].contains(&chosen),
        "{chosen}"
    );
    assert_eq!(v["intent"], chosen);
    assert_eq!(e["intent"]["policy"].as_array().unwrap().len(), 3);
    let reasons = e["reasons"].as_array().unwrap();
    // The speaker's turns are the first and the third; the listener's is not explained.
    assert_eq!(reasons.len(), 2);
    for (r, turn) in reasons.iter().zip([0, 2]) {
        assert_eq!(r["turn"], turn);
        let segments = r["segments"].as_array().unwrap();
        let text: String = segments
            .iter()
            .map(|s| s["text"].as_str().unwrap())
            .collect();
        assert_eq!(text, turns[turn]);
    }
    let marked = |r: &serde_json::Value| -> Vec<String> {
        r["segments"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["reason"] == true)
            .map(|s| s["text"].as_str().unwrap().to_lowercase())
            .collect()
    };
    assert!(marked(&reasons[1]).contains(&"heartbroken".to_string()));

    // The text form marks them between « and ».
    let out = bin()
        .args(["sample", "--explain", turns[2]])
        .output()
        .unwrap();
    let text = stdout_ok(out);
    assert!(text.contains("«heartbroken»"), "{text}");
    assert!(text.contains("(emotion: "), "{text}");
}

#[test]
fn the_emotion_contagion_options_train_resume_and_answer() {
    // Reasoning mask, opening turn kept, polarity experts with their contrastive loss, one step of masked-LM
    // pre-training of the encoder: all on at once.
    let dir = tempfile::tempdir().unwrap();
    let config = tiny_run_config(dir.path(), "contagion", |c| {
        c["model"]["reason_bias"] = serde_json::json!(2.0);
        c["model"]["keep_opening_turn"] = serde_json::json!(true);
        c["model"]["polarity_experts"] = serde_json::json!(true);
        c["model"]["max_context_len"] = serde_json::json!(16);
        c["train"]["contrastive_weight"] = serde_json::json!(0.5);
        c["train"]["max_steps"] = serde_json::json!(2);
        c["train"]["mlm_steps"] = serde_json::json!(1);
    });
    let ck = dir.path().join("contagion");
    Command::from_std(train_cmd(&config, &ck))
        .assert()
        .success();
    let phases: Vec<String> = std::fs::read_to_string(ck.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .filter_map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["phase"]
                .as_str()
                .map(String::from)
        })
        .collect();
    assert_eq!(phases, ["mlm", "main"]);
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(ck.join("config.json")).unwrap()).unwrap();
    assert_eq!(saved["model"]["polarity_experts"], true);
    Command::from_std(train_cmd(&config, &ck))
        .args(["--resume", "--max-steps", "3"])
        .assert()
        .success();
    // An override that leaves no room after pre-training is refused, like the same value in a config.
    let refused = train_cmd(&config, &ck)
        .args(["--resume", "--max-steps", "1"])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("train.mlm_steps"));
    let out = bin()
        .args([
            "sample",
            "--json",
            "--explain",
            "--steps",
            "4",
            "--checkpoint",
        ])
        .arg(&ck)
        .args([
            "My dog died.",
            "oh no.",
            "I miss him so much, the house is empty and quiet.",
        ])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&stdout_ok(out)).unwrap();
    assert_eq!(v["explain"]["emotion"].as_array().unwrap().len(), 3);
    assert_eq!(
        v["truncated"], true,
        "16 tokens cannot hold the whole conversation"
    );
}

#[test]
fn the_lexical_emotion_reader_is_trained_tuned_on_valid_and_fused_into_the_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let config = tiny_run_config(dir.path(), "plain", |_| {});
    let ck = dir.path().join("plain");
    Command::from_std(train_cmd(&config, &ck))
        .assert()
        .success();
    let score = |name: &str| -> f64 {
        let report = dir.path().join(format!("{name}.json"));
        stdout_ok(
            bin()
                .args([
                    "eval",
                    "--emotion-only",
                    "--data",
                    "tests/fixtures/ed",
                    "--split",
                    "valid",
                ])
                .arg("--checkpoint")
                .arg(&ck)
                .arg("--out")
                .arg(&report)
                .output()
                .unwrap(),
        );
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(report).unwrap()).unwrap();
        v["emotion_acc"].as_f64().unwrap()
    };
    let before = score("before");
    let emotion_train = |options: &[&str]| {
        bin()
            .args(["emotion", "train", "--data", "tests/fixtures/ed"])
            .args(options)
            .arg("--checkpoint")
            .arg(&ck)
            .output()
            .unwrap()
    };
    let table = stdout_ok(emotion_train(&["--refit-with-valid", "false"]));
    for row in [
        "| encoder alone |",
        "| regression alone |",
        "| bag of embeddings alone |",
    ] {
        assert!(table.contains(row), "{table}");
    }
    // The β × γ grid: nine β rows of six γ cells.
    assert!(
        table.contains("| β \\ γ | 0 | 2 | 4 | 8 | 12 | 16 |"),
        "{table}"
    );
    let grid: Vec<&str> = table
        .lines()
        .filter(|l| l.starts_with("| ") && l.as_bytes()[2].is_ascii_digit())
        .collect();
    assert_eq!(grid.len(), 9, "{table}");
    assert!(grid.iter().all(|l| l.matches('|').count() == 8), "{table}");
    assert!(ck.join("emotion_ngrams.bin").exists());
    // β and γ are chosen by validation accuracy, and β = γ = 0 (the encoder alone) is among the choices: the fused
    // reader is never worse than the encoder on the split it was tuned on (no refit here, so that the reader
    // scored is the one tuned).
    let fused = score("after");
    assert!(fused >= before, "{before} → {fused}");
    // The f16 reader (what the web page downloads) is half the size and reads the same emotion on this split.
    let half = dir.path().join("half.bin");
    stdout_ok(
        bin()
            .args(["export", "--format", "lexical-f16", "--checkpoint"])
            .arg(&ck)
            .arg("--out")
            .arg(&half)
            .output()
            .unwrap(),
    );
    let full_len = std::fs::metadata(ck.join("emotion_ngrams.bin"))
        .unwrap()
        .len();
    assert!(std::fs::metadata(&half).unwrap().len() < full_len / 2 + 16);
    let f32_copy = dir.path().join("f32.bin");
    std::fs::copy(ck.join("emotion_ngrams.bin"), &f32_copy).unwrap();
    // A file swapped by hand is refused until the checkpoint is sealed again (see `checkpoint seal`).
    let seal = || {
        stdout_ok(
            bin()
                .args(["checkpoint", "seal"])
                .arg(&ck)
                .output()
                .unwrap(),
        )
    };
    std::fs::copy(&half, ck.join("emotion_ngrams.bin")).unwrap();
    seal();
    assert_eq!(score("after-f16"), fused);
    std::fs::copy(&f32_copy, ck.join("emotion_ngrams.bin")).unwrap();
    seal();
    // Without the bag: the regression alone, one γ column; bad settings are refused before any work.
    let table = stdout_ok(emotion_train(&["--bag-dim", "0"]));
    assert!(
        table.contains("| β \\ γ | 0 |\n") && !table.contains("bag of embeddings"),
        "{table}"
    );
    let out = emotion_train(&["--lr", "0"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("must be positive"));
    // Sampling reads the fused emotion.
    stdout_ok(
        bin()
            .args(["sample", "--steps", "2", "--checkpoint"])
            .arg(&ck)
            .arg("I was terrified of the storm last night.")
            .output()
            .unwrap(),
    );
    std::fs::write(ck.join("emotion_ngrams.bin"), b"broken").unwrap();
    let out = bin()
        .args(["sample", "--checkpoint"])
        .arg(&ck)
        .arg("hello")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("emotion_ngrams.bin"));
}
