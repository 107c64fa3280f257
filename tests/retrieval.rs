//! The exemplar index through the CLI: `index build` adds it to a checkpoint (and will not overwrite one without
//! --force), `sample --explain` shows the replies it finds, a damaged index is a clear error at load, and a
//! checkpoint without one loads as before.

use assert_cmd::Command;

fn bin() -> Command {
    Command::cargo_bin("reflectdiffu").unwrap()
}

/// The shipped checkpoint's model files in a fresh folder, without the lexical reader (not needed here) and
/// without its exemplar index and checksums (this test builds its own).
fn model_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for file in [
        "config.json",
        "model.bpk",
        "tokenizer.json",
        "reason_words.txt",
    ] {
        std::fs::copy(
            std::path::Path::new("checkpoints/default").join(file),
            dir.path().join(file),
        )
        .unwrap();
    }
    dir
}

fn build(dir: &std::path::Path, extra: &[&str]) -> std::process::Output {
    bin()
        .args([
            "index",
            "build",
            "--data",
            "tests/fixtures/ed",
            "--checkpoint",
        ])
        .arg(dir)
        .args(extra)
        .output()
        .unwrap()
}

fn explain(dir: &std::path::Path) -> std::process::Output {
    bin()
        .args([
            "sample",
            "--steps",
            "2",
            "--json",
            "--explain",
            "--checkpoint",
        ])
        .arg(dir)
        .arg("My dog died last week and I miss him.")
        .output()
        .unwrap()
}

fn similar(out: &std::process::Output) -> Vec<serde_json::Value> {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["explain"]["similar_replies"].as_array().unwrap().clone()
}

#[test]
fn an_index_is_built_shown_by_explain_refused_when_damaged_and_optional() {
    let ckpt = model_copy();
    let index = ckpt.path().join("exemplars.bin");

    assert!(
        similar(&explain(ckpt.path())).is_empty(),
        "no index, nothing shown"
    );

    let out = build(ckpt.path(), &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = std::fs::read(&index).unwrap();
    let shown = similar(&explain(ckpt.path()));
    assert!(!shown.is_empty() && shown.len() <= 2, "{shown:?}");
    for r in &shown {
        let s = r["similarity"].as_f64().unwrap();
        assert!(s > 0.0 && s <= 1.0 + 1e-6, "{r}");
        assert!(!r["text"].as_str().unwrap().is_empty(), "{r}");
    }

    // eval counts the replies (and references) that copy a train reply word for word, now that it has the index
    let report = ckpt.path().join("eval.json");
    let out = bin()
        .args([
            "eval",
            "--data",
            "tests/fixtures/ed",
            "--split",
            "test",
            "--limit",
            "3",
        ])
        .args(["--steps", "2", "--checkpoint"])
        .arg(ckpt.path())
        .arg("--out")
        .arg(&report)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    for key in ["train_copies", "reference_train_copies"] {
        let rate = v[key].as_f64().unwrap_or_else(|| panic!("{key}: {v}"));
        assert!((0.0..=100.0).contains(&rate), "{key} {rate}");
    }
    // The longest word run shared with the best exemplar: a mean of word counts, at most the longest reply.
    for key in ["exemplar_run", "reference_exemplar_run"] {
        let run = v[key].as_f64().unwrap_or_else(|| panic!("{key}: {v}"));
        assert!((0.0..=40.0).contains(&run), "{key} {run}");
    }
    std::fs::remove_file(&report).unwrap();
    std::fs::remove_file(ckpt.path().join("eval.replies.jsonl")).unwrap();

    let again = build(ckpt.path(), &[]);
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("--force"));
    assert_eq!(std::fs::read(&index).unwrap(), bytes, "kept as it was");
    let forced = build(ckpt.path(), &["--force"]);
    assert!(forced.status.success());
    assert_eq!(
        std::fs::read(&index).unwrap(),
        bytes,
        "the same data gives the same file"
    );

    // Damaged after sealing: the checksum check names it first; unsealed, the index's own check does.
    let mut damaged = bytes.clone();
    damaged[bytes.len() / 2] ^= 0x40;
    std::fs::write(&index, &damaged).unwrap();
    let out = explain(ckpt.path());
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("exemplars.bin"));
    std::fs::remove_file(ckpt.path().join("checksums.json")).unwrap();
    let out = explain(ckpt.path());
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("exemplars.bin") && err.contains("index build"),
        "{err}"
    );

    std::fs::remove_file(&index).unwrap();
    assert!(
        similar(&explain(ckpt.path())).is_empty(),
        "loads again without it"
    );
}
