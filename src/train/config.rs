//! The run config: one JSON file with a `model` and a `train` section (see `configs/`).

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::format::Invalid;
use crate::model::ModelConfig;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    /// Network shape. `vocab_size` is the size the tokenizer is trained to; the saved config records the real one.
    pub model: ModelConfig,
    pub train: TrainConfig,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    /// Previous turns kept as context for each sample (K).
    pub max_context_turns: usize,
    pub batch_size: usize,
    pub epochs: usize,
    /// Stop after this many optimizer steps in all (for smoke tests); null = run every epoch.
    pub max_steps: Option<usize>,
    /// Stop after this much training wall time in all (resumes included), in minutes; null = no limit. For
    /// comparing designs at equal training time on one machine.
    #[serde(default)]
    pub max_minutes: Option<f64>,
    /// Use only the first N train samples; null = all.
    pub train_samples: Option<usize>,
    /// Score validation on the first N valid samples; null = all.
    pub valid_samples: Option<usize>,
    /// Peak learning rate (AdamW), reached after `warmup_steps`, then cosine decay to 10 %.
    pub lr: f64,
    pub warmup_steps: usize,
    pub weight_decay: f32,
    /// Gradient norm clip.
    pub grad_clip: f32,
    /// λ in loss = diffusion + λ · emotion cross-entropy.
    pub emotion_weight: f32,
    /// Weight of the diffusion loss (1 = as always). 0 trains the encoder alone — the decoder is not run — for
    /// cheap encoder ablations (emotion accuracy); the checkpoint's decoder then stays untrained and validation
    /// reports only the emotion accuracy (`valid_diffusion_loss` 0).
    #[serde(default = "default_diffusion_weight")]
    pub diffusion_weight: f32,
    pub seed: u64,
    /// Log a metrics line every N steps.
    pub log_every: usize,
    /// Write a checkpoint every N steps (and at the end of every epoch).
    pub checkpoint_every: usize,
    /// Batch replies of similar length (each epoch's shuffled order is cut into windows of 16 batches, each
    /// window sorted by reply length, and the batches shuffled again), and, for block models, score each batch
    /// only up to the block that holds its longest reply's [EOS]. Spends the compute on real tokens instead of
    /// [PAD]; validation always scores the full reply. Absent = false (runs before this option).
    #[serde(default)]
    pub length_buckets: bool,
    /// Weight of the polarity experts' loss (NT-Xent + gate BCE; only with `model.polarity_experts`).
    #[serde(default = "default_contrastive_weight")]
    pub contrastive_weight: f32,
    /// NT-Xent temperature.
    #[serde(default = "default_contrastive_temperature")]
    pub contrastive_temperature: f32,
    /// Where the context's reason tags come from: "lexicon" (the VADER / Empath rule, the default), "none"
    /// (every token `<noem>`), or {"era": "FILE"} (an ERA tagger from `reflectdiffu era train --no-lexicon`).
    /// The checkpoint keeps the tagger, so sampling needs no lexicon or file.
    #[serde(default)]
    pub reason_tags: ReasonTags,
    /// EmpatheticIntents' `empatheticdialogues_annotated/` folder: the listener turns' intents, which the decoder
    /// is conditioned on (and the intent policy learns, with `model.intent_policy`). Null = no intents: the
    /// decoder's intent slot stays "unknown" (runs before this option).
    #[serde(default)]
    pub intent_labels: Option<std::path::PathBuf>,
    /// An intent judge (`reflectdiffu intent train`) that labels the turns the annotations leave without an
    /// intent; null = those turns train with "unknown".
    #[serde(default)]
    pub intent_judge: Option<std::path::PathBuf>,
    /// Fraction of training rows whose intent is hidden ("unknown"), so that the decoder also learns to write
    /// without one.
    #[serde(default = "default_intent_dropout")]
    pub intent_dropout: f32,
    /// Weight of the intent policy's cross-entropy (with `model.intent_policy`).
    #[serde(default = "default_intent_weight")]
    pub intent_weight: f32,
    /// A fine-tune: the checkpoint whose weights, tokenizer and reason tagger the run starts from (with a fresh
    /// optimizer and this section's schedule); its `model` section must be this config's. Set by `train --from`,
    /// recorded in the run's config.json. Absent = a run from scratch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init_from: Option<std::path::PathBuf>,
    /// Encoder pre-training: the run's first `mlm_steps` optimizer steps (counted in `max_steps`) train the
    /// encoder alone as a masked language model over the context tokens (speaker and listener turns, cut as
    /// the encoder reads them); then the optimizer and the warm-up start afresh for the run's own objective.
    /// 0 = none (runs before this option).
    #[serde(default)]
    pub mlm_steps: usize,
    /// Fraction of the context's word tokens that masked-LM pre-training hides.
    #[serde(default = "default_mlm_mask_rate")]
    pub mlm_mask_rate: f32,
    /// With `model.exemplars`: fraction of training rows whose exemplar memory is dropped as a whole, so that
    /// the model also answers without one (a checkpoint without an index, the page).
    #[serde(default = "default_exemplar_dropout")]
    pub exemplar_dropout: f32,
    /// With `model.exemplars`: fraction of the rows with exemplars trained on draft-initialised corruptions
    /// (draft editing, `sample --draft-mask`): each masked reply position shows the best exemplar's token there
    /// instead of [MASK] with probability 1 − R, R uniform in [0, 1] per row. 0 = off.
    #[serde(default)]
    pub draft_rate: f32,
}

