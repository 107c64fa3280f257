//! Text → sentences of words, as the crisis rules read them. Undoes what hides a phrase from a word list:
//! compatibility forms (NFKC: full-width letters, ligatures), invisible characters (soft hyphens, zero-width
//! spaces and joiners), line breaks and runs of spaces, letters spelled apart ("k i l l"), split reflexives
//! ("my self"), and common spellings, slang and typos ("dont", "wanna", "kms", "unalive", "sewer slide").

use unicode_normalization_alignments::UnicodeNormalization;

/// One sentence: the words as the rules read them and, word for word, what they were before third-person
/// forms were turned into first-person ones (`she wants to kill herself` is read as `i want to kill myself`,
/// and the original words say whose risk it is).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sentence {
    pub words: Vec<String>,
    pub original: Vec<String>,
}

impl Sentence {
    /// True when word `i` was a third-person form turned into a first-person one.
    pub fn was_third_person(&self, i: usize) -> bool {
        self.words[i] != self.original[i]
            && THIRD_PERSON.iter().any(|(o, _)| *o == self.original[i])
    }
}

/// A comma inside a sentence: phrases do not span it and a negation does not reach across it.
pub const PAUSE: &str = ",";

/// Characters that render as nothing (or as a hyphen only at a line break) and split a word in two for a
/// program: soft hyphen, zero-width space/non-joiner/joiner, word joiner, byte-order mark, Mongolian vowel
/// separator, and the invisible math operators.
fn invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}' | '\u{180E}' | '\u{200B}'..='\u{200D}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}'
    )
}

/// Splits `text` into sentences of normalised words.
pub fn sentences(text: &str) -> Vec<Sentence> {
    let text: String = text
        .nfkc()
        .map(|(c, _)| c)
        .filter(|c| !invisible(*c))
        .collect::<String>()
        .to_lowercase()
        .replace(['\u{2019}', '\u{2018}', '`', '\u{00B4}'], "'");
    let mut out = Vec::new();
    let mut words: Vec<String> = Vec::new();
    let mut cur = String::new();
    let end_sentence = |words: &mut Vec<String>, out: &mut Vec<Sentence>| {
        if words.iter().any(|w| w != PAUSE) {
            out.push(finish(std::mem::take(words)));
        }
        words.clear();
    };
    for c in text.chars() {
        if c.is_alphanumeric() || c == '\'' || c == '-' {
            cur.push(c);
            continue;
        }
        push_word(&mut cur, &mut words);
        match c {
            '.' | '!' | '?' | ';' | '…' => end_sentence(&mut words, &mut out),
            ',' | ':' | '(' | ')' | '"' if words.last().is_some_and(|w| w != PAUSE) => {
                words.push(PAUSE.into());
            }
            _ => {} // spaces, line breaks, tabs, emoji: a word boundary only
        }
    }
    push_word(&mut cur, &mut words);
    end_sentence(&mut words, &mut out);
    out
}

fn push_word(cur: &mut String, words: &mut Vec<String>) {
    let w = cur.trim_matches(|c| c == '\'' || c == '-').to_string();
    cur.clear();
    if !w.is_empty() {
        words.extend(spell(&w).split(' ').map(String::from));
    }
}

/// Joins letters spelled apart and split reflexives, then maps third-person forms to first-person ones.
fn finish(raw: Vec<String>) -> Sentence {
    let mut joined: Vec<String> = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        // a run of three or more one-letter words is one word spelled apart ("k i l l", "d e a d")
        let run = raw[i..]
            .iter()
            .take_while(|w| w.chars().count() == 1 && w.chars().all(char::is_alphabetic))
            .count();
        if run >= 3 {
            joined.push(spell(&raw[i..i + run].concat()).to_string());
            i += run;
            continue;
        }
        // two words the rules read as one: "my self", "self harm", "sewer slide", "no one"
        if let Some(next) = raw.get(i + 1)
            && let Some(one) = pair(&raw[i], next)
        {
            joined.push(one);
            i += 2;
            continue;
        }
        joined.push(raw[i].clone());
        i += 1;
    }
    let words = joined
        .iter()
        .map(|w| {
            THIRD_PERSON
                .iter()
                .find(|(o, _)| o == w)
                .map_or_else(|| w.clone(), |(_, f)| (*f).to_string())
        })
        .collect();
    Sentence {
        words,
        original: joined,
    }
}

