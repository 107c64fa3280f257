//! The ReflectDiffu network: [`EmotionContagionEncoder`] + [`Denoiser`]. It knows nothing of time sampling,
//! corruption or losses (those live in [`crate::diffusion`]).

mod batch;
pub mod block;
mod denoiser;
mod encoder;
mod exemplars;
pub mod experts;
#[cfg(feature = "cli")]
pub mod fused;
pub mod layers;

pub use batch::Batch;
pub use denoiser::{Condition, Denoiser, DenoiserConfig};
pub use encoder::{
    EmotionContagionEncoder, EncoderConfig, EncoderOutput, ROLE_LISTENER, ROLE_NONE, ROLE_SPEAKER,
};

use crate::format::Invalid;
use burn::prelude::*;

/// Everything that fixes the network's shape. The field defaults are the first recipe's (d_model 192, d_ff 768,
/// context 96, dropout 0.1), kept so that a config file that leaves a field out loads as it was written; the
/// shipped model's shapes (160 / 640 / 64 / 0.05) are in `configs/default.json` and `checkpoints/default`.
#[derive(Config, Debug, PartialEq)]
pub struct ModelConfig {
    /// Filled in from the tokenizer when a run starts.
    pub vocab_size: usize,
    #[config(default = 192)]
    pub d_model: usize,
    #[config(default = 4)]
    pub n_heads: usize,
    #[config(default = 768)]
    pub d_ff: usize,
    #[config(default = 3)]
    pub encoder_layers: usize,
    #[config(default = 3)]
    pub decoder_layers: usize,
    /// Context tokens kept (oldest turns dropped first).
    #[config(default = 96)]
    pub max_context_len: usize,
    /// Fixed reply length in tokens, [EOS] included.
    #[config(default = 32)]
    pub max_reply_len: usize,
    #[config(default = 0.1)]
    pub dropout: f64,
    /// Block diffusion: write the reply in blocks of this many tokens, left to right (BD3-LM); must divide
    /// `max_reply_len`. Absent (null) = one block, i.e. plain MDLM over the whole reply.
    pub block_len: Option<usize>,
    /// Reasoning mask: a bias added to the attention score of every `<em>` (reason) context token, in the
    /// encoder's self-attention and the decoder's cross-attention; 0 = off (ReflectDiffu's reasoning mask as a
    /// soft bias; E^R, the reason embedding, is there either way). Absent (null) = 0, so configs written
    /// before this option load unchanged.
    pub reason_bias: Option<f32>,
    /// When a conversation is longer than `max_context_len`, keep the opening turn's first tokens (up to half
    /// the window: where the speaker says what happened) in front of the newest turns instead of dropping it
    /// first. Absent (null) = false.
    pub keep_opening_turn: Option<bool>,
    /// Positive / negative polarity experts on the pooled context before the emotion head, trained with a
    /// contrastive loss on the context's VADER polarity (`train.contrastive_weight`). Absent (null) = false.
    pub polarity_experts: Option<bool>,
    /// The intent policy π(intent | Q) (Intent Twice's "explore"), trained on the listener turns' intent labels
    /// (`train.intent_labels`). Absent (null) = false: the decoder's intent slot stays "unknown" unless
    /// `sample --intent` names one.
    pub intent_policy: Option<bool>,
    /// Exemplar-guided diffusion: the decoder also cross-attends this many human replies to similar contexts
    /// (the checkpoint's exemplar index, `crate::retrieve`), read by the encoder; it learns the draft-hint
    /// vector of draft editing too. Absent (null) or 0 = none.
    pub exemplars: Option<usize>,
}

/// Most exemplar replies a model may cross-attend.
pub const MAX_EXEMPLARS: usize = 8;

/// Positions 0..len for every row, [batch, len].
pub(crate) fn positions(batch: usize, len: usize, device: &Device) -> Tensor<2, Int> {
    Tensor::<1, Int>::arange(0..len as i64, device)
        .unsqueeze_dim::<2>(0)
        .repeat_dim(0, batch)
}

/// Larger models are refused at validation: 1 G weights is 4 GB of f32 before optimizer state, far beyond what
/// this project trains, and a typo in a size (an extra zero or three) should be an error, not an OOM abort.
pub const MAX_WEIGHTS: usize = 1 << 30;

