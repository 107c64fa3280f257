//! RECCON's emotion-cause annotations as tagged turns.

/// One tagged turn: its words (lower-cased, as the tokenizer splits them) and whether each is in a cause span.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    pub words: Vec<String>,
    pub labels: Vec<bool>,
}

/// The emotional turns of a RECCON file (`{dialog_id: [[turn, …]]}`) as examples: a word is `<em>` when it lies
/// in a cause span that the turn attributes to itself (`expanded emotion cause evidence` = its own number). That
/// is the question the model asks of a speaker's message in EmpatheticDialogues — which of their own words say
/// what made them feel so; causes in other turns, latent causes (given as text) and neutral turns are left out.
/// Dialogues in id order.
pub fn reccon_examples(
    json: &str,
    tokenizer: &crate::tokenizer::TextTokenizer,
) -> Result<Vec<Example>, crate::format::Invalid> {
    let root: serde_json::Value =
        serde_json::from_str(json).map_err(|e| format!("not valid JSON: {e}"))?;
    let dialogues = root
        .as_object()
        .ok_or("expected an object {dialog_id: [[turn, …]]}")?;
    let mut ids: Vec<&String> = dialogues.keys().collect();
    ids.sort();
    let mut out = Vec::new();
    for id in ids {
        let turns = dialogues[id]
            .get(0)
            .and_then(|t| t.as_array())
            .ok_or_else(|| format!("dialogue {id}: expected [[turn, …]]"))?;
        for (k, t) in turns.iter().enumerate() {
            let (Some(ev), Some(spans)) = (
                t.get("expanded emotion cause evidence")
                    .and_then(|v| v.as_array()),
                t.get("expanded emotion cause span")
                    .and_then(|v| v.as_array()),
            ) else {
                continue;
            };
            if t["emotion"].as_str().is_none_or(|e| e == "neutral") {
                continue;
            }
            let utterance = t["utterance"]
                .as_str()
                .ok_or_else(|| format!("dialogue {id}: turn {} has no utterance", k + 1))?;
            let own: Vec<std::ops::Range<usize>> = ev
                .iter()
                .zip(spans)
                .filter(|(e, _)| e.as_u64() == Some(k as u64 + 1))
                .filter_map(|(_, s)| s.as_str())
                .filter_map(|s| utterance.find(s).map(|start| start..start + s.len()))
                .collect();
            let words = tokenizer.words(utterance).map_err(|e| e.to_string())?;
            out.push(Example {
                labels: words
                    .iter()
                    .map(|(r, _)| own.iter().any(|s| r.start < s.end && s.start < r.end))
                    .collect(),
                words: words.into_iter().map(|(_, w)| w).collect(),
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokenizer::TextTokenizer;

    fn tokenizer() -> TextTokenizer {
        let texts =
            ["I'm surprised . He doesn't look like a guy who'd ever cheat on his wife , does he ?"];
        TextTokenizer::train(texts.iter().cycle().take(30).map(|t| t.to_string()), 300).unwrap()
    }

    #[test]
    fn own_cause_spans_become_word_labels_and_other_turns_are_left_out() {
        // Cut from RECCON dailydialog_test.json (tr_9708), turns 3 and 4.
        let json = r#"{"d": [[
            {"turn": 1, "speaker": "A", "utterance": "Mr . black has been getting a little around aside .", "emotion": "neutral"},
            {"turn": 2, "speaker": "B", "utterance": "I'm surprised . He doesn't look like a guy who'd ever cheat on his wife , does he ?", "emotion": "surprise",
             "expanded emotion cause evidence": [1, 2, "b"],
             "expanded emotion cause span": ["Mr . black has been getting a little around aside .", "He doesn't look like a guy who'd ever cheat on his wife ,", "latent"]}
        ]]}"#;
        let ex = reccon_examples(json, &tokenizer()).unwrap();
        assert_eq!(ex.len(), 1, "only the emotional turn");
        let marked: Vec<&str> = ex[0]
            .words
            .iter()
            .zip(&ex[0].labels)
            .filter(|(_, l)| **l)
            .map(|(w, _)| w.as_str())
            .collect();
        assert_eq!(marked.first(), Some(&"he"));
        assert_eq!(marked.last(), Some(&","));
        assert!(!marked.contains(&"surprised") && !marked.contains(&"?"));
        assert!(reccon_examples("[1]", &tokenizer()).is_err());
    }
}
