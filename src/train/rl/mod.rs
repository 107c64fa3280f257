//! Intent-mimicry reinforcement learning (ReflectDiffu §3.3, with GRPO-style groups): for each context the
//! intent policy draws a group of intents, the decoder writes a reply for each ("explore", "sample"), the judge
//! reads them ("correct"), and the reward's advantage over the group's mean weighs the log-probability of the
//! drawn intent under the policy and of the reply under the decoder (a one-draw masked-diffusion estimate).
//! Anchors keep the model near the supervised one: KL(π_θ ‖ π_ref) on the intent policy and the supervised loss
//! on the gold replies.

mod config;
mod reward;
mod run;
mod stats;

pub use config::RlConfig;
pub use reward::{Reward, RewardWeights, Rollout, mimicry};
pub use run::{RlOptions, train_rl};
pub use stats::group_advantages;
use stats::{draw, entropy, mean_reward, shares};

use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use burn::tensor::activation::{log_softmax, softmax};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::step::{self, StepOptions};
use crate::diffusion::sampler::SamplerConfig;
use crate::diffusion::{q_xt, sample_t};
use crate::inference::Responder;
use crate::inputs::{EncodedSample, encode_context, ids_tensor};
use crate::intent::judge::N_INTENTS;
use crate::model::{Batch, Condition, ReflectDiffu};
use crate::tokenizer::{EOS, PAD};
use crate::train::{Result, TrainError, fail};

/// What one RL step needs besides the batch.
#[derive(Debug, Clone)]
pub struct StepSettings {
    /// Replies per context.
    pub group: usize,
    pub lr: f64,
    pub grad_clip: f32,
    /// Weight of KL(π_θ ‖ π_ref) on the intent policy.
    pub kl_weight: f32,
    /// Weight of the supervised loss on the gold replies.
    pub anchor_weight: f32,
    /// Weight of the policy gradient on the replies' log-probabilities under the decoder.
    pub decoder_weight: f32,
    /// Update only the intent policy's head (no decoder gradient, no anchor).
    pub policy_only: bool,
    /// How the rollouts are written (steps, temperature; the seed is set per step).
    pub sampler: SamplerConfig,
    /// The supervised loss's options (block length, emotion weight).
    pub supervised: StepOptions,
}

/// The policy's reading of a batch of contexts ([`Learner::read_policy`]).
#[derive(Clone)]
struct Policy {
    enc: crate::model::EncoderOutput,
    /// log π_θ(intent | Q), [contexts, intents].
    logp: Tensor<2>,
    /// Its probabilities on the host, row-major.
    probs: Vec<f32>,
    ctx_emotion: Vec<usize>,
}

/// A group of rollouts per context: which context each belongs to, its intent, its encoded context and reply.
struct Rollouts {
    owner: Vec<usize>,
    intents: Vec<usize>,
    repeated: Vec<EncodedSample>,
    replies: Vec<crate::inference::Reply>,
}

/// The means over one step's rollouts, for the log.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StepLog {
    pub reward: Reward,
    /// Mean entropy of the intent policy over the step's contexts, in nats.
    pub policy_entropy: f32,
    /// Mean KL(π_θ ‖ π_ref) over the step's contexts.
    pub kl: f32,
    /// Share of each intent among the drawn ones.
    pub intents: [f32; N_INTENTS],
}

/// The model being trained, a frozen copy of where it started, and its optimizer.
pub struct Learner {
    pub model: ReflectDiffu,
    reference: ReflectDiffu,
    optim: ModuleOptimizer,
    /// The tokenizer, tagger and model config of the checkpoint (its `model` is replaced at every step).
    responder: Responder,
    device: Device,
}

impl Learner {
    /// `model` on an autodiff device; `responder` holds the checkpoint's tokenizer, tagger and config.
    pub fn new(model: ReflectDiffu, responder: Responder, optim: ModuleOptimizer) -> Self {
        let device = responder.device.clone().autodiff();
        Self {
            reference: model.valid(),
            model,
            optim,
            responder,
            device,
        }
    }

