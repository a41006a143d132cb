//! The report of a baseline-versus-candidate regression check (`adasval diff`).

use crate::doc::{Block, Cell, Document, Section, Table};
use adasval_judge::regress::*;

pub fn document(r: &DiffReport) -> Document {
    let f = |v: Option<f64>| v.map(|x| format!("{x:.4}")).unwrap_or_else(|| "–".into());
    let mut checks = Section::new("checks", "Checks").with(Block::text(&format!(
        "baseline `{}` ({}) → candidate `{}` ({})",
        r.baseline, r.baseline_engine, r.candidate, r.candidate_engine
    )));
    let mut t = Table::new(&[
        "scenario",
        "check",
        "baseline",
        "candidate",
        "delta",
        "95% CI",
        "p",
        "effect",
        "limit",
        "decision",
    ]);
    for c in &r.checks {
        t.row([
            Cell::from(c.scenario.as_str()),
            c.what.as_str().into(),
            f(c.baseline).into(),
            f(c.candidate).into(),
            f(c.delta).into(),
            c.ci.map(|(a, b)| format!("[{a:.4}, {b:.4}]"))
                .unwrap_or_else(|| "–".into())
                .into(),
            c.p_value
                .map(|p| format!("{p:.3e}"))
                .unwrap_or_else(|| "–".into())
                .into(),
            f(c.effect_size).into(),
            c.limit.as_str().into(),
            if c.decision.is_regressed() {
                Cell::strong("regressed").class("fail")
            } else {
                "not regressed".into()
            },
        ]);
    }
    checks.push(t);
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
        title: format!(
            "adasval diff: {}",
            if r.decision.is_regressed() {
                "REGRESSION"
            } else {
                "no regression"
            }
        ),
        sections,
    }
}

/// The diff as Markdown.
pub fn markdown(r: &DiffReport) -> String {
    crate::markdown::document(&document(r))
}

/// JUnit XML of a diff: one case per check, failing where the check found a regression.
pub fn junit_xml(r: &DiffReport) -> Result<String, crate::sink::ReportError> {
    use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
    let f = |v: Option<f64>| {
        v.map(|x| format!("{x:.4}"))
            .unwrap_or_else(|| "not measured".into())
    };
    let mut report = Report::new("adasval diff");
    let mut suite = TestSuite::new(format!("{} -> {}", r.baseline, r.candidate));
    for c in &r.checks {
        let status = if c.decision.is_regressed() {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
            let ci =
                c.ci.map(|(a, b)| format!("[{a:.4}, {b:.4}]"))
                    .unwrap_or_else(|| "not computed".into());
            s.set_message(format!(
                "baseline {}, candidate {}, delta {}, 95% CI {ci}; limit {}",
                f(c.baseline),
                f(c.candidate),
                f(c.delta),
                c.limit
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
