//! The parts of a stored `run.json` that the gate needs: whether the run completed and
//! which engine and adapter files it used. Everything else in the record is ignored here,
//! so this view keeps working as the run record grows.

use super::EvidenceError;
use serde::Deserialize;
use std::path::Path;

/// File name of the run record inside a run directory.
pub const RUN_FILE: &str = "run.json";

#[derive(Debug, Clone, Deserialize)]
pub struct RunView {
    #[serde(default)]
    pub id: Option<String>,
    /// Missing means "not known to be complete", which the gate treats as incomplete.
    #[serde(default)]
    pub complete: Option<bool>,
    #[serde(default)]
    pub engines: Vec<EngineRef>,
}

/// An engine as recorded in run.json; paths are relative to the project root.
#[derive(Debug, Clone, Deserialize)]
pub struct EngineRef {
    pub name: String,
    pub path: String,
    pub sha256: String,
    #[serde(default)]
    pub adapter_path: Option<String>,
    #[serde(default)]
    pub adapter_sha256: Option<String>,
}

impl RunView {
    pub fn load(path: &Path) -> Result<Self, EvidenceError> {
        let bytes = std::fs::read(path).map_err(|source| EvidenceError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        serde_json::from_slice(&bytes).map_err(|source| EvidenceError::Json {
            path: path.to_path_buf(),
            source,
        })
    }

    pub fn is_complete(&self) -> bool {
        self.complete == Some(true)
    }
}
