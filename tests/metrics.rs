//! Our metrics against independent references.

use reflectdiffu::metrics::{corpus_bleu, distinct_n, words};

#[test]
fn corpus_bleu_matches_nltk() {
    // Expected values from NLTK's corpus_bleu: python3 tests/fixtures/bleu/make_fixture.py
    let f: serde_json::Value =
        serde_json::from_str(include_str!("fixtures/bleu/bleu_nltk.json")).unwrap();
    let cases = f["cases"].as_array().unwrap();
    assert!(cases.len() >= 2);
    for case in cases {
        let split = |k: &str| -> Vec<Vec<String>> {
            case[k]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s.as_str().unwrap().split(' ').map(String::from).collect())
                .collect()
        };
        let ours = corpus_bleu(&split("hypotheses"), &split("references"), 4);
        for (n, (o, e)) in ours
            .iter()
            .zip(case["bleu"].as_array().unwrap())
            .enumerate()
        {
            let e = e.as_f64().unwrap();
            assert!(
                (o - e).abs() < 1e-9,
                "{}: BLEU-{}: ours {o}, nltk {e}",
                case["name"],
                n + 1
            );
        }
    }
}

#[test]
fn a_hypothesis_shorter_than_n_counts_one_ngram_of_order_n() {
    // The two replies of issue 7: NLTK gives BLEU-2 72.1 (bigram precision 6/7, not 6/6).
    let h = vec![words("i am so sorry to hear that"), words("wow")];
    let r = vec![words("i am so sorry to hear that ."), words("wow great")];
    let bleu2 = corpus_bleu(&h, &r, 2)[1];
    let expected = 100.0 * (1.0f64 - 10.0 / 8.0).exp() * (6.0f64 / 7.0).sqrt();
    assert!((bleu2 - expected).abs() < 1e-9, "{bleu2} vs {expected}");
    assert!((bleu2 - 72.1).abs() < 0.05);
}

#[test]
fn bleu_is_zero_without_matches_and_100_for_identical_text() {
    let h = vec![words("completely different words here")];
    let r = vec![words("nothing in common at all")];
    assert_eq!(corpus_bleu(&h, &r, 4), vec![0.0; 4]);
    let same = vec![words("i am so sorry to hear that .")];
    for b in corpus_bleu(&same, &same, 4) {
        assert!((b - 100.0).abs() < 1e-9);
    }
}

#[test]
fn tokenisation_splits_punctuation_and_lowercases() {
    assert_eq!(
        words("Oh no! I'm SO sorry."),
        ["oh", "no", "!", "i'm", "so", "sorry", "."]
    );
    assert!((distinct_n(&[words("a a a a")], 1) - 25.0).abs() < 1e-9);
}
