//! The training loop (hand-written, after burn's `examples/custom-training-loop`): masked-diffusion loss on the
//! reply + λ · emotion cross-entropy on the context, AdamW, warm-up + cosine learning rate, validation every
//! epoch, resumable checkpoints; optionally preceded by masked-LM pre-training of the encoder (`mlm.rs`).

mod batches;
pub mod clip;
mod config;
pub mod contrast;
mod error;
pub(crate) mod exemplars;
mod inputs;
mod label_losses;
pub mod mlm;
pub mod rl;
mod run;
mod setup;
pub mod step;
mod validation;

pub use crate::data::files::DEFAULT_LEXICON_DIR;
use crate::data::files::read_lexicon;
pub use config::{ConfigError, ReasonTags, RunConfig, TrainConfig};
pub use error::TrainError;

/// Tells glibc's allocator to keep freed memory for reuse instead of handing it back to the kernel. A training
/// step allocates and frees hundreds of tensors of 0.1–12 MB; by default glibc serves each from a fresh `mmap`
/// and unmaps it when freed, so every step pays page faults and the kernel's zeroing of the same pages again
/// (10 % of a step's samples were in the kernel). With allocations up to 32 MB kept in the heap and the heap
/// trimmed only past 1 GB free, a step at the shipped config took ~10 % less (BENCHMARKS.md, 2026-12-03).
/// Process-wide and harmless elsewhere; a no-op off glibc.
pub fn reuse_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    unsafe {
        // Both calls only set limits; they fail (return 0) on values glibc rejects, which leaves its defaults.
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
    }
}
pub(crate) use error::{Reading, Result, fail};
pub use inputs::{label_intents, read_judge};

use std::path::PathBuf;
use std::time::Instant;

use burn::prelude::*;
use serde::{Deserialize, Serialize};

use crate::checkpoint as ckpt;
use crate::data::files::{load_split, resolve_data_dir};
use crate::data::samples;
use crate::inputs::{EncodedSample, encode_sample};
use run::{Plan, Run};

pub struct TrainOptions {
    /// Required for a new run; on `--resume` the checkpoint's own config.json is used.
    pub config: Option<PathBuf>,
    pub data: Option<PathBuf>,
    pub lexicons: Option<PathBuf>,
    pub out: PathBuf,
    pub device: Device,
    pub resume: bool,
    /// Overrides `train.max_steps` (also when resuming).
    pub max_steps: Option<usize>,
    /// Overrides `train.max_minutes` (also when resuming).
    pub max_minutes: Option<f64>,
    /// Start a new run from this checkpoint's weights, tokenizer and reason tagger (sets `train.init_from`).
    pub init_from: Option<PathBuf>,
}

/// Where a run stopped; written with every checkpoint.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TrainState {
    pub epoch: usize,
    /// Optimizer steps done in `epoch`.
    pub step_in_epoch: usize,
    pub global_step: usize,
    pub wall_seconds: f64,
    pub last_valid: Option<serde_json::Value>,
    /// Sum and count of the training losses of `epoch` so far, so that an epoch's mean survives a resume.
    #[serde(default)]
    pub epoch_loss_sum: f64,
    #[serde(default)]
    pub epoch_loss_steps: usize,
    /// Length of metrics.jsonl when this state was saved; a resumed run cuts the log back to it.
    #[serde(default)]
    pub metrics_bytes: u64,
}

/// Trains (or resumes) a run into `opts.out`; returns the final state.
pub fn train(opts: TrainOptions) -> Result<TrainState> {
    let (cfg, data) = prepare(&opts)?;
    let device = opts.device.clone().autodiff();
    device.seed(cfg.train.seed);
    let (model, optim, state) = setup::starting_point(&opts.out, &cfg, opts.resume, &device)?;
    let plan = Plan::new(&cfg.train, data.train.len());
    let mut run = Run {
        opts: &opts,
        t: cfg.train.clone(),
        block: cfg.model.block(),
        step_opts: step_options(&cfg.train, cfg.model.block()),
        bar: crate::progress::Progress::new(plan.total_steps, state.global_step),
        budget: cfg.train.max_minutes.map_or(f64::INFINITY, |m| m * 60.0),
        started: Instant::now(),
        wall_before: state.wall_seconds,
        speed: (0, 0),
        data,
        plan,
        device,
        optim,
        state,
    };
    let model = run.epochs(model)?;
    run.bar.finish();
    run.write_meta(&model)?;
    ckpt::seal(&opts.out)?;
    Ok(run.state)
}

