//! The identity of the adasval binary that wrote a record: its version, the commit it was
//! built from and the SHA-256 of the executable. `run.json` (the binary that replayed),
//! `evidence.json` (the binary that judged) and the self-test results carry it, so a
//! figure can be traced to the exact tool that produced it, and `gate --require-selftest`
//! can ask whether that same binary passed its self-test.
//!
//! The record crate only defines the type: the values come from the root crate's build
//! script and from the running executable (`adasval::tool::identity`). Every field is
//! optional when reading, so records written before it existed still load.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolIdentity {
    /// Always `adasval`.
    pub name: String,
    /// The package version (`Cargo.toml`).
    pub version: String,
    /// The git commit the binary was built from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// Whether tracked files differed from that commit when it was built.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dirty: Option<bool>,
    /// Why `commit` is missing, in words (e.g. built outside a git checkout).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit_unknown: Option<String>,
    /// SHA-256 of the running executable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binary_sha256: Option<String>,
    /// Why `binary_sha256` is missing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binary_unknown: Option<String>,
}

impl ToolIdentity {
    /// One line for people: `adasval 0.1.0 (commit abc123…, modified; binary sha256 …)`.
    pub fn describe(&self) -> String {
        let commit = match (&self.commit, self.dirty, &self.commit_unknown) {
            (Some(c), Some(true), _) => format!("commit {c}, with uncommitted changes"),
            (Some(c), _, _) => format!("commit {c}"),
            (None, _, Some(why)) => format!("commit unknown: {why}"),
            (None, _, None) => "commit not recorded".to_string(),
        };
        let binary = match (&self.binary_sha256, &self.binary_unknown) {
            (Some(h), _) => format!("binary sha256 {h}"),
            (None, Some(why)) => format!("binary sha256 unknown: {why}"),
            (None, None) => "binary sha256 not recorded".to_string(),
        };
        format!("{} {} ({commit}; {binary})", self.name, self.version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_values_are_said_in_words() {
        let t: ToolIdentity =
            serde_json::from_str(r#"{"name": "adasval", "version": "0.1.0"}"#).unwrap();
        let d = t.describe();
        assert!(d.contains("commit not recorded"), "{d}");
        assert!(d.contains("binary sha256 not recorded"), "{d}");
        let t = ToolIdentity {
            commit: None,
            commit_unknown: Some("built outside a git checkout".into()),
            ..t
        };
        assert!(t
            .describe()
            .contains("commit unknown: built outside a git checkout"));
    }
}
