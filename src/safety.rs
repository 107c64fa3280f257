//! The crisis rule: does a message express intent or risk of suicide or self-harm? When it does, every front end
//! (`sample`, `sample --json`, `chat`, the web page) answers with [`CRISIS_NOTE`], a fixed text, instead of a
//! generated reply: a small diffusion model cannot be trusted to answer such a message well, and "that's great!"
//! in reply to it would do harm.
//!
//! The rule is a reviewed phrase list over normalised words, not a classifier:
//! * phrases are self-directed ("kill myself", "end my life", "i want to die", "thinking about suicide"), so
//!   idioms aimed elsewhere ("i could kill for a pizza", "this exam is killing me", "to die for") never match;
//! * a negation just before a phrase ("i would never kill myself", "i'm not suicidal") cancels it, unless the
//!   phrase carries its own negation ("i don't want to live");
//! * idiomatic endings cancel a match ("i wanted to die of embarrassment", "killing myself laughing");
//! * suicide of somebody else ("my uncle committed suicide") is grief, not risk, and does not match.
//!
//! It errs towards triggering on first-person statements: a wrong note costs a reader a sentence, a missed one
//! can cost more. Tested on 40+ phrasings each way in `tests/safety.rs`; its rate on ED is in README.

/// What every front end shows instead of a generated reply when [`assess`] finds a crisis. General wording, no
/// country-specific numbers.
pub const CRISIS_NOTE: &str = "It sounds like you may be thinking about ending your life or hurting yourself. \
You deserve support from a real person right now. If you are in immediate danger, call your local emergency \
number (for example 112 in the EU, 911 in the US and Canada, 999 in the UK). You can also reach a suicide or \
crisis helpline in your country (findahelpline.com lists them), or tell someone you trust how you feel. \
This is an automatic message: the model's reply is withheld for this message.";

/// The outcome of the crisis rule for one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assessment {
    /// The phrase that matched, as normalised words; `None` when the message shows no risk.
    pub matched: Option<String>,
}

impl Assessment {
    pub fn is_crisis(&self) -> bool {
        self.matched.is_some()
    }
}

/// Phrases, each a sequence of word slots; `a|b` lists alternatives for one slot, and a last slot `!a|b` says
/// the phrase must not be followed by one of those words ("i don't want to live" but not "… live with my
/// parents"). Contractions and common spellings are normalised first (`dont` → `don't`, `wanna` → `want to`,
/// `im` → `i'm`).
const PHRASES: &[&str] = &[
    // suicide, in the first person
    "kill myself",
    "killing myself",
    "end my life",
    "end my own life",
    "ending my life",
    "take my life",
    "take my own life",
    "taking my own life",
    "end it all",
    "ending it all",
    "i'm suicidal",
    "i am suicidal",
    "i feel suicidal",
    "i felt suicidal",
    "feeling suicidal",
    "been suicidal",
    "suicidal thoughts",
    "suicidal feelings",
    "thoughts of suicide",
    "thinking|thought|think about|of suicide",
    "considering|contemplating suicide",
    "i want|wanted|need|plan|planned|tried|try to commit suicide",
    "i'm going|planning|trying to commit suicide",
    "i'll|i will|i might commit suicide",
    "i attempted suicide",
    "my suicide note",
    "i want|wanted|need to die",
    "i just|really|kind|sort|almost want|wanted to die",
    "i'm ready to die",
    "make|makes me want to die",
    "i wish i was|were dead",
    "i wish i wasn't|weren't alive",
    "i wish i had never been born",
    "i wish i'd never been born",
    "better off dead",
    "better off without me",
    "i don't want to live|exist !with|in|near|at|there|here|alone|together|like|on|under|next|close",
    "i don't want to be alive",
    "i don't want to be here anymore",
    "i don't want to wake up",
    "no reason to live",
    "nothing to live for",
    "not worth living",
    "can't go on living",
    "not sure i want to live",
    "hang|shoot|drown myself",
    "overdose on",
    "slit my wrists",
    "jump off a bridge|building|roof|cliff",
    "throw myself off",
    "throw myself in front",
    // self-harm: the direct names, and the actions only with a sign of intent or habit (an accident is not)
    "self harm",
    "self-harm",
    "self harming",
    "self-harming",
    "want|wanted|going|tempted|urge|urges|need to hurt|harm|cut|burn|punish myself",
    "about|of hurting|harming|cutting|burning myself",
    "been|keep|kept|started|start hurting|harming|cutting|burning myself",
    "hurt|harm|cut|burn myself on purpose",
];

/// Words before a phrase that cancel it when they stand at most [`NEGATION_WINDOW`] words before it.
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
    "for",
    "of embarrassment",
    "of shame",
    "laughing",
    "with laughter",
    "from laughing",
    "at the gym",
    "to finish",
    "to get",
    "trying to",
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

