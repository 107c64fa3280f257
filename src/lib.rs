//! reflectdiffu: empathetic response generation with an emotion-contagion encoder and an absorbing-state
//! (masked) text-diffusion decoder, after ReflectDiffu (Yuan et al., ACL 2025), on burn.
//!
//! The library is split by concern (see `../shared/DESIGN.md`): [`data`] reads EmpatheticDialogues,
//! [`tokenizer`] wraps the trained subword tokenizer, [`reason`] tags emotion-reason tokens, [`model`] holds the
//! encoder and the denoiser, [`diffusion`] the masking process, its loss and the samplers, [`inference`] turns a
//! conversation into a reply. File-system code (checkpoints, training, the CLI) sits behind the default `cli`
//! feature so that the rest builds for `wasm32-unknown-unknown`.

pub mod bag;
pub mod data;
pub mod diffusion;
pub mod era;
pub mod hashing;
pub mod inference;
pub mod intent;
#[path = "../kernels/mod.rs"]
pub mod kernels;
pub mod lexical;
pub mod linear;
pub mod metrics;
pub mod model;
pub mod present;
pub mod reason;
pub mod safety;
pub mod tokenizer;

#[cfg(feature = "cli")]
pub mod checkpoint;
#[cfg(feature = "cli")]
pub mod cli;
#[cfg(feature = "cli")]
pub mod eval;
#[cfg(feature = "cli")]
pub mod export;
#[cfg(feature = "cli")]
pub mod plot;
#[cfg(feature = "cli")]
mod progress;
#[cfg(feature = "cli")]
pub mod train;