    /// One RL update on `batch` (contexts with their gold replies); `reward` scores each rollout. Rollouts are
    /// seeded with `seed`.
    pub fn step(
        &mut self,
        batch: &[(&[String], &EncodedSample)],
        reward: &dyn Fn(&Rollout) -> Reward,
        s: &StepSettings,
        seed: u64,
    ) -> Result<StepLog> {
        let mut rng = StdRng::seed_from_u64(seed);
        let (contexts, encoded): (Vec<&[String]>, Vec<&EncodedSample>) =
            batch.iter().copied().unzip();
        let policy = self.read_policy(&encoded)?;
        let rollouts = self.explore_and_sample(&encoded, &policy, s, seed, &mut rng)?;

        // Correct: the judge (and the encoder, for the emotion fit) read the replies.
        let fit = self.emotion_fit(&rollouts.replies, &rollouts.owner, &policy.ctx_emotion)?;
        let rewards: Vec<Reward> = (0..rollouts.owner.len())
            .map(|r| {
                reward(&Rollout {
                    context: contexts[rollouts.owner[r]],
                    intent: rollouts.intents[r],
                    reply: &rollouts.replies[r].text,
                    emotion_fit: fit[r],
                })
            })
            .collect();
        let advantage = group_advantages(&rewards, s.group);
        let (total, kl) = self.loss(&encoded, policy.clone(), &rollouts, advantage, s, &mut rng);
        self.update(total, s)?;
        Ok(StepLog {
            reward: mean_reward(&rewards),
            policy_entropy: entropy(&policy.probs),
            kl: kl.into_scalar::<f32>(),
            intents: shares(&rollouts.intents),
        })
    }

    /// The policy's reading of the contexts: the encoder's output, log π_θ(intent | Q) and its probabilities,
    /// and the emotion the encoder reads from each context.
    fn read_policy(&self, encoded: &[&EncodedSample]) -> Result<Policy> {
        let gold = Batch::new(encoded, &self.device);
        let enc = self.model.encode(&gold);
        let logits = enc.intent_logits.clone().ok_or_else(|| {
            TrainError::Run(
                "the model has no intent policy; train it with model.intent_policy true".into(),
            )
        })?;
        let logp = log_softmax(logits.clone(), 1); // [n, 9]
        let probs = crate::inference::host(softmax(logits, 1))?;
        let ctx_emotion: Vec<usize> = crate::inference::host(enc.emotion_logits.clone())?
            .chunks(crate::data::EMOTIONS.len())
            .map(crate::metrics::argmax)
            .collect();
        Ok(Policy {
            enc,
            logp,
            probs,
            ctx_emotion,
        })
    }

    /// Explore: a group of intents per context, drawn from the policy. Sample: the decoder writes each rollout
    /// with the weights as they are now.
    fn explore_and_sample(
        &mut self,
        encoded: &[&EncodedSample],
        policy: &Policy,
        s: &StepSettings,
        seed: u64,
        rng: &mut StdRng,
    ) -> Result<Rollouts> {
        let rows = encoded.len() * s.group;
        let owner: Vec<usize> = (0..rows).map(|r| r / s.group).collect();
        let intents: Vec<usize> = owner
            .iter()
            .map(|&c| draw(&policy.probs[c * N_INTENTS..(c + 1) * N_INTENTS], rng))
            .collect();
        self.responder.model = self.model.valid();
        let repeated: Vec<EncodedSample> = owner.iter().map(|&c| encoded[c].clone()).collect();
        let sampler = SamplerConfig {
            seed,
            ..s.sampler.clone()
        };
        let replies = self
            .responder
            .respond_with_intents(&repeated, &intents, &sampler)?;
        Ok(Rollouts {
            owner,
            intents,
            repeated,
            replies,
        })
    }

