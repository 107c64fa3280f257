//! `reflectdiffu emotion train`: the lexical emotion reader (`crate::emotion`) for a checkpoint.

use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;

use super::DeviceArg;
use crate::checkpoint;
use crate::data::files::{load_split, resolve_data_dir};
use crate::data::{Conversation, samples};
use crate::emotion::bag::BagSettings;
use crate::emotion::{LexicalEmotion, features, fusion};

#[derive(Subcommand, Debug)]
pub enum EmotionCommand {
    /// Train the lexical emotion reader (a TF-IDF logistic regression and a bag of embeddings) on the train
    /// split's contexts, choose its fusion weights β and γ on the validation split, and add it to a checkpoint
    /// (emotion_ngrams.bin, 26 MB; about a minute and a half).
    Train {
        /// Checkpoint folder [default: checkpoints/default]
        #[arg(long)]
        checkpoint: Option<PathBuf>,
        /// ED's folder (train.csv, valid.csv, test.csv) or a conversations file (.jsonl, see README) [default: ../shared/data/empatheticdialogues]
        #[arg(long)]
        data: Option<PathBuf>,
        /// The regression's passes over the train split.
        #[arg(long, default_value_t = 12, value_parser = super::epochs)]
        epochs: usize,
        /// The regression's AdaGrad learning rate.
        #[arg(long, default_value_t = 0.025)]
        lr: f32,
        /// Width of the bag of embeddings; 0 trains the regression alone.
        #[arg(long, default_value_t = 32)]
        bag_dim: usize,
        /// The bag's passes over the train split.
        #[arg(long, default_value_t = 5, value_parser = super::epochs)]
        bag_epochs: usize,
        /// The bag's SGD rate at the start (it decays linearly to 0).
        #[arg(long, default_value_t = 0.3)]
        bag_lr: f32,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Also learn from each conversation's written situation (ED's `prompt`, labelled with the same emotion)
        /// as a one-turn context. Training only: sampling and eval never see situations.
        #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
        situations: bool,
        /// Once β and γ are chosen on valid, train the reader again on train + valid with the same settings and
        /// weights (the valid table describes the reader trained on train alone).
        #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
        refit_with_valid: bool,
        #[arg(long, value_enum, default_value_t = DeviceArg::Flex)]
        device: DeviceArg,
    },
}

