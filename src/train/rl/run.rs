//! `reflectdiffu train --stage rl --from DIR --out DIR --config FILE`: the RL stage as a run, with its config,
//! reward log (`metrics.jsonl`, `rewards.svg`) and resumable checkpoints.

use std::path::{Path, PathBuf};

use burn::optim::AdamWConfig;
use burn::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::config::RlConfig;
use super::{Learner, StepSettings, mimicry};
use crate::checkpoint as ckpt;
use crate::data::INTENTS;
use crate::data::files::{load_split, resolve_data_dir};
use crate::data::samples;
use crate::diffusion::sampler::SamplerConfig;
use crate::inputs::encode_sample;
use crate::train::step::StepOptions;
use crate::train::{Reading, Result, fail};
use crate::train::{RunConfig, label_intents, read_judge};

pub struct RlOptions {
    /// The supervised checkpoint to start from (and to anchor to).
    pub from: PathBuf,
    pub out: PathBuf,
    /// Required for a new run; on `--resume` the run's own rl.json is used.
    pub config: Option<PathBuf>,
    pub data: Option<PathBuf>,
    pub device: Device,
    pub resume: bool,
    /// Overrides `rl.steps`.
    pub max_steps: Option<usize>,
    /// Stop (with a checkpoint to resume from) after this many minutes of updates in all, resumes included.
    pub max_minutes: Option<f64>,
}

/// The RL run's position, saved with every checkpoint.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct RlState {
    step: usize,
    metrics_bytes: u64,
    /// Seconds of updates so far, resumes included (for `max_minutes`).
    #[serde(default)]
    wall_seconds: f64,
}

const RL_CONFIG: &str = "rl.json";
const REWARDS_SVG: &str = "rewards.svg";

