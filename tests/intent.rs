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

#[test]
fn an_intent_model_trains_on_labels_chooses_intents_and_is_scored_by_the_judge() {
    use common::cli::{tiny_run_config, train_cmd};
    let dir = tempfile::tempdir().unwrap();
    let judge = dir.path().join("judge.bin");
    stdout_ok(
        reflectdiffu()
            .args(["intent", "train", "--data", DATA, "--epochs", "1", "--out"])
            .arg(&judge)
            .output()
            .unwrap(),
    );
    let config = tiny_run_config(dir.path(), "intents", |c| {
        c["model"]["intent_policy"] = serde_json::json!(true);
        c["train"]["max_steps"] = serde_json::json!(4);
        c["train"]["intent_labels"] = serde_json::json!("tests/fixtures/intents/annotated");
        c["train"]["intent_judge"] = serde_json::json!(judge);
    });
    let run = dir.path().join("run");
    let out = train_cmd(&config, &run).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{err}");
    // Every turn gets an intent: the annotation's, or the judge's where the annotation is an emotion.
    let line = err
        .lines()
        .find(|l| l.starts_with("train intents:"))
        .unwrap_or_else(|| panic!("{err}"));
    assert!(line.ends_with(", 0 unknown"), "{line}");
    assert!(!line.contains(" 0 annotated"), "{line}");
    let metrics = std::fs::read_to_string(run.join("metrics.jsonl")).unwrap();
    let last: serde_json::Value = serde_json::from_str(metrics.lines().last().unwrap()).unwrap();
    let acc = last["valid_intent_acc"].as_f64().unwrap();
    assert!((0.0..=100.0).contains(&acc), "{last}");

    let sample_with = |intent: &str, extra: &[&str]| {
        reflectdiffu()
            .args(["sample", "--json", "--explain", "--checkpoint"])
            .arg(&run)
            .args(extra)
            .args(["--intent", intent, "My dog died last week."])
            .output()
            .unwrap()
    };
    let sample = |intent: &str| sample_with(intent, &[]);
    let v: serde_json::Value = serde_json::from_str(&stdout_ok(sample("questioning"))).unwrap();
    assert_eq!(v["intent"], "questioning");
    assert_eq!(v["explain"]["intent"]["chosen"], "questioning");
    let json = |out| serde_json::from_str::<serde_json::Value>(&stdout_ok(out)).unwrap();
    let v = json(sample_with("auto", &["--intent-draw", "argmax"]));
    let policy = v["explain"]["intent"]["policy"].as_array().unwrap();
    assert_eq!(policy.len(), 3);
    assert_eq!(
        v["intent"], policy[0]["label"],
        "argmax takes the policy's best"
    );
    // A drawn intent is fixed by the seed and varies across seeds (the 4-step policy is nearly uniform).
    let drawn = |seed: &str| {
        json(sample_with(
            "auto",
            &["--intent-draw", "sample", "--seed", seed],
        ))["intent"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let seeds: Vec<String> = (0..8).map(|s| drawn(&s.to_string())).collect();
    assert_eq!(drawn("3"), seeds[3]);
    assert!(seeds.iter().any(|i| *i != seeds[0]), "{seeds:?}");
    let out = sample("hugging");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("hugging") && err.contains("consoling"),
        "{err}"
    );

    // eval --judge: the judge reads every reply; the policy chose an intent for each.
    let report = dir.path().join("eval.json");
    stdout_ok(
        reflectdiffu()
            .args([
                "eval",
                "--data",
                "tests/fixtures/ed",
                "--limit",
                "12",
                "--steps",
                "4",
            ])
            .args(["--checkpoint"])
            .arg(&run)
            .arg("--judge")
            .arg(&judge)
            .arg("--out")
            .arg(&report)
            .output()
            .unwrap(),
    );
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let i = &r["intent"];
    assert_eq!(i["chosen"], 12);
    let acc = i["accuracy"].as_f64().unwrap();
    assert!((0.0..=100.0).contains(&acc));
    for d in [
        "chosen_distribution",
        "reply_distribution",
        "reference_distribution",
    ] {
        let total: f64 = i[d]
            .as_object()
            .unwrap()
            .values()
            .map(|v| v.as_f64().unwrap())
            .sum();
        assert!((total - 100.0).abs() < 1e-6, "{d}: {total}");
    }
    // The first 12 test samples include conversations with two or more listener turns.
    let rep = i["reference_repetition"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&rep));
    let replies = std::fs::read_to_string(report.with_extension("replies.jsonl")).unwrap();
    let first: serde_json::Value = serde_json::from_str(replies.lines().next().unwrap()).unwrap();
    assert!(first["judged_intent"].is_string() && first["intent"].is_string());

    // The RL stage from that checkpoint: two updates, rewards logged and drawn, a checkpoint that samples.
    let rl_config = common::cli::tiny_rl_config(dir.path(), &judge, |_| {});
    let rl_run = dir.path().join("rl-run");
    let rl_cmd =
        |from: &std::path::Path, out: &std::path::Path| common::cli::rl_cmd(&rl_config, from, out);
    let out = rl_cmd(&run, &rl_run);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let log = std::fs::read_to_string(rl_run.join("metrics.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    for l in &lines {
        for k in [
            "reward",
            "reward_intent",
            "reward_emotion",
            "reward_novelty",
            "kl",
        ] {
            assert!(l[k].as_f64().unwrap().is_finite(), "{k} in {l}");
        }
        // intent 1 + emotion 0.5 + novelty 0.5 at most.
        assert!((0.0..=2.0).contains(&l["reward"].as_f64().unwrap()));
    }
    assert!(
        std::fs::read_to_string(rl_run.join("rewards.svg"))
            .unwrap()
            .contains("<polyline")
    );
    let out = reflectdiffu()
        .args(["sample", "--json", "--checkpoint"])
        .arg(&rl_run)
        .arg("I passed my exam!")
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&stdout_ok(out)).unwrap();
    assert_ne!(v["intent"], "unknown");
    // --max-minutes stops the RL stage too (after its first update here), with a checkpoint --resume continues;
    // --lexicons, which only the supervised stage reads, is refused rather than ignored.
    let timed = dir.path().join("rl-timed");
    let mut c = reflectdiffu();
    c.args([
        "train",
        "--stage",
        "rl",
        "--data",
        "tests/fixtures/ed",
        "--max-minutes",
        "0.000001",
        "--config",
    ])
    .arg(&rl_config)
    .arg("--from")
    .arg(&run)
    .arg("--out")
    .arg(&timed);
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("--max-minutes"));
    let log = std::fs::read_to_string(timed.join("metrics.jsonl")).unwrap();
    assert_eq!(
        log.lines().count(),
        1,
        "one update, then the budget is spent"
    );
    let mut c = reflectdiffu();
    c.args([
        "train",
        "--stage",
        "rl",
        "--data",
        "tests/fixtures/ed",
        "--resume",
        "--from",
    ])
    .arg(&run)
    .arg("--out")
    .arg(&timed);
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let log = std::fs::read_to_string(timed.join("metrics.jsonl")).unwrap();
    assert_eq!(
        log.lines().count(),
        2,
        "the resumed run finishes the remaining update"
    );
    let mut c = reflectdiffu();
    c.args([
        "train",
        "--stage",
        "rl",
        "--data",
        "tests/fixtures/ed",
        "--lexicons",
        "tests/fixtures/lexicons",
    ])
    .arg("--config")
    .arg(&rl_config)
    .arg("--from")
    .arg(&run)
    .arg("--out")
    .arg(dir.path().join("rl-lex"));
    let out = c.output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--lexicons"));
    assert!(!dir.path().join("rl-lex").exists(), "nothing written");

    // A second run into the same folder is refused; a model without a policy cannot be reinforced.
    let out = rl_cmd(&run, &rl_run);
    assert_eq!(out.status.code(), Some(1));
    let plain = dir.path().join("plain");
    stdout_ok(
        train_cmd(&tiny_run_config(dir.path(), "plain", |_| {}), &plain)
            .output()
            .unwrap(),
    );
    // A model trained without intents refuses a named one (auto and unknown still answer).
    let named = |intent: &str| {
        reflectdiffu()
            .args(["sample", "--steps", "2", "--intent", intent, "--checkpoint"])
            .arg(&plain)
            .arg("I passed my exam!")
            .output()
            .unwrap()
    };
    let out = named("consoling");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("trained without intents"));
    for ok in ["auto", "unknown"] {
        stdout_ok(named(ok));
    }
    let out = rl_cmd(&plain, &dir.path().join("rl-plain"));
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no intent policy"));
    let out = reflectdiffu()
        .args(["train", "--stage", "rl", "--out"])
        .arg(dir.path().join("y"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "--stage rl needs --from");

    // Without intent labels there is nothing to learn a policy from.
    let config = tiny_run_config(dir.path(), "no-labels", |c| {
        c["model"]["intent_policy"] = serde_json::json!(true);
    });
    let out = train_cmd(&config, &dir.path().join("x")).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("train.intent_labels"));
}
