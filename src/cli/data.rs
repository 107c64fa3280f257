//! `data stats` and `tokenizer train`.

use std::path::Path;

use anyhow::Context;

use crate::data::files::{SPLITS, load_split, resolve_data_dir, split_stats};
use crate::tokenizer::TextTokenizer;

pub fn stats(data: Option<&Path>, json: bool) -> anyhow::Result<()> {
    let dir = resolve_data_dir(data)?;
    let mut all = serde_json::Map::new();
    for split in SPLITS {
        all.insert(
            split.to_string(),
            serde_json::to_value(split_stats(&load_split(&dir, split)?))?,
        );
    }
    if json {
        println!("{}", serde_json::Value::Object(all));
        return Ok(());
    }
    println!(
        "{:<6} {:>13} {:>8} {:>8}",
        "split", "conversations", "samples", "emotions"
    );
    for split in SPLITS {
        let s = &all[split];
        println!(
            "{:<6} {:>13} {:>8} {:>8}",
            split, s["conversations"], s["samples"], s["emotions"]
        );
    }
    Ok(())
}

pub fn train_tokenizer(data: Option<&Path>, out: &Path, vocab_size: usize) -> anyhow::Result<()> {
    if vocab_size < 300 {
        anyhow::bail!(
            "--vocab-size must be at least 300 (256 byte symbols + special tokens), found {vocab_size}"
        );
    }
    let dir = resolve_data_dir(data)?;
    let convs = load_split(&dir, "train")?;
    let tok = TextTokenizer::train(convs.into_iter().flat_map(|c| c.turns), vocab_size)?;
    std::fs::write(out, tok.to_json()?)
        .with_context(|| format!("cannot write {}", out.display()))?;
    eprintln!(
        "wrote {} ({} tokens, trained on the train split of {})",
        out.display(),
        tok.vocab_size(),
        dir.display()
    );
    Ok(())
}

/// How often the crisis rule (`crate::safety`) fires on a split: on each sample's context as `sample` would see
/// it (the speaker's turns among the previous 6), and on each speaker turn on its own.
pub fn safety_rate(data: Option<&Path>, split: &str, json: bool) -> anyhow::Result<()> {
    use crate::safety::{assess, assess_turns};
    let dir = resolve_data_dir(data)?;
    let convs = load_split(&dir, split)?;
    let samples = crate::data::samples(&convs, 6);
    let mut phrases: std::collections::BTreeMap<String, usize> = Default::default();
    let mut hit_samples = 0;
    for s in &samples {
        if let Some(p) = assess_turns(&s.context).matched {
            hit_samples += 1;
            *phrases.entry(p).or_default() += 1;
        }
    }
    let speaker_turns: Vec<&String> = convs
        .iter()
        .flat_map(|c| c.turns.iter().step_by(2))
        .collect();
    let hit_turns = speaker_turns
        .iter()
        .filter(|t| assess(t).is_crisis())
        .count();
    let pct = |a: usize, b: usize| 100.0 * a as f64 / b.max(1) as f64;
    if json {
        println!(
            "{}",
            serde_json::json!({
                "split": split, "samples": samples.len(), "samples_triggered": hit_samples,
                "speaker_turns": speaker_turns.len(), "speaker_turns_triggered": hit_turns,
                "phrases": phrases,
            })
        );
        return Ok(());
    }
    println!(
        "{split}: {hit_samples} of {} sample contexts trigger the crisis note ({:.2} %); {hit_turns} of {} speaker turns ({:.2} %)",
        samples.len(),
        pct(hit_samples, samples.len()),
        speaker_turns.len(),
        pct(hit_turns, speaker_turns.len())
    );
    for (p, n) in &phrases {
        println!("  {n:>4}  {p}");
    }
    Ok(())
}
