//! End to end through the real binary: train configs/tiny.json on the fixture data, resume it, sample from it.

use assert_cmd::Command;
use predicates::prelude::*;
use std::path::Path;

fn bin() -> Command {
    Command::cargo_bin("reflectdiffu").unwrap()
}

fn train(out: &Path, extra: &[&str]) -> assert_cmd::assert::Assert {
    bin()
        .args([
            "train",
            "--config",
            "configs/tiny.json",
            "--data",
            "tests/fixtures/ed",
            "--lexicons",
            "tests/fixtures/lexicons",
            "--out",
        ])
        .arg(out)
        .args(extra)
        .assert()
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
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let reply = v["reply"].as_str().unwrap();
    assert!(
        reply.split_whitespace().count() >= 2,
        "reply too short: {reply:?}"
    );
    assert_eq!(v["steps"], 32);
}

/// Runs `sample` on the shipped checkpoint and returns (success, stdout, stderr).
fn shipped(args: &[&str], stdin: &[u8]) -> (bool, String, String) {
    let out = bin()
        .arg("sample")
        .args(args)
        .write_stdin(stdin.to_vec())
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[test]
fn every_jsonl_line_stands_alone_with_the_seed_of_its_line_index() {
    let input = concat!(
        "{\"context\": [\"My dog died.\"]}\n",
        "{\"context\": [\"hello\", \"   \"]}\n", // parses, but its last turn is empty: its own error
        "\n",
        "{\"context\": [\"My dog died.\"]}\n",
    );
    let (ok, stdout, stderr) = shipped(
        &["--steps", "4", "--seed", "10", "--input", "-"],
        input.as_bytes(),
    );
    assert!(!ok);
    assert!(stderr.contains("<stdin>:2"), "{stderr}");
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    assert_eq!(lines[1]["line"], 2);
    // Line index 0 samples with seed 10, line index 3 with seed 13: each equals a one-shot run with that seed.
    for (line, seed) in [(&lines[0], "10"), (&lines[2], "13")] {
        let (ok, one, err) = shipped(
            &["--json", "--steps", "4", "--seed", seed, "My dog died."],
            b"",
        );
        assert!(ok, "{err}");
        let one: serde_json::Value = serde_json::from_str(&one).unwrap();
        assert_eq!(line["reply"], one["reply"], "seed {seed}");
    }
}

#[test]
fn special_token_names_typed_by_a_user_are_plain_text() {
    use reflectdiffu::model::encode_context;
    let r = reflectdiffu::checkpoint::load_responder(
        std::path::Path::new("checkpoints/default"),
        &burn::prelude::Device::flex(),
    )
    .unwrap();
    let typed = vec!["[PAD] [MASK] [EOS] [SPK] [LST] [BOS] [SEP] [UNK]".to_string()];
    let enc = encode_context(&r.tokenizer, &r.tagger, &typed, r.config.max_context_len).unwrap();
    // [BOS] [SPK] are placed by the code; everything after them is text.
    assert_eq!(&enc.ctx_ids[..2], &[3, 6]);
    assert!(
        enc.ctx_ids[2..].iter().all(|id| *id >= 8),
        "{:?}",
        enc.ctx_ids
    );
    // …so no position of the turn is taken for padding, and the model answers it like any text.
    let (ok, stdout, stderr) = shipped(&["--json", "--steps", "4", "[PAD]"], b"");
    assert!(ok, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert!(v["reply"].is_string());
}

#[test]
fn a_crisis_message_gets_the_fixed_note_in_text_json_and_chat() {
    let note = reflectdiffu::safety::CRISIS_NOTE;
    let (ok, stdout, _) = shipped(&["--steps", "2", "I want to kill myself."], b"");
    assert!(ok && stdout.contains(note), "{stdout}");
    let (ok, stdout, _) = shipped(&["--json", "--steps", "2", "I want to kill myself."], b"");
    assert!(ok);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["safety"]["crisis"], true);
    assert_eq!(v["safety"]["note"], note);
    assert_eq!(v["reply"], note);
    let (_, stdout, _) = shipped(&["--json", "--steps", "2", "This exam is killing me."], b"");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["safety"]["crisis"], false);
    assert_ne!(v["reply"], note);
    bin()
        .args(["chat", "--steps", "2"])
        .write_stdin("I lost my job.\nI don't want to live anymore.\n")
        .assert()
        .success()
        .stdout(predicate::str::contains(note).count(1));
}

