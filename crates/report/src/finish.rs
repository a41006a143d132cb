//! The end of `validate`: write the verdict artefacts into the run directory, then seal it.
//! Copies of the requirements, waivers and safety-case files are stored byte for byte as they were
//! evaluated, so `gate` re-evaluates exactly what `validate` did.

use crate::sink::{
    write_all, GsnSvg, Judged, Junit, ReportError, Sink, SummaryJson, SummaryMarkdown, TraceHtml,
    TraceMarkdown,
};
use adasval_core::exit::Status;
use adasval_judge::evidence::{self, write_atomic, EvidenceSet, SealReport, EVIDENCE_FILE};
use adasval_judge::safety::gate::{RUN_REQUIREMENTS_FILE, RUN_WAIVERS_FILE};
use adasval_judge::safety::verdict::{evaluate_waived, Evaluation};
use adasval_judge::safety::{today_utc, Gsn, Requirements, SafetyError, Waivers};
use ed25519_dalek::SigningKey;
use std::path::Path;

/// Names of the files [`finish_run`] writes into the run directory.
pub const JUNIT_FILE: &str = "junit.xml";
pub const SUMMARY_FILE: &str = "summary.md";
pub const SUMMARY_JSON_FILE: &str = "summary.json";
pub const TRACE_MD_FILE: &str = "traceability.md";
pub const TRACE_HTML_FILE: &str = "traceability.html";
pub const GSN_FILE: &str = "gsn.yaml";
pub const GSN_SVG_FILE: &str = "gsn.svg";

/// The verdict files of a run directory, in the order they are written.
pub const VERDICT_SINKS: &[&dyn Sink] = &[
    &Junit,
    &SummaryMarkdown,
    &SummaryJson,
    &TraceMarkdown,
    &TraceHtml,
    &GsnSvg,
];

fn render_error(e: ReportError) -> SafetyError {
    match e {
        ReportError::Write(e) => SafetyError::Evidence(e),
        ReportError::Render { what, message } => SafetyError::Render {
            what: what.into(),
            source: message.into(),
        },
    }
}

pub struct FinishRequest<'a> {
    pub run_dir: &'a Path,
    pub evidence: &'a EvidenceSet,
    pub requirements_file: &'a Path,
    /// The waivers (known failures) to judge with and store (optional).
    pub waivers_file: Option<&'a Path>,
    /// The GSN safety case to store and render (optional).
    pub gsn_file: Option<&'a Path>,
    pub sign_key: Option<&'a SigningKey>,
    /// Headline of the summary, e.g. "adasval validate".
    pub title: &'a str,
    /// Extra context bullets for the summary.
    pub notes: Vec<String>,
    /// Warnings every verdict file shows (an unsigned bundle).
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct FinishedRun {
    pub evaluation: Evaluation,
    pub seal: SealReport,
    pub status: Status,
    /// The Markdown summary as written (for printing).
    pub summary: String,
}

/// Write evidence.json, the requirements (and GSN) copies, junit.xml, summary.md,
/// summary.json, the traceability matrix (Markdown and HTML) and gsn.svg into `run_dir`, then seal it.
/// Status: 3 when the evidence's integrity checks failed, 1 when a requirement failed or
/// the run is incomplete, else 0.
pub fn finish_run(req: &FinishRequest<'_>) -> Result<FinishedRun, SafetyError> {
    let dir = req.run_dir;
    let read = |p: &Path| {
        std::fs::read(p).map_err(|source| SafetyError::Io {
            path: p.to_path_buf(),
            source,
        })
    };
    let req_bytes = read(req.requirements_file)?;
    let req_text = String::from_utf8_lossy(&req_bytes);
    let requirements = Requirements::parse(req.requirements_file, &req_text)?;
    let gsn = match req.gsn_file {
        Some(p) => {
            let bytes = read(p)?;
            let g = Gsn::parse(p, &String::from_utf8_lossy(&bytes))?;
            g.check_requirements(&requirements)?;
            Some((g, bytes))
        }
        None => None,
    };
    let waivers = match req.waivers_file {
        Some(p) => {
            let bytes = read(p)?;
            let w = Waivers::parse(p, &String::from_utf8_lossy(&bytes), &requirements)?;
            Some((w, bytes))
        }
        None => None,
    };
    let evaluation = evaluate_waived(
        &requirements.requirements,
        req.evidence,
        waivers.as_ref().map_or(&[][..], |(w, _)| &w.waivers),
        &today_utc(),
    );
    let status = if !req.evidence.integrity.verified {
        Status::Integrity
    } else if !evaluation.passed() {
        Status::GateFailed
    } else {
        Status::Pass
    };
    let judged = Judged {
        title: req.title,
        status: Some(status),
        notes: &req.notes,
        warnings: &req.warnings,
        evaluation: Some(&evaluation),
        gsn: gsn.as_ref().map(|(g, _)| g),
        document: None,
    };
    let summary = SummaryMarkdown
        .render(&judged)
        .map_err(render_error)?
        .unwrap_or_default();
    let w = |name: &str, bytes: &[u8]| write_atomic(&dir.join(name), bytes);
    w(EVIDENCE_FILE, req.evidence.to_json().as_bytes())?;
    w(RUN_REQUIREMENTS_FILE, &req_bytes)?;
    if let Some((_, bytes)) = &gsn {
        w(GSN_FILE, bytes)?;
    }
    if let Some((_, bytes)) = &waivers {
        w(RUN_WAIVERS_FILE, bytes)?;
    }
    write_all(dir, VERDICT_SINKS, &judged).map_err(render_error)?;
    let seal = evidence::seal(dir, req.sign_key)?;
    Ok(FinishedRun {
        evaluation,
        seal,
        status,
        summary,
    })
}