pub fn run(cmd: EmotionCommand) -> anyhow::Result<()> {
    let EmotionCommand::Train {
        checkpoint: dir,
        data,
        epochs,
        lr,
        bag_dim,
        bag_epochs,
        bag_lr,
        seed,
        situations,
        refit_with_valid,
        device,
    } = cmd;
    anyhow::ensure!(
        epochs > 0 && lr > 0.0 && (bag_dim == 0 || (bag_epochs > 0 && bag_lr > 0.0)),
        "--epochs, --lr, --bag-epochs and --bag-lr must be positive (--bag-dim 0 turns the bag off)"
    );
    let bag = (bag_dim > 0).then_some(BagSettings {
        dim: bag_dim,
        epochs: bag_epochs,
        lr: bag_lr,
    });
    let dir = checkpoint::resolve(dir.as_deref());
    let responder = checkpoint::load_network(&dir, &device.device()?)?;
    let cfg: serde_json::Value = checkpoint::read_json(&dir, checkpoint::CONFIG)?;
    let max_turns = cfg["train"]["max_context_turns"].as_u64().unwrap_or(6) as usize;
    let data = resolve_data_dir(data.as_deref())?;
    let (train_convs, valid_convs) = (load_split(&data, "train")?, load_split(&data, "valid")?);
    let pairs = |convs: &[Conversation]| labelled_contexts(convs, max_turns, situations);
    let train = pairs(&train_convs);
    let valid_labelled = valid_convs
        .iter()
        .any(|c| c.emotion < crate::data::EMOTIONS.len());
    anyhow::ensure!(
        !train.is_empty() && valid_labelled,
        "the data has no emotion labels in its {} split, so there is nothing to train the lexical emotion reader on \
         (it learns the conversations' `emotion`); the model reads emotions without it",
        if train.is_empty() { "train" } else { "valid" }
    );
    eprintln!(
        "training the lexical emotion reader on {} train contexts{}…",
        train.len(),
        if situations { " and situations" } else { "" }
    );
    let started = std::time::Instant::now();
    let mut reader = LexicalEmotion::train(&train, epochs, lr, bag, seed);
    eprintln!(
        "trained in {:.0} s; scoring valid…",
        started.elapsed().as_secs_f32()
    );
    // (the valid samples with a label: the fusion weights are chosen on them)
    let valid: Vec<_> = samples(&valid_convs, max_turns)
        .into_iter()
        .filter(|s| s.emotion < crate::data::EMOTIONS.len())
        .collect();
    let encoded = valid
        .iter()
        .map(|s| responder.encode_sample(s))
        .collect::<Result<Vec<_>, _>>()?;
    let feats: Vec<_> = valid.iter().map(|s| features(&s.context)).collect();
    let readings = fusion::Readings {
        encoder: responder.encoder_emotion_probs(&encoded)?,
        regression: feats.iter().map(|f| reader.probabilities(f)).collect(),
        bags: feats.iter().map(|f| reader.bag_probabilities(f)).collect(),
        gold: valid.iter().map(|s| s.emotion).collect(),
    };
    let grid = fusion::fit(&mut reader, &readings);
    print_tables(&readings, &grid);
    let (_, beta, gamma) = grid.best;
    if refit_with_valid {
        let mut all = train;
        all.extend(pairs(&valid_convs));
        eprintln!(
            "training again on {} train + valid contexts (as long as the first fit)…",
            all.len()
        );
        reader = LexicalEmotion::train(&all, epochs, lr, bag, seed);
    }
    (reader.weight, reader.bag_weight) = (beta, gamma);
    checkpoint::write_atomic(&dir, crate::emotion::FILE, &reader.to_bytes())
        .with_context(|| format!("cannot add the reader to {}", dir.display()))?;
    checkpoint::seal(&dir)?;
    eprintln!(
        "reader written to {}",
        dir.join(crate::emotion::FILE).display()
    );
    Ok(())
}

/// Every sample's context with its emotion and, with `situations`, each conversation's written situation as a
/// one-turn context.
fn labelled_contexts(
    convs: &[Conversation],
    max_turns: usize,
    situations: bool,
) -> Vec<(Vec<String>, usize)> {
    let known = |e: &usize| *e < crate::data::EMOTIONS.len();
    let mut out: Vec<(Vec<String>, usize)> = samples(convs, max_turns)
        .into_iter()
        .filter(|s| known(&s.emotion))
        .map(|s| (s.context, s.emotion))
        .collect();
    if situations {
        out.extend(
            convs
                .iter()
                .filter(|c| known(&c.emotion))
                .map(|c| (vec![c.situation.clone()], c.emotion)),
        );
    }
    out
}

/// The readers alone, then the fusion grid and the chosen weights, as markdown.
fn print_tables(r: &fusion::Readings, grid: &fusion::FusionGrid) {
    println!(
        "| reader (valid, {} contexts) | emotion acc | macro-F1 |\n|---|---|---|",
        r.gold.len()
    );
    let alone = |name: &str, probs: &[Vec<f32>]| {
        let (acc, f1) = r.alone(probs);
        println!("| {name} | {acc:.2} | {f1:.2} |");
    };
    alone("encoder alone", &r.encoder);
    alone("regression alone", &r.regression);
    if let Some(bags) = &r.bags {
        alone("bag of embeddings alone", bags);
    }
    println!(
        "\nencoder + regression · β + bag · γ, valid emotion acc %\n\n| β \\ γ |{}\n|---|{}",
        grid.gammas
            .iter()
            .map(|g| format!(" {g} |"))
            .collect::<String>(),
        "---|".repeat(grid.gammas.len())
    );
    for (beta, accs) in grid.betas.iter().zip(&grid.acc) {
        let cells: String = accs.iter().map(|a| format!(" {a:.2} |")).collect();
        println!("| {beta} |{cells}");
    }
    let (acc, beta, gamma) = grid.best;
    println!("\nchosen: β {beta}, γ {gamma} ({acc:.2} %)");
}
