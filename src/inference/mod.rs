//! From a conversation to a reply: encode the context, read the emotion, run the reverse diffusion.
//! Everything here works from bytes, so the browser build uses it unchanged.

use burn::prelude::*;
use burn::store::ModuleRecord;
use burn::tensor::Bytes;
use burn::tensor::activation::softmax;
use burn::tensor::read_sync;

use crate::data::EMOTIONS;
use crate::diffusion::sampler::{SampleError, SamplerConfig, SettingsError};
use crate::emotion::LexicalEmotion;
use crate::inputs::{EncodedSample, encode_context, encode_sample};
use crate::intent::policy::IntentChoice;
use crate::kernels::Implementation;
use crate::model::{Batch, ModelConfig, ReflectDiffu};
use crate::reason::ReasonTagger;
use crate::tokenizer::{EOS, PAD, TextTokenizer, TokenizerError};

mod drafts;
mod draw;
mod exemplars;
mod reply;
mod score;

pub use draw::default_draw;
pub use exemplars::SimilarReply;

/// Rows per forward pass when answering many contexts.
pub const BATCH_ROWS: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum InferenceError {
    #[error("model config: {0}")]
    Config(String),
    #[error("model weights: {0}")]
    Weights(String),
    #[error(transparent)]
    Tokenizer(#[from] TokenizerError),
    #[error("{0}")]
    BadInput(String),
    #[error(transparent)]
    Sample(#[from] SampleError),
    #[error("sampler settings: {0}")]
    Settings(#[from] SettingsError),
}

/// The three most probable (emotion id, probability) pairs of one context, best first.
type TopEmotions = Vec<(usize, f32)>;

/// One generated reply.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub text: String,
    /// The reply's token ids, up to (not including) [EOS].
    pub tokens: Vec<u32>,
    /// The three most probable emotions with their probabilities.
    pub emotion: Vec<(String, f32)>,
    /// The emotion the reply was conditioned on (the most probable one).
    pub emotion_id: usize,
    /// The intent the reply was written for (index into `INTENTS`; "unknown" when none was chosen).
    pub intent_id: usize,
    /// The policy's three most probable intents (after the prior), empty when the intent was not the policy's.
    pub intents: Vec<(String, f32)>,
    /// True when old turns were dropped to fit the model's context length.
    pub truncated: bool,
}

/// A loaded model with its tokenizer and reason tagger.
pub struct Responder {
    pub model: ReflectDiffu,
    pub config: ModelConfig,
    pub tokenizer: TextTokenizer,
    pub tagger: ReasonTagger,
    pub device: Device,
    /// How each reply's intent is chosen (the policy unless set; see [`Responder::set_intent`]).
    pub intent: IntentChoice,
    /// Whether the model was trained with intents (a policy, or intent labels for its decoder's intent slot):
    /// without, naming an intent would condition it on one it never learned.
    pub knows_intents: bool,
    /// The lexical emotion reader fused with the encoder's emotion, when the checkpoint has one.
    pub lexical: Option<LexicalEmotion>,
    /// The exemplar index ([`crate::retrieve`]), when the checkpoint has one: `--explain` shows the replies people
    /// wrote to the most similar contexts.
    pub exemplars: Option<crate::retrieve::ExemplarIndex>,
    /// Where each reverse step draws its tokens: `None` reads the logits back and draws on the host;
    /// `Some` draws on the device with `kernels::sample` (only ids and probabilities are read back).
    pub draw_on_device: Option<Implementation>,
    /// The tokenizer's white-space-only tokens, which the n-gram ban also bans (`Sampler::set_blank`).
    pub blank_tokens: Vec<u32>,
}

/// True when `text` has a character a reader can see: not white space, a control character or an invisible
/// format character (soft hyphen, zero-width space and joiners, direction marks, word joiner, byte-order mark,
/// variation selectors, Hangul fillers, tags).
pub fn has_visible_text(text: &str) -> bool {
    text.chars().any(|c| {
        !(c.is_whitespace()
            || c.is_control()
            || matches!(c,
                '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
                | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
                | '\u{2060}'..='\u{206F}' | '\u{3164}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}' | '\u{FFA0}'
                | '\u{E0000}'..='\u{E0FFF}'))
    })
}

/// Reads the `model` section of a checkpoint's config.json.
pub fn model_config_from_json(json: &[u8]) -> Result<ModelConfig, InferenceError> {
    let value: serde_json::Value = serde_json::from_slice(json)
        .map_err(|e| InferenceError::Config(format!("not valid JSON: {e}")))?;
    let model = value
        .get("model")
        .cloned()
        .ok_or_else(|| InferenceError::Config("no `model` section".into()))?;
    let cfg: ModelConfig =
        serde_json::from_value(model).map_err(|e| InferenceError::Config(e.to_string()))?;
    cfg.validate()
        .map_err(|e| InferenceError::Config(e.to_string()))?;
    Ok(cfg)
}

impl Responder {
    /// Builds a responder from the checkpoint's files as bytes (`reasons`: `reason_words.txt` or
    /// `reason_tagger.bin`).
    pub fn from_bytes(
        config_json: &[u8],
        weights: Vec<u8>,
        tokenizer_json: &[u8],
        reasons: &[u8],
        device: &Device,
    ) -> Result<Self, InferenceError> {
        let config = model_config_from_json(config_json)?;
        let knows_intents = config.intent_policy == Some(true)
            || serde_json::from_slice::<serde_json::Value>(config_json)
                .is_ok_and(|v| v["train"]["intent_labels"].is_string());
        let tokenizer = TextTokenizer::from_bytes(tokenizer_json)?;
        if tokenizer.vocab_size() != config.vocab_size {
            return Err(InferenceError::Config(format!(
                "tokenizer has {} tokens but the model was built for {}",
                tokenizer.vocab_size(),
                config.vocab_size
            )));
        }
        // f16 weights (`export --format burnpack-f16`, what the web page downloads) become f32 on load.
        let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(weights))
            .map_err(|e| InferenceError::Weights(e.to_string()))?
            .cast_to_module_dtype();
        let model = config
            .init(device)
            .try_load_record(record)
            .map_err(|e| InferenceError::Weights(e.to_string()))?;
        Ok(Self {
            model,
            config,
            blank_tokens: tokenizer.blank_tokens(),
            tokenizer,
            tagger: ReasonTagger::from_bytes(reasons)
                .map_err(|e| InferenceError::Config(e.to_string()))?,
            device: device.clone(),
            intent: IntentChoice::default(),
            knows_intents,
            lexical: None,
            exemplars: None,
            draw_on_device: default_draw(device),
        })
    }

    /// Sets how replies choose their intent; a named intent is refused by a model trained without intents.
    pub fn set_intent(&mut self, choice: IntentChoice) -> Result<(), InferenceError> {
        if let IntentChoice::Fixed(i) = choice
            && i != crate::data::UNKNOWN_INTENT
            && !self.knows_intents
        {
            return Err(InferenceError::BadInput(format!(
                "this model was trained without intents, so it cannot write a reply for the intent `{}`; \
                 choose auto or unknown",
                crate::data::INTENTS[i]
            )));
        }
        self.intent = choice;
        Ok(())
    }

    /// Encodes one context (oldest turn first; the last turn is the speaker's, i.e. the user's).
    pub fn encode(&self, context: &[String]) -> Result<EncodedSample, InferenceError> {
        if context.is_empty() {
            return Err(InferenceError::BadInput(
                "the conversation has no turns".into(),
            ));
        }
        if let Some(i) = context.iter().position(|t| !has_visible_text(t)) {
            return Err(InferenceError::BadInput(format!(
                "turn {} of {} has no visible character (it is empty, white space or invisible characters); \
                 pass the text of every turn",
                i + 1,
                context.len()
            )));
        }
        let mut enc = encode_context(&self.tokenizer, &self.tagger, context, &self.config)?;
        self.add_lexical(&mut enc, context);
        self.add_exemplars(&mut enc, context)?;
        Ok(enc)
    }

    /// Encodes a sample with its reference reply (what `eval` scores).
    pub fn encode_sample(
        &self,
        sample: &crate::data::Sample,
    ) -> Result<EncodedSample, InferenceError> {
        let mut enc = encode_sample(&self.tokenizer, &self.tagger, sample, &self.config)?;
        self.add_lexical(&mut enc, &sample.context);
        self.add_exemplars(&mut enc, &sample.context)?;
        Ok(enc)
    }

    /// The lexical reader's features of the whole context, when there is a reader.
    fn add_lexical(&self, enc: &mut EncodedSample, context: &[String]) {
        if self.lexical.is_some() {
            enc.lexical = crate::emotion::features(context);
        }
    }

    /// Replies to each context; contexts are batched [`BATCH_ROWS`] at a time. Row `i` samples with seed
    /// `cfg.seed + i`. Fails as a whole if any context cannot be answered.
    pub fn respond(
        &self,
        contexts: &[Vec<String>],
        cfg: &SamplerConfig,
    ) -> Result<Vec<Reply>, InferenceError> {
        read_sync(self.respond_async(contexts, cfg))
    }

    /// [`Self::respond`] for devices whose read-back must be awaited (WebGPU in a browser).
    pub async fn respond_async(
        &self,
        contexts: &[Vec<String>],
        cfg: &SamplerConfig,
    ) -> Result<Vec<Reply>, InferenceError> {
        let rows: Vec<(usize, &[String])> = contexts
            .iter()
            .enumerate()
            .map(|(i, c)| (i, c.as_slice()))
            .collect();
        self.respond_each_async(&rows, cfg)
            .await?
            .into_iter()
            .collect()
    }

    /// Replies to each `(row, context)` on its own: a context that cannot be encoded gets its own error and the
    /// others are answered. Row `row` samples with seed `cfg.seed + row`, so a reply depends only on its context,
    /// its row number and the settings (not on which other rows failed or share its batch). The outer error is
    /// for failures of the whole request (bad settings, a model that returns NaN).
    pub fn respond_each(
        &self,
        contexts: &[(usize, &[String])],
        cfg: &SamplerConfig,
    ) -> Result<Vec<Result<Reply, InferenceError>>, InferenceError> {
        read_sync(self.respond_each_async(contexts, cfg))
    }

    /// [`Self::respond_each`] for devices whose read-back must be awaited.
    pub async fn respond_each_async(
        &self,
        contexts: &[(usize, &[String])],
        cfg: &SamplerConfig,
    ) -> Result<Vec<Result<Reply, InferenceError>>, InferenceError> {
        cfg.validate()?;
        let mut out: Vec<Option<Result<Reply, InferenceError>>> =
            Vec::with_capacity(contexts.len());
        let mut good: Vec<(usize, usize, EncodedSample)> = Vec::new(); // (index in `contexts`, row, encoded)
        for (i, (row, context)) in contexts.iter().enumerate() {
            match self.encode(context) {
                Ok(e) => {
                    good.push((i, *row, e));
                    out.push(None);
                }
                Err(e) => out.push(Some(Err(e))),
            }
        }
        for chunk in good.chunks(BATCH_ROWS) {
            let encoded: Vec<EncodedSample> = chunk.iter().map(|g| g.2.clone()).collect();
            let rows: Vec<usize> = chunk.iter().map(|g| g.1).collect();
            let replies = self.respond_rows(&encoded, &rows, cfg).await?;
            for (g, reply) in chunk.iter().zip(replies) {
                out[g.0] = Some(Ok(reply));
            }
        }
        Ok(out
            .into_iter()
            .map(|r| r.expect("every context is answered or has an error"))
            .collect())
    }

    /// The most probable emotion of each encoded context (the encoder alone; no reply is written).
    pub fn read_emotions(&self, encoded: &[EncodedSample]) -> Result<Vec<usize>, InferenceError> {
        let mut out = Vec::with_capacity(encoded.len());
        for chunk in encoded.chunks(BATCH_ROWS) {
            // (seeds only matter to a drawn intent, which is not read here)
            let (_, read) = read_sync(self.condition(chunk, None, &vec![0; chunk.len()]))?;
            out.extend(read.iter().map(|r| r.emotions[0].0));
        }
        Ok(out)
    }

    /// The encoder's pooled context vector Q of each sample, [n][d_model] (the dense retrieval key that
    /// `reflectdiffu index eval` compares).
    pub fn pooled_q(&self, encoded: &[EncodedSample]) -> Result<Vec<Vec<f32>>, InferenceError> {
        let mut out = Vec::with_capacity(encoded.len());
        for chunk in encoded.chunks(BATCH_ROWS) {
            let batch = Batch::new(&chunk.iter().collect::<Vec<_>>(), &self.device);
            let q = host(self.model.encode(&batch).q)?;
            out.extend(q.chunks(self.config.d_model).map(<[f32]>::to_vec));
        }
        Ok(out)
    }

    /// The encoder's emotion probabilities (32 per context, before any lexical fusion).
    pub fn encoder_emotion_probs(
        &self,
        encoded: &[EncodedSample],
    ) -> Result<Vec<Vec<f32>>, InferenceError> {
        let mut out = Vec::with_capacity(encoded.len());
        for chunk in encoded.chunks(BATCH_ROWS) {
            let batch = Batch::new(&chunk.iter().collect::<Vec<_>>(), &self.device);
            let p = host(softmax(self.model.encode(&batch).emotion_logits, 1))?;
            out.extend(p.chunks(EMOTIONS.len()).map(<[f32]>::to_vec));
        }
        Ok(out)
    }
}

/// Reads a float tensor back to the host, awaiting the device (the only way on WebGPU in a browser).
pub(crate) async fn host_async<const D: usize>(t: Tensor<D>) -> Result<Vec<f32>, InferenceError> {
    t.into_data_async()
        .await
        .map_err(|e| InferenceError::Weights(format!("{e:?}")))?
        .try_into_vec_as::<f32>()
        .map_err(|e| InferenceError::Weights(format!("{e:?}")))
}

/// Reads a float tensor back to the host.
pub(crate) fn host<const D: usize>(t: Tensor<D>) -> Result<Vec<f32>, InferenceError> {
    t.into_data()
        .try_into_vec_as::<f32>()
        .map_err(|e| InferenceError::Weights(format!("{e:?}")))
}

/// The reply tokens before the first [EOS] or [PAD].
pub fn until_eos(tokens: &[u32]) -> &[u32] {
    let end = tokens
        .iter()
        .position(|t| *t == EOS || *t == PAD)
        .unwrap_or(tokens.len());
    &tokens[..end]
}
