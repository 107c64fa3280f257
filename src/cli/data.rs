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
