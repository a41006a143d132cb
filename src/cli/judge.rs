//! `adasval judge <run-dir>`: judge a stored run again from its raw records alone, with
//! the function `validate` judges every fresh replay with.

use super::{CliResult, Failure};
use adasval::validate::{self, JudgeRequest};
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// A directory holding a run's raw records (run.json, latencies.csv, detections.jsonl,
    /// golden.jsonl), not sealed: metrics.json, wcet.json, evidence.json, the verdicts and
    /// the reports are computed from them and written into it, and it is sealed.
    run_dir: PathBuf,
    /// Requirements file (default: safety-case/requirements.yaml under --project-root).
    #[arg(long, value_name = "FILE")]
    requirements: Option<PathBuf>,
    /// Waivers of known failures (default: safety-case/waivers.yaml under --project-root,
    /// when present and the requirements are the project's).
    #[arg(long, value_name = "FILE")]
    waivers: Option<PathBuf>,
    /// GSN safety case (default: safety-case/gsn.yaml under --project-root, when present).
    #[arg(long, value_name = "FILE")]
    gsn: Option<PathBuf>,
    /// Sign the manifest with this Ed25519 secret key file.
    #[arg(long, value_name = "FILE")]
    sign_key: Option<PathBuf>,
    /// Directory holding the lock, the engines, scenarios/ and safety-case/; engines and
    /// adapters are re-hashed against the lock found here.
    // `--root` like every other command; `--project-root` is the older spelling.
    #[arg(
        long = "root",
        alias = "project-root",
        value_name = "DIR",
        default_value = "."
    )]
    project_root: PathBuf,
    /// Root of file-based frames, for the report's frame figures (default: the run's own).
    #[arg(long, value_name = "DIR")]
    data_root: Option<PathBuf>,
    /// What to print on stdout: the run directory (text), or it with the exit status and
    /// the verdicts as JSON.
    #[arg(long, value_enum, default_value_t = super::Format::Text)]
    format: super::Format,
}

pub fn run(a: Args) -> CliResult {
    let outcome = validate::judge(&JudgeRequest {
        run_dir: a.run_dir,
        root: a.project_root,
        data_root: a.data_root,
        requirements: a.requirements,
        waivers: a.waivers,
        gsn: a.gsn,
        sign_key: a.sign_key,
    })
    .map_err(Failure::classified)?;
    super::validate::print_outcome(&outcome, a.format);
    Ok(outcome.status)
}