    /// The update's loss: the policy gradient on the drawn intents (and on the replies), KL to the reference
    /// policy, and the supervised anchor on the gold replies. Also returns the KL, for the log.
    fn loss(
        &self,
        encoded: &[&EncodedSample],
        policy: Policy,
        rollouts: &Rollouts,
        advantage: Vec<f32>,
        s: &StepSettings,
        rng: &mut StdRng,
    ) -> (Tensor<1>, Tensor<1>) {
        let rows = rollouts.owner.len();
        let owner_t = Tensor::<1, Int>::from_data(
            TensorData::new(rollouts.owner.iter().map(|&c| c as i64).collect(), [rows]),
            &self.device,
        );
        let intent_t = Tensor::<1, Int>::from_data(
            TensorData::new(rollouts.intents.iter().map(|&i| i as i64).collect(), [rows]),
            &self.device,
        );
        let adv = Tensor::<1>::from_data(TensorData::new(advantage, [rows]), &self.device);
        let picked: Tensor<1> = policy
            .logp
            .clone()
            .select(0, owner_t.clone())
            .gather(1, intent_t.clone().unsqueeze_dim(1))
            .squeeze_dim(1);
        let policy_loss = -(picked * adv.clone()).mean();
        // (skipped at weight 0; otherwise drawn here, so the anchor's noise is what it was before the weight existed)
        let decoder_loss = (s.decoder_weight > 0.0 && !s.policy_only).then(|| {
            let cond = self.rollout_condition(&policy, rollouts, owner_t, intent_t);
            let reply_logp = self.reply_log_prob(&rollouts.replies, &cond, s.supervised.block, rng);
            -(reply_logp * adv).mean() * s.decoder_weight
        });

        // Anchors: stay near the supervised policy and keep fitting the gold replies.
        let kl = self.kl_to_reference(encoded, policy.logp);
        let mut total = policy_loss + kl.clone() * s.kl_weight;
        if let Some(d) = decoder_loss {
            total = total + d;
        }
        if s.anchor_weight > 0.0 && !s.policy_only {
            let supervised =
                step::forward(&self.model, encoded, None, &s.supervised, rng, &self.device);
            total = total + supervised.total * s.anchor_weight;
        }
        (total, kl)
    }

    /// The decoder's condition for each rollout: its context's encoder states, emotion and drawn intent.
    fn rollout_condition(
        &self,
        policy: &Policy,
        rollouts: &Rollouts,
        owner_t: Tensor<1, Int>,
        intent_t: Tensor<1, Int>,
    ) -> Condition {
        let rows = rollouts.owner.len();
        let enc = &policy.enc;
        let mut cond = Condition {
            memory: enc.h.clone().select(0, owner_t.clone()),
            // (the padding of the repeated rows built afresh: a selected Bool tensor comes back as U8 on Flex)
            memory_pad: Batch::new(&rollouts.repeated.iter().collect::<Vec<_>>(), &self.device)
                .ctx_pad,
            emotion: Tensor::from_data(
                TensorData::new(
                    rollouts
                        .owner
                        .iter()
                        .map(|&c| policy.ctx_emotion[c] as i64)
                        .collect(),
                    [rows],
                ),
                &self.device,
            ),
            intent: intent_t,
            memory_bias: enc.reason_bias.clone().map(|b| b.select(0, owner_t)),
            memory_cache: None,
            draft_hint: None,
        };
        let exemplars: Vec<&[Vec<u32>]> =
            rollouts.repeated.iter().map(|e| &e.exemplars[..]).collect();
        let k = exemplars.iter().map(|e| e.len()).max().unwrap_or(0);
        self.model.attach_exemplars(&mut cond, &exemplars, k);
        cond
    }

