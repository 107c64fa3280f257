//! What the exemplar index ([`crate::retrieve`]) gives a reply: the replies people wrote to similar moments.

use super::{InferenceError, Responder};
use crate::inputs::EncodedSample;

/// A reply from the training data that answered a context like the user's ([`Responder::similar_replies`]).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SimilarReply {
    pub text: String,
    /// Cosine similarity of the two contexts' keys, in [0, 1].
    pub similarity: f32,
    /// The emotion label of the conversation it came from.
    pub emotion: String,
    /// Whether the reply was written leaning on it: one of the exemplars the decoder of a model trained with
    /// exemplars cross-attends (`model.exemplars`).
    pub read_by_model: bool,
}

impl Responder {
    /// Exemplar-guided diffusion: gives an encoded context the replies its decoder leans on (the index's
    /// `model.exemplars` nearest, cut as training cut them). Nothing for a model without exemplars or a
    /// checkpoint without an index: the model then answers without exemplar memory, as it learned to with
    /// `train.exemplar_dropout`.
    pub(super) fn add_exemplars(
        &self,
        enc: &mut EncodedSample,
        context: &[String],
    ) -> Result<(), InferenceError> {
        let k = self.config.exemplar_count();
        let Some(index) = self.exemplars.as_ref().filter(|_| k > 0) else {
            return Ok(());
        };
        let key = crate::retrieve::context_key(&self.tokenizer, context, index.turns)?;
        enc.exemplars = index.nearest_replies(&key, k, None, self.config.exemplar_len());
        Ok(())
    }

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
            .enumerate()
            .map(|(rank, n)| {
                let e = index.exemplar(n.id);
                Ok(SimilarReply {
                    read_by_model: rank < self.config.exemplar_count(),
                    text: self.tokenizer.decode(index.reply(n.id))?,
                    similarity: n.similarity,
                    emotion: crate::data::emotion_name(e.emotion as usize).to_string(),
                })
            })
            .collect()
    }
}
