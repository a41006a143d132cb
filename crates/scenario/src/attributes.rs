//! Per-frame attributes of a file-based scenario (`frames.files.attributes`): a YAML mapping
//! from each frame's data-root-relative path to its attributes, today its condition:
//!
//! ```yaml
//! data/kitti/000000.png: {condition: day}
//! data/kitti/000001.png: {condition: night}
//! ```
//!
//! Generated frames know their condition; file-based ones take it from here, from the COCO
//! image entry (`condition`, as `adasval scenario synth` writes it), or from the scenario's
//! `frames.files.condition` for every frame, in that order. The file must cover every frame
//! of the scenario: a missing frame is named, never read as "unknown".

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

/// What the file may say about one frame.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FrameAttributes {
    pub condition: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum AttributeError {
    #[error("cannot read attribute file {path}: {message}")]
    Read { path: String, message: String },
    #[error(transparent)]
    Yaml(#[from] adasval_core::yamlfile::YamlError),
    #[error("attribute file {path} does not cover {count} frame(s) of the scenario: {frames}")]
    Missing {
        path: String,
        count: usize,
        frames: String,
    },
}

/// Reads `path` (shown as `shown`) and returns each listed frame's condition, checking that
/// every frame of `frames` (data-root-relative paths) is listed.
pub fn conditions(
    path: &Path,
    shown: &str,
    frames: &[String],
) -> Result<BTreeMap<String, Option<String>>, AttributeError> {
    let text = std::fs::read_to_string(path).map_err(|e| AttributeError::Read {
        path: shown.to_string(),
        message: e.to_string(),
    })?;
    let all: BTreeMap<String, FrameAttributes> = adasval_core::yamlfile::parse(path, &text)?;
    let missing: Vec<&String> = frames.iter().filter(|f| !all.contains_key(*f)).collect();
    if !missing.is_empty() {
        let mut names: Vec<&str> = missing.iter().take(10).map(|s| s.as_str()).collect();
        let more = missing.len() - names.len();
        let tail = format!("and {more} more");
        if more > 0 {
            names.push(&tail);
        }
        return Err(AttributeError::Missing {
            path: shown.to_string(),
            count: missing.len(),
            frames: names.join(", "),
        });
    }
    Ok(all.into_iter().map(|(k, v)| (k, v.condition)).collect())
}
