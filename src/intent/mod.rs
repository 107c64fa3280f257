//! Intents (Intent Twice): the judge that reads which empathetic intent a reply carries ("correct"), the labels
//! of ED listener turns, and the choice of intent for a reply from the policy and the emotion → intent prior
//! ("explore").

pub mod judge;
pub mod labels;
pub mod policy;
