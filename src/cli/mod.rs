//! Command-line edge: each subcommand lives in its own file with its clap `Args`
//! and a `run` that returns an exit [`Status`]. Library errors become [`Failure`]s
//! carrying the exit status they map to.

use adasval::exit::{Classify, Status};

pub mod compare;
pub mod diff;
pub mod engine;
pub mod eval;
pub mod evidence;
pub mod gate;
pub mod import;
pub mod judge;
pub mod matrix;
pub mod scenario;
pub mod sweep;
pub mod synth;
pub mod validate;
pub mod wcet;

/// An error reported by the binary, with the exit status it maps to.
pub struct Failure {
    pub status: Status,
    pub error: anyhow::Error,
}

impl Failure {
    pub fn new(status: Status, error: impl Into<anyhow::Error>) -> Self {
        Self {
            status,
            error: error.into(),
        }
    }
    pub fn bad_input(error: impl Into<anyhow::Error>) -> Self {
        Self::new(Status::BadInput, error)
    }
    pub fn unavailable(error: impl Into<anyhow::Error>) -> Self {
        Self::new(Status::Unavailable, error)
    }
    pub fn integrity(error: impl Into<anyhow::Error>) -> Self {
        Self::new(Status::Integrity, error)
    }
    /// Wrap a library error, keeping the status it classifies itself as.
    pub fn classified<E>(error: E) -> Self
    where
        E: Classify + std::error::Error + Send + Sync + 'static,
    {
        Self::new(error.status(), error)
    }
}

pub type CliResult = Result<Status, Failure>;
