//! The one interface every output format implements. A stage hands a sink the judged data
//! ([`Judged`]: verdicts, the safety case, the explanatory document) and gets bytes back;
//! where they are written is the caller's choice ([`write_all`] for a run directory, a
//! user-named path for `gate`). Adding a format is one more [`Sink`].

use crate::doc::Document;
use crate::summary::SummaryInput;
use crate::{html, junit, markdown, trace};
use adasval_core::exit::{Classify, Status};
use adasval_judge::evidence::{write_atomic, EvidenceError};
use adasval_judge::safety::verdict::{Evaluation, Verdict};
use adasval_judge::safety::Gsn;
use serde_json::json;
use std::path::Path;

/// Everything a sink may render. Fields a format does not need may be absent; a sink whose
/// input is absent renders nothing (and says so by returning `None`).
#[derive(Clone, Copy)]
pub struct Judged<'a> {
    /// e.g. "adasval validate", "adasval gate".
    pub title: &'a str,
    /// The exit status the command ends with, where it is known.
    pub status: Option<Status>,
    /// Context lines (run id, manifest state, engine checks), already worded.
    pub notes: &'a [String],
    /// What a reader must not miss even when everything passed (an unsigned bundle, a
    /// signature nobody checked). Every format shows them.
    pub warnings: &'a [String],
    pub evaluation: Option<&'a Evaluation>,
    pub gsn: Option<&'a Gsn>,
    /// The explanatory report: tables and figures of every stage.
    pub document: Option<&'a Document>,
}

