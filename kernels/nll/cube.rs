//! The fused NLL as a CubeCL kernel: one cube per position, two passes over its logits (max; Σ exp), each
//! ending in a shared-memory tree reduction, then unit 0 writes `log Σ + max − logit[target]`.

use burn::backend::fusion::custom::TensorSpec;
use burn::backend::tensor::{FloatTensor, IntTensor};
use burn::backend::{Backend, Dispatch, backend_extension};
use burn::prelude::*;
use burn::tensor::DType;
use burn_cubecl::CubeBackend;
use burn_cubecl::kernel::into_contiguous;
use burn_cubecl::ops::numeric::empty_device_dtype;
use cubecl::prelude::{CubeCount, CubeDim};

const UNITS: usize = 256;

mod k {
    use crate::kernels::reduce;
    use cubecl::prelude::*;

    #[cube(launch)]
    pub fn nll_kernel<I: Int>(
        logits: &Tensor<f32>,
        targets: &Tensor<I>,
        nll: &mut Tensor<f32>,
        #[comptime] units: usize,
        #[define(I)] _target_type: ElemType,
    ) {
        let row = CUBE_POS;
        let vocab = logits.shape(1);
        let base = row * vocab;
        let unit = UNIT_POS as usize;
        let mut values = Shared::<[f32]>::new_slice(units);

        let mut max = f32::new(-3.0e38);
        let mut i = unit;
        while i < vocab {
            let l = logits[base + i];
            if l > max {
                max = l;
            }
            i += units;
        }
        values[unit] = max;
        sync_cube();
        reduce::max(&mut values);
        let max = values[0];
        sync_cube();

        let mut sum = 0.0f32;
        let mut i = unit;
        while i < vocab {
            sum += (logits[base + i] - max).exp();
            i += units;
        }
        values[unit] = sum;
        sync_cube();
        reduce::sum(&mut values);
        if unit == 0 {
            let target = usize::cast_from(targets[row]);
            nll[row] = values[0].ln() + max - logits[base + target];
        }
    }
}

#[backend_extension(Cube, Fusion)]
pub trait NllOps: Backend {
    #[fusion(meta = |logits, targets| TensorSpec::new(targets.shape.clone(), logits.dtype))]
    fn fused_token_nll(logits: FloatTensor<Self>, targets: IntTensor<Self>) -> FloatTensor<Self>;
}

impl NllOps for CubeBackend {
    fn fused_token_nll(logits: FloatTensor<Self>, targets: IntTensor<Self>) -> FloatTensor<Self> {
        let (logits, targets) = (into_contiguous(logits), into_contiguous(targets));
        let n = logits.meta.shape()[0];
        let client = logits.client.clone();
        let nll = empty_device_dtype(
            client.clone(),
            logits.device.clone(),
            [n].into(),
            DType::F32,
        );
        let target_type = burn::backend::cubecl::dtype_to_storage_type(targets.dtype);
        k::nll_kernel::launch(
            &client,
            CubeCount::Static(n as u32, 1, 1),
            CubeDim::new_1d(UNITS as u32),
            logits.into_tensor_arg(),
            targets.into_tensor_arg(),
            nll.clone().into_tensor_arg(),
            UNITS,
            target_type,
        );
        nll
    }
}

/// The kernel's half of [`super::token_nll`]: f32 logits on a CubeCL device.
pub fn token_nll(logits: Tensor<2>, targets: Tensor<1, Int>) -> Tensor<1> {
    Tensor::from_dispatch(Dispatch::fused_token_nll(
        logits.into_dispatch(),
        targets.into_dispatch(),
    ))
}
