//! Markdown of a baseline-versus-candidate regression check (`adasval diff`).

use adasval_judge::regress::*;

pub fn markdown(r: &DiffReport) -> String {
    let f = |v: Option<f64>| v.map(|x| format!("{x:.4}")).unwrap_or_else(|| "–".into());
    let mut s = format!(
        "# adasval diff: {}\n\nbaseline `{}` ({}) → candidate `{}` ({})\n\n| scenario | check | baseline | candidate | delta | 95% CI | p | effect | limit | regression |\n|---|---|---|---|---|---|---|---|---|---|\n",
        if r.regression { "REGRESSION" } else { "no regression" },
        r.baseline, r.baseline_engine, r.candidate, r.candidate_engine
    );
    for c in &r.checks {
        s += &format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            c.scenario,
            c.what,
            f(c.baseline),
            f(c.candidate),
            f(c.delta),
            c.ci.map(|(a, b)| format!("[{a:.4}, {b:.4}]"))
                .unwrap_or_else(|| "–".into()),
            c.p_value
                .map(|p| format!("{p:.3e}"))
                .unwrap_or_else(|| "–".into()),
            f(c.effect_size),
            c.limit,
            if c.regression { "**yes**" } else { "no" }
        );
    }
    if !r.layers.is_empty() {
        let changed = r.layers.iter().filter(|l| l.tactic_changed).count();
        s += &format!(
            "\n## Layers ({} in both runs, {changed} with a different kernel choice, {} in one run only)\n\n| layer | baseline ms | candidate ms | delta ms | baseline tactic | candidate tactic |\n|---|---|---|---|---|---|\n",
            r.layers.len(),
            r.layers_only_in_one.len()
        );
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
            s += &format!(
                "| {} | {} | {} | {} | {} | {}{} |\n",
                l.name,
                f(l.baseline_ms),
                f(l.candidate_ms),
                f(l.delta_ms),
                l.baseline_tactic.as_deref().unwrap_or("–"),
                l.candidate_tactic.as_deref().unwrap_or("–"),
                if l.tactic_changed { " **changed**" } else { "" }
            );
        }
    }
    s
}
