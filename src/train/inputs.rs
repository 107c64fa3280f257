//! What a run reads besides the data: the lexicons and the reason tagger.

use std::path::{Path, PathBuf};

use super::{DEFAULT_LEXICON_DIR, ReasonTags};
use crate::reason::ReasonTagger;
use crate::train::{Reading, Result, TrainError, fail};

/// The Empath and VADER lexicons from `dir` (default [`DEFAULT_LEXICON_DIR`]).
pub fn read_lexicon(dir: Option<&Path>) -> Result<crate::reason::era::Lexicon> {
    let dir = dir
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_LEXICON_DIR));
    let read = |p: PathBuf| {
        std::fs::read_to_string(&p).reading(|| {
            format!("cannot read lexicon {} (pass --lexicons DIR holding vader/vader_lexicon.txt and empath/categories.tsv)", p.display())
        })
    };
    Ok(crate::reason::era::Lexicon::parse(
        &read(dir.join("vader/vader_lexicon.txt"))?,
        &read(dir.join("empath/categories.tsv"))?,
    ))
}

/// The run's reason tagger (`train.reason_tags`).
pub(super) fn reason_tagger(tags: &ReasonTags, lexicons: Option<&Path>) -> Result<ReasonTagger> {
    Ok(match tags {
        ReasonTags::Lexicon => ReasonTagger::from_lexicon(&read_lexicon(lexicons)?),
        ReasonTags::None => ReasonTagger::default(),
        ReasonTags::Era(path) => {
            let bytes = std::fs::read(path).reading(|| {
                format!(
                    "cannot read the ERA tagger {} named in train.reason_tags (write one with `reflectdiffu era train --no-lexicon --out FILE`)",
                    path.display()
                )
            })?;
            let model = crate::reason::era::EraModel::from_bytes(&bytes)
                .map_err(|e| TrainError::file(path, e))?;
            ReasonTagger::from_era(model).map_err(|e| TrainError::file(path, e))?
        }
    })
}

/// EmpatheticIntents' `empatheticdialogues_annotated/` folder: every `<emotion>.csv` in it.
pub fn read_annotations(dir: &Path) -> Result<crate::intent::labels::Annotations> {
    let mut ann = crate::intent::labels::Annotations::default();
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .reading(|| {
            format!(
                "cannot read intent annotations {} (EmpatheticIntents' empatheticdialogues_annotated/ folder)",
                dir.display()
            )
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "csv"))
        .collect();
    files.sort();
    if files.is_empty() {
        fail!(
            "{} holds no <emotion>.csv files (expected EmpatheticIntents' empatheticdialogues_annotated/)",
            dir.display()
        );
    }
    for f in &files {
        let text = std::fs::read_to_string(f).reading(|| format!("cannot read {}", f.display()))?;
        ann.add_csv(&text).map_err(|e| TrainError::file(f, e))?;
    }
    Ok(ann)
}

/// An intent judge file (`reflectdiffu intent train`).
pub fn read_judge(path: &Path) -> Result<crate::intent::judge::IntentJudge> {
    let bytes = std::fs::read(path).reading(|| {
        format!(
            "cannot read the intent judge {} (write one with `reflectdiffu intent train --out FILE`)",
            path.display()
        )
    })?;
    crate::intent::judge::IntentJudge::from_bytes(&bytes).map_err(|e| TrainError::file(path, e))
}

/// Sets the intent of every sample of each (name, samples, conversations) split from the annotations in
/// `labels` (and, where a turn is annotated with an emotion, from `judge`), and says how many came from where.
pub fn label_intents(
    labels: &Path,
    judge: Option<&crate::intent::judge::IntentJudge>,
    splits: &mut [(
        &str,
        &mut Vec<crate::data::Sample>,
        &[crate::data::Conversation],
    )],
) -> Result<()> {
    let ann = read_annotations(labels)?;
    for (name, set, convs) in splits.iter_mut() {
        let c = crate::intent::labels::label_samples(set, convs, &ann, judge);
        eprintln!(
            "{name} intents: {} annotated, {} from the judge, {} unknown",
            c.annotated, c.judged, c.unlabelled
        );
    }
    Ok(())
}
