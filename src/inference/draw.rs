//! Where a reverse step's tokens are drawn: the logits read back to the host, or drawn on the device by
//! `kernels::sample` (only ids and probabilities read back).

use burn::prelude::*;

use super::{Responder, host_async};
use crate::diffusion::sampler::{Denoised, Drawn, SamplerConfig};
use crate::kernels::{self, Implementation, sample};

impl Responder {
    /// One reverse step's logits, [rows, len, vocab], as the sampler takes them: read back whole, or drawn on the
    /// device with this step's `uniforms` ([rows, len]).
    pub(super) async fn draw(
        &self,
        logits: Tensor<3>,
        uniforms: &[f32],
        cfg: &SamplerConfig,
    ) -> Denoised {
        // Without the `gpu` feature (the page's CPU bundle) there is no kernel to run: the host draws, and the
        // device-draw code is left out of the build.
        let on_device = cfg!(feature = "gpu") && cfg.device_drawable();
        let Some(implementation) = self.draw_on_device.filter(|_| on_device) else {
            let logits = host_async(logits).await;
            return Denoised::Logits(logits.expect("the denoiser's logits are f32"));
        };
        let [rows, len, vocab] = logits.dims();
        let u = Tensor::<1>::from_data(
            TensorData::new(uniforms.to_vec(), [rows * len]),
            &self.device,
        );
        let (tokens, probs) = sample::sample(
            logits.reshape([rows * len, vocab]),
            u,
            cfg.draw_params(),
            implementation,
        );
        let probs = host_async(probs)
            .await
            .expect("the sampler's probabilities are f32");
        let tokens = tokens
            .into_data_async()
            .await
            .expect("the sampler's tokens come back");
        Denoised::Drawn(
            tokens
                .iter::<i64>()
                .zip(probs)
                .map(|(token, prob)| Drawn {
                    token: token as u32,
                    prob,
                })
                .collect(),
        )
    }
}

/// Draws with the fused kernel on a GPU (a device backed by a physical card); everywhere else the logits come
/// back to the host, which measured fastest on the CPUs we have: on Flex the host draw beats the tensor-op
/// reference 2×, and on lavapipe (WGPU on a CPU) the kernel 8× per step (BENCHMARKS.md, "kernels/"). On a GPU
/// the kernel replaces a read-back of rows × positions × vocabulary floats and the host's softmax and sort with
/// a few passes on the device; that choice is not measured here (no GPU): `cargo bench --bench kernels` on one
/// says, and `--draw host` overrides it.
pub fn default_draw(device: &Device) -> Option<Implementation> {
    kernels::on_gpu(device).then_some(Implementation::Fused)
}
