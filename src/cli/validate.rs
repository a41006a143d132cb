//! `adasval validate`: verify frozen engines, replay scenarios, analyse and report.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use adasval::replay::{Order, Progress};
use adasval::validate::{self, ProgressFactory, ValidateRequest};

use super::{CliResult, Failure};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub replay: ReplayArgs,
    /// Run directory (default: reports/<run-id>).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// What to print on stdout: the run directory (text; the verdicts go to stderr), or the
    /// run directory, exit status and verdicts (`summary.json`) as one JSON object.
    #[arg(long, value_enum, default_value_t = super::Format::Text)]
    pub format: super::Format,
    /// Only these engines from the lock (repeatable, or comma-separated; default: all).
    #[arg(long = "engine", value_delimiter = ',')]
    pub engines: Vec<String>,
    /// `--backend cuda`: time every layer with CUDA events and write layers.json (per-layer
    /// times and cuDNN algorithm choices, compared by `adasval diff`). Adds event overhead
    /// to the per-frame times. (Named `--profile` before the scenario profiles took it.)
    #[arg(long)]
    pub layer_profile: bool,
    /// Pace inferences at each scenario's frame rate instead of back to back.
    #[arg(long)]
    pub pace: bool,
    /// Concurrent camera streams: replay every trace on N host threads at once, each with
    /// its own session (device stream) of one shared prepared engine, timing from a common
    /// start. Adds a `stream` column to latencies.csv and `traces[].streams` to run.json
    /// when N > 1; detections come from stream 0.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub streams: u32,
    /// Replay the two selected engines (`--engine BASELINE,CANDIDATE`) alternately in one
    /// session, one pass over the frames each (A B A B ..., one block per repetition),
    /// recorded in run.json; `adasval diff RUN` then compares them block by block.
    #[arg(long, conflicts_with = "streams")]
    pub interleave: bool,
    /// `--interleave`: repetitions of the frames in each block (more samples per block for
    /// scenarios with few frames; each block gives one p50 and one p99).
    #[arg(long, default_value_t = 1, requires = "interleave", value_parser = clap::value_parser!(u32).range(1..))]
    pub block_repetitions: u32,
    /// Keep every frame's raw output tensors in the run directory (for `compare`).
    #[arg(long)]
    pub save_outputs: bool,
    /// Requirements to judge the run on (default: safety-case/requirements.yaml).
    #[arg(long)]
    pub requirements: Option<PathBuf>,
    /// Waivers of known failures (default: safety-case/waivers.yaml when present and the
    /// requirements are the project's).
    #[arg(long, value_name = "FILE")]
    pub waivers: Option<PathBuf>,
    /// GSN safety case to render (default: safety-case/gsn.yaml when present).
    #[arg(long)]
    pub gsn: Option<PathBuf>,
    /// Run `adasval selftest` first (refusing to replay when a case fails, exit 1) and seal
    /// its results inside the run directory (`selftest/`), where `gate --require-selftest`
    /// looks for them.
    #[arg(long)]
    pub selftest: bool,
    /// Sign MANIFEST.sha256 with this Ed25519 key file (see `adasval evidence keygen`).
    #[arg(long)]
    pub sign_key: Option<PathBuf>,
    /// Critical misses: minimum golden box height in pixels of a safety-critical object.
    #[arg(long, default_value_t = 24.0)]
    pub critical_min_height: f32,
    /// Critical misses: consecutive missed frames (K) that make a critical miss.
    #[arg(long, default_value_t = 3)]
    pub critical_frames: usize,
    /// Critical misses: region of interest `x,y,w,h` in image pixels (default: whole frame).
    #[arg(long, value_delimiter = ',', num_args = 4)]
    pub critical_roi: Option<Vec<f32>>,
    /// Run only the K-th of N shards of the (engine × scenario) work list (`K/N` or
    /// `hash:K/N`: items by a stable hash of their id), seal the raw records with
    /// shard.json, and leave the verdicts to `adasval merge` (docs/FARM.md).
    #[arg(long, value_name = "K/N", conflicts_with = "interleave")]
    pub shard: Option<String>,
    /// With `--shard`: take the items from this cost-balanced plan (`adasval shard plan`)
    /// instead of the hash.
    #[arg(long, value_name = "FILE", requires = "shard")]
    pub shard_plan: Option<PathBuf>,
}

