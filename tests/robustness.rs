//! Bad and unusual input through the real binary: every broken config, JSONL lines that fail on their own,
//! special-token names typed by a user, a non-UTF-8 chat line, and messages about suicide or self-harm.

mod common;

use assert_cmd::Command;
use common::cli::{tiny_run_config, train_cmd};
use predicates::prelude::*;

fn bin() -> Command {
    Command::cargo_bin("reflectdiffu").unwrap()
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
    let enc = encode_context(&r.tokenizer, &r.tagger, &typed, &r.config).unwrap();
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
        ("train.mlm_steps", "1", "mlm_steps"),
        ("train.mlm_mask_rate", "1.0", "mlm_mask_rate"),
        ("train.mlm_mask_rate", "0", "mlm_mask_rate"),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (i, (field, value, says)) in cases.iter().enumerate() {
        let cfg = tiny_run_config(dir.path(), &format!("bad{i}"), |c| {
            let (section, key) = field.split_once('.').unwrap();
            c[section][key] = serde_json::from_str(value).unwrap();
        });
        let out = train_cmd(&cfg, &dir.path().join(format!("out{i}")))
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
