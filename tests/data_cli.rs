//! `reflectdiffu data stats` and `tokenizer train` through the real binary.

mod common;

use assert_cmd::Command;
use common::cli::converted_fixtures;
use predicates::prelude::*;
use std::path::Path;

const FIXTURE: &str = "tests/fixtures/ed";
const SHARED: &str = "../shared/data/empatheticdialogues";

fn bin() -> Command {
    Command::cargo_bin("reflectdiffu").unwrap()
}

/// A copy of the fixture folder with `split` replaced by `contents`.
fn broken(split: &str, contents: &[u8]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for s in ["train", "valid", "test"] {
        std::fs::copy(
            Path::new(FIXTURE).join(format!("{s}.csv")),
            dir.path().join(format!("{s}.csv")),
        )
        .unwrap();
    }
    std::fs::write(dir.path().join(format!("{split}.csv")), contents).unwrap();
    dir
}

const HEADER: &str = "conv_id,utterance_idx,context,prompt,speaker_idx,utterance,selfeval,tags\n";

#[test]
fn stats_on_fixture_counts_conversations_samples_and_emotions() {
    let out = bin()
        .args(["data", "stats", "--json", "--data", FIXTURE])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["train"]["conversations"], 40);
    assert_eq!(v["valid"]["conversations"], 12);
    assert_eq!(v["test"]["conversations"], 12);
    // valid fixture: 12 conversations, 52 rows; a sample is an even utterance_idx
    let rows = std::fs::read_to_string(Path::new(FIXTURE).join("valid.csv")).unwrap();
    let even = rows
        .lines()
        .skip(1)
        .filter(|l| l.split(',').nth(1).unwrap().parse::<usize>().unwrap() % 2 == 0)
        .count();
    assert_eq!(v["valid"]["samples"], even as u64);
}

#[test]
fn stats_on_the_full_dataset_match_the_official_counts() {
    if !Path::new(SHARED).is_dir() {
        eprintln!("skipped: {SHARED} is not here");
        return;
    }
    let out = bin()
        .args(["data", "stats", "--json", "--data", SHARED])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let expect = serde_json::json!({
        "train": {"conversations": 19533, "samples": 40254, "emotions": 32, "unlabelled": 0},
        "valid": {"conversations": 2770, "samples": 5738, "emotions": 32, "unlabelled": 0},
        "test": {"conversations": 2547, "samples": 5259, "emotions": 32, "unlabelled": 0},
    });
    assert_eq!(v, expect);
}

#[test]
fn missing_folder_explains_how_to_get_the_data() {
    bin()
        .args(["data", "stats", "--data", "no/such/dir"])
        .assert()
        .failure()
        .stderr(
            predicate::str::contains("no/such/dir")
                .and(predicate::str::contains("--data"))
                .and(predicate::str::contains("download")),
        );
}

#[test]
fn wrong_column_count_names_file_and_line() {
    let d = broken(
        "valid",
        format!("{HEADER}hit:1_conv:2,1,sad,x,,hello,,\nhit:1_conv:2,2,sad,x,hello\n").as_bytes(),
    );
    bin()
        .args(["data", "stats", "--data"])
        .arg(d.path())
        .assert()
        .failure()
        .stderr(
            predicate::str::contains("valid.csv:3")
                .and(predicate::str::contains("8 comma-separated fields")),
        );
}

#[test]
fn non_integer_utterance_idx_names_file_and_line() {
    let d = broken(
        "test",
        format!("{HEADER}hit:1_conv:2,one,sad,x,,hello,,\n").as_bytes(),
    );
    bin()
        .args(["data", "stats", "--data"])
        .arg(d.path())
        .assert()
        .failure()
        .stderr(
            predicate::str::contains("test.csv:2").and(predicate::str::contains("utterance_idx")),
        );
}

