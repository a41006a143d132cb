//! The verdict table that leads a run's report: one row per requirement.

use crate::{esc, Section};
use adasval_judge::safety::{Evaluation, Verdict};
use adasval_record::record::RunRecord;

/// One row per requirement, leading the report.
pub fn section(e: &Evaluation, r: &RunRecord) -> Section {
    let mut md = format!(
        "Run {}; engines and adapters {}.\n\n| requirement | kind | verdict | instances (pass / total) | worst measured | limit |\n|---|---|---|---|---|---|\n",
        if r.complete { "complete" } else { "INCOMPLETE (never passes)" },
        if e.integrity_verified { "verified against the lock" } else { "NOT verified" }
    );
    let mut html = format!(
        "<p>Run <b class=\"{}\">{}</b>; engines and adapters <b class=\"{}\">{}</b>.</p><table id=\"verdicts\"><tr><th>requirement</th><th>text</th><th>kind</th><th>verdict</th><th>instances (pass / total)</th><th>worst measured</th><th>limit</th></tr>",
        if r.complete { "pass" } else { "fail" },
        if r.complete { "complete" } else { "INCOMPLETE (never passes)" },
        if e.integrity_verified { "pass" } else { "fail" },
        if e.integrity_verified { "verified against the lock" } else { "NOT verified" },
    );
    for q in &e.requirements {
        let worst = q.worst();
        let measured = worst
            .and_then(|w| w.measured)
            .map(|v| format!("{v:.4}"))
            .unwrap_or_else(|| "–".into());
        let limit = worst
            .and_then(|w| w.limit)
            .map(|v| format!("{v:.4}"))
            .unwrap_or_else(|| "–".into());
        let class = match q.verdict {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::NoEvidence => "nodata",
        };
        let pass = q.count(Verdict::Pass);
        md += &format!(
            "| {} | {} | **{}** | {pass} / {} | {measured} | {limit} |\n",
            q.id,
            q.kind.as_str(),
            q.verdict.as_str(),
            q.instances.len()
        );
        html += &format!(
            "<tr class=\"verdict\" data-requirement=\"{}\" data-verdict=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td class=\"{class}\"><b>{}</b></td><td>{pass} / {}</td><td>{measured}</td><td>{limit}</td></tr>",
            esc(&q.id),
            q.verdict.as_str(),
            esc(&q.id),
            esc(&q.text),
            q.kind.as_str(),
            q.verdict.as_str(),
            q.instances.len()
        );
    }
    html += "</table>";
    Section {
        id: "verdicts".into(),
        title: "Verdicts".into(),
        markdown: md,
        html,
    }
}
