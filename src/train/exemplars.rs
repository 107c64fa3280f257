//! Exemplar-guided diffusion at training time: the run builds the exemplar index over its train split, writes it
//! into the run folder (so the checkpoint it becomes answers with the index it was trained with), and gives every
//! sample the replies of its nearest training contexts. A training sample never retrieves from its own
//! conversation, or it would be shown its own reply.

use std::collections::HashMap;
use std::path::Path;

use crate::checkpoint as ckpt;
use crate::data::{Conversation, Sample};
use crate::inputs::EncodedSample;
use crate::retrieve::{self, ExemplarIndex, INDEX_FILE, KeyTurns};
use crate::tokenizer::TextTokenizer;
use crate::train::{Result, TrainError};

/// Builds the index over `train_convs` (writing it to `out` when given) and gives every encoded sample of each
/// (samples, encodings) pair its `model.exemplars` neighbours, cut to what the model reads.
pub(crate) fn give_exemplars(
    tokenizer: &TextTokenizer,
    train_convs: &[Conversation],
    run: &crate::train::RunConfig,
    out: Option<&Path>,
    sets: &mut [(&[Sample], &mut Vec<EncodedSample>)],
) -> Result<()> {
    let m = &run.model;
    let index = match out {
        Some(out) => build_index(tokenizer, train_convs, run.train.max_context_turns, out)?,
        None => retrieve::build(
            tokenizer,
            train_convs,
            run.train.max_context_turns,
            KeyTurns::All,
        )?,
    };
    for (samples, encoded) in sets.iter_mut() {
        retrieve_for(
            &index,
            train_convs,
            tokenizer,
            samples,
            encoded,
            m.exemplar_count(),
            m.exemplar_len(),
        )?;
    }
    Ok(())
}

/// Builds the index over `train_convs` (keyed by every context turn, as `reflectdiffu index build`) and writes it
/// to `out`.
fn build_index(
    tokenizer: &TextTokenizer,
    train_convs: &[Conversation],
    max_turns: usize,
    out: &Path,
) -> Result<ExemplarIndex> {
    let index = retrieve::build(tokenizer, train_convs, max_turns, KeyTurns::All)?;
    let bytes = index
        .to_bytes()
        .map_err(|e| TrainError::Run(e.to_string()))?;
    ckpt::write_atomic(out, INDEX_FILE, &bytes)?;
    eprintln!(
        "exemplar index: {} replies of {} conversations, written to {}",
        index.len(),
        train_convs.len(),
        out.join(INDEX_FILE).display()
    );
    Ok(index)
}

/// Sets each encoded sample's `k` exemplars: the replies of the most similar contexts in `index`, leaving out the
/// sample's own conversation when the index holds it (`index_convs` are the conversations the index was built
/// from, in its order). Replies are cut to `max_len` tokens.
fn retrieve_for(
    index: &ExemplarIndex,
    index_convs: &[Conversation],
    tokenizer: &TextTokenizer,
    samples: &[Sample],
    encoded: &mut [EncodedSample],
    k: usize,
    max_len: usize,
) -> Result<()> {
    let conv_of: HashMap<&str, u32> = index_convs
        .iter()
        .enumerate()
        .map(|(i, c)| (c.id.as_str(), i as u32))
        .collect();
    let mut bar = crate::progress::Progress::new(samples.len(), 0);
    for (s, e) in samples.iter().zip(encoded.iter_mut()) {
        let key = retrieve::context_key(tokenizer, &s.context, index.turns)?;
        let exclude = conv_of.get(s.conv_id.as_str()).copied();
        e.exemplars = index.nearest_replies(&key, k, exclude, max_len);
        bar.tick("retrieving exemplars".into());
    }
    bar.finish();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::samples;

    fn conv(id: &str, turns: [&str; 2]) -> Conversation {
        Conversation {
            id: id.into(),
            emotion: 0,
            situation: String::new(),
            turns: turns.map(String::from).to_vec(),
            intents: Vec::new(),
        }
    }

    #[test]
    fn a_training_sample_never_retrieves_its_own_reply() {
        // Two conversations with the same opening turn: each sample's best neighbour is its own turn, which it
        // must not see; it gets the other conversation's reply instead.
        let convs = vec![
            conv("a", ["my dog ran away today", "oh no, did you find him?"]),
            conv("b", ["my dog ran away today", "that is so scary."]),
            conv("c", ["i won the lottery", "wow, congratulations!"]),
        ];
        let texts = convs.iter().flat_map(|c| c.turns.clone()).cycle().take(60);
        let tok = TextTokenizer::train(texts, 300).unwrap();
        let index = retrieve::build(&tok, &convs, 6, KeyTurns::All).unwrap();
        let set = samples(&convs, 6);
        let mut encoded = vec![EncodedSample::with_reply_tokens(1); set.len()];
        retrieve_for(&index, &convs, &tok, &set, &mut encoded, 1, 31).unwrap();
        let reply = |i: usize| tok.decode(&encoded[i].exemplars[0]).unwrap();
        assert_eq!(reply(0), "that is so scary.");
        assert_eq!(reply(1), "oh no, did you find him?");
        // Replies are cut to what the model reads.
        retrieve_for(&index, &convs, &tok, &set, &mut encoded, 2, 3).unwrap();
        assert!(
            encoded
                .iter()
                .all(|e| e.exemplars.iter().all(|r| r.len() <= 3))
        );
    }
}
