//! Softmax and layer norm for training on the CPU, each one op with a hand-written backward.
//!
//! Under autodiff burn runs its default decompositions: softmax as 5 primitive ops (max, sub, exp, sum, div) and
//! layer norm as 9 (mean, sub, mul, mean, add, sqrt, div, mul, add), each a pass over memory forward and another
//! one or two backward, plus the reductions that broadcasting needs. Here both run as Flex's own fused forward
//! kernels, and their gradients come from one row-wise pass each:
//!
//! * softmax, y = softmax(x) over the last axis: dx = y ⊙ (g − Σ g ⊙ y);
//! * layer norm, y = x̂ γ + β with x̂ = (x − μ) / σ: dx = (dx̂ − mean(dx̂) − x̂ · mean(dx̂ ⊙ x̂)) / σ where
//!   dx̂ = g γ, and dγ = Σ_rows g ⊙ x̂, dβ = Σ_rows g.
//!
//! Only a Flex device under autodiff (CPU training) takes this path. Sampling runs on plain devices, where burn's
//! ops already are these fused kernels, and WGPU keeps burn's ops, so no reply changes.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind, unary};
use burn::backend::ops::{ActivationOps, ModuleOps};
use burn::backend::tensor::FloatTensor;
use burn::backend::{
    Autodiff, Backend, Dispatch, DispatchDevice, Flex, TensorMetadata, backend_extension,
};
use burn::prelude::*;
use burn::tensor::DType;

mod flex;

/// burn's `LayerNormConfig` default, which every layer norm of the model uses (burn keeps the field private).
pub const LAYER_NORM_EPSILON: f64 = 1e-5;

/// True where the fused training ops run: an f32 tensor on a Flex device under autodiff.
pub fn supported<const D: usize>(x: &Tensor<D>) -> bool {
    let device = x.device();
    x.dtype() == DType::F32
        && device.is_autodiff()
        && matches!(
            device.as_dispatch().clone().inner(),
            DispatchDevice::Flex(_)
        )
}

/// Softmax over the last axis (the caller has checked [`supported`]).
pub fn softmax_last<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    Tensor::from_dispatch(Dispatch::train_softmax(x.into_dispatch()))
}

/// Layer norm over the last axis with scale `gamma` and shift `beta` [d] (the caller has checked [`supported`]).
pub fn layer_norm<const D: usize>(x: Tensor<D>, gamma: Tensor<1>, beta: Tensor<1>) -> Tensor<D> {
    Tensor::from_dispatch(Dispatch::train_layer_norm(
        x.into_dispatch(),
        gamma.into_dispatch(),
        beta.into_dispatch(),
    ))
}

/// The two ops, routed by burn's runtime dispatch to Flex and to autodiff over Flex.
#[backend_extension(Flex, Autodiff)]
pub trait TrainOps: Backend {
    fn train_softmax(x: FloatTensor<Self>) -> FloatTensor<Self>;
    fn train_layer_norm(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
    ) -> FloatTensor<Self>;
}

/// What the backward passes need from the inner backend.
pub trait FusedGrads: Backend {
    /// dx of softmax from its output `y` and the incoming gradient `g` (same shape).
    fn softmax_grad(y: FloatTensor<Self>, g: FloatTensor<Self>) -> FloatTensor<Self>;
    /// Layer norm's output, x̂ and 1/σ per row.
    fn layer_norm_saving(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, Vec<f32>);
    /// (dx, dγ, dβ) of layer norm.
    fn layer_norm_grad(
        normed: FloatTensor<Self>,
        inv_std: &[f32],
        gamma: FloatTensor<Self>,
        g: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);
}

impl TrainOps for Flex {
    fn train_softmax(x: FloatTensor<Self>) -> FloatTensor<Self> {
        let last = x.shape().num_dims() - 1;
        Flex::softmax(x, last)
    }

    fn train_layer_norm(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        Flex::layer_norm(x, gamma, Some(beta), LAYER_NORM_EPSILON)
    }
}

#[derive(Debug)]
struct SoftmaxBackward;

impl<B: FusedGrads> Backward<B, 1> for SoftmaxBackward {
    /// The forward output.
    type State = FloatTensor<B>;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let y = ops.state;
        unary::<B, _>(ops.parents, ops.node, grads, |g| B::softmax_grad(y, g));
    }
}

#[derive(Debug)]
struct LayerNormBackward;

/// x̂, 1/σ per row, γ.
type LayerNormState<B> = (FloatTensor<B>, Vec<f32>, FloatTensor<B>);

impl<B: FusedGrads> Backward<B, 3> for LayerNormBackward {
    type State = LayerNormState<B>;

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [x, gamma, beta] = ops.parents;
        let g = grads.consume::<B>(&ops.node);
        let (normed, inv_std, gamma_value) = ops.state;
        let (dx, dgamma, dbeta) = B::layer_norm_grad(normed, &inv_std, gamma_value, g);
        for (parent, grad) in [(x, dx), (gamma, dgamma), (beta, dbeta)] {
            if let Some(node) = parent {
                grads.register::<B>(node.id, grad);
            }
        }
    }
}

