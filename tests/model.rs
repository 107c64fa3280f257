//! The network on the Flex CPU backend: shapes, a training step, save → load.

mod common;

use burn::module::Module;
use burn::optim::{AdamWConfig, GradientsParams};
use burn::prelude::*;
use burn::store::ModuleRecord;
use burn::tensor::Bytes;
use common::*;
use reflectdiffu::diffusion::loss::{masked_cross_entropy, selected_cross_entropy, selection};
use reflectdiffu::inputs::ids_tensor;
use reflectdiffu::model::Batch;

#[test]
fn every_public_forward_has_the_documented_shape() {
    let device = Device::flex();
    let model = tiny_config().init(&device);
    let s = samples();
    let batch = Batch::new(&s.iter().collect::<Vec<_>>(), &device);
    let enc = model.encode(&batch);
    assert_eq!(enc.h.dims(), [2, 7, 32]);
    assert_eq!(enc.q.dims(), [2, 32]);
    assert_eq!(enc.emotion_logits.dims(), [2, 32]);
    let cond = condition(&model, &batch, &device);
    let t = Tensor::<1>::from_data(TensorData::new(vec![0.5f32, 0.9], [2]), &device);
    let logits = model.denoise(ids_tensor(&x_t(), &device), t, &cond);
    assert_eq!(logits.dims(), [2, REPLY, VOCAB]);
}

#[test]
fn the_loss_on_masked_rows_alone_equals_the_loss_on_full_logits() {
    // Training projects only masked positions; it must score exactly what the full-logit loss scores,
    // including a reply with no masked position (it adds 0) and replies with different mask counts.
    let device = Device::flex();
    device.seed(11);
    let (rows, len, vocab) = (3, 5, 7);
    let logits = Tensor::<3>::random(
        [rows, len, vocab],
        burn::tensor::Distribution::Normal(0.0, 2.0),
        &device,
    );
    let x0: Vec<Vec<u32>> = (0..rows)
        .map(|r| (0..len).map(|p| ((r * 3 + p) % vocab) as u32).collect())
        .collect();
    let masked = vec![
        vec![true, false, true, true, false],
        vec![false; 5],
        vec![true, true, true, true, true],
    ];
    let flat: Vec<f32> = masked
        .concat()
        .iter()
        .map(|&m| f32::from(u8::from(m)))
        .collect();
    let full = masked_cross_entropy(
        logits.clone(),
        ids_tensor(&x0, &device),
        Tensor::from_data(TensorData::new(flat, [rows, len]), &device),
    )
    .into_scalar::<f32>();
    let (index, weight) = selection(&masked);
    assert_eq!(index, vec![0, 2, 3, 10, 11, 12, 13, 14]);
    let n = index.len();
    let targets: Vec<i64> = index
        .iter()
        .map(|&i| i64::from(x0[i as usize / len][i as usize % len]))
        .collect();
    let picked = logits.reshape([rows * len, vocab]).select(
        0,
        Tensor::<1, Int>::from_data(TensorData::new(index, [n]), &device),
    );
    let selected = selected_cross_entropy(
        picked,
        Tensor::from_data(TensorData::new(targets, [n]), &device),
        Tensor::from_data(TensorData::new(weight, [n]), &device),
    )
    .into_scalar::<f32>();
    assert!(full > 0.5, "a degenerate fixture: loss {full}");
    assert!(
        (full - selected).abs() < 1e-5,
        "full {full} vs selected {selected}"
    );
}

#[test]
fn a_training_step_runs_forward_and_backward_and_lowers_the_loss() {
    let device = Device::flex().autodiff();
    device.seed(3);
    let mut model = tiny_config().with_dropout(0.0).init(&device);
    let mut optim = AdamWConfig::new().init();
    let s = samples();
    let batch = Batch::new(&s.iter().collect::<Vec<_>>(), &device);
    let x0 = ids_tensor(
        &s.iter().map(|s| s.reply.clone()).collect::<Vec<_>>(),
        &device,
    );
    let masked_rows: Vec<f32> = x_t()
        .concat()
        .iter()
        .map(|t| if *t == 2 { 1.0 } else { 0.0 })
        .collect();
    let masked = Tensor::<2>::from_data(TensorData::new(masked_rows, [2, REPLY]), &device);
    let t = Tensor::<1>::from_data(TensorData::new(vec![1.0f32, 0.3], [2]), &device);
    let mut losses = Vec::new();
    for _ in 0..5 {
        let cond = condition(&model, &batch, &device);
        let logits = model.denoise(ids_tensor(&x_t(), &device), t.clone(), &cond);
        let loss = masked_cross_entropy(logits, x0.clone(), masked.clone());
        losses.push(loss.clone().into_scalar::<f32>());
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optim.step(1e-2, model, grads);
    }
    assert!(losses[4] < losses[0], "loss did not fall: {losses:?}");
}

