//! The crisis rule: does a conversation show a risk of suicide or self-harm, the speaker's or someone else's?
//! Every front end (`sample`, `sample --json`, `sample --input`, `chat`, the web page) asks [`assess_turns`]
//! and shows what [`Assessment`] says: a small diffusion model cannot be trusted to answer such a message
//! well, and "that's great!" in reply to it would do harm.
//!
//! Two tiers, never a generated reply alone when either fires:
//! * **clear** — a stated wish to die, intent, a plan or means, self-harm, a farewell, strong hopelessness
//!   ("no point in living", "better off without me"), or any of these about someone else: the reply is
//!   withheld and a fixed note shown instead ([`CRISIS_NOTE`], or [`OTHER_NOTE`] on how to help a friend);
//! * **possible** — softer signs ("no way out", "i'm a burden", "thinking about death"): the reply is shown
//!   with [`POSSIBLE_NOTE`] after it.
//!
//! The rule is reviewed phrase patterns ([`rules`], matched by [`matcher`]) over normalised words ([`normalise`]),
//! not a classifier.
//! It reads every speaker turn of the conversation, and a risk once seen stays until the speaker says they are
//! safe ([`reassures`]), so "yes, tonight" after "i want to kill myself" still gets the note. Its categories
//! follow the Columbia Suicide Severity Rating Scale (wish to be dead, thoughts, intent, plan), the warning
//! signs of the 988 Suicide & Crisis Lifeline and the WHO (talking about wanting to die, looking for means,
//! hopelessness, being a burden, saying goodbye, giving possessions away), NICE's definition of self-harm, and
//! #chatsafe's guidance for helping a friend. Its evaluation set is [`EVAL_SET`]; recall and false alarms are
//! in README ("The crisis rule").

mod matcher;
mod normalise;
mod rules;

use serde::Serialize;

/// The note shown instead of a generated reply when the speaker is at clear risk. General wording, no
/// country-specific numbers beyond the common emergency ones.
pub const CRISIS_NOTE: &str = "It sounds like you may be thinking about ending your life or hurting yourself. \
You deserve support from a real person right now. If you are in immediate danger, call your local emergency \
number (for example 112 in the EU, 911 in the US and Canada, 999 in the UK). You can also reach a suicide or \
crisis helpline in your country (findahelpline.com lists them), or tell someone you trust how you feel. \
This is an automatic message: the model's reply is withheld for this message.";

/// The note shown instead of a generated reply when the speaker says someone else is at risk.
pub const OTHER_NOTE: &str = "It sounds like someone you care about may be thinking about suicide or hurting \
themselves. If they are in immediate danger, call your local emergency number (for example 112 in the EU, 911 \
in the US and Canada, 999 in the UK) and, if it is safe, stay with them. Ask them directly how they are and \
listen without judging; encourage them to contact a crisis line (findahelpline.com lists them) and offer to \
help them reach out. Look after yourself too: you can call a helpline for your own support. This is an \
automatic message: the model's reply is withheld for this message.";

/// The note shown after a generated reply when the conversation shows possible risk.
pub const POSSIBLE_NOTE: &str = "If you are having thoughts of ending your life or hurting yourself, you do \
not have to face them alone: a crisis helpline (findahelpline.com lists them) or someone you trust can help. \
If you are in immediate danger, call your local emergency number. (An automatic note, shown with the reply.)";

/// How strongly a message shows risk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    None,
    /// The reply is shown, followed by [`POSSIBLE_NOTE`].
    Possible,
    /// The reply is withheld; a note is shown instead.
    Clear,
}

/// Whose risk it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Concern {
    Speaker,
    Other,
}

/// The warning-sign category of a match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    WishToDie,
    Intent,
    PlanOrMeans,
    SelfHarm,
    Farewell,
    Hopelessness,
}

/// The outcome of the crisis rule for a message or a conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assessment {
    pub tier: Tier,
    pub concern: Concern,
    pub category: Option<Category>,
    /// The words that matched, normalised; `None` when nothing did.
    pub matched: Option<String>,
    /// True when the risk was seen in an earlier speaker turn and nothing since said the speaker is safe.
    pub carried: bool,
}

