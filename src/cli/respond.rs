//! `sample` (one-shot and JSONL batch) and `chat` (interactive, keeps the history).

use std::io::{BufRead, Read, Write};

use anyhow::{Context, bail};
use serde_json::json;

use super::{ChatArgs, SampleArgs, SamplingArgs};
use crate::checkpoint;
use crate::inference::{Reply, Responder};
use crate::present::{explain_json, marked_text, reply_json, shown_text, speaker_reasons};
use crate::safety;

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
    let reasons = if args.explain {
        speaker_reasons(&responder.tokenizer, &responder.tagger, &args.text)?
    } else {
        Vec::new()
    };
    if args.json {
        let mut v = reply_json(&reply, &safety);
        v["steps"] = json!(args.sampling.steps);
        v["seed"] = json!(args.sampling.seed);
        if args.explain {
            v["explain"] = explain_json(&reply, &reasons);
        }
        println!("{v}");
    } else {
        println!("{}", shown_text(&reply, &safety));
        println!("{}", emotion_line(&reply));
        for (turn, segments) in &reasons {
            println!("(reasons in turn {}: {})", turn + 1, marked_text(segments));
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

fn sample_jsonl(input: &std::path::Path, sampling: &SamplingArgs) -> anyhow::Result<()> {
    let mut bytes = Vec::new();
    if input.as_os_str() == "-" {
        std::io::stdin()
            .read_to_end(&mut bytes)
            .context("cannot read stdin")?;
    } else {
        bytes = std::fs::read(input).with_context(|| format!("cannot read {}", input.display()))?;
    }
    let name = if input.as_os_str() == "-" {
        "<stdin>".to_string()
    } else {
        input.display().to_string()
    };
    // A UTF-8 byte-order mark (some editors write one) is not part of the first line.
    let text = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    let lines: Vec<&[u8]> = text.split(|b| *b == b'\n').collect();
    // (line index from 0, parsed context); blank lines are skipped but still count, so that a line's seed is
    // `--seed + line index` whatever the lines around it hold.
    let mut parsed: Vec<(usize, Result<Vec<String>, String>)> = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        let l = l.strip_suffix(b"\r").unwrap_or(l);
        if l.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        parsed.push((i, parse_line(l)));
    }
    let responder = load(sampling)?;
    let good: Vec<(usize, &[String])> = parsed
        .iter()
        .filter_map(|(i, r)| r.as_ref().ok().map(|c| (*i, c.as_slice())))
        .collect();
    let mut answers = responder
        .respond_each(&good, &sampling.sampler())?
        .into_iter();
    let mut failed = 0;
    let mut stdout = std::io::stdout().lock();
    for (i, r) in &parsed {
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
                    stdout,
                    "{}",
                    reply_json(&reply, &safety::assess_turns(context))
                )?;
            }
            Err(e) => {
                failed += 1;
                eprintln!("{name}:{line}: {e}");
                writeln!(stdout, "{}", json!({"line": line, "error": e}))?;
            }
        }
    }
    if failed > 0 {
        bail!(
            "{failed} of {} lines of {name} could not be answered (see the messages above)",
            parsed.len()
        );
    }
    Ok(())
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
