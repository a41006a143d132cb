//! The end of a run in the terminal (and in a CI log): one line per requirement with its
//! full text, the instance that decided it (measured value against the limit, or why there
//! is none), an overall result line, the warnings, and where the reports are.

use adasval_core::exit::Status;
use adasval_judge::safety::verdict::{Evaluation, Verdict};
use std::path::Path;

pub fn ending(eval: &Evaluation, status: Status, warnings: &[String], run_dir: &Path) -> String {
    let mut s = String::new();
    for r in &eval.requirements {
        let mark = match r.verdict {
            Verdict::Pass => "pass",
            Verdict::Fail => "FAIL",
            Verdict::NoEvidence => "NO EVIDENCE",
        };
        s += &format!("{:<14} {:<11} {}\n", r.id, mark, r.text.trim());
        let decided = match (r.worst(), r.verdict) {
            (_, Verdict::NoEvidence) => format!(
                "no `{}` figure in the run matches the requirement's scope",
                r.metric
            ),
            (Some(w), Verdict::Pass) => format!("closest: {}: {}", w.label(), w.detail),
            (Some(w), _) => format!("worst: {}: {}", w.label(), w.detail),
            (None, Verdict::Pass) => format!("all {} instances pass", r.instances.len()),
            (None, _) => {
                let failing: Vec<&str> = r
                    .instances
                    .iter()
                    .filter(|i| !i.verdict.passed())
                    .map(|i| i.detail.as_str())
                    .collect();
                failing.join("; ")
            }
        };
        s += &format!("{:<26} {decided}\n", "");
    }
    s += &format!("\nResult: {}\n", result_line(eval, status));
    for w in warnings {
        s += &format!("warning: {w}\n");
    }
    for (what, file) in [("Report", "report.html"), ("Summary", "summary.md")] {
        let p = run_dir.join(file);
        if p.exists() {
            s += &format!("{what}: {}\n", p.display());
        }
    }
    s
}

/// The overall verdict in one sentence, the same in the terminal and the reports' banner.
pub fn result_line(eval: &Evaluation, status: Status) -> String {
    let failed: Vec<&str> = eval
        .requirements
        .iter()
        .filter(|r| r.verdict != Verdict::Pass)
        .map(|r| r.id.as_str())
        .collect();
    let n = eval.requirements.len();
    match status {
        Status::Pass => format!("PASS: all {n} requirements pass."),
        Status::Integrity => "INTEGRITY FAILURE: the engines or adapters do not match the lock; the verdicts are not evidence.".to_string(),
        _ if !eval.run_complete => format!(
            "FAIL: the run is incomplete{}.",
            if failed.is_empty() {
                String::new()
            } else {
                format!(
                    ", and {} of {n} requirements did not pass ({})",
                    failed.len(),
                    failed.join(", ")
                )
            }
        ),
        _ => format!(
            "FAIL: {} of {n} requirements did not pass ({}); {} pass.",
            failed.len(),
            failed.join(", "),
            n - failed.len()
        ),
    }
}
