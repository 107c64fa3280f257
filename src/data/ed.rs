//! Parser for the official EmpatheticDialogues CSV layout: 8 comma-separated fields, no quoting, commas inside
//! text written as `_comma_`, a header line. Works on bytes so the browser build can use it too.

use super::{DataError, emotion_id};

/// The header every official split file starts with.
const HEADER: &str = "conv_id,utterance_idx,context,prompt,speaker_idx,utterance,selfeval,tags";
const FIELDS: usize = 8;

/// One conversation: a speaker describes a situation, speaker and listener alternate turns.
#[derive(Debug, Clone, PartialEq)]
pub struct Conversation {
    pub id: String,
    /// Index into [`super::EMOTIONS`].
    pub emotion: usize,
    /// The speaker's written situation (`prompt`); not shown to the model, kept for inspection.
    pub situation: String,
    /// Turns in order; turn 0 (utterance_idx 1) is the speaker's, turns alternate from there.
    pub turns: Vec<String>,
    /// The intent (index into [`super::INTENTS`]) of each turn where the data names one: a conversations file's
    /// listener turns. Empty when it names none, as for ED, whose labels come from EmpatheticIntents'
    /// annotations ([`crate::intent::labels`]).
    pub intents: Vec<Option<usize>>,
}

fn unescape(field: &str) -> String {
    field.replace("_comma_", ",").trim().to_string()
}

/// Parses one split file. `file` is only used to name the source in errors.
pub fn parse_conversations(file: &str, bytes: &[u8]) -> Result<Vec<Conversation>, DataError> {
    let err = |line: usize, message: String| DataError::Parse {
        file: file.to_string(),
        line,
        message,
    };
    let mut conversations: Vec<Conversation> = Vec::new();
    let mut last_idx = 0usize;
    // A UTF-8 byte-order mark (spreadsheet programs write one) is not part of the header.
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);

    for (n, raw) in bytes.split(|b| *b == b'\n').enumerate() {
        let line_no = n + 1;
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let line = std::str::from_utf8(raw).map_err(|e| {
            err(
                line_no,
                format!("invalid UTF-8 at byte {} of the line", e.valid_up_to()),
            )
        })?;
        if n == 0 {
            if !line.starts_with("conv_id,utterance_idx") {
                return Err(err(
                    1,
                    format!("expected the header `{HEADER}`, found `{}`", clip(line)),
                ));
            }
            continue;
        }
        if line.is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split(',').collect();
        if fields.len() != FIELDS {
            return Err(err(
                line_no,
                format!(
                    "expected {FIELDS} comma-separated fields ({HEADER}), found {}",
                    fields.len()
                ),
            ));
        }
        let idx: usize = fields[1].parse().map_err(|_| {
            err(
                line_no,
                format!(
                    "utterance_idx must be a positive integer, found `{}`",
                    clip(fields[1])
                ),
            )
        })?;
        let emotion = emotion_id(fields[2]).ok_or_else(|| {
            err(
                line_no,
                format!(
                    "unknown emotion label `{}` in column context",
                    clip(fields[2])
                ),
            )
        })?;
        let same_conv = conversations.last().is_some_and(|c| c.id == fields[0]);
        if !same_conv {
            if idx != 1 {
                return Err(err(
                    line_no,
                    format!(
                        "conversation {} starts at utterance_idx {idx}, not 1",
                        fields[0]
                    ),
                ));
            }
            conversations.push(Conversation {
                id: fields[0].to_string(),
                emotion,
                situation: unescape(fields[3]),
                turns: Vec::new(),
                intents: Vec::new(),
            });
        } else if idx != last_idx + 1 {
            return Err(err(
                line_no,
                format!(
                    "utterance_idx {idx} follows {last_idx} in conversation {}",
                    fields[0]
                ),
            ));
        }
        last_idx = idx;
        conversations
            .last_mut()
            .expect("pushed above")
            .turns
            .push(unescape(fields[5]));
    }
    if conversations.is_empty() {
        return Err(DataError::EmptySplit {
            file: file.to_string(),
        });
    }
    Ok(conversations)
}

fn clip(s: &str) -> String {
    if s.chars().count() > 60 {
        format!("{}…", s.chars().take(60).collect::<String>())
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROWS: &str = "conv_id,utterance_idx,context,prompt,speaker_idx,utterance,selfeval,tags\n\
hit:3_conv:6,1,terrified,A tire burst_comma_ scary.,,That scared the hell out of me!,,\n\
hit:3_conv:6,2,terrified,A tire burst_comma_ scary.,,Are you fine now?,,\n\
hit:3_conv:6,3,terrified,A tire burst_comma_ scary.,,Yeah_comma_ I'm fine.,,\n";

    #[test]
    fn a_byte_order_mark_before_the_header_is_skipped() {
        let with_bom = [b"\xEF\xBB\xBF".as_slice(), ROWS.as_bytes()].concat();
        assert_eq!(
            parse_conversations("t.csv", &with_bom).unwrap(),
            parse_conversations("t.csv", ROWS.as_bytes()).unwrap()
        );
    }

    #[test]
    fn commas_are_unescaped_and_turns_grouped() {
        let convs = parse_conversations("t.csv", ROWS.as_bytes()).unwrap();
        assert_eq!(convs.len(), 1);
        assert_eq!(
            convs[0].turns,
            [
                "That scared the hell out of me!",
                "Are you fine now?",
                "Yeah, I'm fine."
            ]
        );
        assert_eq!(convs[0].situation, "A tire burst, scary.");
        assert_eq!(crate::data::EMOTIONS[convs[0].emotion], "terrified");
    }

    #[test]
    fn a_gap_in_utterance_idx_names_the_line() {
        let broken = ROWS.replace(",3,terrified", ",4,terrified");
        let e = parse_conversations("t.csv", broken.as_bytes())
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("t.csv:4:"), "{e}");
    }
}
