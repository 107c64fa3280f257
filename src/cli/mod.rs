//! The `reflectdiffu` command line: parse, validate into options, call the library.

mod data;
mod emotion;
mod era;
mod index;
mod intent;
mod respond;
mod sampling;
mod tools;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

pub use sampling::{DeviceArg, IntentPriorArg, SamplingArgs, StrategyArg};

#[derive(Parser, Debug)]
#[command(
    name = "reflectdiffu",
    version,
    about = "Empathetic replies from an emotion-contagion encoder and a masked text-diffusion decoder"
)]
pub struct Cli {
    /// Conversations files (--data FILE.jsonl): skip a bad line (unparsable, invalid, over 1 MiB) and report how
    /// many were left out, instead of stopping at the first.
    #[arg(long, global = true)]
    pub skip_bad: bool,
    /// Conversations files: the names your file gives the two roles, e.g. `seeker=speaker,supporter=listener`
    /// (the speaker tells what happened; the model learns the listener's replies).
    #[arg(long, global = true, value_name = "NAME=ROLE,…")]
    pub roles: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Inspect the EmpatheticDialogues data.
    #[command(subcommand)]
    Data(DataCommand),
    /// Train the subword tokenizer.
    #[command(subcommand)]
    Tokenizer(TokenizerCommand),
    /// Train a model (or resume one) into a checkpoint folder.
    Train(TrainArgs),
    /// Reply to one message (or to a JSONL file of conversations).
    Sample(SampleArgs),
    /// Talk with the model; it keeps the conversation history.
    Chat(ChatArgs),
    /// Generate a reply for every sample of a split and score BLEU, Dist-n, emotion accuracy, a PPL bound.
    Eval(EvalArgs),
    /// Write a checkpoint's weights in another format (safetensors, PyTorch layout) and list its tensors.
    Export(ExportArgs),
    /// Draw the training and validation curves of one or more runs on shared axes (SVG).
    Plot(PlotArgs),
    /// The ERA emotion-reason tagger, learned from RECCON's emotion-cause spans.
    #[command(subcommand)]
    Era(era::EraCommand),
    /// The intent judge: which empathetic intent a reply carries, learned from EmpatheticIntents.
    #[command(subcommand)]
    Intent(intent::IntentCommand),
    /// The lexical emotion reader fused with the encoder's emotion (word and character n-grams of the whole
    /// context).
    #[command(subcommand)]
    Emotion(emotion::EmotionCommand),
    /// The exemplar index: the train split's listener replies keyed by their contexts, for retrieval.
    #[command(subcommand)]
    Index(index::IndexCommand),
    /// Check a checkpoint's files against its checksums, or record them after a deliberate change.
    #[command(subcommand)]
    Checkpoint(CheckpointCommand),
}

#[derive(Subcommand, Debug)]
pub enum CheckpointCommand {
    /// Check every file against checksums.json and the weights for NaN; exit 1 naming the first bad file.
    Verify {
        /// Checkpoint folder [default: checkpoints/default]
        dir: Option<PathBuf>,
    },
    /// Write checksums.json for the folder's files as they are now (after you replaced one on purpose).
    Seal { dir: PathBuf },
}

