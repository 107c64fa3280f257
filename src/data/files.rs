//! Every external data file the project reads, from folders on disk (native builds only): EmpatheticDialogues'
//! splits, EmpatheticIntents' annotations and intent-labelled replies, the Empath and VADER lexicons, and RECCON's
//! DailyDialog part. The formats are parsed by their own modules; here are the paths, defaults and errors.

use std::path::{Path, PathBuf};

use super::intents::{Annotations, Labelled, intent_of_file, parse_lines};
use super::{Conversation, DataError, parse_conversations};
use crate::reason::lexicon::Lexicon;

/// The official split names, in the order reports list them.
pub const SPLITS: [&str; 3] = ["train", "valid", "test"];

/// Where `--data` points when it is not given: the project's shared copy, when it exists.
pub const DEFAULT_DATA_DIR: &str = "../shared/data/empatheticdialogues";

/// `--data` if given, else [`DEFAULT_DATA_DIR`]; errors (with download instructions) if the folder is missing.
pub fn resolve_data_dir(dir: Option<&Path>) -> Result<PathBuf, DataError> {
    let dir = dir
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
    if !dir.is_dir() && !is_conversations_file(&dir) {
        return Err(DataError::MissingFolder(dir.display().to_string()));
    }
    Ok(dir)
}

/// `--skip-bad`: when set, a conversations file's bad lines are skipped and counted (on stderr) instead of ending
/// the command. Process-wide, like the CLI flag that sets it.
static SKIP_BAD: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Sets the `--skip-bad` policy for every conversations file read afterwards.
pub fn set_skip_bad(on: bool) {
    SKIP_BAD.store(on, std::sync::atomic::Ordering::Relaxed);
}

/// True when `path` is a conversations file (`.jsonl`) rather than a folder of ED's CSV files.
pub fn is_conversations_file(path: &Path) -> bool {
    path.is_file() && path.extension().is_some_and(|e| e == "jsonl")
}

/// Reads and parses `DIR/<split>.csv`; or, in a folder of conversations files named by split (`DIR/<split>.jsonl`,
/// no CSV beside it), every conversation of that file; or the conversations of `split` from one conversations file
/// (a line without a `split` counts as train).
pub fn load_split(dir: &Path, split: &str) -> Result<Vec<Conversation>, DataError> {
    if is_conversations_file(dir) {
        return read_conversations_file(dir, Some(split));
    }
    let path = dir.join(format!("{split}.csv"));
    let by_name = dir.join(format!("{split}.jsonl"));
    if !path.exists() && by_name.is_file() {
        return read_conversations_file(&by_name, None);
    }
    if !path.exists()
        && SPLITS
            .iter()
            .any(|s| dir.join(format!("{s}.jsonl")).is_file())
    {
        return Err(DataError::NoSuchSplit {
            file: by_name.display().to_string(),
            split: split.to_string(),
        });
    }
    let bytes = std::fs::read(&path).map_err(|e| DataError::Io {
        path: path.display().to_string(),
        message: format!(
            "{e} (expected the official EmpatheticDialogues file {split}.csv, or a conversations file \
             {split}.jsonl, in {})",
            dir.display()
        ),
    })?;
    parse_conversations(&path.display().to_string(), &bytes)
}

/// The conversations of `split` in the conversations file `path` (all of them when `None`), with `--skip-bad`'s
/// report; none is an error.
fn read_conversations_file(
    path: &Path,
    split: Option<&str>,
) -> Result<Vec<Conversation>, DataError> {
    let name = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|e| DataError::Io {
        path: name.clone(),
        message: e.to_string(),
    })?;
    let skip_bad = SKIP_BAD.load(std::sync::atomic::Ordering::Relaxed);
    let read = super::conversations::read_conversations_skipping(
        std::io::BufReader::new(file),
        &name,
        split,
        skip_bad,
    )?;
    let part = split.map_or(String::new(), |s| {
        format!(" while reading its {s} conversations")
    });
    if let Some(first) = read.skipped.first() {
        eprintln!(
            "--skip-bad: left out {} bad line(s) of {name}{part}; the first: {first}",
            read.skipped.len()
        );
    }
    if read.conversations.is_empty() {
        return Err(match split {
            Some(split) => DataError::NoSuchSplit {
                file: name,
                split: split.to_string(),
            },
            None => DataError::EmptySplit { file: name },
        });
    }
    Ok(read.conversations)
}

/// Counts reported by `reflectdiffu data stats`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct SplitStats {
    pub conversations: usize,
    pub samples: usize,
    /// Distinct emotion labels.
    pub emotions: usize,
    /// Conversations without an emotion label.
    pub unlabelled: usize,
}