#[derive(Module, Debug)]
pub struct ReflectDiffu {
    pub encoder: EmotionContagionEncoder,
    pub denoiser: Denoiser,
}

impl ModelConfig {
    /// Checks values a user may get wrong in a config file; the message says which field and why.
    pub fn validate(&self) -> Result<(), Invalid> {
        let positive = [
            ("vocab_size", self.vocab_size),
            ("d_model", self.d_model),
            ("n_heads", self.n_heads),
            ("d_ff", self.d_ff),
            ("encoder_layers", self.encoder_layers),
            ("decoder_layers", self.decoder_layers),
            ("max_context_len", self.max_context_len),
        ];
        for (name, v) in positive {
            if v == 0 {
                return Err(Invalid::from(format!("model.{name} must be at least 1")));
            }
        }
        if !self.d_model.is_multiple_of(self.n_heads) {
            return Err(Invalid::from(format!(
                "model.d_model ({}) must be divisible by model.n_heads ({})",
                self.d_model, self.n_heads
            )));
        }
        if self.max_context_len < 3 {
            return Err(Invalid::from(format!(
                "model.max_context_len must be at least 3 ([BOS], a turn marker and one token), found {}",
                self.max_context_len
            )));
        }
        if self.max_reply_len < 2 {
            return Err("model.max_reply_len must be at least 2 (one token and [EOS])".into());
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(Invalid::from(format!(
                "model.dropout must be in [0, 1), found {}",
                self.dropout
            )));
        }
        if let Some(b) = self.reason_bias
            && !b.is_finite()
        {
            return Err(Invalid::from(format!(
                "model.reason_bias must be a finite number or null, found {b}"
            )));
        }
        if self.exemplars.unwrap_or(0) > MAX_EXEMPLARS {
            return Err(Invalid::from(format!(
                "model.exemplars must be at most {MAX_EXEMPLARS} (null or 0 = none), found {}",
                self.exemplars.unwrap_or(0)
            )));
        }
        if let Some(b) = self.block_len
            && (b == 0 || !self.max_reply_len.is_multiple_of(b))
        {
            return Err(Invalid::from(format!(
                "model.block_len ({b}) must be at least 1 and divide model.max_reply_len ({}); null = one block",
                self.max_reply_len
            )));
        }
        match self.weight_count() {
            Some(n) if n <= MAX_WEIGHTS => Ok(()),
            _ => Err(Invalid::from(format!(
                "the model would have more than {MAX_WEIGHTS} weights (d_model {}, d_ff {}, vocab_size {}, \
                 {} + {} layers); choose smaller sizes",
                self.d_model, self.d_ff, self.vocab_size, self.encoder_layers, self.decoder_layers
            ))),
        }
    }

    /// Exemplar replies the decoder cross-attends (0 = none).
    pub fn exemplar_count(&self) -> usize {
        self.exemplars.unwrap_or(0)
    }

    /// Longest exemplar reply the model reads, in tokens: a reply without its [EOS], within the encoder's positions.
    pub fn exemplar_len(&self) -> usize {
        self.max_reply_len
            .saturating_sub(1)
            .min(self.max_context_len)
    }

    /// Tokens per diffusion block (the whole reply when `block_len` is absent).
    pub fn block(&self) -> usize {
        self.block_len.unwrap_or(self.max_reply_len)
    }

    /// An upper estimate of the number of weights, `None` on overflow: embeddings and output head, plus per
    /// layer two attention blocks and a feed-forward block.
    fn weight_count(&self) -> Option<usize> {
        let d = self.d_model;
        let tables = (2 * self.vocab_size)
            .checked_add(self.max_context_len)?
            .checked_add(self.max_reply_len)?
            .checked_add(64)?
            .checked_mul(d)?;
        let head = self.vocab_size.checked_mul(d)?;
        let layer = d
            .checked_mul(d)?
            .checked_mul(8)?
            .checked_add(d.checked_mul(self.d_ff)?.checked_mul(2)?)?;
        let layers = self.encoder_layers.checked_add(self.decoder_layers)?;
        tables
            .checked_add(head)?
            .checked_add(layer.checked_mul(layers)?)
    }

