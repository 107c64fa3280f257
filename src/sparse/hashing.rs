//! Hashed features for the small linear models (ERA tagger, intent judge): FNV-1a over the parts of a feature
//! name, folded to a fixed number of bits.

/// The feature `parts` (e.g. ["w-1", "scared"]) as an index below 2^`bits`.
pub fn feature(parts: &[&str], bits: u32) -> u32 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (i, p) in parts.iter().enumerate() {
        for b in p.bytes().chain(std::iter::once(0x1f ^ i as u8)) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    (h >> (64 - bits)) as u32
}