/// Third-person forms and the first-person forms the rules are written in. Whose risk a match is comes from
/// [`Sentence::original`].
const THIRD_PERSON: &[(&str, &str)] = &[
    ("he", "i"),
    ("she", "i"),
    ("they", "i"),
    ("he's", "i'm"),
    ("she's", "i'm"),
    ("they're", "i'm"),
    ("he'll", "i'll"),
    ("she'll", "i'll"),
    ("they'll", "i'll"),
    ("himself", "myself"),
    ("herself", "myself"),
    ("themselves", "myself"),
    ("themself", "myself"),
    ("his", "my"),
    ("their", "my"),
    ("him", "me"),
    ("wants", "want"),
    ("needs", "need"),
    ("keeps", "keep"),
    ("has", "have"),
    ("doesn't", "don't"),
    ("says", "say"),
    ("plans", "plan"),
    ("tries", "try"),
    ("talks", "talk"),
    ("thinks", "think"),
    ("jumps", "jump"),
    ("wishes", "wish"),
];

/// One word's usual spelling; some become two words (`wanna` → `want to`).
fn spell(w: &str) -> &str {
    match w {
        "im" => "i'm",
        "ive" => "i've",
        "id" => "i'd",
        "dont" | "dnt" | "don" => "don't",
        "doesnt" => "doesn't",
        "didnt" => "didn't",
        "cant" | "cannot" | "cnt" => "can't",
        "wont" => "won't",
        "wouldnt" => "wouldn't",
        "couldnt" => "couldn't",
        "isnt" => "isn't",
        "wasnt" => "wasn't",
        "arent" => "aren't",
        "werent" => "weren't",
        "whats" => "what's",
        "theres" => "there's",
        "wanna" | "wana" => "want to",
        "gonna" | "gona" => "going to",
        "gotta" => "got to",
        "wnat" | "wnt" | "wamt" | "whant" => "want",
        "abt" | "bout" => "about",
        "2" => "to",
        "u" => "you",
        "ur" => "your",
        "rn" => "right now",
        "noone" | "no-one" => "nobody",
        "kms" => "kill myself",
        "kmn" => "kill myself now",
        "ctb" => "kill myself",
        "sewerslide" | "sewer-slide" | "suicde" | "sucide" | "suiside" | "suicied" => "suicide",
        "suicidle" | "sucidal" | "suicidial" => "suicidal",
        "selfharm" | "self-harm" => "self-harm",
        "selfharming" | "self-harming" => "self-harming",
        "selfharmed" | "self-harmed" => "self-harmed",
        "myslef" | "mysef" | "meself" => "myself",
        "unaliving" | "un-aliving" => "unaliving",
        "unalive" | "un-alive" => "unalive",
        "overdoes" => "overdose",
        _ => w,
    }
}

/// Two words written for one: split reflexives ("my self") and multi-word spellings ("self harm", "sewer
/// slide", "no one").
fn pair(a: &str, b: &str) -> Option<String> {
    Some(match (a, b) {
        ("my" | "him" | "her" | "them" | "your", "self" | "selves") => format!("{a}{b}"),
        ("self", "harm" | "harming" | "harmed") => format!("self-{b}"),
        ("sewer", "slide") => "suicide".into(),
        ("no", "one") => "nobody".into(),
        ("un", "alive" | "aliving") => format!("un{b}"),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<Vec<String>> {
        sentences(text).into_iter().map(|s| s.words).collect()
    }

    #[test]
    fn hidden_and_spelled_apart_words_are_read_as_written_plainly() {
        let want = vec![vec!["i", "want", "to", "kill", "myself"]];
        for text in [
            "I want to kill\nmyself",
            "I want to ki\u{00AD}ll myself",
            "I want to kill my\u{200B}self",
            "Ｉ ｗａｎｔ ｔｏ ｋｉｌｌ ｍｙｓｅｌｆ",
            "i  want  to  k i l l  my self",
            "I wnat 2 kms",
        ] {
            assert_eq!(words(text), want, "{text:?}");
        }
    }

    #[test]
    fn sentence_ends_split_and_commas_pause() {
        assert_eq!(
            words("No, I dont wanna live. OK?"),
            vec![
                vec!["no", ",", "i", "don't", "want", "to", "live"],
                vec!["ok"]
            ]
        );
    }

    #[test]
    fn third_person_forms_are_read_in_the_first_person_and_remembered() {
        let s = &sentences("My friend says she wants to kill herself")[0];
        assert_eq!(
            s.words,
            ["my", "friend", "say", "i", "want", "to", "kill", "myself"]
        );
        assert!(s.was_third_person(3) && s.was_third_person(7));
        assert!(
            s.was_third_person(4),
            "a third-person verb form says whose risk it is too"
        );
        assert!(!s.was_third_person(0) && !s.was_third_person(5));
    }
}
