//! From text to the integer arrays the network reads, and from those to tensors.

use burn::prelude::*;

use super::encoder::{ROLE_LISTENER, ROLE_NONE, ROLE_SPEAKER};
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
    /// True when old turns (or the start of the last one) were dropped to fit `max_context_len`.
    pub truncated: bool,
}

/// Encodes context turns (oldest first, the last one the speaker's) as
/// `[BOS] [SPK] turn … [LST] turn … [SPK] turn`, dropping the oldest turns first when it is too long.
pub fn encode_context(
    tok: &TextTokenizer,
    tagger: &ReasonTagger,
    turns: &[String],
    max_len: usize,
) -> Result<EncodedSample, TokenizerError> {
    let budget = max_len.saturating_sub(1); // room left after [BOS]
    let mut pieces: Vec<(Vec<u32>, Vec<u32>, Vec<u32>)> = Vec::new();
    let mut used = 0;
    let mut truncated = false;
    for (back, turn) in turns.iter().rev().enumerate() {
        let (marker, role) = if back % 2 == 0 {
            (SPEAKER, ROLE_SPEAKER)
        } else {
            (LISTENER, ROLE_LISTENER)
        };
        let enc = tok.encode(turn)?;
        let mut ids = vec![marker];
        ids.extend(&enc.ids);
        let mut reasons = vec![0];
        reasons.extend(tagger.tag(&enc.words));
        if used + ids.len() > budget {
            truncated = true;
            if pieces.is_empty() {
                // The newest turn alone is too long: keep its marker and its last tokens.
                let keep = budget.saturating_sub(1);
                let cut = ids.len() - keep;
                ids = std::iter::once(marker)
                    .chain(ids[cut..].iter().copied())
                    .collect();
                reasons = std::iter::once(0)
                    .chain(reasons[cut..].iter().copied())
                    .collect();
                pieces.push((ids.clone(), vec![role; ids.len()], reasons));
            }
            break;
        }
        used += ids.len();
        pieces.push((ids.clone(), vec![role; ids.len()], reasons));
    }
    let mut out = EncodedSample {
        ctx_ids: vec![BOS],
        ctx_roles: vec![ROLE_NONE],
        ctx_reasons: vec![0],
        reply: Vec::new(),
        emotion: 0,
        truncated,
    };
    for (ids, roles, reasons) in pieces.into_iter().rev() {
        out.ctx_ids.extend(ids);
        out.ctx_roles.extend(roles);
        out.ctx_reasons.extend(reasons);
    }
    Ok(out)
}

/// Encodes a training example: context as in [`encode_context`], reply as `tokens [EOS] [PAD]…` of fixed length
/// (a reply longer than `max_reply_len` is cut and gets no [EOS]).
pub fn encode_sample(
    tok: &TextTokenizer,
    tagger: &ReasonTagger,
    sample: &crate::data::Sample,
    max_ctx_len: usize,
    max_reply_len: usize,
) -> Result<EncodedSample, TokenizerError> {
    let mut enc = encode_context(tok, tagger, &sample.context, max_ctx_len)?;
    let mut reply = tok.encode(&sample.reply)?.ids;
    reply.push(EOS);
    reply.resize(max_reply_len, PAD);
    enc.reply = reply;
    enc.emotion = sample.emotion;
    Ok(enc)
}

/// A batch on a device. Context is padded to the longest context in the batch.
#[derive(Debug, Clone)]
pub struct Batch {
    /// [batch, ctx_len]
    pub ctx_ids: Tensor<2, Int>,
    pub ctx_roles: Tensor<2, Int>,
    pub ctx_reasons: Tensor<2, Int>,
    /// True at padding, [batch, ctx_len].
    pub ctx_pad: Tensor<2, Bool>,
    /// Gold emotion ids, [batch].
    pub emotion: Tensor<1, Int>,
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
    pub fn new(samples: &[&EncodedSample], device: &Device) -> Self {
        let width = samples.iter().map(|s| s.ctx_ids.len()).max().unwrap_or(1);
        let col = |f: fn(&EncodedSample) -> &Vec<u32>| {
            samples.iter().map(|s| f(s).clone()).collect::<Vec<_>>()
        };
        let ctx_ids = int_tensor(col(|s| &s.ctx_ids), width, PAD, device);
        let emotion: Vec<i64> = samples.iter().map(|s| s.emotion as i64).collect();
        Self {
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