#[test]
fn chat_says_so_and_keeps_going_after_a_line_that_is_not_utf8() {
    let mut input = b"I lost my keys.\n".to_vec();
    input.extend_from_slice(b"caf\xe9 au lait\n");
    input.extend_from_slice(b"they were in my car\n");
    bin()
        .args(["chat", "--steps", "2"])
        .write_stdin(input)
        .assert()
        .success()
        .stdout(predicate::str::contains("listener>").count(2))
        .stderr(predicate::str::contains("not valid UTF-8"));
}

#[test]
fn every_broken_config_is_a_clear_error_never_a_panic() {
    // (path in the config, bad value, words the error must contain)
    let cases: &[(&str, &str, &str)] = &[
        ("model.max_context_len", "1", "max_context_len"),
        ("model.max_context_len", "2", "max_context_len"),
        ("model.max_context_len", "0", "max_context_len"),
        ("model.max_reply_len", "1", "max_reply_len"),
        ("model.n_heads", "5", "n_heads"),
        ("model.n_heads", "0", "n_heads"),
        ("model.d_model", "0", "d_model"),
        ("model.vocab_size", "10", "vocab_size"),
        ("model.dropout", "1.0", "dropout"),
        ("model.dropout", "-0.5", "dropout"),
        ("model.d_model", "100000000", "weights"),
        ("model.d_ff", "-3", "d_ff"),
        ("train.lr", "0", "lr"),
        ("train.lr", "2.5", "lr"),
        ("train.weight_decay", "1e39", "weight_decay"),
        ("train.weight_decay", "-1", "weight_decay"),
        ("train.emotion_weight", "1e39", "emotion_weight"),
        ("train.emotion_weight", "-0.1", "emotion_weight"),
        ("train.grad_clip", "0", "grad_clip"),
        ("train.grad_clip", "1e39", "grad_clip"),
        ("train.batch_size", "0", "batch_size"),
        ("train.epochs", "0", "epochs"),
        ("train.checkpoint_every", "0", "checkpoint_every"),
        ("train.max_steps", "0", "max_steps"),
        ("train.seed", "\"seven\"", "seed"),
        ("train.lr", "null", "lr"),
    ];
    let dir = tempfile::tempdir().unwrap();
    let base: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string("configs/tiny.json").unwrap()).unwrap();
    for (i, (field, value, says)) in cases.iter().enumerate() {
        let mut cfg = base.clone();
        let (section, key) = field.split_once('.').unwrap();
        cfg[section][key] = serde_json::from_str(value).unwrap();
        let path = dir.path().join(format!("bad{i}.json"));
        std::fs::write(&path, cfg.to_string()).unwrap();
        let out = bin()
            .args([
                "train",
                "--data",
                "tests/fixtures/ed",
                "--lexicons",
                "tests/fixtures/lexicons",
            ])
            .arg("--config")
            .arg(&path)
            .arg("--out")
            .arg(dir.path().join(format!("out{i}")))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{field} = {value}: expected a clean error, got {:?}\n{stderr}",
            out.status
        );
        assert!(!stderr.contains("panicked"), "{field} = {value}: {stderr}");
        assert!(
            stderr.starts_with("Error:") && stderr.contains(says),
            "{field} = {value}: the error does not name `{says}`:\n{stderr}"
        );
    }
}

#[test]
fn a_block_diffusion_model_trains_samples_and_evaluates() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string("configs/tiny.json").unwrap()).unwrap();
    cfg["model"]["block_len"] = 4.into(); // 12 reply positions = 3 blocks
    cfg["train"]["max_steps"] = 2.into();
    let path = dir.path().join("block.json");
    std::fs::write(&path, cfg.to_string()).unwrap();
    let ck = dir.path().join("block");
    bin()
        .args([
            "train",
            "--data",
            "tests/fixtures/ed",
            "--lexicons",
            "tests/fixtures/lexicons",
        ])
        .arg("--config")
        .arg(&path)
        .arg("--out")
        .arg(&ck)
        .assert()
        .success();
    let out = bin()
        .args(["sample", "--json", "--steps", "6", "--checkpoint"])
        .arg(&ck)
        .arg("I lost my keys.")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
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
