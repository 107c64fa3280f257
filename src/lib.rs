//! reflectdiffu: empathetic response generation with an emotion-contagion encoder and an absorbing-state
//! (masked) text-diffusion decoder, after ReflectDiffu (Yuan et al., ACL 2025), on burn.
//!
//! The library is split by concern (see `../shared/DESIGN.md`): [`data`] reads EmpatheticDialogues and holds the
//! label vocabularies, [`tokenizer`] wraps the trained subword tokenizer, [`reason`] tags emotion-reason tokens
//! (the lexicon rule, the ERA tagger and its RECCON reader), [`emotion`] holds the lexical emotion readers fused
//! with the encoder's and the fit of their fusion weights, [`sparse`] the hashed linear models they, the intent
//! judge and the ERA tagger share, [`intent`] the intent judge, labels and policy, [`inputs`] turns text into the
//! network's inputs, [`retrieve`] the exemplar index (replies people wrote to similar contexts), [`model`] the encoder and the denoiser (tensors only), [`diffusion`] the masking process, its
//! loss and the samplers, [`inference`] turns a conversation into a reply, [`safety`] is the crisis rule and
//! [`present`] what every front end shows; [`format`] is the error of every format reader and config validator.
//! File-system code (checkpoints, training, evaluation, export,
//! [`output`] files, the CLI) sits behind the default `cli` feature so that the rest builds for
//! `wasm32-unknown-unknown`.

pub mod data;
pub mod diffusion;
pub mod emotion;
pub mod format;
pub mod inference;
pub mod inputs;
pub mod intent;
#[path = "../kernels/mod.rs"]
pub mod kernels;
pub mod metrics;
pub mod model;
pub mod present;
pub mod reason;
pub mod retrieve;
pub mod safety;
pub mod sparse;
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
pub mod output;
#[cfg(feature = "cli")]
pub mod plot;
#[cfg(feature = "cli")]
mod progress;
#[cfg(feature = "cli")]
pub mod train;