    /// Backward, clipping and the optimizer step (only the intent head with `policy_only`).
    fn update(&mut self, total: Tensor<1>, s: &StepSettings) -> Result<()> {
        let loss = total.clone().into_scalar::<f32>();
        if !loss.is_finite() {
            fail!("the RL loss became {loss}; lower rl.lr");
        }
        let mut grads = match (s.policy_only, self.model.encoder.intent_head()) {
            (true, Some(head)) => GradientsParams::from_module(&mut total.backward(), head),
            _ => GradientsParams::from_grads(total.backward(), &self.model),
        };
        super::clip::clip_global_norm(&self.model, &mut grads, s.grad_clip);
        // Module clones share their tensors; the old handle is dropped as soon as the step returns.
        self.model = self.optim.step(s.lr, self.model.clone(), grads);
        Ok(())
    }

    /// KL(π_θ ‖ π_ref) of the intent policy on the contexts, averaged; `logp` is log π_θ, [contexts, 9].
    fn kl_to_reference(&self, encoded: &[&EncodedSample], logp: Tensor<2>) -> Tensor<1> {
        let ref_logp = log_softmax(
            self.reference
                .encode(&Batch::new(encoded, &self.responder.device))
                .intent_logits
                .expect("the reference has the same policy"),
            1,
        );
        let ref_logp = Tensor::<2>::from_data(ref_logp.into_data(), &self.device);
        (logp.clone().exp() * (logp - ref_logp)).sum_dim(1).mean()
    }

    /// For each reply, the probability the encoder gives its context's emotion when it reads the reply as a
    /// one-turn conversation.
    fn emotion_fit(
        &self,
        replies: &[crate::inference::Reply],
        owner: &[usize],
        ctx_emotion: &[usize],
    ) -> Result<Vec<f32>> {
        let r = &self.responder;
        let encoded = replies
            .iter()
            .map(|reply| {
                let text = if reply.text.trim().is_empty() {
                    "."
                } else {
                    &reply.text
                };
                encode_context(&r.tokenizer, &r.tagger, &[text.to_string()], &r.config)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let read = r
            .model
            .encode(&Batch::new(&encoded.iter().collect::<Vec<_>>(), &r.device));
        let p = crate::inference::host(softmax(read.emotion_logits, 1))?;
        let k = crate::data::EMOTIONS.len();
        Ok(owner
            .iter()
            .enumerate()
            .map(|(row, &c)| p[row * k + ctx_emotion[c]])
            .collect())
    }

    /// A one-draw estimate of each reply's mean log-probability per token under the decoder: the reply
    /// ([EOS]-terminated, [PAD] after) is masked at a random time t and the masked tokens are scored. [rows].
    fn reply_log_prob(
        &self,
        replies: &[crate::inference::Reply],
        cond: &Condition,
        block: usize,
        rng: &mut impl Rng,
    ) -> Tensor<1> {
        let len = self.responder.config.max_reply_len;
        let rows = replies.len();
        let x0: Vec<Vec<u32>> = replies
            .iter()
            .map(|r| {
                let mut x: Vec<u32> = r.tokens.iter().copied().take(len - 1).collect();
                x.push(EOS);
                x.resize(len, PAD);
                x
            })
            .collect();
        let ts = sample_t(rows, rng);
        let (mut xt, mut weight) = (Vec::with_capacity(rows), Vec::with_capacity(rows * len));
        for (x, &t) in x0.iter().zip(&ts) {
            let (noisy, masked) = q_xt(x, t, rng);
            let count = masked.iter().filter(|m| **m).count().max(1) as f32;
            weight.extend(masked.iter().map(|&m| if m { 1.0 / count } else { 0.0 }));
            xt.push(noisy);
        }
        let t = Tensor::<1>::from_data(TensorData::new(ts, [rows]), &self.device);
        let logits = self.model.denoise_train(
            ids_tensor(&xt, &self.device),
            ids_tensor(&x0, &self.device),
            t,
            cond,
            block,
        );
        let logp = log_softmax(logits, 2)
            .gather(2, ids_tensor(&x0, &self.device).unsqueeze_dim(2))
            .squeeze_dim::<2>(2); // [rows, len]
        let weight = Tensor::<2>::from_data(TensorData::new(weight, [rows, len]), &self.device);
        (logp * weight).sum_dim(1).squeeze_dim(1)
    }
}
