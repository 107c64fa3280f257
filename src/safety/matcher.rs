//! Matching the rules of [`super::rules`] (their pattern language is described there) against a sentence, and the
//! cues that cancel a match: negation, idiom, accident, fiction, prevention work, long-past events of someone
//! else; and whose risk a match is.

use super::normalise::{PAUSE, Sentence};
use super::rules::{RULES, Rule};
use super::{Category, Concern};

/// Words that, at most [`NEGATION_WINDOW`] words before a phrase (and not across a comma), cancel it.
const NEGATORS: &[&str] = &[
    "not",
    "never",
    "no",
    "nor",
    "don't",
    "didn't",
    "won't",
    "wouldn't",
    "can't",
    "couldn't",
    "isn't",
    "wasn't",
    "aren't",
    "shouldn't",
    "without",
    "stop",
    "stopped",
    "quit",
    "used",
];
const NEGATION_WINDOW: usize = 3;

/// Words right after a phrase that make it an idiom or an accident, not intent.
const IDIOM_ENDINGS: &[&str] = &[
    "in the foot",
    "in work",
    "in my work",
    "in homework",
    "at work",
    "over",
    "of embarrassment",
    "of shame",
    "laughing",
    "with laughter",
    "from laughing",
    "at the gym",
    "to finish",
    "to get",
    "trying to",
    "for this",
    "for that",
    "for a",
    "for the",
    "for my",
    "for nothing",
    "for work",
    "for school",
    "working",
    "studying",
    "shaving",
    "cooking",
    "by accident",
    "accidentally",
    "on accident",
    "with the knife",
    "on a knife",
    "while",
    "in the kitchen",
    "sugar",
    "caffeine",
    "coffee",
    "candy",
    "chocolate",
];

/// Words shortly before a phrase that make it an accident or an exaggeration ("i nearly killed myself on the
/// stairs").
const ACCIDENT_CUES: &[&str] = &["almost", "nearly", "accidentally"];

/// A sentence about a story, a song or a game is not the speaker's own risk.
const FICTION_CUES: &[&str] = &[
    "movie",
    "movies",
    "film",
    "book",
    "novel",
    "show",
    "series",
    "episode",
    "song",
    "lyrics",
    "character",
    "characters",
    "game",
    "story",
    "documentary",
    "poem",
    "anime",
    "manga",
    "scene",
    "plot",
    "studied",
    "squad",
];

/// Prevention, research and awareness work: cancels the bare names of the subject ("a suicide prevention
/// hotline", "a talk on self-harm awareness").
const WORK_CUES: &[&str] = &[
    "prevention",
    "awareness",
    "research",
    "paper",
    "statistics",
    "rates",
    "course",
    "training",
    "talk",
    "lecture",
    "volunteer",
    "class",
    "article",
    "study",
];

/// A long-past event of someone else is grief or history, not a risk now.
const PAST_CUES: &[&str] = &[
    "years ago",
    "when he was",
    "when she was",
    "when they were",
    "as a kid",
    "as a child",
    "as a teenager",
    "as a teen",
    "in high school",
    "in college",
    "growing up",
];

/// Words that name the speaker, and words that name someone else, for whose risk a match is.
const SELF_WORDS: &[&str] = &[
    "i", "i'm", "i've", "i'd", "i'll", "me", "my", "myself", "mine",
];
const OTHER_WORDS: &[&str] = &[
    "he",
    "she",
    "they",
    "he's",
    "she's",
    "they're",
    "him",
    "her",
    "them",
    "his",
    "their",
    "friend",
    "friends",
    "brother",
    "sister",
    "mom",
    "mum",
    "mother",
    "dad",
    "father",
    "son",
    "daughter",
    "husband",
    "wife",
    "boyfriend",
    "girlfriend",
    "partner",
    "roommate",
    "flatmate",
    "coworker",
    "colleague",
    "cousin",
    "uncle",
    "aunt",
    "kid",
    "kids",
    "child",
    "student",
    "classmate",
    "neighbor",
    "neighbour",
    "grandma",
    "grandpa",
    "grandmother",
    "grandfather",
    "nephew",
    "niece",
    "fiance",
    "fiancee",
    "bf",
    "gf",
    "someone",
    "somebody",
    "guy",
    "girl",
    "boy",
    "man",
    "woman",
    "teenager",
    "patient",
    "client",
    "bestie",
    "buddy",
    "sibling",
];

/// One rule's match in a sentence.
pub struct Hit {
    pub rule: &'static Rule,
    pub concern: Concern,
    pub text: String,
}

