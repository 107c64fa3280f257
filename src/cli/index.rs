//! `reflectdiffu index`: the exemplar index (`crate::retrieve`) of a checkpoint — build it, compare its keys.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::Subcommand;
use serde_json::json;

use super::DeviceArg;
use crate::checkpoint;
use crate::data::files::{load_split, resolve_data_dir};
use crate::data::{Conversation, Sample, samples};
use crate::inference::Responder;
use crate::metrics::{corpus_bleu, words};
use crate::retrieve::{self, ExemplarIndex, INDEX_FILE, KeyTurns, Neighbour, top_k};

#[derive(Subcommand, Debug)]
pub enum IndexCommand {
    /// Index the train split's listener replies by their contexts and add the index to a checkpoint
    /// (exemplars.bin, a few MB; about half a minute).
    Build {
        /// Checkpoint folder [default: checkpoints/default]
        #[arg(long)]
        checkpoint: Option<PathBuf>,
        /// ED's folder or a conversations file (.jsonl) [default: ../shared/data/empatheticdialogues]
        #[arg(long)]
        data: Option<PathBuf>,
        /// Which context turns make the key (`index eval` compares them; all turns won on valid).
        #[arg(long, value_enum, default_value_t = KeyTurns::All)]
        turns: KeyTurns,
        /// Replace the checkpoint's index when it has one.
        #[arg(long)]
        force: bool,
    },
    /// Compare retrieval keys on a held-out split: how often the neighbours carry the gold emotion, how much of
    /// the reference reply the best neighbour's reply shares, and the time per query. Writes nothing to the
    /// checkpoint.
    Eval {
        /// Checkpoint folder [default: checkpoints/default]
        #[arg(long)]
        checkpoint: Option<PathBuf>,
        /// ED's folder or a conversations file (.jsonl) [default: ../shared/data/empatheticdialogues]
        #[arg(long)]
        data: Option<PathBuf>,
        #[arg(long, default_value = "valid")]
        split: String,
        /// Queries: the split's first N samples.
        #[arg(long, default_value_t = 1000)]
        limit: usize,
        /// Neighbours per query.
        #[arg(long, default_value_t = 4)]
        k: usize,
        /// Write the table as JSON here too.
        #[arg(long)]
        out: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = DeviceArg::Flex)]
        device: DeviceArg,
    },
}

pub fn run(cmd: IndexCommand) -> anyhow::Result<()> {
    match cmd {
        IndexCommand::Build {
            checkpoint: dir,
            data,
            turns,
            force,
        } => build(dir, data, turns, force),
        IndexCommand::Eval {
            checkpoint: dir,
            data,
            split,
            limit,
            k,
            out,
            device,
        } => eval(dir, data, &split, limit, k, out, device),
    }
}

/// The conversations of one split and the context window the checkpoint was trained with.
fn split_conversations(
    dir: &std::path::Path,
    data: Option<&std::path::Path>,
    split: &str,
) -> anyhow::Result<(Vec<Conversation>, usize)> {
    let cfg: serde_json::Value = checkpoint::read_json(dir, checkpoint::CONFIG)?;
    let max_turns = cfg["train"]["max_context_turns"].as_u64().unwrap_or(6) as usize;
    let data = resolve_data_dir(data)?;
    Ok((load_split(&data, split)?, max_turns))
}

fn build(
    dir: Option<PathBuf>,
    data: Option<PathBuf>,
    turns: KeyTurns,
    force: bool,
) -> anyhow::Result<()> {
    let dir = checkpoint::resolve(dir.as_deref());
    let path = dir.join(INDEX_FILE);
    anyhow::ensure!(
        force || !path.exists(),
        "{} already exists; pass --force to replace it",
        path.display()
    );
    let responder = checkpoint::load_network(&dir, &burn::prelude::Device::flex())?;
    let (train, max_turns) = split_conversations(&dir, data.as_deref(), "train")?;
    let started = Instant::now();
    let index = retrieve::build(&responder.tokenizer, &train, max_turns, turns)?;
    let bytes = index.to_bytes()?;
    checkpoint::write_atomic(&dir, INDEX_FILE, &bytes)
        .with_context(|| format!("cannot add the index to {}", dir.display()))?;
    checkpoint::seal(&dir)?;
    eprintln!(
        "indexed {} replies in {:.1} s: {} ({:.1} MB)",
        index.len(),
        started.elapsed().as_secs_f32(),
        path.display(),
        bytes.len() as f64 / 1e6
    );
    Ok(())
}

