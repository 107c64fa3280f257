//! Pre-norm transformer layers with exactly the parameters (names, shapes, initialisation) of burn's
//! `TransformerEncoder` / `TransformerDecoder` with `norm_first`, so checkpoints written with burn's layers load
//! unchanged and the forward pass is the same computation. What differs is dropout: burn draws one ChaCha random
//! float per element for every mask (16 % of a training step in our profile, BENCHMARKS.md); here a mask comes
//! from a fast counter-based generator ([`dropout`]), one multiplication, no scaling pass.

use std::sync::atomic::{AtomicU64, Ordering};

use burn::nn::attention::MultiHeadAttention;
use burn::nn::transformer::{
    PositionWiseFeedForward, TransformerDecoderConfig, TransformerEncoderConfig,
};
use burn::nn::{LayerNorm, Linear};
use burn::prelude::*;
use burn::tensor::activation::{gelu, softmax};

#[cfg(feature = "cli")]
use super::fused;

/// The score masked positions get before the softmax (burn's `min_float`).
const MASKED_SCORE: f32 = -1.0e4;

static DROPOUT_STREAM: AtomicU64 = AtomicU64::new(0x5EED_D809_u64);

/// Restarts the dropout masks' random stream (training calls it with the run's seed).
pub fn seed_dropout(seed: u64) {
    DROPOUT_STREAM.store(seed, Ordering::Relaxed);
}

/// splitmix64: turns a counter into a well-mixed 64-bit word.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Inverted dropout: zeroes each element with probability `prob` and scales the rest by 1 / (1 − prob). Active
/// only on an autodiff device (training); validation and sampling run on plain devices and pass `x` through.
/// The mask is drawn on the host, two elements per 64-bit word, and multiplied in once.
pub fn dropout<const D: usize>(x: Tensor<D>, prob: f64) -> Tensor<D> {
    let device = x.device();
    if prob <= 0.0 || !device.is_autodiff() {
        return x;
    }
    let shape = x.shape();
    let n = shape.num_elements();
    let keep = 1.0 - prob;
    let threshold = (keep * 4_294_967_296.0) as u64; // keep when a 32-bit draw is below it
    let scale = (1.0 / keep) as f32;
    let call = DROPOUT_STREAM.fetch_add(1, Ordering::Relaxed);
    let base = mix(call);
    let mut mask = Vec::with_capacity(n);
    for i in 0..n.div_ceil(2) {
        let word = mix(base ^ (i as u64).wrapping_mul(0xD1B5_4A32_D192_ED03));
        for half in [word & 0xFFFF_FFFF, word >> 32] {
            if mask.len() < n {
                mask.push(if half < threshold { scale } else { 0.0 });
            }
        }
    }
    x * Tensor::<D>::from_data(TensorData::new(mask, shape), &device)
}

/// Softmax over the last axis; on the CPU under autodiff, the fused training op ([`fused`]).
fn softmax_last<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    #[cfg(feature = "cli")]
    if fused::supported(&x) {
        return fused::softmax_last(x);
    }
    softmax(x, D - 1)
}

/// `n` applied to `x`; on the CPU under autodiff, the fused training op ([`fused`]).
pub fn norm<const D: usize>(n: &LayerNorm, x: Tensor<D>) -> Tensor<D> {
    #[cfg(feature = "cli")]
    if let Some(beta) = &n.beta
        && fused::supported(&x)
    {
        return fused::layer_norm(x, n.gamma.val(), beta.val());
    }
    n.forward(x)
}

/// Multi-head attention (burn's `MultiHeadAttention` parameters: `query`, `key`, `value`, `output`).
#[derive(Module, Debug)]
pub struct Attention {
    query: Linear,
    key: Linear,
    value: Linear,
    output: Linear,
    n_heads: usize,
    dropout: f64,
}

impl Attention {
    fn from_burn(m: MultiHeadAttention, dropout: f64) -> Self {
        Self {
            n_heads: m.n_heads,
            query: m.query,
            key: m.key,
            value: m.value,
            output: m.output,
            dropout,
        }
    }

    /// [batch, seq, d_model] → [batch, heads, seq, d_k].
    fn split(&self, x: Tensor<3>, linear: &Linear) -> Tensor<4> {
        let [batch, seq, d_model] = x.dims();
        linear
            .forward(x)
            .reshape([batch, seq, self.n_heads, d_model / self.n_heads])
            .swap_dims(1, 2)
    }