impl Assessment {
    pub const NONE: Assessment = Assessment {
        tier: Tier::None,
        concern: Concern::Speaker,
        category: None,
        matched: None,
        carried: false,
    };

    /// True when the generated reply must be withheld.
    pub fn is_crisis(&self) -> bool {
        self.tier == Tier::Clear
    }

    /// The note to show: instead of the reply for [`Tier::Clear`], after it for [`Tier::Possible`].
    pub fn note(&self) -> Option<&'static str> {
        match (self.tier, self.concern) {
            (Tier::None, _) => None,
            (Tier::Clear, Concern::Other) => Some(OTHER_NOTE),
            (Tier::Clear, Concern::Speaker) => Some(CRISIS_NOTE),
            (Tier::Possible, _) => Some(POSSIBLE_NOTE),
        }
    }

    /// What a user is shown for a generated `reply`: the reply, the note instead of it, or both.
    pub fn shown(&self, reply: &str) -> String {
        match (self.tier, self.note()) {
            (Tier::Clear, Some(note)) => note.to_string(),
            (Tier::Possible, Some(note)) => format!("{reply}\n\n{note}"),
            _ => reply.to_string(),
        }
    }

    /// The order in which two assessments matter: the tier, then the speaker's own risk before someone else's.
    fn rank(&self) -> (Tier, bool) {
        (self.tier, self.concern == Concern::Speaker)
    }
}

/// Applies the crisis rule to one message.
pub fn assess(message: &str) -> Assessment {
    let mut best = Assessment::NONE;
    for sentence in normalise::sentences(message) {
        for hit in matcher::hits(&sentence) {
            let a = Assessment {
                tier: hit.rule.tier,
                concern: hit.concern,
                category: Some(hit.rule.category),
                matched: Some(hit.text),
                carried: false,
            };
            if a.rank() > best.rank() {
                best = a;
            }
        }
    }
    // Someone else's risk always withholds the reply: the note on how to help is what the user needs.
    if best.concern == Concern::Other && best.tier == Tier::Possible {
        best.tier = Tier::Clear;
    }
    best
}

/// Applies the rule to a conversation (oldest turn first, the last turn the speaker's, so the speaker's turns
/// are the last one and every second one before it; the listener's turns are the model's or a reference's).
/// A risk seen in any speaker turn carries to the following ones until one of them [`reassures`].
pub fn assess_turns(turns: &[String]) -> Assessment {
    let n = turns.len();
    let mut state = Assessment::NONE;
    for turn in turns
        .iter()
        .enumerate()
        .filter(|(i, _)| (n - 1 - i).is_multiple_of(2))
        .map(|(_, t)| t)
    {
        let now = assess(turn);
        if now.tier != Tier::None {
            if now.rank() >= state.rank() {
                state = now;
            } else {
                state.carried = true;
            }
        } else if state.tier != Tier::None && reassures(turn) {
            state = Assessment::NONE;
        } else {
            state.carried = state.tier != Tier::None;
        }
    }
    state
}

/// True when a message says the speaker is safe ("i'm safe now", "i won't hurt myself", "i called the
/// helpline"), which ends a risk carried from earlier turns. "Just kidding" does not: safe-messaging guidance
/// says to take such a statement seriously anyway.
pub fn reassures(message: &str) -> bool {
    const SAFE: &[&str] = &[
        "i'm|i am|feel|feeling? safe|safer",
        "i'm|i am|feel|feeling? okay|ok|fine|alright|better now",
        "i'm|i am|feel|feeling? better",
        "won't|not|never|wouldn't going? to? do|hurt|kill|harm it|anything|myself",
        "i'm|am not suicidal",
        "don't want to die|hurt|kill",
        "talked|spoke|called|texted|reached|told *3 helpline|hotline|lifeline|therapist|counselor|counsellor|doctor|crisis",
    ];
    normalise::sentences(message).iter().any(|s| {
        SAFE.iter().any(|p| {
            let slots: Vec<&str> = p.split(' ').collect();
            (0..s.words.len()).any(|i| matcher::matches(&slots, &s.words, i))
        })
    })
}