/// One key's neighbours for every query, and the seconds all queries took.
struct Run {
    name: &'static str,
    neighbours: Vec<Vec<Neighbour>>,
    seconds: f64,
}

fn eval(
    dir: Option<PathBuf>,
    data: Option<PathBuf>,
    split: &str,
    limit: usize,
    k: usize,
    out: Option<PathBuf>,
    device: DeviceArg,
) -> anyhow::Result<()> {
    anyhow::ensure!(k > 0 && limit > 0, "--k and --limit must be positive");
    let dir = checkpoint::resolve(dir.as_deref());
    let responder = checkpoint::load_network(&dir, &device.device()?)?;
    let (train_convs, max_turns) = split_conversations(&dir, data.as_deref(), "train")?;
    let train = samples(&train_convs, max_turns);
    let mut queries = samples(
        &split_conversations(&dir, data.as_deref(), split)?.0,
        max_turns,
    );
    queries.truncate(limit);
    eprintln!(
        "{} train replies; {} {split} queries",
        train.len(),
        queries.len()
    );

    let mut sparse = Vec::new();
    for (name, turns) in [
        ("tf-idf, last turn", KeyTurns::Last),
        ("tf-idf, all turns", KeyTurns::All),
    ] {
        let index = retrieve::build(&responder.tokenizer, &train_convs, max_turns, turns)?;
        let keys = queries
            .iter()
            .map(|q| retrieve::context_key(&responder.tokenizer, &q.context, turns))
            .collect::<Result<Vec<_>, _>>()?;
        let started = Instant::now();
        let scores: Vec<Vec<f32>> = keys.iter().map(|q| index.similarities(q)).collect();
        let seconds = started.elapsed().as_secs_f64();
        sparse.push((name, index, scores, seconds));
    }
    eprintln!("encoding the train contexts for the Q key (a minute or two)…");
    let q_train = unit_rows(pooled_q(&responder, &train)?);
    let q_queries = unit_rows(pooled_q(&responder, &queries)?);
    let started = Instant::now();
    let dense: Vec<Vec<f32>> = q_queries
        .iter()
        .map(|q| q_train.iter().map(|t| dot(q, t)).collect())
        .collect();
    let dense_seconds = started.elapsed().as_secs_f64();

    let mut runs = Vec::new();
    for (name, _, scores, seconds) in &sparse {
        runs.push(Run {
            name,
            neighbours: scores.iter().map(|s| best(s, k)).collect(),
            seconds: *seconds,
        });
    }
    runs.push(Run {
        name: "encoder Q",
        neighbours: dense.iter().map(|s| best(s, k)).collect(),
        seconds: dense_seconds,
    });
    for (name, (_, _, scores, seconds)) in ["tf-idf last + Q", "tf-idf all + Q"]
        .into_iter()
        .zip(&sparse)
    {
        let fused = scores
            .iter()
            .zip(&dense)
            .map(|(s, d)| {
                best(
                    &s.iter()
                        .zip(d)
                        .map(|(a, b)| 0.5 * (a + b))
                        .collect::<Vec<_>>(),
                    k,
                )
            })
            .collect();
        runs.push(Run {
            name,
            neighbours: fused,
            seconds: seconds + dense_seconds,
        });
    }
    let index = &sparse[0].1; // every key indexes the same replies in the same order
    let table = report(&responder, index, &queries, &runs, k)?;
    if let Some(out) = out {
        crate::output::OutputFile::check_new(&out)?
            .write(serde_json::to_string_pretty(&table)?.as_bytes())?;
        eprintln!("wrote {}", out.display());
    }
    Ok(())
}

