//! The reverse process end to end: seeds, [EOS] handling, blocks, skipped draws, NaN errors, drawn tokens.

use super::*;
use crate::diffusion::sampler::{SamplerConfig, Strategy};
use crate::diffusion::test_logits::{no_eos, random_logits};

#[test]
fn same_seed_gives_same_tokens_and_forbidden_tokens_never_appear() {
    let run = |seed| {
        let mut s = Sampler::new(
            SamplerConfig {
                seed,
                steps: 3,
                ..Default::default()
            },
            2,
        );
        generate(&mut s, 2, 6, 30, |x, _, _| {
            random_logits(x.len(), 6, 30, 11)
        })
        .unwrap()
    };
    assert_eq!(run(5), run(5));
    assert!(
        run(5)
            .iter()
            .flatten()
            .all(|t| !crate::diffusion::draw::FORBIDDEN.contains(t))
    );
}

#[test]
fn nan_logits_are_a_typed_error_naming_the_step() {
    for strategy in [Strategy::Confidence, Strategy::Ancestral] {
        let cfg = SamplerConfig {
            steps: 4,
            strategy,
            ..Default::default()
        };
        let mut s = Sampler::new(cfg, 2);
        // Clean logits for steps 0 and 1, then NaN everywhere in row 1.
        let err = generate(&mut s, 2, 6, 30, |x, t, _| {
            let mut l = no_eos(random_logits(x.len(), 6, 30, 4), 30);
            if t < 0.6 {
                l[6 * 30..].fill(f32::NAN);
            }
            l
        })
        .unwrap_err();
        assert_eq!(err.row, 1, "{strategy:?}");
        assert_eq!(err.step, 2, "{strategy:?}: {err}");
        assert!(err.to_string().contains("step 2"), "{err}");
    }
}

#[test]
fn blocks_are_written_in_order_and_stop_after_eos() {
    // A denoiser that puts [EOS] at reply position 5 and token 10 + position elsewhere.
    let (rows, len, block, vocab) = (2, 12, 4, 30);
    let cfg = SamplerConfig {
        steps: 4,
        temperature: 0.0,
        block_len: 0,
        ..Default::default()
    };
    let mut s = Sampler::new(cfg, rows);
    let mut calls = Vec::new();
    let x = generate_blocks(&mut s, rows, len, block, vocab, |prefix, xb, _, _| {
        let start = prefix[0].len();
        calls.push(start);
        // every prefix is clean: no [MASK] before the block being written
        assert!(prefix.iter().flatten().all(|t| *t != MASK));
        let mut l = vec![0.0f32; rows * xb[0].len() * vocab];
        for (r, row) in l.chunks_mut(xb[0].len() * vocab).enumerate() {
            for (i, pos) in row.chunks_mut(vocab).enumerate() {
                let p = start + i;
                pos[if p == 5 { EOS as usize } else { 10 + p + r }] = 50.0;
            }
        }
        l
    })
    .unwrap();
    assert_eq!(x[0][..5], [10, 11, 12, 13, 14]);
    assert_eq!(x[0][5], EOS);
    assert!(x.iter().all(|r| r[6..].iter().all(|t| *t == PAD)));
    // blocks 0 and 1 only: after block 1 every row has ended, so block 2 is never computed
    assert!(calls.iter().all(|s| *s == 0 || *s == 4), "{calls:?}");
    assert!(calls.contains(&4));
}

#[test]
fn skipping_unrevealable_draws_changes_no_token() {
    for (block_len, temperature, steps) in [
        (1, 0.5, 8),
        (2, 0.7, 8),
        (3, 0.0, 8),
        (0, 0.5, 8),
        (1, 0.5, 20), // more steps than positions: idle steps are skipped
    ] {
        let cfg = SamplerConfig {
            steps,
            block_len,
            temperature,
            ..Default::default()
        };
        let run = |lazy: bool| {
            let mut s = Sampler::new(cfg.clone(), 3);
            s.lazy = lazy;
            let mut calls = 0;
            // Logits depend on t, not on how many calls came before, as a real denoiser's would.
            let x = generate(&mut s, 3, 12, 40, |x, t, _| {
                calls += 1;
                random_logits(x.len(), 12, 40, (t * 1000.0) as u64)
            })
            .unwrap();
            (x, calls)
        };
        let ((lazy, lazy_calls), (full, full_calls)) = (run(true), run(false));
        assert_eq!(
            lazy, full,
            "block_len {block_len}, T {temperature}, {steps} steps"
        );
        assert!(lazy_calls <= full_calls);
        if steps > 12 {
            assert!(
                lazy_calls <= 12,
                "{lazy_calls} denoiser calls for 12 positions"
            );
        }
    }
}

#[test]
fn generation_stops_once_every_row_has_ended() {
    // [EOS] is the most likely token everywhere: greedy left-to-right writes it first, then nothing is masked.
    let cfg = SamplerConfig {
        steps: 8,
        temperature: 0.0,
        ..Default::default()
    };
    let mut calls = 0;
    let x = generate(&mut Sampler::new(cfg, 2), 2, 8, 20, |x, _, _| {
        calls += 1;
        let mut l = vec![0.0f32; x.len() * 8 * 20];
        l.chunks_mut(20).for_each(|p| p[EOS as usize] = 9.0);
        l
    })
    .unwrap();
    assert_eq!(calls, 1);
    assert!(
        x.iter()
            .all(|r| r[0] == EOS && r[1..].iter().all(|t| *t == PAD))
    );
}