    pub fn init(&self, device: &Device) -> ReflectDiffu {
        ReflectDiffu {
            encoder: EncoderConfig::new(
                self.vocab_size,
                self.d_model,
                self.n_heads,
                self.d_ff,
                self.encoder_layers,
                self.max_context_len,
            )
            .with_dropout(self.dropout)
            .with_reason_bias(self.reason_bias.unwrap_or(0.0))
            .with_polarity_experts(self.polarity_experts.unwrap_or(false))
            .with_intent_policy(self.intent_policy.unwrap_or(false))
            .init(device),
            denoiser: DenoiserConfig::new(
                self.vocab_size,
                self.d_model,
                self.n_heads,
                self.d_ff,
                self.decoder_layers,
                self.max_reply_len,
            )
            .with_dropout(self.dropout)
            .with_exemplar_slots(self.exemplar_count() > 0)
            .init(device),
        }
    }
}

impl ReflectDiffu {
    /// Encodes the context of a batch.
    pub fn encode(&self, batch: &Batch) -> EncoderOutput {
        self.encoder.forward(
            batch.ctx_ids.clone(),
            batch.ctx_roles.clone(),
            batch.ctx_reasons.clone(),
            batch.ctx_pad.clone(),
        )
    }

    /// Logits of the clean reply given x_t, t and the condition, [batch, reply_len, vocab].
    pub fn denoise(&self, x_t: Tensor<2, Int>, t: Tensor<1>, cond: &Condition) -> Tensor<3> {
        self.denoiser.forward(x_t, t, cond)
    }

    /// Logits of the clean reply as training scores them: with blocks shorter than the reply, each noisy block
    /// sees the clean blocks before it (`x_0`), as it will when sampling; with one block, [`Self::denoise`].
    /// [batch, reply_len, vocab].
    pub fn denoise_train(
        &self,
        x_t: Tensor<2, Int>,
        x_0: Tensor<2, Int>,
        t: Tensor<1>,
        cond: &Condition,
        block: usize,
    ) -> Tensor<3> {
        self.denoiser
            .project(self.denoise_train_hidden(x_t, x_0, t, cond, block))
    }

    /// [`Self::denoise_train`] before the output projection, [batch, reply_len, d_model]; the training loss
    /// projects only the positions it scores.
    pub fn denoise_train_hidden(
        &self,
        x_t: Tensor<2, Int>,
        x_0: Tensor<2, Int>,
        t: Tensor<1>,
        cond: &Condition,
        block: usize,
    ) -> Tensor<3> {
        let [batch, len] = x_t.dims();
        let device = x_t.device();
        if block >= len {
            return self.denoiser.hidden(x_t, t, cond);
        }
        let positions = Tensor::<1, Int>::arange(0..len as i64, &device).repeat_dim(0, 2);
        let positions = positions.unsqueeze_dim::<2>(0).repeat_dim(0, batch); // [batch, 2·len]
        let mask = block::mask_tensor(block::train_mask(len, block), 2 * len, batch, &device);
        let x = Tensor::cat(vec![x_t, x_0], 1);
        self.denoiser
            .hidden_with(x, positions, t, cond, Some(mask), len)
    }

    /// Logits of one noisy block that starts at reply position `start`, given the clean reply before it
    /// (`prefix`, [batch, start]; `None` for the first block). [batch, block width, vocab].
    pub fn denoise_block(
        &self,
        noisy: Tensor<2, Int>,
        prefix: Option<Tensor<2, Int>>,
        t: Tensor<1>,
        cond: &Condition,
        block: usize,
    ) -> Tensor<3> {
        let [batch, width] = noisy.dims();
        let device = noisy.device();
        let start = prefix.as_ref().map_or(0, |p| p.dims()[1]);
        let noisy_positions =
            Tensor::<1, Int>::arange(start as i64..(start + width) as i64, &device);
        let positions = if start == 0 {
            noisy_positions
        } else {
            Tensor::cat(
                vec![
                    noisy_positions,
                    Tensor::<1, Int>::arange(0..start as i64, &device),
                ],
                0,
            )
        };
        let positions = positions.unsqueeze_dim::<2>(0).repeat_dim(0, batch);
        let x = match prefix {
            Some(p) => Tensor::cat(vec![noisy, p], 1),
            None => noisy,
        };
        let n = width + start;
        let mask = block::mask_tensor(block::sample_mask(width, start, block), n, batch, &device);
        self.denoiser
            .forward_with(x, positions, t, cond, Some(mask), width)
    }
}
