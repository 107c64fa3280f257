//! Sums over one RL step's rollouts and contexts: group advantages, mean rewards, the policy's entropy, the
//! intents' shares, and the draw of an intent from the policy.

use rand::{Rng, RngExt};

use super::Reward;
use crate::intent::judge::N_INTENTS;

/// Each reward minus the mean of its group (`group` consecutive rollouts share a context).
pub fn group_advantages(rewards: &[Reward], group: usize) -> Vec<f32> {
    rewards
        .chunks(group.max(1))
        .flat_map(|g| {
            let mean = g.iter().map(|r| r.total).sum::<f32>() / g.len() as f32;
            g.iter().map(move |r| r.total - mean)
        })
        .collect()
}

pub(super) fn mean_reward(r: &[Reward]) -> Reward {
    let n = r.len().max(1) as f32;
    let sum = |f: fn(&Reward) -> f32| r.iter().map(f).sum::<f32>() / n;
    Reward {
        total: sum(|r| r.total),
        intent: sum(|r| r.intent),
        emotion: sum(|r| r.emotion),
        novelty: sum(|r| r.novelty),
        fluency: sum(|r| r.fluency),
    }
}

pub(super) fn entropy(probs: &[f32]) -> f32 {
    let rows = probs.chunks(N_INTENTS);
    let n = rows.len().max(1) as f32;
    rows.map(|p| {
        -p.iter()
            .filter(|q| **q > 0.0)
            .map(|q| q * q.ln())
            .sum::<f32>()
    })
    .sum::<f32>()
        / n
}

pub(super) fn shares(intents: &[usize]) -> [f32; N_INTENTS] {
    let mut s = [0.0; N_INTENTS];
    for &i in intents {
        s[i] += 1.0 / intents.len() as f32;
    }
    s
}

/// One index drawn from the probabilities `p`.
pub(super) fn draw(p: &[f32], rng: &mut impl Rng) -> usize {
    let total: f32 = p.iter().sum();
    let mut u = rng.random::<f32>() * total;
    for (i, q) in p.iter().enumerate() {
        if u < *q {
            return i;
        }
        u -= q;
    }
    p.len() - 1
}