/// The `k` highest scores (ties: lower id first).
fn best(scores: &[f32], k: usize) -> Vec<Neighbour> {
    let found = scores
        .iter()
        .enumerate()
        .map(|(id, &similarity)| Neighbour { id, similarity })
        .collect();
    top_k(found, k)
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn unit_rows(rows: Vec<Vec<f32>>) -> Vec<Vec<f32>> {
    rows.into_iter()
        .map(|r| {
            let n = dot(&r, &r).sqrt().max(f32::MIN_POSITIVE);
            r.into_iter().map(|v| v / n).collect()
        })
        .collect()
}

fn pooled_q(responder: &Responder, samples: &[Sample]) -> anyhow::Result<Vec<Vec<f32>>> {
    let encoded = samples
        .iter()
        .map(|s| responder.encode_sample(s))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(responder.pooled_q(&encoded)?)
}

/// Prints the comparison as markdown and returns it as JSON.
fn report(
    responder: &Responder,
    index: &ExemplarIndex,
    queries: &[Sample],
    runs: &[Run],
    k: usize,
) -> anyhow::Result<serde_json::Value> {
    let references: Vec<Vec<String>> = queries.iter().map(|q| words(&q.reply)).collect();
    println!(
        "| key ({} queries, k = {k}) | top-1 emotion = gold % | gold emotion among top-{k} % | top-{k} vote = gold % | top-1 reply BLEU-1 | BLEU-2 | best of top-{k} unigram F1 | ms / query |\n|---|---|---|---|---|---|---|---|",
        queries.len()
    );
    let mut rows = Vec::new();
    for run in runs {
        let mut top1 = Vec::new();
        let (mut first, mut share, mut vote, mut f1) = (0usize, 0.0f64, 0usize, 0.0f64);
        for ((q, found), reference) in queries.iter().zip(&run.neighbours).zip(&references) {
            let emotions: Vec<usize> = found
                .iter()
                .map(|n| index.exemplar(n.id).emotion as usize)
                .collect();
            first += (emotions.first() == Some(&q.emotion)) as usize;
            share += emotions.iter().filter(|&&e| e == q.emotion).count() as f64 / k as f64;
            vote += (majority(&emotions) == Some(q.emotion)) as usize;
            let replies = found
                .iter()
                .map(|n| Ok(words(&responder.tokenizer.decode(index.reply(n.id))?)))
                .collect::<anyhow::Result<Vec<_>>>()?;
            f1 += replies
                .iter()
                .map(|r| unigram_f1(r, reference))
                .fold(0.0, f64::max);
            top1.push(replies.into_iter().next().unwrap_or_default());
        }
        let n = queries.len() as f64;
        let bleu = corpus_bleu(&top1, &references, 2);
        let row = json!({
            "key": run.name,
            "top1_emotion": 100.0 * first as f64 / n,
            "gold_emotion_share": 100.0 * share / n,
            "vote_emotion": 100.0 * vote as f64 / n,
            "top1_bleu1": bleu[0],
            "top1_bleu2": bleu[1],
            "best_unigram_f1": 100.0 * f1 / n,
            "ms_per_query": 1e3 * run.seconds / n,
        });
        println!(
            "| {} | {:.1} | {:.1} | {:.1} | {:.2} | {:.2} | {:.1} | {:.2} |",
            run.name,
            row["top1_emotion"].as_f64().unwrap(),
            row["gold_emotion_share"].as_f64().unwrap(),
            row["vote_emotion"].as_f64().unwrap(),
            bleu[0],
            bleu[1],
            row["best_unigram_f1"].as_f64().unwrap(),
            row["ms_per_query"].as_f64().unwrap()
        );
        rows.push(row);
    }
    Ok(json!({ "queries": queries.len(), "k": k, "exemplars": index.len(), "rows": rows }))
}

/// The most frequent label (ties: the one seen first), `None` for no labels.
fn majority(labels: &[usize]) -> Option<usize> {
    labels
        .iter()
        .max_by_key(|&&l| {
            let count = labels.iter().filter(|&&m| m == l).count();
            let first = labels.iter().position(|&m| m == l).unwrap_or(0);
            (count, std::cmp::Reverse(first))
        })
        .copied()
}

/// Unigram F1 of two word lists (clipped counts).
fn unigram_f1(a: &[String], b: &[String]) -> f64 {
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let mut rest: Vec<&String> = b.iter().collect();
    let mut matched = 0usize;
    for w in a {
        if let Some(i) = rest.iter().position(|r| *r == w) {
            rest.swap_remove(i);
            matched += 1;
        }
    }
    let (p, r) = (
        matched as f64 / a.len() as f64,
        matched as f64 / b.len() as f64,
    );
    if matched == 0 {
        0.0
    } else {
        2.0 * p * r / (p + r)
    }
}
