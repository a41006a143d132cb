//! `adasval import`: bring measurements made by other tools into the run-record format,
//! so every analysis stage (latency, `wcet`, compare, regression) reads them like a replay.

use std::path::PathBuf;

use adasval::trtexec::{self, ImportRequest};

use super::{CliResult, Failure};

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// TensorRT trtexec exports (--exportTimes, --exportProfile, --exportLayerInfo) → a run
    /// directory. latencies.csv: infer_ns = computeMs, pre_ns = h2dMs, post_ns = d2hMs,
    /// total_ns = latencyMs; every exported field is kept in trtexec.json (docs/TRTEXEC.md).
    Trtexec(TrtexecArgs),
}

#[derive(clap::Args, Debug)]
pub struct TrtexecArgs {
    /// `--exportTimes` JSON (current or pre-8 key names).
    #[arg(long)]
    pub times: PathBuf,
    /// `--exportProfile` JSON (per-layer times) → layers.json.
    #[arg(long)]
    pub profile: Option<PathBuf>,
    /// `--exportLayerInfo` JSON (graph.json) → layers.json.
    #[arg(long)]
    pub layers: Option<PathBuf>,
    /// The engine that was measured: its SHA-256 and size go into the record.
    #[arg(long)]
    pub engine: Option<PathBuf>,
    /// The engine's adapter YAML (classes, thresholds), hashed into the record.
    #[arg(long)]
    pub adapter: Option<PathBuf>,
    /// Engine name in the record (default: the engine file stem, else "trtexec").
    #[arg(long)]
    pub engine_name: Option<String>,
    /// trtexec's console output, for the TensorRT version and the inference options.
    #[arg(long)]
    pub log: Option<PathBuf>,
    /// Platform profile the measurement ran on (platforms/<NAME>.yaml under --root).
    #[arg(long)]
    pub platform: Option<String>,
    /// Platform profile the engine was built on.
    #[arg(long)]
    pub built_on: Option<String>,
    /// Project root holding platforms/.
    #[arg(long, default_value = ".")]
    pub root: PathBuf,
    /// Run directory to write.
    #[arg(long)]
    pub out: PathBuf,
}

pub fn run(c: Command) -> CliResult {
    match c {
        Command::Trtexec(a) => {
            let req = ImportRequest {
                times: a.times,
                profile: a.profile,
                layers: a.layers,
                engine: a.engine,
                adapter: a.adapter,
                engine_name: a.engine_name,
                platform: a.platform,
                built_on: a.built_on,
                log: a.log,
                root: a.root,
                out: a.out,
                command_line: std::env::args().collect(),
                tool: Some(adasval::tool::identity()),
            };
            let rec = trtexec::import(&req).map_err(Failure::classified)?;
            // An imported run is evidence like a replayed one: seal it, so compare, diff
            // and matrix (which read sealed runs only) accept it.
            adasval::evidence::seal(&req.out, None).map_err(Failure::classified)?;
            let t = &rec.traces[0];
            outln!("{}", req.out.display());
            eprintln!(
                "imported {} inferences: compute p50 {} ms p99 {} ms max {} ms",
                t.samples,
                adasval::report::ms(t.latency_ns.infer.p50),
                adasval::report::ms(t.latency_ns.infer.p99),
                adasval::report::ms(t.latency_ns.infer.max),
            );
            Ok(adasval::exit::Status::Pass)
        }
    }
}
