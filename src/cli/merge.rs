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
    /// The platform profiles expected (repeatable); a shard that ran under another is
    /// refused (exit 2). Default: every platform the shards ran on, each merged into its
    /// own run directory.
    #[arg(long, value_name = "NAME")]
    platform: Vec<String>,
    /// Pool the samples of several units (boards) of one platform that ran the same items
    /// into one trace, only after a Kruskal–Wallis test on their infer latencies finds no
    /// difference (exit 1 when it does). Without it, such items are refused (exit 1).
    #[arg(long)]
    pool_units: bool,
    /// Level of the homogeneity test of --pool-units.
    #[arg(long, default_value_t = 0.05, value_name = "ALPHA")]
    homogeneity_alpha: f64,
}

pub fn run(a: Args) -> CliResult {
    if !(a.homogeneity_alpha > 0.0 && a.homogeneity_alpha < 1.0) {
        return Err(Failure::bad_input(anyhow::anyhow!(
            "--homogeneity-alpha must lie in (0, 1), got {}",
            a.homogeneity_alpha
        )));
    }
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
        platforms: a.platform,
        pool_units: a.pool_units,
        homogeneity_alpha: a.homogeneity_alpha,
    })
    .map_err(Failure::classified)?;
    if !super::quiet() {
        eprintln!(
            "merged {} shards, {} work items, {} platform(s), into {}",
            outcome.shards,
            outcome.items,
            outcome.platforms.len(),
            outcome.out.display()
        );
    }
    if let [one] = outcome.platforms.as_slice() {
        return Ok(print_one(one, a.format));
    }
    // Several platforms: one run directory each; the exit status is the worst of them.
    let mut status = Status::Pass;
    let mut json = Vec::new();
    for p in &outcome.platforms {
        let s = match (a.format, &p.judged) {
            (super::Format::Json, Some(j)) => {
                json.push(serde_json::json!({
                    "platform": p.platform,
                    "run_dir": p.run_dir,
                    "exit_code": j.status.code(),
                    "summary": std::fs::read(p.run_dir.join("summary.json"))
                        .ok()
                        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok()),
                }));
                j.status
            }
            (super::Format::Json, None) => {
                json.push(serde_json::json!({"platform": p.platform, "run_dir": p.run_dir}));
                Status::Pass
            }
            (super::Format::Text, _) => {
                if !super::quiet() {
                    eprintln!("platform {}:", p.platform);
                }
                print_one(p, a.format)
            }
        };
        if s.code() > status.code() {
            status = s;
        }
    }
    if matches!(a.format, super::Format::Json) {
        let v = serde_json::json!({
            "bundle": outcome.out,
            "exit_code": status.code(),
            "platforms": json,
        });
        outln!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
    }
    Ok(status)
}

/// The merged run of one platform: its directory and verdicts, as `validate` prints them.
fn print_one(p: &merge::PlatformOutcome, format: super::Format) -> Status {
    match &p.judged {
        Some(j) => {
            super::validate::print_outcome(j, format);
            j.status
        }
        None => {
            outln!("{}", p.run_dir.display());
            if !super::quiet() {
                eprintln!(
                    "not judged (--no-judge): judge and seal it with `adasval judge {}`",
                    p.run_dir.display()
                );
            }
            Status::Pass
        }
    }
}