/// `--shard K/N [--shard-plan FILE]` as a selection.
pub(crate) fn shard_selection(
    spec: Option<&str>,
    plan: Option<&std::path::Path>,
) -> Result<Option<adasval::farm::shard::ShardSelection>, Failure> {
    use adasval::farm::shard::{ShardSelection, ShardSpec};
    let Some(spec) = spec else { return Ok(None) };
    let spec = ShardSpec::parse(spec).map_err(Failure::classified)?;
    Ok(Some(match plan {
        Some(p) => ShardSelection::with_plan(spec, p).map_err(Failure::classified)?,
        None => ShardSelection::by_hash(spec),
    }))
}

/// `--profile`: which scenario files a run loads.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProfileArg {
    Default,
    Full,
}

impl From<ProfileArg> for adasval::scenario::Profile {
    fn from(p: ProfileArg) -> Self {
        match p {
            ProfileArg::Default => Self::Default,
            ProfileArg::Full => Self::Full,
        }
    }
}

/// What to replay and how: the flags `validate` and `sweep` share.
#[derive(clap::Args, Debug)]
pub struct ReplayArgs {
    /// Project root (holds engines/, scenarios/, platforms/, safety-case/).
    #[arg(long, default_value = ".")]
    pub root: PathBuf,
    /// Root that scenario image and label paths resolve against and may not leave
    /// (default: the project root).
    #[arg(long)]
    pub data_root: Option<PathBuf>,
    /// Only these scenario ids, or the ids of swept files (all their instances) (repeatable, or comma-separated).
    #[arg(long = "scenario", value_delimiter = ',')]
    pub scenarios: Vec<String>,
    /// Only scenarios carrying any of these tags or categories (repeatable, or
    /// comma-separated). Names, ids and tags never hold a comma, so every list flag takes
    /// both forms.
    #[arg(long = "tags", alias = "tag", value_delimiter = ',')]
    pub tags: Vec<String>,
    /// Which scenarios: `default` (scenarios/*.yaml) or `full` (also the Euro NCAP
    /// catalogue in scenarios/catalogue/, every family instance; see docs/SCENARIOS.md).
    #[arg(long, value_enum, default_value_t = ProfileArg::Default)]
    pub profile: ProfileArg,
    /// Most instances one swept scenario file may expand to before it is refused.
    #[arg(long, default_value_t = adasval::scenario::sweep::DEFAULT_MAX_INSTANCES)]
    pub max_instances: usize,
    /// Run sweeps that expand beyond `--max-instances`.
    #[arg(long)]
    pub allow_large: bool,
    /// Backend that runs the engines.
    #[arg(long, default_value = "cpu")]
    pub backend: String,
    /// Command of the external runner for `--backend runner`, e.g.
    /// "python3 runners/ort_runner.py" (split on spaces; quotes group; no shell).
    #[arg(long)]
    pub runner: Option<String>,
    /// trtexec command for `--backend trtexec`, with any extra flags, e.g.
    /// "/usr/src/tensorrt/bin/trtexec --useSpinWait" (default: trtexec on PATH).
    #[arg(long)]
    pub trtexec: Option<String>,
    /// `--backend cuda`: run GPU plans built for another compute capability than this GPU's.
    #[arg(long)]
    pub force: bool,
    /// Platform profile to tag the run with (default: detected from the fingerprint).
    #[arg(long)]
    pub platform: Option<String>,
    /// Use at most this many frames per scenario.
    #[arg(long)]
    pub max_frames: Option<usize>,
    /// Timed repetitions of every frame, per stream (default: the scenario's
    /// `timing.repetitions`, else 1).
    #[arg(long)]
    pub repetitions: Option<u32>,
    /// Untimed warm-up inferences before each trace, per stream (default: scenario's, else 5).
    #[arg(long)]
    pub warmup: Option<u32>,
    /// Run every trace for at least this many seconds of timed inferences (as trtexec's
    /// `--duration`): after the planned passes, more passes over the frames, each in its
    /// own seeded order.
    #[arg(long, value_name = "SECONDS", value_parser = positive_seconds)]
    pub duration: Option<f64>,
    /// Run every trace for at least this many timed inferences (as LoadGen's
    /// `min_query_count`).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub min_inferences: Option<u64>,
    /// Early stopping on precision: once the minimums are met, keep measuring until the 95%
    /// distribution-free confidence interval of the p99 inference latency is narrower than
    /// this, e.g. `2%` (of the p99) or `0.3ms`; at most `--max-duration` per trace.
    #[arg(long, value_name = "WIDTH", value_parser = parse_width)]
    pub p99_ci_width: Option<WidthArg>,
    /// Time cap per trace for `--p99-ci-width`, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 300.0, value_parser = positive_seconds, requires = "p99_ci_width")]
    pub max_duration: f64,
    /// Order of the timed (frame, repetition) pairs: shuffled (seeded) gives samples closer
    /// to independent for the WCET analysis.
    #[arg(long, value_enum, default_value = "shuffled")]
    pub order: OrderArg,
    /// Seed of the shuffled order.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// `--backend cpu`: threads of one inference (tract's matrix products split over a pool
    /// of this size; inferences still run one at a time) [default: 1]. Recorded in run.json
    /// (`backend.settings.threads`); `diff` compares only runs with the same number.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=256))]
    pub threads: Option<u32>,
}

