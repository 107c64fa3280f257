//! Absorbing-state ("masked") discrete diffusion, in MDLM's vocabulary (Sahoo et al., NeurIPS 2024):
//! [`mask_rate`] is the schedule, [`q_xt`] the forward corruption, [`sample_t`] draws times, [`loss`] scores the
//! denoiser, [`sampler`] takes one reverse step, [`generate`] / [`generate_blocks`] run the reverse process from
//! the all-[MASK] [`prior`].

mod ban;
mod corrupt;
pub mod draw;
mod generate;
pub mod loss;
pub mod sampler;
mod schedule;
mod settings;
#[cfg(test)]
mod test_logits;

pub use corrupt::{prior, q_xt, sample_t};
pub use generate::{generate, generate_async, generate_blocks, generate_blocks_async};
pub use schedule::{T_MIN, elbo_weight, mask_rate};
