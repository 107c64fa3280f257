//! Small sparse models over hashed features, shared by the emotion readers ([`crate::emotion`]), the intent
//! judge ([`crate::intent::judge`]) and the ERA tagger ([`crate::reason::era`]): the feature hashing and a
//! multinomial logistic regression trained with AdaGrad.

pub mod hashing;
pub mod linear;