#[test]
fn invalid_utf8_names_file_and_line() {
    let mut bytes = format!("{HEADER}hit:1_conv:2,1,sad,x,,hello,,\n").into_bytes();
    bytes.extend_from_slice(b"hit:1_conv:2,2,sad,x,,caf\xe9,,\n");
    let d = broken("train", &bytes);
    bin()
        .args(["data", "stats", "--data"])
        .arg(d.path())
        .assert()
        .failure()
        .stderr(predicate::str::contains("train.csv:3").and(predicate::str::contains("UTF-8")));
}

#[test]
fn empty_split_is_an_error() {
    let d = broken("valid", HEADER.as_bytes());
    bin()
        .args(["data", "stats", "--data"])
        .arg(d.path())
        .assert()
        .failure()
        .stderr(
            predicate::str::contains("valid.csv").and(predicate::str::contains("no conversations")),
        );
}

#[test]
fn tokenizer_train_writes_a_loadable_tokenizer_json() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("tokenizer.json");
    bin()
        .args([
            "tokenizer",
            "train",
            "--data",
            FIXTURE,
            "--vocab-size",
            "400",
            "--out",
        ])
        .arg(&out)
        .assert()
        .success();
    let tok =
        reflectdiffu::tokenizer::TextTokenizer::from_bytes(&std::fs::read(&out).unwrap()).unwrap();
    let enc = tok.encode("Are you fine now?").unwrap();
    assert_eq!(tok.decode(&enc.ids).unwrap(), "are you fine now?");
}

#[test]
fn ed_converted_to_a_conversations_file_reads_back_as_the_same_samples() {
    use reflectdiffu::data::conversations::read_conversations;
    use reflectdiffu::data::files::load_split;
    use reflectdiffu::data::samples;
    let dir = tempfile::tempdir().unwrap();
    let out = converted_fixtures(dir.path());
    let file = std::fs::read(&out).unwrap();
    for split in ["train", "valid", "test"] {
        let mut ed = load_split(std::path::Path::new("tests/fixtures/ed"), split).unwrap();
        // (conversations without a listener turn give no sample and are left out of the file)
        ed.retain(|c| c.turns.len() >= 2);
        let back = read_conversations(file.as_slice(), "ed.jsonl", Some(split)).unwrap();
        assert_eq!(back, ed, "{split}");
        assert_eq!(samples(&back, 6), samples(&ed, 6), "{split}");
    }
}

#[test]
fn data_stats_reads_a_conversations_file_as_it_reads_ed() {
    let dir = tempfile::tempdir().unwrap();
    let out = converted_fixtures(dir.path());
    let stats = |data: &std::path::Path| {
        let out = assert_cmd::Command::cargo_bin("reflectdiffu")
            .unwrap()
            .args(["data", "stats", "--json", "--data"])
            .arg(data)
            .assert()
            .success();
        serde_json::from_slice::<serde_json::Value>(&out.get_output().stdout).unwrap()
    };
    let (ed, file) = (
        stats(std::path::Path::new("tests/fixtures/ed")),
        stats(&out),
    );
    for split in ["train", "valid", "test"] {
        assert_eq!(ed[split]["samples"], file[split]["samples"], "{split}");
    }
}

