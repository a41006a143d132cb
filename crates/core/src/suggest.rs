//! "Did you mean" for names a user types (scenarios, engines, requirements): the closest
//! known names by edit distance, and the full list, so an error names what would work.

/// Levenshtein distance over characters.
pub fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// The known names within a third of the typed name's length (at least 2 edits), closest
/// first.
pub fn closest<'a>(typed: &str, known: &'a [String]) -> Vec<&'a str> {
    let limit = (typed.chars().count() / 3).max(2);
    let mut near: Vec<(usize, &str)> = known
        .iter()
        .map(|k| (distance(typed, k), k.as_str()))
        .filter(|(d, _)| *d <= limit)
        .collect();
    near.sort();
    near.into_iter().map(|(_, k)| k).collect()
}

/// ` Did you mean `x`? Known: a, b, c.` (empty list: ` None are known.`)
pub fn hint(typed: &str, known: &[String]) -> String {
    let near = closest(typed, known);
    let mean = match near.first() {
        Some(n) => format!(" Did you mean `{n}`?"),
        None => String::new(),
    };
    if known.is_empty() {
        format!("{mean} None are known.")
    } else {
        format!("{mean} Known: {}.", known.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances_and_hints() {
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("timing-lop", "timing-loop"), 1);
        let known = vec!["timing-loop".to_string(), "child-running-out".to_string()];
        assert_eq!(closest("timing-lop", &known), ["timing-loop"]);
        assert!(closest("zzz", &known).is_empty());
        assert_eq!(
            hint("timing-lop", &known),
            " Did you mean `timing-loop`? Known: timing-loop, child-running-out."
        );
    }
}
