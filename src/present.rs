//! What every front end (`sample`, `chat`, the web page) shows for one answer: the reply or the crisis note, the
//! emotion it read, and which of the user's words the model took as emotion reasons. One place, so the CLI's
//! `--json` and the page agree field for field.

use serde::Serialize;
use serde_json::json;

use crate::inference::Reply;
use crate::reason::ReasonTagger;
use crate::safety::{Assessment, Tier};
use crate::tokenizer::{TextTokenizer, TokenizerError};

/// What a user is shown: the generated text, the fixed note instead of it when the conversation shows a clear
/// risk of suicide or self-harm, or the text followed by a gentle note when it shows a possible one (see
/// [`crate::safety`]).
pub fn shown_text(r: &Reply, safety: &Assessment) -> String {
    safety.shown(&r.text)
}

/// The JSON object `sample --json` prints and the web page reads. `reply` is what the user is shown (never
/// the generated text alone when a note is due); `safety.crisis` is true when the reply was withheld.
pub fn reply_json(r: &Reply, safety: &Assessment) -> serde_json::Value {
    json!({
        "reply": shown_text(r, safety),
        "emotion": r.emotion.iter().map(|(label, p)| json!({"label": label, "p": p})).collect::<Vec<_>>(),
        "intent": crate::data::INTENTS[r.intent_id],
        "truncated": r.truncated,
        "safety": safety_json(safety),
    })
}

/// The `safety` object of [`reply_json`].
pub fn safety_json(safety: &Assessment) -> serde_json::Value {
    if safety.tier == Tier::None {
        return json!({"crisis": false, "tier": safety.tier});
    }
    json!({
        "crisis": safety.is_crisis(),
        "tier": safety.tier,
        "concern": safety.concern,
        "category": safety.category,
        "matched": safety.matched,
        "carried": safety.carried,
        "note": safety.note(),
    })
}

/// The reason segments of every speaker turn of a conversation (oldest first, the last turn the speaker's, so
/// the speaker's turns are the last one and every second one before it), as (turn index, segments).
pub fn speaker_reasons(
    tokenizer: &TextTokenizer,
    tagger: &ReasonTagger,
    turns: &[String],
) -> Result<Vec<(usize, Vec<Segment>)>, TokenizerError> {
    let n = turns.len();
    turns
        .iter()
        .enumerate()
        .filter(|(i, _)| (n - 1 - i).is_multiple_of(2))
        .map(|(i, t)| Ok((i, reason_segments(tokenizer, tagger, t)?)))
        .collect()
}

/// The `explain` object of `sample --json --explain` and of the web page: the emotion top-3, the speaker's
/// words the model marks as reasons, and the intent (null until the intent stage exists).
pub fn explain_json(reply: &Reply, reasons: &[(usize, Vec<Segment>)]) -> serde_json::Value {
    json!({
        "emotion": reply.emotion.iter().map(|(label, p)| json!({"label": label, "p": p})).collect::<Vec<_>>(),
        "reasons": reasons.iter().map(|(turn, seg)| json!({"turn": turn, "segments": seg})).collect::<Vec<_>>(),
        "intent": {
            "chosen": crate::data::INTENTS[reply.intent_id],
            "policy": reply.intents.iter().map(|(label, p)| json!({"label": label, "p": p})).collect::<Vec<_>>(),
        },
    })
}

/// A turn with its reason words between « and », for terminals.
pub fn marked_text(segments: &[Segment]) -> String {
    segments
        .iter()
        .map(|s| {
            if s.reason {
                format!("«{}»", s.text)
            } else {
                s.text.clone()
            }
        })
        .collect()
}

/// A piece of a message: consecutive pieces give the message back exactly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Segment {
    pub text: String,
    /// True when the reason tagger marks this word `<em>` (carries the emotion or its cause) for the model.
    pub reason: bool,
}

/// Splits `text` into plain pieces and the words the reason tagger marks, as the model sees them.
pub fn reason_segments(
    tokenizer: &TextTokenizer,
    tagger: &ReasonTagger,
    text: &str,
) -> Result<Vec<Segment>, TokenizerError> {
    segments_by(tokenizer, text, |w| tagger.tag_words(w))
}

/// [`reason_segments`] with any word tagger (`tag` gets the turn's lower-cased words, returns a flag per word).
pub fn segments_by(
    tokenizer: &TextTokenizer,
    text: &str,
    tag: impl Fn(&[String]) -> Vec<bool>,
) -> Result<Vec<Segment>, TokenizerError> {
    let words = tokenizer.words(text)?;
    let lowered: Vec<String> = words.iter().map(|(_, w)| w.clone()).collect();
    let mut out: Vec<Segment> = Vec::new();
    let mut push = |piece: &str, reason: bool| {
        if piece.is_empty() {
            return;
        }
        match out.last_mut() {
            Some(last) if last.reason == reason && !reason => last.text.push_str(piece),
            _ => out.push(Segment {
                text: piece.to_string(),
                reason,
            }),
        }
    };
    let mut at = 0;
    for ((range, _), reason) in words.iter().zip(tag(&lowered)) {
        if range.start < at {
            continue; // overlapping offsets (should not happen); keep the text exact
        }
        push(&text[at..range.start], false);
        push(&text[range.clone()], reason);
        at = range.end;
    }
    push(&text[at..], false);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_give_the_message_back_and_mark_the_reason_words() {
        let texts = [
            "I was so scared, my tire burst!",
            "Are you fine now?",
            "That sounds scary.",
        ];
        let tok = TextTokenizer::train(texts.iter().cycle().take(60).map(|t| t.to_string()), 300)
            .expect("a tokenizer trains");
        let tagger = ReasonTagger::from_word_list("scared\nterrified\n");
        for text in [
            "I was so SCARED, my tire burst!",
            "  terrified — my café  burned 🔥 and I was scared ",
            "",
            "no reason here",
        ] {
            let seg = reason_segments(&tok, &tagger, text).expect("segments");
            let joined: String = seg.iter().map(|s| s.text.as_str()).collect();
            assert_eq!(joined, text);
            let marked: Vec<String> = seg
                .iter()
                .filter(|s| s.reason)
                .map(|s| s.text.to_lowercase())
                .collect();
            let expected: Vec<&str> = text
                .split(|c: char| !c.is_alphanumeric())
                .map(str::to_lowercase)
                .filter(|w| w == "scared" || w == "terrified")
                .map(|w| if w == "scared" { "scared" } else { "terrified" })
                .collect();
            assert_eq!(marked, expected, "{text:?} → {seg:?}");
        }
    }
}
