//! Polarity experts (ReflectDiffu's contrastive experts in the emotion contagion encoder): a positive and a
//! negative expert read the pooled context Q, a gate mixes them, and their output is added to Q before the
//! emotion head. Training supervises the gate with the context's VADER polarity and pulls expert outputs of the
//! same polarity together (NT-Xent, `train::contrast`); inference needs no lexicon.

use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::{gelu, sigmoid};

#[derive(Module, Debug)]
pub struct PolarityExperts {
    positive: Linear,
    negative: Linear,
    gate: Linear,
}

/// What the experts give the encoder and the contrastive loss.
#[derive(Debug, Clone)]
pub struct ExpertOutput {
    /// Q plus the mixed expert output, [batch, d_model].
    pub q: Tensor<2>,
    /// The mixed expert output, L2-normalised, [batch, d_model] (the contrastive loss's embedding).
    pub z: Tensor<2>,
    /// Logit of "the context is positive", [batch].
    pub gate_logit: Tensor<1>,
}

impl PolarityExperts {
    pub fn new(d_model: usize, device: &Device) -> Self {
        Self {
            positive: LinearConfig::new(d_model, d_model).init(device),
            negative: LinearConfig::new(d_model, d_model).init(device),
            gate: LinearConfig::new(d_model, 1).init(device),
        }
    }

    pub fn forward(&self, q: Tensor<2>) -> ExpertOutput {
        let gate_logit = self.gate.forward(q.clone()); // [batch, 1]
        let g = sigmoid(gate_logit.clone());
        let e = gelu(self.positive.forward(q.clone())) * g.clone()
            + gelu(self.negative.forward(q.clone())) * (g.neg() + 1.0);
        let norm = e.clone().powf_scalar(2.0).sum_dim(1).sqrt().clamp_min(1e-6);
        ExpertOutput {
            z: e.clone() / norm,
            q: q + e,
            gate_logit: gate_logit.squeeze_dim(1),
        }
    }
}