impl<'a> Judged<'a> {
    /// A report without verdicts (compare, matrix, diff, sweep).
    pub fn document(title: &'a str, document: &'a Document) -> Self {
        Self {
            title,
            status: None,
            notes: &[],
            warnings: &[],
            evaluation: None,
            gsn: None,
            document: Some(document),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("could not render {what}: {message}")]
    Render { what: &'static str, message: String },
    #[error(transparent)]
    Write(#[from] EvidenceError),
}

impl Classify for ReportError {
    fn status(&self) -> Status {
        match self {
            ReportError::Render { .. } => Status::BadInput,
            ReportError::Write(e) => e.status(),
        }
    }
}

pub trait Sink {
    /// The file name this format is written to in a run directory.
    fn file_name(&self) -> &str;
    /// The rendering, or `None` when the input holds nothing for this format.
    fn render(&self, input: &Judged<'_>) -> Result<Option<String>, ReportError>;
}

/// The document as Markdown.
pub struct MarkdownReport(pub &'static str);
/// The document as one self-contained HTML page.
pub struct HtmlReport(pub &'static str);
/// JUnit XML of the verdicts, for CI dashboards.
pub struct Junit;
/// A short Markdown summary of the verdicts, sized for a pull-request comment.
pub struct SummaryMarkdown;
/// The same summary as JSON, for scripts.
pub struct SummaryJson;
/// The traceability matrix as a Markdown table.
pub struct TraceMarkdown;
/// The traceability matrix as an HTML table.
pub struct TraceHtml;
/// The GSN argument with each goal marked by its verdicts.
pub struct GsnSvg;

pub const REPORT_MD: MarkdownReport = MarkdownReport("report.md");
pub const REPORT_HTML: HtmlReport = HtmlReport("report.html");

impl Sink for MarkdownReport {
    fn file_name(&self) -> &str {
        self.0
    }
    fn render(&self, input: &Judged<'_>) -> Result<Option<String>, ReportError> {
        Ok(input.document.map(|d| {
            let mut md = markdown::document(d);
            if !input.warnings.is_empty() {
                let head = format!("# {}\n\n", d.title);
                let lines: String = input
                    .warnings
                    .iter()
                    .map(|w| format!("> ⚠️ **{w}**\n"))
                    .collect();
                md = md.replacen(&head, &format!("{head}{lines}\n"), 1);
            }
            md
        }))
    }
}

impl Sink for HtmlReport {
    fn file_name(&self) -> &str {
        self.0
    }
    fn render(&self, input: &Judged<'_>) -> Result<Option<String>, ReportError> {
        Ok(input.document.map(|d| html::page_warned(d, input.warnings)))
    }
}

impl Sink for Junit {
    fn file_name(&self) -> &str {
        "junit.xml"
    }
    fn render(&self, input: &Judged<'_>) -> Result<Option<String>, ReportError> {
        let Some(eval) = input.evaluation else {
            return Ok(None);
        };
        junit::junit_xml_warned(input.title, eval, input.warnings).map(Some)
    }
}

impl Sink for SummaryMarkdown {
    fn file_name(&self) -> &str {
        "summary.md"
    }
    fn render(&self, input: &Judged<'_>) -> Result<Option<String>, ReportError> {
        let (Some(eval), Some(status)) = (input.evaluation, input.status) else {
            return Ok(None);
        };
        Ok(Some(crate::summary::markdown(&SummaryInput {
            title: input.title,
            status,
            notes: input.notes.to_vec(),
            warnings: input.warnings.to_vec(),
            eval,
        })))
    }
}

fn status_name(s: Status) -> &'static str {
    match s {
        Status::Pass => "pass",
        Status::GateFailed => "fail",
        Status::BadInput => "bad_input",
        Status::Integrity => "integrity_failure",
        Status::Unavailable => "unavailable",
    }
}

impl Sink for SummaryJson {
    fn file_name(&self) -> &str {
        "summary.json"
    }
    fn render(&self, input: &Judged<'_>) -> Result<Option<String>, ReportError> {
        let (Some(eval), Some(status)) = (input.evaluation, input.status) else {
            return Ok(None);
        };
        let requirements: Vec<_> = eval
            .requirements
            .iter()
            .map(|r| {
                // The worst instance says what decided the verdict; a requirement without
                // one has no figure in scope, which `verdict` already says.
                let worst = r.worst().map(|w| {
                    json!({
                        "scope": w.label(),
                        "measured": w.measured,
                        "comparison": w.comparison.symbol(),
                        "limit": w.limit,
                        "detail": w.detail,
                    })
                });
                json!({
                    "id": r.id,
                    "text": r.text,
                    "kind": r.kind.as_str(),
                    "metric": r.metric,
                    "verdict": r.verdict,
                    "instances_pass": r.count(Verdict::Pass),
                    "instances_fail": r.count(Verdict::Fail),
                    "instances_not_applicable": r.count(Verdict::NotApplicable),
                    // What the gate made of a `not_applicable` verdict; null otherwise.
                    "not_applicable_policy": r.not_applicable.map(|p| p.as_str()),
                    "worst": worst,
                    "slice": r.slice,
                    // Only a failure a current waiver accepts carries one; the verdict
                    // stays `fail`.
                    "waiver": r.waiver.as_ref().filter(|_| r.waived()).map(|w| json!({
                        "reason": w.reason,
                        "owner": w.owner,
                        "expires": w.expires,
                    })),
                })
            })
            .collect();
        let v = json!({
            "schema_version": 1,
            "title": input.title,
            "status": status_name(status),
            "exit_code": status.code(),
            "result": crate::terminal::result_line(eval, status),
            "run_complete": eval.run_complete,
            "integrity_verified": eval.integrity_verified,
            "notes": input.notes,
            "warnings": input.warnings,
            "counts": {
                "pass": eval.count(Verdict::Pass),
                "fail": eval.count(Verdict::Fail),
                "no_evidence": eval.count(Verdict::NoEvidence),
                "not_applicable": eval.count(Verdict::NotApplicable),
                "waived": eval.waived(),
            },
            "requirements": requirements,
            "waivers": eval.waivers.iter().map(|u| json!({
                "requirement": u.waiver.requirement,
                "reason": u.waiver.reason,
                "owner": u.waiver.owner,
                "expires": u.waiver.expires,
                "status": u.status.as_str(),
            })).collect::<Vec<_>>(),
        });
        serde_json::to_string_pretty(&v)
            .map(|s| Some(s + "\n"))
            .map_err(|e| ReportError::Render {
                what: "the JSON summary",
                message: e.to_string(),
            })
    }
}

impl Sink for TraceMarkdown {
    fn file_name(&self) -> &str {
        "traceability.md"
    }
    fn render(&self, input: &Judged<'_>) -> Result<Option<String>, ReportError> {
        Ok(input
            .evaluation
            .map(|e| trace::markdown(&adasval_judge::safety::traceability(e))))
    }
}

impl Sink for TraceHtml {
    fn file_name(&self) -> &str {
        "traceability.html"
    }
    fn render(&self, input: &Judged<'_>) -> Result<Option<String>, ReportError> {
        Ok(input
            .evaluation
            .map(|e| trace::html(&adasval_judge::safety::traceability(e))))
    }
}

impl Sink for GsnSvg {
    fn file_name(&self) -> &str {
        "gsn.svg"
    }
    fn render(&self, input: &Judged<'_>) -> Result<Option<String>, ReportError> {
        Ok(match (input.gsn, input.evaluation) {
            (Some(g), Some(e)) => Some(crate::gsn_svg::render_svg(g, e)),
            _ => None,
        })
    }
}

/// Render every sink and write what it produced into `dir` under its file name. Returns
/// the names written, in the order given.
pub fn write_all(
    dir: &Path,
    sinks: &[&dyn Sink],
    input: &Judged<'_>,
) -> Result<Vec<String>, ReportError> {
    let mut written = Vec::new();
    for s in sinks {
        if let Some(body) = s.render(input)? {
            write_atomic(&dir.join(s.file_name()), body.as_bytes())?;
            written.push(s.file_name().to_string());
        }
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doc::{Block, Figure, Section, Table};

    fn doc() -> Document {
        let mut t = Table::new(&["name", "value"]);
        t.row(["a|b", "<script>x</script>"]);
        t.row(["line\nbreak", "**not bold**"]);
        Document {
            title: "T".into(),
            sections: vec![Section::new("s", "S")
                .with(Block::text("see `code` and **this**"))
                .with(t)
                .with(Block::Figures(vec![
                    Figure {
                        svg: "<svg id=\"linked\"></svg>".into(),
                        caption: "linked".into(),
                        file: Some("f.svg".into()),
                    },
                    Figure {
                        svg: "<svg id=\"inline\"></svg>".into(),
                        caption: "inline only".into(),
                        file: None,
                    },
                ]))],
        }
    }

    #[test]
    fn markdown_and_html_render_the_same_content_each_escaped_for_its_format() {
        let d = doc();
        let j = Judged::document("T", &d);
        let md = REPORT_MD.render(&j).unwrap().unwrap();
        let html = REPORT_HTML.render(&j).unwrap().unwrap();
        assert!(md.contains("| a\\|b | <script>x</script> |"), "{md}");
        assert!(md.contains("| line break | **not bold** |"), "{md}");
        assert!(md.contains("see `code` and **this**"), "{md}");
        assert!(md.contains("![linked](f.svg)"), "{md}");
        assert!(!md.contains("inline only"), "{md}");
        assert!(
            html.contains("<td>&lt;script&gt;x&lt;/script&gt;</td>"),
            "{html}"
        );
        assert!(!html.contains("<script>"), "{html}");
        assert!(
            html.contains("see <code>code</code> and <b>this</b>"),
            "{html}"
        );
        assert!(html.contains("<svg id=\"linked\">") && html.contains("<svg id=\"inline\">"));
        assert_eq!(
            html.matches("<tr>").count(),
            3,
            "header and two rows: {html}"
        );
        assert_eq!(md.lines().filter(|l| l.starts_with("| ")).count(), 3);
    }

    #[test]
    fn verdict_sinks_render_nothing_without_verdicts() {
        let d = doc();
        let j = Judged::document("T", &d);
        for s in [
            &Junit as &dyn Sink,
            &SummaryMarkdown,
            &SummaryJson,
            &TraceMarkdown,
            &TraceHtml,
            &GsnSvg,
        ] {
            assert!(s.render(&j).unwrap().is_none(), "{}", s.file_name());
        }
        let dir = tempfile::tempdir().unwrap();
        let written = write_all(dir.path(), &[&REPORT_MD, &Junit, &REPORT_HTML], &j).unwrap();
        assert_eq!(written, ["report.md", "report.html"]);
        assert!(!dir.path().join("junit.xml").exists());
    }
}
