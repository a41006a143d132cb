//! `adasval`: validate one exact perception-engine binary on one platform.

mod cli;

use adasval::exit::Status;
use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "adasval",
    version,
    // `--version` is ours: with `--verbose` it also prints the build's identity.
    disable_version_flag = true,
    arg_required_else_help = true,
    about = "Validation suite for neural-network perception engines in driver-assistance systems",
    long_about = "adasval freezes engine binaries by SHA-256, replays pedestrian and obstacle \
scenarios through them on a target platform, compares the outputs with golden labels and \
across engines, derives latency histograms and WCET bounds, and emits certification evidence.\n\n\
Exit codes: 0 pass, 1 gate failed or run incomplete, 2 bad usage or input, 3 integrity \
failure, 4 backend or environment unavailable."
)]
struct Cli {
    /// No progress and no summary on stderr (results on stdout, errors and the exit status
    /// stay).
    #[arg(long, short, global = true)]
    quiet: bool,
    /// Print the version (with `--verbose`: the commit it was built from, the SHA-256 of
    /// this executable, the compiler and target).
    #[arg(long, short = 'V')]
    version: bool,
    /// With `--version`: the build's full identity.
    #[arg(long, requires = "version")]
    verbose: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Verify frozen engines, replay scenarios on a backend, analyse and write a sealed report.
    Validate(Box<cli::validate::Args>),
    /// Frozen engines: freeze, verify, list, probe a model; GPU plans: build, inspect, diff.
    #[command(subcommand)]
    Engine(cli::engine::Command),
    /// Scenarios: generate synthetic scenes, check scenario files.
    #[command(subcommand)]
    Scenario(ScenarioCommand),
    /// Compare sealed runs of the same scenarios: decision flips, box drift, raw-output agreement.
    Compare(cli::compare::Args),
    /// Regression gate: compare a candidate run with a baseline (exit 1 on regression).
    Diff(cli::diff::Args),
    /// Concurrent camera streams: throughput, per-stream latency, GPU utilisation and the
    /// saturation point over a range of stream counts, with run-to-run latency stability.
    Sweep(Box<cli::sweep::Args>),
    /// Compile × run platform matrix: latency per (built on, ran on) and the study's anomalies.
    Matrix(cli::matrix::Args),
    /// Evaluate COCO-format detections against COCO ground truth (pycocotools-equivalent).
    Eval(cli::eval::Args),
    /// Derive WCET bounds (pWCET) from measured latencies with extreme-value statistics.
    Wcet(Box<cli::wcet::Args>),
    /// Evidence bundles: verify, seal and sign run directories; generate signing keys.
    Evidence(cli::evidence::Args),
    /// Release gate: re-evaluate a stored, sealed run against the requirements (exit 0 pass,
    /// 1 a requirement failed or the run is incomplete, 3 evidence or engines tampered).
    Gate(cli::gate::Args),
    /// Judge a stored run from its raw records alone (run.json, latencies.csv, *.jsonl):
    /// metrics, WCET, evidence, verdicts and reports recomputed, then sealed.
    Judge(cli::judge::Args),
    /// Farm validation: merge the sealed shards of `validate --shard K/N` into one judged
    /// run (every item exactly once; shards of one work list, lock, requirements, version).
    Merge(cli::merge::Args),
    /// Farm validation: the items of a shard (`shard list`), a cost-balanced plan (`shard plan`).
    #[command(subcommand)]
    Shard(cli::shard::Command),
    /// Import measurements of other tools (TensorRT trtexec) as a run directory.
    #[command(subcommand)]
    Import(cli::import::Command),
    /// Check adasval on this machine against reference values of independent
    /// implementations (no Python, no network); writes a sealed bundle (exit 0 all passed,
    /// 1 a case failed, 3 the reference cases do not match their manifest).
    Selftest(cli::selftest::Args),
    /// Tool qualification: `qualification report --out DIR` writes the sealed report of this
    /// binary on this machine (use cases, tool errors and measures, TI/TD/TCL template,
    /// self-test results, known limitations, versions).
    #[command(subcommand)]
    Qualification(cli::qualification::Command),
    /// Print a shell completion script (e.g. `adasval completions bash > /etc/bash_completion.d/adasval`).
    Completions {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
}

#[derive(Subcommand, Debug)]
enum ScenarioCommand {
    /// Render deterministic synthetic road scenes (images + COCO instances JSON with exact labels).
    Synth(cli::synth::Args),
    /// Validate every scenario and every file it references (paths must stay inside the root).
    Check(cli::scenario::CheckArgs),
    /// List the scenarios a run would load; `--expand` lists every instance of each swept
    /// family with its parameters.
    List(cli::scenario::ListArgs),
}

fn main() -> std::process::ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return std::process::ExitCode::from(if e.use_stderr() {
                Status::BadInput.code()
            } else {
                0
            });
        }
    };
    cli::set_quiet(cli.quiet);
    let command = match (cli.version, cli.command) {
        (true, _) => {
            cli::version::print(cli.verbose);
            return std::process::ExitCode::SUCCESS;
        }
        (false, Some(c)) => c,
        (false, None) => {
            use clap::CommandFactory;
            let e = Cli::command().error(
                clap::error::ErrorKind::MissingSubcommand,
                "a subcommand is required (see --help)",
            );
            let _ = e.print();
            return std::process::ExitCode::from(Status::BadInput.code());
        }
    };
    let result = match command {
        Command::Validate(a) => cli::validate::run(*a),
        Command::Engine(c) => cli::engine::run(c),
        Command::Scenario(ScenarioCommand::Synth(a)) => cli::synth::run(a),
        Command::Scenario(ScenarioCommand::Check(a)) => cli::scenario::check(a),
        Command::Scenario(ScenarioCommand::List(a)) => cli::scenario::list(a),
        Command::Eval(a) => cli::eval::run(a),
        Command::Compare(a) => cli::compare::run(a),
        Command::Diff(a) => cli::diff::run(a),
        Command::Sweep(a) => cli::sweep::run(*a),
        Command::Matrix(a) => cli::matrix::run(a),
        Command::Wcet(a) => cli::wcet::run(*a),
        Command::Evidence(a) => cli::evidence::run(a),
        Command::Gate(a) => cli::gate::run(a),
        Command::Judge(a) => cli::judge::run(a),
        Command::Import(c) => cli::import::run(c),
        Command::Merge(a) => cli::merge::run(a),
        Command::Shard(c) => cli::shard::run(c),
        Command::Selftest(a) => cli::selftest::run(a),
        Command::Qualification(c) => cli::qualification::run(c),
        Command::Completions { shell } => {
            use clap::CommandFactory;
            let mut cmd = Cli::command();
            clap_complete::generate(shell, &mut cmd, "adasval", &mut std::io::stdout());
            Ok(Status::Pass)
        }
    };
    match result {
        Ok(status) => std::process::ExitCode::from(status.code()),
        Err(f) => {
            // Library errors already embed their sources' text; print each link of the
            // chain only when its text is new.
            let mut msg = f.error.to_string();
            for cause in f.error.chain().skip(1) {
                let c = cause.to_string();
                if !msg.contains(&c) {
                    msg = format!("{msg}: {c}");
                }
            }
            eprintln!("error: {msg}");
            std::process::ExitCode::from(f.status.code())
        }
    }
}
