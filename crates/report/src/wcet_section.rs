//! The WCET section of a run's report: the pWCET table and, per trace, the exceedance and
//! convergence figures.

use crate::doc::{Block, Cell, Figure, Section, Table};
use adasval_judge::timing::{selected_at, TraceWcet};
use adasval_record::record::RunRecord;

fn fmt(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.3}")).unwrap_or_else(|| "–".into())
}

/// The boards that measured a trace, and the test that pooled them when there are several.
fn units_cell(w: &TraceWcet) -> String {
    let mut s = if w.units.is_empty() {
        "not recorded".to_string()
    } else {
        w.units
            .iter()
            .map(|u| u.label())
            .collect::<Vec<_>>()
            .join("; ")
    };
    if let Some(p) = &w.pooling {
        s += &format!("; pooled ({} p = {:.4} ≥ {})", p.test, p.p_value, p.alpha);
    }
    s
}

pub fn section(
    record: &RunRecord,
    analyses: &[TraceWcet],
    samples: &[(String, String, Vec<u64>)],
    margin_source: &str,
) -> Section {
    let mut s = Section::new("wcet", "WCET");
    s.push(Block::text(&format!("Measurement-based probabilistic WCET of the `infer` stage (ms), per trace; method, rules and conventions in docs/WCET.md. Gates use the upper bound of the selected model. High-water-mark margin: {margin_source}.")));
    let mut t = Table::new(&[
        "engine",
        "scenario",
        "n",
        "verdict",
        "HWM",
        "HWM×margin",
        "pWCET 1e-6",
        "UCB 1e-6",
        "pWCET 1e-9",
        "UCB 1e-9",
        "deadline",
        "units",
        "reasons / advice",
    ]);
    for w in analyses {
        let a = &w.analysis;
        let deadline = record
            .scenarios
            .iter()
            .find(|s| s.id == w.scenario)
            .map(|s| s.deadline_ms);
        let (v6, u6) = selected_at(a, 1e-6);
        let (v9, u9) = selected_at(a, 1e-9);
        let verdict = serde_json::to_value(a.verdict)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let notes: Vec<String> = a.reasons.iter().chain(a.advice.iter()).cloned().collect();
        let class = if verdict == "pwcet" { "pass" } else { "nodata" };
        t.row([
            Cell::from(w.engine.as_str()),
            w.scenario.as_str().into(),
            a.n.to_string().into(),
            Cell::from(verdict).class(class),
            format!("{:.3}", a.hwm).into(),
            format!("{:.3}", a.hwm_margin).into(),
            fmt(v6).into(),
            fmt(u6).into(),
            fmt(v9).into(),
            fmt(u9).into(),
            fmt(deadline).into(),
            units_cell(w).into(),
            notes.join(" ").into(),
        ]);
    }
    s.push(t);
    let mut figs = Vec::new();
    for w in analyses {
        if let Some((_, _, ns)) = samples
            .iter()
            .find(|(s, e, _)| *s == w.scenario && *e == w.engine)
        {
            let ms: Vec<f64> = ns.iter().map(|&v| v as f64 / 1e6).collect();
            // Every trace gets its exceedance plot; a refused one shows the measured curve
            // and says why no model is drawn.
            let caption = if w.analysis.models.is_empty() {
                let why = if w.analysis.reasons.is_empty() {
                    "no tail model was fitted".to_string()
                } else {
                    w.analysis.reasons.join("; ")
                };
                format!(
                    "{} × {}: exceedance (log CCDF) of the measurements; no model drawn: {why}",
                    w.engine, w.scenario
                )
            } else {
                format!(
                    "{} × {}: exceedance (log CCDF) with fitted tail",
                    w.engine, w.scenario
                )
            };
            figs.push(Figure {
                svg: crate::wcet_plot::exceedance_svg(&ms, &w.analysis),
                caption,
                file: None,
            });
            if w.analysis.models.is_empty() {
                continue;
            }
            figs.push(Figure {
                svg: crate::wcet_plot::convergence_svg(&w.analysis),
                caption: format!(
                    "{} × {}: convergence of the bound with sample count",
                    w.engine, w.scenario
                ),
                file: None,
            });
        }
    }
    s.push(Block::Figures(figs));
    s
}
