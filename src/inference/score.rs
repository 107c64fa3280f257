//! Scoring reference replies: the one-sample diffusion NELBO that `eval` turns into a perplexity bound, next to
//! the replies it writes for the same contexts.

use burn::prelude::*;
use burn::tensor::read_sync;

use super::{InferenceError, Reply, Responder, host};
use crate::diffusion::loss::masked_nll_sum;
use crate::diffusion::sampler::SamplerConfig;
use crate::diffusion::{elbo_weight, q_xt, sample_t};
use crate::kernels::Implementation;
use crate::model::{Condition, EncodedSample, ids_tensor};

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
        let n = if std::env::var("RD_ORDER_NLL").is_ok() {
            self.order_nll(encoded, &cond)?
        } else {
            self.nelbo(encoded, &cond, rng)?
        };
        Ok((replies, n))
    }

    /// −log p(reference | context) under the block model's ancestral sampler that reveals one position per
    /// step, in uniformly random order, B steps per block (t = the block's masked share): exact, summed over
    /// all B! orders per block by dynamic programming over the 2^B revealed sets.
    fn order_nll(
        &self,
        encoded: &[EncodedSample],
        cond: &Condition,
    ) -> Result<Vec<f64>, InferenceError> {
        let rows = encoded.len();
        let len = self.config.max_reply_len;
        let b = self.config.block().min(len);
        assert!(b <= 8 && len % b == 0);
        let x0: Vec<Vec<u32>> = encoded.iter().map(|s| s.reply.clone()).collect();
        let full = (1usize << b) - 1;
        let mut nll: Vec<Vec<f32>> = vec![Vec::new(); full];
        for (set, out) in nll.iter_mut().enumerate() {
            let xt: Vec<Vec<u32>> = x0
                .iter()
                .map(|r| {
                    r.iter()
                        .enumerate()
                        .map(|(p, &x)| {
                            if set >> (p % b) & 1 == 1 {
                                x
                            } else {
                                crate::tokenizer::MASK
                            }
                        })
                        .collect()
                })
                .collect();
            let t = (b - set.count_ones() as usize) as f32 / b as f32;
            let t = Tensor::<1>::from_data(TensorData::new(vec![t; rows], [rows]), &self.device);
            let logits = self.model.denoise_train(
                ids_tensor(&xt, &self.device),
                ids_tensor(&x0, &self.device),
                t,
                cond,
                b,
            );
            let implementation = Implementation::for_device(&self.device);
            *out = host(crate::diffusion::loss::token_nll(
                logits,
                ids_tensor(&x0, &self.device),
                implementation,
            ))?;
        }
        let logaddexp = |a: f64, c: f64| {
            let m = a.max(c);
            if m == f64::NEG_INFINITY {
                m
            } else {
                m + ((a - m).exp() + (c - m).exp()).ln()
            }
        };
        let mut order: Vec<usize> = (0..full).collect();
        order.sort_by_key(|s| s.count_ones());
        Ok((0..rows)
            .map(|r| {
                let mut total = 0.0f64;
                for blk in 0..len / b {
                    let mut f = vec![f64::NEG_INFINITY; full + 1];
                    f[0] = 0.0;
                    for &set in &order {
                        let k = set.count_ones() as usize;
                        for j in (0..b).filter(|j| set >> j & 1 == 0) {
                            let lp =
                                -(nll[set][r * len + blk * b + j] as f64) - ((b - k) as f64).ln();
                            f[set | 1 << j] = logaddexp(f[set | 1 << j], f[set] + lp);
                        }
                    }
                    total -= f[full];
                }
                total
            })
            .collect())
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
