//! Reading a conversations file: line by line, each line bounded, bad lines an error or (with `--skip-bad`)
//! counted.

use super::ConversationLine;
use crate::data::{Conversation, DataError};

/// The longest line a conversations file may have (a conversation of many long turns is a few KB; ED's longest is
/// under 4 KB). Longer lines are refused without being held in memory.
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// The next line of `reader` without its `\n` into `line` (cleared first); `Ok(false)` at the end. A line over
/// `max` bytes is read past, not kept, and reported as `Err(Some(its length so far))`.
fn next_line(
    reader: &mut impl std::io::BufRead,
    line: &mut Vec<u8>,
    max: usize,
) -> std::io::Result<Result<bool, usize>> {
    line.clear();
    let (mut seen, mut any) = (0usize, false);
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Ok(if seen > max { Err(seen) } else { Ok(any) });
        }
        any = true;
        let (chunk, done) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (&buf[..i], i + 1),
            None => (buf, buf.len()),
        };
        seen += chunk.len();
        if seen <= max {
            line.extend_from_slice(chunk);
        }
        let ended = done > chunk.len();
        reader.consume(done);
        if ended {
            return Ok(if seen > max { Err(seen) } else { Ok(true) });
        }
    }
}

/// Reads a conversations file line by line (memory grows with the conversations kept, not with the file): those
/// of `split` (all when `None`; a line without a `split` is train's); an unparsable or invalid line, or one over
/// [`MAX_LINE_BYTES`], is an error naming the file and line.
pub fn read_conversations(
    reader: impl std::io::BufRead,
    name: &str,
    split: Option<&str>,
) -> Result<Vec<Conversation>, DataError> {
    let read = read_conversations_skipping(reader, name, split, false)?;
    Ok(read.conversations)
}

/// What [`read_conversations_skipping`] kept and what it left out.
#[derive(Debug)]
pub struct Read {
    pub conversations: Vec<Conversation>,
    /// The bad lines skipped, each as the error it would have been (in file order).
    pub skipped: Vec<DataError>,
}

/// [`read_conversations`]; with `skip_bad`, a bad line (of any split) is left out and listed instead of ending the
/// read. An I/O error ends it either way.
pub fn read_conversations_skipping(
    mut reader: impl std::io::BufRead,
    name: &str,
    split: Option<&str>,
    skip_bad: bool,
) -> Result<Read, DataError> {
    let mut out = Vec::new();
    let mut skipped = Vec::new();
    let err = |line: usize, message: String| DataError::Parse {
        file: name.to_string(),
        line,
        message,
    };
    let mut buf = Vec::new();
    for n in 0.. {
        let line_no = n + 1;
        let read = next_line(&mut reader, &mut buf, MAX_LINE_BYTES).map_err(|e| DataError::Io {
            path: name.to_string(),
            message: e.to_string(),
        })?;
        match read {
            Ok(true) => {}
            Ok(false) => break,
            Err(len) => {
                let e = err(
                    line_no,
                    format!(
                        "the line is {len} bytes long; a conversation may take at most {MAX_LINE_BYTES} (split it into shorter conversations)"
                    ),
                );
                if skip_bad {
                    skipped.push(e);
                    continue;
                }
                return Err(e);
            }
        }
        let mut raw = buf.as_slice();
        if n == 0 {
            raw = raw.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(raw);
        }
        let parsed = parse_line(raw, split).map_err(|m| err(line_no, m));
        match parsed {
            Ok(Some(line)) => match line.into_conversation(line_no) {
                Ok(c) => out.push(c),
                Err(m) if skip_bad => skipped.push(err(line_no, m)),
                Err(m) => return Err(err(line_no, m)),
            },
            Ok(None) => {}
            Err(e) if skip_bad => skipped.push(e),
            Err(e) => return Err(e),
        }
    }
    Ok(Read {
        conversations: out,
        skipped,
    })
}

/// One line's conversation when it belongs to `split` (`None`: a blank line or another split's), or what is wrong.
fn parse_line(raw: &[u8], split: Option<&str>) -> Result<Option<ConversationLine>, String> {
    let text = std::str::from_utf8(raw)
        .map_err(|e| format!("invalid UTF-8 at byte {} of the line", e.valid_up_to()))?;
    if text.trim().is_empty() {
        return Ok(None);
    }
    let line: ConversationLine =
        serde_json::from_str(text).map_err(|e| format!("not a conversation: {e}"))?;
    if split.is_some_and(|s| line.split.as_deref().unwrap_or("train") != s) {
        return Ok(None);
    }
    Ok(Some(line))
}
