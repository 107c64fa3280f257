//! The intent-mimicry reward of one rollout: the judge's probability of the intent the reply was written for,
//! the emotion fit (does the encoder read the context's emotion in the reply?), and cross-turn novelty (MINT,
//! 2025: the listener should not repeat the intent of their previous turn).

use serde::{Deserialize, Serialize};

use crate::intent::judge::IntentJudge;

/// Weights of the three reward terms (`rl.reward` in the config).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RewardWeights {
    pub intent: f32,
    pub emotion: f32,
    pub novelty: f32,
}

impl Default for RewardWeights {
    fn default() -> Self {
        Self {
            intent: 1.0,
            emotion: 0.5,
            novelty: 0.5,
        }
    }
}

/// One generated reply and what the reward reads of it.
#[derive(Debug, Clone)]
pub struct Rollout<'a> {
    /// The context turns, oldest first (the last one the speaker's).
    pub context: &'a [String],
    /// The intent the reply was written for.
    pub intent: usize,
    pub reply: &'a str,
    /// The probability the encoder gives the context's emotion when it reads the reply alone.
    pub emotion_fit: f32,
}

/// A rollout's reward and its terms (each in [0, 1]).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Reward {
    pub total: f32,
    pub intent: f32,
    pub emotion: f32,
    pub novelty: f32,
}

/// The mimicry reward with `weights`, judged by `judge`.
pub fn mimicry(judge: &IntentJudge, weights: RewardWeights) -> impl Fn(&Rollout) -> Reward + '_ {
    move |r: &Rollout| {
        let intent = judge
            .probabilities(r.reply)
            .get(r.intent)
            .copied()
            .unwrap_or(0.0);
        // The listener's previous turn is the one before the speaker's last turn.
        let novelty = match r.context.len() {
            n if n >= 2 => f32::from(judge.classify(&r.context[n - 2]) != r.intent),
            _ => 1.0,
        };
        Reward {
            total: weights.intent * intent
                + weights.emotion * r.emotion_fit
                + weights.novelty * novelty,
            intent,
            emotion: r.emotion_fit,
            novelty,
        }
    }
}
