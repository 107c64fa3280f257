//! The reflectdiffu model in the browser. A thin `wasm-bindgen` layer over the library: the page's worker fetches
//! the checkpoint's files from its own origin and hands their bytes to [`Engine::new`]; [`Engine::respond`] takes
//! the conversation and the sampler settings as JSON and returns what the CLI's `sample --json` prints, plus the
//! reason words of every user turn. Model, tokenizer, sampler and crisis rule are the library's own.

use burn::prelude::*;
use burn::tensor::read_sync;
use reflectdiffu::data::EMOTIONS;
use reflectdiffu::diffusion::sampler::SamplerConfig;
use reflectdiffu::inference::Responder;
use reflectdiffu::present::{explain_json, reply_json, speaker_reasons};
use reflectdiffu::safety;
use serde::Deserialize;
use serde_json::json;
use wasm_bindgen::prelude::*;

/// One request from the page: the conversation and any of [`SamplerConfig`]'s settings by their own names
/// (`steps`, `temperature`, `top_p`, `seed`, `stop_temperature`, …). Absent settings take the library's defaults,
/// which are the CLI's.
#[derive(Debug, Deserialize)]
pub struct Request {
    /// The conversation, oldest turn first, alternating user / model; the last turn is the user's new message.
    pub turns: Vec<String>,
    #[serde(flatten)]
    pub settings: serde_json::Map<String, serde_json::Value>,
}

impl Request {
    /// The sampler settings: the defaults with the request's settings on top; an unknown name is an error.
    pub fn sampler(&self) -> Result<SamplerConfig, String> {
        let mut cfg = json!(SamplerConfig::default());
        let fields = cfg
            .as_object_mut()
            .expect("a struct serialises to an object");
        for (name, value) in &self.settings {
            if !fields.contains_key(name) {
                let known: Vec<&String> = fields.keys().collect();
                return Err(format!(
                    "unknown setting {name:?}; the settings are {known:?}"
                ));
            }
            fields.insert(name.clone(), value.clone());
        }
        serde_json::from_value(cfg).map_err(|e| format!("not a valid request: {e}"))
    }
}

/// A loaded model, ready to answer.
#[wasm_bindgen]
pub struct Engine {
    responder: Responder,
}

#[wasm_bindgen(start)]
fn start() {
    console_error_panic_hook::set_once();
}

/// The sampler defaults (the CLI's), as JSON, so the page's controls start where `sample` does.
#[wasm_bindgen]
pub fn defaults() -> String {
    json!(SamplerConfig::default()).to_string()
}

#[wasm_bindgen]
impl Engine {
    /// Builds the model from a checkpoint's `config.json`, `model.bpk`, `tokenizer.json` and reason tagger
    /// (`reason_words.txt` or `reason_tagger.bin`).
    #[wasm_bindgen(constructor)]
    pub fn new(
        config_json: &[u8],
        weights: Vec<u8>,
        tokenizer_json: &[u8],
        reasons: &[u8],
    ) -> Result<Engine, JsError> {
        Engine::load(
            config_json,
            weights,
            tokenizer_json,
            reasons,
            &Device::flex(),
        )
    }

    /// Adds the checkpoint's lexical emotion reader (`emotion_ngrams.bin`, f32 or f16), fused with the encoder's
    /// emotion as in the CLI.
    pub fn set_lexical(&mut self, bytes: &[u8]) -> Result<(), JsError> {
        let reader = reflectdiffu::emotion::LexicalEmotion::from_bytes(bytes)
            .map_err(|e| JsError::new(&format!("cannot load the emotion reader: {e}")))?;
        self.responder.lexical = Some(reader);
        Ok(())
    }

    /// Adds the checkpoint's exemplar index (`exemplars.bin`): a model trained with exemplars then leans on the
    /// replies people wrote to similar moments, as in the CLI, and each answer lists them.
    pub fn set_exemplars(&mut self, bytes: &[u8]) -> Result<(), JsError> {
        let index = reflectdiffu::retrieve::ExemplarIndex::from_bytes(bytes)
            .map_err(|e| JsError::new(&format!("cannot load the exemplar index: {e}")))?;
        if index.vocab_size as usize != self.responder.config.vocab_size {
            return Err(JsError::new(
                "the exemplar index was built with another tokenizer than the model's",
            ));
        }
        self.responder.exemplars = Some(index);
        Ok(())
    }

