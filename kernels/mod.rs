//! Our own GPU kernels, each beside the plain tensor-op reference that every other device runs.
//!
//! This folder is compiled into the library (`#[path]` in `src/lib.rs`) rather than built as a crate of its own:
//! a second manifest would have to repeat burn's feature set exactly, and any drift between the two costs a
//! 12–18 minute rebuild of burn's CubeCL stack; as one crate the kernels also see the sampler's types directly.
//! The CubeCL half (`cube.rs` files) is built only with the `gpu` feature (part of `cli`), the one that brings
//! burn's WGPU backend; the page's CPU bundle and the Flex device use the references.
//!
//! * [`sample`] — one reverse step's draws, fused: logits → [EOS] bias → temperature → nucleus → draw.
//! * [`nll`] — the scoring NLL, fused: max → Σ exp → pick, forward only.

pub mod nll;
#[cfg(feature = "gpu")]
mod reduce;
pub mod sample;

use burn::prelude::*;

/// Which implementation a kernel's entry point runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Implementation {
    /// The CubeCL kernel (WGPU and the other CubeCL runtimes only).
    Fused,
    /// The tensor-op reference, on any device.
    Reference,
}

impl Implementation {
    /// The kernel where the device can run it, the reference elsewhere.
    pub fn for_device(device: &Device) -> Self {
        if fused_supported(device) {
            Self::Fused
        } else {
            Self::Reference
        }
    }
}

/// True for the devices the CubeCL kernels run on (not autodiff devices: neither kernel has a backward).
pub fn fused_supported(device: &Device) -> bool {
    #[cfg(feature = "gpu")]
    {
        matches!(device.as_dispatch(), burn::backend::DispatchDevice::Cube(_))
    }
    #[cfg(not(feature = "gpu"))]
    {
        let _ = device;
        false
    }
}

/// True for a CubeCL device backed by a physical card: a GPU, not a CPU runtime or a software rasterizer such as
/// lavapipe.
pub fn on_gpu(device: &Device) -> bool {
    #[cfg(feature = "gpu")]
    {
        fused_supported(device) && device.identity().is_some_and(|i| i.physical.is_some())
    }
    #[cfg(not(feature = "gpu"))]
    {
        let _ = device;
        false
    }
}
