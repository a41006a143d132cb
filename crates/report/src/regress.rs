//! The report of a baseline-versus-candidate regression check (`adasval diff`).

use crate::doc::{Block, Cell, Document, Section, Table};
use adasval_judge::regress::*;

pub fn document(r: &DiffReport) -> Document {
    let f = |v: Option<f64>| v.map(|x| format!("{x:.4}")).unwrap_or_else(|| "–".into());
    let design = match r.design {
        Design::Runs => format!(
            "{} baseline run(s) against {} candidate run(s), each run one unit",
            r.baseline.len(),
            r.candidate.len()
        ),
        Design::SingleRuns => {
            "one run per side: latency can only be shown equivalent (with run-to-run variation from earlier runs) or stay inconclusive".to_string()
        }
        Design::Interleaved => {
            "one interleaved session: p50 and p99 per block, paired baseline/candidate blocks"
                .to_string()
        }
        Design::Sessions => format!(
            "{} interleaved sessions, each one paired unit (p50, p99 and pWCET of the baseline's and the candidate's blocks in that session; the p50's change from its adjacent block pairs, matched in time)",
            r.baseline.len()
        ),
    };
    let mut checks = Section::new("checks", "Checks")
        .with(Block::text(&format!(
            "baseline `{}` ({}) → candidate `{}` ({}); {design}.",
            r.baseline.join("`, `"),
            r.baseline_engine,
            r.candidate.join("`, `"),
            r.candidate_engine
        )))
        .with(Block::text(&if r.history.is_empty() {
            "No earlier runs used for the run-to-run variation.".to_string()
        } else {
            format!(
                "Run-to-run variation also from {} earlier run(s): `{}`.",
                r.history.len(),
                r.history.join("`, `")
            )
        }));
    let mut t = Table::new(&[
        "scenario",
        "check",
        "baseline",
        "candidate",
        "delta",
        "CI",
        "margin",
        "units",
        "limit",
        "decision",
    ]);
    let mut notes = Vec::new();
    for c in &r.checks {
        if let Some(n) = &c.note {
            notes.push(format!("{} / {}: {n}", c.scenario, c.what));
        }
        t.row([
            Cell::from(c.scenario.as_str()),
            c.what.as_str().into(),
            f(c.baseline).into(),
            f(c.candidate).into(),
            f(c.delta).into(),
            c.ci.map(|(a, b)| format!("[{a:.4}, {b:.4}]"))
                .unwrap_or_else(|| "–".into())
                .into(),
            f(c.margin).into(),
            c.units
                .map(|u| format!("{} + {} {}", u.baseline, u.candidate, u.kind))
                .unwrap_or_else(|| "–".into())
                .into(),
            c.limit.as_str().into(),
            match c.decision {
                Decision::Regressed => Cell::strong("regressed").class("fail"),
                Decision::Inconclusive => Cell::strong("inconclusive"),
                d => d.as_str().into(),
            },
        ]);
    }
    checks.push(t);
    if !notes.is_empty() {
        checks.push(Block::list(notes));
    }
    let mut sections = vec![checks];
    if !r.layers.is_empty() {
        let changed = r.layers.iter().filter(|l| l.tactic_changed).count();
        let mut t = Table::new(&[
            "layer",
            "baseline ms",
            "candidate ms",
            "delta ms",
            "baseline tactic",
            "candidate tactic",
            "kernel choice",
        ]);
        let mut sorted: Vec<&LayerChange> = r.layers.iter().collect();
        // Largest slow-downs and kernel changes first.
        sorted.sort_by(|a, b| {
            b.tactic_changed.cmp(&a.tactic_changed).then(
                b.delta_ms
                    .unwrap_or(0.0)
                    .total_cmp(&a.delta_ms.unwrap_or(0.0)),
            )
        });
        for l in sorted {
            t.row([
                Cell::from(l.name.as_str()),
                f(l.baseline_ms).into(),
                f(l.candidate_ms).into(),
                f(l.delta_ms).into(),
                l.baseline_tactic.as_deref().unwrap_or("–").into(),
                l.candidate_tactic.as_deref().unwrap_or("–").into(),
                if l.tactic_changed {
                    Cell::strong("changed")
                } else {
                    "same".into()
                },
            ]);
        }
        sections.push(
            Section::new(
                "layers",
                &format!(
                    "Layers ({} in both runs, {changed} with a different kernel choice, {} in one run only)",
                    r.layers.len(),
                    r.layers_only_in_one.len()
                ),
            )
            .with(t),
        );
    }
    Document {
        title: format!("adasval diff: {}", r.decision.as_str().to_uppercase()),
        sections,
    }
}

/// The diff as Markdown.
pub fn markdown(r: &DiffReport) -> String {
    crate::markdown::document(&document(r))
}

/// JUnit XML of a diff: one case per check, failing where the check found a regression,
/// and where it was inconclusive when `inconclusive_fails` (`diff --inconclusive fail`).
pub fn junit_xml(
    r: &DiffReport,
    inconclusive_fails: bool,
) -> Result<String, crate::sink::ReportError> {
    use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
    let f = |v: Option<f64>| {
        v.map(|x| format!("{x:.4}"))
            .unwrap_or_else(|| "not measured".into())
    };
    let mut report = Report::new("adasval diff");
    let mut suite = TestSuite::new(format!(
        "{} -> {}",
        r.baseline.join(","),
        r.candidate.join(",")
    ));
    for c in &r.checks {
        let fails = c.decision == Decision::Regressed
            || (inconclusive_fails && c.decision == Decision::Inconclusive);
        let status = if fails {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
            let ci =
                c.ci.map(|(a, b)| format!("[{a:.4}, {b:.4}]"))
                    .unwrap_or_else(|| "not computed".into());
            s.set_message(format!(
                "{}: baseline {}, candidate {}, delta {}, CI {ci}; limit {}{}",
                c.decision.as_str(),
                f(c.baseline),
                f(c.candidate),
                f(c.delta),
                c.limit,
                c.note
                    .as_deref()
                    .map(|n| format!("; {n}"))
                    .unwrap_or_default()
            ));
            s
        } else {
            TestCaseStatus::success()
        };
        suite.add_test_case(TestCase::new(format!("{}: {}", c.scenario, c.what), status));
    }
    report.add_test_suite(suite);
    report
        .to_string()
        .map_err(|e| crate::sink::ReportError::Render {
            what: "JUnit XML",
            message: e.to_string(),
        })
}
