//! Listener-turn samples: the reply the model learns to write, and the turns before it.

use super::Conversation;

/// One training or evaluation example.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub conv_id: String,
    /// Previous turns, oldest first; the last one is always the speaker's.
    pub context: Vec<String>,
    /// The listener's reply (the reference).
    pub reply: String,
    pub emotion: usize,
    /// Position of the reply in its conversation's turns (odd: listener turns).
    pub turn: usize,
    /// The reply's empathetic intent (index into `INTENTS`), where a label is known
    /// (`intent::labels::label_samples`).
    pub intent: Option<usize>,
}

/// Every listener turn of every conversation (turns at odd 0-based positions, i.e. even `utterance_idx`),
/// with at most `max_turns` previous turns as context.
pub fn samples(conversations: &[Conversation], max_turns: usize) -> Vec<Sample> {
    let mut out = Vec::new();
    for conv in conversations {
        for i in (1..conv.turns.len()).step_by(2) {
            let start = i.saturating_sub(max_turns.max(1));
            out.push(Sample {
                conv_id: conv.id.clone(),
                context: conv.turns[start..i].to_vec(),
                reply: conv.turns[i].clone(),
                emotion: conv.emotion,
                turn: i,
                intent: None,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_sample_per_listener_turn_with_bounded_context() {
        let conv = Conversation {
            id: "c".into(),
            emotion: 0,
            situation: String::new(),
            turns: ["a", "b", "c", "d", "e"].map(String::from).to_vec(),
            intents: Vec::new(),
        };
        let s = samples(&[conv], 2);
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].context, ["a"]);
        assert_eq!(s[0].reply, "b");
        assert_eq!(s[1].context, ["b", "c"]);
        assert_eq!(s[1].reply, "d");
        assert_eq!((s[0].turn, s[1].turn), (1, 3));
    }
}
