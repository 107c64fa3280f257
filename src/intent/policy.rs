//! Intent Twice's "explore": which intent the reply is written for. The policy π(intent | Q) is a head of the
//! encoder (`model.intent_policy`); here its probabilities are combined with the emotion → intent-group prior of
//! DESIGN.md (switchable) or overridden by the user.

use super::judge::N_INTENTS;
use super::labels::prior;
use crate::data::{INTENTS, UNKNOWN_INTENT};

/// How the intent of a reply is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntentChoice {
    /// From the policy's probabilities, multiplied by the emotion's prior when `prior` is true: the most
    /// probable intent, or one drawn from them when `sample` is true; "unknown" for a model without a policy.
    Policy { prior: bool, sample: bool },
    /// Always this intent (an index into [`INTENTS`], "unknown" included).
    Fixed(usize),
}

/// Drawn from the policy alone: on the full ED test (docs/experiments/intent-twice-rl.md) the most probable intent repeats
/// the previous listener turn's 0.28–0.35 of the time (questioning takes 46 % of the choices) and the prior
/// costs 1–3 points of intent accuracy, while the drawn intents repeat 0.21–0.25 (references 0.23).
impl Default for IntentChoice {
    fn default() -> Self {
        Self::Policy {
            prior: false,
            sample: true,
        }
    }
}

impl IntentChoice {
    /// Parses an intent name, "auto" (the policy, with or without the prior, drawn or the most probable) or
    /// "unknown"; the error lists what is accepted.
    pub fn parse(name: &str, prior: bool, sample: bool) -> Result<Self, crate::format::Invalid> {
        match name {
            "auto" => Ok(Self::Policy { prior, sample }),
            _ => INTENTS
                .iter()
                .position(|i| *i == name)
                .map(Self::Fixed)
                .ok_or_else(|| {
                    crate::format::Invalid(format!(
                        "unknown intent `{name}`; choose auto, {} or unknown",
                        INTENTS[..N_INTENTS].join(", ")
                    ))
                }),
        }
    }
}

/// The chosen intent and the three most probable intents with their probabilities (empty when the intent did
/// not come from the policy).
pub type Chosen = (usize, Vec<(usize, f32)>);

/// Chooses the intent of one row from the policy's probabilities (`None` without a policy) and the row's
/// emotion; `u` (uniform in [0, 1)) is the row's draw when the choice samples.
pub fn choose(choice: IntentChoice, policy: Option<&[f32]>, emotion: usize, u: f32) -> Chosen {
    match (choice, policy) {
        (IntentChoice::Fixed(i), _) => (i, Vec::new()),
        (IntentChoice::Policy { .. }, None) => (UNKNOWN_INTENT, Vec::new()),
        (
            IntentChoice::Policy {
                prior: with_prior,
                sample,
            },
            Some(p),
        ) => {
            let mut post: Vec<f32> = p.iter().take(N_INTENTS).copied().collect();
            if with_prior {
                for (q, w) in post.iter_mut().zip(prior(emotion)) {
                    *q *= w;
                }
            }
            let sum: f32 = post.iter().sum();
            if sum > 0.0 {
                post.iter_mut().for_each(|q| *q /= sum);
            }
            let drawn = sample.then(|| draw(&post, u));
            let mut order: Vec<(usize, f32)> = post.into_iter().enumerate().collect();
            order.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            order.truncate(3);
            (drawn.unwrap_or(order[0].0), order)
        }
    }
}

/// The index where the cumulative sum of the probabilities `p` first exceeds `u` (the last non-zero one when
/// rounding leaves `u` above the total).
fn draw(p: &[f32], u: f32) -> usize {
    let mut acc = 0.0;
    let mut last = 0;
    for (i, q) in p.iter().enumerate() {
        if *q > 0.0 {
            acc += q;
            last = i;
            if u < acc {
                return i;
            }
        }
    }
    last
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::EMOTIONS;

    fn argmax(prior: bool) -> IntentChoice {
        IntentChoice::Policy {
            prior,
            sample: false,
        }
    }

    #[test]
    fn a_sampled_choice_follows_the_cumulative_probabilities_and_reports_the_same_top_3() {
        let p = [0.0f32, 0.5, 0.0, 0.3, 0.0, 0.0, 0.2, 0.0, 0.0];
        let sampled =
            |u| IntentChoice::parse("auto", false, true).map(|c| choose(c, Some(&p), 0, u));
        assert_eq!(sampled(0.0).unwrap().0, 1);
        assert_eq!(sampled(0.49).unwrap().0, 1);
        assert_eq!(sampled(0.51).unwrap().0, 3);
        assert_eq!(sampled(0.85).unwrap().0, 6);
        assert_eq!(sampled(1.0).unwrap().0, 6); // past the total: the last possible intent, never a zero one
        assert_eq!(
            sampled(0.9).unwrap().1,
            choose(argmax(false), Some(&p), 0, 0.9).1
        );
        assert_eq!(choose(argmax(false), Some(&p), 0, 0.9).0, 1);
    }

    #[test]
    fn the_prior_can_tip_a_close_call_and_can_be_switched_off() {
        let sad = EMOTIONS.iter().position(|e| *e == "sad").unwrap();
        // questioning (6) slightly ahead of agreeing (0), which is in sad's prior group.
        let mut p = [0.02f32; N_INTENTS];
        p[6] = 0.45;
        p[0] = 0.41;
        let (with, top) = choose(argmax(true), Some(&p), sad, 0.0);
        assert_eq!(with, 0);
        assert!((top.iter().map(|t| t.1).sum::<f32>()) <= 1.0 + 1e-5);
        let (without, _) = choose(argmax(false), Some(&p), sad, 0.0);
        assert_eq!(without, 6);
        assert_eq!(
            choose(IntentChoice::Fixed(3), Some(&p), sad, 0.5),
            (3, Vec::new())
        );
        assert_eq!(
            choose(IntentChoice::default(), None, sad, 0.5).0,
            UNKNOWN_INTENT
        );
    }

    #[test]
    fn names_parse_and_a_wrong_one_lists_the_choices() {
        assert_eq!(
            IntentChoice::parse("questioning", true, false),
            Ok(IntentChoice::Fixed(6))
        );
        assert_eq!(
            IntentChoice::parse("unknown", true, false),
            Ok(IntentChoice::Fixed(UNKNOWN_INTENT))
        );
        assert_eq!(
            IntentChoice::parse("auto", false, true),
            Ok(IntentChoice::Policy {
                prior: false,
                sample: true
            })
        );
        let err = IntentChoice::parse("hugging", true, false).unwrap_err();
        assert!(
            err.0.contains("hugging") && err.0.contains("consoling"),
            "{err}"
        );
    }
}
