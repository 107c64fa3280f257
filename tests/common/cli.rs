//! Helpers for the tests that run the real binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The built `reflectdiffu` binary.
pub fn reflectdiffu() -> Command {
    Command::new(env!("CARGO_BIN_EXE_reflectdiffu"))
}

/// `configs/tiny.json` with `edit` applied, written to `dir/NAME.json`.
pub fn tiny_run_config(
    dir: &Path,
    name: &str,
    edit: impl FnOnce(&mut serde_json::Value),
) -> PathBuf {
    let mut cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string("configs/tiny.json").unwrap()).unwrap();
    edit(&mut cfg);
    let path = dir.join(format!("{name}.json"));
    std::fs::write(&path, cfg.to_string()).unwrap();
    path
}

/// `reflectdiffu train` with `config` on the fixture data and lexicons, into `out` (more flags may follow).
pub fn train_cmd(config: &Path, out: &Path) -> Command {
    let mut cmd = reflectdiffu();
    cmd.args([
        "train",
        "--data",
        "tests/fixtures/ed",
        "--lexicons",
        "tests/fixtures/lexicons",
    ])
    .arg("--config")
    .arg(config)
    .arg("--out")
    .arg(out);
    cmd
}

/// The stdout of a finished command; fails the test with its stderr when the command did not succeed.
pub fn stdout_ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The numbers of the markdown table row that starts with `| name`, left to right.
pub fn table_row(table: &str, name: &str) -> Vec<f64> {
    let line = table
        .lines()
        .find(|l| l.starts_with(&format!("| {name}")))
        .unwrap_or_else(|| panic!("no row {name:?} in\n{table}"));
    line.split('|')
        .filter_map(|c| c.trim().parse().ok())
        .collect()
}

/// Runs `sample` on the shipped checkpoint and returns (success, stdout, stderr).
pub fn shipped(args: &[&str], stdin: &[u8]) -> (bool, String, String) {
    let out = assert_cmd::Command::cargo_bin("reflectdiffu")
        .unwrap()
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

/// The ED fixtures converted to a conversations file, `dir/ed.jsonl` (`data convert --from ed`).
pub fn converted_fixtures(dir: &Path) -> PathBuf {
    let out = dir.join("ed.jsonl");
    stdout_ok(
        reflectdiffu()
            .args([
                "data",
                "convert",
                "--from",
                "ed",
                "--data",
                "tests/fixtures/ed",
                "--out",
            ])
            .arg(&out)
            .output()
            .unwrap(),
    );
    out
}

/// `configs/rl.json` cut to two updates of two contexts (2 sampling steps) with `judge`, and `edit` applied,
/// written to `dir/rl.json`.
pub fn tiny_rl_config(
    dir: &Path,
    judge: &Path,
    edit: impl FnOnce(&mut serde_json::Value),
) -> PathBuf {
    let mut rl: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string("configs/rl.json").unwrap()).unwrap();
    rl["rl"]["judge"] = serde_json::json!(judge);
    rl["rl"]["steps"] = serde_json::json!(2);
    rl["rl"]["contexts"] = serde_json::json!(2);
    rl["rl"]["sample_steps"] = serde_json::json!(2);
    edit(&mut rl);
    let path = dir.join("rl.json");
    std::fs::write(&path, rl.to_string()).unwrap();
    path
}

/// `reflectdiffu train --stage rl` with `config` on the fixture data, from `from` into `out`.
pub fn rl_cmd(config: &Path, from: &Path, out: &Path) -> Output {
    reflectdiffu()
        .args([
            "train",
            "--stage",
            "rl",
            "--data",
            "tests/fixtures/ed",
            "--config",
        ])
        .arg(config)
        .arg("--from")
        .arg(from)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap()
}
