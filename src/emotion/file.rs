//! The reader's file: a header (magic, β, γ, the bag's width) and every value after it, f32 or f16.

use super::{BAG_BITS, BITS, CLASSES, FILE, LexicalEmotion};
use crate::emotion::bag::EmbeddingBag;
use crate::format::Invalid;
use crate::sparse::linear::HashedLinear;

/// Regression only (β, idf, weights); still read.
pub(super) const MAGIC_V2: &[u8; 8] = b"RDEMO02\0";
const MAGIC_V2_F16: &[u8; 8] = b"RDEMH02\0";
/// β, γ, the bag's width, then idf, regression weights and the bag's values.
const MAGIC: &[u8; 8] = b"RDEMO03\0";
/// The same layout with every value after the header as f16 (half the size; what the web page downloads).
const MAGIC_F16: &[u8; 8] = b"RDEMH03\0";

impl LexicalEmotion {
    fn header(&self, magic: &[u8]) -> Vec<u8> {
        let mut out = magic.to_vec();
        out.extend(self.weight.to_le_bytes());
        out.extend(self.bag_weight.to_le_bytes());
        out.extend((self.bag.as_ref().map_or(0, |b| b.dim()) as u32).to_le_bytes());
        out
    }

    fn values(&self) -> impl Iterator<Item = &f32> {
        let bag = self.bag.iter().flat_map(|b| b.values());
        self.idf.iter().chain(self.model.weights()).chain(bag)
    }

    /// `RDEMO03\0`, β, γ, the bag's width (0: none), then the idf table, the regression's weights and the bag's
    /// values, all little-endian f32.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.header(MAGIC);
        for v in self.values() {
            out.extend(v.to_le_bytes());
        }
        out
    }

    /// As [`Self::to_bytes`] with every value after the header as f16 (`RDEMH03\0`).
    pub fn to_bytes_f16(&self) -> Vec<u8> {
        let mut out = self.header(MAGIC_F16);
        for v in self.values() {
            out.extend(burn::tensor::f16::from_f32(*v).to_le_bytes());
        }
        out
    }

    /// Reads any layout this module writes or wrote (v3 or the regression-only v2, f32 or f16).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Invalid> {
        let bad = || {
            format!(
                "not a lexical emotion reader ({FILE}, written by `reflectdiffu emotion train`)"
            )
        };
        let magic = bytes.get(..8).ok_or_else(bad)?;
        let (width, v3) = match magic {
            m if m == MAGIC => (4, true),
            m if m == MAGIC_F16 => (2, true),
            m if m == MAGIC_V2 => (4, false),
            m if m == MAGIC_V2_F16 => (2, false),
            _ => return Err(Invalid::from(bad())),
        };
        let word = |i: usize| -> Result<[u8; 4], String> {
            bytes
                .get(8 + 4 * i..12 + 4 * i)
                .map(|b| b.try_into().expect("4 bytes"))
                .ok_or_else(bad)
        };
        let weight = f32::from_le_bytes(word(0)?);
        let (bag_weight, dim, head) = if v3 {
            (
                f32::from_le_bytes(word(1)?),
                u32::from_le_bytes(word(2)?) as usize,
                20,
            )
        } else {
            (0.0, 0, 12)
        };
        let valid = |w: f32| w >= 0.0 && w.is_finite();
        let buckets = 1usize << BITS;
        let bag_len = if dim == 0 {
            0
        } else {
            EmbeddingBag::value_count(CLASSES, BAG_BITS, dim)
        };
        if !valid(weight)
            || !valid(bag_weight)
            || dim > 1024
            || bytes.len() != head + width * (buckets * (1 + CLASSES) + bag_len)
        {
            return Err(Invalid::from(bad()));
        }
        let values: Vec<f32> = bytes[head..]
            .chunks_exact(width)
            .map(|b| match b {
                [a, b] => burn::tensor::f16::from_le_bytes([*a, *b]).to_f32(),
                _ => f32::from_le_bytes(b.try_into().expect("4 bytes")),
            })
            .collect();
        let (idf, rest) = values.split_at(buckets);
        let (weights, bag) = rest.split_at(buckets * CLASSES);
        let model = HashedLinear::from_weights(CLASSES, BITS, weights.to_vec()).ok_or_else(bad)?;
        let bag = match dim {
            0 => None,
            _ => Some(EmbeddingBag::from_values(CLASSES, BAG_BITS, dim, bag).ok_or_else(bad)?),
        };
        Ok(Self {
            model,
            idf: idf.to_vec(),
            bag,
            weight,
            bag_weight,
        })
    }
}