/// A `--p99-ci-width` value as given.
#[derive(Clone, Copy, Debug)]
pub struct WidthArg(pub adasval::replay::Width);

fn positive_seconds(s: &str) -> Result<f64, String> {
    match s.trim().trim_end_matches('s').parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err(format!("`{s}` is not a positive number of seconds")),
    }
}

/// `2%` (relative to the p99), or `0.3ms` / `300us` / `300000ns` (absolute).
fn parse_width(s: &str) -> Result<WidthArg, String> {
    use adasval::replay::Width;
    let t = s.trim();
    let bad = || {
        format!("`{s}` is not a width: give a percentage such as `2%` or a time such as `0.3ms`, `300us`")
    };
    let num = |v: &str| {
        v.trim()
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite() && *x > 0.0)
    };
    let width = if let Some(v) = t.strip_suffix('%') {
        Width::Relative(num(v).ok_or_else(bad)? / 100.0)
    } else {
        let (v, scale) = if let Some(v) = t.strip_suffix("ms") {
            (v, 1e6)
        } else if let Some(v) = t.strip_suffix("us") {
            (v, 1e3)
        } else if let Some(v) = t.strip_suffix("ns") {
            (v, 1.0)
        } else {
            return Err(bad());
        };
        Width::Nanoseconds((num(v).ok_or_else(bad)? * scale).round().max(1.0) as u64)
    };
    Ok(WidthArg(width))
}

impl ReplayArgs {
    /// The trace bounds these flags ask for; a time cap below the minimum duration is bad
    /// usage.
    pub(crate) fn bounds(&self) -> Result<adasval::replay::RunBounds, Failure> {
        if let (Some(d), Some(_)) = (self.duration, self.p99_ci_width) {
            if self.max_duration < d {
                return Err(Failure::bad_input(anyhow::anyhow!(
                    "--max-duration {} s is shorter than --duration {d} s: the cap would end every trace before its minimum",
                    self.max_duration
                )));
            }
        }
        Ok(adasval::replay::RunBounds {
            min_inferences: self.min_inferences,
            min_duration_s: self.duration,
            precision: self.p99_ci_width.map(|w| adasval::replay::PrecisionTarget {
                quantile: 0.99,
                confidence: 0.95,
                max_width: w.0,
                max_duration_s: self.max_duration,
            }),
        })
    }

    /// A request carrying these flags; everything else at its default.
    pub(crate) fn request(self) -> Result<ValidateRequest, Failure> {
        let bounds = self.bounds()?;
        Ok(ValidateRequest {
            bounds,
            root: self.root,
            data_root: self.data_root,
            scenarios: self.scenarios,
            tags: self.tags,
            profile: self.profile.into(),
            max_instances: Some(self.max_instances),
            allow_large: self.allow_large,
            backend: self.backend,
            runner: self.runner,
            trtexec: self.trtexec,
            cuda_force: self.force,
            platform: self.platform,
            max_frames: self.max_frames,
            repetitions: self.repetitions,
            warmup: self.warmup,
            order: match self.order {
                OrderArg::Sequential => Order::Sequential,
                OrderArg::Shuffled => Order::Shuffled,
            },
            seed: self.seed,
            cpu_threads: self.threads,
            ..Default::default()
        })
    }
}

/// Ctrl-C asks the replay to stop and keep what was measured; a second Ctrl-C still ends
/// the process.
pub(crate) fn stop_on_ctrl_c(message: &'static str) -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let _ = ctrlc::set_handler(move || {
        if flag.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
        eprintln!("\n{message}");
    });
    stop
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum OrderArg {
    Sequential,
    Shuffled,
}

pub(crate) struct Bars;

struct Bar(indicatif::ProgressBar);

impl Progress for Bar {
    fn inc(&self) {
        self.0.inc(1);
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.0.finish_and_clear();
    }
}

