//! The fused sampling step's equivalence checks, shared by the Flex tests and the WGPU smoke process.

use burn::prelude::*;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use reflectdiffu::diffusion::draw::{DrawParams, draw};
use reflectdiffu::kernels::Implementation;
use reflectdiffu::kernels::sample::sample;

/// Random logits for `n` positions of `vocab` tokens, spread like a trained denoiser's (a few tokens well above
/// the rest), and `n` uniform numbers.
pub fn random_case(n: usize, vocab: usize, seed: u64) -> (Vec<f32>, Vec<f32>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let logits = (0..n * vocab)
        .map(|_| {
            let l = rng.random::<f32>() * 4.0;
            if rng.random::<f32>() < 0.02 {
                l + 6.0
            } else {
                l
            }
        })
        .collect();
    let uniforms = (0..n).map(|_| rng.random::<f32>()).collect();
    (logits, uniforms)
}

/// Runs one implementation on `device`: (tokens, probabilities).
pub fn run(
    logits: &[f32],
    uniforms: &[f32],
    vocab: usize,
    params: DrawParams,
    implementation: Implementation,
    device: &Device,
) -> (Vec<u32>, Vec<f32>) {
    let n = uniforms.len();
    let l = Tensor::<2>::from_data(TensorData::new(logits.to_vec(), [n, vocab]), device);
    let u = Tensor::<1>::from_data(TensorData::new(uniforms.to_vec(), [n]), device);
    let (tokens, probs) = sample(l, u, params, implementation);
    let tokens = tokens.into_data().iter::<i64>().map(|t| t as u32).collect();
    let probs = probs.into_data().iter::<f32>().collect();
    (tokens, probs)
}

/// The host sampler's answer for every position (NaN probability where it refuses).
pub fn host(
    logits: &[f32],
    uniforms: &[f32],
    vocab: usize,
    params: DrawParams,
) -> (Vec<u32>, Vec<f32>) {
    uniforms
        .iter()
        .enumerate()
        .map(|(i, u)| {
            draw(&logits[i * vocab..(i + 1) * vocab], params, *u).unwrap_or((u32::MAX, f32::NAN))
        })
        .unzip()
}

/// The settings the equivalence tests sweep: sampling, greedy, no truncation, a tight nucleus, an [EOS] bias.
pub fn param_sweep() -> Vec<DrawParams> {
    let p = |temperature, top_p, eos_bias| DrawParams {
        temperature,
        top_p,
        eos_bias,
    };
    vec![
        p(0.5, 0.9, 0.0),
        p(0.0, 0.9, 0.0),
        p(1.0, 1.0, 0.0),
        p(0.7, 0.3, -2.0),
        p(1.3, 0.95, 3.0),
    ]
}

/// Asserts that `implementation` on `device` gives the host's tokens and probabilities (to 1e-4 relative: the
/// softmax sums 6,000 terms in another order), and
/// NaN exactly where the host refuses, for odd shapes: one position, vocabularies that are not a multiple of the
/// kernel's 256 units, and the real vocabulary.
pub fn assert_matches_host(implementation: Implementation, device: &Device) {
    for (n, vocab) in [(1, 37), (5, 300), (7, 1001), (3, 6000)] {
        for (k, params) in param_sweep().into_iter().enumerate() {
            let (mut logits, uniforms) = random_case(n, vocab, (vocab * 10 + k) as u64);
            if n > 1 {
                logits[vocab + 9] = f32::NAN; // position 1 cannot be drawn
            }
            let (want_t, want_p) = host(&logits, &uniforms, vocab, params);
            let (got_t, got_p) = run(&logits, &uniforms, vocab, params, implementation, device);
            for i in 0..n {
                let at =
                    format!("{implementation:?}, n {n}, vocab {vocab}, {params:?}, position {i}");
                if want_p[i].is_nan() {
                    assert!(got_p[i].is_nan(), "{at}: expected NaN, got {}", got_p[i]);
                    continue;
                }
                assert_eq!(got_t[i], want_t[i], "{at}");
                assert!(
                    (got_p[i] - want_p[i]).abs() <= 1e-4 * want_p[i].max(1e-3),
                    "{at}: probability {} vs {}",
                    got_p[i],
                    want_p[i]
                );
            }
        }
    }
}

/// Draws `draws` times from one fixed position and checks the token frequencies against the nucleus
/// distribution the host computes (Pearson's χ², fixed seed): the sampled distribution, not just its argmax.
pub fn assert_distribution(implementation: Implementation, device: &Device) {
    let (vocab, draws) = (40, 4000);
    let params = DrawParams {
        temperature: 0.8,
        top_p: 0.9,
        eos_bias: 0.0,
    };
    let row: Vec<f32> = (0..vocab).map(|i| ((i * 7) % 11) as f32 * 0.3).collect();
    let logits: Vec<f32> = row.iter().cycle().take(vocab * draws).copied().collect();
    let mut rng = StdRng::seed_from_u64(3);
    let uniforms: Vec<f32> = (0..draws).map(|_| rng.random::<f32>()).collect();
    let (tokens, _) = run(&logits, &uniforms, vocab, params, implementation, device);
    // Expected probabilities: the host's probability of each token, renormalised over the nucleus.
    let grid: Vec<f32> = (0..10_000).map(|i| (i as f32 + 0.5) / 10_000.0).collect();
    let mut expected = vec![0.0f64; vocab];
    for u in &grid {
        expected[draw(&row, params, *u).unwrap().0 as usize] += 1.0 / grid.len() as f64;
    }
    let mut counts = vec![0usize; vocab];
    for t in &tokens {
        counts[*t as usize] += 1;
    }
    let mut chi2 = 0.0;
    let mut cells = 0;
    for (c, e) in counts.iter().zip(&expected) {
        if *e > 0.0 {
            let e = e * draws as f64;
            chi2 += (*c as f64 - e).powi(2) / e;
            cells += 1;
        } else {
            assert_eq!(*c, 0, "a token outside the nucleus was drawn");
        }
    }
    // 99.9th percentile of χ² with up to 40 degrees of freedom is below 74.
    assert!(cells > 5, "{cells} tokens in the nucleus");
    assert!(
        chi2 < 74.0,
        "{implementation:?}: χ² = {chi2:.1} over {cells} tokens"
    );
}

/// Asserts that `kernels::nll::token_nll` with `implementation` equals the op chain (log-softmax, pick) to float
/// rounding, for one position, vocabularies that are not a multiple of 256, and the real vocabulary.
pub fn assert_nll_matches_reference(implementation: Implementation, device: &Device) {
    use reflectdiffu::kernels::nll::{reference, token_nll};
    for (n, vocab) in [(1, 37), (5, 300), (7, 1001), (3, 6000)] {
        let (logits, uniforms) = random_case(n, vocab, vocab as u64);
        let targets: Vec<i64> = uniforms.iter().map(|u| (u * vocab as f32) as i64).collect();
        let l = || Tensor::<2>::from_data(TensorData::new(logits.clone(), [n, vocab]), device);
        let t = || Tensor::<1, Int>::from_data(TensorData::new(targets.clone(), [n]), device);
        let want: Vec<f32> = reference(l(), t()).into_data().iter::<f32>().collect();
        let got: Vec<f32> = token_nll(l(), t(), implementation)
            .into_data()
            .iter::<f32>()
            .collect();
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert!(
                (g - w).abs() <= 1e-4 * w.abs().max(1.0),
                "{implementation:?}, n {n}, vocab {vocab}, position {i}: {g} vs {w}"
            );
        }
    }
}