/// A conversations file with good lines and one of each kind of bad line: without --skip-bad the first bad line
/// stops the command and is named; with it, the good conversations are read and the bad lines counted. A file
/// without a test part counts that split as empty.
#[test]
fn skip_bad_leaves_out_bad_lines_and_says_how_many() {
    let good = |split: &str| {
        format!(
            r#"{{"split": "{split}", "emotion": "afraid", "turns": [{{"speaker": "speaker", "text": "I heard a noise."}}, {{"speaker": "listener", "text": "What was it?"}}]}}"#
        )
    };
    let mut file = Vec::new();
    for line in [
        good("train"),
        "{oops".to_string(),
        r#"{"emotion": "hangry", "turns": []}"#.to_string(),
        r#"{"emotion": "afraid", "turns": [{"speaker": "speaker", "text": "alone"}]}"#.to_string(),
        good("valid"),
        format!("{{\"x\": \"{}\"}}", "y".repeat(1 << 20)),
        good("train"),
    ] {
        file.extend_from_slice(line.as_bytes());
        file.push(b'\n');
    }
    file.extend_from_slice(b"\xff\xfe\n");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mine.jsonl");
    std::fs::write(&path, &file).unwrap();

    bin()
        .args(["data", "stats", "--json", "--data"])
        .arg(&path)
        .assert()
        .failure()
        .stderr(predicate::str::contains("mine.jsonl:2: not a conversation"));

    let out = bin()
        .args(["data", "stats", "--json", "--skip-bad", "--data"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stats: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(stats["train"]["conversations"], 2);
    assert_eq!(stats["valid"]["conversations"], 1);
    assert_eq!(stats["test"]["conversations"], 0);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("left out 5 bad line(s)") && err.contains("mine.jsonl:2:"),
        "{err}"
    );
}

/// A file that names its roles its own way (ESConv's seeker / supporter) is an error that points at --roles, and
/// reads with it; a --roles value that is not NAME=speaker|listener is refused.
#[test]
fn roles_maps_a_files_own_names_for_speaker_and_listener() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("esconv.jsonl");
    std::fs::write(
        &path,
        r#"{"emotion": "anxious", "turns": [{"speaker": "seeker", "text": "I can't sleep before my exam."}, {"speaker": "supporter", "text": "That sounds stressful. What is the exam?", "intent": "questioning"}]}
"#,
    )
    .unwrap();
    bin()
        .args(["data", "stats", "--json", "--data"])
        .arg(&path)
        .assert()
        .failure()
        .stderr(
            predicate::str::contains("esconv.jsonl:1: turn 1 is `seeker`")
                .and(predicate::str::contains("--roles")),
        );
    let out = bin()
        .args([
            "data",
            "stats",
            "--json",
            "--roles",
            "seeker=speaker,supporter=listener",
            "--data",
        ])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stats: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(stats["train"]["samples"], 1);
    bin()
        .args(["data", "stats", "--roles", "seeker=helper", "--data"])
        .arg(&path)
        .assert()
        .failure()
        .stderr(predicate::str::contains("`helper` is not a role"));
}

/// Splits by file name: a folder of train.jsonl and valid.jsonl reads each file whole as its split (a `split` field
/// inside is not consulted), and the split it lacks counts as empty.
#[test]
fn a_folder_of_conversations_files_takes_each_split_from_its_file_name() {
    let dir = tempfile::tempdir().unwrap();
    let line = |split: &str| {
        format!(
            r#"{{"split": "{split}", "emotion": "proud", "turns": [{{"speaker": "speaker", "text": "I passed!"}}, {{"speaker": "listener", "text": "Well done!"}}]}}"#
        )
    };
    std::fs::write(
        dir.path().join("train.jsonl"),
        format!("{}\n{}\n", line("train"), line("valid")),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("valid.jsonl"),
        format!("{}\n", line("train")),
    )
    .unwrap();
    let out = bin()
        .args(["data", "stats", "--json", "--data"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stats: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(stats["train"]["conversations"], 2);
    assert_eq!(stats["valid"]["conversations"], 1);
    assert_eq!(stats["test"]["conversations"], 0);
}

#[test]
fn the_shipped_edos_example_reads_as_documented() {
    // docs/examples/edos/README.md: 878 / 105 / 110 conversations, 1,278 replies, no emotion labels.
    let out = bin()
        .args([
            "data",
            "stats",
            "--json",
            "--data",
            "docs/examples/edos/edos_intents.jsonl",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let count = |split: &str, key: &str| v[split][key].as_u64().unwrap();
    assert_eq!(
        [
            count("train", "conversations"),
            count("valid", "conversations"),
            count("test", "conversations")
        ],
        [878, 105, 110]
    );
    let replies: u64 = ["train", "valid", "test"]
        .iter()
        .map(|s| count(s, "samples"))
        .sum();
    assert_eq!(replies, 1278);
    assert_eq!(count("train", "emotions"), 0);
    assert_eq!(count("train", "unlabelled"), 878);
}
