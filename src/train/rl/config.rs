//! The RL stage's config: the `rl` section of `configs/rl.json`, read and checked field by field.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::RewardWeights;
use crate::format::Invalid;
use crate::train::{Reading, Result, TrainError};

/// The `rl` section of an RL config file (see `configs/rl.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RlConfig {
    /// The intent judge (`reflectdiffu intent train`): the reward's "correct" step. Frozen.
    pub judge: PathBuf,
    /// RL updates in all.
    pub steps: usize,
    /// Contexts per update.
    pub contexts: usize,
    /// Replies (intents drawn from the policy) per context; the advantage is a reply's reward minus its
    /// group's mean.
    pub group: usize,
    pub lr: f64,
    pub grad_clip: f32,
    /// Denoiser passes per rollout.
    pub sample_steps: usize,
    /// Rollout temperature.
    pub temperature: f32,
    /// Weight of KL(π_θ ‖ π_ref) on the intent policy.
    pub kl_weight: f32,
    /// Weight of the supervised loss on the gold replies (the likelihood anchor).
    pub anchor_weight: f32,
    /// Weight of the policy gradient on the decoder's reply log-probabilities (0: only the intent policy
    /// learns from the reward; 1 when the config leaves it out).
    #[serde(default = "one")]
    pub decoder_weight: f32,
    /// Update only the intent policy's head: the encoder and the decoder stay the supervised model's, so a
    /// reply written for a given intent is unchanged and only the choice of intent learns (`decoder_weight` and
    /// `anchor_weight` are then unused). Default false.
    #[serde(default)]
    pub policy_only: bool,
    pub reward: RewardWeights,
    pub seed: u64,
    pub log_every: usize,
    pub checkpoint_every: usize,
}

fn one() -> f32 {
    1.0
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RlFile {
    rl: RlConfig,
}

impl RlConfig {
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .reading(|| format!("cannot read RL config {}", path.display()))?;
        let mut de = serde_json::Deserializer::from_str(&text);
        let file: RlFile = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            TrainError::Run(format!(
                "{} is not a valid RL config: {}: {} (see configs/rl.json for every field)",
                path.display(),
                e.path(),
                e.inner()
            ))
        })?;
        file.rl.validate().map_err(|m| TrainError::file(path, m))?;
        Ok(file.rl)
    }

    fn validate(&self) -> Result<(), Invalid> {
        for (name, v) in [
            ("steps", self.steps),
            ("contexts", self.contexts),
            ("group", self.group),
            ("sample_steps", self.sample_steps),
            ("log_every", self.log_every),
            ("checkpoint_every", self.checkpoint_every),
        ] {
            if v == 0 {
                return Err(Invalid::from(format!("rl.{name} must be at least 1")));
            }
        }
        if self.group < 2 {
            return Err(Invalid::from(
                "rl.group must be at least 2: the advantage compares the replies of a group",
            ));
        }
        if !(self.lr > 0.0 && self.lr < 1.0) {
            return Err(Invalid::from(format!(
                "rl.lr must be in (0, 1), found {}",
                self.lr
            )));
        }
        let w = self.reward;
        for (name, v) in [
            ("grad_clip", self.grad_clip),
            ("temperature", self.temperature),
            ("kl_weight", self.kl_weight),
            ("anchor_weight", self.anchor_weight),
            ("decoder_weight", self.decoder_weight),
            ("reward.intent", w.intent),
            ("reward.emotion", w.emotion),
            ("reward.novelty", w.novelty),
            ("reward.fluency", w.fluency),
        ] {
            if !(v >= 0.0 && v.is_finite()) {
                return Err(Invalid::from(format!(
                    "rl.{name} must be a finite number ≥ 0, found {v}"
                )));
            }
        }
        Ok(())
    }
}