/// A run's samples, encoded, and what it was read from.
pub(super) struct RunData {
    dir: PathBuf,
    train: Vec<EncodedSample>,
    valid: Vec<EncodedSample>,
    /// The context polarity from VADER, for the polarity experts' loss (same order as `train`).
    polarity: Option<Vec<i8>>,
}

/// The run's config (the file's, or the checkpoint's on resume, with the command line's overrides) and its data:
/// splits read, tokenizer and reason tagger trained or read back, intents labelled, samples encoded.
fn prepare(opts: &TrainOptions) -> Result<(RunConfig, RunData)> {
    let mut cfg = setup::run_config(opts)?;
    let dir = resolve_data_dir(opts.data.as_deref())?;
    let train_convs = load_split(&dir, "train")?;
    let valid_convs = load_split(&dir, "valid")?;
    let (tokenizer, tagger) = setup::tokenizer_and_tagger(opts, &mut cfg, &train_convs)?;
    if opts.max_steps.is_some() {
        cfg.train.max_steps = opts.max_steps;
    }
    if opts.max_minutes.is_some() {
        cfg.train.max_minutes = opts.max_minutes;
    }
    if opts.max_steps.is_some() || opts.max_minutes.is_some() {
        // The overrides are checked like the config's own values (e.g. `--max-steps` must leave room after
        // `train.mlm_steps`).
        cfg.validate().map_err(|e| TrainError::Run(e.0))?;
    }
    let (t, m) = (&cfg.train, &cfg.model);
    let split = |convs: &[crate::data::Conversation], limit: Option<usize>| {
        let mut s = samples(convs, t.max_context_turns);
        s.truncate(limit.unwrap_or(usize::MAX));
        s
    };
    let encode = |s: &[crate::data::Sample]| -> Result<Vec<EncodedSample>> {
        Ok(s.iter()
            .map(|s| encode_sample(&tokenizer, &tagger, s, m))
            .collect::<Result<_, _>>()?)
    };
    let mut train_samples = split(&train_convs, t.train_samples);
    let mut valid_samples = split(&valid_convs, t.valid_samples);
    if let Some(labels) = &t.intent_labels {
        let judge = t.intent_judge.as_deref().map(read_judge).transpose()?;
        label_intents(
            labels,
            judge.as_ref(),
            &mut [
                ("train", &mut train_samples, &train_convs),
                ("valid", &mut valid_samples, &valid_convs),
            ],
        )?;
    }
    let train = encode(&train_samples)?;
    let unlabelled = train_samples
        .iter()
        .filter(|s| s.emotion >= crate::data::EMOTIONS.len())
        .count();
    if unlabelled == train_samples.len() && !train_samples.is_empty() {
        eprintln!(
            "the training data has no emotion labels: the emotion head is not trained (its loss is left out) and \
             the decoder is conditioned on the emotion the encoder reads"
        );
    } else if unlabelled > 0 {
        eprintln!(
            "{unlabelled} of {} training samples have no emotion label: the emotion loss leaves them out",
            train_samples.len()
        );
    }
    let polarity = if m.polarity_experts.unwrap_or(false) {
        let lexicon = read_lexicon(opts.lexicons.as_deref())?;
        let p = train_samples
            .iter()
            .map(|s| contrast::polarity(&s.context, &lexicon))
            .collect();
        Some(p)
    } else {
        None
    };
    let mut valid = encode(&valid_samples)?;
    let mut train = train;
    if m.exemplar_count() > 0 {
        exemplars::give_exemplars(
            &tokenizer,
            &train_convs,
            &cfg,
            Some(&opts.out),
            &mut [(&train_samples, &mut train), (&valid_samples, &mut valid)],
        )?;
    }
    eprintln!(
        "{} train / {} valid samples, vocab {}",
        train.len(),
        valid.len(),
        m.vocab_size
    );
    let data = RunData {
        dir,
        train,
        valid,
        polarity,
    };
    Ok((cfg, data))
}

/// The supervised step's settings from the run's `train` section.
fn step_options(t: &TrainConfig, block: usize) -> step::StepOptions {
    step::StepOptions {
        block,
        diffusion_weight: t.diffusion_weight,
        emotion_weight: t.emotion_weight,
        trim: t.length_buckets,
        contrastive_weight: t.contrastive_weight,
        contrastive_temperature: t.contrastive_temperature,
        // Runs without intents draw no dropout coins, so their corruption noise is what it always was.
        intent_dropout: if t.intent_labels.is_some() {
            t.intent_dropout
        } else {
            0.0
        },
        intent_weight: t.intent_weight,
        exemplar_dropout: t.exemplar_dropout,
        draft_rate: t.draft_rate,
    }
}
