//! `adasval wcet --format text`: one analysis as a section a person reads in a terminal
//! (the verdict, the high-water mark, why there is no bound when there is none, and the
//! selected model's pWCET per probability with its interval and how far it extrapolates).

use crate::doc::{Block, Section, Table};
use adasval_judge::wcet::{Analysis, Extrapolation, Verdict};

fn verdict_text(v: Verdict) -> &'static str {
    match v {
        Verdict::Pwcet => "pWCET bound",
        Verdict::NotIid => {
            "no bound: the samples are not independent and no block size makes them so"
        }
        Verdict::NotStationary => "no bound: the trace has a change point (not stationary)",
        Verdict::TooFewSamples => "no bound: too few samples",
        Verdict::NoAcceptableFit => "no bound: no model passes the goodness-of-fit tests",
    }
}

fn extrapolation_text(e: Extrapolation) -> &'static str {
    match e {
        Extrapolation::InsideData => "inside the data",
        Extrapolation::Moderate => "moderate extrapolation",
        Extrapolation::BeyondLimit => "beyond the extrapolation limit",
    }
}

/// The section for one analysis; `label` names the trace.
pub fn section(label: &str, a: &Analysis) -> Section {
    let mut s = Section::new("wcet", label);
    let model = a
        .selected
        .as_ref()
        .map(|m| {
            format!(
                "; selected model {} / {} ({})",
                m.method, m.estimator, m.rule
            )
        })
        .unwrap_or_default();
    s.push(Block::text(&format!(
        "{} samples of `{}` in {}; verdict: {}{model}. High-water mark {:.3} {}, × margin {} = {:.3} {}.",
        a.n,
        a.stage,
        a.unit,
        verdict_text(a.verdict),
        a.hwm,
        a.unit,
        a.margin,
        a.hwm_margin,
        a.unit
    )));
    if !a.reasons.is_empty() {
        s.push(Block::text("Why:"));
        s.push(Block::list(&a.reasons));
    }
    if !a.advice.is_empty() {
        s.push(Block::text("What to change:"));
        s.push(Block::list(&a.advice));
    }
    if let Some(sel) = &a.selected {
        let mut t = Table::new(&[
            "exceedance probability",
            "pWCET",
            "95% interval",
            "extrapolation",
        ]);
        let unit = &a.unit;
        for r in a
            .pwcet
            .iter()
            .filter(|r| r.method == sel.method && r.estimator == sel.estimator)
        {
            let value = r
                .value
                .map(|v| format!("{v:.3} {unit}"))
                .unwrap_or_else(|| "withheld (beyond the limit; --extrapolate prints it)".into());
            let ci = match (r.ci_low, r.ci_high) {
                (Some(l), Some(h)) => format!("[{l:.3}, {h:.3}] {unit}"),
                _ => "not computed".into(),
            };
            t.row([
                format!("{:e}", r.exceedance_probability),
                value,
                ci,
                extrapolation_text(r.extrapolation).to_string(),
            ]);
        }
        s.push(t);
    }
    s
}