/// Every rule that matches `s` and is not cancelled.
pub fn hits(s: &Sentence) -> Vec<Hit> {
    let w = &s.words;
    let sentence = format!(" {} ", s.original.join(" "));
    let fiction = w.iter().any(|x| FICTION_CUES.contains(&x.as_str()));
    let work = w.iter().any(|x| WORK_CUES.contains(&x.as_str()));
    let past = PAST_CUES
        .iter()
        .any(|c| sentence.contains(&format!(" {c} ")));
    let accident = sentence.contains(" accidentally ")
        || sentence.contains(" by accident ")
        || sentence.contains(" on accident ");
    if fiction || accident {
        return Vec::new();
    }
    let mut out = Vec::new();
    for rule in RULES {
        let slots: Vec<&str> = rule.pattern.split(' ').collect();
        for start in 0..w.len() {
            let Some(end) = match_at(&slots, w, start) else {
                continue;
            };
            if negated(w, start) || idiom(w, start, end) || (rule.bare && work) {
                continue;
            }
            let concern = concern(s, start, end, rule.other);
            // someone else's farewell is somebody leaving; a long-past event of someone else is history
            let leaving = rule.category == Category::Farewell && !rule.other;
            if concern == Concern::Other && (past || leaving) {
                continue;
            }
            out.push(Hit {
                rule,
                concern,
                text: w[start..end].join(" "),
            });
            break;
        }
    }
    out
}

/// True when `slots` match the words from `at` on.
pub fn matches(slots: &[&str], w: &[String], at: usize) -> bool {
    match_at(slots, w, at).is_some()
}

/// Where a match of `slots` starting at word `at` ends, if it matches there.
fn match_at(slots: &[&str], w: &[String], at: usize) -> Option<usize> {
    let Some((slot, rest)) = slots.split_first() else {
        return Some(at);
    };
    let next = w.get(at).map(String::as_str).filter(|x| *x != PAUSE);
    if let Some(look) = slot.strip_prefix('>') {
        let ok = match next {
            None => look.split('|').any(|a| a == "$"),
            Some(x) => look.split('|').any(|a| a == x),
        };
        return if ok { match_at(rest, w, at) } else { None };
    }
    if let Some(not) = slot.strip_prefix('!') {
        let blocked = next.is_some_and(|x| not.split('|').any(|a| a == x));
        return if blocked { None } else { match_at(rest, w, at) };
    }
    if let Some(n) = slot.strip_prefix('*') {
        let n: usize = n.parse().unwrap_or(0);
        for skip in 0..=n {
            if skip > 0 && w.get(at + skip - 1).is_none_or(|x| x == PAUSE) {
                break;
            }
            if let Some(end) = match_at(rest, w, at + skip) {
                return Some(end);
            }
        }
        return None;
    }
    let (alts, optional) = match slot.strip_suffix('?') {
        Some(a) => (a, true),
        None => (*slot, false),
    };
    if let Some(x) = next
        && alts.split('|').any(|a| a == x)
        && let Some(end) = match_at(rest, w, at + 1)
    {
        return Some(end);
    }
    if optional {
        match_at(rest, w, at)
    } else {
        None
    }
}

fn negated(w: &[String], start: usize) -> bool {
    w[..start]
        .iter()
        .rev()
        .take(NEGATION_WINDOW)
        .take_while(|x| *x != PAUSE)
        .any(|x| NEGATORS.contains(&x.as_str()))
}

fn idiom(w: &[String], start: usize, end: usize) -> bool {
    let after = w[end..].join(" ");
    let before = &w[start.saturating_sub(2)..start];
    IDIOM_ENDINGS
        .iter()
        .any(|e| after == *e || after.starts_with(&format!("{e} ")))
        || before.iter().any(|x| ACCIDENT_CUES.contains(&x.as_str()))
}

/// Whose risk a match at `start..end` is: someone else's when a word of it was a third-person form or the
/// nearest person named before it is someone else; the speaker's otherwise.
fn concern(s: &Sentence, start: usize, end: usize, other: bool) -> Concern {
    if other || (start..end).any(|i| s.was_third_person(i)) {
        return Concern::Other;
    }
    if s.original[start..end]
        .iter()
        .any(|x| SELF_WORDS.contains(&x.as_str()))
    {
        return Concern::Speaker;
    }
    for x in s.original[..start].iter().rev() {
        if SELF_WORDS.contains(&x.as_str()) {
            return Concern::Speaker;
        }
        if OTHER_WORDS.contains(&x.as_str()) {
            return Concern::Other;
        }
    }
    Concern::Speaker
}
