//! The order in which an epoch visits the training samples.

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

use super::config::TrainConfig;
use crate::inputs::EncodedSample;
use crate::tokenizer::EOS;

/// Batches sorted together under `length_buckets`: a window is this many batches.
const WINDOW_BATCHES: usize = 16;

/// The batches of one epoch, as sample indices: a seeded shuffle cut into `batch_size` pieces, or with
/// `length_buckets` windows of [`WINDOW_BATCHES`] batches sorted by reply length and the batches shuffled again. Deterministic
/// in (seed, epoch), so a resumed run skips exactly the batches it has done.
pub(super) fn epoch_batches(
    set: &[EncodedSample],
    t: &TrainConfig,
    epoch: usize,
) -> Vec<Vec<usize>> {
    let mut rng = StdRng::seed_from_u64(t.seed.wrapping_add(epoch as u64));
    let mut order: Vec<usize> = (0..set.len()).collect();
    order.shuffle(&mut rng);
    if !t.length_buckets {
        return order.chunks(t.batch_size).map(<[usize]>::to_vec).collect();
    }
    let reply_len = |i: &usize| {
        let r = &set[*i].reply;
        r.iter()
            .position(|&id| id == EOS)
            .map_or(r.len(), |p| p + 1)
    };
    let mut batches: Vec<Vec<usize>> = Vec::with_capacity(order.len().div_ceil(t.batch_size));
    for window in order.chunks_mut(WINDOW_BATCHES * t.batch_size) {
        window.sort_by_key(reply_len);
        batches.extend(window.chunks(t.batch_size).map(<[usize]>::to_vec));
    }
    batches.shuffle(&mut rng);
    batches
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(reply_tokens: usize) -> EncodedSample {
        EncodedSample::with_reply_tokens(reply_tokens)
    }

    fn config(buckets: bool) -> TrainConfig {
        let mut t = crate::train::RunConfig::load(std::path::Path::new("configs/tiny.json"))
            .expect("configs/tiny.json loads")
            .train;
        t.batch_size = 4;
        t.length_buckets = buckets;
        t
    }

    #[test]
    fn every_sample_is_visited_once_per_epoch_in_a_reproducible_order() {
        let set: Vec<EncodedSample> = (0..150).map(|i| sample(i % 31)).collect();
        for buckets in [false, true] {
            let t = config(buckets);
            let batches = epoch_batches(&set, &t, 2);
            let mut seen: Vec<usize> = batches.concat();
            seen.sort_unstable();
            assert_eq!(seen, (0..150).collect::<Vec<_>>(), "buckets {buckets}");
            assert_eq!(batches, epoch_batches(&set, &t, 2));
            assert_ne!(batches, epoch_batches(&set, &t, 3));
        }
    }

    #[test]
    fn length_buckets_batch_replies_of_similar_length() {
        let set: Vec<EncodedSample> = (0..640).map(|i| sample(i * 7 % 31)).collect();
        let spread = |batches: &[Vec<usize>]| -> usize {
            batches
                .iter()
                .map(|b| {
                    let lens: Vec<usize> = b
                        .iter()
                        .map(|&i| set[i].reply.iter().position(|&id| id == EOS).unwrap())
                        .collect();
                    lens.iter().max().unwrap() - lens.iter().min().unwrap()
                })
                .sum()
        };
        let plain = spread(&epoch_batches(&set, &config(false), 0));
        let bucketed = spread(&epoch_batches(&set, &config(true), 0));
        assert!(
            bucketed * 4 < plain,
            "bucketed spread {bucketed} vs plain {plain}"
        );
    }
}
