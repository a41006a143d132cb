//! The end of a run in the terminal (and in a CI log): one line per requirement with its
//! full text, the instance that decided it (measured value against the limit, or why there
//! is none), an overall result line, the warnings, and where the reports are.

use adasval_core::exit::Status;
use adasval_judge::safety::verdict::{Evaluation, Verdict, WaiverStatus};
use std::path::Path;

pub fn ending(eval: &Evaluation, status: Status, warnings: &[String], run_dir: &Path) -> String {
    let mut s = String::new();
    for r in &eval.requirements {
        let mark = match r.verdict {
            Verdict::Pass => "pass",
            Verdict::Fail if r.waived() => "FAIL waived",
            Verdict::Fail => "FAIL",
            Verdict::NoEvidence => "NO EVIDENCE",
            Verdict::NotApplicable if r.accepted() => "n/a (pass)",
            Verdict::NotApplicable => "N/A (FAIL)",
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
        if let Some(w) = r.waiver.as_ref().filter(|_| r.waived()) {
            s += &format!(
                "{:<26} waived by {} until {}: {}\n",
                "", w.owner, w.expires, w.reason
            );
        }
    }
    for (status, what) in [
        (WaiverStatus::Expired, "EXPIRED waiver (fails the gate)"),
        (
            WaiverStatus::Unused,
            "unused waiver (its requirement did not fail)",
        ),
    ] {
        for w in eval.waivers_with(status) {
            s += &format!(
                "{:<14} {what}: expires {}, {}: {}\n",
                w.requirement, w.expires, w.owner, w.reason
            );
        }
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
        .filter(|r| !r.accepted())
        .map(|r| r.id.as_str())
        .collect();
    let waived: Vec<&str> = eval
        .requirements
        .iter()
        .filter(|r| r.waived())
        .map(|r| r.id.as_str())
        .collect();
    let expired: Vec<String> = eval
        .expired_waivers()
        .map(|w| format!("{} expired {}", w.requirement, w.expires))
        .collect();
    let n = eval.requirements.len();
    let passing = eval.count(Verdict::Pass);
    let waived_clause = if waived.is_empty() {
        String::new()
    } else {
        format!(
            ", {} fail under {} ({})",
            waived.len(),
            plural(waived.len(), "waiver"),
            waived.join(", ")
        )
    };
    let expired_clause = if expired.is_empty() {
        String::new()
    } else {
        format!(
            " {} the gate: {}.",
            if expired.len() == 1 {
                "An expired waiver fails"
            } else {
                "Expired waivers fail"
            },
            expired.join(", ")
        )
    };
    match status {
        Status::Pass if waived.is_empty() => format!("PASS: all {n} requirements pass."),
        Status::Pass => format!(
            "PASS: passed with {} {}: {passing} of {n} requirements pass{waived_clause}.",
            waived.len(),
            plural(waived.len(), "waiver"),
        ),
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
        _ if failed.is_empty() => format!(
            "FAIL: {passing} of {n} requirements pass{waived_clause}.{expired_clause}"
        ),
        _ => format!(
            "FAIL: {} of {n} requirements did not pass ({}); {passing} pass{waived_clause}.{expired_clause}",
            failed.len(),
            failed.join(", "),
        ),
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        word.to_string()
    } else {
        format!("{word}s")
    }
}
