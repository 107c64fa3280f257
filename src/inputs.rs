//! From text to the integer arrays the network reads (tokens, speaker roles, reason tags), and from those to the
//! network's [`Batch`] of tensors. Kept out of `model/`, which knows tensors only.

use burn::prelude::*;

use crate::model::{Batch, ModelConfig, ROLE_LISTENER, ROLE_NONE, ROLE_SPEAKER};
use crate::reason::ReasonTagger;
use crate::tokenizer::{BOS, EOS, LISTENER, PAD, SPEAKER, TextTokenizer, TokenizerError};

/// One example as token ids; the reply (if any) has exactly `max_reply_len` ids.
#[derive(Debug, Clone, PartialEq)]
pub struct EncodedSample {
    pub ctx_ids: Vec<u32>,
    pub ctx_roles: Vec<u32>,
    pub ctx_reasons: Vec<u32>,
    pub reply: Vec<u32>,
    pub emotion: usize,
    /// The reply's intent (index into `INTENTS`; [`crate::data::UNKNOWN_INTENT`] where none is known).
    pub intent: usize,
    /// True when old turns (or the start of the last one) were dropped to fit `max_context_len`.
    pub truncated: bool,
    /// The lexical emotion reader's features of the whole context (`crate::emotion`); empty when it is not used.
    pub lexical: crate::emotion::ContextFeatures,
    /// Exemplar-guided diffusion: the replies people wrote to the most similar training contexts, most similar
    /// first, as token ids without [EOS] (`crate::retrieve`); empty for models without exemplars.
    pub exemplars: Vec<Vec<u32>>,
}

#[cfg(test)]
impl EncodedSample {
    /// For tests: a one-token context and a 32-position reply of `tokens` tokens, [EOS], then [PAD] (cut at 32,
    /// so more than 31 tokens leave no [EOS]).
    pub(crate) fn with_reply_tokens(tokens: usize) -> Self {
        let mut reply = vec![10; tokens];
        reply.push(EOS);
        reply.resize(32, PAD);
        reply.truncate(32);
        Self {
            ctx_ids: vec![1],
            ctx_roles: vec![0],
            ctx_reasons: vec![0],
            reply,
            emotion: 0,
            intent: crate::data::UNKNOWN_INTENT,
            truncated: false,
            lexical: Default::default(),
            exemplars: Vec::new(),
        }
    }
}

/// Encodes context turns (oldest first, the last one the speaker's) as
/// `[BOS] [SPK] turn … [LST] turn … [SPK] turn`, within `cfg.max_context_len` tokens: the newest turns are kept
/// and the oldest dropped first — except, with `cfg.keep_opening_turn`, the opening turn (where the speaker says
/// what happened), whose first tokens (up to half the window) stay in front of the newest turns that fit.
pub fn encode_context(
    tok: &TextTokenizer,
    tagger: &ReasonTagger,
    turns: &[String],
    cfg: &ModelConfig,
) -> Result<EncodedSample, TokenizerError> {
    let budget = cfg.max_context_len.saturating_sub(1); // room left after [BOS]
    let n = turns.len();
    let piece = |back: usize, turn: &String| -> Result<Piece, TokenizerError> {
        let (marker, role) = if back.is_multiple_of(2) {
            (SPEAKER, ROLE_SPEAKER)
        } else {
            (LISTENER, ROLE_LISTENER)
        };
        let enc = tok.encode(turn)?;
        let mut ids = vec![marker];
        ids.extend(&enc.ids);
        let mut reasons = vec![0];
        reasons.extend(tagger.tag(&enc));
        Ok(Piece {
            roles: vec![role; ids.len()],
            ids,
            reasons,
        })
    };
    let mut all: Vec<Piece> = turns
        .iter()
        .enumerate()
        .map(|(i, t)| piece(n - 1 - i, t))
        .collect::<Result<_, _>>()?;
    let total: usize = all.iter().map(|p| p.ids.len()).sum();
    let mut out = EncodedSample {
        ctx_ids: vec![BOS],
        ctx_roles: vec![ROLE_NONE],
        ctx_reasons: vec![0],
        reply: Vec::new(),
        emotion: 0,
        intent: crate::data::UNKNOWN_INTENT,
        truncated: total > budget,
        lexical: Default::default(),
        exemplars: Vec::new(),
    };
    let mut kept: Vec<Piece> = Vec::new();
    let mut room = budget;
    if total > budget && cfg.keep_opening_turn.unwrap_or(false) && n > 1 {
        let mut opening = all.remove(0);
        opening.keep_head(budget / 2);
        room -= opening.ids.len();
        kept.push(opening);
    }
    // Newest turns first, while they fit; a newest turn that alone is too long keeps its marker and its end.
    let mut newest: Vec<Piece> = Vec::new();
    for (k, mut p) in all.into_iter().rev().enumerate() {
        if p.ids.len() > room {
            if k == 0 {
                p.keep_tail(room);
                newest.push(p);
            }
            break;
        }
        room -= p.ids.len();
        newest.push(p);
    }
    kept.extend(newest.into_iter().rev());
    for p in kept {
        out.ctx_ids.extend(p.ids);
        out.ctx_roles.extend(p.roles);
        out.ctx_reasons.extend(p.reasons);
    }
    Ok(out)
}

