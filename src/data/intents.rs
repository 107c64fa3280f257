//! EmpatheticIntents' files as the library reads them (Welivita & Pu 2020): the per-utterance labels of all of ED
//! (`empatheticdialogues_annotated/<emotion>.csv`) and the intent-labelled replies the intent judge learns from
//! (`lexically_extended_intent_data/<split>/<intent>.txt`, `manual_annotations/`). Reading the folders is
//! [`super::files`]'s.

use std::collections::HashMap;

use super::{Conversation, INTENTS, N_INTENTS};
use crate::format::Invalid;

/// One labelled reply.
#[derive(Debug, Clone, PartialEq)]
pub struct Labelled {
    pub text: String,
    /// Index into [`INTENTS`] (below [`N_INTENTS`]).
    pub intent: usize,
}

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
    pub fn add_csv(&mut self, text: &str) -> Result<(), Invalid> {
        for (i, rec) in records(text).into_iter().enumerate() {
            let f = csv_fields(&rec);
            if i == 0 {
                if f.first().map(String::as_str) != Some("Dialog_ID") {
                    return Err(Invalid::from(format!(
                        "expected the header Dialog_ID,Type,Actor,Text,Label, found `{}`",
                        rec.chars().take(60).collect::<String>()
                    )));
                }
                continue;
            }
            if f.len() != 5 {
                return Err(Invalid::from(format!(
                    "record {}: expected 5 fields, found {}",
                    i + 1,
                    f.len()
                )));
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

/// The intent index of a file name of the EmpatheticIntents data (`acknowleding` is the source's spelling).
pub fn intent_of_file(stem: &str) -> Option<usize> {
    let name = if stem == "acknowleding" {
        "acknowledging"
    } else {
        stem
    };
    INTENTS[..N_INTENTS].iter().position(|i| *i == name)
}

/// The replies of one intent file: `<id> <SEP> text` lines (lexically extended data) or plain lines (manual
/// annotations); blank lines are skipped.
pub fn parse_lines(text: &str, intent: usize) -> Vec<Labelled> {
    text.lines()
        .map(|l| l.split_once("<SEP>").map_or(l, |(_, t)| t).trim())
        .filter(|t| !t.is_empty())
        .map(|t| Labelled {
            text: t.to_string(),
            intent,
        })
        .collect()
}
