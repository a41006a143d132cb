//! `adasval matrix <run-dir>...`: compile × run platform matrix with anomaly tests judged
//! against the run-to-run noise floor.

use std::path::PathBuf;

use adasval::exit::Status;

use super::{CliResult, Failure, Format};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Sealed run directories of the same scenarios.
    #[arg(required = true, num_args = 2..)]
    pub runs: Vec<PathBuf>,
    /// Project root whose platforms/ profiles say which platform is bigger (`rank`).
    #[arg(long, default_value = ".")]
    pub root: PathBuf,
    /// Significance level of the anomaly tests.
    #[arg(long, default_value_t = 0.01)]
    pub alpha: f64,
    /// What to print on stdout: the Markdown report (text) or every check with its
    /// `decision` (json).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

pub fn run(a: Args) -> CliResult {
    let m = adasval::matrix::matrix(&a.root, &a.runs, a.alpha).map_err(Failure::classified)?;
    match a.format {
        Format::Json => outln!(
            "{}",
            serde_json::to_string_pretty(&m).map_err(Failure::bad_input)?
        ),
        Format::Text => outln!("{}", adasval::report::matrix::markdown(&m)),
    }
    Ok(Status::Pass)
}
