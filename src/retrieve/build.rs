//! From conversations to an [`ExemplarIndex`], and the key of a query context.

use super::{ExemplarIndex, FIRST_WORD, KeyTurns, StoredConversation, key_of, key_turns};
use crate::data::Conversation;
use crate::tokenizer::{TextTokenizer, TokenizerError};

/// The key of a context (oldest turn first; the last is the speaker's), as the index keys its exemplars.
pub fn context_key(
    tokenizer: &TextTokenizer,
    context: &[String],
    turns: KeyTurns,
) -> Result<Vec<u32>, TokenizerError> {
    let mut ids = Vec::new();
    for turn in key_turns(context, turns) {
        ids.extend(tokenizer.encode(turn)?.ids);
    }
    Ok(key_of(ids, FIRST_WORD))
}

/// Every listener turn of `conversations` as an exemplar, keyed by its context window of `max_turns` turns.
pub fn build(
    tokenizer: &TextTokenizer,
    conversations: &[Conversation],
    max_turns: usize,
    turns: KeyTurns,
) -> Result<ExemplarIndex, TokenizerError> {
    let stored = conversations
        .iter()
        .map(|c| {
            Ok(StoredConversation {
                emotion: c.emotion as u8,
                turns: c
                    .turns
                    .iter()
                    .map(|t| Ok(tokenizer.encode(t)?.ids))
                    .collect::<Result<_, TokenizerError>>()?,
            })
        })
        .collect::<Result<Vec<_>, TokenizerError>>()?;
    Ok(ExemplarIndex::new(
        turns,
        max_turns,
        tokenizer.vocab_size() as u32,
        stored,
    ))
}
