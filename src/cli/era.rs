//! `reflectdiffu era train|eval|tag`: the ERA emotion-reason tagger on RECCON.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{Args, Subcommand};

use crate::present::{marked_text, segments_by};
use crate::reason::era::{EraModel, Example, Lexicon, Score, TrainOptions, evaluate};
use crate::tokenizer::TextTokenizer;

const DEFAULT_RECCON: &str = "../shared/data/reccon";
const DEFAULT_TOKENIZER: &str = "checkpoints/default/tokenizer.json";

#[derive(Subcommand, Debug)]
pub enum EraCommand {
    /// Train the tagger on RECCON train (threshold chosen on valid) and print its scores next to the lexicon rule's.
    Train {
        #[command(flatten)]
        common: EraCommon,
        /// File to write (e.g. era.bin).
        #[arg(long)]
        out: PathBuf,
        /// Leave out the lexicon features (word and context features only).
        #[arg(long)]
        no_lexicon: bool,
        /// Passes over RECCON train (2 had the best valid F1 of 1, 2, 4 and 8).
        #[arg(long, default_value_t = 2, value_parser = super::epochs)]
        epochs: usize,
        #[arg(long, default_value_t = 0)]
        seed: u64,
    },
    /// Token-level precision / recall / F1 of `<em>` on a RECCON split: the lexicon rule and the given taggers.
    Eval {
        #[command(flatten)]
        common: EraCommon,
        /// Tagger files (from `era train`).
        models: Vec<PathBuf>,
        #[arg(long, default_value = "test", value_parser = ["train", "valid", "test"])]
        split: String,
    },
    /// Print TEXT with the words the tagger marks between « and ».
    Tag {
        #[command(flatten)]
        common: EraCommon,
        /// Tagger file (from `era train`); without it, the lexicon rule.
        #[arg(long)]
        model: Option<PathBuf>,
        text: String,
    },
}

#[derive(Args, Debug)]
pub struct EraCommon {
    /// Folder with dailydialog_{train,valid,test}.json [default: ../shared/data/reccon]
    #[arg(long)]
    reccon: Option<PathBuf>,
    /// Folder with vader/vader_lexicon.txt and empath/categories.tsv [default: ../shared/data/lexicons]
    #[arg(long)]
    lexicons: Option<PathBuf>,
    /// tokenizer.json that splits text into words (only its word splitting matters) [default: the shipped one]
    #[arg(long)]
    tokenizer: Option<PathBuf>,
}

struct Inputs {
    tokenizer: TextTokenizer,
    lexicon: Lexicon,
    reccon: PathBuf,
}

fn inputs(c: &EraCommon) -> anyhow::Result<Inputs> {
    let tok_path = c
        .tokenizer
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_TOKENIZER));
    let bytes = std::fs::read(&tok_path).with_context(|| {
        format!(
            "cannot read tokenizer {} (pass --tokenizer FILE)",
            tok_path.display()
        )
    })?;
    Ok(Inputs {
        tokenizer: TextTokenizer::from_bytes(&bytes)?,
        lexicon: crate::data::files::read_lexicon(c.lexicons.as_deref())?,
        reccon: c
            .reccon
            .clone()
            .unwrap_or_else(|| PathBuf::from(DEFAULT_RECCON)),
    })
}

fn split(inp: &Inputs, name: &str) -> anyhow::Result<Vec<Example>> {
    Ok(crate::data::files::read_reccon(
        &inp.reccon,
        name,
        &inp.tokenizer,
    )?)
}

fn load_model(path: &Path) -> anyhow::Result<EraModel> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    EraModel::from_bytes(&bytes).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

fn row(name: &str, s: &Score) -> String {
    format!(
        "| {name} | {:.1} | {:.1} | {:.1} |",
        100.0 * s.precision(),
        100.0 * s.recall(),
        100.0 * s.f1()
    )
}

const HEADER: &str = "| tagger | precision % | recall % | F1 % |\n|---|---|---|---|";

fn rule_score(inp: &Inputs, set: &[Example]) -> Score {
    evaluate(set, |w| {
        w.iter().map(|x| inp.lexicon.is_emotional(x)).collect()
    })
}

pub fn run(cmd: EraCommand) -> anyhow::Result<()> {
    match cmd {
        EraCommand::Train {
            common,
            out,
            no_lexicon,
            epochs,
            seed,
        } => {
            if out.is_dir() {
                bail!(
                    "--out {} is a folder; pass a file name such as era.bin",
                    out.display()
                );
            }
            let file = crate::output::OutputFile::check_new(&out)?;
            let inp = inputs(&common)?;
            let (train, valid, test) = (
                split(&inp, "train")?,
                split(&inp, "valid")?,
                split(&inp, "test")?,
            );
            let words: usize = train.iter().map(|e| e.words.len()).sum();
            eprintln!(
                "training on {} emotional RECCON turns ({words} words)…",
                train.len()
            );
            let lexicon = (!no_lexicon).then_some(&inp.lexicon);
            let opts = TrainOptions {
                epochs,
                seed,
                ..TrainOptions::default()
            };
            let model = EraModel::train(&train, &valid, lexicon, &opts);
            file.write(&model.to_bytes())?;
            println!("{HEADER}");
            for (name, set) in [("valid", &valid), ("test", &test)] {
                let every = evaluate(set, |w| vec![true; w.len()]);
                println!("{}", row(&format!("every word, {name}"), &every));
                println!(
                    "{}",
                    row(&format!("lexicon rule, {name}"), &rule_score(&inp, set))
                );
                let s = evaluate(set, |w| model.tag(w, Some(&inp.lexicon)));
                println!("{}", row(&format!("ERA tagger, {name}"), &s));
            }
            eprintln!(
                "threshold {:.2} (best F1 on valid); tagger written to {}",
                model.threshold,
                out.display()
            );
        }
        EraCommand::Eval {
            common,
            models,
            split: name,
        } => {
            let inp = inputs(&common)?;
            let set = split(&inp, &name)?;
            println!("{HEADER}");
            println!(
                "{}",
                row("every word", &evaluate(&set, |w| vec![true; w.len()]))
            );
            println!("{}", row("lexicon rule", &rule_score(&inp, &set)));
            for path in &models {
                let model = load_model(path)?;
                let s = evaluate(&set, |w| model.tag(w, Some(&inp.lexicon)));
                println!("{}", row(&path.display().to_string(), &s));
            }
        }
        EraCommand::Tag {
            common,
            model,
            text,
        } => {
            let inp = inputs(&common)?;
            let model = model.as_deref().map(load_model).transpose()?;
            let segments = segments_by(&inp.tokenizer, &text, |words| match &model {
                Some(m) => m.tag(words, Some(&inp.lexicon)),
                None => words.iter().map(|w| inp.lexicon.is_emotional(w)).collect(),
            })?;
            println!("{}", marked_text(&segments));
        }
    }
    Ok(())
}
