//! `reflectdiffu era`: the emotion-reason tagger trained on RECCON fixtures (cut from the real files).

mod common;

use common::cli::{reflectdiffu, stdout_ok, table_row};

const RECCON: &str = "tests/fixtures/reccon";
const LEXICONS: &str = "tests/fixtures/lexicons";

fn era(args: &[&str]) -> std::process::Output {
    reflectdiffu()
        .arg("era")
        .args(args)
        .args(["--reccon", RECCON, "--lexicons", LEXICONS])
        .output()
        .unwrap()
}

/// (precision, recall, F1) of the table row that starts with `name`.
fn scores(table: &str, name: &str) -> (f64, f64, f64) {
    let v = table_row(table, name);
    (v[0], v[1], v[2])
}

#[test]
fn the_tagger_trains_beats_the_lexicon_rule_on_its_own_fixture_and_tags_text() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("era.bin");
    let model = model.to_str().unwrap();
    let table = stdout_ok(era(&["train", "--out", model]));
    let rule = scores(&table, "lexicon rule, valid");
    let tagger = scores(&table, "ERA tagger, valid");
    assert!(
        tagger.2 > rule.2,
        "tagger F1 {} vs rule {}\n{table}",
        tagger.2,
        rule.2
    );
    let every = scores(&table, "every word, test");
    assert!((every.1 - 100.0).abs() < 1e-9, "every word has full recall");

    // eval reads the file back and reproduces train's test row.
    let evaluated = stdout_ok(era(&["eval", model]));
    assert_eq!(
        scores(&evaluated, model),
        scores(&table, "ERA tagger, test"),
        "{evaluated}"
    );

    // tag: the text comes back with marks, nothing else changed.
    let text = "I was so scared when my car broke down on the highway.";
    let tagged = stdout_ok(era(&["tag", "--model", model, text]));
    assert_eq!(tagged.trim().replace(['«', '»'], ""), text);
    let rule_tagged = stdout_ok(era(&["tag", text]));
    assert!(rule_tagged.contains("«scared»"), "{rule_tagged}");

    // Files that are not what they claim are clear errors.
    let bad = dir.path().join("bad.bin");
    std::fs::write(&bad, b"not a tagger").unwrap();
    let out = era(&["eval", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not an ERA tagger file"));
    let out = reflectdiffu()
        .args(["era", "eval", "--lexicons", "tests/fixtures/lexicons"])
        .args(["--reccon", "no/such/dir"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--reccon DIR"));
}

#[test]
fn a_model_trains_with_the_era_tagger_or_no_tags_and_keeps_its_tagger() {
    use common::cli::{tiny_run_config, train_cmd};
    let dir = tempfile::tempdir().unwrap();
    let with_lexicon = dir.path().join("era_lex.bin");
    let plain = dir.path().join("era.bin");
    stdout_ok(era(&["train", "--out", with_lexicon.to_str().unwrap()]));
    stdout_ok(era(&[
        "train",
        "--no-lexicon",
        "--out",
        plain.to_str().unwrap(),
    ]));

    // A tagger that needs the lexicons cannot go into a checkpoint.
    let cfg = tiny_run_config(dir.path(), "lex", |c| {
        c["train"]["reason_tags"] = serde_json::json!({"era": with_lexicon});
    });
    let out = train_cmd(&cfg, &dir.path().join("lex")).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--no-lexicon"));

    let text = "I was so scared when my car broke down on the highway.";
    let explain = |ck: &std::path::Path| -> serde_json::Value {
        let out = reflectdiffu()
            .args([
                "sample",
                "--json",
                "--explain",
                "--steps",
                "2",
                "--checkpoint",
            ])
            .arg(ck)
            .arg(text)
            .output()
            .unwrap();
        serde_json::from_str(&stdout_ok(out)).unwrap()
    };
    let marked = |v: &serde_json::Value| -> usize {
        v["explain"]["reasons"][0]["segments"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["reason"] == true)
            .count()
    };

    let cfg = tiny_run_config(dir.path(), "era", |c| {
        c["train"]["reason_tags"] = serde_json::json!({"era": plain});
    });
    let ck = dir.path().join("era");
    stdout_ok(train_cmd(&cfg, &ck).output().unwrap());
    assert!(ck.join("reason_tagger.bin").exists() && !ck.join("reason_words.txt").exists());
    // The checkpoint's tagger is the file it was trained with: it marks what `era tag` marks.
    let tagged = stdout_ok(era(&["tag", "--model", plain.to_str().unwrap(), text]));
    assert_eq!(marked(&explain(&ck)), tagged.matches('«').count());

    let cfg = tiny_run_config(dir.path(), "none", |c| {
        c["train"]["reason_tags"] = serde_json::json!("none");
    });
    let ck = dir.path().join("none");
    stdout_ok(train_cmd(&cfg, &ck).output().unwrap());
    assert_eq!(marked(&explain(&ck)), 0);
    // Resuming keeps the tagger.
    stdout_ok(
        train_cmd(&cfg, &ck)
            .args(["--resume", "--max-steps", "2"])
            .output()
            .unwrap(),
    );
    assert_eq!(marked(&explain(&ck)), 0);
}
