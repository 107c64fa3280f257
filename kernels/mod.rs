//! Our own GPU kernels, each beside the plain tensor-op reference that every other device runs.
//!
//! This folder is compiled into the library (`#[path]` in `src/lib.rs`) rather than built as a crate of its own:
//! a second manifest would have to repeat burn's feature set exactly, and any drift between the two costs a
//! 12–18 minute rebuild of burn's CubeCL stack; as one crate the kernels also see the sampler's types directly.
//! The CubeCL half (`cube.rs` files) is built only with the `cli` feature, the one that brings burn's WGPU
//! backend; the web build and the Flex device use the references.
//!
//! * [`sample`] — one reverse step's draws, fused: logits → [EOS] bias → temperature → nucleus → draw.

pub mod sample;