    /// Which backend runs the model, in words.
    pub fn backend(&self) -> String {
        if cfg!(feature = "webgpu") {
            "GPU (burn WGPU on WebGPU)".into()
        } else {
            "CPU (burn Flex, WebAssembly)".into()
        }
    }

    /// The model's shape and size, as JSON.
    pub fn info(&self) -> String {
        let c = &self.responder.config;
        json!({
            "parameters": self.responder.model.num_params(),
            "d_model": c.d_model, "encoder_layers": c.encoder_layers, "decoder_layers": c.decoder_layers,
            "block_len": c.block(), "max_reply_len": c.max_reply_len, "vocab_size": c.vocab_size,
            "emotions": EMOTIONS.len(),
        })
        .to_string()
    }

    /// Answers the request (JSON, see [`Request`]) and returns JSON: `sample --json --explain`'s fields
    /// (`reply` — the crisis note when the new message needs it —, `emotion` top-3, `truncated`, `safety`,
    /// `explain` with the reason words of every user turn) and the settings used.
    pub fn respond(&self, request: &str) -> Result<String, JsError> {
        read_sync(answer(&self.responder, request)).map_err(|e| JsError::new(&e))
    }
}

#[cfg(feature = "webgpu")]
#[wasm_bindgen]
impl Engine {
    /// [`Engine::new`] on the browser's WebGPU adapter (the WebGPU bundle): the device is opened
    /// asynchronously, which a constructor cannot do. Fails when the browser has no adapter.
    pub async fn create_webgpu(
        config_json: Vec<u8>,
        weights: Vec<u8>,
        tokenizer_json: Vec<u8>,
        reasons: Vec<u8>,
    ) -> Result<Engine, JsError> {
        let device = Device::wgpu_options()
            .init_async()
            .await
            .map_err(|e| JsError::new(&format!("WebGPU is not available: {e}")))?;
        Engine::load(&config_json, weights, &tokenizer_json, &reasons, &device)
    }

    /// [`Engine::respond`], awaiting the GPU instead of blocking on it (the only way in a browser).
    pub async fn respond_async(&self, request: String) -> Result<String, JsError> {
        answer(&self.responder, &request)
            .await
            .map_err(|e| JsError::new(&e))
    }
}

impl Engine {
    /// The model from a checkpoint's files on `device` (both constructors).
    fn load(
        config_json: &[u8],
        weights: Vec<u8>,
        tokenizer_json: &[u8],
        reasons: &[u8],
        device: &Device,
    ) -> Result<Engine, JsError> {
        let responder =
            Responder::from_bytes(config_json, weights, tokenizer_json, reasons, device)
                .map_err(|e| JsError::new(&format!("cannot load the checkpoint: {e}")))?;
        Ok(Engine { responder })
    }
}

/// [`Engine::respond`] without the JavaScript error type.
pub async fn answer(responder: &Responder, request: &str) -> Result<String, String> {
    let req: Request =
        serde_json::from_str(request).map_err(|e| format!("not a valid request: {e}"))?;
    let cfg = req.sampler()?;
    let reply = responder
        .respond_async(std::slice::from_ref(&req.turns), &cfg)
        .await
        .map_err(|e| e.to_string())?
        .remove(0);
    // As in `chat`: every speaker turn of the conversation, a risk carried until the person says they are safe.
    let mut out = reply_json(&reply, &safety::assess_turns(&req.turns));
    let reasons = speaker_reasons(&responder.tokenizer, &responder.tagger, &req.turns)
        .map_err(|e| e.to_string())?;
    out["explain"] = explain_json(&reply, &reasons);
    // The replies people wrote to the most similar moments (those the model read come first), when the page
    // loaded the index.
    let similar = responder
        .similar_replies(&req.turns, responder.config.exemplar_count().max(1))
        .map_err(|e| e.to_string())?;
    if !similar.is_empty() {
        out["explain"]["similar_replies"] = json!(similar);
    }
    out["settings"] = json!(cfg);
    Ok(out.to_string())
}
