//! Evidence bundles: the last stage of the pipeline. A run directory (run record,
//! `evidence.json`, reports) is sealed with `MANIFEST.sha256` (optionally signed with
//! Ed25519), after which nothing writes into it; `verify` re-hashes it and names every
//! changed, missing or extra file. All report writes go through [`write_atomic`].

mod atomic;
pub mod keys;
pub mod manifest;
#[cfg(test)]
mod planted;
pub mod set;
#[cfg(test)]
#[path = "../../../../tests/common/tamper.rs"]
mod tamper;

pub use adasval_record::record::{EngineRef, RunHeader, RUN_FILE};
pub use atomic::{write_atomic, SealedDir};
pub use manifest::{
    seal, verify, verify_with, SealReport, SignatureCheck, VerifyReport, MANIFEST_NAME,
    SIGNATURE_NAME,
};
pub use set::{
    ArtefactRef, Counterpart, EvidenceItem, EvidenceKind, EvidenceSet, IntegrityArtefact,
    IntegrityCheck, IntegrityStatus, NotDetectable, RunStatus, SliceItem, TtcItem, EVIDENCE_FILE,
    EVIDENCE_SCHEMA_VERSION,
};

use adasval_core::exit::{Classify, Status};
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum EvidenceError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Writing evidence failed (disk full, read-only file system): the environment, not
    /// the user's input.
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {reason}")]
    BadPath { path: PathBuf, reason: String },
    #[error("{dir} is sealed (it holds {MANIFEST_NAME}); refusing to write into it")]
    Sealed { dir: PathBuf },
    #[error("{dir} is not sealed: no {MANIFEST_NAME}")]
    NotSealed { dir: PathBuf },
    #[error("{path}:{line}: malformed manifest: {reason}")]
    ManifestMalformed {
        path: PathBuf,
        line: usize,
        reason: String,
    },
    #[error("{path}:{line}: {reason}")]
    KeyFormat {
        path: PathBuf,
        line: usize,
        reason: String,
    },
    #[error("{path}: {source}")]
    Json {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("{path}: {reason}")]
    Schema { path: PathBuf, reason: String },
}

impl Classify for EvidenceError {
    fn status(&self) -> Status {
        match self {
            // A bundle that lost its seal or whose seal was edited is evidence tampering.
            EvidenceError::NotSealed { .. } | EvidenceError::ManifestMalformed { .. } => {
                Status::Integrity
            }
            EvidenceError::Write { .. } => Status::Unavailable,
            _ => Status::BadInput,
        }
    }
}
