//! The sampler's invariants: schedule, blocks, [EOS] handling, the [EOS] bias, no rewrites.

use super::*;
use crate::diffusion::ban::{neighbours, repeats};
use crate::diffusion::test_logits::{no_eos, random_logits};
use crate::tokenizer::{EOS, PAD};

/// The first reverse step of one reply of `len` positions from the all-[MASK] prior, with `logits` [len, vocab].
fn first_step(cfg: SamplerConfig, len: usize, logits: &[f32], vocab: usize) -> Vec<u32> {
    let mut x = crate::diffusion::prior(1, len);
    Sampler::new(cfg, 1).step(&mut x, logits, vocab, 0).unwrap();
    x.remove(0)
}

#[test]
fn sampler_never_rewrites_an_unmasked_token() {
    for strategy in [Strategy::Confidence, Strategy::Ancestral] {
        let cfg = SamplerConfig {
            steps: 6,
            strategy,
            ..Default::default()
        };
        let mut sampler = Sampler::new(cfg, 3);
        let mut x = crate::diffusion::prior(3, 10);
        x[0][4] = 99; // a token fixed before sampling starts
        let mut seen: Vec<Vec<u32>> = x.clone();
        for k in 0..6 {
            sampler
                .step(&mut x, &random_logits(3, 10, 50, k as u64), 50, k)
                .unwrap();
            for (r, row) in x.iter().enumerate() {
                for (i, &tok) in row.iter().enumerate() {
                    if seen[r][i] != MASK {
                        assert_eq!(
                            tok, seen[r][i],
                            "{strategy:?} step {k} rewrote row {r} pos {i}"
                        );
                    }
                }
            }
            seen = x.clone();
        }
        assert!(
            x.iter().flatten().all(|t| *t != MASK),
            "{strategy:?} left a [MASK] after the last step"
        );
        assert_eq!(x[0][4], 99);
    }
}

#[test]
fn a_negative_eos_bias_delays_the_end_and_zero_changes_nothing() {
    // Logits that favour [EOS] at every position by 2 nats over one other token.
    let (len, vocab) = (6, 30);
    let mut logits = vec![-20.0f32; len * vocab];
    for i in 0..len {
        logits[i * vocab + EOS as usize] = 2.0;
        logits[i * vocab + 12] = 0.0;
    }
    let run = |eos_bias: f32| {
        let cfg = SamplerConfig {
            steps: len,
            temperature: 0.0,
            eos_bias,
            ..Default::default()
        };
        let mut sampler = Sampler::new(cfg, 1);
        let x = crate::diffusion::generate(&mut sampler, 1, len, vocab, |_, _, _| logits.clone())
            .unwrap();
        x[0].iter().position(|t| *t == EOS).unwrap_or(len)
    };
    assert_eq!(
        run(0.0),
        0,
        "greedy: [EOS] first when it is the likely token"
    );
    assert_eq!(
        run(-1.0),
        0,
        "a bias smaller than the margin changes nothing"
    );
    assert_eq!(
        run(-30.0),
        len,
        "never [EOS] when its logit is pushed far down"
    );
    let cfg = SamplerConfig {
        eos_bias: f32::NAN,
        ..Default::default()
    };
    assert_eq!(cfg.validate().unwrap_err().name, "eos_bias");
    let cfg = SamplerConfig {
        no_repeat_ngram: 1,
        ..Default::default()
    };
    assert_eq!(cfg.validate().unwrap_err().name, "no_repeat_ngram");
    for bad in [-1.0, f32::NAN, f32::INFINITY] {
        let cfg = SamplerConfig {
            stop_temperature: bad,
            ..Default::default()
        };
        assert_eq!(cfg.validate().unwrap_err().name, "stop_temperature");
    }
    // The message speaks of the setting and its value (the page shows it too), and huge biases are refused.
    let cfg = SamplerConfig {
        temperature: -1.0,
        ..Default::default()
    };
    assert_eq!(
        cfg.validate().unwrap_err().to_string(),
        "temperature must be a finite number ≥ 0, got -1"
    );
    for (eos_bias, context_bias) in [(1e30, 0.0), (-31.0, 0.0), (0.0, 1e30)] {
        let cfg = SamplerConfig {
            eos_bias,
            context_bias,
            ..Default::default()
        };
        assert!(cfg.validate().is_err(), "{eos_bias} {context_bias}");
    }
}

