//! `adasval diff`: the regression gate after an upgrade. Baseline and candidate runs
//! (`--baseline R1 R2 ... --candidate R3 R4 ...`, or `diff BASELINE CANDIDATE`), or one
//! interleaved session (`diff RUN`, from `validate --interleave`), or several
//! (`diff --sessions S1 S2 S3`).

use std::path::PathBuf;

use adasval::exit::Status;
use adasval::regress::{self, Decision, DiffInput, Thresholds};

use super::{CliResult, Failure, Format};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// `BASELINE CANDIDATE` (one sealed run each), or one interleaved session alone.
    #[arg(num_args = 0..=2, conflicts_with_all = ["baseline", "candidate", "sessions"])]
    pub runs: Vec<PathBuf>,
    /// Several interleaved sessions (`validate --interleave`) of the same two engines: each
    /// session is one paired unit of every latency check (recommended: 3 or more).
    #[arg(long, num_args = 2.., value_name = "SESSION", conflicts_with_all = ["baseline", "candidate"])]
    pub sessions: Vec<PathBuf>,
    /// Sealed baseline runs (each one unit of the latency comparison).
    #[arg(long, num_args = 1.., value_name = "RUN", requires = "candidate")]
    pub baseline: Vec<PathBuf>,
    /// Sealed candidate runs.
    #[arg(long, num_args = 1.., value_name = "RUN", requires = "baseline")]
    pub candidate: Vec<PathBuf>,
    /// Earlier sealed runs of the same engines on the same platform, for the run-to-run
    /// variation (default with one run per side: the sealed runs beside the baseline).
    #[arg(long, num_args = 1.., value_name = "RUN")]
    pub history: Option<Vec<PathBuf>>,
    /// Regression thresholds YAML (the `regression:` section's fields, see
    /// docs/REGRESSION.md); overrides the requirements file's section.
    #[arg(long)]
    pub thresholds: Option<PathBuf>,
    /// Requirements file whose `regression:` section holds the thresholds (default:
    /// safety-case/requirements.yaml under --root, when present).
    #[arg(long)]
    pub requirements: Option<PathBuf>,
    /// Project root for the default requirements file.
    #[arg(long, default_value = ".")]
    pub root: PathBuf,
    /// Exit status of an inconclusive result: fail (1, the release-gate default) or pass (0).
    #[arg(long, value_enum, default_value_t = Inconclusive::Fail)]
    pub inconclusive: Inconclusive,
    /// Write a JUnit XML report here (one test case per check).
    #[arg(long)]
    pub junit: Option<PathBuf>,
    /// Write diff.json and diff.md here (then sealed).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// What to print on stdout: the Markdown report (text) or every check with its
    /// `decision` (json).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Inconclusive {
    Pass,
    Fail,
}

fn thresholds(a: &Args) -> Result<Thresholds, Failure> {
    if let Some(p) = &a.thresholds {
        return adasval::yamlfile::load(p).map_err(Failure::classified);
    }
    let default = a.root.join("safety-case/requirements.yaml");
    let path = match &a.requirements {
        Some(p) => p.clone(),
        None if default.is_file() => default,
        None => return Ok(Thresholds::default()),
    };
    let req =
        adasval::safety::requirements::Requirements::load(&path).map_err(Failure::classified)?;
    Ok(req.regression.unwrap_or_default())
}

pub fn run(a: Args) -> CliResult {
    let th = thresholds(&a)?;
    let input = match a.runs.as_slice() {
        [] if !a.sessions.is_empty() => DiffInput {
            baseline: a.sessions.clone(),
            candidate: a.sessions.clone(),
            history: a.history.clone(),
        },
        [] if a.baseline.is_empty() => {
            return Err(Failure::bad_input(anyhow::anyhow!(
            "give BASELINE CANDIDATE, --baseline RUN... --candidate RUN..., or one interleaved run, or --sessions SESSION..."
        )))
        }
        [] => DiffInput {
            baseline: a.baseline.clone(),
            candidate: a.candidate.clone(),
            history: a.history.clone(),
        },
        [one] => DiffInput {
            baseline: vec![one.clone()],
            candidate: vec![one.clone()],
            history: a.history.clone(),
        },
        [b, c, ..] => DiffInput {
            baseline: vec![b.clone()],
            candidate: vec![c.clone()],
            history: a.history.clone(),
        },
    };
    let r = regress::diff(&input, &th).map_err(Failure::classified)?;
    let json = serde_json::to_string_pretty(&r).map_err(Failure::bad_input)?;
    let md = adasval::report::regress::markdown(&r);
    if let Some(out) = &a.out {
        std::fs::create_dir_all(out).map_err(Failure::bad_input)?;
        adasval::evidence::write_atomic(&out.join("diff.json"), json.as_bytes())
            .map_err(Failure::classified)?;
        adasval::evidence::write_atomic(&out.join("diff.md"), md.as_bytes())
            .map_err(Failure::classified)?;
        adasval::evidence::seal(out, None).map_err(Failure::classified)?;
    }
    let inconclusive_fails = a.inconclusive == Inconclusive::Fail;
    if let Some(path) = &a.junit {
        let xml = adasval::report::regress::junit_xml(&r, inconclusive_fails)
            .map_err(Failure::classified)?;
        adasval::evidence::write_atomic(path, xml.as_bytes()).map_err(Failure::classified)?;
    }
    match a.format {
        Format::Json => outln!("{json}"),
        Format::Text => outln!("{md}"),
    }
    Ok(match r.decision {
        Decision::Regressed => Status::GateFailed,
        Decision::Inconclusive if inconclusive_fails => Status::GateFailed,
        _ => Status::Pass,
    })
}
