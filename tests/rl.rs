//! The intent-mimicry RL stage: a reward that prefers one intent moves the policy towards it; the CLI stage
//! runs, logs its rewards and writes a checkpoint that samples.

mod common;

use burn::module::Module;
use burn::optim::AdamWConfig;
use burn::prelude::*;
use burn::tensor::activation::softmax;
use reflectdiffu::diffusion::sampler::SamplerConfig;
use reflectdiffu::inference::Responder;
use reflectdiffu::inputs::encode_context;
use reflectdiffu::model::Batch;
use reflectdiffu::reason::ReasonTagger;
use reflectdiffu::tokenizer::TextTokenizer;
use reflectdiffu::train::rl::{Learner, Reward, Rollout, StepSettings};
use reflectdiffu::train::step::StepOptions;

const CONSOLING: usize = 3;

#[test]
fn a_reward_that_prefers_one_intent_moves_the_policy_towards_it() {
    let texts = [
        "my car broke down on the highway",
        "oh no are you ok",
        "i lost my job today and i feel awful",
        "that is great news congratulations",
    ];
    let tokenizer =
        TextTokenizer::train(texts.iter().cycle().take(80).map(|t| t.to_string()), 300).unwrap();
    let tagger = ReasonTagger::from_word_list("awful\n");
    let mut config = common::tiny_config()
        .with_dropout(0.0)
        .with_intent_policy(Some(true));
    config.vocab_size = tokenizer.vocab_size();
    let device = Device::flex();
    device.seed(3);
    let model = config.init(&device.clone().autodiff());
    let contexts: Vec<Vec<String>> = texts.iter().map(|t| vec![t.to_string()]).collect();
    let encoded: Vec<_> = contexts
        .iter()
        .map(|c| encode_context(&tokenizer, &tagger, c, &config).unwrap())
        .collect();
    let responder = Responder {
        model: model.valid(),
        config: config.clone(),
        blank_tokens: tokenizer.blank_tokens(),
        tokenizer,
        tagger,
        device: device.clone(),
        intent: Default::default(),
        knows_intents: true,
        lexical: None,
        exemplars: None,
        draw_on_device: None,
    };
    let p_consoling = |learner: &Learner| -> f32 {
        let batch = Batch::new(&encoded.iter().collect::<Vec<_>>(), &device);
        let logits = learner.model.valid().encode(&batch).intent_logits.unwrap();
        let p = softmax(logits, 1).into_data().try_to_vec::<f32>().unwrap();
        p.chunks(9).map(|row| row[CONSOLING]).sum::<f32>() / 4.0
    };
    let mut learner = Learner::new(model, responder, AdamWConfig::new().init());
    let before = p_consoling(&learner);
    let settings = StepSettings {
        group: 4,
        lr: 0.01,
        grad_clip: 1.0,
        kl_weight: 0.0,
        anchor_weight: 0.0,
        decoder_weight: 1.0,
        policy_only: false,
        sampler: SamplerConfig {
            steps: 2,
            ..Default::default()
        },
        supervised: StepOptions::validation(common::REPLY, true),
    };
    let prefer = |r: &Rollout| {
        let hit = f32::from(r.intent == CONSOLING);
        Reward {
            total: hit,
            intent: hit,
            ..Default::default()
        }
    };
    let batch: Vec<(&[String], _)> = contexts
        .iter()
        .map(|c| c.as_slice())
        .zip(&encoded)
        .collect();
    let mut rewards = Vec::new();
    for step in 0..12 {
        let log = learner.step(&batch, &prefer, &settings, step).unwrap();
        assert!(log.kl.abs() < 10.0 && log.policy_entropy > 0.0);
        rewards.push(log.reward.total);
    }
    let after = p_consoling(&learner);
    assert!(
        after > 0.5 && after > before + 0.2,
        "π(consoling) went from {before:.3} to {after:.3}; rewards {rewards:?}"
    );

    // decoder_weight 0 (and no anchor): only the policy learns; the denoiser's weights stay as they were.
    let denoiser = |l: &Learner| l.model.denoiser.clone().into_record().into_bytes().unwrap();
    let (decoder_before, policy_before) = (denoiser(&learner), p_consoling(&learner));
    let no_decoder = StepSettings {
        decoder_weight: 0.0,
        ..settings
    };
    let steps = |l: &mut Learner, settings: &StepSettings, seeds: std::ops::Range<u64>| {
        for seed in seeds {
            l.step(&batch, &prefer, settings, seed).unwrap();
        }
    };
    steps(&mut learner, &no_decoder, 12..14);
    assert!(denoiser(&learner) == decoder_before);
    assert_ne!(p_consoling(&learner), policy_before);

    // policy_only: only the policy's head moves; the encoder (its emotion read) and the denoiser stay.
    let emotions = |l: &Learner| {
        let batch = Batch::new(&encoded.iter().collect::<Vec<_>>(), &device);
        let logits = l.model.valid().encode(&batch).emotion_logits;
        logits.into_data().try_to_vec::<f32>().unwrap()
    };
    let (decoder_before, emotions_before) = (denoiser(&learner), emotions(&learner));
    let policy_before = p_consoling(&learner);
    // (decoder weight 1 would move the denoiser, were it not for policy_only; these contexts have no gold
    // replies for the anchor)
    let head_only = StepSettings {
        policy_only: true,
        decoder_weight: 1.0,
        ..no_decoder
    };
    steps(&mut learner, &head_only, 14..16);
    assert!(denoiser(&learner) == decoder_before);
    assert_eq!(emotions(&learner), emotions_before);
    assert_ne!(p_consoling(&learner), policy_before);
}
