//! `adasval sweep`: throughput, per-stream latency and saturation point over a range of
//! concurrent camera streams, plus run-to-run latency stability, for one engine.

use std::path::PathBuf;
use std::time::Duration;

use adasval::sweep::{self, SweepRequest};
use adasval::validate::ValidateRequest;

use super::validate::{stop_on_ctrl_c, Bars, ReplayArgs};
use super::{CliResult, Failure};
use adasval::exit::Status;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Stream counts to measure, comma-separated (each: N concurrent camera streams, one
    /// host thread and session each, sharing one prepared engine).
    #[arg(long, value_delimiter = ',', default_value = "1,2,4,8")]
    pub streams: Vec<u32>,
    /// Stability study: repeat the single-stream replay this many times, each with a fresh
    /// engine load and session, and test the runs against each other (0: skip).
    #[arg(long, default_value_t = 3)]
    pub runs: u32,
    /// Saturation: relative throughput gain below which more streams count as buying
    /// nothing (see docs/SWEEP.md).
    #[arg(long, default_value_t = 0.05)]
    pub saturation_gain: f64,
    /// Period of the nvidia-smi utilisation poll, in milliseconds.
    #[arg(long, default_value_t = 100)]
    pub gpu_interval_ms: u64,
    #[command(flatten)]
    pub replay: ReplayArgs,
    /// Sweep directory, new or empty (default: reports/sweep-<time>-<id>).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// The engine to measure (default: the lock's only engine).
    #[arg(long)]
    pub engine: Option<String>,
    /// Sign the sweep's MANIFEST.sha256 with this Ed25519 key file.
    #[arg(long)]
    pub sign_key: Option<PathBuf>,
    /// What to print on stdout: the sweep directory (text; the table goes to stderr), or the
    /// directory, exit status and the sweep record (`sweep.json`) as one JSON object.
    #[arg(long, value_enum, default_value_t = super::Format::Text)]
    pub format: super::Format,
}

pub fn run(a: Args) -> CliResult {
    let stop = stop_on_ctrl_c(
        "interrupted: finishing the current inferences and keeping what was measured",
    );
    // No pacing, no raw outputs, no requirements: a sweep measures, it does not judge.
    let base = ValidateRequest {
        out: a.out,
        engines: a.engine.into_iter().collect(),
        sign_key: a.sign_key,
        ..a.replay.request()?
    };
    let req = SweepRequest {
        base,
        streams: a.streams,
        runs: a.runs,
        saturation_gain: a.saturation_gain,
        gpu_interval: Duration::from_millis(a.gpu_interval_ms.max(10)),
    };
    let argv: Vec<String> = std::env::args().collect();
    let out = sweep::run(&req, argv, &Bars, &stop).map_err(Failure::classified)?;
    match a.format {
        super::Format::Text => {
            outln!("{}", out.dir.display());
            if !super::quiet() {
                eprintln!("{}", sweep::summary(&out.record));
            }
        }
        super::Format::Json => {
            let v = serde_json::json!({
                "sweep_dir": out.dir,
                "exit_code": out.status.code(),
                "sweep": out.record,
            });
            let text =
                serde_json::to_string_pretty(&v).map_err(|e| Failure::new(Status::BadInput, e))?;
            outln!("{text}");
        }
    }
    Ok(out.status)
}
