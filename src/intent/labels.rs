//! Intent labels of ED listener turns from EmpatheticIntents' `empatheticdialogues_annotated/` (one predicted
//! label per utterance by Welivita & Pu's BERT classifier, over all of ED). A listener turn labelled with one of
//! the 9 intents keeps it; one labelled with an emotion (the classifier's other 32 outputs) has no intent here
//! (`None`) — the intent judge labels those where a label is needed.

use std::collections::HashMap;

use super::judge::{IntentJudge, N_INTENTS};
pub use crate::data::intents::Annotations;
use crate::data::{Conversation, EMOTIONS, INTENTS, Sample};

/// Where the intents of a set of samples came from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LabelCounts {
    /// From the annotations.
    pub annotated: usize,
    /// From the judge (annotation missing or an emotion).
    pub judged: usize,
    /// Left without an intent (no annotation and no judge).
    pub unlabelled: usize,
}

/// Sets each sample's intent: the data's own label where it has one (a conversations file's `intent`), else the
/// annotation where it names one of the 9 intents, otherwise the judge's reading of the reply (when a judge is
/// given), otherwise none. Own labels count as annotated.
pub fn label_samples(
    samples: &mut [Sample],
    conversations: &[Conversation],
    annotations: &Annotations,
    judge: Option<&IntentJudge>,
) -> LabelCounts {
    let by_id: HashMap<&str, Vec<Option<usize>>> = conversations
        .iter()
        .filter_map(|c| Some((c.id.as_str(), annotations.listener_intents(c)?)))
        .collect();
    let own: HashMap<&str, &[Option<usize>]> = conversations
        .iter()
        .filter(|c| !c.intents.is_empty())
        .map(|c| (c.id.as_str(), c.intents.as_slice()))
        .collect();
    let mut counts = LabelCounts::default();
    for s in samples {
        let gold = own
            .get(s.conv_id.as_str())
            .and_then(|l| l.get(s.turn).copied().flatten())
            .or_else(|| {
                by_id
                    .get(s.conv_id.as_str())
                    .and_then(|l| l.get(s.turn / 2).copied().flatten())
            });
        s.intent = gold.or_else(|| judge.map(|j| j.classify(&s.reply)));
        match (gold, s.intent) {
            (Some(_), _) => counts.annotated += 1,
            (None, Some(_)) => counts.judged += 1,
            (None, None) => counts.unlabelled += 1,
        }
    }
    counts
}

/// The emotion → intent-group prior of DESIGN.md (the paper's Table 1 as transcribed publicly): five groups of
/// emotions, each with three intents.
pub const PRIOR_GROUPS: [(&[&str], [&str; 3]); 5] = [
    (
        &[
            "surprised",
            "proud",
            "impressed",
            "nostalgic",
            "trusting",
            "faithful",
            "prepared",
        ],
        ["acknowledging", "encouraging", "questioning"],
    ),
    (
        &[
            "excited",
            "confident",
            "joyful",
            "grateful",
            "content",
            "caring",
        ],
        ["encouraging", "sympathizing", "acknowledging"],
    ),
    (
        &[
            "disgusted",
            "furious",
            "devastated",
            "angry",
            "disappointed",
            "annoyed",
            "ashamed",
        ],
        ["consoling", "suggesting", "encouraging"],
    ),
    (
        &["hopeful", "sentimental"],
        ["encouraging", "wishing", "consoling"],
    ),
    (
        &[
            "anticipating",
            "lonely",
            "afraid",
            "anxious",
            "guilty",
            "embarrassed",
            "sad",
            "apprehensive",
            "terrified",
            "jealous",
        ],
        ["agreeing", "encouraging", "neutral"],
    ),
];

/// The prior group of an emotion id.
pub fn group_of(emotion: usize) -> Option<usize> {
    let name = EMOTIONS.get(emotion)?;
    PRIOR_GROUPS.iter().position(|(e, _)| e.contains(name))
}

/// Share of the prior's mass on the three intents of the emotion's group; the rest is spread over the other six,
/// so that the policy can still choose them when it is sure.
pub const PRIOR_GROUP_MASS: f32 = 0.8;