#[derive(Args, Debug)]
pub struct PlotArgs {
    /// Run folders (each with a metrics.jsonl); LABEL=DIR names a run (split at the last "="), otherwise the
    /// folder name is used.
    #[arg(required = true)]
    pub runs: Vec<String>,
    /// SVG file to write.
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ExportFormat {
    /// safetensors with PyTorch names and layout (Linear weights [out, in], LayerNorm weight/bias).
    Safetensors,
    /// burn's burnpack (like model.bpk) with f16 weights: half the size, for the web page.
    BurnpackF16,
    /// The checkpoint's lexical emotion reader (emotion_ngrams.bin) with f16 values, for the web page.
    LexicalF16,
}

#[derive(Args, Debug)]
pub struct ExportArgs {
    /// Checkpoint folder [default: checkpoints/default]
    #[arg(long)]
    pub checkpoint: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = ExportFormat::Safetensors)]
    pub format: ExportFormat,
    /// File to write (overwritten if it exists).
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(Subcommand, Debug)]
pub enum DataCommand {
    /// Conversations, samples (listener turns) and emotions per split.
    Stats {
        /// ED's folder (train.csv, valid.csv, test.csv) or a conversations file (.jsonl, see README) [default: ../shared/data/empatheticdialogues]
        #[arg(long)]
        data: Option<PathBuf>,
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Intent labels of the listener turns (EmpatheticIntents): coverage, distribution, and P(intent | emotion
    /// group) against the prior in DESIGN.md.
    Intents {
        /// ED's folder (train.csv, valid.csv, test.csv) or a conversations file (.jsonl, see README) [default: ../shared/data/empatheticdialogues]
        #[arg(long)]
        data: Option<PathBuf>,
        /// EmpatheticIntents' empatheticdialogues_annotated/ [default: ../shared/data/empatheticintents/empatheticdialogues_annotated]
        #[arg(long)]
        annotations: Option<PathBuf>,
        #[arg(long, default_value = "train", value_parser = ["train", "valid", "test"])]
        split: String,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// How often the crisis rule (suicide / self-harm note) fires on a split's contexts.
    Safety {
        /// ED's folder (train.csv, valid.csv, test.csv) or a conversations file (.jsonl, see README) [default: ../shared/data/empatheticdialogues]
        #[arg(long)]
        data: Option<PathBuf>,
        #[arg(long, default_value = "test", value_parser = ["train", "valid", "test"])]
        split: String,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Write a data set as a conversations file (JSON Lines, one conversation per line; the format is in
    /// `src/data/conversations.rs` and README's "Your own conversations").
    Convert {
        /// The data set to convert (only EmpatheticDialogues so far).
        #[arg(long, value_parser = ["ed"])]
        from: String,
        /// ED's folder (train.csv, valid.csv, test.csv) or a conversations file (.jsonl, see README) [default: ../shared/data/empatheticdialogues]
        #[arg(long)]
        data: Option<PathBuf>,
        /// The file to write; each conversation carries its split.
        #[arg(long)]
        out: PathBuf,
    },
    /// Recall and false alarms of the crisis rule on its evaluation set (crisis messages by warning-sign
    /// category and near misses), by split and category.
    CrisisEval {
        /// A set of your own in the same JSON Lines format ({"text", "expect": risk|other|none, "category",
        /// "split"}) [default: the set built into the binary, src/safety/crisis_eval.jsonl]
        #[arg(long)]
        file: Option<PathBuf>,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum TokenizerCommand {
    /// Train a byte-level BPE on the train split and write a Hugging Face tokenizer.json.
    Train {
        #[arg(long)]
        data: Option<PathBuf>,
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = 8000)]
        vocab_size: usize,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Stage {
    /// Masked-diffusion + emotion (+ intent policy) training from scratch.
    Supervised,
    /// Intent-mimicry RL from a supervised checkpoint (--from) with an intent policy.
    Rl,
}

#[derive(Args, Debug)]
pub struct TrainArgs {
    /// Run config: for the supervised stage a JSON with `model` and `train` sections (e.g. configs/default.json);
    /// for --stage rl one with an `rl` section (e.g. configs/rl.json).
    #[arg(long)]
    pub config: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = Stage::Supervised)]
    pub stage: Stage,
    /// --stage rl: the supervised checkpoint to start from and stay near. --stage supervised: fine-tune — start
    /// from this checkpoint's weights, tokenizer and reason tagger, with a fresh optimizer and the schedule of
    /// --config's `train` section (its `model` section must be the checkpoint's).
    #[arg(long, required_if_eq("stage", "rl"))]
    pub from: Option<PathBuf>,
    /// ED's folder (train.csv, valid.csv, test.csv) or a conversations file (.jsonl, see README) [default:
    /// ../shared/data/empatheticdialogues]
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Folder with vader/vader_lexicon.txt and empath/categories.tsv [default: ../shared/data/lexicons]
    #[arg(long)]
    pub lexicons: Option<PathBuf>,
    /// Checkpoint folder to write.
    #[arg(long)]
    pub out: PathBuf,
    #[arg(long, value_enum, default_value_t = DeviceArg::Flex)]
    pub device: DeviceArg,
    /// Continue from the checkpoint in --out (model, optimizer state and position).
    #[arg(long)]
    pub resume: bool,
    /// Stop after this many optimizer steps in all (overrides train.max_steps).
    #[arg(long)]
    pub max_steps: Option<usize>,
    /// Stop after this many minutes of training in all, resumes included (overrides train.max_minutes).
    #[arg(long)]
    pub max_minutes: Option<f64>,
}

#[derive(Args, Debug)]
pub struct SampleArgs {
    /// The conversation so far, oldest turn first; the last turn is yours (the speaker's).
    pub text: Vec<String>,
    /// JSONL file (or - for stdin), one {"context": ["turn", …]} per line; writes one JSON reply per line.
    #[arg(long, conflicts_with = "text")]
    pub input: Option<PathBuf>,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Also show why: the emotion top-3, in each of your turns the words the model marks as emotion reasons
    /// (between « and »), and, when the checkpoint has an exemplar index, the replies people wrote to the most
    /// similar moments of the training data (with --json, an `explain` object).
    #[arg(long)]
    pub explain: bool,
    #[command(flatten)]
    pub sampling: SamplingArgs,
}

#[derive(Args, Debug)]
pub struct EvalArgs {
    /// ED's folder (train.csv, valid.csv, test.csv) or a conversations file (.jsonl, see README) [default: ../shared/data/empatheticdialogues]
    #[arg(long)]
    pub data: Option<PathBuf>,
    #[arg(long, default_value = "test", value_parser = ["train", "valid", "test"])]
    pub split: String,
    /// Only the first N samples of the split.
    #[arg(long)]
    pub limit: Option<usize>,
    /// Report file (JSON); the replies go next to it as FILE.replies.jsonl.
    #[arg(long)]
    pub out: PathBuf,
    /// Score only the emotion read from each context (accuracy, macro-F1); no reply is written. Fast, and the
    /// way to score encoder-only runs (train.diffusion_weight 0).
    #[arg(long)]
    pub emotion_only: bool,
    /// Intent judge (from `reflectdiffu intent train`): also score the replies' intents — accuracy against the
    /// chosen intent, their distribution against the references', cross-turn repetition.
    #[arg(long)]
    pub judge: Option<PathBuf>,
    #[command(flatten)]
    pub sampling: SamplingArgs,
}

#[derive(Args, Debug)]
pub struct ChatArgs {
    #[command(flatten)]
    pub sampling: SamplingArgs,
}

/// `--epochs`: at least 1 (0 would write an untrained model as if it were trained).
pub(crate) fn epochs(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("must be at least 1: 0 epochs would write an untrained model".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    crate::data::files::set_skip_bad(cli.skip_bad);
    if let Some(roles) = &cli.roles {
        crate::data::conversations::set_role_names(roles)
            .map_err(|e| anyhow::anyhow!("--roles: {e}"))?;
    }
    match cli.command {
        Command::Data(DataCommand::Stats { data, json }) => data::stats(data.as_deref(), json),
        Command::Data(DataCommand::Intents {
            data,
            annotations,
            split,
            json,
        }) => data::intents(data.as_deref(), annotations.as_deref(), &split, json),
        Command::Data(DataCommand::Safety { data, split, json }) => {
            data::safety_rate(data.as_deref(), &split, json)
        }
        Command::Data(DataCommand::Convert { from: _, data, out }) => {
            data::convert_ed(data.as_deref(), &out)
        }
        Command::Data(DataCommand::CrisisEval { file, json }) => {
            data::crisis_eval(file.as_deref(), json)
        }
        Command::Tokenizer(TokenizerCommand::Train {
            data,
            out,
            vocab_size,
        }) => data::train_tokenizer(data.as_deref(), &out, vocab_size),
        Command::Train(a) if a.stage == Stage::Rl => {
            if a.lexicons.is_some() {
                anyhow::bail!(
                    "--lexicons is read by the supervised stage only (to build the reason tagger); the RL stage \
                     takes the tagger of --from as it is: drop --lexicons"
                );
            }
            let steps = crate::train::rl::train_rl(crate::train::rl::RlOptions {
                from: a
                    .from
                    .clone()
                    .expect("clap requires --from with --stage rl"),
                out: a.out.clone(),
                config: a.config,
                data: a.data,
                device: a.device.device()?,
                resume: a.resume,
                max_steps: a.max_steps,
                max_minutes: a.max_minutes,
            })?;
            eprintln!("{steps} RL updates; checkpoint in {}", a.out.display());
            Ok(())
        }
        Command::Train(a) => {
            if a.from.is_some() && a.resume {
                anyhow::bail!(
                    "--resume continues the run in --out (which remembers where it started); drop --from"
                );
            }
            let state = crate::train::train(crate::train::TrainOptions {
                config: a.config,
                data: a.data,
                lexicons: a.lexicons,
                out: a.out.clone(),
                device: a.device.device()?,
                resume: a.resume,
                max_steps: a.max_steps,
                max_minutes: a.max_minutes,
                init_from: a.from,
            })?;
            eprintln!(
                "trained {} steps in {:.0} s; checkpoint in {}",
                state.global_step,
                state.wall_seconds,
                a.out.display()
            );
            Ok(())
        }
        Command::Export(a) => tools::export(a),
        Command::Plot(a) => tools::plot(a),
        Command::Sample(a) => respond::sample(a),
        Command::Chat(a) => respond::chat(a),
        Command::Eval(a) => tools::eval(a),
        Command::Era(c) => era::run(c),
        Command::Intent(c) => intent::run(c),
        Command::Emotion(c) => emotion::run(c),
        Command::Index(c) => index::run(c),
        Command::Checkpoint(CheckpointCommand::Verify { dir }) => {
            let dir = crate::checkpoint::resolve(dir.as_deref());
            crate::checkpoint::load_responder(&dir, &burn::prelude::Device::flex())?;
            let sealed = dir.join(crate::checkpoint::CHECKSUMS).exists();
            println!(
                "{}: {}",
                dir.display(),
                if sealed {
                    "every file matches checksums.json; the weights are finite"
                } else {
                    "no checksums.json (an older checkpoint or a run in progress); the weights load and are finite"
                }
            );
            Ok(())
        }
        Command::Checkpoint(CheckpointCommand::Seal { dir }) => {
            crate::checkpoint::load_network(&dir, &burn::prelude::Device::flex())?;
            crate::checkpoint::seal(&dir)?;
            println!("wrote {}", dir.join(crate::checkpoint::CHECKSUMS).display());
            Ok(())
        }
    }
}
