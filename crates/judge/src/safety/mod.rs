//! The safety argument: requirements, verdicts and the GSN safety case. Sits after the
//! measuring stages: it reads a run's `evidence.json` (see [`crate::evidence`]), evaluates
//! each requirement per scope instance, and returns the verdicts, the traceability rows
//! and the goal statuses; the report crate renders them (JUnit, Markdown summary,
//! traceability matrix, GSN diagram) and writes a judged run's verdict files.

pub mod gate;
pub mod gsn;
pub mod requirements;
pub mod trace;
pub mod verdict;
pub mod waivers;
mod yaml;

pub use gate::{gate, GateOutcome, GateRequest};
pub use gsn::{GoalStatus, Gsn, GsnKind, GsnNode};
pub use requirements::{
    Check, Comparison, Deadline, Requirement, RequirementKind, Requirements, Scope,
};
pub use trace::{traceability, TraceRow};
pub use verdict::{
    evaluate, evaluate_waived, Evaluation, InstanceVerdict, RequirementVerdict, Verdict,
    WaiverStatus, WaiverUse,
};
pub use waivers::{today_utc, Waiver, Waivers};
pub use yaml::YamlLocation;

use crate::evidence::EvidenceError;
use adasval_core::exit::{Classify, Status};
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum SafetyError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The YAML could not be read into the schema.
    #[error("{at}: {message}")]
    Yaml { at: YamlLocation, message: String },
    /// The YAML parsed but says something invalid.
    #[error("{at}: {message}")]
    Invalid { at: YamlLocation, message: String },
    /// A GSN link problem (unknown id, cycle, wrong element type).
    #[error("{file}: {message}")]
    GsnLink { file: PathBuf, message: String },
    #[error(transparent)]
    Evidence(#[from] EvidenceError),
    #[error(transparent)]
    Record(#[from] adasval_record::record::RecordError),
    /// A project file that leads out of the project.
    #[error(transparent)]
    Path(adasval_core::paths::PathEscape),
    /// The run directory no longer matches its manifest.
    #[error("evidence in {dir} was tampered with:\n  {}", problems.join("\n  "))]
    Tampered { dir: PathBuf, problems: Vec<String> },
    #[error("{what}: {source}")]
    Render {
        what: String,
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl Classify for SafetyError {
    fn status(&self) -> Status {
        match self {
            SafetyError::Tampered { .. } => Status::Integrity,
            SafetyError::Evidence(e) => e.status(),
            SafetyError::Record(e) => e.status(),
            _ => Status::BadInput,
        }
    }
}
