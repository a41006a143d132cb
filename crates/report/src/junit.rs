//! JUnit XML for CI dashboards: one test suite per requirement, one test case per scope
//! instance. A requirement without evidence gets a single failing case, so "no evidence"
//! shows up as red, never as an empty green suite. An incomplete run adds a failing case.
//! A waived failure is a skipped case carrying the waiver and the figures (yellow, never
//! green); an expired waiver is a failing case of its own.

use adasval_judge::safety::verdict::{fmt_num, Evaluation, Verdict, WaiverStatus};
use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

/// Build the JUnit report.
pub fn junit_report(name: &str, eval: &Evaluation) -> Report {
    let mut report = Report::new(name);
    if !eval.run_complete {
        let mut suite = TestSuite::new("run");
        let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
        status.set_message("the run is incomplete: its verdicts do not cover everything asked");
        let mut case = TestCase::new("run complete", status);
        case.set_classname("run");
        suite.add_test_case(case);
        report.add_test_suite(suite);
    }
    for r in &eval.requirements {
        let mut suite = TestSuite::new(r.id.as_str());
        if r.verdict == Verdict::NoEvidence {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
            status.set_message(format!(
                "no evidence: no {} `{}` figure in the run matches the requirement's scope",
                r.kind.as_str(),
                r.metric
            ));
            status.set_type("no_evidence");
            let mut case = TestCase::new("no evidence", status);
            case.set_classname(r.id.as_str());
            suite.add_test_case(case);
        }
        for i in &r.instances {
            let status = if i.verdict.passed() {
                TestCaseStatus::success()
            } else if i.verdict == Verdict::NotApplicable {
                // Never green: skipped when the policy accepts it, failed when it does not.
                let mut s = if r.accepted() {
                    TestCaseStatus::skipped()
                } else {
                    TestCaseStatus::non_success(NonSuccessKind::Failure)
                };
                s.set_message(format!("{}: {}", r.shown(), i.detail));
                s.set_type("not_applicable");
                s
            } else {
                let waiver = r.waiver.as_ref().filter(|_| r.waived());
                let mut s = match waiver {
                    Some(_) => TestCaseStatus::skipped(),
                    None => TestCaseStatus::non_success(NonSuccessKind::Failure),
                };
                let limit = i
                    .limit
                    .map(|l| format!("{} {}", i.comparison.symbol(), fmt_num(l)))
                    .unwrap_or_else(|| "none".into());
                let figures = match i.measured {
                    Some(m) => format!("measured {}, threshold {limit}: {}", fmt_num(m), i.detail),
                    None => format!("no figure (threshold {limit}): {}", i.detail),
                };
                s.set_message(match waiver {
                    Some(w) => format!(
                        "FAILED, waived by {} until {} ({}): {figures}",
                        w.owner, w.expires, w.reason
                    ),
                    None => figures,
                });
                s.set_type(r.kind.as_str());
                if !i.artefacts.is_empty() {
                    let lines: Vec<String> = i
                        .artefacts
                        .iter()
                        .map(|a| match &a.sha256 {
                            Some(h) => format!("{}  {h}", a.path),
                            None => a.path.clone(),
                        })
                        .collect();
                    s.set_description(lines.join("\n"));
                }
                s
            };
            let mut case = TestCase::new(i.label(), status);
            case.set_classname(r.id.as_str());
            case.add_property(("detail", i.detail.as_str()));
            suite.add_test_case(case);
        }
        report.add_test_suite(suite);
    }
    let expired: Vec<_> = eval.expired_waivers().collect();
    if !expired.is_empty() {
        let mut suite = TestSuite::new("waivers");
        for w in expired {
            let mut st = TestCaseStatus::non_success(NonSuccessKind::Failure);
            st.set_message(format!(
                "waiver for {} expired on {} (owner {}): {}",
                w.requirement, w.expires, w.owner, w.reason
            ));
            st.set_type(WaiverStatus::Expired.as_str());
            let mut case = TestCase::new(format!("{} waiver current", w.requirement), st);
            case.set_classname("waivers");
            suite.add_test_case(case);
        }
        report.add_test_suite(suite);
    }
    report
}

/// JUnit XML with a `warnings` suite: one skipped case per warning, so a dashboard shows
/// it without turning a passing gate red.
pub fn junit_xml_warned(
    name: &str,
    eval: &Evaluation,
    warnings: &[String],
) -> Result<String, crate::sink::ReportError> {
    let mut report = junit_report(name, eval);
    if !warnings.is_empty() {
        let mut suite = TestSuite::new("warnings");
        for w in warnings {
            let mut st = TestCaseStatus::skipped();
            st.set_message(w.as_str());
            let mut case = TestCase::new(w.as_str(), st);
            case.set_classname("warnings");
            suite.add_test_case(case);
        }
        report.add_test_suite(suite);
    }
    report
        .to_string()
        .map_err(|e| crate::sink::ReportError::Render {
            what: "JUnit XML",
            message: e.to_string(),
        })
}

/// JUnit XML text (what the [`crate::sink::Junit`] sink writes).
pub fn junit_xml(name: &str, eval: &Evaluation) -> Result<String, crate::sink::ReportError> {
    junit_report(name, eval)
        .to_string()
        .map_err(|e| crate::sink::ReportError::Render {
            what: "JUnit XML",
            message: e.to_string(),
        })
}

/// JUnit XML for a bundle whose evidence failed verification: one failing case naming
/// every problem, so CI shows red with the reason rather than an empty report.
pub fn tampered_xml(name: &str, problems: &[String]) -> Result<String, crate::sink::ReportError> {
    let mut report = Report::new(name);
    let mut suite = TestSuite::new("evidence");
    let mut st = TestCaseStatus::non_success(NonSuccessKind::Failure);
    st.set_message(format!("evidence tampered: {}", problems.join("; ")));
    let mut case = TestCase::new("manifest intact", st);
    case.set_classname("evidence");
    suite.add_test_case(case);
    report.add_test_suite(suite);
    report
        .to_string()
        .map_err(|e| crate::sink::ReportError::Render {
            what: "JUnit XML",
            message: e.to_string(),
        })
}