    /// The keys and values of `memory` [batch, s2, d_model].
    pub fn keys_values(&self, memory: Tensor<3>) -> KeysValues {
        KeysValues {
            keys: self.split(memory.clone(), &self.key),
            values: self.split(memory, &self.value),
        }
    }

    /// `query` [batch, s1, d_model] attends `memory` [batch, s2, d_model]; `pad` [batch, s2] and `mask`
    /// [batch, s1, s2] are true where attention is not allowed; `bias` [batch, s2] is added to every query's
    /// score of each key (the reasoning mask: a head start for the context's reason words).
    pub fn forward(
        &self,
        query: Tensor<3>,
        memory: Tensor<3>,
        pad: Option<Tensor<2, Bool>>,
        mask: Option<Tensor<3, Bool>>,
        bias: Option<Tensor<2>>,
    ) -> Tensor<3> {
        self.attend(query, self.keys_values(memory), pad, mask, bias)
    }

    /// [`Self::forward`] on keys and values already projected.
    pub fn attend(
        &self,
        query: Tensor<3>,
        memory: KeysValues,
        pad: Option<Tensor<2, Bool>>,
        mask: Option<Tensor<3, Bool>>,
        bias: Option<Tensor<2>>,
    ) -> Tensor<3> {
        let [batch, s1, d_model] = query.dims();
        let d_k = d_model / self.n_heads;
        let q = self.split(query, &self.query);
        let (k, v) = (memory.keys, memory.values);
        let mut scores = q.matmul(k.transpose()).div_scalar((d_k as f32).sqrt());
        if let Some(bias) = bias {
            let [b, s2] = bias.dims();
            scores = scores + bias.reshape([b, 1, 1, s2]);
        }
        if let Some(pad) = pad {
            let [b, s2] = pad.dims();
            scores = scores.mask_fill(pad.reshape([b, 1, 1, s2]), MASKED_SCORE);
        }
        if let Some(mask) = mask {
            let [b, m1, m2] = mask.dims();
            scores = scores.mask_fill(mask.reshape([b, 1, m1, m2]), MASKED_SCORE);
        }
        let weights = dropout(softmax_last(scores), self.dropout);
        let context = weights
            .matmul(v)
            .swap_dims(1, 2)
            .reshape([batch, s1, d_model]);
        self.output.forward(context)
    }
}

/// An attention's keys and values of some memory, [batch, heads, slots, d_k] each. The decoder keeps those of
/// the encoder states, which do not change between a reply's denoising passes, instead of projecting them again
/// in every pass and layer.
#[derive(Debug, Clone)]
pub struct KeysValues {
    pub keys: Tensor<4>,
    pub values: Tensor<4>,
}

impl KeysValues {
    /// These slots followed by `rest`'s.
    fn then(self, rest: &KeysValues) -> Self {
        Self {
            keys: Tensor::cat(vec![self.keys, rest.keys.clone()], 2),
            values: Tensor::cat(vec![self.values, rest.values.clone()], 2),
        }
    }
}

/// The position-wise feed-forward block (burn's `linear_inner`, `linear_outer`; exact GELU).
#[derive(Module, Debug)]
pub struct FeedForward {
    linear_inner: Linear,
    linear_outer: Linear,
    dropout: f64,
}

impl FeedForward {
    fn from_burn(m: PositionWiseFeedForward, dropout: f64) -> Self {
        Self {
            linear_inner: m.linear_inner,
            linear_outer: m.linear_outer,
            dropout,
        }
    }

    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let h = dropout(gelu(self.linear_inner.forward(x)), self.dropout);
        self.linear_outer.forward(h)
    }
}

/// One encoder layer: x + Attn(norm_2 x), then + FFN(norm_1 x) (burn's norm names with `norm_first`).
#[derive(Module, Debug)]
pub struct EncoderLayer {
    mha: Attention,
    pwff: FeedForward,
    norm_1: LayerNorm,
    norm_2: LayerNorm,
    dropout: f64,
}

/// A stack of [`EncoderLayer`]s; the record has the paths of burn's `TransformerEncoder` (`layers.N.…`).
#[derive(Module, Debug)]
pub struct Encoder {
    layers: Vec<EncoderLayer>,
}