#[test]
fn save_then_load_gives_identical_logits() {
    let device = Device::flex();
    let model = tiny_config().init(&device);
    let bytes = model.clone().into_record().into_bytes().unwrap();
    let loaded = tiny_config()
        .init(&device)
        .try_load_record(ModuleRecord::from_bytes(Bytes::from_bytes_vec(bytes.to_vec())).unwrap())
        .unwrap();
    let s = samples();
    let batch = Batch::new(&s.iter().collect::<Vec<_>>(), &device);
    let logits = |m: &reflectdiffu::model::ReflectDiffu| {
        let cond = condition(m, &batch, &device);
        let t = Tensor::<1>::from_data(TensorData::new(vec![0.5f32, 0.5], [2]), &device);
        m.denoise(ids_tensor(&x_t(), &device), t, &cond)
            .into_data()
            .try_into_vec_as::<f32>()
            .unwrap()
    };
    assert_eq!(logits(&model), logits(&loaded));
}

#[test]
fn the_reasoning_mask_moves_attention_only_when_the_context_has_reason_words() {
    let device = Device::flex();
    let plain = tiny_config().init(&device);
    let bytes = plain.clone().into_record().into_bytes().unwrap();
    let biased = tiny_config()
        .with_reason_bias(Some(3.0))
        .init(&device)
        .try_load_record(ModuleRecord::from_bytes(Bytes::from_bytes_vec(bytes.to_vec())).unwrap())
        .unwrap();
    let logits = |m: &reflectdiffu::model::ReflectDiffu,
                  s: &[reflectdiffu::inputs::EncodedSample]| {
        let batch = Batch::new(&s.iter().collect::<Vec<_>>(), &device);
        let enc = m.encode(&batch);
        let cond = condition(m, &batch, &device);
        let t = Tensor::<1>::from_data(TensorData::new(vec![0.5f32, 0.5], [2]), &device);
        let l = m.denoise(ids_tensor(&x_t(), &device), t, &cond);
        (
            enc.emotion_logits
                .into_data()
                .try_into_vec_as::<f32>()
                .unwrap(),
            l.into_data().try_into_vec_as::<f32>().unwrap(),
        )
    };
    // The fixture marks odd token ids as reasons: the bias changes the encoder and the decoder.
    let tagged = samples();
    let (e0, d0) = logits(&plain, &tagged);
    let (e1, d1) = logits(&biased, &tagged);
    assert_ne!(e0, e1);
    assert_ne!(d0, d1);
    // Without reason words the bias adds nothing.
    let untagged: Vec<_> = samples()
        .into_iter()
        .map(|mut s| {
            s.ctx_reasons.iter_mut().for_each(|r| *r = 0);
            s
        })
        .collect();
    assert_eq!(logits(&plain, &untagged), logits(&biased, &untagged));
}

#[test]
fn the_polarity_experts_loss_enters_the_training_loss() {
    use rand::SeedableRng;
    use reflectdiffu::train::step::{StepOptions, forward};
    let device = Device::flex().autodiff();
    let model = tiny_config()
        .with_polarity_experts(Some(true))
        .with_dropout(0.0)
        .init(&device);
    let s = samples();
    let refs: Vec<_> = s.iter().collect();
    let total = |weight: f32, polarity: Option<&[i8]>| {
        let opts = StepOptions {
            block: REPLY,
            diffusion_weight: 1.0,
            emotion_weight: 1.0,
            trim: false,
            contrastive_weight: weight,
            contrastive_temperature: 0.1,
            intent_dropout: 0.0,
            intent_weight: 0.0,
            exemplar_dropout: 0.0,
            draft_rate: 0.0,
        };
        let mut rng = rand::rngs::StdRng::seed_from_u64(5);
        forward(&model, &refs, polarity, &opts, &mut rng, &device)
            .total
            .into_scalar::<f32>()
    };
    let base = total(0.0, Some(&[1, 1]));
    assert!((total(0.5, Some(&[1, 1])) - base).abs() > 1e-4);
    // No labels, or no two contexts of one polarity: nothing is added.
    assert_eq!(total(0.5, None), base);
    assert_eq!(total(0.5, Some(&[1, -1])), base);
}

