//! The fused sampling step as plain tensor ops: runs on every backend, and is the specification the CubeCL
//! kernel is tested against. It follows the rule of `diffusion::draw` step for step, sorting the vocabulary
//! (which is what the kernel avoids) to find the nucleus threshold.

use burn::prelude::*;

use crate::diffusion::draw::{DrawParams, FORBIDDEN};
use crate::tokenizer::{EOS, PAD};

/// `logits` [n, vocab], `uniforms` [n] → (token [n], its probability [n]; NaN where the logits are not finite).
pub fn sample(
    logits: Tensor<2>,
    uniforms: Tensor<1>,
    params: DrawParams,
) -> (Tensor<1, Int>, Tensor<1>) {
    let [n, vocab] = logits.dims();
    let device = logits.device();
    let column = |f: &dyn Fn(usize) -> f32| {
        Tensor::<2>::from_data(
            TensorData::new((0..vocab).map(f).collect::<Vec<_>>(), [1, vocab]),
            &device,
        )
        .expand([n, vocab])
    };
    let bias = column(&|i| {
        if i == EOS as usize || i == PAD as usize {
            params.eos_bias
        } else {
            0.0
        }
    });
    let forbidden = column(&|i| f32::from(FORBIDDEN.contains(&(i as u32)) as u8)).equal_elem(1.0);
    let any_allowed = (0..vocab).any(|i| !FORBIDDEN.contains(&(i as u32)));
    let bad = logits
        .clone()
        .is_finite()
        .bool_not()
        .any_dim(1)
        .squeeze_dim::<1>(1);
    // A vocabulary of forbidden tokens only has nothing to draw: every row fails.
    let bad = if any_allowed {
        bad
    } else {
        Tensor::<1>::zeros([n], &device).equal_elem(0.0)
    };

    let temp = if params.temperature > 0.0 {
        params.temperature
    } else {
        1.0
    };
    let logits = (logits + bias).mask_fill(forbidden, f32::NEG_INFINITY);
    let max = logits.clone().max_dim(1);
    let e = ((logits - max) / temp).exp();
    let p = e.clone() / e.sum_dim(1);

    let index = if params.temperature == 0.0 {
        p.clone().argmax(1)
    } else {
        // τ: the smallest probability among the sorted tokens whose preceding mass is still short of top-p.
        let sorted = p.clone().sort_descending(1);
        let before = sorted.clone().cumsum(1) - sorted.clone();
        let outside = before.greater_equal_elem(params.top_p);
        let tau = sorted.mask_fill(outside, f32::INFINITY).min_dim(1);
        let kept = p
            .clone()
            .greater_equal(tau.expand([n, vocab]))
            .bool_and(p.clone().greater_elem(0.0));
        let mass = p.clone().mask_fill(kept.clone().bool_not(), 0.0).cumsum(1);
        let target = uniforms.reshape([n, 1]) * mass.clone().narrow(1, vocab - 1, 1);
        // The first token whose running mass exceeds the target is the count of those that do not …
        let first = mass.lower_equal(target.expand([n, vocab])).int().sum_dim(1);
        // … unless rounding left none: then the last token of the nucleus.
        let positions = Tensor::<1, Int>::arange(0..vocab as i64, &device).reshape([1, vocab]);
        let last = (kept.int() * positions.expand([n, vocab])).max_dim(1);
        first.min_pair(last)
    };
    let prob = p
        .gather(1, index.clone())
        .squeeze_dim::<1>(1)
        .mask_fill(bad, f32::NAN);
    (index.squeeze_dim::<1>(1), prob)
}
