//! The WCET section of a run's report: the pWCET table and, per trace, the exceedance and
//! convergence figures.

use crate::{esc, Section};
use adasval_judge::timing::{selected_at, TraceWcet};
use adasval_record::record::RunRecord;

fn fmt(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.3}")).unwrap_or_else(|| "–".into())
}

pub fn section(
    record: &RunRecord,
    analyses: &[TraceWcet],
    samples: &[(String, String, Vec<u64>)],
) -> Section {
    let mut md = String::from("Measurement-based probabilistic WCET of the `infer` stage (ms), per trace; method, rules and conventions in docs/WCET.md. Gates use the upper bound of the selected model.\n\n| engine | scenario | n | verdict | HWM | HWM×margin | pWCET 1e-6 | UCB 1e-6 | pWCET 1e-9 | UCB 1e-9 | deadline |\n|---|---|---|---|---|---|---|---|---|---|---|\n");
    let mut html = String::from("<p>Measurement-based probabilistic WCET of the <code>infer</code> stage (ms), per trace; gates use the upper bound of the selected model.</p><table><tr><th>engine</th><th>scenario</th><th>n</th><th>verdict</th><th>HWM</th><th>HWM×margin</th><th>pWCET 1e-6</th><th>UCB 1e-6</th><th>pWCET 1e-9</th><th>UCB 1e-9</th><th>deadline</th><th>reasons / advice</th></tr>");
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
        md += &format!(
            "| {} | {} | {} | {} | {:.3} | {:.3} | {} | {} | {} | {} | {} |\n",
            w.engine,
            w.scenario,
            a.n,
            verdict,
            a.hwm,
            a.hwm_margin,
            fmt(v6),
            fmt(u6),
            fmt(v9),
            fmt(u9),
            fmt(deadline)
        );
        let notes: Vec<String> = a.reasons.iter().chain(a.advice.iter()).cloned().collect();
        html += &format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"{}\">{}</td><td>{:.3}</td><td>{:.3}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&w.engine),
            esc(&w.scenario),
            a.n,
            if verdict == "pwcet" { "pass" } else { "nodata" },
            esc(&verdict),
            a.hwm,
            a.hwm_margin,
            fmt(v6),
            fmt(u6),
            fmt(v9),
            fmt(u9),
            fmt(deadline),
            esc(&notes.join(" "))
        );
    }
    html += "</table><div class=\"plots\">";
    for w in analyses {
        // Plots only where there is enough data to fit a tail.
        if w.analysis.models.is_empty() {
            continue;
        }
        if let Some((_, _, ns)) = samples
            .iter()
            .find(|(s, e, _)| *s == w.scenario && *e == w.engine)
        {
            let ms: Vec<f64> = ns.iter().map(|&v| v as f64 / 1e6).collect();
            html += &format!(
                "<figure>{}<figcaption>{} × {}: exceedance (log CCDF) with fitted tail</figcaption></figure>",
                crate::wcet_plot::exceedance_svg(&ms, &w.analysis),
                esc(&w.engine),
                esc(&w.scenario)
            );
            html += &format!(
                "<figure>{}<figcaption>{} × {}: convergence of the bound with sample count</figcaption></figure>",
                crate::wcet_plot::convergence_svg(&w.analysis),
                esc(&w.engine),
                esc(&w.scenario)
            );
        }
    }
    html += "</div>";
    Section {
        id: "wcet".into(),
        title: "WCET".into(),
        markdown: md,
        html,
    }
}
