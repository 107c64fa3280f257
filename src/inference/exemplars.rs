//! What the exemplar index ([`crate::retrieve`]) gives a reply: the replies people wrote to similar moments.

use super::{InferenceError, Responder};
use crate::data::EMOTIONS;

/// A reply from the training data that answered a context like the user's ([`Responder::similar_replies`]).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SimilarReply {
    pub text: String,
    /// Cosine similarity of the two contexts' keys, in [0, 1].
    pub similarity: f32,
    /// The emotion label of the conversation it came from.
    pub emotion: String,
}

impl Responder {
    /// The replies people wrote to the `k` training contexts most like `context` (the exemplar index's
    /// neighbours), most similar first; empty when the checkpoint has no index.
    pub fn similar_replies(
        &self,
        context: &[String],
        k: usize,
    ) -> Result<Vec<SimilarReply>, InferenceError> {
        let Some(index) = &self.exemplars else {
            return Ok(Vec::new());
        };
        let key = crate::retrieve::context_key(&self.tokenizer, context, index.turns)?;
        index
            .query(&key, k, None)
            .into_iter()
            .map(|n| {
                let e = index.exemplar(n.id);
                Ok(SimilarReply {
                    text: self.tokenizer.decode(index.reply(n.id))?,
                    similarity: n.similarity,
                    emotion: EMOTIONS
                        .get(e.emotion as usize)
                        .copied()
                        .unwrap_or("?")
                        .to_string(),
                })
            })
            .collect()
    }
}
