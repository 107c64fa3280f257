//! The exemplar index: every listener reply of the training split, keyed by the words of the context it answered,
//! so that a new context can find the replies people wrote in similar moments (retrieve-and-refine; kNN-LM).
//!
//! A key is the set of the context's subword tokens (the model's own tokenizer, special tokens left out), weighted
//! by inverse document frequency; similarity is the cosine of two such vectors, computed through an inverted list
//! per token, so a query touches only the exemplars that share a token with it. The file keeps token ids, not
//! text: the index of the shipped checkpoint's 40,254 replies is a few MB.
//!
//! [`KeyTurns`] says which turns make the key; `reflectdiffu index eval` compares the choices on valid
//! (docs/experiments/exemplar-retrieval.md).

mod build;
mod file;

pub use build::{build, context_key};

use crate::tokenizer::SPECIAL_TOKENS;

/// The first id of an ordinary token: keys leave the special ones out.
const FIRST_WORD: u32 = SPECIAL_TOKENS.len() as u32;
pub use file::{INDEX_FILE, IndexFileError};

use serde::{Deserialize, Serialize};

/// Which context turns make an exemplar's key (and a query's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "snake_case")]
pub enum KeyTurns {
    /// The speaker's last turn only (the one the reply answers).
    Last,
    /// Every turn the model reads.
    All,
}

/// One conversation as stored: its emotion and every turn's token ids (without [EOS]), speaker first.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredConversation {
    pub emotion: u8,
    pub turns: Vec<Vec<u32>>,
}

/// One exemplar: a listener turn of a stored conversation, with its key.
#[derive(Debug, Clone, PartialEq)]
pub struct Exemplar {
    /// Index of its conversation (to leave a sample's own conversation out).
    pub conversation: u32,
    /// Its turn in that conversation (odd: listener turns).
    pub turn: u32,
    pub emotion: u8,
    /// The key: sorted, distinct token ids.
    pub key: Vec<u32>,
}

/// A neighbour found by [`ExemplarIndex::query`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Neighbour {
    /// Position in the index.
    pub id: usize,
    /// Cosine similarity of the IDF-weighted keys, in [0, 1].
    pub similarity: f32,
}

/// The stored conversations, their exemplars, and the inverted lists and weights derived from them (rebuilt at
/// load; only the conversations are stored).
#[derive(Debug, Clone)]
pub struct ExemplarIndex {
    pub turns: KeyTurns,
    /// Turns of context before a reply, as in training (`train.max_context_turns`).
    pub max_turns: usize,
    pub vocab_size: u32,
    conversations: Vec<StoredConversation>,
    exemplars: Vec<Exemplar>,
    /// Token id → the exemplars whose key holds it, ascending.
    postings: Vec<Vec<u32>>,
    /// Token id → its IDF weight, ln((N + 1) / (df + 1)) + 1.
    idf: Vec<f32>,
    /// Exemplar → the Euclidean norm of its weighted key.
    norms: Vec<f32>,
}

/// Sorted, distinct tokens of `ids`, leaving out the special ones (ids below `first_word`).
pub fn key_of(ids: impl IntoIterator<Item = u32>, first_word: u32) -> Vec<u32> {
    let mut key: Vec<u32> = ids.into_iter().filter(|&t| t >= first_word).collect();
    key.sort_unstable();
    key.dedup();
    key
}

/// The context turns a key reads out of `context` (oldest first; the last is the speaker's).
pub fn key_turns<T>(context: &[T], turns: KeyTurns) -> &[T] {
    match turns {
        KeyTurns::Last => &context[context.len().saturating_sub(1)..],
        KeyTurns::All => context,
    }
}

impl ExemplarIndex {
    /// Every listener turn (odd position) of every conversation becomes an exemplar, keyed by the `turns` of its
    /// context window of `max_turns` turns (the window of `data::samples`); every token must be below
    /// `vocab_size`.
    pub fn new(
        turns: KeyTurns,
        max_turns: usize,
        vocab_size: u32,
        conversations: Vec<StoredConversation>,
    ) -> Self {
        let mut exemplars = Vec::new();
        for (c, conv) in conversations.iter().enumerate() {
            for i in (1..conv.turns.len()).step_by(2) {
                let context = &conv.turns[i.saturating_sub(max_turns.max(1))..i];
                exemplars.push(Exemplar {
                    conversation: c as u32,
                    turn: i as u32,
                    emotion: conv.emotion,
                    key: key_of(key_turns(context, turns).concat(), FIRST_WORD),
                });
            }
        }
        let mut postings = vec![Vec::new(); vocab_size as usize];
        for (i, e) in exemplars.iter().enumerate() {
            for &t in &e.key {
                postings[t as usize].push(i as u32);
            }
        }
        let n = exemplars.len() as f32;
        let idf: Vec<f32> = postings
            .iter()
            .map(|p| ((n + 1.0) / (p.len() as f32 + 1.0)).ln() + 1.0)
            .collect();
        let norms = exemplars.iter().map(|e| norm(&e.key, &idf)).collect();
        Self {
            turns,
            max_turns,
            vocab_size,
            conversations,
            exemplars,
            postings,
            idf,
            norms,
        }
    }

    pub fn len(&self) -> usize {
        self.exemplars.len()
    }

    pub fn is_empty(&self) -> bool {
        self.exemplars.is_empty()
    }

