//! `adasval qualification report --out DIR`: run the self-test into `DIR/selftest/`, write
//! the qualification report (Markdown and HTML) beside it and seal the directory. Exit 0
//! when the self-test passed, 1 when a case failed (the report still says which).

use super::{CliResult, Failure};
use adasval::exit::Status;
use std::path::PathBuf;

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Write the tool-qualification report of this binary on this machine (use cases, tool
    /// errors and their measures, a TI/TD/TCL template, the self-test results, known
    /// limitations, versions), sealed.
    Report(ReportArgs),
}

#[derive(clap::Args, Debug)]
pub struct ReportArgs {
    /// Directory for the report (created; must not exist or be empty).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

pub fn run(c: Command) -> CliResult {
    let Command::Report(a) = c;
    if std::fs::read_dir(&a.out).is_ok_and(|mut d| d.next().is_some()) {
        return Err(Failure::bad_input(anyhow::anyhow!(
            "{} already exists and is not empty: choose another --out",
            a.out.display()
        )));
    }
    let rec = super::selftest::run_into(&a.out.join(adasval::selftest::RUN_SUBDIR), None)?;
    let doc = adasval::qualification::document(&rec);
    let write = |name: &str, text: String| {
        adasval::atomic::write_atomic(&a.out.join(name), text.as_bytes())
            .map_err(|e| Failure::unavailable(anyhow::anyhow!("cannot write {name}: {e}")))
    };
    write(
        "qualification.md",
        adasval::report::markdown::document(&doc),
    )?;
    write("qualification.html", adasval::report::html::page(&doc))?;
    adasval::evidence::seal(&a.out, None).map_err(Failure::classified)?;
    outln!("{}", a.out.display());
    if rec.pass {
        Ok(Status::Pass)
    } else {
        eprintln!(
            "error: the self-test failed ({}); the report says so",
            rec.failed_cases().join(", ")
        );
        Ok(Status::GateFailed)
    }
}
