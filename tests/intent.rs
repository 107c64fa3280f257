//! `reflectdiffu intent`: the intent judge trained on fixtures cut from EmpatheticIntents.

mod common;

use common::cli::{reflectdiffu, stdout_ok, table_row};

const DATA: &str = "tests/fixtures/intents";

/// (replies, accuracy, macro-F1) of the row that starts with `name`.
fn row(table: &str, name: &str) -> (usize, f64, f64) {
    let v = table_row(table, name);
    (v[0] as usize, v[1], v[2])
}

#[test]
fn the_judge_trains_scores_and_classifies() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("judge.bin");
    let out = reflectdiffu()
        .args(["intent", "train", "--data", DATA, "--out"])
        .arg(&model)
        .output()
        .unwrap();
    let table = stdout_ok(out);
    let (n, acc, _) = row(&table, "lexically extended, test");
    assert_eq!(n, 9 * 8);
    // 9 intents: chance is 11 %; 40 replies per intent are enough for the intent phrases.
    assert!(acc > 40.0, "test accuracy {acc}\n{table}");
    let (manual, _, _) = row(&table, "manual annotations");
    assert_eq!(
        manual,
        8 * 6,
        "only the 8 intents of the 9 that are annotated by hand"
    );

    let out = reflectdiffu()
        .args(["intent", "eval", "--data", DATA])
        .arg(&model)
        .output()
        .unwrap();
    assert_eq!(stdout_ok(out), table);

    let out = reflectdiffu()
        .args(["intent", "classify", "--model"])
        .arg(&model)
        .arg("what happened after that?")
        .output()
        .unwrap();
    let lines: Vec<String> = stdout_ok(out).lines().map(String::from).collect();
    assert_eq!(lines.len(), 3);
    assert!(lines[0].starts_with("questioning "), "{lines:?}");

    let bad = dir.path().join("bad.bin");
    std::fs::write(&bad, b"nope").unwrap();
    let out = reflectdiffu()
        .args(["intent", "eval"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not an intent judge file"));
    let out = reflectdiffu()
        .args(["intent", "train", "--data", "no/such", "--out"])
        .arg(&model)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--data DIR"));
}

#[test]
fn ed_listener_turns_get_their_intent_labels() {
    let out = reflectdiffu()
        .args(["data", "intents", "--json", "--data", "tests/fixtures/ed"])
        .args([
            "--annotations",
            "tests/fixtures/intents/annotated",
            "--split",
            "train",
        ])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&stdout_ok(out)).unwrap();
    assert_eq!(v["annotated"], v["conversations"]);
    let with_intent = v["with_intent"].as_u64().unwrap();
    assert!(with_intent > 0 && with_intent <= v["listener_turns"].as_u64().unwrap());
    let per_intent: u64 = v["intents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["turns"].as_u64().unwrap())
        .sum();
    assert_eq!(per_intent, with_intent);
    assert_eq!(v["groups"].as_array().unwrap().len(), 5);
    // The text form says the same.
    let out = reflectdiffu()
        .args(["data", "intents", "--data", "tests/fixtures/ed"])
        .args(["--annotations", "tests/fixtures/intents/annotated"])
        .output()
        .unwrap();
    assert!(stdout_ok(out).contains(&format!("{with_intent} (")));
    let out = reflectdiffu()
        .args([
            "data",
            "intents",
            "--data",
            "tests/fixtures/ed",
            "--annotations",
            "no/such",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--annotations DIR"));
}