#[test]
fn an_encoder_only_step_is_the_emotion_loss_alone() {
    use rand::SeedableRng;
    use reflectdiffu::train::step::{StepOptions, forward};
    let device = Device::flex().autodiff();
    let model = tiny_config().with_dropout(0.0).init(&device);
    let s = samples();
    let refs: Vec<_> = s.iter().collect();
    let run = |diffusion_weight: f32| {
        let opts = StepOptions {
            block: REPLY,
            diffusion_weight,
            emotion_weight: 1.0,
            trim: false,
            contrastive_weight: 0.0,
            contrastive_temperature: 0.1,
            intent_dropout: 0.0,
            intent_weight: 0.0,
            exemplar_dropout: 0.0,
            draft_rate: 0.0,
        };
        let mut rng = rand::rngs::StdRng::seed_from_u64(5);
        let l = forward(&model, &refs, None, &opts, &mut rng, &device);
        (
            l.total.into_scalar::<f32>(),
            l.diffusion.into_scalar::<f32>(),
        )
    };
    let (full, diffusion) = run(1.0);
    let (encoder_only, none) = run(0.0);
    assert_eq!(none, 0.0);
    assert!(diffusion > 0.1);
    assert!(
        (full - diffusion - encoder_only).abs() < 1e-4,
        "{full} {diffusion} {encoder_only}"
    );
}

#[test]
fn the_decoder_reads_the_gold_intent_and_the_policy_learns_only_known_ones() {
    use rand::SeedableRng;
    use reflectdiffu::data::UNKNOWN_INTENT;
    use reflectdiffu::train::step::{StepOptions, forward};
    let device = Device::flex().autodiff();
    let model = tiny_config()
        .with_intent_policy(Some(true))
        .with_dropout(0.0)
        .init(&device);
    let run = |intents: [usize; 2], intent_dropout: f32, intent_weight: f32| {
        let mut s = samples();
        s[0].intent = intents[0];
        s[1].intent = intents[1];
        let refs: Vec<_> = s.iter().collect();
        let opts = StepOptions {
            block: REPLY,
            diffusion_weight: 1.0,
            emotion_weight: 1.0,
            trim: false,
            contrastive_weight: 0.0,
            contrastive_temperature: 0.1,
            intent_dropout,
            intent_weight,
            exemplar_dropout: 0.0,
            draft_rate: 0.0,
        };
        let mut rng = rand::rngs::StdRng::seed_from_u64(5);
        let l = forward(&model, &refs, None, &opts, &mut rng, &device);
        assert_eq!(l.intent_logits.as_ref().unwrap().dims(), [2, 9]);
        (
            l.total.into_scalar::<f32>(),
            l.diffusion.into_scalar::<f32>(),
        )
    };
    // The denoiser is conditioned on the gold intent…
    let (_, consoling) = run([3, 3], 0.0, 0.0);
    let (_, suggesting) = run([5, 5], 0.0, 0.0);
    assert!((consoling - suggesting).abs() > 1e-5);
    // …unless it is hidden ("unknown" for every row at dropout 1; the coins come from the same stream).
    let (_, hidden_a) = run([3, 3], 1.0, 0.0);
    let (_, hidden_b) = run([5, 5], 1.0, 0.0);
    assert_eq!(hidden_a, hidden_b);
    let (_, unknown_hidden) = run([UNKNOWN_INTENT; 2], 1.0, 0.0);
    assert_eq!(hidden_a, unknown_hidden);
    // The policy's cross-entropy counts only rows with a known intent.
    let (plain, _) = run([3, UNKNOWN_INTENT], 0.0, 0.0);
    let (with_policy, _) = run([3, UNKNOWN_INTENT], 0.0, 1.0);
    assert!(with_policy - plain > 0.1, "ln 9 ≈ 2.2 at init");
    let (none_known, _) = run([UNKNOWN_INTENT; 2], 0.0, 0.0);
    let (none_known_policy, _) = run([UNKNOWN_INTENT; 2], 0.0, 1.0);
    assert_eq!(none_known, none_known_policy);
}
