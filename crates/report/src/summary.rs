//! A short Markdown summary of the verdicts, sized for a pull-request comment: headline,
//! a few context bullets, one table row per requirement, counts, then the failures with
//! the artefacts they were computed from.

use adasval_core::exit::Status;
use adasval_judge::safety::verdict::{fmt_num, Evaluation, Verdict};
use std::collections::BTreeSet;

/// What the summary says besides the verdicts.
pub struct SummaryInput<'a> {
    /// e.g. "adasval gate" or "adasval validate".
    pub title: &'a str,
    /// The exit status the command ends with.
    pub status: Status,
    /// Context bullets (run id, manifest state, engine checks), already worded.
    pub notes: Vec<String>,
    /// Shown above everything else, as warnings.
    pub warnings: Vec<String>,
    pub eval: &'a Evaluation,
}

/// At most this many failing instances are listed; the JUnit report has all of them.
const MAX_FAILURES_LISTED: usize = 20;

pub fn markdown(input: &SummaryInput<'_>) -> String {
    let eval = input.eval;
    let headline = match input.status {
        Status::Pass => "✅ PASS",
        Status::GateFailed => "❌ FAIL",
        Status::Integrity => "⛔ INTEGRITY FAILURE",
        Status::BadInput => "⚠️ BAD INPUT",
        Status::Unavailable => "⚠️ UNAVAILABLE",
    };
    let mut s = format!("## {}: {headline}\n\n", input.title);
    if !eval.waivers.is_empty() {
        s.push_str(&format!(
            "**{}**\n\n",
            crate::terminal::result_line(eval, input.status)
        ));
    }
    for w in &input.warnings {
        s.push_str(&format!("> ⚠️ **{}**\n", w));
    }
    if !input.warnings.is_empty() {
        s.push('\n');
    }
    for n in &input.notes {
        s.push_str(&format!("- {n}\n"));
    }
    if !eval.run_complete {
        s.push_str("- **run incomplete**: the gate fails regardless of the verdicts below\n");
    }
    if !input.notes.is_empty() || !eval.run_complete {
        s.push('\n');
    }
    if eval.requirements.is_empty() {
        s.push_str("_No verdicts._\n");
        return s;
    }
    s.push_str("| | Requirement | Kind | Verdict | Instances pass / fail | Worst instance | Measured | Threshold |\n");
    s.push_str("|---|---|---|---|---|---|---|---|\n");
    for r in &eval.requirements {
        let icon = match r.verdict {
            Verdict::Pass => "✅",
            Verdict::Fail if r.waived() => "🟡",
            Verdict::Fail => "❌",
            Verdict::NoEvidence => "⚠️",
            Verdict::NotApplicable if r.accepted() => "➖",
            Verdict::NotApplicable => "⛔",
        };
        let (label, measured, limit) = match r.worst() {
            Some(w) => (
                format!("`{}`", cell(&w.label())),
                w.measured
                    .map(fmt_num)
                    .unwrap_or_else(|| "no figure".into()),
                w.limit
                    .map(|l| format!("{} {}", w.comparison.symbol(), fmt_num(l)))
                    .unwrap_or_else(|| "-".into()),
            ),
            None => ("-".into(), "-".into(), "-".into()),
        };
        // A figure on a slice is never shown without the slice and its rule.
        let measured = match &r.slice {
            Some(sl) => format!("{measured} on slice: {}", cell(sl)),
            None => measured,
        };
        s.push_str(&format!(
            "| {icon} | **{}** | {} | {} | {} / {} | {label} | {measured} | {limit} |\n",
            cell(&r.id),
            r.kind.as_str(),
            r.shown(),
            r.count(Verdict::Pass),
            r.count(Verdict::Fail),
        ));
    }
    s.push_str(&format!(
        "\n**{} requirements: {} pass, {} fail{}, {} no evidence{}.**\n",
        eval.requirements.len(),
        eval.count(Verdict::Pass),
        eval.count(Verdict::Fail),
        match eval.waived() {
            0 => String::new(),
            n => format!(" ({n} waived)"),
        },
        eval.count(Verdict::NoEvidence),
        match eval.count(Verdict::NotApplicable) {
            0 => String::new(),
            n => format!(", {n} not applicable"),
        }
    ));
    if !eval.waivers.is_empty() {
        s.push_str("\n| Waiver | Status | Owner | Expires | Reason |\n|---|---|---|---|---|\n");
        for u in &eval.waivers {
            s.push_str(&format!(
                "| `{}` | {} | {} | {} | {} |\n",
                cell(&u.waiver.requirement),
                u.status.as_str(),
                cell(&u.waiver.owner),
                cell(&u.waiver.expires),
                cell(&u.waiver.reason)
            ));
        }
    }

    let mut failures = Vec::new();
    for r in &eval.requirements {
        if r.verdict == Verdict::NoEvidence {
            failures.push(format!(
                "- **{}**: no evidence (no `{}` figure matches its scope)",
                cell(&r.id),
                r.metric
            ));
        }
        for i in r.instances.iter().filter(|i| !i.verdict.passed()) {
            let arts: BTreeSet<String> = i
                .artefacts
                .iter()
                .map(|a| format!("`{}`", a.path))
                .collect();
            let arts = if arts.is_empty() {
                String::new()
            } else {
                format!(
                    " — artefacts: {}",
                    arts.into_iter().collect::<Vec<_>>().join(", ")
                )
            };
            failures.push(format!(
                "- **{}**{} `{}`: {}{arts}",
                cell(&r.id),
                if r.waived() { " (waived)" } else { "" },
                i.label(),
                i.detail
            ));
        }
    }
    if !failures.is_empty() {
        s.push_str(&format!(
            "\n<details><summary>Failures ({})</summary>\n\n",
            failures.len()
        ));
        for f in failures.iter().take(MAX_FAILURES_LISTED) {
            s.push_str(f);
            s.push('\n');
        }
        if failures.len() > MAX_FAILURES_LISTED {
            s.push_str(&format!(
                "- … and {} more (see the JUnit report)\n",
                failures.len() - MAX_FAILURES_LISTED
            ));
        }
        s.push_str("\n</details>\n");
    }
    s
}

/// Escape a table cell.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}
