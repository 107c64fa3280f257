//! `reflectdiffu eval`: replies for every sample of a split, the field's metrics, a JSON report, a markdown
//! table. Deterministic on the CPU backend: fixed batch size, seeded sampler and seeded ELBO noise, no timings
//! in the report.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::Serialize;
use serde_json::json;

use crate::checkpoint;
use crate::data::files::{load_split, resolve_data_dir};
use crate::data::{EMOTIONS, INTENTS, Sample, samples};
use crate::diffusion::sampler::SamplerConfig;
use crate::inference::{BATCH_ROWS, Reply, Responder};
use crate::inputs::EncodedSample;
use crate::intent::judge::N_INTENTS;
use crate::metrics::intents::{cross_turn_repetition, distribution};
use crate::metrics::{accuracy_macro_f1, corpus_bleu, distinct_n, repeat_rates, words};
use crate::output::{OutputFile, checkpoint_files};
use crate::progress::Progress;
use crate::tokenizer::PAD;

mod copies;

/// Why an evaluation failed.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error("the {0} split has no samples")]
    EmptySplit(String),
    #[error("cannot write the replies: {0}")]
    Write(String),
    #[error(transparent)]
    Checkpoint(#[from] checkpoint::CheckpointError),
    #[error(transparent)]
    Data(#[from] crate::data::DataError),
    #[error(transparent)]
    Inference(#[from] crate::inference::InferenceError),
    #[error(transparent)]
    Output(#[from] crate::output::OutputError),
}

impl From<std::io::Error> for EvalError {
    fn from(e: std::io::Error) -> Self {
        Self::Write(e.to_string())
    }
}

type Result<T, E = EvalError> = std::result::Result<T, E>;

pub struct EvalOptions {
    pub checkpoint: PathBuf,
    pub data: Option<PathBuf>,
    pub split: String,
    pub limit: Option<usize>,
    pub sampler: SamplerConfig,
    pub out: PathBuf,
    /// Scores the replies' intents when given (`eval --judge`).
    pub judge: Option<crate::intent::judge::IntentJudge>,
}

/// The intent metrics of `eval --judge`.
#[derive(Debug, Serialize)]
pub struct IntentReport {
    /// % of replies written for an intent that the judge reads as that intent; `None` when no reply was
    /// written for one (a model without a policy, `--intent unknown`).
    pub accuracy: Option<f64>,
    /// Replies written for one of the 9 intents.
    pub chosen: usize,
    /// % of each intent among the intents chosen, the judge's reading of the replies, and of the references.
    pub chosen_distribution: BTreeMap<String, f64>,
    pub reply_distribution: BTreeMap<String, f64>,
    pub reference_distribution: BTreeMap<String, f64>,
    /// Fraction of consecutive listener turns of a conversation with the same (judged) intent, for the replies
    /// and for the references (MINT: humans ≈ 0.27).
    pub repetition: Option<f64>,
    pub reference_repetition: Option<f64>,
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub bleu1: f64,
    pub bleu2: f64,
    pub bleu3: f64,
    pub bleu4: f64,
    pub dist1: f64,
    pub dist2: f64,
    /// % of replies with an alphabetic word twice back to back ("sorry sorry").
    pub word_repeat: f64,
    /// % of replies in which some bigram occurs twice.
    pub bigram_repeat: f64,
    /// The same two rates on the human references of the same samples, for scale.
    pub reference_word_repeat: f64,
    pub reference_bigram_repeat: f64,
    /// `None` when the data has no emotion labels.
    pub emotion_acc: Option<f64>,
    /// Macro-F1 of the emotion over the 32 classes, in %; `None` as `emotion_acc`.
    pub emotion_macro_f1: Option<f64>,
    /// exp(NELBO / reference tokens): an upper bound on the reference perplexity, not a perplexity.
    pub ppl_bound: f64,
    /// Mean reply length in words: metric tokens that hold a letter or digit (punctuation not counted).
    pub avg_words: f64,
    /// Mean reply length in metric tokens (words plus punctuation marks, the units BLEU and Dist count).
    pub avg_tokens: f64,
    /// % of replies that are, word for word (metric tokens), one of the exemplar index's replies (the train
    /// split's), and the same % of the references; `None` when the checkpoint has no index.
    pub train_copies: Option<f64>,
    pub reference_train_copies: Option<f64>,
    /// Mean longest run of consecutive words a reply shares with the best exemplar of its context (the index's
    /// top neighbour, whether or not the model reads exemplars), and the same for the references; `None` when
    /// the checkpoint has no index.
    pub exemplar_run: Option<f64>,
    pub reference_exemplar_run: Option<f64>,
    /// With `--judge`.
    pub intent: Option<IntentReport>,
    pub samples: usize,
    pub settings: serde_json::Value,
}

/// `FILE.json` → `FILE.replies.jsonl`.
pub fn replies_path(out: &Path) -> PathBuf {
    out.with_extension("replies.jsonl")
}

/// The split's samples (up to `--limit`) and their encodings.
fn split_samples(
    opts: &EvalOptions,
    responder: &Responder,
) -> Result<(Vec<Sample>, Vec<EncodedSample>)> {
    let cfg: serde_json::Value = checkpoint::read_json(&opts.checkpoint, checkpoint::CONFIG)?;
    let max_turns = cfg["train"]["max_context_turns"].as_u64().unwrap_or(6) as usize;
    let dir = resolve_data_dir(opts.data.as_deref())?;
    let mut set = samples(&load_split(&dir, &opts.split)?, max_turns);
    set.truncate(opts.limit.unwrap_or(usize::MAX));
    if set.is_empty() {
        return Err(EvalError::EmptySplit(opts.split.clone()));
    }
    let encoded = set
        .iter()
        .map(|s| responder.encode_sample(s))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((set, encoded))
}

/// `eval --emotion-only`: the emotion read from each context, scored; the decoder is not run.
pub fn evaluate_emotion(opts: &EvalOptions, responder: &Responder) -> Result<serde_json::Value> {
    let (set, encoded) = split_samples(opts, responder)?;
    let predicted = responder.read_emotions(&encoded)?;
    let gold: Vec<usize> = set.iter().map(|s| s.emotion).collect();
    let (acc, f1) = known_emotion_scores(&gold, &predicted).unzip();
    Ok(json!({
        "emotion_acc": acc, "emotion_macro_f1": f1, "samples": set.len(),
        "settings": {"checkpoint": opts.checkpoint.display().to_string(), "split": opts.split, "limit": opts.limit},
    }))
}

pub fn evaluate(opts: &EvalOptions, responder: &Responder) -> Result<Report> {
    let (set, encoded) = split_samples(opts, responder)?;
    let Generated {
        replies,
        nelbo,
        judged: judged_replies,
    } = generate(opts, responder, &set, &encoded)?;
    let ref_tokens: usize = encoded
        .iter()
        .map(|e| e.reply.iter().filter(|t| **t != PAD).count())
        .sum();

    let hyps: Vec<Vec<String>> = replies.iter().map(|r| words(&r.text)).collect();
    let refs: Vec<Vec<String>> = set.iter().map(|s| words(&s.reply)).collect();
    let bleu = corpus_bleu(&hyps, &refs, 4);
    let (word_repeat, bigram_repeat) = repeat_rates(&hyps);
    let (reference_word_repeat, reference_bigram_repeat) = repeat_rates(&refs);
    let gold: Vec<usize> = set.iter().map(|s| s.emotion).collect();
    let predicted: Vec<usize> = replies.iter().map(|r| r.emotion_id).collect();
    let (emotion_acc, emotion_macro_f1) = known_emotion_scores(&gold, &predicted).unzip();

    let judged: Option<(Vec<usize>, Vec<usize>)> = opts.judge.as_ref().map(|j| {
        (
            judged_replies,
            set.iter().map(|s| j.classify(&s.reply)).collect(),
        )
    });
    let intent = judged
        .as_ref()
        .map(|(hyp, refs)| intent_report(&replies, &set, hyp, refs));

    let copied = copies::measure(responder, &set, &hyps, &refs)?;

    Ok(Report {
        train_copies: copied.replies,
        reference_train_copies: copied.references,
        exemplar_run: copied.replies_run,
        reference_exemplar_run: copied.references_run,
        bleu1: bleu[0],
        bleu2: bleu[1],
        bleu3: bleu[2],
        bleu4: bleu[3],
        dist1: distinct_n(&hyps, 1),
        dist2: distinct_n(&hyps, 2),
        word_repeat,
        bigram_repeat,
        reference_word_repeat,
        reference_bigram_repeat,
        emotion_acc,
        emotion_macro_f1,
        ppl_bound: (nelbo / ref_tokens.max(1) as f64).exp(),
        avg_words: hyps
            .iter()
            .map(|h| {
                h.iter()
                    .filter(|w| w.chars().any(char::is_alphanumeric))
                    .count()
            })
            .sum::<usize>() as f64
            / hyps.len() as f64,
        avg_tokens: hyps.iter().map(Vec::len).sum::<usize>() as f64 / hyps.len() as f64,
        intent,
        samples: set.len(),
        settings: settings(opts, responder),
    })
}

/// Emotion accuracy and macro-F1 (in %) over the samples with an emotion label; `None` when the data has none
/// (a conversations file without `emotion`).
fn known_emotion_scores(gold: &[usize], predicted: &[usize]) -> Option<(f64, f64)> {
    let (g, p): (Vec<usize>, Vec<usize>) = gold
        .iter()
        .zip(predicted)
        .filter(|(g, _)| **g < crate::data::EMOTIONS.len())
        .map(|(g, p)| (*g, *p))
        .unzip();
    (!g.is_empty()).then(|| accuracy_macro_f1(&g, &p))
}

/// The replies, their summed NELBO and (with a judge) the judge's intent of each.
struct Generated {
    replies: Vec<Reply>,
    nelbo: f64,
    judged: Vec<usize>,
}

/// Writes a reply for every sample, in batches, to FILE.replies.jsonl.partial as they come (an interrupted run
/// keeps them), which becomes FILE.replies.jsonl at the end; scores each reference's NELBO on the way.
fn generate(
    opts: &EvalOptions,
    responder: &Responder,
    set: &[Sample],
    encoded: &[EncodedSample],
) -> Result<Generated> {
    let replies_file = OutputFile::check(
        &replies_path(&opts.out),
        &checkpoint_files(&opts.checkpoint),
        &opts.checkpoint,
    )?;
    let mut sink = std::io::BufWriter::new(replies_file.create_partial()?);
    let mut progress = Progress::new(set.len(), 0);
    let mut elbo_rng = StdRng::seed_from_u64(opts.sampler.seed ^ 0xE1B0);
    let mut out = Generated {
        replies: Vec::with_capacity(set.len()),
        nelbo: 0.0,
        judged: Vec::new(),
    };
    for (i, chunk) in encoded.chunks(BATCH_ROWS).enumerate() {
        let (r, n) = responder.respond_and_score(
            chunk,
            &opts.sampler.from_row(i * BATCH_ROWS),
            &mut elbo_rng,
        )?;
        for (k, reply) in r.iter().enumerate() {
            let s = &set[i * BATCH_ROWS + k];
            let mut line = json!({
                "context": s.context, "reference": s.reply, "reply": reply.text,
                "predicted_emotion": EMOTIONS[reply.emotion_id], "gold_emotion": crate::data::emotion_name(s.emotion),
                "intent": INTENTS[reply.intent_id],
            });
            if let Some(j) = &opts.judge {
                let judged = j.classify(&reply.text);
                line["judged_intent"] = json!(INTENTS[judged]);
                out.judged.push(judged);
            }
            writeln!(sink, "{line}")?;
        }
        sink.flush()?;
        out.replies.extend(r);
        out.nelbo += n.iter().sum::<f64>();
        progress.tick_by(chunk.len(), format!("{} {}", opts.split, "replies"));
    }
    progress.finish();
    drop(sink);
    replies_file.commit()?;
    Ok(out)
}

/// The report's `settings`: every sampler setting by its own name, then what the run adds.
fn settings(opts: &EvalOptions, responder: &Responder) -> serde_json::Value {
    let mut settings = json!(opts.sampler);
    let fields = settings
        .as_object_mut()
        .expect("a struct serialises to an object");
    let run = json!({
        "checkpoint": opts.checkpoint.display().to_string(), "split": opts.split, "limit": opts.limit,
        "intent": format!("{:?}", responder.intent),
        "tokenisation": "lower-cased, whitespace split, punctuation split off (src/metrics/dist.rs::words)",
        "bleu": "corpus BLEU, one reference, cumulative uniform weights, brevity penalty, no smoothing (= NLTK corpus_bleu)",
    });
    fields.extend(run.as_object().expect("an object").clone());
    settings
}

/// Intent accuracy, distributions and cross-turn repetition from the judge's reading of the replies (`hyp`) and
/// references (`refs`).
fn intent_report(replies: &[Reply], set: &[Sample], hyp: &[usize], refs: &[usize]) -> IntentReport {
    let named = |d: Vec<f64>| -> BTreeMap<String, f64> {
        INTENTS[..N_INTENTS]
            .iter()
            .map(|n| n.to_string())
            .zip(d)
            .collect()
    };
    let chosen: Vec<(usize, usize)> = replies
        .iter()
        .zip(hyp)
        .filter(|(r, _)| r.intent_id < N_INTENTS)
        .map(|(r, h)| (r.intent_id, *h))
        .collect();
    let rows = |ids: &[usize]| -> Vec<(&str, usize, usize)> {
        set.iter()
            .zip(ids)
            .map(|(s, &i)| (s.conv_id.as_str(), s.turn, i))
            .collect()
    };
    let picked: Vec<usize> = chosen.iter().map(|c| c.0).collect();
    IntentReport {
        accuracy: (!chosen.is_empty()).then(|| {
            100.0 * chosen.iter().filter(|(c, h)| c == h).count() as f64 / chosen.len() as f64
        }),
        chosen: chosen.len(),
        chosen_distribution: named(distribution(&picked, N_INTENTS)),
        reply_distribution: named(distribution(hyp, N_INTENTS)),
        reference_distribution: named(distribution(refs, N_INTENTS)),
        repetition: cross_turn_repetition(&rows(hyp)),
        reference_repetition: cross_turn_repetition(&rows(refs)),
    }
}

impl Report {
    pub fn markdown(&self) -> String {
        format!(
            "| samples | BLEU-1 | BLEU-2 | BLEU-3 | BLEU-4 | Dist-1 | Dist-2 | word rep. % | bigram rep. % | emotion acc | PPL bound | avg words | avg tokens |\n\
             |---|---|---|---|---|---|---|---|---|---|---|---|---|\n\
             | {} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {} | ≤ {:.1} | {:.1} | {:.1} |",
            self.samples,
            self.bleu1,
            self.bleu2,
            self.bleu3,
            self.bleu4,
            self.dist1,
            self.dist2,
            self.word_repeat,
            self.bigram_repeat,
            self.emotion_acc
                .map_or("– (no labels)".to_string(), |a| format!("{a:.2}")),
            self.ppl_bound,
            self.avg_words,
            self.avg_tokens
        ) + &self.train_copies.map_or(String::new(), |c| {
            format!(
                "\n\n| copies of a train reply % | references' copies % | longest word run shared with the best exemplar | references' |\n|---|---|---|---|\n| {c:.2} | {:.2} | {:.2} | {:.2} |",
                self.reference_train_copies.unwrap_or(0.0),
                self.exemplar_run.unwrap_or(0.0),
                self.reference_exemplar_run.unwrap_or(0.0)
            )
        }) + &self.intent.as_ref().map_or(String::new(), |i| {
            let f = |v: Option<f64>, scale: f64| v.map_or("–".to_string(), |v| format!("{:.2}", v * scale));
            format!(
                "\n\n| intent acc | chosen | cross-turn repetition | references' repetition |\n|---|---|---|---|\n| {} | {} | {} | {} |",
                f(i.accuracy, 1.0),
                i.chosen,
                f(i.repetition, 1.0),
                f(i.reference_repetition, 1.0)
            )
        })
    }
}