/// One encoded turn: its marker and tokens, their roles and reason tags.
struct Piece {
    ids: Vec<u32>,
    roles: Vec<u32>,
    reasons: Vec<u32>,
}

impl Piece {
    /// Keeps the marker and the first `len - 1` tokens.
    fn keep_head(&mut self, len: usize) {
        let len = len.max(1).min(self.ids.len());
        self.ids.truncate(len);
        self.roles.truncate(len);
        self.reasons.truncate(len);
    }

    /// Keeps the marker and the last `len - 1` tokens.
    fn keep_tail(&mut self, len: usize) {
        let cut = self.ids.len() - len.max(1).min(self.ids.len());
        if cut == 0 {
            return;
        }
        for v in [&mut self.ids, &mut self.roles, &mut self.reasons] {
            let marker = v[0];
            v.drain(..=cut);
            v.insert(0, marker);
        }
    }
}

/// Encodes a training example: context as in [`encode_context`], reply as `tokens [EOS] [PAD]…` of fixed length
/// (a reply longer than `max_reply_len` is cut and gets no [EOS]).
/// A reply's tokens as the model stores a reply: [EOS] after them, then [PAD], `len` positions in all (cut at
/// `len`). Also how draft editing lays out an exemplar reply as a draft.
pub fn padded_reply(tokens: &[u32], len: usize) -> Vec<u32> {
    let mut reply = tokens.to_vec();
    reply.push(EOS);
    reply.resize(len, PAD);
    reply
}

pub fn encode_sample(
    tok: &TextTokenizer,
    tagger: &ReasonTagger,
    sample: &crate::data::Sample,
    cfg: &ModelConfig,
) -> Result<EncodedSample, TokenizerError> {
    let mut enc = encode_context(tok, tagger, &sample.context, cfg)?;
    enc.reply = padded_reply(&tok.encode(&sample.reply)?.ids, cfg.max_reply_len);
    enc.emotion = sample.emotion;
    enc.intent = sample.intent.unwrap_or(crate::data::UNKNOWN_INTENT);
    Ok(enc)
}

fn int_tensor(rows: Vec<Vec<u32>>, width: usize, fill: u32, device: &Device) -> Tensor<2, Int> {
    let n = rows.len();
    let flat: Vec<i64> = rows
        .into_iter()
        .flat_map(|mut r| {
            r.resize(width, fill);
            r.into_iter().map(i64::from)
        })
        .collect();
    Tensor::from_data(TensorData::new(flat, [n, width]), device)
}

