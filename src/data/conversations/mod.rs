//! The conversations file: your own dialogues in JSON Lines, one conversation per line, read into the same
//! [`Conversation`]s as EmpatheticDialogues (so the same sample builder serves both):
//!
//! ```json
//! {"id": "c1", "split": "train", "emotion": "afraid", "situation": "…",
//!  "turns": [{"speaker": "speaker", "text": "I heard a noise downstairs last night."},
//!            {"speaker": "listener", "text": "Oh no, what was it?", "intent": "questioning"}]}
//! ```
//!
//! `turns` alternate, the person telling what happened (`speaker`) first (other names map to the roles with
//! `--roles`, [`set_role_names`]); `id`, `split` (`train` / `valid` /
//! `test`; train when absent), `situation` and each listener turn's `intent` are optional; `emotion` is one of ED's
//! 32 labels, or absent when the data has none: the emotion head then does not learn from that conversation, and
//! the decoder is conditioned on the emotion the encoder reads, as when it samples. A listener turn's `intent` is
//! that sample's intent label in training (`intent::labels`; the judge labels the turns without one). Every command's `--data` takes such a file in place of ED's folder.
//! `reflectdiffu data convert --from ed` writes ED in this format.

use serde::{Deserialize, Serialize};

use super::{Conversation, EMOTIONS, INTENTS, N_INTENTS};

mod read;

pub use read::{MAX_LINE_BYTES, Read, read_conversations, read_conversations_skipping};

/// `--roles`: other names for the two roles (ESConv's `seeker` / `supporter`, a forum's user names…), as
/// (name, `speaker` or `listener`) pairs. Process-wide, like the CLI flag that sets it; empty = the names are the
/// roles.
static ROLE_NAMES: std::sync::RwLock<Vec<(String, &'static str)>> =
    std::sync::RwLock::new(Vec::new());

/// Sets `--roles`: `NAME=speaker` / `NAME=listener` pairs, comma-separated; anything else is an error.
pub fn set_role_names(spec: &str) -> Result<(), String> {
    let mut names = Vec::new();
    for pair in spec.split(',').filter(|p| !p.trim().is_empty()) {
        let (name, role) = pair.split_once('=').ok_or_else(|| {
            format!(
                "`{pair}` is not NAME=ROLE; write e.g. --roles seeker=speaker,supporter=listener"
            )
        })?;
        let role = match role.trim() {
            "speaker" => "speaker",
            "listener" => "listener",
            other => {
                return Err(format!(
                    "`{other}` is not a role: a name maps to `speaker` (who tells what happened) or `listener`"
                ));
            }
        };
        names.push((name.trim().to_string(), role));
    }
    *ROLE_NAMES.write().unwrap_or_else(|e| e.into_inner()) = names;
    Ok(())
}

/// The role a turn's `speaker` field names.
fn role_of(name: &str) -> &str {
    let names = ROLE_NAMES.read().unwrap_or_else(|e| e.into_inner());
    match names.iter().find(|(n, _)| n == name) {
        Some((_, role)) => role,
        None => name,
    }
}

/// One line of a conversations file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConversationLine {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split: Option<String>,
    /// One of ED's 32 emotions; absent when the data has none (the emotion head then does not learn from it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emotion: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub situation: Option<String>,
    pub turns: Vec<Turn>,
}

/// One turn of a conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Turn {
    /// `speaker` (the person telling what happened) or `listener`.
    pub speaker: String,
    pub text: String,
    /// A listener turn's empathetic intent, one of the 9 names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intent: Option<String>,
}

impl ConversationLine {
    /// ED's conversation in this format (turns alternate, the speaker's first).
    pub fn from_conversation(c: &Conversation, split: &str) -> Self {
        Self {
            id: Some(c.id.clone()),
            split: Some(split.to_string()),
            emotion: EMOTIONS.get(c.emotion).map(|e| e.to_string()),
            situation: Some(c.situation.clone()),
            turns: c
                .turns
                .iter()
                .enumerate()
                .map(|(i, t)| Turn {
                    speaker: if i % 2 == 0 { "speaker" } else { "listener" }.into(),
                    text: t.clone(),
                    intent: c
                        .intents
                        .get(i)
                        .copied()
                        .flatten()
                        .map(|k| INTENTS[k].to_string()),
                })
                .collect(),
        }
    }