/// Words before a phrase that make it an accident or an exaggeration ("i nearly killed myself on the stairs").
const ACCIDENT_CUES: &[&str] = &["almost", "nearly", "accidentally"];

/// Applies the crisis rule to one message.
pub fn assess(message: &str) -> Assessment {
    let words = normalise(message);
    for sentence in words.split(|w| w == ".") {
        if let Some(m) = first_match(sentence) {
            return Assessment { matched: Some(m) };
        }
    }
    Assessment { matched: None }
}

/// Applies the rule to the speaker's turns of a conversation (the user's own words; the listener's turns are
/// the model's or a reference's).
pub fn assess_turns(turns: &[String]) -> Assessment {
    // The last turn is the speaker's; speaker turns alternate backwards from it.
    for turn in turns.iter().rev().step_by(2) {
        let a = assess(turn);
        if a.is_crisis() {
            return a;
        }
    }
    Assessment { matched: None }
}

fn first_match(sentence: &[String]) -> Option<String> {
    for phrase in PHRASES {
        let mut slots: Vec<Vec<&str>> = phrase.split(' ').map(|s| s.split('|').collect()).collect();
        let not_followed_by = match slots.last() {
            Some(last) if last[0].starts_with('!') => {
                let mut last = slots.pop().unwrap_or_default();
                last[0] = &last[0][1..];
                last
            }
            _ => Vec::new(),
        };
        for start in 0..sentence.len() {
            let end = start + slots.len();
            if end > sentence.len() {
                break;
            }
            let hit = slots
                .iter()
                .zip(&sentence[start..end])
                .all(|(alts, w)| alts.contains(&w.as_str()));
            let blocked = sentence
                .get(end)
                .is_some_and(|w| not_followed_by.contains(&w.as_str()));
            if hit && !blocked && !negated(sentence, start) && !idiom(sentence, start, end) {
                return Some(sentence[start..end].join(" "));
            }
        }
    }
    None
}

fn negated(sentence: &[String], start: usize) -> bool {
    let from = start.saturating_sub(NEGATION_WINDOW);
    sentence[from..start]
        .iter()
        .any(|w| NEGATORS.contains(&w.as_str()))
}

fn idiom(sentence: &[String], start: usize, end: usize) -> bool {
    let after = sentence[end..].join(" ");
    let before = &sentence[start.saturating_sub(2)..start];
    IDIOM_ENDINGS
        .iter()
        .any(|e| after == *e || after.starts_with(&format!("{e} ")))
        || before.iter().any(|w| ACCIDENT_CUES.contains(&w.as_str()))
}

/// Lower-cases, splits into words (apostrophes kept inside words, hyphens kept between letters), turns sentence
/// ends into a "." word and spells out common contractions the same way every time.
fn normalise(text: &str) -> Vec<String> {
    let text = text
        .to_lowercase()
        .replace(['\u{2019}', '\u{2018}', '`'], "'");
    let mut words: Vec<String> = Vec::new();
    let mut cur = String::new();
    let flush = |cur: &mut String, words: &mut Vec<String>| {
        let w = cur.trim_matches(|c| c == '\'' || c == '-').to_string();
        cur.clear();
        if !w.is_empty() {
            words.extend(expand(&w).split(' ').map(String::from));
        }
    };
    for c in text.chars() {
        if c.is_alphanumeric() || c == '\'' || c == '-' {
            cur.push(c);
        } else {
            flush(&mut cur, &mut words);
            if matches!(c, '.' | '!' | '?' | ';' | '\n') {
                words.push(".".into());
            }
        }
    }
    flush(&mut cur, &mut words);
    words
}

fn expand(w: &str) -> &str {
    match w {
        "im" => "i'm",
        "ive" => "i've",
        "id" => "i'd",
        "dont" => "don't",
        "didnt" => "didn't",
        "cant" => "can't",
        "cannot" => "can't",
        "wont" => "won't",
        "wouldnt" => "wouldn't",
        "couldnt" => "couldn't",
        "isnt" => "isn't",
        "wasnt" => "wasn't",
        "arent" => "aren't",
        "werent" => "weren't",
        "wanna" => "want to",
        "gonna" => "going to",
        "selfharm" => "self-harm",
        "kms" => "kill myself",
        _ => w,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisation_spells_contractions_out_and_marks_sentence_ends() {
        assert_eq!(
            normalise("I dont wanna live. OK?"),
            ["i", "don't", "want", "to", "live", ".", "ok", "."]
        );
        assert_eq!(normalise("I’m self-harming"), ["i'm", "self-harming"]);
    }
}
