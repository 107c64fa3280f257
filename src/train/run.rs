//! A supervised run in progress: its [`Plan`] of steps and learning rates, and the [`Run`] whose epochs take one
//! optimizer step at a time, log it, checkpoint it and validate at the end of each epoch.

use std::path::Path;
use std::time::Instant;

use burn::optim::{AdamWConfig, GradientsParams};
use burn::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::json;

use super::{RunData, TrainConfig, TrainOptions, TrainState, batches, clip, mlm, step};
use crate::checkpoint as ckpt;
use crate::inputs::EncodedSample;
use crate::model::ReflectDiffu;
use crate::tokenizer::PAD;
use crate::train::{Result, fail};

/// How a run's steps are laid out: its length, the masked-LM pre-training (the first `mlm_steps`) and the
/// learning rate of both phases, each with its own warm-up and decay.
pub(super) struct Plan {
    steps_per_epoch: usize,
    pub(super) total_steps: usize,
    mlm_steps: usize,
    pretrain: step::LrSchedule,
    schedule: step::LrSchedule,
}

impl Plan {
    pub(super) fn new(t: &TrainConfig, train_len: usize) -> Self {
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
pub(super) struct Run<'a> {
    pub(super) opts: &'a TrainOptions,
    pub(super) t: TrainConfig,
    pub(super) block: usize,
    pub(super) step_opts: step::StepOptions,
    pub(super) data: RunData,
    pub(super) plan: Plan,
    pub(super) device: Device,
    pub(super) optim: burn::optim::ModuleOptimizer,
    pub(super) state: TrainState,
    pub(super) bar: crate::progress::Progress,
    pub(super) budget: f64,
    pub(super) started: Instant,
    pub(super) wall_before: f64,
    /// Steps and tokens trained since this process started (for steps/s and tokens/s).
    pub(super) speed: (usize, usize),
}

impl Run<'_> {
    fn wall_seconds(&self) -> f64 {
        self.wall_before + self.started.elapsed().as_secs_f64()
    }

    fn out_of_time(&self) -> bool {
        self.wall_seconds() >= self.budget
    }

    /// Epochs until the run's length or its time budget is reached.
    pub(super) fn epochs(&mut self, mut model: ReflectDiffu) -> Result<ReflectDiffu> {
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

    pub(super) fn write_meta(&self, model: &ReflectDiffu) -> Result<()> {
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
