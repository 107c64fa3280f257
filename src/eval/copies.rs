//! How much the replies copy what people wrote in the train split: the share that is, word for word, a train
//! reply (stock replies), and the longest word run a reply shares with the best exemplar of its context. Both
//! need the checkpoint's exemplar index; without one they are `None`.

use std::collections::HashSet;

use super::Result;
use crate::data::Sample;
use crate::inference::Responder;
use crate::metrics::{longest_common_run, words};

/// [`measure`]'s figures, for the replies and for the references.
pub(super) struct Copies {
    /// % of texts that equal a train reply (metric tokens).
    pub replies: Option<f64>,
    pub references: Option<f64>,
    /// Mean longest word run shared with the best exemplar.
    pub replies_run: Option<f64>,
    pub references_run: Option<f64>,
}

/// The figures for `hyps` and `refs` (metric tokens), the replies to and references of `set`.
pub(super) fn measure(
    responder: &Responder,
    set: &[Sample],
    hyps: &[Vec<String>],
    refs: &[Vec<String>],
) -> Result<Copies> {
    let train = train_replies(responder)?;
    let copies = |texts: &[Vec<String>]| {
        train.as_ref().map(|train| {
            100.0 * texts.iter().filter(|t| train.contains(*t)).count() as f64
                / texts.len().max(1) as f64
        })
    };
    let best = best_exemplars(responder, set)?;
    let run = |texts: &[Vec<String>]| {
        best.as_ref().map(|best| {
            let total: usize = texts
                .iter()
                .zip(best)
                .map(|(t, b)| longest_common_run(t, b))
                .sum();
            total as f64 / texts.len().max(1) as f64
        })
    };
    Ok(Copies {
        replies: copies(hyps),
        references: copies(refs),
        replies_run: run(hyps),
        references_run: run(refs),
    })
}

/// The exemplar index's replies as metric tokens, when the checkpoint has an index.
fn train_replies(responder: &Responder) -> Result<Option<HashSet<Vec<String>>>> {
    let Some(index) = &responder.exemplars else {
        return Ok(None);
    };
    let mut replies = HashSet::with_capacity(index.len());
    for id in 0..index.len() {
        let text = responder
            .tokenizer
            .decode(index.reply(id))
            .map_err(crate::inference::InferenceError::from)?;
        replies.insert(words(&text));
    }
    Ok(Some(replies))
}

/// The words of each sample's best exemplar (the index's top neighbour of its context; none is an empty list);
/// `None` without an index.
fn best_exemplars(responder: &Responder, set: &[Sample]) -> Result<Option<Vec<Vec<String>>>> {
    if responder.exemplars.is_none() {
        return Ok(None);
    }
    let mut out = Vec::with_capacity(set.len());
    for s in set {
        let found = responder.similar_replies(&s.context, 1)?;
        out.push(found.first().map_or(Vec::new(), |r| words(&r.text)));
    }
    Ok(Some(out))
}