/// The crisis rule's evaluation set: messages that must get a note (`"expect": "risk"` for the speaker's own
/// risk, `"other"` for someone else's) and near misses that must not (`"none"`), each with its category and a
/// `dev`/`test` split (the rule was tuned on `dev` only). JSON Lines.
pub const EVAL_SET: &str = include_str!("crisis_eval.jsonl");

/// One message of an evaluation set.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct EvalItem {
    pub text: String,
    pub expect: String,
    pub category: String,
    #[serde(default)]
    pub split: String,
}

/// Parses an evaluation set in [`EVAL_SET`]'s format.
pub fn parse_eval_set(jsonl: &str) -> Result<Vec<EvalItem>, EvalSetError> {
    jsonl
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            let item: EvalItem = serde_json::from_str(l).map_err(|e| EvalSetError {
                line: i + 1,
                message: e.to_string(),
            })?;
            if !matches!(item.expect.as_str(), "risk" | "other" | "none") {
                return Err(EvalSetError {
                    line: i + 1,
                    message: format!("expect must be risk, other or none, got {:?}", item.expect),
                });
            }
            Ok(item)
        })
        .collect()
}

#[derive(Debug, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct EvalSetError {
    pub line: usize,
    pub message: String,
}

/// Counts for one group of an evaluation set.
#[derive(Debug, Clone, Default, Serialize)]
pub struct EvalCounts {
    pub messages: usize,
    /// Messages that got a note (either tier).
    pub noted: usize,
    /// Messages whose reply was withheld (clear tier).
    pub withheld: usize,
    /// Risk messages whose note was the right one (the speaker's or someone else's).
    pub right_note: usize,
}

/// Recall and false alarms of the rule on an evaluation set, by split and category.
#[derive(Debug, Clone, Default, Serialize)]
pub struct EvalReport {
    /// key: "risk" / "other" / "none" (all splits), then "<split>/<expect>", then "<expect>/<category>".
    pub groups: std::collections::BTreeMap<String, EvalCounts>,
    /// Risk messages that got no note, and near misses that got one, with what matched.
    pub misses: Vec<(String, String)>,
    pub false_alarms: Vec<(String, String)>,
}

/// Runs the rule over `items`.
pub fn evaluate(items: &[EvalItem]) -> EvalReport {
    let mut report = EvalReport::default();
    for item in items {
        let a = assess(&item.text);
        let want = match item.expect.as_str() {
            "risk" => Some(Concern::Speaker),
            "other" => Some(Concern::Other),
            _ => None,
        };
        for key in [
            item.expect.clone(),
            format!("{}/{}", item.split, item.expect),
            format!("{}/{}", item.expect, item.category),
        ] {
            let c = report.groups.entry(key).or_default();
            c.messages += 1;
            c.noted += usize::from(a.tier != Tier::None);
            c.withheld += usize::from(a.tier == Tier::Clear);
            c.right_note += usize::from(a.tier != Tier::None && Some(a.concern) == want);
        }
        match (want, a.tier) {
            (Some(_), Tier::None) => report
                .misses
                .push((item.text.clone(), item.category.clone())),
            (None, t) if t != Tier::None => report
                .false_alarms
                .push((item.text.clone(), a.matched.clone().unwrap_or_default())),
            _ => {}
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_evaluation_set_parses_and_is_as_large_as_documented() {
        let items = parse_eval_set(EVAL_SET).expect("the set parses");
        let count = |e: &str| items.iter().filter(|i| i.expect == e).count();
        assert!(count("risk") + count("other") >= 150);
        assert!(count("none") >= 100);
    }

    #[test]
    fn a_bad_line_of_an_evaluation_set_is_named() {
        let e = parse_eval_set("{\"text\":\"a\",\"expect\":\"none\",\"category\":\"x\"}\n{oops}\n")
            .expect_err("line 2 is not JSON");
        assert_eq!(e.line, 2);
        let e = parse_eval_set("{\"text\":\"a\",\"expect\":\"maybe\",\"category\":\"x\"}")
            .expect_err("an unknown expectation");
        assert!(e.to_string().contains("risk, other or none"), "{e}");
    }
}
