//! The training loop (hand-written, after burn's `examples/custom-training-loop`): masked-diffusion loss on the
//! reply + λ · emotion cross-entropy on the context, AdamW, warm-up + cosine learning rate, validation every
//! epoch, resumable checkpoints; optionally preceded by masked-LM pre-training of the encoder (`mlm.rs`).

mod batches;
pub mod clip;
mod config;
pub mod contrast;
mod error;
mod inputs;
pub mod mlm;
pub mod rl;
mod setup;
pub mod step;

pub use crate::data::files::DEFAULT_LEXICON_DIR;
use crate::data::files::read_lexicon;
pub use config::{ConfigError, ReasonTags, RunConfig, TrainConfig};
pub use error::TrainError;
pub(crate) use error::{Reading, Result, fail};
pub use inputs::{label_intents, read_judge};

use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::optim::{AdamWConfig, GradientsParams};
use burn::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::checkpoint as ckpt;
use crate::data::files::{load_split, resolve_data_dir};
use crate::data::samples;
use crate::inputs::{EncodedSample, encode_sample};
use crate::model::ReflectDiffu;
use crate::tokenizer::PAD;

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
struct RunData {
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
    let valid = encode(&valid_samples)?;
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
    }
}

/// How a run's steps are laid out: its length, the masked-LM pre-training (the first `mlm_steps`) and the
/// learning rate of both phases, each with its own warm-up and decay.
struct Plan {
    steps_per_epoch: usize,
    total_steps: usize,
    mlm_steps: usize,
    pretrain: step::LrSchedule,
    schedule: step::LrSchedule,
}

impl Plan {
    fn new(t: &TrainConfig, train_len: usize) -> Self {
        let steps_per_epoch = train_len.div_ceil(t.batch_size);
        let total_steps = t
            .max_steps
            .unwrap_or(usize::MAX)
            .min(steps_per_epoch * t.epochs);
        let mlm_steps = t.mlm_steps.min(total_steps);
        Self {
            steps_per_epoch,
            total_steps,
            mlm_steps,
            pretrain: step::LrSchedule {
                peak: t.lr,
                warmup: t.warmup_steps.min(mlm_steps),
                total: mlm_steps,
            },
            schedule: step::LrSchedule {
                peak: t.lr,
                warmup: t.warmup_steps,
                total: total_steps - mlm_steps,
            },
        }
    }

    fn pretraining(&self, step: usize) -> bool {
        step < self.mlm_steps
    }

    fn lr(&self, step: usize) -> f64 {
        if self.pretraining(step) {
            self.pretrain.at(step)
        } else {
            self.schedule.at(step - self.mlm_steps)
        }
    }
}

/// What one optimizer step logs.
struct StepLog {
    loss: f64,
    lr: f64,
    grad_norm: f32,
    phase: &'static str,
    /// Context and reply tokens of the batch, padding left out.
    tokens: usize,
}

/// A run in progress: everything the loop reads and changes but the model, which each step takes and gives back.
struct Run<'a> {
    opts: &'a TrainOptions,
    t: TrainConfig,
    block: usize,
    step_opts: step::StepOptions,
    data: RunData,
    plan: Plan,
    device: Device,
    optim: burn::optim::ModuleOptimizer,
    state: TrainState,
    bar: crate::progress::Progress,
    budget: f64,
    started: Instant,
    wall_before: f64,
    /// Steps and tokens trained since this process started (for steps/s and tokens/s).
    speed: (usize, usize),
}

