//! Nothing lost: no command writes onto the checkpoint it reads or onto what is not a regular file, eval checks its
//! outputs first, damaged or swapped checkpoint files are named at load, sizes that would only allocate are
//! refused, and a load error is printed once.

mod common;

use assert_cmd::Command;
use common::cli::shipped;

fn bin() -> Command {
    Command::cargo_bin("reflectdiffu").unwrap()
}

/// A copy of the shipped checkpoint's files in a fresh folder (the test may damage it).
fn shipped_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir("checkpoints/default").unwrap().flatten() {
        if e.file_type().unwrap().is_file() {
            std::fs::copy(e.path(), dir.path().join(e.file_name())).unwrap();
        }
    }
    dir
}

fn sample_from(dir: &std::path::Path) -> std::process::Output {
    bin()
        .args(["sample", "--steps", "2", "--checkpoint"])
        .arg(dir)
        .arg("My dog died.")
        .output()
        .unwrap()
}

#[test]
fn no_command_writes_onto_the_checkpoint_it_reads_or_onto_what_is_not_a_file() {
    let ckpt = shipped_copy();
    let weights = std::fs::read(ckpt.path().join("model.bpk")).unwrap();
    let config = std::fs::read(ckpt.path().join("config.json")).unwrap();
    for (format, target) in [
        ("burnpack-f16", "model.bpk"),
        ("safetensors", "model.bpk"),
        ("lexical-f16", "config.json"),
    ] {
        let out = bin()
            .args(["export", "--format", format, "--checkpoint"])
            .arg(ckpt.path())
            .arg("--out")
            .arg(ckpt.path().join(target))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{format} onto {target}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("a file of the checkpoint being read"), "{err}");
    }
    assert_eq!(
        std::fs::read(ckpt.path().join("model.bpk")).unwrap(),
        weights
    );
    assert_eq!(
        std::fs::read(ckpt.path().join("config.json")).unwrap(),
        config
    );
    assert!(sample_from(ckpt.path()).status.success());

    // a named pipe and a device are refused, not replaced
    let scratch = tempfile::tempdir().unwrap();
    let fifo = scratch.path().join("pipe");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    for target in [fifo.clone(), "/dev/null".into()] {
        let out = bin()
            .args(["export", "--format", "burnpack-f16", "--out"])
            .arg(&target)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&out.stderr).contains("not a regular file"));
    }
    use std::os::unix::fs::FileTypeExt;
    assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());

    // a symlink is followed, the link kept, and every export gets mode 0644
    use std::os::unix::fs::PermissionsExt;
    let real = scratch.path().join("real.bpk");
    std::fs::write(&real, b"old").unwrap();
    let link = scratch.path().join("link.bpk");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let lex = scratch.path().join("lex.bin");
    for (format, out) in [("burnpack-f16", &link), ("lexical-f16", &lex)] {
        bin()
            .args(["export", "--format", format, "--out"])
            .arg(out)
            .assert()
            .success();
    }
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(std::fs::metadata(&real).unwrap().len() > 1000);
    for f in [&real, &lex] {
        assert_eq!(
            std::fs::metadata(f).unwrap().permissions().mode() & 0o777,
            0o644
        );
    }
}

#[test]
fn eval_checks_its_outputs_before_writing_any_reply() {
    let scratch = tempfile::tempdir().unwrap();
    for out in [
        scratch.path().join("missing/report.json"),
        scratch.path().to_path_buf(),
    ] {
        let started = bin()
            .args([
                "eval",
                "--data",
                "tests/fixtures/ed",
                "--limit",
                "2",
                "--steps",
                "2",
                "--out",
            ])
            .arg(&out)
            .output()
            .unwrap();
        assert_eq!(started.status.code(), Some(1), "{}", out.display());
        let err = String::from_utf8_lossy(&started.stderr);
        assert!(
            err.contains("cannot write into") || err.contains("a folder"),
            "{err}"
        );
        assert!(!err.contains("replies"), "failed before any reply: {err}");
    }
    // a run that works leaves the replies and no partial file
    let report = scratch.path().join("r.json");
    bin()
        .args([
            "eval",
            "--data",
            "tests/fixtures/ed",
            "--limit",
            "3",
            "--steps",
            "2",
            "--out",
        ])
        .arg(&report)
        .assert()
        .success();
    let replies = std::fs::read_to_string(scratch.path().join("r.replies.jsonl")).unwrap();
    assert_eq!(replies.lines().count(), 3);
    assert!(!scratch.path().join("r.replies.jsonl.partial").exists());
}

