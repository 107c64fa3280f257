//! Gradient clipping by the global norm over all parameters (Pascanu et al. 2013; what PyTorch's
//! `clip_grad_norm_` does). burn's `GradientClippingConfig::Norm` clips each parameter tensor on its own, which
//! changes the direction of the update and is not what `train.grad_clip` promises.

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::prelude::*;

/// Sums the squared gradient entries of every parameter that has a gradient.
struct SquaredNorm<'a> {
    grads: &'a GradientsParams,
    sum: Option<Tensor<1>>,
}

impl ModuleVisitor for SquaredNorm<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(g) = self.grads.get::<D>(param.id) {
            let s = g.square().sum(); // [1]
            self.sum = Some(match self.sum.take() {
                Some(acc) => acc + s,
                None => s,
            });
        }
    }
}

/// Multiplies every parameter's gradient by one factor.
struct Scale<'a> {
    grads: &'a mut GradientsParams,
    factor: f32,
}

impl ModuleVisitor for Scale<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(g) = self.grads.remove::<D>(param.id) {
            self.grads.register(param.id, g.mul_scalar(self.factor));
        }
    }
}

/// The global L2 norm of `grads` over the parameters of `module` (0 when there are none).
pub fn global_norm<M: Module>(module: &M, grads: &GradientsParams) -> f32 {
    let mut v = SquaredNorm { grads, sum: None };
    module.visit(&mut v);
    v.sum.map_or(0.0, |s| s.into_scalar::<f32>().sqrt())
}

/// Scales all gradients by `max_norm / norm` when their global norm exceeds `max_norm`, so the update keeps
/// its direction. Returns the norm before clipping; a non-finite norm is returned as is and nothing is scaled
/// (the caller decides what a NaN gradient means).
pub fn clip_global_norm<M: Module>(module: &M, grads: &mut GradientsParams, max_norm: f32) -> f32 {
    let norm = global_norm(module, grads);
    if norm.is_finite() && norm > max_norm {
        let mut s = Scale {
            grads,
            factor: max_norm / norm,
        };
        module.visit(&mut s);
    }
    norm
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Module, Debug)]
    struct Two {
        a: Param<Tensor<1>>,
        b: Param<Tensor<1>>,
    }

    /// Gradients of loss = 3·a + 4·b: (3, 4), global norm 5.
    fn grads() -> (Two, GradientsParams) {
        let device = Device::flex().autodiff();
        let p = |v: f32| Param::from_tensor(Tensor::<1>::from_floats([v], &device));
        let m = Two {
            a: p(1.0),
            b: p(-2.0),
        };
        let loss = m.a.val().mul_scalar(3.0) + m.b.val().mul_scalar(4.0);
        let g = GradientsParams::from_grads(loss.backward(), &m);
        (m, g)
    }

    fn value(g: &GradientsParams, p: &Param<Tensor<1>>) -> f32 {
        g.get::<1>(p.id).unwrap().into_scalar::<f32>()
    }

    #[test]
    fn the_global_norm_is_clipped_not_each_tensor() {
        let (m, mut g) = grads();
        let norm = clip_global_norm(&m, &mut g, 1.0);
        assert!((norm - 5.0).abs() < 1e-5, "norm {norm}");
        // 3/5 and 4/5; clipping each tensor to norm 1 would give 1 and 1.
        assert!((value(&g, &m.a) - 0.6).abs() < 1e-6);
        assert!((value(&g, &m.b) - 0.8).abs() < 1e-6);
        assert!((global_norm(&m, &g) - 1.0).abs() < 1e-5);
    }

    #[test]
    fn gradients_under_the_limit_are_left_alone() {
        let (m, mut g) = grads();
        assert!((clip_global_norm(&m, &mut g, 10.0) - 5.0).abs() < 1e-5);
        assert_eq!(value(&g, &m.a), 3.0);
        assert_eq!(value(&g, &m.b), 4.0);
    }
}
