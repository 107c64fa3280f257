//! `sample` (one-shot and JSONL batch) and `chat` (interactive, keeps the history).

use std::io::{BufRead, Write};

use anyhow::{Context, bail};
use serde_json::json;

use super::{ChatArgs, SampleArgs, SamplingArgs};
use crate::checkpoint;
use crate::inference::{Reply, Responder};
use crate::present::{explain_json, marked_text, reply_json, shown_text, speaker_reasons};
use crate::safety;

/// How many of the exemplar index's replies `--explain` shows.
const SIMILAR_SHOWN: usize = 2;

fn load(args: &SamplingArgs) -> anyhow::Result<Responder> {
    let dir = checkpoint::resolve(args.checkpoint.as_deref());
    let mut responder = checkpoint::load_responder(&dir, &args.device.device()?)?;
    args.configure(&mut responder)?;
    Ok(responder)
}

fn emotion_line(r: &Reply) -> String {
    let parts: Vec<String> = r
        .emotion
        .iter()
        .map(|(l, p)| format!("{l} {:.0}%", p * 100.0))
        .collect();
    if r.intent_id == crate::data::UNKNOWN_INTENT {
        return format!("(emotion: {})", parts.join(", "));
    }
    format!(
        "(emotion: {}; intent: {})",
        parts.join(", "),
        crate::data::INTENTS[r.intent_id]
    )
}

fn warn_truncated(r: &Reply, max: usize, what: &str) {
    if r.truncated {
        eprintln!(
            "note: {what} is longer than the model's {max} context tokens; the oldest turns were dropped"
        );
    }
}

pub fn sample(args: SampleArgs) -> anyhow::Result<()> {
    if let Some(input) = &args.input {
        return sample_jsonl(input, &args.sampling);
    }
    if args.text.is_empty() {
        bail!(
            "nothing to reply to: pass the message as an argument (reflectdiffu sample \"I lost my job today\") or use --input FILE"
        );
    }
    let responder = load(&args.sampling)?;
    let reply = responder
        .respond(std::slice::from_ref(&args.text), &args.sampling.sampler())?
        .remove(0);
    warn_truncated(&reply, responder.config.max_context_len, "the conversation");
    let safety = safety::assess_turns(&args.text);
    let (reasons, similar) = if args.explain {
        (
            speaker_reasons(&responder.tokenizer, &responder.tagger, &args.text)?,
            responder.similar_replies(&args.text, SIMILAR_SHOWN)?,
        )
    } else {
        (Vec::new(), Vec::new())
    };
    if args.json {
        let mut v = reply_json(&reply, &safety);
        v["steps"] = json!(args.sampling.steps);
        v["seed"] = json!(args.sampling.seed);
        if args.explain {
            v["explain"] = explain_json(&reply, &reasons);
            v["explain"]["similar_replies"] = json!(similar);
        }
        println!("{v}");
    } else {
        println!("{}", shown_text(&reply, &safety));
        println!("{}", emotion_line(&reply));
        for (turn, segments) in &reasons {
            println!("(reasons in turn {}: {})", turn + 1, marked_text(segments));
        }
        for (i, r) in similar.iter().enumerate() {
            let how = match (
                r.read_by_model,
                i == 0 && args.sampling.draft_mask.is_some(),
            ) {
                (true, true) => "the draft the reply was edited from, a reply people wrote",
                (true, false) => "read by the model: a reply people wrote",
                (false, _) => "a reply people wrote",
            };
            println!(
                "({how} to a similar moment, similarity {:.2}, {}: \"{}\")",
                r.similarity, r.emotion, r.text
            );
        }
    }
    Ok(())
}

/// Parses one JSONL line into context turns, or says what is wrong with it.
fn parse_line(bytes: &[u8]) -> Result<Vec<String>, String> {
    let text = std::str::from_utf8(bytes)
        .map_err(|e| format!("invalid UTF-8 at byte {}", e.valid_up_to()))?;
    let v: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?;
    let turns = v
        .get("context")
        .and_then(|c| c.as_array())
        .ok_or("expected an object {\"context\": [\"turn\", …]}")?
        .iter()
        .map(|t| {
            t.as_str()
                .map(String::from)
                .ok_or("every context turn must be a string")
        })
        .collect::<Result<Vec<_>, _>>()?;
    // Empty turns are the responder's to judge (Responder::encode), so that library users get the same errors.
    Ok(turns)
}

/// The lines of a JSON Lines input as they arrive, read on a thread of their own: the answering loop takes every
/// line already waiting (from a file, a batch at a time) but never waits for more than one (from a pipe, each line
/// is answered as soon as it comes). The channel is bounded, so memory does not grow with the input.
fn spawn_reader(
    input: &std::path::Path,
) -> anyhow::Result<std::sync::mpsc::Receiver<std::io::Result<Vec<u8>>>> {
    let mut reader: Box<dyn BufRead + Send> = if input.as_os_str() == "-" {
        Box::new(std::io::BufReader::new(std::io::stdin()))
    } else {
        let file = std::fs::File::open(input)
            .with_context(|| format!("cannot read {}", input.display()))?;
        Box::new(std::io::BufReader::new(file))
    };
    let (tx, rx) = std::sync::mpsc::sync_channel(4 * crate::inference::BATCH_ROWS);
    std::thread::spawn(move || {
        loop {
            let mut line = Vec::new();
            match reader.read_until(b'\n', &mut line) {
                Ok(0) => break,
                Ok(_) => {
                    if line.last() == Some(&b'\n') {
                        line.pop();
                    }
                    if tx.send(Ok(line)).is_err() {
                        break;
                    }
                }
                Err(e) => {
                    let _ = tx.send(Err(e));
                    break;
                }
            }
        }
    });
    Ok(rx)
}

