//! Fluency signs a reader notices first: stutter ("sorry sorry") and a phrase said twice in one reply. Both are
//! the share of replies (× 100) showing them, on the tokens of [`super::words`].

/// True when the reply has the same alphabetic word twice back to back ("sorry sorry"; "! !" does not count).
pub fn has_word_repeat(tokens: &[String]) -> bool {
    tokens
        .windows(2)
        .any(|w| w[0] == w[1] && w[0].chars().any(char::is_alphabetic))
}

/// True when some bigram occurs twice in the reply ("i'm sorry . i'm sorry").
pub fn has_bigram_repeat(tokens: &[String]) -> bool {
    let mut seen = std::collections::HashSet::new();
    tokens.windows(2).any(|w| !seen.insert(w))
}

/// (% of replies with a word repeat, % with a bigram repeat); (0, 0) for no replies.
pub fn repeat_rates(replies: &[Vec<String>]) -> (f64, f64) {
    if replies.is_empty() {
        return (0.0, 0.0);
    }
    let pct = |f: fn(&[String]) -> bool| {
        100.0 * replies.iter().filter(|r| f(r)).count() as f64 / replies.len() as f64
    };
    (pct(has_word_repeat), pct(has_bigram_repeat))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::words;

    #[test]
    fn repeats_on_hand_made_replies() {
        assert!(has_word_repeat(&words("i am sorry sorry.")));
        assert!(
            !has_word_repeat(&words("wow!! great")),
            "punctuation is not a word"
        );
        assert!(!has_word_repeat(&words("i am sorry. i am sorry")));
        assert!(has_bigram_repeat(&words("i am sorry. i am sorry")));
        assert!(!has_bigram_repeat(&words("i am so sorry to hear that")));
        let r = [
            words("sorry sorry"),
            words("that is great"),
            words("oh no. oh no"),
            words("ok"),
        ];
        assert_eq!(repeat_rates(&r), (25.0, 25.0));
        assert_eq!(repeat_rates(&[]), (0.0, 0.0));
    }
}
