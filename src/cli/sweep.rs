//! `adasval sweep`: throughput, per-stream latency and saturation point over a range of
//! concurrent camera streams, plus run-to-run latency stability, for one engine.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use adasval::replay::Order;
use adasval::sweep::{self, SweepRequest};
use adasval::validate::ValidateRequest;

use super::validate::{Bars, OrderArg};
use super::{CliResult, Failure};

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
    /// Project root (holds engines/, scenarios/, platforms/).
    #[arg(long, default_value = ".")]
    pub root: PathBuf,
    /// Root that scenario image and label paths resolve against (default: the project root).
    #[arg(long)]
    pub data_root: Option<PathBuf>,
    /// Sweep directory, new or empty (default: reports/sweep-<time>-<id>).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Only these scenario ids (repeatable; default: all). Each point replays every one.
    #[arg(long = "scenario")]
    pub scenarios: Vec<String>,
    /// Only scenarios carrying any of these tags or categories (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub tags: Vec<String>,
    /// The engine to measure (default: the lock's only engine).
    #[arg(long)]
    pub engine: Option<String>,
    /// Backend that runs the engine.
    #[arg(long, default_value = "cpu")]
    pub backend: String,
    /// Command of the external runner for `--backend runner`.
    #[arg(long)]
    pub runner: Option<String>,
    /// trtexec command for `--backend trtexec`.
    #[arg(long)]
    pub trtexec: Option<String>,
    /// Platform profile to tag the runs with (default: detected).
    #[arg(long)]
    pub platform: Option<String>,
    /// Use at most this many frames per scenario.
    #[arg(long)]
    pub max_frames: Option<usize>,
    /// Timed repetitions of every frame per stream (default: the scenario's, else 1).
    #[arg(long)]
    pub repetitions: Option<u32>,
    /// Untimed warm-up inferences per stream before the common start (default: scenario's, else 5).
    #[arg(long)]
    pub warmup: Option<u32>,
    /// Order of the timed (frame, repetition) pairs within each stream.
    #[arg(long, value_enum, default_value = "shuffled")]
    pub order: OrderArg,
    /// Seed of the shuffled order.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Sign the sweep's MANIFEST.sha256 with this Ed25519 key file.
    #[arg(long)]
    pub sign_key: Option<PathBuf>,
}

pub fn run(a: Args) -> CliResult {
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        let _ = ctrlc::set_handler(move || {
            if stop.swap(true, Ordering::SeqCst) {
                std::process::exit(130);
            }
            eprintln!(
                "\ninterrupted: finishing the current inferences and keeping what was measured"
            );
        });
    }
    let base = ValidateRequest {
        root: a.root,
        data_root: a.data_root,
        out: a.out,
        scenarios: a.scenarios,
        tags: a.tags,
        engines: a.engine.into_iter().collect(),
        backend: a.backend,
        runner: a.runner,
        trtexec: a.trtexec,
        platform: a.platform,
        max_frames: a.max_frames,
        repetitions: a.repetitions,
        warmup: a.warmup,
        order: match a.order {
            OrderArg::Sequential => Order::Sequential,
            OrderArg::Shuffled => Order::Shuffled,
        },
        seed: a.seed,
        sign_key: a.sign_key,
        // No pacing, no raw outputs, no requirements: a sweep measures, it does not judge.
        ..Default::default()
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
    println!("{}", out.dir.display());
    eprintln!("{}", sweep::summary(&out.record));
    Ok(out.status)
}
