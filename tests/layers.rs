//! Our transformer layers against burn's: same parameters, same computation, checkpoints interchangeable; and the
//! fast dropout masks.

use burn::module::Module;
use burn::nn::transformer::{
    TransformerDecoder, TransformerDecoderConfig, TransformerDecoderInput, TransformerEncoder,
    TransformerEncoderConfig, TransformerEncoderInput,
};
use burn::prelude::*;
use burn::store::ModuleRecord;
use burn::tensor::{Bytes, Distribution};
use reflectdiffu::model::layers::{Decoder, Encoder, dropout, seed_dropout};

const D: usize = 16;
const FF: usize = 32;
const HEADS: usize = 4;
const LAYERS: usize = 2;

fn values<const N: usize>(t: Tensor<N>) -> Vec<f32> {
    t.into_data().try_into_vec_as::<f32>().unwrap()
}

fn assert_close(a: Vec<f32>, b: Vec<f32>) {
    assert_eq!(a.len(), b.len());
    let worst = a
        .iter()
        .zip(&b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0f32, f32::max);
    assert!(worst < 1e-5, "largest difference {worst}");
}

/// Loads `from`'s weights into `into` through burnpack bytes, as a checkpoint does.
fn transplant<A: Module, B: Module>(from: A, into: B) -> B {
    let bytes = from.into_record().into_bytes().unwrap();
    into.try_load_record(ModuleRecord::from_bytes(Bytes::from_bytes_vec(bytes.to_vec())).unwrap())
        .expect("the record paths match")
}

#[test]
fn our_decoder_loads_burns_weights_and_computes_the_same_outputs() {
    let device = Device::flex();
    device.seed(7);
    let config = TransformerDecoderConfig::new(D, FF, HEADS, LAYERS).with_dropout(0.1);
    let theirs: TransformerDecoder = config.clone().with_norm_first(true).init(&device);
    let ours = transplant(theirs.clone(), Decoder::new(&config, &device));
    let x = Tensor::<3>::random([2, 5, D], Distribution::Normal(0.0, 1.0), &device);
    let memory = Tensor::<3>::random([2, 7, D], Distribution::Normal(0.0, 1.0), &device);
    let pad = Tensor::<2, Bool>::from_data(
        TensorData::new(
            [
                [false; 7].as_slice(),
                &[false, false, false, false, false, true, true],
            ]
            .concat(),
            [2, 7],
        ),
        &device,
    );
    // Block-causal self-attention: position i may not see positions after it.
    let causal: Vec<bool> = (0..2 * 25).map(|k| (k % 5) > (k / 5) % 5).collect();
    let mask = Tensor::<3, Bool>::from_data(TensorData::new(causal, [2, 5, 5]), &device);
    let expected = theirs.forward(
        TransformerDecoderInput::new(x.clone(), memory.clone())
            .memory_mask_pad(pad.clone())
            .target_mask_attn(mask.clone()),
    );
    let got = ours.forward(x, Some(mask), memory, pad, None, None);
    assert_close(values(got), values(expected));
}

#[test]
fn our_encoder_loads_burns_weights_and_computes_the_same_outputs() {
    let device = Device::flex();
    device.seed(8);
    let config = TransformerEncoderConfig::new(D, FF, HEADS, LAYERS).with_dropout(0.1);
    let theirs: TransformerEncoder = config.clone().with_norm_first(true).init(&device);
    let ours = transplant(theirs.clone(), Encoder::new(&config, &device));
    let x = Tensor::<3>::random([2, 6, D], Distribution::Normal(0.0, 1.0), &device);
    let pad = Tensor::<2, Bool>::from_data(
        TensorData::new(
            [
                [false; 6].as_slice(),
                &[false, false, false, true, true, true],
            ]
            .concat(),
            [2, 6],
        ),
        &device,
    );
    let expected = theirs.forward(TransformerEncoderInput::new(x.clone()).mask_pad(pad.clone()));
    let got = ours.forward(x, pad, None);
    assert_close(values(got), values(expected));
}

#[test]
fn dropout_drops_the_asked_share_scales_the_rest_and_only_when_training() {
    let train = Device::flex().autodiff();
    let x = Tensor::<2>::ones([100, 1000], &train);
    seed_dropout(1);
    let a = values(dropout(x.clone(), 0.25));
    let zeros = a.iter().filter(|v| **v == 0.0).count() as f64 / a.len() as f64;
    assert!((zeros - 0.25).abs() < 0.01, "dropped {zeros}");
    assert!(a.iter().all(|v| *v == 0.0 || (v - 4.0 / 3.0).abs() < 1e-6));
    let mean = a.iter().map(|v| *v as f64).sum::<f64>() / a.len() as f64;
    assert!((mean - 1.0).abs() < 0.01, "mean {mean}");
    // Fresh masks on every call; the same stream again after re-seeding.
    let b = values(dropout(x.clone(), 0.25));
    assert_ne!(a, b);
    seed_dropout(1);
    assert_eq!(a, values(dropout(x, 0.25)));
    // No dropout on a plain (inference) device.
    let plain = Device::flex();
    let y = values(dropout(Tensor::<2>::ones([10, 10], &plain), 0.5));
    assert!(y.iter().all(|v| *v == 1.0));
}
