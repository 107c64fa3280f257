//! Scoring reference replies: the one-sample diffusion NELBO that `eval` turns into a perplexity bound, next to
//! the replies it writes for the same contexts.

use burn::prelude::*;
use burn::tensor::read_sync;

use super::{InferenceError, Reply, Responder, host};
use crate::diffusion::loss::masked_nll_sum;
use crate::diffusion::sampler::SamplerConfig;
use crate::diffusion::{elbo_weight, q_xt, sample_t};
use crate::inputs::{EncodedSample, ids_tensor};
use crate::kernels::Implementation;
use crate::model::Condition;

impl Responder {
    /// Replies to one batch of contexts and scores each row's reference reply (a one-sample estimate of the NELBO, an upper bound on −log p(reply | context)),
    /// encoding the contexts once. What `eval` runs.
    pub fn respond_and_score(
        &self,
        encoded: &[EncodedSample],
        cfg: &SamplerConfig,
        rng: &mut impl rand::Rng,
    ) -> Result<(Vec<Reply>, Vec<f64>), InferenceError> {
        let rows: Vec<usize> = (0..encoded.len()).collect();
        let (cond, read) =
            read_sync(self.condition(encoded, None, &super::reply::row_seeds(&rows, cfg)))?;
        let replies = read_sync(self.respond_conditioned(encoded, &cond, read, &rows, cfg))?;
        Ok((replies, self.nelbo(encoded, &cond, rng)?))
    }

    /// One-sample Monte-Carlo estimate of the diffusion NELBO of each row's reference reply (in nats, for the
    /// whole fixed-length reply): (1/t) Σ_masked −log p(x_0 | x_t), with t drawn by MDLM's low-discrepancy
    /// sampler. Its expectation upper-bounds −log p(reply | context).
    fn nelbo(
        &self,
        encoded: &[EncodedSample],
        cond: &Condition,
        rng: &mut impl rand::Rng,
    ) -> Result<Vec<f64>, InferenceError> {
        let rows = encoded.len();
        let ts = sample_t(rows, rng);
        let len = self.config.max_reply_len;
        let mut xt = Vec::with_capacity(rows);
        let mut weight = Vec::with_capacity(rows * len);
        for (s, &t) in encoded.iter().zip(&ts) {
            let (x, m) = q_xt(&s.reply, t, rng);
            xt.push(x);
            weight.extend(m.into_iter().map(|m| if m { elbo_weight(t) } else { 0.0 }));
        }
        let x0: Vec<Vec<u32>> = encoded.iter().map(|s| s.reply.clone()).collect();
        let t = Tensor::<1>::from_data(TensorData::new(ts, [rows]), &self.device);
        let logits = self.model.denoise_train(
            ids_tensor(&xt, &self.device),
            ids_tensor(&x0, &self.device),
            t,
            cond,
            self.config.block(),
        );
        let weight = Tensor::<2>::from_data(TensorData::new(weight, [rows, len]), &self.device);
        // On a CubeCL device the fused NLL kernel (faster than the op chain on lavapipe, BENCHMARKS.md).
        let implementation = Implementation::for_device(&self.device);
        let nll = masked_nll_sum(
            logits,
            ids_tensor(&x0, &self.device),
            weight,
            implementation,
        );
        Ok(host(nll)?.into_iter().map(f64::from).collect())
    }
}
