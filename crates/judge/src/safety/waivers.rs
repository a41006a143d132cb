//! Requirement waivers (`safety-case/waivers.yaml`): requirements the project knowingly
//! fails, each with a reason, an owning role and an expiry date. A waiver never changes a
//! verdict or a measurement; it marks a failed requirement as accepted until it expires.
//! Schema: docs/EVIDENCE.md.

use super::requirements::Requirements;
use super::yaml::{self, YamlLocation};
use super::SafetyError;
use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Current `schema_version` of waiver files.
pub const WAIVERS_SCHEMA_VERSION: u32 = 1;

/// One accepted known failure, as recorded on a waived requirement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Waiver {
    pub requirement: String,
    pub reason: String,
    /// A role, e.g. "demo maintainers".
    pub owner: String,
    /// Last day (UTC, `YYYY-MM-DD`) the waiver holds.
    pub expires: String,
}

impl Waiver {
    /// Expired when the judging date (UTC, `YYYY-MM-DD`) is after `expires`. ISO dates of
    /// the same width order as strings.
    pub fn expired_on(&self, today: &str) -> bool {
        self.expires.as_str() < today
    }
}

/// A parsed waivers file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Waivers {
    pub file: PathBuf,
    pub waivers: Vec<Waiver>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    schema_version: Spanned<u32>,
    #[serde(default)]
    waivers: Vec<RawWaiver>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWaiver {
    requirement: Spanned<String>,
    reason: Spanned<String>,
    owner: Spanned<String>,
    expires: Spanned<String>,
}

/// Today's date in UTC as `YYYY-MM-DD`, the date waivers are judged on.
pub fn today_utc() -> String {
    let now = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    now.get(..10).unwrap_or(&now).to_string()
}

fn valid_date(s: &str) -> bool {
    s.len() == 10
        && s.as_bytes()[4] == b'-'
        && s.as_bytes()[7] == b'-'
        && humantime::parse_rfc3339(&format!("{s}T00:00:00Z")).is_ok()
}

impl Waivers {
    /// Read and check a waivers file against the requirements it waives.
    pub fn load(path: &Path, requirements: &Requirements) -> Result<Self, SafetyError> {
        let text = std::fs::read_to_string(path).map_err(|source| SafetyError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(path, &text, requirements)
    }

    /// Parse waivers from `text`; `file` is used in error messages. Every waiver must name
    /// a requirement in `requirements`, at most once.
    pub fn parse(
        file: &Path,
        text: &str,
        requirements: &Requirements,
    ) -> Result<Self, SafetyError> {
        let raw: RawFile =
            yaml::parse(file, text).map_err(|(at, message)| SafetyError::Yaml { at, message })?;
        let loc = |s: &serde_saphyr::Location, field: &str| YamlLocation {
            file: file.to_path_buf(),
            line: s.line(),
            column: s.column(),
            field: Some(field.to_string()),
        };
        if raw.schema_version.value != WAIVERS_SCHEMA_VERSION {
            return Err(SafetyError::Invalid {
                at: loc(&raw.schema_version.referenced, "schema_version"),
                message: format!(
                    "schema_version {} (this adasval reads {WAIVERS_SCHEMA_VERSION})",
                    raw.schema_version.value
                ),
            });
        }
        let known: Vec<&str> = requirements
            .requirements
            .iter()
            .map(|r| r.id.as_str())
            .collect();
        let mut seen: HashMap<String, u64> = HashMap::new();
        let mut out = Vec::with_capacity(raw.waivers.len());
        for w in raw.waivers {
            let id = w.requirement.value.trim().to_string();
            let invalid =
                |s: &Spanned<String>, field: &str, message: String| SafetyError::Invalid {
                    at: loc(&s.referenced, field),
                    message: format!("waiver for {id}: {message}"),
                };
            if !known.contains(&id.as_str()) {
                return Err(invalid(
                    &w.requirement,
                    "requirement",
                    format!(
                        "unknown requirement id (known: {})",
                        if known.is_empty() {
                            "none".to_string()
                        } else {
                            known.join(", ")
                        }
                    ),
                ));
            }
            if let Some(prev) = seen.insert(id.clone(), w.requirement.referenced.line()) {
                return Err(invalid(
                    &w.requirement,
                    "requirement",
                    format!("second waiver for the same requirement (first at line {prev})"),
                ));
            }
            for (s, field) in [(&w.reason, "reason"), (&w.owner, "owner")] {
                if s.value.trim().is_empty() {
                    return Err(invalid(s, field, format!("empty `{field}`")));
                }
            }
            let expires = w.expires.value.trim().to_string();
            if !valid_date(&expires) {
                return Err(invalid(
                    &w.expires,
                    "expires",
                    format!("`expires` must be a date YYYY-MM-DD, not `{expires}`"),
                ));
            }
            out.push(Waiver {
                requirement: id.clone(),
                reason: w.reason.value.trim().to_string(),
                owner: w.owner.value.trim().to_string(),
                expires,
            });
        }
        Ok(Self {
            file: file.to_path_buf(),
            waivers: out,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reqs() -> Requirements {
        Requirements::parse(
            Path::new("r.yaml"),
            "schema_version: 1\nrequirements:\n  - id: REQ-A\n    text: t\n    kind: integrity\n",
        )
        .expect("fixture requirements parse")
    }

    #[test]
    fn parses_and_checks() {
        let ok = "schema_version: 1\nwaivers:\n  - requirement: REQ-A\n    reason: known\n    owner: demo maintainers\n    expires: 2027-06-30\n";
        let w = Waivers::parse(Path::new("w.yaml"), ok, &reqs()).expect("valid waivers");
        assert_eq!(w.waivers.len(), 1);
        assert!(!w.waivers[0].expired_on("2027-06-30"));
        assert!(w.waivers[0].expired_on("2027-07-01"));

        let unknown = ok.replace("REQ-A", "REQ-B");
        let e = Waivers::parse(Path::new("w.yaml"), &unknown, &reqs())
            .expect_err("unknown id")
            .to_string();
        assert!(e.contains("w.yaml:3") && e.contains("REQ-A"), "{e}");

        let bad_date = ok.replace("2027-06-30", "2027-02-30");
        let e = Waivers::parse(Path::new("w.yaml"), &bad_date, &reqs())
            .expect_err("bad date")
            .to_string();
        assert!(e.contains("w.yaml:6") && e.contains("`expires`"), "{e}");

        let missing = ok.replace("    owner: demo maintainers\n", "");
        let e = Waivers::parse(Path::new("w.yaml"), &missing, &reqs())
            .expect_err("missing owner")
            .to_string();
        assert!(e.contains("owner"), "{e}");
    }

    #[test]
    fn today_is_a_date() {
        assert!(valid_date(&today_utc()));
    }
}
