//! `adasval diff <baseline-run> <candidate-run>`: the regression gate after an upgrade.

use std::path::PathBuf;

use adasval::exit::Status;
use adasval::regress::{self, Thresholds};

use super::{CliResult, Failure, Format};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Sealed baseline run directory.
    pub baseline: PathBuf,
    /// Sealed candidate run directory.
    pub candidate: PathBuf,
    /// Regression thresholds YAML (see docs/REGRESSION.md); defaults otherwise.
    #[arg(long)]
    pub thresholds: Option<PathBuf>,
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

pub fn run(a: Args) -> CliResult {
    let th: Thresholds = match &a.thresholds {
        Some(p) => adasval::yamlfile::load(p).map_err(Failure::classified)?,
        None => Thresholds::default(),
    };
    let r = regress::diff(&a.baseline, &a.candidate, &th).map_err(Failure::classified)?;
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
    if let Some(path) = &a.junit {
        let xml = adasval::report::regress::junit_xml(&r).map_err(Failure::classified)?;
        adasval::evidence::write_atomic(path, xml.as_bytes()).map_err(Failure::classified)?;
    }
    match a.format {
        Format::Json => outln!("{json}"),
        Format::Text => outln!("{md}"),
    }
    Ok(if r.decision.is_regressed() {
        Status::GateFailed
    } else {
        Status::Pass
    })
}
