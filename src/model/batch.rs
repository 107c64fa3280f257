//! The network's input: a batch of contexts as tensors (built from text by [`crate::inputs`]).

use burn::prelude::*;

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
    /// Gold intent ids (`UNKNOWN_INTENT` where none is known), [batch].
    pub intent: Tensor<1, Int>,
}