#[test]
fn a_damaged_or_swapped_checkpoint_file_is_named_at_load() {
    // 4 KB of 0xFF in the weights: NaN weights, refused with or without checksums
    for sealed in [true, false] {
        let ckpt = shipped_copy();
        if !sealed {
            std::fs::remove_file(ckpt.path().join("checksums.json")).unwrap();
        }
        let path = ckpt.path().join("model.bpk");
        let mut bytes = std::fs::read(&path).unwrap();
        let at = bytes.len() / 2;
        bytes[at..at + 4096].fill(0xFF);
        std::fs::write(&path, bytes).unwrap();
        let out = sample_from(ckpt.path());
        assert_eq!(out.status.code(), Some(1));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("model.bpk"), "{err}");
    }
    // a tokenizer with two ids swapped: same size, different content
    let ckpt = shipped_copy();
    let path = ckpt.path().join("tokenizer.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let swapped = text
        .replacen("\"the\":", "\"@@A@@\":", 1)
        .replacen("\"and\":", "\"the\":", 1)
        .replacen("\"@@A@@\":", "\"and\":", 1);
    assert_ne!(swapped, text);
    std::fs::write(&path, swapped).unwrap();
    let out = sample_from(ckpt.path());
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("tokenizer.json") && err.contains("checkpoint seal"),
        "{err}"
    );
    // …and `checkpoint verify` says the same; the shipped checkpoint itself verifies
    bin()
        .args(["checkpoint", "verify"])
        .arg(ckpt.path())
        .assert()
        .code(1);
    bin().args(["checkpoint", "verify"]).assert().success();
}

#[test]
fn sizes_and_counts_that_would_only_allocate_or_do_nothing_are_refused() {
    let scratch = tempfile::tempdir().unwrap();
    let out = bin()
        .args(["tokenizer", "train", "--vocab-size", "4000000000", "--out"])
        .arg(scratch.path().join("t.json"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("at most"));
    for cmd in [["intent", "train"], ["era", "train"]] {
        let out = bin()
            .args(cmd)
            .args(["--epochs", "0", "--out"])
            .arg(scratch.path().join("m.bin"))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{cmd:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("at least 1"));
    }
    let (ok, _, err) = shipped(&["--eos-bias", "1e30", "hello"], b"");
    assert!(!ok && err.contains("eos_bias must be"), "{err}");
    assert!(
        std::fs::read_dir(scratch.path()).unwrap().next().is_none(),
        "nothing written"
    );
}

#[test]
fn a_load_error_is_printed_once_and_a_missing_folder_is_named_as_such() {
    let (ok, _, err) = shipped(&["--checkpoint", "/nonexistent", "hi"], b"");
    assert!(
        !ok && err.contains("there is no checkpoint folder /nonexistent"),
        "{err}"
    );
    // a checkpoint whose config does not match its tokenizer: the cause once, not again as "Caused by"
    let ckpt = shipped_copy();
    let path = ckpt.path().join("config.json");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text.replace("\"vocab_size\": 6000", "\"vocab_size\": 6001"),
    )
    .unwrap();
    std::fs::remove_file(ckpt.path().join("checksums.json")).unwrap();
    let out = sample_from(ckpt.path());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert_eq!(err.matches("tokenizer has").count(), 1, "{err}");
}