    pub fn exemplar(&self, id: usize) -> &Exemplar {
        &self.exemplars[id]
    }

    /// The reply tokens of exemplar `id`.
    pub fn reply(&self, id: usize) -> &[u32] {
        let e = &self.exemplars[id];
        &self.conversations[e.conversation as usize].turns[e.turn as usize]
    }

    pub fn conversations(&self) -> &[StoredConversation] {
        &self.conversations
    }

    /// The `k` most similar exemplars to the key `query` (sorted, distinct token ids; see [`key_of`]), most similar
    /// first (ties: lower id first), leaving out conversation `exclude` and exemplars that share no token.
    pub fn query(&self, query: &[u32], k: usize, exclude: Option<u32>) -> Vec<Neighbour> {
        let scores = self.similarities(query);
        let found = scores
            .iter()
            .enumerate()
            .filter(|&(e, &s)| s > 0.0 && Some(self.exemplars[e].conversation) != exclude)
            .map(|(id, &similarity)| Neighbour { id, similarity })
            .collect();
        top_k(found, k)
    }

    /// The reply tokens of the `k` exemplars most similar to `query` (as [`Self::query`]), each cut to `max_len`
    /// tokens: what a model with exemplar memory reads.
    pub fn nearest_replies(
        &self,
        query: &[u32],
        k: usize,
        exclude: Option<u32>,
        max_len: usize,
    ) -> Vec<Vec<u32>> {
        self.query(query, k, exclude)
            .into_iter()
            .map(|n| {
                let r = self.reply(n.id);
                r[..r.len().min(max_len)].to_vec()
            })
            .collect()
    }

    /// The cosine similarity of `query` to every exemplar, in index order (0 where no token is shared).
    pub fn similarities(&self, query: &[u32]) -> Vec<f32> {
        let mut dots = vec![0.0f32; self.len()];
        for &t in query {
            let Some(list) = self.postings.get(t as usize) else {
                continue; // a token the index has never seen carries no evidence
            };
            let w = self.idf[t as usize] * self.idf[t as usize];
            for &e in list {
                dots[e as usize] += w;
            }
        }
        let q_norm = norm(query, &self.idf);
        for (d, n) in dots.iter_mut().zip(&self.norms) {
            if *d > 0.0 {
                *d /= (q_norm * n).max(f32::MIN_POSITIVE);
            }
        }
        dots
    }
}

/// The `k` best of `found`, most similar first (ties: lower id first).
pub fn top_k(mut found: Vec<Neighbour>, k: usize) -> Vec<Neighbour> {
    let by_rank =
        |a: &Neighbour, b: &Neighbour| b.similarity.total_cmp(&a.similarity).then(a.id.cmp(&b.id));
    if found.len() > k {
        found.select_nth_unstable_by(k, by_rank);
        found.truncate(k);
    }
    found.sort_by(by_rank);
    found
}

/// ‖key‖ with each token weighted by its IDF (tokens outside the vocabulary weigh 1).
fn norm(key: &[u32], idf: &[f32]) -> f32 {
    key.iter()
        .map(|&t| idf.get(t as usize).copied().unwrap_or(1.0).powi(2))
        .sum::<f32>()
        .sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A two-turn conversation: speaker turn `key`, listener reply [c + 100].
    fn conv(c: u32, key: &[u32]) -> StoredConversation {
        StoredConversation {
            emotion: 0,
            turns: vec![key.to_vec(), vec![c + 100]],
        }
    }

    #[test]
    fn the_closest_key_ranks_first_and_the_own_conversation_is_left_out() {
        let index = ExemplarIndex::new(
            KeyTurns::Last,
            6,
            200,
            vec![
                conv(0, &[15, 16, 17]),
                conv(1, &[15, 19]),
                conv(2, &[20, 21]),
                conv(3, &[15, 16, 17]),
            ],
        );
        let found = index.query(&[15, 16, 17], 3, None);
        assert_eq!(
            found.iter().map(|n| n.id).collect::<Vec<_>>(),
            vec![0, 3, 1]
        );
        assert!((found[0].similarity - 1.0).abs() < 1e-6);
        assert_eq!(index.reply(3), &[103]);
        let found = index.query(&[15, 16, 17], 3, Some(0));
        assert!(found.iter().all(|n| index.exemplar(n.id).conversation != 0));
        assert_eq!(found[0].id, 3);
        assert!(
            index.query(&[22, 23], 3, None).is_empty(),
            "no shared token, no neighbour"
        );
        assert!(
            index.query(&[199], 3, None).is_empty(),
            "an unseen token is no evidence"
        );
    }

    #[test]
    fn keys_read_the_same_window_as_training_samples() {
        // turns: s0 l1 s2 l3 s4 l5; with 2 turns of context, reply l5 reads s4 and l3 only.
        let turns: Vec<Vec<u32>> = (0..6).map(|t| vec![10 + t]).collect();
        let c = StoredConversation { emotion: 4, turns };
        let all = ExemplarIndex::new(KeyTurns::All, 2, 50, vec![c.clone()]);
        assert_eq!(all.len(), 3);
        assert_eq!(all.exemplar(0).key, vec![10]);
        assert_eq!(all.exemplar(2).key, vec![13, 14]);
        assert_eq!(all.reply(2), &[15]);
        let last = ExemplarIndex::new(KeyTurns::Last, 2, 50, vec![c]);
        assert_eq!(last.exemplar(2).key, vec![14]);
    }
}
