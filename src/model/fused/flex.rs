//! The Flex (CPU) side of the fused training ops: the backward passes as row-wise loops, split over rayon tasks.

use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Flex, TensorMetadata};
use burn::prelude::*;
use rayon::prelude::*;

use super::{FusedGrads, LAYER_NORM_EPSILON};

/// Rows per rayon task: enough work per task that the 2-core split costs nothing measurable.
const ROWS_PER_TASK: usize = 64;

/// A contiguous f32 copy-free view (or one copy when `t` is strided).
fn contiguous(t: FlexTensor) -> FlexTensor {
    if t.is_contiguous() {
        t
    } else {
        t.to_contiguous()
    }
}

fn values(t: &FlexTensor) -> &[f32] {
    t.as_slice::<f32>()
        .expect("fused training ops run on contiguous f32 tensors (checked by `supported`)")
}

fn tensor(values: Vec<f32>, shape: Vec<usize>) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, shape))
}

impl FusedGrads for Flex {
    fn softmax_grad(y: FloatTensor<Self>, g: FloatTensor<Self>) -> FloatTensor<Self> {
        let shape: Vec<usize> = y.shape().to_vec();
        let n = *shape.last().expect("softmax of a tensor with no axis");
        let (y, g) = (contiguous(y), contiguous(g));
        let (ys, gs) = (values(&y), values(&g));
        let mut dx = vec![0.0f32; ys.len()];
        dx.par_chunks_mut(ROWS_PER_TASK * n)
            .zip(
                ys.par_chunks(ROWS_PER_TASK * n)
                    .zip(gs.par_chunks(ROWS_PER_TASK * n)),
            )
            .for_each(|(dx, (y, g))| {
                for ((dx, y), g) in dx.chunks_mut(n).zip(y.chunks(n)).zip(g.chunks(n)) {
                    let dot: f32 = y.iter().zip(g).map(|(y, g)| y * g).sum();
                    for ((dx, y), g) in dx.iter_mut().zip(y).zip(g) {
                        *dx = y * (g - dot);
                    }
                }
            });
        tensor(dx, shape)
    }

    fn layer_norm_saving(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, Vec<f32>) {
        let shape: Vec<usize> = x.shape().to_vec();
        let d = *shape.last().expect("layer norm of a tensor with no axis");
        let (x, gamma, beta) = (contiguous(x), contiguous(gamma), contiguous(beta));
        let (xs, gamma, beta) = (values(&x), values(&gamma), values(&beta));
        let rows = xs.len() / d;
        let mut y = vec![0.0f32; xs.len()];
        let mut normed = vec![0.0f32; xs.len()];
        let mut inv_std = vec![0.0f32; rows];
        let task = ROWS_PER_TASK * d;
        y.par_chunks_mut(task)
            .zip(normed.par_chunks_mut(task))
            .zip(inv_std.par_chunks_mut(ROWS_PER_TASK))
            .zip(xs.par_chunks(task))
            .for_each(|(((y, normed), inv_std), x)| {
                for (((y, normed), inv_std), x) in y
                    .chunks_mut(d)
                    .zip(normed.chunks_mut(d))
                    .zip(inv_std.iter_mut())
                    .zip(x.chunks(d))
                {
                    let mean = x.iter().sum::<f32>() / d as f32;
                    let var = x.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / d as f32;
                    let r = 1.0 / (var + LAYER_NORM_EPSILON as f32).sqrt();
                    *inv_std = r;
                    for i in 0..d {
                        let h = (x[i] - mean) * r;
                        normed[i] = h;
                        y[i] = h * gamma[i] + beta[i];
                    }
                }
            });
        (tensor(y, shape.clone()), tensor(normed, shape), inv_std)
    }

    fn layer_norm_grad(
        normed: FloatTensor<Self>,
        inv_std: &[f32],
        gamma: FloatTensor<Self>,
        g: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        let shape: Vec<usize> = normed.shape().to_vec();
        let d = *shape.last().expect("layer norm of a tensor with no axis");
        let (normed, gamma, g) = (contiguous(normed), contiguous(gamma), contiguous(g));
        let (hs, gamma, gs) = (values(&normed), values(&gamma), values(&g));
        let mut dx = vec![0.0f32; hs.len()];
        let task = ROWS_PER_TASK * d;
        // Each task returns its rows' partial dγ and dβ; the partials are summed afterwards.
        let partials: Vec<(Vec<f32>, Vec<f32>)> = dx
            .par_chunks_mut(task)
            .zip(hs.par_chunks(task))
            .zip(gs.par_chunks(task))
            .zip(inv_std.par_chunks(ROWS_PER_TASK))
            .map(|(((dx, h), g), inv_std)| {
                let (mut dgamma, mut dbeta) = (vec![0.0f32; d], vec![0.0f32; d]);
                let mut dh = vec![0.0f32; d];
                for (((dx, h), g), r) in dx
                    .chunks_mut(d)
                    .zip(h.chunks(d))
                    .zip(g.chunks(d))
                    .zip(inv_std)
                {
                    let (mut mean_dh, mut mean_dh_h) = (0.0f32, 0.0f32);
                    for i in 0..d {
                        dh[i] = g[i] * gamma[i];
                        mean_dh += dh[i];
                        mean_dh_h += dh[i] * h[i];
                        dgamma[i] += g[i] * h[i];
                        dbeta[i] += g[i];
                    }
                    mean_dh /= d as f32;
                    mean_dh_h /= d as f32;
                    for i in 0..d {
                        dx[i] = r * (dh[i] - mean_dh - h[i] * mean_dh_h);
                    }
                }
                (dgamma, dbeta)
            })
            .collect();
        let (mut dgamma, mut dbeta) = (vec![0.0f32; d], vec![0.0f32; d]);
        for (pg, pb) in partials {
            for i in 0..d {
                dgamma[i] += pg[i];
                dbeta[i] += pb[i];
            }
        }
        (
            tensor(dx, shape),
            tensor(dgamma, vec![d]),
            tensor(dbeta, vec![d]),
        )
    }
}
