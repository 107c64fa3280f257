//! End to end through the real binary: train configs/tiny.json on the fixture data, resume it, sample from it.
//! (Bad input of every kind is in `robustness.rs`.)

mod common;

use assert_cmd::Command;
use common::cli::{stdout_ok, tiny_run_config, train_cmd};
use predicates::prelude::*;
use std::path::Path;

fn bin() -> Command {
    Command::cargo_bin("reflectdiffu").unwrap()
}

fn train(out: &Path, extra: &[&str]) -> assert_cmd::assert::Assert {
    let mut cmd = train_cmd(Path::new("configs/tiny.json"), out);
    cmd.args(extra);
    Command::from_std(cmd).assert()
}

#[test]
fn train_one_step_resume_then_sample() {
    let dir = tempfile::tempdir().unwrap();
    let ck = dir.path().join("tiny");
    train(&ck, &[]).success();
    for f in [
        "config.json",
        "model.bpk",
        "tokenizer.json",
        "reason_words.txt",
        "meta.json",
        "metrics.jsonl",
        "curves.svg",
        "resume/LATEST",
    ] {
        assert!(ck.join(f).exists(), "{f} missing");
    }
    // a second run into the same folder without --resume must not overwrite it
    train(&ck, &[])
        .failure()
        .stderr(predicate::str::contains("--resume"));
    train(&ck, &["--resume", "--max-steps", "2"]).success();
    let latest = std::fs::read_to_string(ck.join("resume/LATEST")).unwrap();
    let state: serde_json::Value = serde_json::from_slice(
        &std::fs::read(ck.join("resume").join(latest.trim()).join("state.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(state["state"]["global_step"], 2);
    let metrics = std::fs::read_to_string(ck.join("metrics.jsonl")).unwrap();
    assert!(metrics.lines().any(|l| l.contains("valid_diffusion_loss")));

    let sample = |args: &[&str]| {
        let out = bin()
            .arg("sample")
            .arg("--checkpoint")
            .arg(&ck)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let text = sample(&["--steps", "4", "I failed my exam today."]);
    assert!(text.contains("(emotion: "), "{text}");
    let json: serde_json::Value = serde_json::from_str(&sample(&[
        "--json",
        "--steps",
        "4",
        "--seed",
        "3",
        "My dog died.",
    ]))
    .unwrap();
    assert!(json["reply"].is_string());
    assert_eq!(json["emotion"].as_array().unwrap().len(), 3);
    let p: f64 = json["emotion"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["p"].as_f64().unwrap())
        .sum();
    assert!(p > 0.0 && p <= 1.0001);
    // same seed, same reply
    let again: serde_json::Value = serde_json::from_str(&sample(&[
        "--json",
        "--steps",
        "4",
        "--seed",
        "3",
        "My dog died.",
    ]))
    .unwrap();
    assert_eq!(json, again);

    // JSONL: good lines answered, bad ones named, exit code non-zero
    let mut input = b"{\"context\": [\"I got a new job!\"]}\nnot json\n".to_vec();
    input.extend_from_slice(
        b"{\"context\": [\"caf\xe9\"]}\n{\"context\": [\"hi\", \"hello\", \"I am nervous\"]}\n",
    );
    let out = bin()
        .args(["sample", "--steps", "2", "--input", "-", "--checkpoint"])
        .arg(&ck)
        .write_stdin(input)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("<stdin>:2") && stderr.contains("<stdin>:3"),
        "{stderr}"
    );
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4);
    assert!(lines[0]["reply"].is_string() && lines[3]["reply"].is_string());
    assert_eq!(lines[1]["line"], 2);

    // eval: a report with every metric, replies next to it, byte-identical when run twice
    let eval = |name: &str| {
        let out = dir.path().join(name);
        bin()
            .args([
                "eval",
                "--data",
                "tests/fixtures/ed",
                "--split",
                "test",
                "--limit",
                "9",
                "--steps",
                "3",
                "--seed",
                "5",
                "--checkpoint",
            ])
            .arg(&ck)
            .arg("--out")
            .arg(&out)
            .assert()
            .success()
            .stdout(predicate::str::contains("| BLEU-1 |"));
        (
            std::fs::read(&out).unwrap(),
            std::fs::read(out.with_extension("replies.jsonl")).unwrap(),
        )
    };
    let (a, a_replies) = eval("a.json");
    let (b, b_replies) = eval("b.json");
    assert_eq!(a_replies, b_replies);
    let report: serde_json::Value = serde_json::from_slice(&a).unwrap();
    for k in [
        "bleu1",
        "bleu2",
        "bleu3",
        "bleu4",
        "dist1",
        "dist2",
        "word_repeat",
        "bigram_repeat",
        "emotion_acc",
        "emotion_macro_f1",
        "ppl_bound",
        "avg_words",
        "avg_tokens",
    ] {
        assert!(report[k].is_number(), "{k} missing from the report");
    }
    assert_eq!(report["samples"], 9);
    assert_eq!(report["settings"]["steps"], 3);
    assert_eq!(String::from_utf8_lossy(&a_replies).lines().count(), 9);
    // the reports differ only in the name of the file they live in, which they do not contain
    assert_eq!(a, b);
    // --emotion-only reads the same emotions without writing replies.
    let emo_out = dir.path().join("emo.json");
    bin()
        .args([
            "eval",
            "--emotion-only",
            "--data",
            "tests/fixtures/ed",
            "--split",
            "test",
        ])
        .args(["--limit", "9", "--checkpoint"])
        .arg(&ck)
        .arg("--out")
        .arg(&emo_out)
        .assert()
        .success()
        .stdout(predicate::str::contains("| emotion acc |"));
    let emo: serde_json::Value = serde_json::from_slice(&std::fs::read(&emo_out).unwrap()).unwrap();
    assert_eq!(emo["emotion_acc"], report["emotion_acc"]);
    assert_eq!(emo["emotion_macro_f1"], report["emotion_macro_f1"]);
    assert!(!emo_out.with_extension("replies.jsonl").exists());

    // empty input is a clear error
    bin()
        .args(["sample", "--checkpoint"])
        .arg(&ck)
        .arg("   ")
        .assert()
        .failure()
        .stderr(predicate::str::contains("empty"));
    // chat keeps going across turns and ends at EOF
    bin()
        .args(["chat", "--steps", "2", "--checkpoint"])
        .arg(&ck)
        .write_stdin("I lost my keys.\n\nthey were in my car\n")
        .assert()
        .success()
        .stdout(predicate::str::contains("listener>").count(2));
}

#[test]
fn a_bad_config_value_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = std::fs::read_to_string("configs/tiny.json")
        .unwrap()
        .replace("\"n_heads\": 2", "\"n_heads\": 5");
    let path = dir.path().join("bad.json");
    std::fs::write(&path, cfg).unwrap();
    bin()
        .args(["train", "--data", "tests/fixtures/ed", "--config"])
        .arg(&path)
        .arg("--out")
        .arg(dir.path().join("o"))
        .assert()
        .failure()
        .stderr(predicate::str::contains("n_heads"));
}

#[test]
fn a_missing_checkpoint_says_how_to_make_one() {
    bin()
        .args(["sample", "--checkpoint", "no/such/ckpt", "hello"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("reflectdiffu train"));
}

#[test]
fn the_shipped_checkpoint_answers_without_flags() {
    let out = bin()
        .args([
            "sample",
            "--json",
            "I finally got the job I wanted after months of searching.",
        ])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&stdout_ok(out)).unwrap();
    let reply = v["reply"].as_str().unwrap();
    assert!(
        reply.split_whitespace().count() >= 2,
        "reply too short: {reply:?}"
    );
    assert_eq!(v["steps"], 32);
}

#[test]
fn a_block_diffusion_model_trains_samples_and_evaluates() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = tiny_run_config(dir.path(), "block", |c| {
        c["model"]["block_len"] = 4.into(); // 12 reply positions = 3 blocks
        c["train"]["max_steps"] = 2.into();
    });
    let ck = dir.path().join("block");
    Command::from_std(train_cmd(&cfg, &ck)).assert().success();
    let out = bin()
        .args(["sample", "--json", "--steps", "6", "--checkpoint"])
        .arg(&ck)
        .arg("I lost my keys.")
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&stdout_ok(out)).unwrap();
    assert!(v["reply"].is_string());
    bin()
        .args([
            "eval",
            "--data",
            "tests/fixtures/ed",
            "--split",
            "test",
            "--limit",
            "5",
        ])
        .args(["--steps", "6", "--checkpoint"])
        .arg(&ck)
        .arg("--out")
        .arg(dir.path().join("e.json"))
        .assert()
        .success();
}