pub fn split_stats(conversations: &[Conversation]) -> SplitStats {
    let known = |c: &&Conversation| c.emotion < super::EMOTIONS.len();
    let emotions: std::collections::HashSet<usize> = conversations
        .iter()
        .filter(known)
        .map(|c| c.emotion)
        .collect();
    SplitStats {
        conversations: conversations.len(),
        samples: super::samples(conversations, usize::MAX).len(),
        emotions: emotions.len(),
        unlabelled: conversations.len() - conversations.iter().filter(known).count(),
    }
}

/// Where the Empath and VADER lexicons are read from when `--lexicons` is not given.
pub const DEFAULT_LEXICON_DIR: &str = "../shared/data/lexicons";

fn read_text(path: &Path, hint: &str) -> Result<String, DataError> {
    std::fs::read_to_string(path).map_err(|e| DataError::Io {
        path: path.display().to_string(),
        message: format!("{e}{hint}"),
    })
}

/// The Empath and VADER lexicons from `dir` (default [`DEFAULT_LEXICON_DIR`]).
pub fn read_lexicon(dir: Option<&Path>) -> Result<Lexicon, DataError> {
    let dir = dir.map_or_else(|| PathBuf::from(DEFAULT_LEXICON_DIR), Path::to_path_buf);
    let hint = " (pass --lexicons DIR holding vader/vader_lexicon.txt and empath/categories.tsv)";
    Ok(Lexicon::parse(
        &read_text(&dir.join("vader/vader_lexicon.txt"), hint)?,
        &read_text(&dir.join("empath/categories.tsv"), hint)?,
    ))
}

/// The `.csv` files of a folder, sorted; an error naming `what` the folder should hold when it cannot be read or
/// holds none.
fn files_of(dir: &Path, ext: &str, what: &str) -> Result<Vec<PathBuf>, DataError> {
    let entries = std::fs::read_dir(dir).map_err(|e| DataError::Io {
        path: dir.display().to_string(),
        message: format!("{e} (expected {what})"),
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    files.sort();
    Ok(files)
}

/// EmpatheticIntents' `empatheticdialogues_annotated/` folder: every `<emotion>.csv` in it.
pub fn read_annotations(dir: &Path) -> Result<Annotations, DataError> {
    let what = "EmpatheticIntents' empatheticdialogues_annotated/ folder";
    let files = files_of(dir, "csv", what)?;
    if files.is_empty() {
        return Err(DataError::Format {
            path: dir.display().to_string(),
            message: format!("holds no <emotion>.csv files (expected {what})"),
        });
    }
    let mut ann = Annotations::default();
    for f in &files {
        ann.add_csv(&read_text(f, "")?)
            .map_err(|message| DataError::Format {
                path: f.display().to_string(),
                message: message.to_string(),
            })?;
    }
    Ok(ann)
}

/// Every `<intent>.txt` of a folder that names one of the 9 intents (other files are skipped): EmpatheticIntents'
/// lexically extended replies of one split, or its manual annotations.
pub fn read_intent_folder(dir: &Path) -> Result<Vec<Labelled>, DataError> {
    let what = "EmpatheticIntents' lexically_extended_intent_data/<split>/ or manual_annotations/; pass --data DIR \
                holding both";
    let mut out = Vec::new();
    for f in files_of(dir, "txt", what)? {
        let stem = f.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
        if let Some(intent) = intent_of_file(stem) {
            out.extend(parse_lines(&read_text(&f, "")?, intent));
        }
    }
    if out.is_empty() {
        return Err(DataError::Format {
            path: dir.display().to_string(),
            message: "holds no intent files (agreeing.txt, questioning.txt, …)".into(),
        });
    }
    Ok(out)
}

/// RECCON's `dailydialog_<split>.json` in `dir`, as tagged turns in the tokenizer's words.
pub fn read_reccon(
    dir: &Path,
    split: &str,
    tokenizer: &crate::tokenizer::TextTokenizer,
) -> Result<Vec<crate::reason::reccon::Example>, DataError> {
    let path = dir.join(format!("dailydialog_{split}.json"));
    let hint = " (pass --reccon DIR holding RECCON's dailydialog_{train,valid,test}.json)";
    let text = read_text(&path, hint)?;
    crate::reason::reccon::reccon_examples(&text, tokenizer).map_err(|message| DataError::Format {
        path: path.display().to_string(),
        message: message.to_string(),
    })
}
