//! Intent Twice's "explore": which intent the reply is written for. The policy π(intent | Q) is a head of the
//! encoder (`model.intent_policy`); here its probabilities are combined with the emotion → intent-group prior of
//! DESIGN.md (switchable) or overridden by the user.

use super::judge::N_INTENTS;
use super::labels::prior;
use crate::data::{INTENTS, UNKNOWN_INTENT};

/// How the intent of a reply is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntentChoice {
    /// The policy's most probable intent, its probabilities multiplied by the emotion's prior when `prior` is
    /// true; "unknown" for a model without a policy.
    Policy { prior: bool },
    /// Always this intent (an index into [`INTENTS`], "unknown" included).
    Fixed(usize),
}

impl Default for IntentChoice {
    fn default() -> Self {
        Self::Policy { prior: true }
    }
}

impl IntentChoice {
    /// Parses an intent name, "auto" (the policy) or "unknown"; the error lists what is accepted.
    pub fn parse(name: &str, prior: bool) -> Result<Self, String> {
        match name {
            "auto" => Ok(Self::Policy { prior }),
            _ => INTENTS
                .iter()
                .position(|i| *i == name)
                .map(Self::Fixed)
                .ok_or_else(|| {
                    format!(
                        "unknown intent `{name}`; choose auto, {} or unknown",
                        INTENTS[..N_INTENTS].join(", ")
                    )
                }),
        }
    }
}

/// The chosen intent and the three most probable intents with their probabilities (empty when the intent did
/// not come from the policy).
pub type Chosen = (usize, Vec<(usize, f32)>);

/// Chooses the intent of one row from the policy's probabilities (`None` without a policy) and the row's
/// emotion.
pub fn choose(choice: IntentChoice, policy: Option<&[f32]>, emotion: usize) -> Chosen {
    match (choice, policy) {
        (IntentChoice::Fixed(i), _) => (i, Vec::new()),
        (IntentChoice::Policy { .. }, None) => (UNKNOWN_INTENT, Vec::new()),
        (IntentChoice::Policy { prior: with_prior }, Some(p)) => {
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
            let mut order: Vec<(usize, f32)> = post.into_iter().enumerate().collect();
            order.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            order.truncate(3);
            (order[0].0, order)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::EMOTIONS;

    #[test]
    fn the_prior_can_tip_a_close_call_and_can_be_switched_off() {
        let sad = EMOTIONS.iter().position(|e| *e == "sad").unwrap();
        // questioning (6) slightly ahead of agreeing (0), which is in sad's prior group.
        let mut p = [0.02f32; N_INTENTS];
        p[6] = 0.45;
        p[0] = 0.41;
        let (with, top) = choose(IntentChoice::Policy { prior: true }, Some(&p), sad);
        assert_eq!(with, 0);
        assert!((top.iter().map(|t| t.1).sum::<f32>()) <= 1.0 + 1e-5);
        let (without, _) = choose(IntentChoice::Policy { prior: false }, Some(&p), sad);
        assert_eq!(without, 6);
        assert_eq!(
            choose(IntentChoice::Fixed(3), Some(&p), sad),
            (3, Vec::new())
        );
        assert_eq!(choose(IntentChoice::default(), None, sad).0, UNKNOWN_INTENT);
    }

    #[test]
    fn names_parse_and_a_wrong_one_lists_the_choices() {
        assert_eq!(
            IntentChoice::parse("questioning", true),
            Ok(IntentChoice::Fixed(6))
        );
        assert_eq!(
            IntentChoice::parse("unknown", true),
            Ok(IntentChoice::Fixed(UNKNOWN_INTENT))
        );
        assert_eq!(
            IntentChoice::parse("auto", false),
            Ok(IntentChoice::Policy { prior: false })
        );
        let err = IntentChoice::parse("hugging", true).unwrap_err();
        assert!(
            err.contains("hugging") && err.contains("consoling"),
            "{err}"
        );
    }
}
