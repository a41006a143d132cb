//! The traceability matrix (requirement → scenario × engine × platform → verdict →
//! artefact) as Markdown and as an HTML table.

use adasval_judge::evidence::ArtefactRef;
use adasval_judge::safety::trace::TraceRow;
use adasval_judge::safety::verdict::{fmt_num, short_hash, Verdict};

/// GitHub-flavoured Markdown table.
pub fn markdown(rows: &[TraceRow]) -> String {
    let esc = |s: &str| s.replace('|', "\\|").replace('\n', " ");
    let mut s = format!(
        "| {} |\n|{}\n",
        HEADERS.join(" | "),
        "---|".repeat(HEADERS.len())
    );
    for r in rows {
        let arts: Vec<String> = r
            .artefacts
            .iter()
            .map(|a| format!("`{}`", esc(&artefact_text(a))))
            .collect();
        s.push_str(&format!(
            "| {} | {} | {} | `{}` | {} | {} | {} | {} | {} |\n",
            esc(&r.requirement),
            esc(&r.scenario),
            esc(&engine_cell(r)),
            short_hash(&r.engine_sha256),
            esc(&r.platform),
            r.measured.map(fmt_num).unwrap_or_else(|| "-".into()),
            r.threshold.clone().unwrap_or_else(|| "-".into()),
            r.verdict.as_str(),
            if arts.is_empty() {
                "-".into()
            } else {
                arts.join("<br>")
            },
        ));
    }
    s
}
/// Self-contained HTML `<table>` (no scripts, no external styles; classes
/// `verdict-pass`, `verdict-fail`, `verdict-no_evidence` on the verdict cells). The full
/// engine hash is in the cell's `title`.
pub fn html(rows: &[TraceRow]) -> String {
    let mut s = String::from("<table class=\"adasval-trace\">\n<thead><tr>");
    for h in HEADERS {
        s.push_str(&format!("<th>{}</th>", escape_html(h)));
    }
    s.push_str("</tr></thead>\n<tbody>\n");
    for r in rows {
        let verdict_class = match r.verdict {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::NoEvidence => "no_evidence",
        };
        let arts: Vec<String> = r
            .artefacts
            .iter()
            .map(|a| {
                format!(
                    "<code title=\"{}\">{}</code>",
                    escape_html(a.sha256.as_deref().unwrap_or("")),
                    escape_html(&artefact_text(a))
                )
            })
            .collect();
        s.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td><code title=\"{}\">{}</code></td><td>{}</td><td>{}</td><td>{}</td><td class=\"verdict-{verdict_class}\">{}</td><td>{}</td></tr>\n",
            escape_html(&r.requirement),
            escape_html(&r.scenario),
            escape_html(&engine_cell(r)),
            escape_html(&r.engine_sha256),
            escape_html(short_hash(&r.engine_sha256)),
            escape_html(&r.platform),
            r.measured.map(fmt_num).unwrap_or_else(|| "-".into()),
            escape_html(r.threshold.as_deref().unwrap_or("-")),
            r.verdict.as_str(),
            if arts.is_empty() { "-".into() } else { arts.join("<br>") },
        ));
    }
    s.push_str("</tbody>\n</table>\n");
    s
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