fn default_exemplar_dropout() -> f32 {
    0.2
}

/// See [`TrainConfig::reason_tags`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReasonTags {
    #[default]
    Lexicon,
    None,
    Era(std::path::PathBuf),
}

fn default_diffusion_weight() -> f32 {
    1.0
}

fn default_intent_dropout() -> f32 {
    0.1
}

fn default_intent_weight() -> f32 {
    1.0
}

fn default_mlm_mask_rate() -> f32 {
    0.15
}

fn default_contrastive_weight() -> f32 {
    0.1
}

fn default_contrastive_temperature() -> f32 {
    0.1
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config {path}: {message}")]
    Read { path: String, message: String },
    #[error(
        "config {path} is not a valid run config: {message} (see configs/default.json for every field)"
    )]
    Parse { path: String, message: String },
    #[error("config {path}: {message}")]
    Invalid { path: String, message: String },
}

impl RunConfig {
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let p = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
            path: p.clone(),
            message: e.to_string(),
        })?;
        let mut de = serde_json::Deserializer::from_str(&text);
        let cfg: RunConfig =
            serde_path_to_error::deserialize(&mut de).map_err(|e| ConfigError::Parse {
                path: p.clone(),
                message: format!("{}: {}", e.path(), e.inner()),
            })?;
        cfg.validate().map_err(|e| ConfigError::Invalid {
            path: p,
            message: e.0,
        })?;
        Ok(cfg)
    }

    pub fn validate(&self) -> Result<(), Invalid> {
        self.model.validate()?;
        let t = &self.train;
        if self.model.vocab_size < 300 {
            return Err(Invalid::from(format!(
                "model.vocab_size must be at least 300 (256 bytes + specials), found {}",
                self.model.vocab_size
            )));
        }
        for (name, v) in [
            ("batch_size", t.batch_size),
            ("epochs", t.epochs),
            ("max_context_turns", t.max_context_turns),
            ("log_every", t.log_every),
            ("checkpoint_every", t.checkpoint_every),
        ] {
            if v == 0 {
                return Err(Invalid::from(format!("train.{name} must be at least 1")));
            }
        }
        if t.max_steps == Some(0) || t.train_samples == Some(0) || t.valid_samples == Some(0) {
            return Err("train.max_steps, train.train_samples and train.valid_samples must be null or at least 1".into());
        }
        if !(t.lr > 0.0 && t.lr < 1.0) {
            return Err(Invalid::from(format!(
                "train.lr must be in (0, 1), found {}",
                t.lr
            )));
        }
        if let Some(m) = t.max_minutes
            && !(m > 0.0 && m.is_finite())
        {
            return Err(Invalid::from(format!(
                "train.max_minutes must be a finite number > 0 or null, found {m}"
            )));
        }
        if !(t.grad_clip > 0.0 && t.grad_clip.is_finite()) {
            return Err(Invalid::from(format!(
                "train.grad_clip must be a finite number > 0, found {}",
                t.grad_clip
            )));
        }
        if !(t.contrastive_temperature > 0.0 && t.contrastive_temperature.is_finite()) {
            return Err(Invalid::from(format!(
                "train.contrastive_temperature must be a finite number > 0, found {}",
                t.contrastive_temperature
            )));
        }
        for (name, v) in [
            ("weight_decay", t.weight_decay),
            ("emotion_weight", t.emotion_weight),
            ("contrastive_weight", t.contrastive_weight),
            ("diffusion_weight", t.diffusion_weight),
            ("intent_weight", t.intent_weight),
        ] {
            if !(v >= 0.0 && v.is_finite()) {
                return Err(Invalid::from(format!(
                    "train.{name} must be a finite number ≥ 0, found {v}"
                )));
            }
        }
        for (name, v) in [
            ("intent_dropout", t.intent_dropout),
            ("exemplar_dropout", t.exemplar_dropout),
            ("draft_rate", t.draft_rate),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return Err(Invalid::from(format!(
                    "train.{name} must be in [0, 1], found {v}"
                )));
            }
        }
        if !(t.mlm_mask_rate > 0.0 && t.mlm_mask_rate < 1.0) {
            return Err(Invalid::from(format!(
                "train.mlm_mask_rate must be in (0, 1), found {}",
                t.mlm_mask_rate
            )));
        }
        if t.max_steps.is_some_and(|m| t.mlm_steps >= m) {
            return Err(Invalid::from(format!(
                "train.mlm_steps ({}) must be below train.max_steps: pre-training counts in the run's steps",
                t.mlm_steps
            )));
        }
        if self.model.intent_policy == Some(true) && t.intent_labels.is_none() {
            return Err(Invalid::from(
                "model.intent_policy needs train.intent_labels (EmpatheticIntents' empatheticdialogues_annotated/ folder) to learn from",
            ));
        }
        if t.intent_judge.is_some() && t.intent_labels.is_none() {
            return Err("train.intent_judge labels what train.intent_labels leaves open; set train.intent_labels too".into());
        }
        Ok(())
    }
}
