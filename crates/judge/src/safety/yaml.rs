//! Located YAML errors for the safety-case files: every message names the file, the line
//! and, where it can be told, the field.

use serde::de::DeserializeOwned;
use std::path::{Path, PathBuf};

/// A YAML problem at a known place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlLocation {
    pub file: PathBuf,
    /// 1-based; 0 when the parser could not tell.
    pub line: u64,
    pub column: u64,
    /// The mapping key the problem is at, when known.
    pub field: Option<String>,
}

impl std::fmt::Display for YamlLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.file.display())?;
        if self.line > 0 {
            write!(f, ":{}:{}", self.line, self.column)?;
        }
        if let Some(field) = &self.field {
            write!(f, ": field `{field}`")?;
        }
        Ok(())
    }
}

/// Parse YAML, returning `(location, message)` on failure.
pub(crate) fn parse<T: DeserializeOwned>(
    file: &Path,
    text: &str,
) -> Result<T, (YamlLocation, String)> {
    let options = serde_saphyr::Options {
        with_snippet: false,
        ..serde_saphyr::Options::default()
    };
    serde_saphyr::from_str_with_options(text, options).map_err(|e| {
        let (line, column) = e
            .location()
            .map(|l| (l.line(), l.column()))
            .unwrap_or((0, 0));
        let mut msg = e.to_string();
        let suffix = format!(" at line {line}, column {column}");
        if let Some(stripped) = msg.strip_suffix(&suffix) {
            msg = stripped.to_string();
        }
        // serde names the field for unknown/missing fields; otherwise the key on the
        // reported line is the field whose value was rejected.
        let field = backticked(&msg).or_else(|| key_on_line(text, line));
        // serde-saphyr places an unknown field at the start of its mapping; point at the
        // key itself (the first line from there that spells it).
        let (mut line, mut column) = (line, column);
        if let (true, Some(f)) = (msg.starts_with("unknown field"), field.as_deref()) {
            if let Some((l, c)) = find_key(text, line, f) {
                (line, column) = (l, c);
            }
        }
        (
            YamlLocation {
                file: file.to_path_buf(),
                line,
                column,
                field,
            },
            msg,
        )
    })
}

fn backticked(msg: &str) -> Option<String> {
    let rest = msg
        .strip_prefix("unknown field `")
        .or_else(|| msg.strip_prefix("missing field `"))?;
    rest.split('`').next().map(str::to_string)
}

/// The mapping key written on `line` (1-based), e.g. `threshold` for `    threshold: x`
/// or `- id: X`.
pub(crate) fn key_on_line(text: &str, line: u64) -> Option<String> {
    let l = text
        .lines()
        .nth(usize::try_from(line).ok()?.checked_sub(1)?)?;
    let l = l.trim_start().trim_start_matches("- ").trim_start();
    let (key, _) = l.split_once(':')?;
    let key = key.trim().trim_matches(|c| c == '"' || c == '\'');
    (!key.is_empty()
        && key
            .chars()
            .all(|c| c.is_alphanumeric() || "_-.".contains(c)))
    .then(|| key.to_string())
}

/// First line at or after `from` (1-based) whose mapping key is `key`, with the key's column.
fn find_key(text: &str, from: u64, key: &str) -> Option<(u64, u64)> {
    let start = usize::try_from(from.max(1)).ok()? - 1;
    text.lines().enumerate().skip(start).find_map(|(i, l)| {
        (key_on_line(text, i as u64 + 1).as_deref() == Some(key))
            .then(|| (i as u64 + 1, l.find(key).map_or(1, |c| c as u64 + 1)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_on_lines() {
        let text = "a: 1\n  - id: X\n    \"quoted\": 2\n    - plain item\n";
        assert_eq!(key_on_line(text, 1).as_deref(), Some("a"));
        assert_eq!(key_on_line(text, 2).as_deref(), Some("id"));
        assert_eq!(key_on_line(text, 3).as_deref(), Some("quoted"));
        assert_eq!(key_on_line(text, 4), None);
        assert_eq!(key_on_line(text, 0), None);
        assert_eq!(key_on_line(text, 99), None);
        assert_eq!(find_key(text, 2, "quoted"), Some((3, 6)));
        assert_eq!(find_key(text, 4, "a"), None);
    }
}
