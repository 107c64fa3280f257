//! The reader's file: a header (magic, β, γ, the bag's width; with a word-vector reader also δ, the vectors'
//! width, the number of words and the length of their list) and every value after it, f32 or f16; with a
//! word-vector reader, its words last, as UTF-8 lines.

use super::{BAG_BITS, BITS, CLASSES, FILE, LexicalEmotion, VectorReader};
use crate::bag::EmbeddingBag;
use crate::linear::HashedLinear;

/// Regression only (β, idf, weights); still read.
pub(super) const MAGIC_V2: &[u8; 8] = b"RDEMO02\0";
const MAGIC_V2_F16: &[u8; 8] = b"RDEMH02\0";
/// β, γ, the bag's width, then idf, regression weights and the bag's values.
const MAGIC: &[u8; 8] = b"RDEMO03\0";
/// The same layout with every value after the header as f16 (half the size; what the web page downloads).
const MAGIC_F16: &[u8; 8] = b"RDEMH03\0";
/// v3 and a word-vector reader.
const MAGIC_V4: &[u8; 8] = b"RDEMO04\0";
const MAGIC_V4_F16: &[u8; 8] = b"RDEMH04\0";

impl LexicalEmotion {
    fn header(&self, f16: bool) -> Vec<u8> {
        let mut out = match (&self.vectors, f16) {
            (None, false) => MAGIC.to_vec(),
            (None, true) => MAGIC_F16.to_vec(),
            (Some(_), false) => MAGIC_V4.to_vec(),
            (Some(_), true) => MAGIC_V4_F16.to_vec(),
        };
        out.extend(self.weight.to_le_bytes());
        out.extend(self.bag_weight.to_le_bytes());
        out.extend((self.bag.as_ref().map_or(0, |b| b.dim()) as u32).to_le_bytes());
        if let Some(v) = &self.vectors {
            out.extend(self.vector_weight.to_le_bytes());
            out.extend((v.vectors().dim() as u32).to_le_bytes());
            out.extend((v.vectors().len() as u32).to_le_bytes());
            out.extend((self.word_list().len() as u32).to_le_bytes());
        }
        out
    }

    fn word_list(&self) -> String {
        self.vectors
            .as_ref()
            .map_or_else(String::new, |v| v.words().join("\n"))
    }

    fn values(&self) -> impl Iterator<Item = &f32> {
        let bag = self.bag.iter().flat_map(|b| b.values());
        let vectors = self.vectors.iter().flat_map(|v| v.values());
        self.idf
            .iter()
            .chain(self.model.weights())
            .chain(bag)
            .chain(vectors)
    }

    /// `RDEMO03\0`, β, γ, the bag's width (0: none), then the idf table, the regression's weights and the bag's
    /// values, all little-endian f32. With a word-vector reader `RDEMO04\0`, the same header followed by δ, the
    /// vectors' width, the number of words and the byte length of their list; the same values followed by the
    /// vectors and the reader's regression weights; then the words, one per line.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.header(false);
        for v in self.values() {
            out.extend(v.to_le_bytes());
        }
        out.extend(self.word_list().bytes());
        out
    }

    /// As [`Self::to_bytes`] with every value after the header as f16 (`RDEMH03\0`, `RDEMH04\0`).
    pub fn to_bytes_f16(&self) -> Vec<u8> {
        let mut out = self.header(true);
        for v in self.values() {
            out.extend(burn::tensor::f16::from_f32(*v).to_le_bytes());
        }
        out.extend(self.word_list().bytes());
        out
    }

    /// Reads any layout this module writes or wrote (v3 or the regression-only v2, f32 or f16).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, String> {
        let bad = || {
            format!(
                "not a lexical emotion reader ({FILE}, written by `reflectdiffu emotion train`)"
            )
        };
        let magic = bytes.get(..8).ok_or_else(bad)?;
        let (width, version) = match magic {
            m if m == MAGIC_V4 => (4, 4),
            m if m == MAGIC_V4_F16 => (2, 4),
            m if m == MAGIC => (4, 3),
            m if m == MAGIC_F16 => (2, 3),
            m if m == MAGIC_V2 => (4, 2),
            m if m == MAGIC_V2_F16 => (2, 2),
            _ => return Err(bad()),
        };
        let word = |i: usize| -> Result<[u8; 4], String> {
            bytes
                .get(8 + 4 * i..12 + 4 * i)
                .map(|b| b.try_into().expect("4 bytes"))
                .ok_or_else(bad)
        };
        let weight = f32::from_le_bytes(word(0)?);
        let (bag_weight, dim, head) = if version >= 3 {
            (
                f32::from_le_bytes(word(1)?),
                u32::from_le_bytes(word(2)?) as usize,
                20,
            )
        } else {
            (0.0, 0, 12)
        };
        // δ, the vectors' width, their number, the byte length of the word list.
        let (vector_weight, vdim, n_words, list_len, head) = if version == 4 {
            let n = |i| u32::from_le_bytes(word(i).unwrap_or_default()) as usize;
            (f32::from_le_bytes(word(3)?), n(4), n(5), n(6), 36)
        } else {
            (0.0, 0, 0, 0, head)
        };
        let vector_len = if version == 4 {
            if vdim == 0 || vdim > 1024 || n_words > 10_000_000 {
                return Err(bad());
            }
            VectorReader::value_count(CLASSES, vdim, n_words)
        } else {
            0
        };
        let valid = |w: f32| w >= 0.0 && w.is_finite();
        let buckets = 1usize << BITS;
        let bag_len = if dim == 0 {
            0
        } else {
            EmbeddingBag::value_count(CLASSES, BAG_BITS, dim)
        };
        let value_bytes = width * (buckets * (1 + CLASSES) + bag_len + vector_len);
        if !valid(weight)
            || !valid(bag_weight)
            || !valid(vector_weight)
            || dim > 1024
            || bytes.len() != head + value_bytes + list_len
        {
            return Err(bad());
        }
        let values: Vec<f32> = bytes[head..head + value_bytes]
            .chunks_exact(width)
            .map(|b| match b {
                [a, b] => burn::tensor::f16::from_le_bytes([*a, *b]).to_f32(),
                _ => f32::from_le_bytes(b.try_into().expect("4 bytes")),
            })
            .collect();
        let (idf, rest) = values.split_at(buckets);
        let (weights, rest) = rest.split_at(buckets * CLASSES);
        let (bag, vector_values) = rest.split_at(bag_len);
        let model = HashedLinear::from_weights(CLASSES, BITS, weights.to_vec()).ok_or_else(bad)?;
        let bag = match dim {
            0 => None,
            _ => Some(EmbeddingBag::from_values(CLASSES, BAG_BITS, dim, bag).ok_or_else(bad)?),
        };
        let vectors = if version == 4 {
            let list = std::str::from_utf8(&bytes[head + value_bytes..]).map_err(|_| bad())?;
            let words: Vec<&str> = match list {
                "" => Vec::new(),
                _ => list.split('\n').collect(),
            };
            if words.len() != n_words {
                return Err(bad());
            }
            Some(VectorReader::from_parts(CLASSES, vdim, &words, vector_values).ok_or_else(bad)?)
        } else {
            None
        };
        Ok(Self {
            model,
            idf: idf.to_vec(),
            bag,
            weight,
            bag_weight,
            vectors,
            vector_weight,
        })
    }
}
