//! `reflectdiffu era`: the emotion-reason tagger trained on RECCON fixtures (cut from the real files).

mod common;

use common::cli::{reflectdiffu, stdout_ok};

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
    let line = table
        .lines()
        .find(|l| l.starts_with(&format!("| {name}")))
        .unwrap_or_else(|| panic!("no row {name:?} in\n{table}"));
    let v: Vec<f64> = line
        .split('|')
        .filter_map(|c| c.trim().parse().ok())
        .collect();
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
        .args(["era", "eval", "--reccon", "no/such/dir"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--reccon DIR"));
}
