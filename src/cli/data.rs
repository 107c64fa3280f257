//! `data stats` and `tokenizer train`.

use std::path::Path;

use anyhow::Context;

use crate::data::DataError;
use crate::data::files::{SPLITS, load_split, resolve_data_dir, split_stats};
use crate::tokenizer::TextTokenizer;

pub fn stats(data: Option<&Path>, json: bool) -> anyhow::Result<()> {
    let dir = resolve_data_dir(data)?;
    let mut all = serde_json::Map::new();
    for split in SPLITS {
        // A conversations file need not have every split: one it lacks counts as empty.
        let convs = match load_split(&dir, split) {
            Err(DataError::NoSuchSplit { .. }) => Vec::new(),
            other => other?,
        };
        all.insert(
            split.to_string(),
            serde_json::to_value(split_stats(&convs))?,
        );
    }
    if json {
        println!("{}", serde_json::Value::Object(all));
        return Ok(());
    }
    println!(
        "{:<6} {:>13} {:>8} {:>8} {:>18}",
        "split", "conversations", "samples", "emotions", "without an emotion"
    );
    for split in SPLITS {
        let s = &all[split];
        println!(
            "{:<6} {:>13} {:>8} {:>8} {:>18}",
            split, s["conversations"], s["samples"], s["emotions"], s["unlabelled"]
        );
    }
    Ok(())
}

/// The largest `--vocab-size`: ED's train split has about 20 k distinct words, so more symbols than this only
/// allocate (4,000,000,000 asked for 283 GB and aborted).
pub const MAX_VOCAB: usize = 200_000;

/// `data convert --from ed`: every split of ED as one conversations file, each conversation with its split.
pub fn convert_ed(data: Option<&Path>, out: &Path) -> anyhow::Result<()> {
    use crate::data::conversations::ConversationLine;
    let file = crate::output::OutputFile::check_new(out)?;
    let dir = resolve_data_dir(data)?;
    let mut text = String::new();
    let (mut count, mut skipped) = (0, 0);
    for split in SPLITS {
        for c in load_split(&dir, split)? {
            // A conversation without a listener turn has no sample to give, and the format refuses it.
            if c.turns.len() < 2 {
                skipped += 1;
                continue;
            }
            text.push_str(&serde_json::to_string(
                &ConversationLine::from_conversation(&c, split),
            )?);
            text.push('\n');
            count += 1;
        }
    }
    file.write(text.as_bytes())?;
    eprintln!(
        "wrote {count} conversations to {} (left out {skipped} with no listener turn, which give no sample)",
        out.display()
    );
    Ok(())
}

