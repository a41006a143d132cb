//! `adasval gate <run-dir>`: the CI release gate over a stored, sealed run.

use super::{CliResult, Failure};
use adasval::evidence::{keys, write_atomic, SignatureCheck};
use adasval::exit::{Classify, Status};
use adasval::report::sink::{GsnSvg, Judged, Junit, Sink, TraceHtml, TraceMarkdown};
use adasval::report::summary::{markdown, SummaryInput};
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
    /// Waivers file (known failures); default, unless --requirements is given: the run's
    /// own waivers.yaml with the run's own requirements.yaml (none when it has no copy),
    /// else safety-case/waivers.yaml under --project-root.
    #[arg(long, value_name = "FILE")]
    waivers: Option<PathBuf>,
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
    /// Public key the run's manifest signature must verify with (then a signature is
    /// required). Default: the project's trusted keys, safety-case/trusted-keys/*.pub under
    /// --project-root; a signature present must verify with one of them.
    #[arg(long, value_name = "FILE")]
    public_key: Option<PathBuf>,
    /// Fail (exit 3) when the bundle is unsigned or its signature cannot be checked against
    /// a trusted key.
    #[arg(long)]
    require_signature: bool,
    /// Refuse (exit 1) a run whose bundle holds no passing self-test (`selftest/`, written by
    /// `validate --selftest`) by the same binary that wrote its evidence.json (same SHA-256);
    /// exit 3 when that self-test bundle was changed after sealing.
    #[arg(long)]
    require_selftest: bool,
    /// Directory that engine and adapter paths in run.json are relative to.
    // `--root` like every other command; `--project-root` is the older spelling.
    #[arg(
        long = "root",
        alias = "project-root",
        value_name = "DIR",
        default_value = "."
    )]
    project_root: PathBuf,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Text,
    Json,
}

const TITLE: &str = "adasval gate";

pub fn run(args: Args) -> CliResult {
    let trust = match &args.public_key {
        Some(p) => keys::Trust::key_file(p),
        None => keys::Trust::project(&args.project_root),
    }
    .map_err(Failure::classified)?
    .require(args.require_signature);
    let req = GateRequest {
        run_dir: &args.run_dir,
        requirements: args.requirements.as_deref(),
        waivers: args.waivers.as_deref(),
        project_root: &args.project_root,
        trust: &trust,
    };
    let outcome = match safety::gate(&req) {
        Ok(o) => o,
        Err(SafetyError::Tampered { dir, problems }) => {
            return tampered(&args, dir, problems);
        }
        Err(e) => return Err(Failure::classified(e)),
    };
    let mut status = outcome.status();
    let selftest = args
        .require_selftest
        .then(|| required_selftest(&args.run_dir));
    if let Some(adasval::selftest::RunSelftest::Tampered { problems }) = &selftest {
        return tampered(&args, args.run_dir.clone(), problems.clone());
    }
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
    if let Some(w) = &outcome.waivers_file {
        notes.push(format!("waivers `{}`", w.display()));
    }
    notes.push(format!(
        "manifest intact: {} files, {}",
        outcome.manifest.checked,
        match &outcome.manifest.signature {
            SignatureCheck::Valid { signer } => format!("signature valid, signed by `{signer}`"),
            SignatureCheck::NotChecked { present: true } => "signed, signature NOT checked".into(),
            _ => "UNSIGNED".into(),
        }
    ));
    match &selftest {
        Some(adasval::selftest::RunSelftest::Passed {
            binary_sha256,
            cases,
        }) => notes.push(format!(
            "self-test: {cases} cases passed by the binary that wrote the evidence ({binary_sha256})"
        )),
        Some(adasval::selftest::RunSelftest::Refused { reason }) => {
            notes.push(format!("**self-test required, refused:** {reason}"));
            if status == Status::Pass {
                status = Status::GateFailed;
            }
        }
        _ => {}
    }
    let warnings: Vec<String> = outcome.manifest.signature.warning().into_iter().collect();
    for w in &warnings {
        eprintln!("warning: {w}");
    }
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
        warnings: warnings.clone(),
        eval: &outcome.evaluation,
    });
    write_outputs(
        &args,
        &outcome.evaluation,
        Some(&outcome.requirements),
        &md,
        &warnings,
    )?;
    match args.format {
        Format::Json => outln!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "status": status.code(),
                "outcome": outcome,
                "selftest": selftest,
            }))
            .map_err(Failure::bad_input)?
        ),
        Format::Text => out!("{md}"),
    }
    Ok(status)
}

/// `--require-selftest`: the run's self-test, matched to the binary named in evidence.json.
fn required_selftest(run_dir: &std::path::Path) -> adasval::selftest::RunSelftest {
    match adasval::evidence::EvidenceSet::load(&run_dir.join(adasval::evidence::EVIDENCE_FILE)) {
        Ok(ev) => {
            // A record without a backend name (hand-made, older) is not taken for a GPU run.
            let gpu = adasval::record::read_run_header(run_dir)
                .ok()
                .and_then(|h| h.backend)
                .is_some_and(|b| b.name == adasval::backend::cuda::NAME);
            adasval::selftest::check_run(run_dir, ev.tool.as_ref(), gpu)
        }
        Err(e) => adasval::selftest::RunSelftest::Refused {
            reason: e.to_string(),
        },
    }
}

fn write_outputs(
    args: &Args,
    eval: &Evaluation,
    requirements: Option<&safety::Requirements>,
    md: &str,
    warnings: &[String],
) -> Result<(), Failure> {
    let gsn = match &args.gsn_svg {
        Some(_) => {
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
            Some(gsn)
        }
        None => None,
    };
    let judged = Judged {
        title: TITLE,
        status: None,
        notes: &[],
        warnings,
        evaluation: Some(eval),
        gsn: gsn.as_ref(),
        document: None,
    };
    let trace: &dyn Sink = match &args.trace {
        Some(p) if p.extension().is_some_and(|e| e == "html") => &TraceHtml,
        _ => &TraceMarkdown,
    };
    let outputs: [(&Option<PathBuf>, &dyn Sink); 3] = [
        (&args.junit, &Junit),
        (&args.trace, trace),
        (&args.gsn_svg, &GsnSvg),
    ];
    for (path, sink) in outputs {
        let Some(p) = path else { continue };
        if let Some(body) = sink.render(&judged).map_err(Failure::classified)? {
            write_atomic(p, body.as_bytes()).map_err(Failure::classified)?;
        }
    }
    // The summary is the one the terminal shows, with the command's notes and status.
    if let Some(p) = &args.summary {
        write_atomic(p, md.as_bytes()).map_err(Failure::classified)?;
    }
    Ok(())
}

/// The bundle failed verification: report the files, still give CI its outputs.
fn tampered(args: &Args, dir: PathBuf, problems: Vec<String>) -> CliResult {
    let eval = Evaluation {
        run_complete: false,
        integrity_verified: false,
        requirements: Vec::new(),
        waivers: Vec::new(),
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
        warnings: Vec::new(),
        eval: &eval,
    });
    if let Some(p) = &args.junit {
        let xml =
            adasval::report::junit::tampered_xml(TITLE, &problems).map_err(Failure::classified)?;
        write_atomic(p, xml.as_bytes()).map_err(Failure::classified)?;
    }
    if let Some(p) = &args.summary {
        write_atomic(p, md.as_bytes()).map_err(Failure::classified)?;
    }
    let err = SafetyError::Tampered { dir, problems };
    Err(Failure::new(err.status(), err))
}
