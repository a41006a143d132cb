//! Markdown of the compile × run platform matrix (`adasval matrix`).

use adasval_judge::matrix::*;

pub fn markdown(m: &Matrix) -> String {
    let mut s = String::from("# adasval matrix (built on × ran on)\n\n| built on | ran on | engines | samples | median infer ms | 95% CI |\n|---|---|---|---|---|---|\n");
    for c in &m.cells {
        s += &format!(
            "| {} | {} | {} | {} | {:.3} | [{:.3}, {:.3}] |\n",
            c.built_on,
            c.ran_on,
            c.engines.join(", "),
            c.samples,
            c.median_ms,
            c.median_ci.0,
            c.median_ci.1
        );
    }
    s += "\n| cell A | cell B | decision flips |\n|---|---|---|\n";
    for (a, b, n) in &m.flips {
        s += &format!("| c{} r{} | c{} r{} | {n} |\n", a.0, a.1, b.0, b.1);
    }
    if !m.build_spread.is_empty() {
        s += "\n## Build-to-build spread (same model, same platform)\n\n| platform | build A | build B | median A ms | median B ms | Mann–Whitney p | P(A > B) | layers compared | kernel changes |\n|---|---|---|---|---|---|---|---|---|\n";
        for b in &m.build_spread {
            let changes = if b.kernel_changes.is_empty() {
                "–".to_string()
            } else {
                b.kernel_changes.join(", ")
            };
            s += &format!(
                "| {} | {} | {} | {:.3} | {:.3} | {:.3e} | {:.3} | {} | {} |\n",
                b.platform,
                b.a,
                b.b,
                b.median_a_ms,
                b.median_b_ms,
                b.p_value,
                b.effect_size,
                b.layers_compared,
                changes
            );
        }
    }
    s += &format!(
        "\n**Anomalies** (one-sided Mann–Whitney, α = {}): {}\n\n",
        m.alpha,
        m.anomalies.len()
    );
    for a in &m.anomalies {
        s += &format!(
            "- case {}: {} (c{} r{} slower than c{} r{}; p = {:.3e}, P(slower) = {:.3})\n",
            a.case,
            a.description,
            a.slower.0,
            a.slower.1,
            a.faster.0,
            a.faster.1,
            a.p_value,
            a.effect_size
        );
    }
    s
}