impl Batch {
    /// The samples as tensors on `device`, contexts padded to the longest.
    pub fn new(samples: &[&EncodedSample], device: &Device) -> Self {
        let width = samples.iter().map(|s| s.ctx_ids.len()).max().unwrap_or(1);
        let col = |f: fn(&EncodedSample) -> &Vec<u32>| {
            samples.iter().map(|s| f(s).clone()).collect::<Vec<_>>()
        };
        let ctx_ids = int_tensor(col(|s| &s.ctx_ids), width, PAD, device);
        let emotion: Vec<i64> = samples.iter().map(|s| s.emotion as i64).collect();
        let intent: Vec<i64> = samples.iter().map(|s| s.intent as i64).collect();
        Self {
            intent: Tensor::from_data(TensorData::new(intent, [samples.len()]), device),
            ctx_pad: ctx_ids.clone().equal_elem(PAD as i64),
            ctx_ids,
            ctx_roles: int_tensor(col(|s| &s.ctx_roles), width, ROLE_NONE, device),
            ctx_reasons: int_tensor(col(|s| &s.ctx_reasons), width, 0, device),
            emotion: Tensor::from_data(TensorData::new(emotion, [samples.len()]), device),
        }
    }
}

/// [batch, width] ids as an Int tensor.
pub fn ids_tensor(rows: &[Vec<u32>], device: &Device) -> Tensor<2, Int> {
    let width = rows.first().map_or(0, Vec::len);
    int_tensor(rows.to_vec(), width, PAD, device)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ModelConfig;

    fn setup() -> (TextTokenizer, ReasonTagger) {
        let texts = [
            "my car broke down on the highway",
            "oh no are you ok",
            "i am fine now thanks",
        ];
        let tok = TextTokenizer::train(texts.iter().cycle().take(60).map(|t| t.to_string()), 300)
            .unwrap();
        (tok, ReasonTagger::from_word_list("broke\n"))
    }

    #[test]
    fn the_opening_turn_survives_truncation_only_when_asked() {
        let (tok, tagger) = setup();
        let turns: Vec<String> = [
            "my car broke down on the highway",
            "oh no are you ok",
            "i am fine now thanks",
            "oh no are you ok",
            "i am fine now thanks",
        ]
        .map(String::from)
        .to_vec();
        let len = |t: &str| tok.encode(t).unwrap().ids.len() + 1;
        let (opening, newest) = (len(&turns[0]), len(&turns[4]));
        // Room for [BOS], the two newest turns and a little more, but not for everything.
        let max = 1 + newest + len(&turns[3]) + 3;
        let mut cfg = ModelConfig::new(300).with_max_context_len(max);
        let plain = encode_context(&tok, &tagger, &turns, &cfg).unwrap();
        assert!(plain.truncated);
        assert!(
            !plain.ctx_reasons.contains(&crate::reason::EM),
            "the opening turn was dropped"
        );

        cfg.keep_opening_turn = Some(true);
        let kept = encode_context(&tok, &tagger, &turns, &cfg).unwrap();
        assert!(kept.truncated && kept.ctx_ids.len() <= max);
        let head = ((max - 1) / 2).min(opening);
        // [BOS], then the opening turn's marker and first tokens (a speaker turn: 5 turns, it is the oldest).
        assert_eq!(kept.ctx_ids[1], SPEAKER);
        assert_eq!(
            kept.ctx_ids[2..1 + head],
            tok.encode(&turns[0]).unwrap().ids[..head - 1]
        );
        assert!(
            kept.ctx_roles[1..1 + head]
                .iter()
                .all(|&r| r == ROLE_SPEAKER)
        );
        assert!(
            kept.ctx_reasons.contains(&crate::reason::EM),
            "'broke' is kept and tagged"
        );
        // The newest turn is there, whole, at the end.
        let tail = tok.encode(&turns[4]).unwrap().ids;
        assert_eq!(kept.ctx_ids[kept.ctx_ids.len() - tail.len()..], tail[..]);

        // A conversation that fits is encoded the same either way.
        cfg.max_context_len = 200;
        let a = encode_context(&tok, &tagger, &turns, &cfg).unwrap();
        cfg.keep_opening_turn = None;
        assert_eq!(a, encode_context(&tok, &tagger, &turns, &cfg).unwrap());
        assert!(!a.truncated);
    }
}
