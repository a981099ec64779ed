//! "Did you mean …?" for misspelt option names and values.

/// The candidate nearest to `input` by edit distance, if it is near enough to be a typo: at most
/// one edit per three characters, and at least one allowed.
pub(crate) fn closest<'a>(input: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let limit = (input.chars().count() / 3).max(1);
    candidates
        .iter()
        .map(|c| (edit_distance(&input.to_lowercase(), c), *c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Edit distance counting insertions, deletions, substitutions and swaps of two neighbours
/// (`fiel` → `file` is one edit), in characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    // d[i][j]: the distance between the first i characters of a and the first j of b.
    let mut d = vec![vec![0; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let substitution = d[i - 1][j - 1] + usize::from(a[i - 1] != b[j - 1]);
            let mut best = substitution.min(d[i - 1][j] + 1).min(d[i][j - 1] + 1);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_are_matched_and_strangers_are_not() {
        let options = ["backend", "ttl", "cache_dir", "max_entries"];
        assert_eq!(closest("bakend", &options), Some("backend"));
        assert_eq!(closest("tll", &options), Some("ttl"));
        assert_eq!(closest("cachedir", &options), Some("cache_dir"));
        assert_eq!(closest("Backend", &options), Some("backend"));
        assert_eq!(closest("colour", &options), None);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(closest("fiel", &["memory", "file", "redis"]), Some("file"));
        assert_eq!(
            closest("jsno", &["json", "bincode", "postcard"]),
            Some("json")
        );
    }
}