impl Encoder {
    /// Built through burn's own config, so a seeded run initialises exactly as before.
    pub fn new(config: &TransformerEncoderConfig, device: &Device) -> Self {
        let p = config.dropout;
        let layers = config
            .clone()
            .with_norm_first(true)
            .init(device)
            .layers
            .into_iter()
            .map(|l| EncoderLayer {
                mha: Attention::from_burn(l.mha, p),
                pwff: FeedForward::from_burn(l.pwff, p),
                norm_1: l.norm_1,
                norm_2: l.norm_2,
                dropout: p,
            })
            .collect();
        Self { layers }
    }

    /// `x` [batch, seq, d_model]; `pad` [batch, seq] true at padding; `bias` [batch, seq] added to the
    /// attention score of each key.
    pub fn forward(
        &self,
        mut x: Tensor<3>,
        pad: Tensor<2, Bool>,
        bias: Option<Tensor<2>>,
    ) -> Tensor<3> {
        for l in &self.layers {
            let h = norm(&l.norm_2, x.clone());
            let h = l
                .mha
                .forward(h.clone(), h, Some(pad.clone()), None, bias.clone());
            x = x + dropout(h, l.dropout);
            let h = l.pwff.forward(norm(&l.norm_1, x.clone()));
            x = x + dropout(h, l.dropout);
        }
        x
    }
}

/// One decoder layer: x + SelfAttn(norm_3 x), + CrossAttn(norm_1 x, memory), + FFN(norm_2 x) (burn's names).
#[derive(Module, Debug)]
pub struct DecoderLayer {
    cross_attn: Attention,
    self_attn: Attention,
    pwff: FeedForward,
    norm_1: LayerNorm,
    norm_2: LayerNorm,
    norm_3: LayerNorm,
    dropout: f64,
}

/// A stack of [`DecoderLayer`]s; the record has the paths of burn's `TransformerDecoder` (`layers.N.…`).
#[derive(Module, Debug)]
pub struct Decoder {
    layers: Vec<DecoderLayer>,
}

impl Decoder {
    /// Built through burn's own config, so a seeded run initialises exactly as before.
    pub fn new(config: &TransformerDecoderConfig, device: &Device) -> Self {
        let p = config.dropout;
        let layers = config
            .clone()
            .with_norm_first(true)
            .init(device)
            .layers
            .into_iter()
            .map(|l| DecoderLayer {
                cross_attn: Attention::from_burn(l.cross_attn, p),
                self_attn: Attention::from_burn(l.self_attn, p),
                pwff: FeedForward::from_burn(l.pwff, p),
                norm_1: l.norm_1,
                norm_2: l.norm_2,
                norm_3: l.norm_3,
                dropout: p,
            })
            .collect();
        Self { layers }
    }

    /// Every layer's cross-attention keys and values of `memory` [batch, m, d_model], for [`Self::forward`]'s
    /// `cached`.
    pub fn memory_cache(&self, memory: Tensor<3>) -> Vec<KeysValues> {
        self.layers
            .iter()
            .map(|l| l.cross_attn.keys_values(memory.clone()))
            .collect()
    }

    /// `x` [batch, seq, d_model] attends itself (`self_mask` [batch, seq, seq], true = not allowed) and
    /// `memory` [batch, m, d_model] (`memory_pad` [batch, m], true at padding; `memory_bias` [batch, m] added
    /// to the cross-attention score of each memory slot). With `cached` ([`Self::memory_cache`] of further slots),
    /// the memory is `memory`'s slots followed by the cached ones, and `memory_pad` / `memory_bias` cover both.
    pub fn forward(
        &self,
        mut x: Tensor<3>,
        self_mask: Option<Tensor<3, Bool>>,
        memory: Tensor<3>,
        memory_pad: Tensor<2, Bool>,
        memory_bias: Option<Tensor<2>>,
        cached: Option<&[KeysValues]>,
    ) -> Tensor<3> {
        for (i, l) in self.layers.iter().enumerate() {
            let h = norm(&l.norm_3, x.clone());
            let h = l
                .self_attn
                .forward(h.clone(), h, None, self_mask.clone(), None);
            x = x + dropout(h, l.dropout);
            let h = norm(&l.norm_1, x.clone());
            let mut kv = l.cross_attn.keys_values(memory.clone());
            if let Some(cached) = cached {
                kv = kv.then(&cached[i]);
            }
            let h = l
                .cross_attn
                .attend(h, kv, Some(memory_pad.clone()), None, memory_bias.clone());
            x = x + dropout(h, l.dropout);
            let h = l.pwff.forward(norm(&l.norm_2, x.clone()));
            x = x + dropout(h, l.dropout);
        }
        x
    }
}
