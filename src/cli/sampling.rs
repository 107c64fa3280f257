//! The options shared by every command that loads a model and samples from it: the device, the sampler
//! settings and the intent choice.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use crate::diffusion::sampler::{SamplerConfig, Strategy};

/// How long `--device wgpu` waits for an adapter to run a first tensor op.
const WGPU_PROBE_SECONDS: u64 = 120;

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum DeviceArg {
    /// burn's Flex CPU backend.
    Flex,
    /// burn's WGPU backend (a GPU, or Mesa's software Vulkan without one).
    Wgpu,
}

impl DeviceArg {
    /// The device, checked: WGPU is probed with a tiny tensor so that a machine without a usable adapter gets
    /// an error that says what to install instead of a panic deep inside wgpu.
    pub fn device(self) -> anyhow::Result<burn::prelude::Device> {
        use burn::prelude::*;
        match self {
            DeviceArg::Flex => Ok(Device::flex()),
            DeviceArg::Wgpu => {
                // Finding an adapter can take a while (Mesa's software Vulkan compiles its shaders first): say
                // so, and give up after a limit instead of sitting silent.
                eprintln!("looking for a GPU adapter (WGPU)…");
                let device = Device::wgpu(DeviceKind::DefaultDevice);
                let probe = device.clone();
                let hook = std::panic::take_hook();
                std::panic::set_hook(Box::new(|_| {}));
                let (tx, rx) = std::sync::mpsc::channel();
                std::thread::spawn(move || {
                    let ok = std::panic::catch_unwind(move || {
                        Tensor::<1>::ones([1], &probe).into_data()
                    })
                    .is_ok();
                    let _ = tx.send(ok);
                });
                let answer = rx.recv_timeout(std::time::Duration::from_secs(WGPU_PROBE_SECONDS));
                std::panic::set_hook(hook);
                anyhow::ensure!(
                    answer.is_ok(),
                    "--device wgpu: no GPU adapter answered within {WGPU_PROBE_SECONDS} s; check the driver \
                     (vulkaninfo), or use --device flex"
                );
                let ok = answer.unwrap_or(false);
                anyhow::ensure!(
                    ok,
                    "--device wgpu: no usable GPU adapter. Without a GPU install Mesa's software Vulkan \
                     (apt-get install mesa-vulkan-drivers libvulkan1), or use --device flex"
                );
                Ok(device)
            }
        }
    }
}

