//! `reflectdiffu intent train|eval|classify`: the intent judge on EmpatheticIntents.

use std::path::{Path, PathBuf};

use anyhow::bail;
use clap::Subcommand;

use crate::data::INTENTS;
use crate::intent::judge::{IntentJudge, N_INTENTS, accuracy_macro_f1};

const DEFAULT_DATA: &str = "../shared/data/empatheticintents";

#[derive(Subcommand, Debug)]
pub enum IntentCommand {
    /// Train the judge on the lexically extended train split and score it on validation, test and the
    /// human-annotated replies.
    Train {
        /// EmpatheticIntents folder (lexically_extended_intent_data/, manual_annotations/) [default: ../shared/data/empatheticintents]
        #[arg(long)]
        data: Option<PathBuf>,
        /// File to write (e.g. judge.bin, 9.4 MB).
        #[arg(long)]
        out: PathBuf,
        /// Passes over the train split.
        #[arg(long, default_value_t = 4, value_parser = super::epochs)]
        epochs: usize,
        #[arg(long, default_value_t = 0)]
        seed: u64,
    },
    /// Score a judge on validation, test and the human-annotated replies.
    Eval {
        #[arg(long)]
        data: Option<PathBuf>,
        /// Judge file (from `intent train`).
        model: PathBuf,
    },
    /// The three most probable intents of a reply.
    Classify {
        #[arg(long)]
        model: PathBuf,
        text: String,
    },
}

fn data_dir(d: Option<PathBuf>) -> PathBuf {
    d.unwrap_or_else(|| PathBuf::from(DEFAULT_DATA))
}

fn load(path: &Path) -> anyhow::Result<IntentJudge> {
    Ok(crate::train::read_judge(path)?)
}

fn report(judge: &IntentJudge, data: &Path) -> anyhow::Result<()> {
    println!("| set | replies | accuracy % | macro-F1 % |\n|---|---|---|---|");
    let sets = [
        (
            "lexically extended, validation",
            data.join("lexically_extended_intent_data/validation"),
        ),
        (
            "lexically extended, test",
            data.join("lexically_extended_intent_data/test"),
        ),
        (
            "manual annotations (8 intents)",
            data.join("manual_annotations"),
        ),
    ];
    for (name, dir) in sets {
        let set = crate::data::files::read_intent_folder(&dir)?;
        let gold: Vec<usize> = set.iter().map(|l| l.intent).collect();
        let pred: Vec<usize> = set.iter().map(|l| judge.classify(&l.text)).collect();
        let (acc, f1) = accuracy_macro_f1(&gold, &pred);
        println!("| {name} | {} | {acc:.1} | {f1:.1} |", set.len());
    }
    Ok(())
}

pub fn run(cmd: IntentCommand) -> anyhow::Result<()> {
    match cmd {
        IntentCommand::Train {
            data,
            out,
            epochs,
            seed,
        } => {
            if out.is_dir() {
                bail!(
                    "--out {} is a folder; pass a file name such as judge.bin",
                    out.display()
                );
            }
            let file = crate::output::OutputFile::check_new(&out)?;
            let data = data_dir(data);
            let train = crate::data::files::read_intent_folder(
                &data.join("lexically_extended_intent_data/train"),
            )?;
            eprintln!("training the intent judge on {} replies…", train.len());
            let judge = IntentJudge::train(&train, epochs, seed);
            file.write(&judge.to_bytes())?;
            report(&judge, &data)?;
            eprintln!("judge written to {}", out.display());
        }
        IntentCommand::Eval { data, model } => report(&load(&model)?, &data_dir(data))?,
        IntentCommand::Classify { model, text } => {
            let p = load(&model)?.probabilities(&text);
            let mut order: Vec<usize> = (0..N_INTENTS).collect();
            order.sort_by(|a, b| p[*b].total_cmp(&p[*a]));
            for i in order.into_iter().take(3) {
                println!("{} {:.0}%", INTENTS[i], 100.0 * p[i]);
            }
        }
    }
    Ok(())
}
