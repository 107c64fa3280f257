//! The intent-mimicry reward of one rollout: the judge's probability of the intent the reply was written for,
//! the emotion fit (does the encoder read the context's emotion in the reply?), cross-turn novelty (MINT,
//! 2025: the listener should not repeat the intent of their previous turn), and fluency (the reply says no word
//! twice back to back and no bigram twice: what `eval`'s repeat rates count; without it the decoder's policy
//! gradient learned to repeat phrases the judge reads clearly).

use serde::{Deserialize, Serialize};

use crate::intent::judge::IntentJudge;
use crate::metrics::{has_bigram_repeat, has_word_repeat};

/// Weights of the three reward terms (`rl.reward` in the config).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RewardWeights {
    pub intent: f32,
    pub emotion: f32,
    pub novelty: f32,
    /// (0 when the config leaves it out: the configs written before the term existed.)
    #[serde(default)]
    pub fluency: f32,
}

impl Default for RewardWeights {
    fn default() -> Self {
        Self {
            intent: 1.0,
            emotion: 0.5,
            novelty: 0.5,
            fluency: 0.0,
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
    pub fluency: f32,
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
        let words = crate::metrics::words(r.reply);
        let fluency = f32::from(!has_word_repeat(&words) && !has_bigram_repeat(&words));
        Reward {
            total: weights.intent * intent
                + weights.emotion * r.emotion_fit
                + weights.novelty * novelty
                + weights.fluency * fluency,
            intent,
            emotion: r.emotion_fit,
            novelty,
            fluency,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intent::judge::Labelled;

    #[test]
    fn the_terms_are_weighed_and_a_repeating_reply_loses_its_fluency() {
        let data: Vec<Labelled> = [
            ("what happened next?", 6),
            ("did you tell anyone?", 6),
            ("i am so sorry to hear that", 4),
            ("that is so sad, i am sorry", 4),
        ]
        .iter()
        .map(|(t, i)| Labelled {
            text: t.to_string(),
            intent: *i,
        })
        .collect();
        let judge = IntentJudge::train(&data, 20, 0);
        let weights = RewardWeights {
            intent: 1.0,
            emotion: 0.5,
            novelty: 0.25,
            fluency: 2.0,
        };
        let reward = mimicry(&judge, weights);
        // speaker, listener (asks a question), speaker: the previous listener turn's intent is questioning
        let context: Vec<String> = ["my dog died", "what happened?", "he was old"]
            .map(String::from)
            .to_vec();
        let rollout = |intent, reply| Rollout {
            context: &context,
            intent,
            reply,
            emotion_fit: 0.4,
        };
        let r = reward(&rollout(4, "i am so sorry to hear that"));
        assert_eq!((r.novelty, r.fluency, r.emotion), (1.0, 1.0, 0.4));
        assert!(r.intent > 0.5, "{r:?}");
        let expected = r.intent + 0.5 * 0.4 + 0.25 + 2.0;
        assert!((r.total - expected).abs() < 1e-5, "{r:?}");
        // the same intent as the listener's previous turn: no novelty
        assert_eq!(reward(&rollout(6, "what happened next?")).novelty, 0.0);
        for stutter in ["sorry sorry to hear that", "i am sorry . i am sorry"] {
            assert_eq!(reward(&rollout(4, stutter)).fluency, 0.0, "{stutter}");
        }
        // one turn: no previous listener turn to repeat
        let first = [String::from("my dog died")];
        let r = reward(&Rollout {
            context: &first,
            ..rollout(6, "what happened?")
        });
        assert_eq!(r.novelty, 1.0);
    }
}