#[derive(Args, Debug, Clone)]
pub struct SamplingArgs {
    /// Checkpoint folder [default: checkpoints/default]
    #[arg(long)]
    pub checkpoint: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = DeviceArg::Flex)]
    pub device: DeviceArg,
    /// Reverse diffusion steps.
    #[arg(long, default_value_t = SamplerConfig::default().steps)]
    pub steps: usize,
    /// Softmax temperature (0 = greedy).
    #[arg(long, default_value_t = SamplerConfig::default().temperature)]
    pub temperature: f32,
    /// Nucleus sampling mass.
    #[arg(long, default_value_t = SamplerConfig::default().top_p)]
    pub top_p: f32,
    #[arg(long, default_value_t = SamplerConfig::default().seed)]
    pub seed: u64,
    /// confidence: unmask the most confident positions first; ancestral: MDLM's ancestral sampler.
    #[arg(long, value_enum, default_value_t = SamplerConfig::default().strategy.into())]
    pub strategy: StrategyArg,
    /// Confidence strategy: write the reply in blocks of N tokens, left to right (0 = all at once).
    #[arg(long, default_value_t = SamplerConfig::default().block_len)]
    pub block_len: usize,
    /// Added to the logits of [EOS] and [PAD]: below 0 makes replies longer, above 0 shorter.
    #[arg(long, default_value_t = SamplerConfig::default().eos_bias, allow_hyphen_values = true)]
    pub eos_bias: f32,
    /// Never complete an N-gram the reply already holds ("sorry to hear that. sorry to hear that"); 0 = off.
    #[arg(long, default_value_t = SamplerConfig::default().no_repeat_ngram)]
    pub no_repeat_ngram: usize,
    /// Added to the logits of the context's content words that the reply does not hold yet (copying the
    /// speaker's words, each at most once); 0 = off.
    #[arg(long, default_value_t = SamplerConfig::default().context_bias, allow_hyphen_values = true)]
    pub context_bias: f32,
    /// The temperature of the choice between ending the reply and writing another word (--temperature then
    /// shapes only which word): higher writes longer replies; 0 = --temperature.
    #[arg(long, default_value_t = SamplerConfig::default().stop_temperature)]
    pub stop_temperature: f32,
    /// Draft editing (a model trained with exemplars): start from the reply people wrote to the most similar
    /// moment with this share of its positions masked (0–1), and let the model rewrite it, instead of writing
    /// from nothing.
    #[arg(long, value_name = "R")]
    pub draft_mask: Option<f32>,
    /// The intent to write the reply for: auto (the model's intent policy; no intent for a model without one),
    /// unknown (none), or one of agreeing, acknowledging, encouraging, consoling, sympathizing, suggesting,
    /// questioning, wishing, neutral.
    #[arg(long, default_value = "auto", value_parser = check_intent)]
    pub intent: String,
    /// With --intent auto: weigh the policy by DESIGN.md's emotion → intent-group prior (design) or not (none;
    /// the prior measured worse, see docs/experiments/intent-twice-rl.md).
    #[arg(long, value_enum, default_value_t = IntentPriorArg::None)]
    pub intent_prior: IntentPriorArg,
    /// With --intent auto: draw the intent from the policy (sample; seeded like the reply) or take its most
    /// probable one (argmax, which repeats the previous turn's intent more often).
    #[arg(long, value_enum, default_value_t = IntentDrawArg::Sample)]
    pub intent_draw: IntentDrawArg,
    /// Where each step's tokens are drawn: auto (our fused kernel on a GPU, the host on CPUs, lavapipe
    /// included), host (read the logits back), fused (the CubeCL kernel; WGPU only, the reference elsewhere),
    /// reference (tensor ops on the device). Same tokens for the same seed, up to float rounding.
    #[arg(long, value_enum, default_value_t = DrawArg::Auto)]
    pub draw: DrawArg,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DrawArg {
    Auto,
    Host,
    Fused,
    Reference,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum IntentDrawArg {
    Sample,
    Argmax,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum IntentPriorArg {
    Design,
    None,
}

fn check_intent(name: &str) -> Result<String, String> {
    crate::intent::policy::IntentChoice::parse(name, true, false)
        .map(|_| name.to_string())
        .map_err(|e| e.0)
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum StrategyArg {
    Confidence,
    Ancestral,
}

impl From<Strategy> for StrategyArg {
    fn from(s: Strategy) -> Self {
        match s {
            Strategy::Confidence => StrategyArg::Confidence,
            Strategy::Ancestral => StrategyArg::Ancestral,
        }
    }
}

impl SamplingArgs {
    /// How replies choose their intent (`--intent`, `--intent-prior`, `--intent-draw`).
    pub fn intent_choice(&self) -> crate::intent::policy::IntentChoice {
        crate::intent::policy::IntentChoice::parse(
            &self.intent,
            self.intent_prior == IntentPriorArg::Design,
            self.intent_draw == IntentDrawArg::Sample,
        )
        .expect("checked when the arguments were parsed")
    }

    /// Applies the options that live on the responder rather than in the sampler config (`--intent`,
    /// `--intent-prior`, `--draw`).
    pub fn configure(&self, responder: &mut crate::inference::Responder) -> anyhow::Result<()> {
        use crate::kernels::Implementation;
        responder.set_intent(self.intent_choice())?;
        responder.draw_on_device = match self.draw {
            DrawArg::Auto => crate::inference::default_draw(&responder.device),
            DrawArg::Host => None,
            DrawArg::Fused => Some(Implementation::Fused),
            DrawArg::Reference => Some(Implementation::Reference),
        };
        Ok(())
    }

    pub fn sampler(&self) -> SamplerConfig {
        SamplerConfig {
            steps: self.steps,
            temperature: self.temperature,
            top_p: self.top_p,
            strategy: match self.strategy {
                StrategyArg::Confidence => Strategy::Confidence,
                StrategyArg::Ancestral => Strategy::Ancestral,
            },
            block_len: self.block_len,
            seed: self.seed,
            eos_bias: self.eos_bias,
            no_repeat_ngram: self.no_repeat_ngram,
            context_bias: self.context_bias,
            stop_temperature: self.stop_temperature,
            draft_mask: self.draft_mask,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        sampling: SamplingArgs,
    }

    #[test]
    fn the_cli_defaults_are_the_library_sampler_defaults() {
        let cli = Cli::try_parse_from(["x"]).unwrap();
        assert_eq!(cli.sampling.sampler(), SamplerConfig::default());
    }

    #[test]
    fn the_cli_defaults_choose_intents_as_the_library_does() {
        // (the page and library users get IntentChoice::default(); the CLI must not differ from them)
        let cli = Cli::try_parse_from(["x"]).unwrap();
        assert_eq!(
            cli.sampling.intent_choice(),
            crate::intent::policy::IntentChoice::default()
        );
    }
}
