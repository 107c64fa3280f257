//! Intent labels of ED listener turns from EmpatheticIntents' `empatheticdialogues_annotated/` (one predicted
//! label per utterance by Welivita & Pu's BERT classifier, over all of ED). A listener turn labelled with one of
//! the 9 intents keeps it; one labelled with an emotion (the classifier's other 32 outputs) has no intent here
//! (`None`) — the intent judge labels those where a label is needed.

use std::collections::HashMap;

use super::judge::N_INTENTS;
use crate::data::{Conversation, EMOTIONS, INTENTS};

/// Per conversation id, the label of each utterance in order (the situation rows are left out).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Annotations {
    utterances: HashMap<String, Vec<String>>,
}

/// Splits one CSV record with double-quote quoting (`""` inside quotes is a quote).
fn csv_fields(line: &str) -> Vec<String> {
    let (mut out, mut cur, mut quoted) = (Vec::new(), String::new(), false);
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    out.push(cur);
    out
}

/// CSV records of `text`: a newline inside quotes continues the record.
fn records(text: &str) -> Vec<String> {
    let (mut out, mut cur) = (Vec::new(), String::new());
    for line in text.lines() {
        if !cur.is_empty() {
            cur.push('\n');
        }
        cur.push_str(line);
        if cur.matches('"').count() % 2 == 0 {
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

impl Annotations {
    /// Adds one `<emotion>.csv` (`Dialog_ID,Type,Actor,Text,Label`).
    pub fn add_csv(&mut self, text: &str) -> Result<(), String> {
        for (i, rec) in records(text).into_iter().enumerate() {
            let f = csv_fields(&rec);
            if i == 0 {
                if f.first().map(String::as_str) != Some("Dialog_ID") {
                    return Err(format!(
                        "expected the header Dialog_ID,Type,Actor,Text,Label, found `{}`",
                        rec.chars().take(60).collect::<String>()
                    ));
                }
                continue;
            }
            if f.len() != 5 {
                return Err(format!(
                    "record {}: expected 5 fields, found {}",
                    i + 1,
                    f.len()
                ));
            }
            if f[1] == "utterance" {
                self.utterances
                    .entry(f[0].clone())
                    .or_default()
                    .push(f[4].clone());
            }
        }
        Ok(())
    }

    /// The intent of each listener turn of `conv` (`turns[k]` for odd k), `None` where the annotation is an
    /// emotion; `None` for the whole conversation when it is not annotated or its turn count differs.
    pub fn listener_intents(&self, conv: &Conversation) -> Option<Vec<Option<usize>>> {
        let labels = self.utterances.get(&conv.id)?;
        if labels.len() != conv.turns.len() {
            return None;
        }
        Some(
            labels
                .iter()
                .skip(1)
                .step_by(2)
                .map(|l| INTENTS[..N_INTENTS].iter().position(|i| i == l))
                .collect(),
        )
    }

    pub fn conversations(&self) -> usize {
        self.utterances.len()
    }
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
        };
        // questioning = 6; an emotion label gives no intent.
        assert_eq!(a.listener_intents(&conv(4)), Some(vec![Some(6), None]));
        assert_eq!(a.listener_intents(&conv(3)), None, "turn counts differ");
        assert!(a.add_csv("wrong,header\n").is_err());
        assert!(a.add_csv("Dialog_ID,Type\nx,y\n").is_err());
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
