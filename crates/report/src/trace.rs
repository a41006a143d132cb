//! The traceability matrix (requirement → scenario × engine × platform → verdict →
//! artefact) as a report table, rendered by the Markdown and HTML sinks.

use crate::doc::{Cell, Row, Span, Table};
use adasval_judge::evidence::ArtefactRef;
use adasval_judge::safety::trace::TraceRow;
use adasval_judge::safety::verdict::{fmt_num, short_hash, Verdict};

/// The matrix as a report table. The verdict cells carry the classes `verdict-pass`,
/// `verdict-fail`, `verdict-no_evidence` and `verdict-not_applicable`; the full engine and
/// artefact hashes are kept as tooltips in HTML.
pub fn table(rows: &[TraceRow]) -> Table {
    let mut t = Table::new(&HEADERS);
    t.class = Some("adasval-trace".into());
    for r in rows {
        let verdict_class = match r.verdict {
            Verdict::Pass => "verdict-pass",
            Verdict::Fail => "verdict-fail",
            Verdict::NoEvidence => "verdict-no_evidence",
            Verdict::NotApplicable => "verdict-not_applicable",
        };
        let mut arts = Vec::new();
        for (i, a) in r.artefacts.iter().enumerate() {
            if i > 0 {
                arts.push(Span::Text(", ".into()));
            }
            arts.push(Span::Hash {
                short: artefact_text(a),
                full: a.sha256.clone().unwrap_or_default(),
            });
        }
        if arts.is_empty() {
            arts.push(Span::Text("-".into()));
        }
        t.rows.push(Row {
            cells: vec![
                r.requirement.as_str().into(),
                r.scenario.as_str().into(),
                engine_cell(r).into(),
                Cell::spans(vec![Span::Hash {
                    short: short_hash(&r.engine_sha256).to_string(),
                    full: r.engine_sha256.clone(),
                }]),
                r.platform.as_str().into(),
                r.measured.map(fmt_num).unwrap_or_else(|| "-".into()).into(),
                r.threshold.clone().unwrap_or_else(|| "-".into()).into(),
                Cell::from(r.verdict.as_str()).class(verdict_class),
                Cell::spans(arts),
            ],
            ..Row::default()
        });
    }
    t
}

/// The matrix as a Markdown table (the Markdown sink's rendering of [`table`]).
pub fn markdown(rows: &[TraceRow]) -> String {
    crate::markdown::table(&table(rows))
}

/// The matrix as a self-contained HTML table (the HTML sink's rendering of [`table`]).
pub fn html(rows: &[TraceRow]) -> String {
    crate::html::table(&table(rows)) + "\n"
}

/// Escape text for HTML and SVG (element content and attribute values).
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

const HEADERS: [&str; 9] = [
    "Requirement",
    "Scenario",
    "Engine",
    "Engine SHA-256",
    "Platform",
    "Measured",
    "Threshold",
    "Verdict",
    "Artefacts (SHA-256)",
];

fn engine_cell(r: &TraceRow) -> String {
    let mut s = r.engine.clone();
    if let Some(c) = &r.class {
        s.push_str(&format!(" [{c}]"));
    }
    if let Some(c) = &r.compared_with {
        s.push_str(&format!(" vs {c}"));
    }
    s
}

fn artefact_text(a: &ArtefactRef) -> String {
    match &a.sha256 {
        Some(h) => format!("{} ({})", a.path, short_hash(h)),
        None => a.path.clone(),
    }
}
