//! Checkpoints survive SIGKILL: a run is killed at several points (inside a generation write, right after the
//! switch of LATEST, and at an arbitrary moment), resumed each time, and must end with a loadable checkpoint, a
//! generation whose files match its manifest, no lost work beyond one checkpoint interval and a metrics log
//! without duplicate steps.

mod common;

use common::cli::{reflectdiffu, stdout_ok, tiny_run_config, train_cmd};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};

const STEPS_PER_EPOCH: usize = 6; // 24 samples, batch 4
const TOTAL_STEPS: usize = 2 * STEPS_PER_EPOCH;

fn config(dir: &Path) -> std::path::PathBuf {
    tiny_run_config(dir, "crash", |cfg| {
        let t = &mut cfg["train"];
        t["epochs"] = 2.into();
        t["max_steps"] = serde_json::Value::Null;
        t["train_samples"] = 24.into();
        t["checkpoint_every"] = 2.into();
        t["log_every"] = 1.into();
    })
}

fn start(cfg: &Path, out: &Path, resume: bool, stop_at: &str) -> Child {
    let mut cmd = train_cmd(cfg, out);
    cmd.env("REFLECTDIFFU_CHECKPOINT_HOOK", stop_at)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if resume {
        cmd.arg("--resume");
    }
    cmd.spawn().unwrap()
}

/// Reads the child's stderr until a line contains `marker`, then SIGKILLs it; returns everything read.
fn kill_at(mut child: Child, marker: &str) -> String {
    let mut seen = String::new();
    for line in BufReader::new(child.stderr.take().unwrap()).lines() {
        let line = line.unwrap();
        seen.push_str(&line);
        seen.push('\n');
        if line.contains(marker) {
            child.kill().unwrap(); // SIGKILL on Unix
            child.wait().unwrap();
            return seen;
        }
    }
    panic!("the run ended before `{marker}`:\n{seen}");
}

/// The step LATEST names, after checking that its generation is complete and matches its manifest.
fn latest_step(out: &Path) -> usize {
    let name = std::fs::read_to_string(out.join("resume/LATEST")).unwrap();
    let generation = out.join("resume").join(name.trim());
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(generation.join("state.json")).unwrap()).unwrap();
    for file in ["model.bpk", "optimizer.bpk"] {
        let len = std::fs::metadata(generation.join(file)).unwrap().len();
        assert_eq!(
            manifest["files"][file]["bytes"].as_u64(),
            Some(len),
            "{file} of {name}"
        );
    }
    let step = manifest["step"].as_u64().unwrap() as usize;
    assert_eq!(manifest["state"]["global_step"].as_u64(), Some(step as u64));
    assert!(name.starts_with(&format!("step-{step:09}")), "{name}");
    step
}

fn resumed_from(stderr: &str) -> usize {
    let line = stderr
        .lines()
        .find(|l| l.starts_with("resuming at"))
        .unwrap_or_else(|| panic!("no resume line in:\n{stderr}"));
    let done = line.split('(').nth(1).unwrap();
    done.split_whitespace().next().unwrap().parse().unwrap()
}

#[test]
fn a_killed_run_resumes_from_a_whole_generation_with_exact_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    let out = dir.path().join("run");

    // 1. Killed inside the write of the step-4 generation (weights written, optimizer and manifest not yet).
    kill_at(
        start(&cfg, &out, false, "4:model.bpk"),
        "step 4 wrote model.bpk",
    );
    assert_eq!(
        latest_step(&out),
        2,
        "LATEST moved before its generation was complete"
    );

    // 2. Resumed, then killed right after LATEST switched to step 8 (before the publish and the clean-up).
    let seen = kill_at(start(&cfg, &out, true, "8:LATEST"), "step 8 wrote LATEST");
    assert_eq!(resumed_from(&seen), 2);
    assert_eq!(latest_step(&out), 8);

    // 3. Resumed, then killed at no particular point, some time after the step-10 checkpoint.
    let seen = kill_at(start(&cfg, &out, true, ""), "step 10 wrote LATEST");
    assert_eq!(resumed_from(&seen), 8);
    let at = latest_step(&out);
    assert!((10..=TOTAL_STEPS).contains(&at), "{at}");

    // 4. Resumed to the end.
    let done = reflectdiffu()
        .args(["train", "--resume", "--data", "tests/fixtures/ed", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&done.stderr);
    assert!(done.status.success(), "{stderr}");
    assert_eq!(resumed_from(&stderr), at);
    assert_eq!(latest_step(&out), TOTAL_STEPS);
    // Only the newest generation is kept.
    let generations = std::fs::read_dir(out.join("resume"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("step-")
        })
        .count();
    assert_eq!(generations, 1);

    // Every step logged exactly once, every epoch validated exactly once.
    let metrics = std::fs::read_to_string(out.join("metrics.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> = metrics
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let steps: Vec<u64> = lines
        .iter()
        .filter(|l| l.get("loss").is_some())
        .map(|l| l["step"].as_u64().unwrap())
        .collect();
    assert_eq!(
        steps,
        (1..=TOTAL_STEPS as u64).collect::<Vec<_>>(),
        "{metrics}"
    );
    // Every step line says how fast the run trains.
    for l in lines.iter().filter(|l| l.get("loss").is_some()) {
        let (steps, tokens) = (l["steps_per_s"].as_f64(), l["tokens_per_s"].as_f64());
        assert!(
            steps.is_some_and(|v| v > 0.0) && tokens.is_some_and(|v| v > 0.0),
            "{l}"
        );
    }
    let epochs: Vec<(u64, u64)> = lines
        .iter()
        .filter(|l| l.get("valid_diffusion_loss").is_some())
        .map(|l| (l["epoch"].as_u64().unwrap(), l["step"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        epochs,
        [(1, STEPS_PER_EPOCH as u64), (2, TOTAL_STEPS as u64)],
        "{metrics}"
    );

    // The same run never stopped writes the same losses, step for step: data order, corruption, dropout and
    // optimizer state all continue across a resume.
    let straight = dir.path().join("straight");
    stdout_ok(train_cmd(&cfg, &straight).output().unwrap());
    let read = |p: &Path| -> Vec<(u64, f64)> {
        std::fs::read_to_string(p.join("metrics.jsonl"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .filter_map(|l| {
                let loss = l.get("loss").or_else(|| l.get("valid_diffusion_loss"))?;
                Some((l["step"].as_u64().unwrap(), loss.as_f64().unwrap()))
            })
            .collect()
    };
    let (resumed, uninterrupted) = (read(&out), read(&straight));
    assert_eq!(resumed.len(), uninterrupted.len());
    for ((s, a), (_, b)) in resumed.iter().zip(&uninterrupted) {
        assert!(
            (a - b).abs() <= 1e-5 * b.abs().max(1.0),
            "step {s}: {a} resumed, {b} straight"
        );
    }

    // The published weights load and answer.
    let sample = reflectdiffu()
        .args(["sample", "--steps", "2", "--checkpoint"])
        .arg(&out)
        .arg("I lost my keys.")
        .output()
        .unwrap();
    stdout_ok(sample);
}
