//! `reflectdiffu emotion train`: the lexical emotion reader (`crate::lexical`) for a checkpoint.

use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;

use super::DeviceArg;
use crate::checkpoint;
use crate::data::files::{load_split, resolve_data_dir};
use crate::data::samples;
use crate::lexical::{LexicalEmotion, features};
use crate::metrics::{accuracy_macro_f1, argmax};

#[derive(Subcommand, Debug)]
pub enum EmotionCommand {
    /// Train the lexical emotion reader on the train split's contexts, choose its fusion weight β on the
    /// validation split, and add it to a checkpoint (emotion_ngrams.bin, 17 MB; about a minute).
    Train {
        /// Checkpoint folder [default: checkpoints/default]
        #[arg(long)]
        checkpoint: Option<PathBuf>,
        /// Folder with train.csv, valid.csv, test.csv [default: ../shared/data/empatheticdialogues]
        #[arg(long)]
        data: Option<PathBuf>,
        /// Passes over the train split.
        #[arg(long, default_value_t = 12)]
        epochs: usize,
        /// AdaGrad learning rate.
        #[arg(long, default_value_t = 0.025)]
        lr: f32,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        #[arg(long, value_enum, default_value_t = DeviceArg::Flex)]
        device: DeviceArg,
    },
}

/// The fusion weights tried on the validation split.
const BETAS: [f32; 9] = [0.0, 2.0, 4.0, 8.0, 12.0, 16.0, 24.0, 32.0, 48.0];

pub fn run(cmd: EmotionCommand) -> anyhow::Result<()> {
    let EmotionCommand::Train {
        checkpoint: dir,
        data,
        epochs,
        lr,
        seed,
        device,
    } = cmd;
    let dir = checkpoint::resolve(dir.as_deref());
    let responder = checkpoint::load_network(&dir, &device.device()?)?;
    let cfg: serde_json::Value = checkpoint::read_json(&dir, checkpoint::CONFIG)?;
    let max_turns = cfg["train"]["max_context_turns"].as_u64().unwrap_or(6) as usize;
    let data = resolve_data_dir(data.as_deref())?;
    let train = samples(&load_split(&data, "train")?, max_turns);
    let valid = samples(&load_split(&data, "valid")?, max_turns);
    eprintln!(
        "training the lexical emotion reader on {} train contexts…",
        train.len()
    );
    let pairs: Vec<(Vec<String>, usize)> = train
        .iter()
        .map(|s| (s.context.clone(), s.emotion))
        .collect();
    let mut reader = LexicalEmotion::train(&pairs, epochs, lr, seed);

    let encoded = valid
        .iter()
        .map(|s| responder.encode_sample(s))
        .collect::<Result<Vec<_>, _>>()?;
    let encoder = responder.encoder_emotion_probs(&encoded)?;
    let gold: Vec<usize> = valid.iter().map(|s| s.emotion).collect();
    let lexical: Vec<Vec<f32>> = valid
        .iter()
        .map(|s| reader.probabilities(&features(&s.context)))
        .collect();
    let lexical_alone: Vec<usize> = lexical.iter().map(|q| argmax(q)).collect();
    println!(
        "| reader (valid, {} contexts) | emotion acc | macro-F1 |\n|---|---|---|",
        valid.len()
    );
    let (acc, f1) = accuracy_macro_f1(&gold, &lexical_alone);
    println!("| lexical alone | {acc:.2} | {f1:.2} |");
    let mut best = (f64::NEG_INFINITY, 0.0f32);
    for beta in BETAS {
        reader.weight = beta;
        let fused: Vec<usize> = encoder
            .iter()
            .zip(&lexical)
            .map(|(p, q)| {
                let mut p = p.clone();
                if beta != 0.0 {
                    reader.fuse_probabilities(&mut p, q);
                }
                argmax(&p)
            })
            .collect();
        let (acc, f1) = accuracy_macro_f1(&gold, &fused);
        let name = if beta == 0.0 {
            "encoder alone (β 0)".to_string()
        } else {
            format!("encoder + lexical, β {beta}")
        };
        println!("| {name} | {acc:.2} | {f1:.2} |");
        if acc > best.0 {
            best = (acc, beta);
        }
    }
    reader.weight = best.1;
    checkpoint::write_atomic(&dir, crate::lexical::FILE, &reader.to_bytes())
        .with_context(|| format!("cannot add the reader to {}", dir.display()))?;
    eprintln!(
        "β {} chosen on valid; reader written to {}",
        best.1,
        dir.join(crate::lexical::FILE).display()
    );
    Ok(())
}
