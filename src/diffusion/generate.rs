//! The reverse process end to end: [`generate`] runs the sampler's steps over the whole reply (MDLM),
//! [`generate_blocks`] block by block, left to right (block diffusion). Both take the denoiser as a closure
//! (x_t, t and the step's uniform numbers in; logits or drawn tokens out) and know nothing of the network. The
//! `_async` forms take an async denoiser (one that awaits its GPU read-back in a browser); the plain forms drive
//! them with a synchronous one.

use burn::tensor::read_sync;

use super::sampler::{Denoised, SampleError, Sampler};
use crate::tokenizer::{EOS, MASK, PAD};

/// The sampler's reverse steps over `x`, stopping once nothing is masked (every row has ended: the remaining
/// steps would change nothing) and skipping the denoiser for steps that reveal nothing.
async fn reverse_steps<D: Into<Denoised>>(
    sampler: &mut Sampler,
    x: &mut [Vec<u32>],
    vocab: usize,
    mut denoise: impl AsyncFnMut(&[Vec<u32>], f32, &[f32]) -> D,
) -> Result<(), SampleError> {
    for k in 0..sampler.steps() {
        if x.iter().all(|r| !r.contains(&MASK)) {
            break;
        }
        let uniforms = sampler.uniforms(x);
        if sampler.idle_at(x, k) {
            continue;
        }
        let denoised = denoise(x, sampler.t_at(k), &uniforms).await.into();
        sampler.apply(x, &denoised, &uniforms, vocab, k)?;
    }
    Ok(())
}

/// Runs the whole reverse process from the all-[MASK] prior. `denoise(x, t, uniforms)` returns [rows, len, vocab]
/// logits (or [rows, len] tokens drawn with `uniforms`, see [`Denoised`]).
pub fn generate<D: Into<Denoised>>(
    sampler: &mut Sampler,
    rows: usize,
    len: usize,
    vocab: usize,
    mut denoise: impl FnMut(&[Vec<u32>], f32, &[f32]) -> D,
) -> Result<Vec<Vec<u32>>, SampleError> {
    read_sync(generate_async(
        sampler,
        rows,
        len,
        vocab,
        async |x, t, u| denoise(x, t, u),
    ))
}

/// [`generate`] with an async denoiser (one that awaits its read-back, as on WebGPU in a browser).
pub async fn generate_async<D: Into<Denoised>>(
    sampler: &mut Sampler,
    rows: usize,
    len: usize,
    vocab: usize,
    denoise: impl AsyncFnMut(&[Vec<u32>], f32, &[f32]) -> D,
) -> Result<Vec<Vec<u32>>, SampleError> {
    let mut x = super::prior(rows, len);
    reverse_steps(sampler, &mut x, vocab, denoise).await?;
    Ok(x)
}

/// Block diffusion: writes the reply `block` positions at a time, left to right, running the sampler's reverse
/// steps inside each block; `denoise(prefix, block, t, uniforms)` gets the clean reply so far ([rows][start]) and
/// the noisy block ([rows][width]) and returns [rows, width, vocab] logits (or drawn tokens, as for
/// [`generate`]). A row is finished once a block holds [EOS] (or [PAD]); later blocks are not computed once every
/// row is finished, and a block stops early when nothing in it is masked. Returns [rows][len], [PAD] after the
/// end.
pub fn generate_blocks<D: Into<Denoised>>(
    sampler: &mut Sampler,
    rows: usize,
    len: usize,
    block: usize,
    vocab: usize,
    mut denoise: impl FnMut(&[Vec<u32>], &[Vec<u32>], f32, &[f32]) -> D,
) -> Result<Vec<Vec<u32>>, SampleError> {
    read_sync(generate_blocks_async(
        sampler,
        rows,
        len,
        block,
        vocab,
        async |prefix, xb, t, u| denoise(prefix, xb, t, u),
    ))
}

/// [`generate_blocks`] with an async denoiser.
pub async fn generate_blocks_async<D: Into<Denoised>>(
    sampler: &mut Sampler,
    rows: usize,
    len: usize,
    block: usize,
    vocab: usize,
    mut denoise: impl AsyncFnMut(&[Vec<u32>], &[Vec<u32>], f32, &[f32]) -> D,
) -> Result<Vec<Vec<u32>>, SampleError> {
    let mut x: Vec<Vec<u32>> = vec![Vec::with_capacity(len); rows];
    let mut done = vec![false; rows];
    for start in (0..len).step_by(block.max(1)) {
        let width = block.max(1).min(len - start);
        sampler.set_prefix(&x);
        let mut xb = super::prior(rows, width);
        for (row, finished) in xb.iter_mut().zip(&done) {
            if *finished {
                row.fill(PAD);
            }
        }
        reverse_steps(sampler, &mut xb, vocab, async |xb, t, u| {
            denoise(&x, xb, t, u).await
        })
        .await?;
        for ((row, b), finished) in x.iter_mut().zip(&xb).zip(done.iter_mut()) {
            row.extend_from_slice(b);
            *finished |= b.iter().any(|t| *t == EOS || *t == PAD);
        }
        if done.iter().all(|d| *d) {
            break;
        }
    }
    for row in &mut x {
        if let Some(end) = row.iter().position(|t| *t == EOS || *t == PAD) {
            row[end + 1..].iter_mut().for_each(|t| *t = PAD);
        }
        row.resize(len, PAD);
    }
    Ok(x)
}

#[cfg(test)]
#[path = "generate_tests.rs"]
mod tests;