pub fn train_tokenizer(data: Option<&Path>, out: &Path, vocab_size: usize) -> anyhow::Result<()> {
    if vocab_size < 300 {
        anyhow::bail!(
            "--vocab-size must be at least 300 (256 byte symbols + special tokens), found {vocab_size}"
        );
    }
    if vocab_size > MAX_VOCAB {
        anyhow::bail!(
            "--vocab-size must be at most {MAX_VOCAB} (the model's embedding grows with it), found {vocab_size}"
        );
    }
    let file = crate::output::OutputFile::check_new(out)?;
    let dir = resolve_data_dir(data)?;
    let convs = load_split(&dir, "train")?;
    let tok = TextTokenizer::train(convs.into_iter().flat_map(|c| c.turns), vocab_size)?;
    file.write(tok.to_json()?.as_bytes())?;
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
        .filter(|t| assess(t).tier != crate::safety::Tier::None)
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

/// `data crisis-eval`: recall and false alarms of the crisis rule on an evaluation set.
pub fn crisis_eval(file: Option<&Path>, json: bool) -> anyhow::Result<()> {
    use crate::safety::{EVAL_SET, evaluate, parse_eval_set};
    let text = match file {
        Some(f) => {
            std::fs::read_to_string(f).with_context(|| format!("cannot read {}", f.display()))?
        }
        None => EVAL_SET.to_string(),
    };
    let name = file.map_or_else(
        || "the built-in set".to_string(),
        |f| f.display().to_string(),
    );
    let items =
        parse_eval_set(&text).with_context(|| format!("{name} is not an evaluation set"))?;
    let report = evaluate(&items);
    if json {
        println!("{}", serde_json::to_value(&report)?);
        return Ok(());
    }
    let pct = |a: usize, b: usize| 100.0 * a as f64 / b.max(1) as f64;
    println!("{name}: {} messages", items.len());
    println!(
        "{:<32} {:>8} {:>8} {:>9} {:>10}",
        "group", "messages", "noted %", "withheld %", "right note %"
    );
    for (key, c) in &report.groups {
        println!(
            "{key:<32} {:>8} {:>8.1} {:>9.1} {:>10.1}",
            c.messages,
            pct(c.noted, c.messages),
            pct(c.withheld, c.messages),
            pct(c.right_note, c.messages)
        );
    }
    println!("(for risk and other, noted % is recall; for none, it is the false-alarm rate)");
    for (text, category) in &report.misses {
        println!("missed [{category}]: {text:?}");
    }
    for (text, matched) in &report.false_alarms {
        println!("false alarm [{matched}]: {text:?}");
    }
    Ok(())
}

/// `data intents`: how ED listener turns are covered by EmpatheticIntents' labels, their distribution, and
/// P(intent | emotion group) from the labels against DESIGN.md's prior.
pub fn intents(
    data: Option<&Path>,
    annotations: Option<&Path>,
    split: &str,
    json: bool,
) -> anyhow::Result<()> {
    let convs = load_split(&resolve_data_dir(data)?, split)?;
    let dir = annotations.map_or_else(
        || Path::new(DEFAULT_ANNOTATIONS).to_path_buf(),
        Path::to_path_buf,
    );
    let ann = crate::data::files::read_annotations(&dir).with_context(|| {
        "pass --annotations DIR: EmpatheticIntents' empatheticdialogues_annotated/".to_string()
    })?;
    let report = intent_coverage(split, &convs, &ann);
    if json {
        println!("{report}");
    } else {
        print_intent_coverage(&report);
    }
    Ok(())
}

/// The numbers of `data intents` as one JSON object.
fn intent_coverage(
    split: &str,
    convs: &[crate::data::Conversation],
    ann: &crate::intent::labels::Annotations,
) -> serde_json::Value {
    use crate::data::INTENTS;
    use crate::intent::judge::N_INTENTS;
    use crate::intent::labels::{PRIOR_GROUPS, group_of};

    let (mut matched, mut listener, mut labelled) = (0usize, 0usize, 0usize);
    let mut counts = [0usize; N_INTENTS];
    let mut by_group = vec![[0usize; N_INTENTS]; PRIOR_GROUPS.len()];
    for c in convs {
        let Some(intents) = ann.listener_intents(c) else {
            continue;
        };
        matched += 1;
        listener += intents.len();
        for i in intents.into_iter().flatten() {
            labelled += 1;
            counts[i] += 1;
            if let Some(g) = group_of(c.emotion) {
                by_group[g][i] += 1;
            }
        }
    }
    let share = |n: usize, of: usize| 100.0 * n as f64 / of.max(1) as f64;
    let groups: Vec<serde_json::Value> = by_group
        .iter()
        .zip(PRIOR_GROUPS)
        .map(|(row, (emotions, prior))| {
            let total: usize = row.iter().sum();
            let mut order: Vec<usize> = (0..N_INTENTS).collect();
            order.sort_by(|a, b| row[*b].cmp(&row[*a]));
            let top: Vec<&str> = order.iter().take(3).map(|&i| INTENTS[i]).collect();
            // Lift P(intent | group) / P(intent): what the group asks for more than the average context does.
            let lift = |i: usize| share(row[i], total) / share(counts[i], labelled).max(1e-9);
            order.sort_by(|a, b| lift(*b).total_cmp(&lift(*a)));
            let lifted: Vec<&str> = order.iter().take(3).map(|&i| INTENTS[i]).collect();
            let prior_share: f64 = prior
                .iter()
                .filter_map(|p| INTENTS.iter().position(|i| i == p))
                .map(|i| share(row[i], total))
                .sum();
            serde_json::json!({
                "emotions": emotions, "prior": prior, "data_top3": top, "data_top3_lift": lifted,
                "agree_lift": prior.iter().filter(|p| lifted.contains(p)).count(),
                "agree": prior.iter().filter(|p| top.contains(p)).count(),
                "prior_intents_share": prior_share, "turns": total,
            })
        })
        .collect();
    serde_json::json!({
        "split": split, "conversations": convs.len(), "annotated": matched,
        "listener_turns": listener, "with_intent": labelled,
        "intents": INTENTS[..N_INTENTS].iter().zip(counts).map(|(n, c)| serde_json::json!({"intent": n, "turns": c, "share": share(c, labelled)})).collect::<Vec<_>>(),
        "groups": groups,
    })
}

/// `data intents`'s markdown tables from [`intent_coverage`]'s object.
fn print_intent_coverage(r: &serde_json::Value) {
    use crate::intent::labels::PRIOR_GROUPS;
    let (listener, labelled) = (
        r["listener_turns"].as_u64().unwrap_or(0),
        r["with_intent"].as_u64().unwrap_or(0),
    );
    println!(
        "{}: {} of {} conversations annotated; {} listener turns, {} ({:.1} %) with one of the 9 intents, \
         the rest labelled with an emotion (no intent)",
        r["split"].as_str().unwrap_or_default(),
        r["annotated"],
        r["conversations"],
        listener,
        labelled,
        100.0 * labelled as f64 / listener.max(1) as f64
    );
    println!("\n| intent | turns | share % |\n|---|---|---|");
    for i in r["intents"].as_array().into_iter().flatten() {
        println!(
            "| {} | {} | {:.1} |",
            i["intent"].as_str().unwrap_or_default(),
            i["turns"],
            i["share"].as_f64().unwrap_or(0.0)
        );
    }
    println!(
        "\n| emotion group (DESIGN.md prior) | prior's intents | most frequent in the labels | shared | most over-represented (lift) | shared | labels in the prior's intents % |\n|---|---|---|---|---|---|---|"
    );
    let names = |v: &serde_json::Value| {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default()
    };
    for (g, v) in r["groups"].as_array().into_iter().flatten().enumerate() {
        println!(
            "| G{g} ({} emotions) | {} | {} | {}/3 | {} | {}/3 | {:.1} |",
            v["emotions"].as_array().map_or(0, Vec::len),
            PRIOR_GROUPS[g].1.join(", "),
            names(&v["data_top3"]),
            v["agree"],
            names(&v["data_top3_lift"]),
            v["agree_lift"],
            v["prior_intents_share"].as_f64().unwrap_or(0.0)
        );
    }
}

/// Where EmpatheticIntents' labels of all of ED are read from by default.
const DEFAULT_ANNOTATIONS: &str = "../shared/data/empatheticintents/empatheticdialogues_annotated";
