//! `adasval gate <run-dir>`: the CI release gate over a stored, sealed run.

use super::{CliResult, Failure};
use adasval::evidence::{keys, write_atomic};
use adasval::exit::{Classify, Status};
use adasval::report::summary::{markdown, SummaryInput};
use adasval::report::{gsn_svg, junit, trace};
use adasval::safety::{self, Evaluation, GateRequest, SafetyError};
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The run directory written (and sealed) by `adasval validate`.
    run_dir: PathBuf,
    /// Requirements file; default: the run's own requirements.yaml, else
    /// safety-case/requirements.yaml under --project-root.
    #[arg(long, value_name = "FILE")]
    requirements: Option<PathBuf>,
    /// Write a JUnit XML report here (one test case per requirement and scope instance).
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Write a Markdown summary (for a pull-request comment) here.
    #[arg(long, value_name = "FILE")]
    summary: Option<PathBuf>,
    /// Render the GSN safety case, goals marked from the verdicts, to this SVG file.
    #[arg(long, value_name = "FILE")]
    gsn_svg: Option<PathBuf>,
    /// GSN file for --gsn-svg; default: the run's own gsn.yaml, else safety-case/gsn.yaml
    /// under --project-root.
    #[arg(long, value_name = "FILE")]
    gsn: Option<PathBuf>,
    /// Write the traceability matrix here (HTML table when FILE ends in .html, else Markdown).
    #[arg(long, value_name = "FILE")]
    trace: Option<PathBuf>,
    /// What to print on stdout: the Markdown summary (text) or all verdicts (json).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Public key the run's manifest signature must verify with.
    #[arg(long, value_name = "FILE")]
    public_key: Option<PathBuf>,
    /// Directory that engine and adapter paths in run.json are relative to.
    #[arg(long, value_name = "DIR", default_value = ".")]
    project_root: PathBuf,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Text,
    Json,
}

const TITLE: &str = "adasval gate";

pub fn run(args: Args) -> CliResult {
    let key = match &args.public_key {
        Some(p) => Some(keys::read_verifying_key(p).map_err(Failure::classified)?),
        None => None,
    };
    let req = GateRequest {
        run_dir: &args.run_dir,
        requirements: args.requirements.as_deref(),
        project_root: &args.project_root,
        public_key: key.as_ref(),
    };
    let outcome = match safety::gate(&req) {
        Ok(o) => o,
        Err(SafetyError::Tampered { dir, problems }) => {
            return tampered(&args, dir, problems);
        }
        Err(e) => return Err(Failure::classified(e)),
    };
    let status = outcome.status();
    let mut notes = vec![format!(
        "run `{}` ({}), requirements `{}`",
        outcome.run_id.as_deref().unwrap_or("?"),
        if outcome.evaluation.run_complete {
            "complete"
        } else {
            "incomplete"
        },
        outcome.requirements_file.display()
    )];
    notes.push(format!(
        "manifest intact: {} files, {}",
        outcome.manifest.checked,
        match outcome.manifest.signature {
            adasval::evidence::SignatureCheck::Valid => "signature valid",
            adasval::evidence::SignatureCheck::NotChecked { present: true } =>
                "signed, signature not checked",
            _ => "unsigned",
        }
    ));
    let bad: Vec<String> = outcome
        .lock_checks
        .iter()
        .filter(|c| !c.ok())
        .map(|c| format!("`{}`", c.path))
        .collect();
    notes.push(if bad.is_empty() {
        format!(
            "engines and adapters: {} of {} match",
            outcome.lock_checks.len(),
            outcome.lock_checks.len()
        )
    } else {
        format!(
            "**engines/adapters changed since the run:** {}",
            bad.join(", ")
        )
    });
    let md = markdown(&SummaryInput {
        title: TITLE,
        status,
        notes,
        eval: &outcome.evaluation,
    });
    write_outputs(&args, &outcome.evaluation, Some(&outcome.requirements), &md)?;
    match args.format {
        Format::Json => outln!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "status": status.code(),
                "outcome": outcome,
            }))
            .map_err(Failure::bad_input)?
        ),
        Format::Text => out!("{md}"),
    }
    Ok(status)
}

fn write_outputs(
    args: &Args,
    eval: &Evaluation,
    requirements: Option<&safety::Requirements>,
    md: &str,
) -> Result<(), Failure> {
    if let Some(p) = &args.junit {
        let xml = junit::junit_xml(TITLE, eval).map_err(Failure::classified)?;
        write_atomic(p, xml.as_bytes()).map_err(Failure::classified)?;
    }
    if let Some(p) = &args.summary {
        write_atomic(p, md.as_bytes()).map_err(Failure::classified)?;
    }
    if let Some(p) = &args.trace {
        let rows = safety::traceability(eval);
        let body = if p.extension().is_some_and(|e| e == "html") {
            trace::html(&rows)
        } else {
            trace::markdown(&rows)
        };
        write_atomic(p, body.as_bytes()).map_err(Failure::classified)?;
    }
    if let Some(out) = &args.gsn_svg {
        let file = match &args.gsn {
            Some(f) => f.clone(),
            None => {
                let own = args.run_dir.join("gsn.yaml");
                if own.exists() {
                    own
                } else {
                    args.project_root.join("safety-case/gsn.yaml")
                }
            }
        };
        let gsn = safety::Gsn::load(&file).map_err(Failure::classified)?;
        if let Some(reqs) = requirements {
            gsn.check_requirements(reqs).map_err(Failure::classified)?;
        }
        write_atomic(out, gsn_svg::render_svg(&gsn, eval).as_bytes())
            .map_err(Failure::classified)?;
    }
    Ok(())
}

/// The bundle failed verification: report the files, still give CI its outputs.
fn tampered(args: &Args, dir: PathBuf, problems: Vec<String>) -> CliResult {
    let eval = Evaluation {
        run_complete: false,
        integrity_verified: false,
        requirements: Vec::new(),
    };
    let mut notes = vec![format!(
        "**evidence in `{}` was tampered with; no verdicts were evaluated:**",
        dir.display()
    )];
    notes.extend(problems.iter().map(|p| format!("`{p}`")));
    let md = markdown(&SummaryInput {
        title: TITLE,
        status: Status::Integrity,
        notes,
        eval: &eval,
    });
    if let Some(p) = &args.junit {
        use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
        let mut report = Report::new(TITLE);
        let mut suite = TestSuite::new("evidence");
        let mut st = TestCaseStatus::non_success(NonSuccessKind::Failure);
        st.set_message(format!("evidence tampered: {}", problems.join("; ")));
        let mut case = TestCase::new("manifest intact", st);
        case.set_classname("evidence");
        suite.add_test_case(case);
        report.add_test_suite(suite);
        let xml = report.to_string().map_err(Failure::integrity)?;
        write_atomic(p, xml.as_bytes()).map_err(Failure::classified)?;
    }
    if let Some(p) = &args.summary {
        write_atomic(p, md.as_bytes()).map_err(Failure::classified)?;
    }
    let err = SafetyError::Tampered { dir, problems };
    Err(Failure::new(err.status(), err))
}
