//! What a run reads besides the data: the lexicons and the reason tagger.

use std::path::Path;

use super::ReasonTags;
use crate::data::files::{read_annotations, read_lexicon};
use crate::reason::ReasonTagger;
use crate::train::{Reading, Result, TrainError};

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
