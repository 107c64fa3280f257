//! The denoiser of the discrete diffusion decoder: a bidirectional transformer over the (partly masked) reply
//! x_t that cross-attends the encoder's H and is conditioned on emotion, intent and time t. It predicts the
//! clean token at every position (MDLM, Sahoo et al. 2024, §3: the x_θ(x_t, t) parameterisation).
//!
//! The condition enters as one extra memory slot in front of H rather than being added to every reply position:
//! a vector shared by all positions biases every query towards the same keys. (A throwaway comparison on a
//! synthetic infilling task favoured the slot; its script was not kept, so no figure is quoted here.)

use burn::nn::transformer::TransformerDecoderConfig;
use burn::nn::{Embedding, EmbeddingConfig, LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::prelude::*;

use super::layers::{Decoder, KeysValues, dropout, norm};
use super::positions;

/// Sinusoidal features of t fed to the time projection.
const TIME_FEATURES: usize = 32;

#[derive(Config, Debug)]
pub struct DenoiserConfig {
    pub vocab_size: usize,
    pub d_model: usize,
    pub n_heads: usize,
    pub d_ff: usize,
    pub n_layers: usize,
    /// Fixed reply length; [EOS] and [PAD] are predicted like any token.
    pub reply_len: usize,
    #[config(default = 32)]
    pub n_emotions: usize,
    /// 9 intents + "unknown".
    #[config(default = 10)]
    pub n_intents: usize,
    #[config(default = 0.1)]
    pub dropout: f64,
    /// Learned vectors for exemplar-guided diffusion ([`EXEMPLAR_SEGMENT`], [`DRAFT_HINT`]); false for models
    /// that never see exemplars.
    #[config(default = false)]
    pub exemplar_slots: bool,
}

/// Row of [`Denoiser::exemplar`] added to every exemplar token in the cross-attention memory, so the decoder can
/// tell a human reply to a similar moment from the user's own context.
pub const EXEMPLAR_SEGMENT: usize = 0;
/// Row of [`Denoiser::exemplar`] added to a reply position that shows a draft token (draft editing): the token is
/// a suggestion from the exemplar, still to be decided, not a token already written.
pub const DRAFT_HINT: usize = 1;

#[derive(Module, Debug)]
pub struct Denoiser {
    word: Embedding,
    position: Embedding,
    emotion: Embedding,
    intent: Embedding,
    time: Linear,
    transformer: Decoder,
    norm: LayerNorm,
    output: Linear,
    /// [2, d_model]: [`EXEMPLAR_SEGMENT`] and [`DRAFT_HINT`]; `None` for models without exemplars.
    exemplar: Option<Embedding>,
    dropout: f64,
}

/// The condition the denoiser sees besides x_t.
#[derive(Debug, Clone)]
pub struct Condition {
    /// Encoder states, [batch, ctx_len, d_model].
    pub memory: Tensor<3>,
    /// True at context padding, [batch, ctx_len].
    pub memory_pad: Tensor<2, Bool>,
    /// Emotion ids, [batch].
    pub emotion: Tensor<1, Int>,
    /// Intent ids, [batch].
    pub intent: Tensor<1, Int>,
    /// The reasoning mask's attention bias per context token ([`super::EncoderOutput::reason_bias`]),
    /// [batch, ctx_len]; `None` when off.
    pub memory_bias: Option<Tensor<2>>,
    /// The decoder's cross-attention keys and values of `memory`, per layer, when computed once for many passes
    /// ([`Denoiser::cache_memory`]); `None` projects `memory` in every pass (training).
    pub memory_cache: Option<Vec<KeysValues>>,
    /// Draft editing: 1.0 at the noisy reply positions that show a token of the exemplar's draft instead of
    /// [MASK] (still undecided), 0.0 elsewhere, [batch, noisy width]; `None` when no position does.
    pub draft_hint: Option<Tensor<2>>,
}

impl DenoiserConfig {
    pub fn init(&self, device: &Device) -> Denoiser {
        Denoiser {
            word: EmbeddingConfig::new(self.vocab_size, self.d_model).init(device),
            position: EmbeddingConfig::new(self.reply_len, self.d_model).init(device),
            emotion: EmbeddingConfig::new(self.n_emotions, self.d_model).init(device),
            intent: EmbeddingConfig::new(self.n_intents, self.d_model).init(device),
            time: LinearConfig::new(TIME_FEATURES, self.d_model).init(device),
            transformer: Decoder::new(
                &TransformerDecoderConfig::new(
                    self.d_model,
                    self.d_ff,
                    self.n_heads,
                    self.n_layers,
                )
                .with_dropout(self.dropout),
                device,
            ),
            norm: LayerNormConfig::new(self.d_model).init(device),
            output: LinearConfig::new(self.d_model, self.vocab_size).init(device),
            exemplar: self
                .exemplar_slots
                .then(|| EmbeddingConfig::new(2, self.d_model).init(device)),
            dropout: self.dropout,
        }
    }
}

impl Denoiser {
    /// Gives a model trained without exemplars the vectors exemplar-guided diffusion needs (fresh; the rest of
    /// the network is kept): a fine-tune from a checkpoint without them.
    pub fn with_exemplar_slots(mut self, device: &Device) -> Self {
        let d = self.position.weight.val().dims()[1];
        self.exemplar
            .get_or_insert_with(|| EmbeddingConfig::new(2, d).init(device));
        self
    }

    /// Whether the model has the exemplar vectors (was built for exemplar-guided diffusion).
    pub fn has_exemplar_slots(&self) -> bool {
        self.exemplar.is_some()
    }

    /// Row `row` of the exemplar vectors, [1, 1, d_model]; `None` without them.
    pub fn exemplar_vector(&self, row: usize) -> Option<Tensor<3>> {
        let w = self.exemplar.as_ref()?.weight.val();
        let d = w.dims()[1];
        Some(w.slice([row..row + 1, 0..d]).unsqueeze_dim(0))
    }

    /// Projects the condition's encoder states for every decoder layer once, so that the denoising passes of a
    /// reply reuse them (same logits up to float rounding; a test compares).
    pub fn cache_memory(&self, cond: &mut Condition) {
        cond.memory_cache = Some(self.transformer.memory_cache(cond.memory.clone()));
    }

    /// `x_t`: [batch, reply_len] token ids (some [MASK]); `t`: [batch] in [0, 1].
    /// Returns logits over the vocabulary, [batch, reply_len, vocab].
    pub fn forward(&self, x_t: Tensor<2, Int>, t: Tensor<1>, cond: &Condition) -> Tensor<3> {
        self.project(self.hidden(x_t, t, cond))
    }

    /// [`Self::forward`] before the output projection, [batch, reply_len, d_model].
    pub fn hidden(&self, x_t: Tensor<2, Int>, t: Tensor<1>, cond: &Condition) -> Tensor<3> {
        let [batch, len] = x_t.dims();
        let positions = positions(batch, len, &x_t.device());
        self.hidden_with(x_t, positions, t, cond, None, len)
    }

    /// The general form: tokens `x` [batch, seq] at reply `positions` [batch, seq], an optional self-attention
    /// mask [batch, seq, seq] (true = may not attend), logits for the first `out_len` tokens only
    /// ([batch, out_len, vocab]). Block diffusion uses it to put clean earlier blocks beside a noisy one.
    pub fn forward_with(
        &self,
        x: Tensor<2, Int>,
        positions: Tensor<2, Int>,
        t: Tensor<1>,
        cond: &Condition,
        self_mask: Option<Tensor<3, Bool>>,
        out_len: usize,
    ) -> Tensor<3> {
        self.project(self.hidden_with(x, positions, t, cond, self_mask, out_len))
    }

    /// Vocabulary logits of final hidden states, [.., d_model] → [.., vocab]. Training projects only the rows its
    /// loss reads (the masked positions), which saves most of the output layer and its softmax.
    pub fn project<const D: usize>(&self, hidden: Tensor<D>) -> Tensor<D> {
        self.output.forward(hidden)
    }

    /// [`Self::forward_with`] without the output projection: the final (normalised) hidden states of the first
    /// `out_len` tokens, [batch, out_len, d_model].
    pub fn hidden_with(
        &self,
        x: Tensor<2, Int>,
        positions: Tensor<2, Int>,
        t: Tensor<1>,
        cond: &Condition,
        self_mask: Option<Tensor<3, Bool>>,
        out_len: usize,
    ) -> Tensor<3> {
        let [batch, seq] = x.dims();
        let device = x.device();
        // The condition (emotion + intent + t) is one extra memory slot the reply cross-attends, not a vector
        // added to every position: a shared additive vector pulls every query towards the same keys.
        let c = self.emotion.forward(cond.emotion.clone().unsqueeze_dim(1))
            + self.intent.forward(cond.intent.clone().unsqueeze_dim(1))
            + self.time.forward(time_features(t)).unsqueeze_dim::<3>(1); // [batch, 1, d_model]
        // [batch, 1 + ctx_len, d_model], or only the condition slot when the encoder states' keys are cached
        let memory = match cond.memory_cache {
            Some(_) => c,
            None => Tensor::cat(vec![c, cond.memory.clone()], 1),
        };
        let memory_pad = Tensor::cat(
            vec![
                Tensor::<2, Bool>::zeros([batch, 1], &device),
                cond.memory_pad.clone(),
            ],
            1,
        );
        let mut h = self.word.forward(x) + self.position.forward(positions);
        if let (Some(hint), Some(v)) = (&cond.draft_hint, self.exemplar_vector(DRAFT_HINT)) {
            // The hint covers the noisy tokens, which come first in `x`; clean ones (a block's prefix) get none.
            let width = hint.dims()[1];
            let hint = if width < seq {
                Tensor::cat(
                    vec![hint.clone(), Tensor::zeros([batch, seq - width], &device)],
                    1,
                )
            } else {
                hint.clone()
            };
            h = h + hint.unsqueeze_dim::<3>(2) * v;
        }
        let h = dropout(h, self.dropout);
        // The condition slot gets no bias.
        let memory_bias = cond
            .memory_bias
            .clone()
            .map(|b| Tensor::cat(vec![Tensor::<2>::zeros([batch, 1], &device), b], 1));
        let y = self.transformer.forward(
            h,
            self_mask,
            memory,
            memory_pad,
            memory_bias,
            cond.memory_cache.as_deref(),
        ); // [batch, seq, d_model]
        let y = if out_len < seq {
            y.slice([0..batch, 0..out_len])
        } else {
            y
        };
        norm(&self.norm, y)
    }
}

/// [batch] → [batch, TIME_FEATURES]: sin/cos of t at geometric frequencies.
fn time_features(t: Tensor<1>) -> Tensor<2> {
    let half = TIME_FEATURES / 2;
    let freqs: Vec<f32> = (0..half)
        .map(|i| (1000f32).powf(i as f32 / half as f32))
        .collect();
    let freqs =
        Tensor::<1>::from_data(TensorData::new(freqs, [half]), &t.device()).unsqueeze_dim::<2>(0);
    let angles = t.unsqueeze_dim::<2>(1) * freqs; // [batch, half]
    Tensor::cat(vec![angles.clone().sin(), angles.cos()], 1)
}