    /// The conversation, checked: a known emotion, alternating roles starting with the speaker, no empty turn,
    /// at least one listener turn, known intents. `index` names the conversation in messages (its line number
    /// gives its default id).
    pub fn into_conversation(self, index: usize) -> Result<Conversation, String> {
        let emotion = match &self.emotion {
            None => super::UNKNOWN_EMOTION,
            Some(name) => EMOTIONS.iter().position(|e| e == name).ok_or_else(|| {
                format!(
                    "unknown emotion `{name}`; the known ones are {} (or leave `emotion` out when the data has none)",
                    EMOTIONS.join(", ")
                )
            })?,
        };
        let mut turns = Vec::with_capacity(self.turns.len());
        let mut intents = Vec::with_capacity(self.turns.len());
        for (i, t) in self.turns.into_iter().enumerate() {
            let want = if i % 2 == 0 { "speaker" } else { "listener" };
            let role = role_of(&t.speaker);
            if role != want {
                let hint = if role == "speaker" || role == "listener" {
                    ""
                } else {
                    " (other names for the roles: --roles NAME=speaker,NAME=listener)"
                };
                return Err(format!(
                    "turn {} is `{}` but should be `{want}`: turns alternate, the speaker's first{hint}",
                    i + 1,
                    t.speaker
                ));
            }
            if t.text.trim().is_empty() {
                return Err(format!("turn {} is empty", i + 1));
            }
            let intent = match &t.intent {
                None => None,
                Some(name) => Some(
                    INTENTS[..N_INTENTS]
                        .iter()
                        .position(|k| k == name)
                        .ok_or_else(|| {
                            format!(
                                "turn {}: unknown intent `{name}`; the known ones are {}",
                                i + 1,
                                INTENTS[..N_INTENTS].join(", ")
                            )
                        })?,
                ),
            };
            if intent.is_some() && want == "speaker" {
                return Err(format!(
                    "turn {}: an intent belongs to a listener turn, not the speaker's",
                    i + 1
                ));
            }
            intents.push(intent);
            turns.push(t.text);
        }
        if turns.len() < 2 {
            return Err("the conversation has no listener turn to learn from".into());
        }
        Ok(Conversation {
            id: self.id.unwrap_or_else(|| format!("line-{index}")),
            emotion,
            situation: self.situation.unwrap_or_default(),
            turns,
            // none named: empty, as for ED
            intents: if intents.iter().any(Option::is_some) {
                intents
            } else {
                Vec::new()
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Vec<Conversation>, crate::data::DataError> {
        read_conversations(text.as_bytes(), "c.jsonl", None)
    }

    #[test]
    fn a_conversation_reads_back_as_it_was_written() {
        let conv = Conversation {
            id: "hit:1".into(),
            emotion: 3,
            situation: "a situation, with a comma".into(),
            turns: vec!["I was scared.".into(), "Why?".into(), "A noise.".into()],
            intents: vec![None, Some(6), None],
        };
        let line =
            serde_json::to_string(&ConversationLine::from_conversation(&conv, "train")).unwrap();
        assert_eq!(parse(&line).unwrap(), vec![conv.clone()]);
        assert!(
            read_conversations(line.as_bytes(), "c", Some("test"))
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn every_bad_line_is_named_with_what_is_wrong() {
        let ok = r#"{"emotion": "afraid", "turns": [{"speaker": "speaker", "text": "hi"}, {"speaker": "listener", "text": "hello"}]}"#;
        for (bad, says) in [
            ("{oops", "not a conversation"),
            (
                r#"{"emotion": "hangry", "turns": []}"#,
                "unknown emotion `hangry`",
            ),
            (
                r#"{"emotion": "afraid", "turns": [{"speaker": "speaker", "text": "hi"}]}"#,
                "no listener turn",
            ),
            (
                r#"{"emotion": "afraid", "turns": [{"speaker": "listener", "text": "hi"}, {"speaker": "speaker", "text": "x"}]}"#,
                "should be `speaker`",
            ),
            (
                r#"{"emotion": "afraid", "turns": [{"speaker": "speaker", "text": " "}, {"speaker": "listener", "text": "x"}]}"#,
                "turn 1 is empty",
            ),
            (
                r#"{"emotion": "afraid", "turns": [{"speaker": "speaker", "text": "a"}, {"speaker": "listener", "text": "b", "intent": "hugging"}]}"#,
                "unknown intent `hugging`",
            ),
            (
                r#"{"emotion": "afraid", "turns": [{"speaker": "speaker", "text": "a", "intent": "questioning"}, {"speaker": "listener", "text": "b"}]}"#,
                "an intent belongs to a listener turn",
            ),
        ] {
            let e = parse(&format!("{ok}\n{bad}\n")).unwrap_err().to_string();
            assert!(
                e.starts_with("c.jsonl:2: ") && e.contains(says),
                "{bad}: {e}"
            );
        }
        let long = format!("{ok}\n{}\n", "x".repeat(MAX_LINE_BYTES + 5));
        let e = parse(&long).unwrap_err().to_string();
        assert!(
            e.starts_with("c.jsonl:2: ") && e.contains("bytes long"),
            "{e}"
        );
        // with a small buffer the over-long line arrives in many pieces and is still named
        let e = read_conversations(
            std::io::BufReader::with_capacity(7, format!("{long}{{oops\n").as_bytes()),
            "c.jsonl",
            None,
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("c.jsonl:2: "), "{e}");
        let e = read_conversations(&b"\xff\xfe\n"[..], "c.jsonl", None).unwrap_err();
        assert!(e.to_string().contains("invalid UTF-8"), "{e}");
        // a byte-order mark and blank lines are fine; a missing id is the line's
        let got = parse(&format!("\u{FEFF}{ok}\n\n{ok}\n")).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(
            (got[0].id.as_str(), got[1].id.as_str()),
            ("line-1", "line-3")
        );
    }
}