/// Without a terminal (a CI log) a bar draws nothing: one plain line per trace instead,
/// when it ends, with its count and rate, so a long run is never silent.
struct Line {
    label: String,
    total: u64,
    done: std::cell::Cell<u64>,
    started: std::time::Instant,
}

impl Progress for Line {
    fn inc(&self) {
        self.done.set(self.done.get() + 1);
    }
}

impl Drop for Line {
    fn drop(&mut self) {
        let s = self.started.elapsed().as_secs_f64();
        let n = self.done.get();
        eprintln!(
            "{}: {n}/{} inferences in {s:.1} s ({:.1}/s)",
            self.label,
            self.total,
            if s > 0.0 { n as f64 / s } else { 0.0 }
        );
    }
}

impl ProgressFactory for Bars {
    fn start(&self, label: &str, total: u64) -> Box<dyn Progress> {
        use std::io::IsTerminal;
        if super::quiet() {
            return Box::new(adasval::replay::NoProgress);
        }
        if !std::io::stderr().is_terminal() {
            return Box::new(Line {
                label: label.to_string(),
                total,
                done: std::cell::Cell::new(0),
                started: std::time::Instant::now(),
            });
        }
        let pb = indicatif::ProgressBar::new(total);
        pb.set_style(
            indicatif::ProgressStyle::with_template(
                "{msg:40} {bar:30} {pos}/{len} {per_sec} eta {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        pb.set_message(label.to_string());
        Box::new(Bar(pb))
    }
}

pub fn run(a: Args) -> CliResult {
    let stop = stop_on_ctrl_c(
        "interrupted: finishing the current inference and keeping what was measured",
    );
    let shard = shard_selection(a.shard.as_deref(), a.shard_plan.as_deref())?;
    let selftest = if a.selftest {
        let set = adasval::selftest::cases::embedded().map_err(Failure::classified)?;
        let exe = std::env::current_exe().ok();
        let rec = adasval::selftest::run(
            &set,
            &adasval::selftest::Estimators::adasval(),
            exe.as_deref(),
        );
        if !rec.pass {
            super::selftest::print(&rec);
            eprintln!(
                "error: the self-test failed ({}): nothing replayed",
                rec.failed_cases().join(", ")
            );
            return Ok(adasval::exit::Status::GateFailed);
        }
        if !super::quiet() {
            eprintln!("self-test: all {} cases passed", rec.passed);
        }
        Some(Box::new((rec, set)))
    } else {
        None
    };
    let req = ValidateRequest {
        selftest,
        shard,
        out: a.out,
        engines: a.engines,
        cuda_profile: a.layer_profile,
        pace: a.pace,
        streams: (a.streams > 1).then_some(a.streams),
        interleave: a.interleave,
        block_repetitions: a.block_repetitions,
        keep_raw_outputs: a.save_outputs,
        requirements: a.requirements,
        waivers: a.waivers,
        gsn: a.gsn,
        sign_key: a.sign_key,
        safety_view: adasval::analysis::detection_stage::SafetyViewSettings {
            min_height_px: a.critical_min_height,
            consecutive_frames: a.critical_frames,
            roi: a.critical_roi.map(|r| [r[0], r[1], r[2], r[3]]),
            iou_threshold: 0.5,
        },
        ..a.replay.request()?
    };
    let argv: Vec<String> = std::env::args().collect();
    let outcome = validate::run(&req, argv, &Bars, &stop).map_err(Failure::classified)?;
    print_outcome(&outcome, a.format);
    Ok(outcome.status)
}

/// The end of a judged run on stdout and stderr, as `--format` asks.
pub(crate) fn print_outcome(outcome: &adasval::validate::ValidateOutcome, format: super::Format) {
    match format {
        super::Format::Text => {
            outln!("{}", outcome.run_dir.display());
            if !super::quiet() {
                eprintln!("{}", outcome.summary);
            }
        }
        super::Format::Json => {
            // The verdicts as the run directory holds them; a run judged without
            // requirements has none, and says so.
            let summary = std::fs::read(outcome.run_dir.join("summary.json"))
                .ok()
                .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok());
            let v = serde_json::json!({
                "run_dir": outcome.run_dir,
                "exit_code": outcome.status.code(),
                "summary": summary,
                "no_summary_reason": if summary.is_some() {
                    None
                } else if outcome.run_dir.join(adasval::farm::SHARD_FILE).exists() {
                    Some("a shard is not judged on its own: `adasval merge` judges all shards together")
                } else {
                    Some("no requirements were judged (no requirements file)")
                },
            });
            outln!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        }
    }
}