impl Run<'_> {
    fn wall_seconds(&self) -> f64 {
        self.wall_before + self.started.elapsed().as_secs_f64()
    }

    fn out_of_time(&self) -> bool {
        self.wall_seconds() >= self.budget
    }

    /// Epochs until the run's length or its time budget is reached.
    fn epochs(&mut self, mut model: ReflectDiffu) -> Result<ReflectDiffu> {
        if self.out_of_time() {
            eprintln!(
                "the time budget (train.max_minutes) is already spent: {:.1} min trained",
                self.state.wall_seconds / 60.0
            );
        }
        while self.state.epoch < self.t.epochs
            && self.state.global_step < self.plan.total_steps
            && !self.out_of_time()
        {
            let batches = batches::epoch_batches(&self.data.train, &self.t, self.state.epoch);
            for chunk in batches.iter().skip(self.state.step_in_epoch) {
                if self.state.global_step >= self.plan.total_steps || self.out_of_time() {
                    break;
                }
                let log;
                (model, log) = self.step(model, chunk)?;
                self.state.global_step += 1;
                self.state.step_in_epoch += 1;
                if let Some(log) = log {
                    self.after_step(&model, &log)?;
                }
            }
            self.end_epoch(&model)?;
        }
        Ok(model)
    }

    /// One optimizer step on the batch of samples `chunk`; `None` for a masked-LM batch with nothing to predict.
    fn step(
        &mut self,
        model: ReflectDiffu,
        chunk: &[usize],
    ) -> Result<(ReflectDiffu, Option<StepLog>)> {
        let at = self.state.global_step;
        let batch: Vec<&EncodedSample> = chunk.iter().map(|&i| &self.data.train[i]).collect();
        // Every random draw of a step (corruption, intent dropout, dropout masks) comes from the run's seed and
        // the step number alone, so a run resumed at any step continues exactly as one never stopped.
        let step_seed = self.t.seed ^ (at as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let mut rng = StdRng::seed_from_u64(step_seed);
        crate::model::layers::seed_dropout(step_seed);
        let pretraining = self.plan.pretraining(at);
        if self.plan.mlm_steps > 0 && at == self.plan.mlm_steps {
            // Pre-training is over: the main objective starts with a fresh optimizer.
            self.optim = AdamWConfig::new()
                .with_weight_decay(self.t.weight_decay)
                .init();
        }
        let total = if pretraining {
            match mlm::loss(&model, &batch, self.t.mlm_mask_rate, &mut rng, &self.device) {
                Some(loss) => loss,
                None => return Ok((model, None)),
            }
        } else {
            let pol: Option<Vec<i8>> = self
                .data
                .polarity
                .as_ref()
                .map(|p| chunk.iter().map(|&i| p[i]).collect());
            let opts = &self.step_opts;
            step::forward(&model, &batch, pol.as_deref(), opts, &mut rng, &self.device).total
        };
        let loss = total.clone().into_scalar::<f32>() as f64;
        if !loss.is_finite() {
            fail!("loss became {loss} at step {at}; lower train.lr or raise train.warmup_steps");
        }
        let mut grads = GradientsParams::from_grads(total.backward(), &model);
        let grad_norm = clip::clip_global_norm(&model, &mut grads, self.t.grad_clip);
        if !grad_norm.is_finite() {
            fail!(
                "the gradient norm became {grad_norm} at step {at}; lower train.lr or raise train.warmup_steps \
                 (the last checkpoint is kept)"
            );
        }
        let lr = self.plan.lr(at);
        let model = self.optim.step(lr, model, grads);
        let phase = if pretraining { "mlm" } else { "main" };
        let tokens = batch
            .iter()
            .map(|b| b.ctx_ids.len() + b.reply.iter().filter(|t| **t != PAD).count())
            .sum();
        let log = StepLog {
            loss,
            lr,
            grad_norm,
            phase,
            tokens,
        };
        Ok((model, Some(log)))
    }

    /// The progress line, the metrics log and the periodic checkpoint after a step.
    fn after_step(&mut self, model: &ReflectDiffu, log: &StepLog) -> Result<()> {
        self.speed.0 += 1;
        self.speed.1 += log.tokens;
        let seconds = self.started.elapsed().as_secs_f64().max(1e-9);
        let steps_per_s = self.speed.0 as f64 / seconds;
        let tokens_per_s = self.speed.1 as f64 / seconds;
        let s = &mut self.state;
        s.epoch_loss_sum += log.loss;
        s.epoch_loss_steps += 1;
        let (epoch, phase, loss) = (s.epoch + 1, log.phase, log.loss);
        self.bar.tick(format!(
            "epoch {epoch} {phase} loss {loss:.4} · {tokens_per_s:.0} tok/s"
        ));
        let out = &self.opts.out;
        if s.global_step.is_multiple_of(self.t.log_every) {
            ckpt::append_metrics(
                out,
                &json!({"step": s.global_step, "epoch": epoch, "loss": loss,
                        "lr": log.lr, "grad_norm": log.grad_norm, "phase": phase,
                        "steps_per_s": steps_per_s, "tokens_per_s": tokens_per_s}),
            )?;
        }
        if s.global_step.is_multiple_of(self.t.checkpoint_every) {
            self.state.wall_seconds = self.wall_seconds();
            save(out, model, &self.optim, &mut self.state)?;
        }
        Ok(())
    }

    /// Validation, its log line and curves, and a checkpoint at the end of an epoch (or where the run stopped
    /// within one).
    fn end_epoch(&mut self, model: &ReflectDiffu) -> Result<()> {
        let finished_epoch = self.state.step_in_epoch >= self.plan.steps_per_epoch;
        let valid = step::validate(
            &model.valid(),
            self.block,
            self.t.diffusion_weight > 0.0,
            &self.data.valid,
            self.t.batch_size,
            &self.opts.device,
        )?;
        self.state.wall_seconds = self.wall_seconds();
        let s = &mut self.state;
        let line = json!({
            "epoch": s.epoch + 1, "step": s.global_step,
            "train_loss": s.epoch_loss_sum / s.epoch_loss_steps.max(1) as f64,
            "valid_diffusion_loss": valid.diffusion_loss, "valid_emotion_acc": valid.emotion_acc,
            "valid_emotion_macro_f1": valid.emotion_macro_f1,
            "valid_intent_acc": valid.intent_acc,
            "wall_seconds": s.wall_seconds,
        });
        self.bar
            .println(&format!("epoch {} done: {line}", s.epoch + 1));
        let out = &self.opts.out;
        ckpt::append_metrics(out, &line)?;
        ckpt::write_curves(out)?;
        s.last_valid = Some(line);
        if finished_epoch {
            s.epoch += 1;
            s.step_in_epoch = 0;
            s.epoch_loss_sum = 0.0;
            s.epoch_loss_steps = 0;
        }
        save(out, model, &self.optim, &mut self.state)
    }

    fn write_meta(&self, model: &ReflectDiffu) -> Result<()> {
        let s = &self.state;
        ckpt::write_json(
            &self.opts.out,
            ckpt::META,
            &json!({
                "data": format!("EmpatheticDialogues (official split) from {}", self.data.dir.display()),
                "train_samples": self.data.train.len(), "valid_samples": self.data.valid.len(),
                "steps": s.global_step, "epochs_completed": s.epoch,
                "wall_seconds": s.wall_seconds, "device": format!("{:?}", self.opts.device),
                "parameters": model.num_params(),
                "from": self.t.init_from.as_ref().map(|p| p.display().to_string()),
                "valid": s.last_valid,
            }),
        )?;
        Ok(())
    }
}

/// Writes one resumable generation (see `checkpoint.rs`); the metrics log is flushed first and its length
/// recorded, so a resume from this generation cuts exactly the lines written after it.
fn save(
    out: &Path,
    model: &ReflectDiffu,
    optim: &burn::optim::ModuleOptimizer,
    state: &mut TrainState,
) -> Result<()> {
    state.metrics_bytes = ckpt::sync_metrics(out)?;
    ckpt::save_generation(out, state.global_step, &model.valid(), optim, state)?;
    Ok(())
}
