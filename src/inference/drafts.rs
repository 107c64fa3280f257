//! Draft editing (`--draft-mask R`, models trained with exemplars): the reverse process starts from the best
//! exemplar with a share R of its positions masked. A still-masked position shows the draft's token to the
//! denoiser, marked by the draft hint, and stays undecided for the sampler, which writes it like any masked
//! position; so the sampler's rule that a written token is never rewritten holds.

use burn::prelude::*;
use rand::{RngExt, SeedableRng};

use super::{InferenceError, Responder};
use crate::diffusion::sampler::SamplerConfig;
use crate::inputs::{EncodedSample, ids_tensor};
use crate::model::Condition;
use crate::tokenizer::MASK;

/// Draft editing's starting points: per row, the best exemplar as a reply ([`crate::inputs::padded_reply`]) with the re-masked
/// positions [MASK]; `None` for a row without one (or every row, without `draft_mask`).
pub(super) struct Drafts(Vec<Option<Vec<u32>>>);

impl Drafts {
    /// The denoiser's input for the noisy tokens `x` (reply positions `start`..): each still-masked position
    /// shows its draft token where the draft has one, and the condition marks those positions
    /// ([`Condition::draft_hint`]); `None` when no position shows one (then `cond` is used as it is).
    pub(super) fn show(
        &self,
        x: &[Vec<u32>],
        start: usize,
        cond: &Condition,
        device: &Device,
    ) -> (Tensor<2, Int>, Option<Condition>) {
        if self.0.iter().all(Option::is_none) {
            return (ids_tensor(x, device), None);
        }
        let width = x.first().map_or(0, Vec::len);
        let mut shown = x.to_vec();
        let mut hint = vec![0.0f32; x.len() * width];
        for (r, (row, draft)) in shown.iter_mut().zip(&self.0).enumerate() {
            let Some(draft) = draft else { continue };
            for (i, tok) in row.iter_mut().enumerate() {
                let d = draft.get(start + i).copied().unwrap_or(MASK);
                if *tok == MASK && d != MASK {
                    *tok = d;
                    hint[r * width + i] = 1.0;
                }
            }
        }
        let mut hinted = cond.clone();
        hinted.draft_hint = Some(Tensor::from_data(
            TensorData::new(hint, [x.len(), width]),
            device,
        ));
        (ids_tensor(&shown, device), Some(hinted))
    }
}

impl Responder {
    /// Each row's draft for `cfg.draft_mask` (positions re-masked with probability R, drawn from a stream of the
    /// row's seed apart from the reply's draws). Refused for a model without exemplars or a checkpoint without
    /// an index: it would read the draft's tokens as written ones.
    pub(super) fn drafts(
        &self,
        encoded: &[EncodedSample],
        seeds: &[u64],
        cfg: &SamplerConfig,
    ) -> Result<Drafts, InferenceError> {
        let Some(r) = cfg.draft_mask else {
            return Ok(Drafts(vec![None; encoded.len()]));
        };
        if !self.model.denoiser.has_exemplar_slots() || self.exemplars.is_none() {
            return Err(InferenceError::BadInput(
                "draft editing (--draft-mask) needs a model trained with exemplars (model.exemplars) and its \
                 exemplar index (exemplars.bin in the checkpoint folder); drop --draft-mask"
                    .into(),
            ));
        }
        let len = self.config.max_reply_len;
        Ok(Drafts(
            encoded
                .iter()
                .zip(seeds)
                .map(|(e, seed)| {
                    let best = e.exemplars.first()?;
                    let mut rng = rand::rngs::StdRng::seed_from_u64(seed ^ 0xD4AF_7ED1_7000);
                    let mut d = crate::inputs::padded_reply(best, len);
                    for t in &mut d {
                        if rng.random::<f32>() < r {
                            *t = MASK;
                        }
                    }
                    Some(d)
                })
                .collect(),
        ))
    }
}
