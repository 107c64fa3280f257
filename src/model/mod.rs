//! The ReflectDiffu network: [`EmotionContagionEncoder`] + [`Denoiser`]. It knows nothing of time sampling,
//! corruption or losses (those live in [`crate::diffusion`]).

mod batch;
mod denoiser;
mod encoder;

pub use batch::{Batch, EncodedSample, encode_context, encode_sample, ids_tensor};
pub use denoiser::{Condition, Denoiser, DenoiserConfig};
pub use encoder::{
    EmotionContagionEncoder, EncoderConfig, EncoderOutput, ROLE_LISTENER, ROLE_NONE, ROLE_SPEAKER,
};

use burn::prelude::*;

/// Everything that fixes the network's shape. Defaults are the shipped model's.
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
    pub fn validate(&self) -> Result<(), String> {
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
                return Err(format!("model.{name} must be at least 1"));
            }
        }
        if !self.d_model.is_multiple_of(self.n_heads) {
            return Err(format!(
                "model.d_model ({}) must be divisible by model.n_heads ({})",
                self.d_model, self.n_heads
            ));
        }
        if self.max_context_len < 3 {
            return Err(format!(
                "model.max_context_len must be at least 3 ([BOS], a turn marker and one token), found {}",
                self.max_context_len
            ));
        }
        if self.max_reply_len < 2 {
            return Err("model.max_reply_len must be at least 2 (one token and [EOS])".into());
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(format!(
                "model.dropout must be in [0, 1), found {}",
                self.dropout
            ));
        }
        match self.weight_count() {
            Some(n) if n <= MAX_WEIGHTS => Ok(()),
            _ => Err(format!(
                "the model would have more than {MAX_WEIGHTS} weights (d_model {}, d_ff {}, vocab_size {}, \
                 {} + {} layers); choose smaller sizes",
                self.d_model, self.d_ff, self.vocab_size, self.encoder_layers, self.decoder_layers
            )),
        }
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
}