#[test]
fn block_sampling_leaves_no_mask_writes_no_forbidden_token_and_is_seeded() {
    for strategy in [Strategy::Confidence, Strategy::Ancestral] {
        let run = |seed| {
            let cfg = SamplerConfig {
                steps: 3,
                seed,
                strategy,
                ..Default::default()
            };
            let mut s = Sampler::new(cfg, 3);
            generate_blocks(&mut s, 3, 10, 4, 30, |prefix, xb, t, _| {
                // depends on the prefix, like a real denoiser
                let salt = prefix.iter().flatten().map(|t| *t as u64).sum::<u64>();
                no_eos(
                    random_logits(xb.len(), xb[0].len(), 30, salt + (t * 100.0) as u64),
                    30,
                )
            })
            .unwrap()
        };
        let x = run(4);
        assert!(x.iter().all(|r| r.len() == 10), "{strategy:?}");
        assert!(
            x.iter().flatten().all(|t| *t != MASK),
            "{strategy:?}: {x:?}"
        );
        assert!(
            x.iter()
                .flatten()
                .all(|t| !crate::diffusion::draw::FORBIDDEN.contains(t)),
            "{strategy:?}"
        );
        assert_eq!(x, run(4), "{strategy:?}");
    }
}

#[test]
fn tokens_drawn_elsewhere_with_the_steps_uniforms_give_the_same_replies() {
    use crate::diffusion::draw::draw;
    use crate::diffusion::sampler::{Denoised, Drawn};
    for strategy in [Strategy::Confidence, Strategy::Ancestral] {
        // The settings a device can draw with (no ban, no context bias, one temperature).
        let cfg = SamplerConfig {
            steps: 5,
            strategy,
            no_repeat_ngram: 0,
            context_bias: 0.0,
            stop_temperature: 0.0,
            ..Default::default()
        };
        assert!(cfg.device_drawable());
        let logits = |t: f32| random_logits(3, 8, 40, (t * 1000.0) as u64);
        let on_host = generate(&mut Sampler::new(cfg.clone(), 3), 3, 8, 40, |_, t, _| {
            logits(t)
        });
        // what a device does: draw every position with the uniform number it was handed
        let drawn = generate(&mut Sampler::new(cfg.clone(), 3), 3, 8, 40, |_, t, u| {
            let l = logits(t);
            let params = cfg.draw_params();
            Denoised::Drawn(
                u.iter()
                    .enumerate()
                    .map(|(i, u)| {
                        let (token, prob) = draw(&l[i * 40..(i + 1) * 40], params, *u).unwrap();
                        Drawn { token, prob }
                    })
                    .collect(),
            )
        });
        assert_eq!(on_host.unwrap(), drawn.unwrap(), "{strategy:?}");
    }
}

#[test]
fn the_ngram_ban_never_completes_an_ngram_twice_across_blocks() {
    // A denoiser that wants "10 11 10 11 …" forever: every bigram after the first two repeats.
    let (rows, len, block, vocab) = (2, 12, 4, 30);
    let run = |n: usize| {
        let cfg = SamplerConfig {
            steps: 4,
            temperature: 0.0,
            no_repeat_ngram: n,
            ..Default::default()
        };
        let mut s = Sampler::new(cfg, rows);
        generate_blocks(&mut s, rows, len, block, vocab, |prefix, xb, _, _| {
            let start = prefix[0].len();
            let mut l = vec![0.0f32; rows * xb[0].len() * vocab];
            for row in l.chunks_mut(xb[0].len() * vocab) {
                for (i, pos) in row.chunks_mut(vocab).enumerate() {
                    pos[10 + (start + i) % 2] = 50.0;
                    pos[12 + (start + i) % 3] = 40.0; // the second choice
                    pos[EOS as usize] = -50.0;
                    pos[PAD as usize] = -50.0;
                }
            }
            l
        })
        .unwrap()
    };
    let free = run(0);
    assert_eq!(free[0][..4], [10, 11, 10, 11]);
    for n in [2, 3] {
        for row in run(n) {
            let grams: Vec<&[u32]> = row.windows(n).collect();
            let distinct: std::collections::HashSet<&[u32]> = grams.iter().copied().collect();
            assert_eq!(distinct.len(), grams.len(), "n = {n}: {row:?}");
            // The ban only moves a draw to the next-best allowed token; it never writes [MASK] or ends the reply.
            assert!(
                row.iter().all(|t| !matches!(*t, MASK | EOS | PAD)),
                "{row:?}"
            );
        }
    }
}

#[test]
fn the_context_bias_copies_a_context_word_once() {
    // The model prefers 10 everywhere; 20 is one point behind and in the context.
    let (rows, len, block, vocab) = (1, 8, 4, 30);
    let run = |bias: f32| {
        let cfg = SamplerConfig {
            steps: 4,
            temperature: 0.0,
            no_repeat_ngram: 0,
            context_bias: bias,
            ..Default::default()
        };
        let mut s = Sampler::new(cfg, rows);
        s.set_context(vec![vec![20]]);
        generate_blocks(&mut s, rows, len, block, vocab, |_, xb, _, _| {
            let mut l = vec![0.0f32; rows * xb[0].len() * vocab];
            for pos in l.chunks_mut(vocab) {
                pos[10] = 5.0;
                pos[20] = 4.0;
                pos[EOS as usize] = -50.0;
                pos[PAD as usize] = -50.0;
            }
            l
        })
        .unwrap()
        .remove(0)
    };
    assert_eq!(run(0.0), vec![10; 8]);
    let copied = run(2.0);
    assert_eq!(copied[0], 20, "{copied:?}");
    assert_eq!(copied.iter().filter(|t| **t == 20).count(), 1, "{copied:?}");
}