/// Runs (or resumes) the RL stage; returns the number of updates done.
pub fn train_rl(opts: RlOptions) -> Result<usize> {
    let out = &opts.out;
    let rl = rl_config(&opts)?;
    let run: RunConfig = ckpt::read_json(&opts.from, ckpt::CONFIG)?;
    if run.model.intent_policy != Some(true) {
        fail!(
            "--from {}: the model has no intent policy to reinforce; train one with model.intent_policy true and \
             train.intent_labels set",
            opts.from.display()
        );
    }
    let judge = read_judge(&rl.judge)?;
    let responder = ckpt::load_responder(&opts.from, &opts.device)?;
    let contexts = Contexts::read(&opts, &rl, &run, &judge, &responder)?;
    let (mut learner, mut state) = start(&opts, &rl, &run, responder)?;
    let settings = step_settings(&rl, &run);
    let reward = mimicry(&judge, rl.reward);

    let budget = opts.max_minutes.map_or(f64::INFINITY, |m| m * 60.0);
    if state.wall_seconds >= budget {
        fail!(
            "the time budget (--max-minutes) is already spent: {:.1} min of updates in {}",
            state.wall_seconds / 60.0,
            out.display()
        );
    }
    let (started, spent_before) = (std::time::Instant::now(), state.wall_seconds);
    let mut bar = crate::progress::Progress::new(rl.steps, state.step);
    while state.step < rl.steps {
        let batch = contexts.batch(state.step, rl.contexts);
        let seed = rl.seed ^ (state.step as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let log = learner.step(&batch, &reward, &settings, seed)?;
        state.step += 1;
        state.wall_seconds = spent_before + started.elapsed().as_secs_f64();
        let out_of_time = state.wall_seconds >= budget;
        bar.tick(format!("reward {:.3}", log.reward.total));
        if state.step % rl.log_every == 0 {
            log_update(out, state.step, &log)?;
        }
        if state.step % rl.checkpoint_every == 0 || state.step == rl.steps || out_of_time {
            checkpoint(out, &learner, &mut state)?;
        }
        if out_of_time && state.step < rl.steps {
            eprintln!(
                "stopping after {} of {} updates: the time budget (--max-minutes) is spent; --resume continues",
                state.step, rl.steps
            );
            break;
        }
    }
    bar.finish();
    ckpt::write_json(
        out,
        ckpt::META,
        &json!({"stage": "rl", "from": opts.from.display().to_string(), "updates": state.step,
                "contexts_per_update": rl.contexts, "group": rl.group, "device": format!("{:?}", opts.device)}),
    )?;
    ckpt::seal(out)?;
    Ok(state.step)
}

/// The RL config: the file's for a new run (after checking that `--out` suits it), the run's own on `--resume`,
/// with `--max-steps` applied.
fn rl_config(opts: &RlOptions) -> Result<RlConfig> {
    let out = &opts.out;
    if opts.resume != ckpt::has_generation(out) {
        if opts.resume {
            fail!(
                "--resume: {} has no RL checkpoint to resume from",
                out.display()
            );
        }
        fail!(
            "{} already holds a checkpoint; pass --resume to continue it or choose another --out",
            out.display()
        );
    }
    if !opts.resume && ckpt::has(out, ckpt::WEIGHTS) {
        fail!(
            "{} already holds a checkpoint; choose another --out",
            out.display()
        );
    }
    let mut rl = match (&opts.config, opts.resume) {
        (_, true) => ckpt::read_json::<RlConfig>(out, RL_CONFIG)?,
        (Some(path), false) => RlConfig::load(path)?,
        (None, false) => fail!(
            "--config FILE (with an `rl` section, e.g. configs/rl.json) is required for --stage rl"
        ),
    };
    if let Some(n) = opts.max_steps {
        rl.steps = n;
    }
    Ok(rl)
}

/// The train split's contexts (and gold replies, for the anchor), encoded, in the run's shuffled order.
struct Contexts {
    set: Vec<crate::data::Sample>,
    encoded: Vec<crate::inputs::EncodedSample>,
    order: Vec<usize>,
}

impl Contexts {
    fn read(
        opts: &RlOptions,
        rl: &RlConfig,
        run: &RunConfig,
        judge: &crate::intent::judge::IntentJudge,
        responder: &crate::inference::Responder,
    ) -> Result<Self> {
        let dir = resolve_data_dir(opts.data.as_deref())?;
        let convs = load_split(&dir, "train")?;
        let mut set = samples(&convs, run.train.max_context_turns);
        set.truncate(run.train.train_samples.unwrap_or(usize::MAX));
        if let Some(labels) = &run.train.intent_labels {
            label_intents(labels, Some(judge), &mut [("train", &mut set, &convs)])?;
        }
        let mut encoded = set
            .iter()
            .map(|s| encode_sample(&responder.tokenizer, &responder.tagger, s, &run.model))
            .collect::<Result<Vec<_>, _>>()?;
        if run.model.exemplar_count() > 0 {
            // The rollouts and the anchor read exemplar memory as training did: an index over this train split,
            // each context's own conversation left out (an index over other data could not tell which that is).
            crate::train::exemplars::give_exemplars(
                &responder.tokenizer,
                &convs,
                run,
                None,
                &mut [(&set[..], &mut encoded)],
            )?;
        }
        let mut order: Vec<usize> = (0..set.len()).collect();
        order.shuffle(&mut StdRng::seed_from_u64(rl.seed));
        Ok(Self {
            set,
            encoded,
            order,
        })
    }

    /// The contexts of update `step`, `n` of them, cycling through the shuffled order.
    fn batch(&self, step: usize, n: usize) -> Vec<(&[String], &crate::inputs::EncodedSample)> {
        let at = step * n;
        (at..at + n)
            .map(|k| self.order[k % self.order.len()])
            .map(|i| (self.set[i].context.as_slice(), &self.encoded[i]))
            .collect()
    }
}

/// The learner at its starting point: the `--from` model (also the reference π_ref and the anchor) with a fresh
/// optimizer and the run folder filled, or on `--resume` the newest generation's weights, optimizer and position.
fn start(
    opts: &RlOptions,
    rl: &RlConfig,
    run: &RunConfig,
    responder: crate::inference::Responder,
) -> Result<(Learner, RlState)> {
    let out = &opts.out;
    let device = opts.device.clone().autodiff();
    let start = run.model.init(&device);
    let start = ckpt::load_weights(
        &opts.from,
        start,
        std::fs::read(opts.from.join(ckpt::WEIGHTS))
            .reading(|| format!("cannot read {}", opts.from.join(ckpt::WEIGHTS).display()))?,
    )?;
    let optim = AdamWConfig::new()
        .with_weight_decay(run.train.weight_decay)
        .init();
    // The reference (π_ref, the anchor) is always the --from model, also on resume.
    let mut learner = Learner::new(start, responder, optim);
    let mut state = RlState::default();
    if opts.resume {
        let generation = ckpt::read_generation::<RlState>(out)?;
        let place = out.join(ckpt::RESUME_DIR);
        learner.model = ckpt::load_weights(&place, learner.model.clone(), generation.weights)?;
        learner.optim = ckpt::load_optimizer(&place, learner.optim, generation.optimizer)?;
        state = generation.state;
        ckpt::truncate_metrics(out, state.metrics_bytes)?;
        eprintln!("resuming the RL stage at update {}", state.step);
    } else {
        std::fs::create_dir_all(out).reading(|| format!("cannot create {}", out.display()))?;
        for file in [ckpt::TOKENIZER, ckpt::CONFIG] {
            let bytes = std::fs::read(opts.from.join(file))
                .reading(|| format!("cannot read {}", opts.from.join(file).display()))?;
            ckpt::write_atomic(out, file, &bytes)?;
        }
        // The exemplar index the model reads, when it has one.
        let index = opts.from.join(crate::retrieve::INDEX_FILE);
        if run.model.exemplar_count() > 0 && index.exists() {
            let bytes =
                std::fs::read(&index).reading(|| format!("cannot read {}", index.display()))?;
            ckpt::write_atomic(out, crate::retrieve::INDEX_FILE, &bytes)?;
        }
        let (file, bytes) = learner.responder.tagger.to_file();
        ckpt::write_atomic(out, file, &bytes)?;
        ckpt::write_json(out, RL_CONFIG, &rl)?;
    }
    Ok((learner, state))
}

/// One update's settings: the rollout sampler and the supervised anchor's step, from both configs.
fn step_settings(rl: &RlConfig, run: &RunConfig) -> StepSettings {
    StepSettings {
        group: rl.group,
        lr: rl.lr,
        grad_clip: rl.grad_clip,
        kl_weight: rl.kl_weight,
        anchor_weight: rl.anchor_weight,
        decoder_weight: rl.decoder_weight,
        policy_only: rl.policy_only,
        sampler: SamplerConfig {
            steps: rl.sample_steps,
            temperature: rl.temperature,
            // Rollouts must come from the policy's own distribution for the policy gradient: no n-gram ban,
            // no context bias, one temperature.
            no_repeat_ngram: 0,
            context_bias: 0.0,
            stop_temperature: 0.0,
            ..SamplerConfig::default()
        },
        supervised: StepOptions {
            block: run.model.block(),
            diffusion_weight: run.train.diffusion_weight,
            emotion_weight: run.train.emotion_weight,
            trim: run.train.length_buckets,
            contrastive_weight: 0.0,
            contrastive_temperature: 1.0,
            intent_dropout: 0.0,
            intent_weight: run.train.intent_weight,
            exemplar_dropout: run.train.exemplar_dropout,
            draft_rate: run.train.draft_rate,
        },
    }
}

/// One line of metrics.jsonl for update `step`.
fn log_update(out: &Path, step: usize, log: &super::StepLog) -> Result<()> {
    let intents: serde_json::Map<String, serde_json::Value> = INTENTS
        .iter()
        .zip(&log.intents)
        .map(|(n, s)| (n.to_string(), json!(s)))
        .collect();
    ckpt::append_metrics(
        out,
        &json!({"step": step, "reward": log.reward.total, "reward_intent": log.reward.intent,
                "reward_emotion": log.reward.emotion, "reward_novelty": log.reward.novelty,
                "reward_fluency": log.reward.fluency,
                "policy_entropy": log.policy_entropy, "kl": log.kl, "intents": intents}),
    )?;
    Ok(())
}

/// A resumable generation and the reward curves.
fn checkpoint(out: &Path, learner: &Learner, state: &mut RlState) -> Result<()> {
    state.metrics_bytes = ckpt::sync_metrics(out)?;
    ckpt::save_generation(
        out,
        state.step,
        &learner.model.valid(),
        &learner.optim,
        state,
    )?;
    let metrics = std::fs::read_to_string(out.join(ckpt::METRICS)).unwrap_or_default();
    ckpt::write_atomic(
        out,
        REWARDS_SVG,
        crate::plot::rewards_svg(&metrics).as_bytes(),
    )?;
    Ok(())
}
