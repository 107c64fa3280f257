//! Absorbing-state ("masked") discrete diffusion, in MDLM's vocabulary (Sahoo et al., NeurIPS 2024):
//! [`mask_rate`] is the schedule, [`q_xt`] the forward corruption, [`sample_t`] draws times, [`loss`] scores the
//! denoiser, [`sampler`] runs the reverse process from the all-[MASK] [`prior`].

mod corrupt;
mod draw;
pub mod loss;
pub mod sampler;
mod schedule;

pub use corrupt::{prior, q_xt, sample_t};
pub use schedule::{T_MIN, elbo_weight, mask_rate};
