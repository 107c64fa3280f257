//! Emotion-contagion encoder (ReflectDiffu §3.1): E^C = E^W + E^P + E^R + E^S (word, position, reason tag,
//! speaker role) → transformer encoder → H (one vector per context token) and Q (mean-pooled H); a 32-way
//! emotion classifier reads Q.

use burn::nn::transformer::TransformerEncoderConfig;
use burn::nn::{Embedding, EmbeddingConfig, LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::prelude::*;

use super::experts::{ExpertOutput, PolarityExperts};
use super::layers::{Encoder, dropout, norm};

/// Speaker role ids of context tokens: the person telling what happened, the listener, or neither ([BOS], pad).
pub const ROLE_SPEAKER: u32 = 0;
pub const ROLE_LISTENER: u32 = 1;
pub const ROLE_NONE: u32 = 2;

#[derive(Config, Debug)]
pub struct EncoderConfig {
    pub vocab_size: usize,
    pub d_model: usize,
    pub n_heads: usize,
    pub d_ff: usize,
    pub n_layers: usize,
    /// Longest context in tokens (learned positions).
    pub max_len: usize,
    #[config(default = 32)]
    pub n_emotions: usize,
    #[config(default = 0.1)]
    pub dropout: f64,
    /// Reasoning mask: added to the attention score of every `<em>` context token, in the encoder's
    /// self-attention and the decoder's cross-attention. 0 = off.
    #[config(default = 0.0)]
    pub reason_bias: f32,
    /// Positive / negative experts on Q before the emotion head ([`PolarityExperts`]).
    #[config(default = false)]
    pub polarity_experts: bool,
    /// The intent policy π(intent | Q): a 9-way head beside the emotion head (Intent Twice's "explore").
    #[config(default = false)]
    pub intent_policy: bool,
}

#[derive(Module, Debug)]
pub struct EmotionContagionEncoder {
    word: Embedding,
    position: Embedding,
    reason: Embedding,
    role: Embedding,
    transformer: Encoder,
    norm: LayerNorm,
    emotion_head: Linear,
    experts: Option<PolarityExperts>,
    intent_head: Option<Linear>,
    dropout: f64,
    reason_bias: f32,
}

/// What the encoder hands to the denoiser and to the emotion loss.
#[derive(Debug, Clone)]
pub struct EncoderOutput {
    /// [batch, ctx_len, d_model]
    pub h: Tensor<3>,
    /// [batch, d_model]
    pub q: Tensor<2>,
    /// [batch, n_emotions]
    pub emotion_logits: Tensor<2>,
    /// The reasoning mask as attention-score bias per context token, [batch, ctx_len]; `None` when off.
    pub reason_bias: Option<Tensor<2>>,
    /// The polarity experts' outputs (for their training loss); `None` without experts.
    pub experts: Option<ExpertOutput>,
    /// The intent policy's logits over the 9 intents, [batch, 9]; `None` without a policy.
    pub intent_logits: Option<Tensor<2>>,
}

impl EncoderConfig {
    pub fn init(&self, device: &Device) -> EmotionContagionEncoder {
        EmotionContagionEncoder {
            word: EmbeddingConfig::new(self.vocab_size, self.d_model).init(device),
            position: EmbeddingConfig::new(self.max_len, self.d_model).init(device),
            reason: EmbeddingConfig::new(2, self.d_model).init(device),
            role: EmbeddingConfig::new(3, self.d_model).init(device),
            transformer: Encoder::new(
                &TransformerEncoderConfig::new(
                    self.d_model,
                    self.d_ff,
                    self.n_heads,
                    self.n_layers,
                )
                .with_dropout(self.dropout),
                device,
            ),
            norm: LayerNormConfig::new(self.d_model).init(device),
            emotion_head: LinearConfig::new(self.d_model, self.n_emotions).init(device),
            experts: self
                .polarity_experts
                .then(|| PolarityExperts::new(self.d_model, device)),
            intent_head: self
                .intent_policy
                .then(|| LinearConfig::new(self.d_model, crate::data::N_INTENTS).init(device)),
            dropout: self.dropout,
            reason_bias: self.reason_bias,
        }
    }
}

impl EmotionContagionEncoder {
    /// Longest token sequence it reads (its learned positions).
    pub fn max_len(&self) -> usize {
        self.position.weight.val().dims()[0]
    }

    /// The intent policy's head π(intent | Q), when the model has one.
    pub fn intent_head(&self) -> Option<&Linear> {
        self.intent_head.as_ref()
    }

    /// Scores over the vocabulary for encoder states `h` ([n, d_model]), read through the word-embedding matrix
    /// (tied weights) and scaled by 1/√d_model, which keeps them near unit scale at initialisation (embeddings
    /// and normalised states both have norm ≈ √d_model): the output of masked-LM pre-training (`train.mlm_steps`).
    pub fn token_logits(&self, h: Tensor<2>) -> Tensor<2> {
        let [_, d] = h.dims();
        h.matmul(self.word.weight.val().transpose()) / (d as f64).sqrt()
    }

    /// The contextual states of token sequences, [batch, len, d_model], without the heads: what
    /// [`Self::forward`] computes first, and how exemplar replies are read for the decoder's memory. `ids`,
    /// `roles`, `reasons`: [batch, len]; `pad`: true at padding; `reason_bias`: the reasoning mask's bias.
    pub fn states(
        &self,
        ids: Tensor<2, Int>,
        roles: Tensor<2, Int>,
        reasons: Tensor<2, Int>,
        pad: Tensor<2, Bool>,
        reason_bias: Option<Tensor<2>>,
    ) -> Tensor<3> {
        let [batch, len] = ids.dims();
        let positions = super::positions(batch, len, &ids.device());
        let x = self.word.forward(ids)
            + self.position.forward(positions)
            + self.reason.forward(reasons)
            + self.role.forward(roles);
        let x = dropout(x, self.dropout);
        norm(&self.norm, self.transformer.forward(x, pad, reason_bias))
    }

    /// `ids`, `roles`, `reasons`: [batch, ctx_len]; `pad`: [batch, ctx_len], true at padding.
    pub fn forward(
        &self,
        ids: Tensor<2, Int>,
        roles: Tensor<2, Int>,
        reasons: Tensor<2, Int>,
        pad: Tensor<2, Bool>,
    ) -> EncoderOutput {
        // Reason tags are 0 (`<noem>`) or 1 (`<em>`, crate::reason::EM): as floats they are the mask itself.
        let reason_bias =
            (self.reason_bias != 0.0).then(|| reasons.clone().float() * self.reason_bias);
        let h = self.states(ids, roles, reasons, pad.clone(), reason_bias.clone()); // [batch, ctx_len, d_model]
        let keep = pad.bool_not().float().unsqueeze_dim::<3>(2); // [batch, ctx_len, 1]
        let q = (h.clone() * keep.clone()).sum_dim(1) / keep.sum_dim(1).clamp_min(1.0);
        let q: Tensor<2> = q.squeeze_dim(1); // [batch, d_model]
        let experts = self.experts.as_ref().map(|e| e.forward(q.clone()));
        let read = experts.as_ref().map_or(q.clone(), |e| e.q.clone());
        let read = dropout(read, self.dropout);
        let intent_logits = self.intent_head.as_ref().map(|p| p.forward(read.clone()));
        let emotion_logits = self.emotion_head.forward(read);
        EncoderOutput {
            h,
            q,
            emotion_logits,
            reason_bias,
            experts,
            intent_logits,
        }
    }
}
