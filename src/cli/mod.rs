//! Command-line edge: each subcommand lives in its own file with its clap `Args`
//! and a `run` that returns an exit [`Status`]. Library errors become [`Failure`]s
//! carrying the exit status they map to.

use adasval::exit::{Classify, Status};
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

/// `println!` that never panics: see [`write_stdout`].
macro_rules! outln {
    () => { $crate::cli::write_stdout(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::cli::write_stdout(format_args!("{}\n", format_args!($($arg)*))) };
}

/// `print!` that never panics: see [`write_stdout`].
macro_rules! out {
    ($($arg:tt)*) => { $crate::cli::write_stdout(format_args!($($arg)*)) };
}

static STDOUT_GONE: AtomicBool = AtomicBool::new(false);
static QUIET: AtomicBool = AtomicBool::new(false);

/// `--quiet`: no progress and no summary on stderr; results on stdout, errors and the exit
/// status stay.
pub fn set_quiet(yes: bool) {
    QUIET.store(yes, Ordering::Relaxed);
}

pub fn quiet() -> bool {
    QUIET.load(Ordering::Relaxed)
}

/// Write to stdout. A reader that went away (`adasval engine list | head -1`) is not an
/// error of the command: the rest of the output is dropped and the command finishes with
/// its own exit status. Any other write error is reported once on stderr.
pub fn write_stdout(args: std::fmt::Arguments) {
    if STDOUT_GONE.load(Ordering::Relaxed) {
        return;
    }
    let mut o = std::io::stdout().lock();
    if let Err(e) = o.write_fmt(args).and_then(|()| o.flush()) {
        STDOUT_GONE.store(true, Ordering::Relaxed);
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            eprintln!("warning: cannot write to stdout: {e}");
        }
    }
}

pub mod compare;
pub mod diff;
pub mod engine;
pub mod eval;
pub mod evidence;
pub mod gate;
pub mod import;
pub mod judge;
pub mod matrix;
pub mod merge;
pub mod qualification;
pub mod scenario;
pub mod selftest;
pub mod shard;
pub mod sweep;
pub mod synth;
pub mod validate;
pub mod version;
pub mod wcet;

/// What a report command prints on stdout: Markdown for people, or the same findings as
/// JSON for scripts and CI.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}

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
