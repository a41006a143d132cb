//! `adasval merge SHARD_DIR... --out DIR`: one run directory from the shards of a farm
//! validation (docs/FARM.md).

use super::{CliResult, Failure};
use adasval::exit::Status;
use adasval::farm::merge::{self, MergeRequest};
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Sealed shard run directories (`validate --shard K/N`), each item in exactly one.
    #[arg(required = true, value_name = "SHARD_DIR")]
    shards: Vec<PathBuf>,
    /// The merged run directory (new or empty).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Project holding the lock and requirements the merged run is judged with (they must
    /// be the ones the shards recorded).
    #[arg(long, default_value = ".")]
    root: PathBuf,
    /// Write the merged raw records only, unsealed; judge them later with `adasval judge`.
    #[arg(long)]
    no_judge: bool,
    /// Every shard must carry a valid signature by a key in safety-case/trusted-keys/.
    #[arg(long)]
    require_signature: bool,
    /// Requirements file (default: safety-case/requirements.yaml under --root).
    #[arg(long, value_name = "FILE")]
    requirements: Option<PathBuf>,
    /// Waivers of known failures (default: the project's, as `judge`).
    #[arg(long, value_name = "FILE")]
    waivers: Option<PathBuf>,
    /// GSN safety case (default: safety-case/gsn.yaml under --root, when present).
    #[arg(long, value_name = "FILE")]
    gsn: Option<PathBuf>,
    /// Sign the merged run's manifest with this Ed25519 secret key file.
    #[arg(long, value_name = "FILE")]
    sign_key: Option<PathBuf>,
    /// Root of file-based frames, for the report's frame figures.
    #[arg(long, value_name = "DIR")]
    data_root: Option<PathBuf>,
    /// What to print on stdout: the run directory (text), or it with the exit status and
    /// the verdicts as JSON.
    #[arg(long, value_enum, default_value_t = super::Format::Text)]
    format: super::Format,
}

pub fn run(a: Args) -> CliResult {
    let outcome = merge::merge(&MergeRequest {
        shards: a.shards,
        out: a.out,
        root: a.root,
        judge: !a.no_judge,
        require_signature: a.require_signature,
        requirements: a.requirements,
        waivers: a.waivers,
        gsn: a.gsn,
        sign_key: a.sign_key,
        data_root: a.data_root,
        command_line: std::env::args().collect(),
    })
    .map_err(Failure::classified)?;
    if !super::quiet() {
        eprintln!(
            "merged {} shards, {} work items, into {}",
            outcome.shards,
            outcome.items,
            outcome.run_dir.display()
        );
    }
    match &outcome.judged {
        Some(j) => {
            super::validate::print_outcome(j, a.format);
            Ok(j.status)
        }
        None => {
            outln!("{}", outcome.run_dir.display());
            if !super::quiet() {
                eprintln!(
                    "not judged (--no-judge): judge and seal it with `adasval judge {}`",
                    outcome.run_dir.display()
                );
            }
            Ok(Status::Pass)
        }
    }
}