/// P_prior(intent | emotion) over the 9 intents, from [`PRIOR_GROUPS`].
pub fn prior(emotion: usize) -> [f32; N_INTENTS] {
    let mut p = [(1.0 - PRIOR_GROUP_MASS) / (N_INTENTS - 3) as f32; N_INTENTS];
    if let Some(g) = group_of(emotion) {
        for name in PRIOR_GROUPS[g].1 {
            let i = INTENTS
                .iter()
                .position(|n| *n == name)
                .expect("a known intent");
            p[i] = PRIOR_GROUP_MASS / 3.0;
        }
    } else {
        p = [1.0 / N_INTENTS as f32; N_INTENTS];
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_quoted_csv_and_joins_listener_turns() {
        let csv = "Dialog_ID,Type,Actor,Text,Label\n\
hit:1_conv:2,situation,none,\"A fire, at night\",afraid\n\
hit:1_conv:2,utterance,speaker,My car caught fire!,afraid\n\
hit:1_conv:2,utterance,listener,\"Oh my gosh, what did you \"\"do\"\"?\",questioning\n\
hit:1_conv:2,utterance,speaker,I jumped out.,afraid\n\
hit:1_conv:2,utterance,listener,That is terrifying.,terrified\n";
        let mut a = Annotations::default();
        a.add_csv(csv).unwrap();
        assert_eq!(a.conversations(), 1);
        let conv = |n: usize| Conversation {
            id: "hit:1_conv:2".into(),
            emotion: 0,
            situation: String::new(),
            turns: vec!["t".into(); n],
            intents: Vec::new(),
        };
        // questioning = 6; an emotion label gives no intent.
        assert_eq!(a.listener_intents(&conv(4)), Some(vec![Some(6), None]));
        assert_eq!(a.listener_intents(&conv(3)), None, "turn counts differ");
        assert!(a.add_csv("wrong,header\n").is_err());
        assert!(a.add_csv("Dialog_ID,Type\nx,y\n").is_err());
    }

    /// Conversation c1's annotations: its first listener turn is questioning, its second carries an emotion only.
    fn annotations_c1() -> Annotations {
        let csv = "Dialog_ID,Type,Actor,Text,Label\n\
c1,utterance,speaker,a,sad\n\
c1,utterance,listener,b,questioning\n\
c1,utterance,speaker,c,sad\n\
c1,utterance,listener,d,sad\n";
        let mut a = Annotations::default();
        a.add_csv(csv).unwrap();
        a
    }

    #[test]
    fn samples_take_the_annotation_else_nothing_without_a_judge() {
        let a = annotations_c1();
        let conv = Conversation {
            id: "c1".into(),
            emotion: 27,
            situation: String::new(),
            turns: ["a", "b", "c", "d"].map(String::from).to_vec(),
            intents: Vec::new(),
        };
        let other = Conversation {
            id: "c2".into(),
            ..conv.clone()
        };
        let mut s = crate::data::samples(&[conv.clone(), other.clone()], 6);
        let counts = label_samples(&mut s, &[conv, other], &a, None);
        let intents: Vec<Option<usize>> = s.iter().map(|s| s.intent).collect();
        assert_eq!(intents, [Some(6), None, None, None]);
        assert_eq!(
            counts,
            LabelCounts {
                annotated: 1,
                judged: 0,
                unlabelled: 3
            }
        );
    }

    #[test]
    fn a_conversations_own_intents_come_before_the_annotations() {
        let a = annotations_c1();
        // its own label on the second listener turn (consoling = 3), none on the first
        let conv = Conversation {
            id: "c1".into(),
            emotion: 27,
            situation: String::new(),
            turns: ["a", "b", "c", "d"].map(String::from).to_vec(),
            intents: vec![None, None, None, Some(3)],
        };
        let mut s = crate::data::samples(std::slice::from_ref(&conv), 6);
        let counts = label_samples(&mut s, &[conv], &a, None);
        let intents: Vec<Option<usize>> = s.iter().map(|s| s.intent).collect();
        assert_eq!(
            intents,
            [Some(6), Some(3)],
            "annotation where it has none of its own"
        );
        assert_eq!(counts.annotated, 2);
    }

    #[test]
    fn the_prior_favours_the_emotions_group_and_sums_to_one() {
        let sad = EMOTIONS.iter().position(|e| *e == "sad").unwrap();
        let p = prior(sad);
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        let top: Vec<&str> = (0..N_INTENTS)
            .filter(|&i| p[i] > 0.2)
            .map(|i| INTENTS[i])
            .collect();
        assert_eq!(top, ["agreeing", "encouraging", "neutral"]);
    }

    #[test]
    fn every_emotion_has_one_prior_group() {
        for (e, name) in EMOTIONS.iter().enumerate() {
            assert!(group_of(e).is_some(), "{name} has no group");
        }
        let named: usize = PRIOR_GROUPS.iter().map(|(e, _)| e.len()).sum();
        assert_eq!(named, EMOTIONS.len());
    }
}
