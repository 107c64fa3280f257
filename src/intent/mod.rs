//! Intents: the judge that reads which empathetic intent a reply carries (and, to come, the labels of ED
//! listener turns, the intent policy and the emotion → intent prior of Intent Twice).

pub mod judge;
pub mod labels;
