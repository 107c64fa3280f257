//! The error of every reader of a file format the library defines or reads (checkpoint parts, the tagger, the
//! judge, the emotion reader, EmpatheticIntents' and RECCON's files) and of every config validator: what was wrong,
//! in words that say what to do. A leaf module, so every room can use it without an import cycle.

/// Bytes or text that are not in the format a reader expects, or a config value out of its range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

impl From<String> for Invalid {
    fn from(message: String) -> Self {
        Self(message)
    }
}

impl From<&str> for Invalid {
    fn from(message: &str) -> Self {
        Self(message.to_string())
    }
}

/// FNV-1a, 64 bits: the checksum of checkpoint files (`checksums.json`) and of the exemplar index's trailer.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}