impl<B: TrainOps + FusedGrads, C: CheckpointStrategy> TrainOps for Autodiff<B, C> {
    fn train_softmax(x: FloatTensor<Self>) -> FloatTensor<Self> {
        match SoftmaxBackward
            .prepare::<C>([x.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let y = B::train_softmax(x.into_primitive());
                prep.finish(y.clone(), y)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::train_softmax(x.into_primitive())),
        }
    }

    fn train_layer_norm(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        match LayerNormBackward
            .prepare::<C>([x.node(), gamma.node(), beta.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let gamma = gamma.into_primitive();
                let (y, normed, inv_std) =
                    B::layer_norm_saving(x.into_primitive(), gamma.clone(), beta.into_primitive());
                prep.finish((normed, inv_std, gamma), y)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::train_layer_norm(
                x.into_primitive(),
                gamma.into_primitive(),
                beta.into_primitive(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::module::Param;
    use burn::nn::LayerNormConfig;
    use burn::tensor::Distribution;
    use burn::tensor::activation::softmax;

    /// Equal up to f32 rounding, measured against the tensor's largest entry (dx of a low-variance layer norm is
    /// a difference of terms ~10⁴ times larger than some of its entries).
    fn assert_close<const D: usize>(a: Tensor<D>, b: Tensor<D>, what: &str) {
        let (a, b) = (
            a.into_data().try_to_vec::<f32>().unwrap(),
            b.into_data().try_to_vec::<f32>().unwrap(),
        );
        assert_eq!(a.len(), b.len(), "{what}: lengths");
        let scale = b.iter().fold(1.0f32, |m, v| m.max(v.abs()));
        for (i, (x, y)) in a.iter().zip(&b).enumerate() {
            assert!(
                (x - y).abs() <= 2e-5 * scale,
                "{what}[{i}]: fused {x} vs burn {y}"
            );
        }
    }

    /// Forward values and the gradients of every input agree with burn's decomposed ops; the shapes have more
    /// rows than one rayon task so that the partial sums of dγ and dβ are combined.
    #[test]
    fn fused_ops_match_burn_forward_and_backward() {
        let device = Device::flex().autodiff();
        device.seed(7);
        assert!(supported(&Tensor::<1>::zeros([2], &device)));
        assert!(
            !supported(&Tensor::<1>::zeros([2], &Device::flex())),
            "plain devices keep burn's ops"
        );

        let x = Tensor::<3>::random([5, 30, 9], Distribution::Normal(0.0, 2.0), &device);
        let w = Tensor::<3>::random([5, 30, 9], Distribution::Normal(0.0, 1.0), &device);
        let grad_of = |fused: bool| {
            let x = x.clone().detach().require_grad();
            let y = if fused {
                softmax_last(x.clone())
            } else {
                softmax(x.clone(), 2)
            };
            let grads = (y.clone() * w.clone()).sum().backward();
            (y.inner(), x.grad(&grads).unwrap())
        };
        let ((y_fused, g_fused), (y_burn, g_burn)) = (grad_of(true), grad_of(false));
        assert_close(y_fused, y_burn, "softmax");
        assert_close(g_fused, g_burn, "softmax dx");

        // Small inputs (variance 1e-6, below ε) would show a wrong ε.
        for scale in [1.0, 1e-3] {
            let mut ln = LayerNormConfig::new(9).init(&device);
            ln.gamma =
                Param::from_tensor(Tensor::random([9], Distribution::Normal(1.0, 0.5), &device));
            ln.beta = Some(Param::from_tensor(Tensor::random(
                [9],
                Distribution::Normal(0.0, 0.5),
                &device,
            )));
            let x = Tensor::<3>::random([5, 30, 9], Distribution::Normal(0.0, scale), &device);
            let run = |fused: bool| {
                let x = x.clone().detach().require_grad();
                let y = if fused {
                    layer_norm(x.clone(), ln.gamma.val(), ln.beta.as_ref().unwrap().val())
                } else {
                    ln.forward(x.clone())
                };
                let grads = (y.clone() * w.clone()).sum().backward();
                let gamma = ln.gamma.val().grad(&grads).unwrap();
                let beta = ln.beta.as_ref().unwrap().val().grad(&grads).unwrap();
                (y.inner(), x.grad(&grads).unwrap(), gamma, beta)
            };
            let (a, b) = (run(true), run(false));
            assert_close(a.0, b.0, "layer norm");
            assert_close(a.1, b.1, "layer norm dx");
            assert_close(a.2, b.2, "layer norm dγ");
            assert_close(a.3, b.3, "layer norm dβ");
        }
    }
}
