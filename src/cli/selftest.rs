//! `adasval selftest`: run the reference cases (no Python, no network), print each case's
//! values with the expected ones and their tolerance, write the sealed bundle; exit 0 when
//! every case passes, 1 otherwise.

use super::{CliResult, Failure};
use adasval::exit::Status;
use adasval::selftest::{self, CaseSet, Estimators, SelftestRecord};
use std::path::{Path, PathBuf};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Directory for the sealed bundle (created; must not exist or be empty).
    #[arg(long, value_name = "DIR", default_value = "selftest")]
    pub out: PathBuf,
    /// Read the reference cases from DIR (a copy of `qualification/`, checked against its
    /// MANIFEST.sha256) instead of the ones compiled into this binary.
    #[arg(long, value_name = "DIR")]
    pub cases: Option<PathBuf>,
}

/// Load the cases, run them with adasval's estimators and write the bundle into `out`.
pub fn run_into(out: &Path, cases: Option<&Path>) -> Result<SelftestRecord, Failure> {
    let set: CaseSet = match cases {
        Some(dir) => selftest::cases::from_dir(dir),
        None => selftest::cases::embedded(),
    }
    .map_err(Failure::classified)?;
    let exe = std::env::current_exe().ok();
    let rec = selftest::run(&set, &Estimators::adasval(), exe.as_deref());
    selftest::write_bundle(out, &rec, &set).map_err(Failure::classified)?;
    Ok(rec)
}

pub fn print(rec: &SelftestRecord) {
    for c in &rec.cases {
        let mark = match (c.pass, &c.not_run) {
            (_, Some(_)) => "NOT RUN",
            (true, None) => "PASS",
            (false, None) => "FAIL",
        };
        outln!("{mark} {} ({})", c.name, c.reference);
        if let Some(why) = &c.not_run {
            outln!("     not run on this machine: {why}");
        }
        if let Some(e) = &c.error {
            outln!("     error: {e}");
        }
        for k in &c.checks {
            outln!(
                "     {} {}: expected {} obtained {} tolerance {}",
                if k.pass { "ok  " } else { "FAIL" },
                k.quantity,
                k.expected,
                k.obtained
                    .as_ref()
                    .map(|v| v.to_string())
                    .unwrap_or_else(|| "nothing".into()),
                k.tolerance
                    .as_ref()
                    .map(|t| t.describe())
                    .unwrap_or_else(|| "none given".into()),
            );
        }
    }
}

pub fn run(a: Args) -> CliResult {
    let rec = run_into(&a.out, a.cases.as_deref())?;
    print(&rec);
    let failed = rec.failed_cases();
    if failed.is_empty() {
        outln!(
            "selftest: {}; sealed in {}",
            rec.headline(),
            a.out.display()
        );
        Ok(Status::Pass)
    } else {
        outln!(
            "selftest: {} of {} cases FAILED ({}); sealed in {}",
            failed.len(),
            rec.cases.len(),
            failed.join(", "),
            a.out.display()
        );
        Ok(Status::GateFailed)
    }
}
