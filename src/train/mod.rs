//! The training loop (hand-written, after burn's `examples/custom-training-loop`): masked-diffusion loss on the
//! reply + λ · emotion cross-entropy on the context, AdamW, warm-up + cosine learning rate, validation every
//! epoch, resumable checkpoints; optionally preceded by masked-LM pre-training of the encoder (`mlm.rs`).

mod batches;
pub mod clip;
mod config;
pub mod contrast;
mod inputs;
pub mod mlm;
pub mod rl;
mod setup;
pub mod step;

pub use config::{ConfigError, ReasonTags, RunConfig, TrainConfig};
pub use inputs::{label_intents, read_annotations, read_judge, read_lexicon};

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::bail;
use burn::optim::{AdamWConfig, GradientsParams};
use burn::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::checkpoint as ckpt;
use crate::data::files::{load_split, resolve_data_dir};
use crate::data::samples;
use crate::model::{EncodedSample, encode_sample};

/// Where the Empath and VADER lexicons are read from when the run starts.
pub const DEFAULT_LEXICON_DIR: &str = "../shared/data/lexicons";

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
pub fn train(opts: TrainOptions) -> anyhow::Result<TrainState> {
    let out = &opts.out;
    let resuming = opts.resume;
    let mut cfg = setup::run_config(&opts)?;

    let data_dir = resolve_data_dir(opts.data.as_deref())?;
    let train_convs = load_split(&data_dir, "train")?;
    let valid_convs = load_split(&data_dir, "valid")?;

    let (tokenizer, tagger) = setup::tokenizer_and_tagger(&opts, &mut cfg, &train_convs)?;
    if opts.max_steps.is_some() {
        cfg.train.max_steps = opts.max_steps;
    }
    if opts.max_minutes.is_some() {
        cfg.train.max_minutes = opts.max_minutes;
    }
    if opts.max_steps.is_some() || opts.max_minutes.is_some() {
        // The overrides are checked like the config's own values (e.g. `--max-steps` must leave room after
        // `train.mlm_steps`).
        cfg.validate().map_err(anyhow::Error::msg)?;
    }
    let t = cfg.train.clone();
    let m = &cfg.model;
    let block = m.block();

    let split = |convs: &[crate::data::Conversation], limit: Option<usize>| {
        let mut s = samples(convs, t.max_context_turns);
        s.truncate(limit.unwrap_or(usize::MAX));
        s
    };
    let encode = |s: &[crate::data::Sample]| -> anyhow::Result<Vec<EncodedSample>> {
        Ok(s.iter()
            .map(|s| encode_sample(&tokenizer, &tagger, s, m))
            .collect::<Result<_, _>>()?)
    };
    let mut train_samples = split(&train_convs, t.train_samples);
    let mut valid_samples = split(&valid_convs, t.valid_samples);
    if let Some(dir) = &t.intent_labels {
        let judge = t.intent_judge.as_deref().map(read_judge).transpose()?;
        label_intents(
            dir,
            judge.as_ref(),
            &mut [
                ("train", &mut train_samples, &train_convs),
                ("valid", &mut valid_samples, &valid_convs),
            ],
        )?;
    }
    let train_set = encode(&train_samples)?;
    // The context polarity from VADER, for the polarity experts' loss (same order as `train_set`).
    let polarity: Option<Vec<i8>> = if m.polarity_experts.unwrap_or(false) {
        let lexicon = read_lexicon(opts.lexicons.as_deref())?;
        Some(
            train_samples
                .iter()
                .map(|s| contrast::polarity(&s.context, &lexicon))
                .collect(),
        )
    } else {
        None
    };
    let step_opts = step::StepOptions {
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
    };
    let valid_set = encode(&valid_samples)?;
    eprintln!(
        "{} train / {} valid samples, vocab {}",
        train_set.len(),
        valid_set.len(),
        m.vocab_size
    );

    let device = opts.device.clone().autodiff();
    device.seed(t.seed);
    let (mut model, mut optim, mut state) = setup::starting_point(out, &cfg, resuming, &device)?;

    let steps_per_epoch = train_set.len().div_ceil(t.batch_size);
    let total_steps = t
        .max_steps
        .unwrap_or(usize::MAX)
        .min(steps_per_epoch * t.epochs);
    // Masked-LM pre-training (the first `mlm_steps`) and the run's own objective each warm up and decay.
    let mlm_steps = t.mlm_steps.min(total_steps);
    let pretrain = step::LrSchedule {
        peak: t.lr,
        warmup: t.warmup_steps.min(mlm_steps),
        total: mlm_steps,
    };
    let schedule = step::LrSchedule {
        peak: t.lr,
        warmup: t.warmup_steps,
        total: total_steps - mlm_steps,
    };
    let started = Instant::now();
    let wall_before = state.wall_seconds;
    let mut bar = crate::progress::Progress::new(total_steps, state.global_step);

    let budget = t.max_minutes.map(|m| m * 60.0).unwrap_or(f64::INFINITY);
    let out_of_time = || wall_before + started.elapsed().as_secs_f64() >= budget;
    if out_of_time() {
        eprintln!(
            "the time budget (train.max_minutes) is already spent: {:.1} min trained",
            state.wall_seconds / 60.0
        );
    }
    while state.epoch < t.epochs && state.global_step < total_steps && !out_of_time() {
        let batches = batches::epoch_batches(&train_set, &t, state.epoch);
        for chunk in batches.iter().skip(state.step_in_epoch) {
            if state.global_step >= total_steps || out_of_time() {
                break;
            }
            let batch: Vec<&EncodedSample> = chunk.iter().map(|&i| &train_set[i]).collect();
            // Every random draw of a step (corruption, intent dropout, dropout masks) comes from the run's seed
            // and the step number alone, so a run resumed at any step continues exactly as one never stopped.
            let step_seed = t.seed ^ (state.global_step as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            let mut rng = StdRng::seed_from_u64(step_seed);
            crate::model::layers::seed_dropout(step_seed);
            let pretraining = state.global_step < mlm_steps;
            if mlm_steps > 0 && state.global_step == mlm_steps {
                // Pre-training is over: the main objective starts with a fresh optimizer.
                optim = AdamWConfig::new().with_weight_decay(t.weight_decay).init();
            }
            let total = if pretraining {
                match mlm::loss(&model, &batch, t.mlm_mask_rate, &mut rng, &device) {
                    Some(loss) => loss,
                    None => {
                        state.global_step += 1;
                        state.step_in_epoch += 1;
                        continue;
                    }
                }
            } else {
                let pol: Option<Vec<i8>> = polarity
                    .as_ref()
                    .map(|p| chunk.iter().map(|&i| p[i]).collect());
                step::forward(
                    &model,
                    &batch,
                    pol.as_deref(),
                    &step_opts,
                    &mut rng,
                    &device,
                )
                .total
            };
            let loss_value = total.clone().into_scalar::<f32>() as f64;
            if !loss_value.is_finite() {
                bail!(
                    "loss became {loss_value} at step {}; lower train.lr or raise train.warmup_steps",
                    state.global_step
                );
            }
            let mut grads = GradientsParams::from_grads(total.backward(), &model);
            let grad_norm = clip::clip_global_norm(&model, &mut grads, t.grad_clip);
            if !grad_norm.is_finite() {
                bail!(
                    "the gradient norm became {grad_norm} at step {}; lower train.lr or raise train.warmup_steps \
                     (the last checkpoint is kept)",
                    state.global_step
                );
            }
            let lr = if pretraining {
                pretrain.at(state.global_step)
            } else {
                schedule.at(state.global_step - mlm_steps)
            };
            model = optim.step(lr, model, grads);
            state.global_step += 1;
            state.step_in_epoch += 1;
            state.epoch_loss_sum += loss_value;
            state.epoch_loss_steps += 1;
            let phase = if pretraining { "mlm" } else { "main" };
            bar.tick(format!(
                "epoch {} {phase} loss {loss_value:.4}",
                state.epoch + 1
            ));
            if state.global_step % t.log_every == 0 {
                ckpt::append_metrics(
                    out,
                    &json!({"step": state.global_step, "epoch": state.epoch + 1, "loss": loss_value,
                            "lr": lr, "grad_norm": grad_norm, "phase": phase}),
                )?;
            }
            if state.global_step % t.checkpoint_every == 0 {
                state.wall_seconds = wall_before + started.elapsed().as_secs_f64();
                save(out, &model, &optim, &mut state)?;
            }
        }
        let finished_epoch = state.step_in_epoch >= steps_per_epoch;
        let valid = step::validate(
            &model.valid(),
            block,
            t.diffusion_weight > 0.0,
            &valid_set,
            t.batch_size,
            &opts.device,
        )?;
        state.wall_seconds = wall_before + started.elapsed().as_secs_f64();
        let line = json!({
            "epoch": state.epoch + 1, "step": state.global_step,
            "train_loss": state.epoch_loss_sum / state.epoch_loss_steps.max(1) as f64,
            "valid_diffusion_loss": valid.diffusion_loss, "valid_emotion_acc": valid.emotion_acc,
            "valid_emotion_macro_f1": valid.emotion_macro_f1,
            "valid_intent_acc": valid.intent_acc,
            "wall_seconds": state.wall_seconds,
        });
        bar.println(&format!("epoch {} done: {line}", state.epoch + 1));
        ckpt::append_metrics(out, &line)?;
        ckpt::write_curves(out)?;
        state.last_valid = Some(line);
        if finished_epoch {
            state.epoch += 1;
            state.step_in_epoch = 0;
            state.epoch_loss_sum = 0.0;
            state.epoch_loss_steps = 0;
        }
        save(out, &model, &optim, &mut state)?;
    }
    bar.finish();
    ckpt::write_json(
        out,
        ckpt::META,
        &json!({
            "data": format!("EmpatheticDialogues (official split) from {}", data_dir.display()),
            "train_samples": train_set.len(), "valid_samples": valid_set.len(),
            "steps": state.global_step, "epochs_completed": state.epoch,
            "wall_seconds": state.wall_seconds, "device": format!("{:?}", opts.device),
            "parameters": model.num_params(),
            "from": t.init_from.as_ref().map(|p| p.display().to_string()),
            "valid": state.last_valid,
        }),
    )?;
    ckpt::seal(out)?;
    Ok(state)
}

/// Writes one resumable generation (see `checkpoint.rs`); the metrics log is flushed first and its length
/// recorded, so a resume from this generation cuts exactly the lines written after it.
fn save(
    out: &Path,
    model: &crate::model::ReflectDiffu,
    optim: &burn::optim::ModuleOptimizer,
    state: &mut TrainState,
) -> anyhow::Result<()> {
    state.metrics_bytes = ckpt::sync_metrics(out)?;
    ckpt::save_generation(out, state.global_step, &model.valid(), optim, state)?;
    Ok(())
}