#[test]
fn confidence_sampler_follows_the_schedule() {
    let mut sampler = Sampler::new(
        SamplerConfig {
            steps: 4,
            ..Default::default()
        },
        1,
    );
    let mut x = crate::diffusion::prior(1, 8);
    sampler
        .step(&mut x, &no_eos(random_logits(1, 8, 20, 3), 20), 20, 0)
        .unwrap();
    assert_eq!(x[0].iter().filter(|t| **t == MASK).count(), 6); // mask_rate(0.75) · 8
}

#[test]
fn blocks_are_written_left_to_right() {
    let cfg = SamplerConfig {
        steps: 4,
        block_len: 2,
        ..Default::default()
    };
    let mut sampler = Sampler::new(cfg, 1);
    let mut x = crate::diffusion::prior(1, 8);
    for k in 0..4 {
        sampler
            .step(
                &mut x,
                &no_eos(random_logits(1, 8, 20, k), 20),
                20,
                k as usize,
            )
            .unwrap();
        let revealed: Vec<bool> = x[0].iter().map(|t| *t != MASK).collect();
        assert!(
            revealed[..2 * (k as usize + 1)].iter().all(|r| *r),
            "step {k}: {:?}",
            x[0]
        );
        assert!(
            revealed[2 * (k as usize + 1)..].iter().all(|r| !*r),
            "step {k}: {:?}",
            x[0]
        );
    }
}

#[test]
fn positions_after_a_revealed_eos_become_pad() {
    let vocab = 20;
    let mut logits = vec![0.0f32; 6 * vocab];
    for (i, l) in logits.chunks_mut(vocab).enumerate() {
        l[if i == 1 { EOS as usize } else { 10 + i }] = 50.0;
    }
    let cfg = SamplerConfig {
        steps: 3,
        temperature: 0.0,
        block_len: 2,
        ..Default::default()
    };
    assert_eq!(
        first_step(cfg, 6, &logits, vocab),
        [10, EOS, PAD, PAD, PAD, PAD]
    );
}

#[test]
fn the_ngram_ban_reads_both_sides_of_a_position() {
    // Bigrams: "5 6" is written; a token before a written 6 must not be 5, whichever side was written first.
    assert_eq!(repeats(&[5, 6, 7, MASK, 6], 3, 2), [5]);
    // Left to right as before: after a written 5 the 6 is banned.
    assert_eq!(repeats(&[5, 6, 7, 5, MASK], 4, 2), [6]);
    // Both sides written: either bigram would repeat.
    assert_eq!(repeats(&[5, 6, 7, 5, MASK, 7], 4, 2), [6, 6]);
    // A masked or ended neighbour bans nothing from its side.
    assert_eq!(repeats(&[5, 6, MASK, MASK, 6], 3, 2), [5]);
    assert!(repeats(&[5, 6, MASK, MASK, MASK], 3, 2).is_empty());
    assert!(repeats(&[5, 6, EOS, MASK, PAD], 3, 2).is_empty());
    // Trigrams through the middle: "11 12 13" is written, so "11 _ 13" cannot take 12.
    assert_eq!(repeats(&[11, 12, 13, 11, MASK, 13], 4, 3), [12]);
}

#[test]
fn the_ban_keeps_a_token_from_its_written_neighbours() {
    assert_eq!(neighbours(&[5, MASK, 6], 1).collect::<Vec<_>>(), [5, 6]);
    assert_eq!(neighbours(&[5, MASK, MASK], 1).collect::<Vec<_>>(), [5]);
    assert_eq!(neighbours(&[MASK, 7], 0).collect::<Vec<_>>(), [7]);
    assert!(neighbours(&[EOS, MASK, PAD], 1).next().is_none());
}

#[test]
fn positions_revealed_in_one_step_are_checked_against_each_other() {
    // Both positions want token 10 above all, then 11; one step reveals both.
    let vocab = 20;
    let mut logits = vec![0.0f32; 2 * vocab];
    for l in logits.chunks_mut(vocab) {
        l[10] = 50.0;
        l[11] = 45.0;
    }
    let reply = |n: usize| {
        let cfg = SamplerConfig {
            steps: 1,
            temperature: 0.0,
            block_len: 0,
            no_repeat_ngram: n,
            context_bias: 0.0,
            stop_temperature: 0.0,
            ..Default::default()
        };
        first_step(cfg, 2, &logits, vocab)
    };
    assert_eq!(reply(0), [10, 10]);
    // With the ban the second reveal sees the first and takes its next choice.
    assert_eq!(reply(2), [10, 11]);
}
