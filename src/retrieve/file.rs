//! `exemplars.bin`: the exemplar index as bytes. Little-endian throughout:
//!
//! ```text
//! b"RDEXIDX2"  turns: u8 (0 last, 1 all)  max_turns: u8  vocab_size: u32  conversations: u32
//! conversations × { emotion: u8  turn count: u8  turn count × { length: u16  ids: u16 × length } }
//! FNV-1a 64 of everything above: u64
//! ```
//!
//! Only the conversations are stored, each turn once; the exemplars and their keys are derived when the file is
//! read (a reply's context turns are the turns before it, shared by the replies that follow). Token ids are u16
//! (the tokenizer's vocabulary is 6,000; an index over a larger one is refused when written). The trailing hash
//! makes a truncated or altered file an error rather than wrong neighbours.

use super::{ExemplarIndex, KeyTurns, StoredConversation};
use crate::format::fnv1a64;

/// The index's file name inside a checkpoint folder.
pub const INDEX_FILE: &str = "exemplars.bin";

const MAGIC: &[u8; 8] = b"RDEXIDX2";

#[derive(Debug, thiserror::Error)]
pub enum IndexFileError {
    #[error(
        "the exemplar index is not valid: {0}; rebuild it with `reflectdiffu index build --checkpoint DIR`"
    )]
    Invalid(String),
    #[error("the exemplar index cannot be written: {0}")]
    Unwritable(String),
}

fn u16s(out: &mut Vec<u8>, ids: &[u32]) {
    for &t in ids {
        out.extend_from_slice(&(t as u16).to_le_bytes());
    }
}

impl ExemplarIndex {
    /// The file's bytes.
    pub fn to_bytes(&self) -> Result<Vec<u8>, IndexFileError> {
        if self.vocab_size > u16::MAX as u32 + 1 {
            return Err(IndexFileError::Unwritable(format!(
                "a vocabulary of {} tokens does not fit the file's 16-bit token ids",
                self.vocab_size
            )));
        }
        if self.max_turns > u8::MAX as usize {
            return Err(IndexFileError::Unwritable(format!(
                "a context window of {} turns does not fit the file",
                self.max_turns
            )));
        }
        let mut out = Vec::with_capacity(32 + self.len() * 64);
        out.extend_from_slice(MAGIC);
        out.push(match self.turns {
            KeyTurns::Last => 0,
            KeyTurns::All => 1,
        });
        out.push(self.max_turns as u8);
        out.extend_from_slice(&self.vocab_size.to_le_bytes());
        out.extend_from_slice(&(self.conversations().len() as u32).to_le_bytes());
        for (i, c) in self.conversations().iter().enumerate() {
            if c.turns.len() > u8::MAX as usize {
                return Err(IndexFileError::Unwritable(format!(
                    "conversation {i} has {} turns; the file allows {}",
                    c.turns.len(),
                    u8::MAX
                )));
            }
            out.push(c.emotion);
            out.push(c.turns.len() as u8);
            for t in &c.turns {
                if t.len() > u16::MAX as usize {
                    return Err(IndexFileError::Unwritable(format!(
                        "a turn of conversation {i} has {} tokens; the file allows {}",
                        t.len(),
                        u16::MAX
                    )));
                }
                out.extend_from_slice(&(t.len() as u16).to_le_bytes());
                u16s(&mut out, t);
            }
        }
        let hash = fnv1a64(&out);
        out.extend_from_slice(&hash.to_le_bytes());
        Ok(out)
    }

    /// Reads what [`Self::to_bytes`] wrote.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, IndexFileError> {
        let bad = |what: &str| IndexFileError::Invalid(what.to_string());
        if bytes.len() < MAGIC.len() + 9 + 8 || &bytes[..MAGIC.len()] != MAGIC {
            return Err(bad("it does not start like an exemplar index"));
        }
        let (body, trailer) = bytes.split_at(bytes.len() - 8);
        if fnv1a64(body).to_le_bytes() != trailer {
            return Err(bad("its checksum does not match (truncated or altered)"));
        }
        let mut r = Reader {
            bytes: body,
            at: MAGIC.len(),
        };
        let turns = match r.u8()? {
            0 => KeyTurns::Last,
            1 => KeyTurns::All,
            other => return Err(bad(&format!("unknown key kind {other}"))),
        };
        let max_turns = r.u8()? as usize;
        let vocab_size = r.u32()?;
        let count = r.u32()? as usize;
        let mut conversations = Vec::with_capacity(count.min(body.len() / 2));
        for i in 0..count {
            let emotion = r.u8()?;
            let n_turns = r.u8()? as usize;
            let mut turns = Vec::with_capacity(n_turns);
            for _ in 0..n_turns {
                let len = r.u16()? as usize;
                let ids = r.ids(len)?;
                if let Some(&t) = ids.iter().find(|&&t| t >= vocab_size) {
                    return Err(bad(&format!(
                        "conversation {i} has token {t}, outside its vocabulary of {vocab_size}"
                    )));
                }
                turns.push(ids);
            }
            conversations.push(StoredConversation { emotion, turns });
        }
        if r.at != body.len() {
            return Err(bad("it has bytes after its last exemplar"));
        }
        Ok(Self::new(turns, max_turns, vocab_size, conversations))
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], IndexFileError> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.bytes.len());
        let Some(end) = end else {
            return Err(IndexFileError::Invalid(
                "it ends in the middle of an exemplar".into(),
            ));
        };
        let out = &self.bytes[self.at..end];
        self.at = end;
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8, IndexFileError> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, IndexFileError> {
        Ok(u16::from_le_bytes(self.take(2)?.try_into().unwrap()))
    }

    fn u32(&mut self) -> Result<u32, IndexFileError> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().unwrap()))
    }

    fn ids(&mut self, n: usize) -> Result<Vec<u32>, IndexFileError> {
        Ok(self
            .take(2 * n)?
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]) as u32)
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index() -> ExemplarIndex {
        let c = |emotion, turns: &[&[u32]]| StoredConversation {
            emotion,
            turns: turns.iter().map(|t| t.to_vec()).collect(),
        };
        ExemplarIndex::new(
            KeyTurns::All,
            6,
            50,
            vec![
                c(3, &[&[14, 15], &[17, 18, 19]]),
                c(31, &[&[15, 49], &[], &[10]]),
                c(0, &[]),
            ],
        )
    }

    #[test]
    fn a_saved_index_reloads_bit_identically() {
        let bytes = index().to_bytes().unwrap();
        let back = ExemplarIndex::from_bytes(&bytes).unwrap();
        assert_eq!(back.conversations(), index().conversations());
        assert_eq!(
            (back.turns, back.max_turns, back.len()),
            (KeyTurns::All, 6, 2)
        );
        assert_eq!(back.to_bytes().unwrap(), bytes);
    }

    #[test]
    fn a_broken_file_is_an_error_that_says_how_to_fix_it() {
        let bytes = index().to_bytes().unwrap();
        let mut altered = bytes.clone();
        altered[20] ^= 1;
        for broken in [
            &bytes[..bytes.len() - 3],
            &altered[..],
            b"not an index at all",
        ] {
            let e = ExemplarIndex::from_bytes(broken).unwrap_err().to_string();
            assert!(e.contains("index build"), "{e}");
        }
    }
}