fn sample_jsonl(input: &std::path::Path, sampling: &SamplingArgs) -> anyhow::Result<()> {
    let name = if input.as_os_str() == "-" {
        "<stdin>".to_string()
    } else {
        input.display().to_string()
    };
    let responder = load(sampling)?;
    let lines = spawn_reader(input)?;
    let cfg = sampling.sampler();
    let (mut index, mut total, mut failed) = (0usize, 0usize, 0usize);
    let mut stdout = std::io::stdout().lock();
    while let Ok(first) = lines.recv() {
        let mut chunk = vec![first];
        while chunk.len() < crate::inference::BATCH_ROWS {
            match lines.try_recv() {
                Ok(line) => chunk.push(line),
                Err(_) => break,
            }
        }
        // (line index from 0, parsed context); blank lines are skipped but still count, so that a line's seed is
        // `--seed + line index` whatever the lines around it hold.
        let mut parsed: Vec<(usize, Result<Vec<String>, String>)> = Vec::new();
        for line in chunk {
            let line = line.with_context(|| format!("cannot read {name}"))?;
            let i = index;
            index += 1;
            let mut l = line.as_slice();
            if i == 0 {
                // A UTF-8 byte-order mark (some editors write one) is not part of the first line.
                l = l.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(l);
            }
            let l = l.strip_suffix(b"\r").unwrap_or(l);
            if l.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            parsed.push((i, parse_line(l)));
        }
        total += parsed.len();
        failed += answer_lines(&responder, &cfg, &parsed, &name, &mut stdout)?;
        stdout.flush()?;
    }
    if failed > 0 {
        bail!("{failed} of {total} lines of {name} could not be answered (see the messages above)");
    }
    Ok(())
}

/// Answers the parsed lines of one chunk, in order, one JSON object per line (an error object for a line that
/// could not be answered); returns how many failed.
fn answer_lines(
    responder: &Responder,
    cfg: &crate::diffusion::sampler::SamplerConfig,
    parsed: &[(usize, Result<Vec<String>, String>)],
    name: &str,
    out: &mut impl Write,
) -> anyhow::Result<usize> {
    let good: Vec<(usize, &[String])> = parsed
        .iter()
        .filter_map(|(i, r)| r.as_ref().ok().map(|c| (*i, c.as_slice())))
        .collect();
    let mut answers = responder.respond_each(&good, cfg)?.into_iter();
    let mut failed = 0;
    for (i, r) in parsed {
        let line = i + 1;
        let answer = match r {
            Ok(context) => answers
                .next()
                .expect("one answer per parsed line")
                .map(|reply| (reply, context))
                .map_err(|e| e.to_string()),
            Err(e) => Err(e.clone()),
        };
        match answer {
            Ok((reply, context)) => {
                warn_truncated(
                    &reply,
                    responder.config.max_context_len,
                    &format!("{name}:{line}"),
                );
                writeln!(
                    out,
                    "{}",
                    reply_json(&reply, &safety::assess_turns(context))
                )?;
            }
            Err(e) => {
                failed += 1;
                eprintln!("{name}:{line}: {e}");
                writeln!(out, "{}", json!({"line": line, "error": e}))?;
            }
        }
    }
    Ok(failed)
}

pub fn chat(args: ChatArgs) -> anyhow::Result<()> {
    let responder = load(&args.sampling)?;
    let mut cfg = args.sampling.sampler();
    let mut history: Vec<String> = Vec::new();
    eprintln!("Tell me what happened. /reset starts over, /quit (or Ctrl-D) ends.");
    let stdin = std::io::stdin();
    let mut out = std::io::stdout();
    loop {
        write!(out, "you> ")?;
        out.flush()?;
        let mut bytes = Vec::new();
        if stdin
            .lock()
            .read_until(b'\n', &mut bytes)
            .context("cannot read stdin")?
            == 0
        {
            return Ok(());
        }
        let Ok(line) = String::from_utf8(bytes) else {
            eprintln!("(that line is not valid UTF-8 text; it was ignored — say it again)");
            continue;
        };
        let line = line.trim();
        match line {
            "/quit" | "/exit" => return Ok(()),
            "/reset" => {
                history.clear();
                eprintln!("(history cleared)");
                continue;
            }
            _ if !crate::inference::has_visible_text(line) => {
                eprintln!("(say something — an empty line is not a turn)");
                continue;
            }
            _ => {}
        }
        history.push(line.to_string());
        let reply = responder
            .respond(std::slice::from_ref(&history), &cfg)?
            .remove(0);
        warn_truncated(&reply, responder.config.max_context_len, "the conversation");
        // The whole session: a risk seen in an earlier message keeps its note until the person says they are safe.
        let shown = shown_text(&reply, &safety::assess_turns(&history));
        writeln!(out, "listener> {shown}")?;
        eprintln!("{}", emotion_line(&reply));
        history.push(shown);
        cfg.seed = cfg.seed.wrapping_add(1);
    }
}
