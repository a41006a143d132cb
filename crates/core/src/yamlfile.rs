//! Loading YAML documents with errors that name the file, line and field.
//!
//! Every YAML input (lock file, adapters, scenarios, platform profiles, requirements)
//! goes through here so that a malformed file is always reported the same way.

use serde::de::DeserializeOwned;
use std::path::{Path, PathBuf};

/// A YAML file that could not be read or does not match its schema.
#[derive(Debug, thiserror::Error)]
#[error("{}{}: {message}{}", path.display(), line.map(|l| format!(":{l}")).unwrap_or_default(), field.as_ref().map(|f| format!(" (field `{f}`)")).unwrap_or_default())]
pub struct YamlError {
    pub path: PathBuf,
    /// 1-based line of the offending node, when known.
    pub line: Option<u64>,
    pub column: Option<u64>,
    /// The mapping key at fault, when it can be determined.
    pub field: Option<String>,
    pub message: String,
}

impl crate::exit::Classify for YamlError {
    fn status(&self) -> crate::exit::Status {
        crate::exit::Status::BadInput
    }
}

/// Read and parse a YAML file into `T`.
pub fn load<T: DeserializeOwned>(path: &Path) -> Result<T, YamlError> {
    let text = std::fs::read_to_string(path).map_err(|e| YamlError {
        path: path.to_path_buf(),
        line: None,
        column: None,
        field: None,
        message: format!("cannot read: {e}"),
    })?;
    parse(path, &text)
}

/// Parse YAML text that came from `path` (used for error messages only).
pub fn parse<T: DeserializeOwned>(path: &Path, text: &str) -> Result<T, YamlError> {
    serde_saphyr::from_str::<T>(text).map_err(|e| describe(path, text, &e))
}

fn describe(path: &Path, text: &str, e: &serde_saphyr::Error) -> YamlError {
    let loc = e.location().filter(|l| l.line() > 0);
    let raw = e.to_string();
    // serde-saphyr appends " at line L column C"; keep the message itself.
    let message = raw
        .lines()
        .next()
        .unwrap_or("invalid YAML")
        .split(" at line ")
        .next()
        .unwrap_or("invalid YAML")
        .trim()
        .to_string();
    let field = field_from_message(&message)
        .or_else(|| loc.and_then(|l| key_on_line(text, l.line() as usize, l.column() as usize)));
    YamlError {
        path: path.to_path_buf(),
        line: loc.map(|l| l.line()),
        column: loc.map(|l| l.column()),
        field,
        message,
    }
}

/// serde names the field in "missing field `x`" and "unknown field `x`" messages.
fn field_from_message(msg: &str) -> Option<String> {
    for marker in ["missing field `", "unknown field `", "duplicate field `"] {
        if let Some(start) = msg.find(marker) {
            let rest = &msg[start + marker.len()..];
            return rest.find('`').map(|end| rest[..end].to_string());
        }
    }
    None
}

/// The mapping key that owns the value at (line, column): the key on that line if the
/// value follows it, else the nearest less-indented key above.
fn key_on_line(text: &str, line: usize, column: usize) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let idx = line.checked_sub(1)?;
    let this = lines.get(idx)?;
    if let Some(k) = key_of(this) {
        let key_end = this.find(':').unwrap_or(0);
        if column == 0 || column > key_end {
            return Some(k);
        }
    }
    let indent = this.len() - this.trim_start().len();
    lines[..idx]
        .iter()
        .rev()
        .filter(|l| !l.trim().is_empty() && (l.len() - l.trim_start().len()) < indent)
        .find_map(|l| key_of(l))
}

fn key_of(line: &str) -> Option<String> {
    let t = line.trim_start().trim_start_matches("- ").trim_start();
    let colon = t.find(':')?;
    let key = t[..colon].trim().trim_matches('"').trim_matches('\'');
    if key.is_empty() || key.contains(' ') || key.starts_with('#') {
        return None;
    }
    Some(key.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Doc {
        name: String,
        inner: Inner,
    }
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        width: u32,
    }

    #[test]
    fn wrong_type_names_line_and_field() {
        let e = parse::<Doc>(Path::new("x.yaml"), "name: a\ninner:\n  width: wide\n").unwrap_err();
        assert_eq!(e.line, Some(3), "{e}");
        assert_eq!(e.field.as_deref(), Some("width"), "{e}");
        assert!(e.to_string().starts_with("x.yaml:3"), "{e}");
    }

    #[test]
    fn missing_and_unknown_fields_are_named() {
        let e = parse::<Doc>(Path::new("x.yaml"), "name: a\ninner: {}\n").unwrap_err();
        assert_eq!(e.field.as_deref(), Some("width"), "{e}");
        let e = parse::<Doc>(
            Path::new("x.yaml"),
            "name: a\nextra: 1\ninner: {width: 1}\n",
        )
        .unwrap_err();
        assert_eq!(e.field.as_deref(), Some("extra"), "{e}");
        assert!(e.line.is_some(), "{e}");
    }
}
