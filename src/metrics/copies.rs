//! How much a reply copies the human replies the model could have seen: whole train replies repeated word for
//! word (stock replies), and the longest run of words shared with the exemplar it could lean on.

/// Length of the longest run of consecutive words that `a` and `b` share (longest common substring over words).
pub fn longest_common_run(a: &[String], b: &[String]) -> usize {
    // prev[j]: the run ending at a[i - 1], b[j - 1]
    let mut prev = vec![0usize; b.len() + 1];
    let mut best = 0;
    for x in a {
        let mut cur = vec![0usize; b.len() + 1];
        for (j, y) in b.iter().enumerate() {
            if x == y {
                cur[j + 1] = prev[j] + 1;
                best = best.max(cur[j + 1]);
            }
        }
        prev = cur;
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn the_longest_shared_run_of_words() {
        let a = w("i am so sorry to hear that . how are you");
        assert_eq!(
            longest_common_run(&a, &w("oh no i am sorry to hear that")),
            4
        );
        assert_eq!(longest_common_run(&a, &a), a.len());
        assert_eq!(longest_common_run(&a, &w("great news !")), 0);
        assert_eq!(longest_common_run(&a, &[]), 0);
    }
}
