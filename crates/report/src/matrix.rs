//! The report of the compile × run platform matrix (`adasval matrix`).

use crate::doc::{Block, Cell as TableCell, Document, Section, Table};
use adasval_judge::matrix::*;

/// Milliseconds with at least three decimals and four significant digits: backends that
/// answer in microseconds (no-op, small CPU models) would otherwise all read 0.000.
fn fmt_ms(x: f64) -> String {
    let decimals = if x == 0.0 || !x.is_finite() {
        3
    } else {
        (3 - x.abs().log10().floor() as i32).clamp(3, 9) as usize
    };
    format!("{x:.decimals$}")
}

fn signed_ms(x: f64) -> String {
    if x >= 0.0 {
        format!("+{}", fmt_ms(x))
    } else {
        fmt_ms(x)
    }
}

fn ms(v: Option<f64>) -> String {
    v.map(fmt_ms).unwrap_or_else(|| "no samples".into())
}

fn ci(v: Option<(f64, f64)>) -> String {
    v.map(|(lo, hi)| format!("[{}, {}]", fmt_ms(lo), fmt_ms(hi)))
        .unwrap_or_else(|| "–".into())
}

fn pair_decision(d: PairDecision) -> TableCell {
    match d {
        PairDecision::NotSignificant => "not significant".into(),
        PairDecision::WithinNoise => "within noise".into(),
        PairDecision::Differs => TableCell::strong("differs"),
    }
}

fn pairs_table(pairs: &[Pair]) -> Table {
    let mut t = Table::new(&[
        "platform",
        "A",
        "B",
        "median A ms",
        "median B ms",
        "B − A ms",
        "Mann–Whitney p",
        "P(A > B)",
        "decision flips",
        "layers compared",
        "kernel changes",
        "decision",
    ]);
    for p in pairs {
        let changes = if p.kernel_changes.is_empty() {
            "–".to_string()
        } else {
            p.kernel_changes.join(", ")
        };
        t.row([
            TableCell::from(p.platform.as_str()),
            p.a.as_str().into(),
            p.b.as_str().into(),
            fmt_ms(p.median_a_ms).into(),
            fmt_ms(p.median_b_ms).into(),
            signed_ms(p.median_diff_ms).into(),
            format!("{:.3e}", p.p_value).into(),
            format!("{:.3}", p.effect_size).into(),
            p.decision_flips.to_string().into(),
            p.layers_compared.to_string().into(),
            changes.into(),
            pair_decision(p.decision),
        ]);
    }
    t
}

fn noise_section(m: &Matrix) -> Section {
    let mut s = Section::new("noise-floor", "Noise floor (run-to-run)");
    let nf = &m.noise_floor;
    match (nf.max_median_diff_ms, nf.min_p_value) {
        (Some(floor), Some(p)) => {
            let floor = fmt_ms(floor);
            s.push(Block::text(&format!(
                "{} run-to-run pair{} (the same engine binary on the same platform, different runs). \
                 Largest median difference: **{floor} ms**; smallest Mann–Whitney p: {p:.3e}{}. \
                 A significant difference whose median shift is no larger than {floor} ms is \
                 reported as within noise.",
                nf.pairs,
                if nf.pairs == 1 { "" } else { "s" },
                if p < m.alpha {
                    format!(
                        " (below α = {}: runs of one binary differ significantly, so a p-value alone \
                         does not make a finding)",
                        m.alpha
                    )
                } else {
                    String::new()
                },
            )));
            s.push(pairs_table(&m.run_to_run));
        }
        _ => {
            s.push(Block::text(
                "No run-to-run pair: no engine binary ran more than once on one platform, so the \
                 noise floor is not measured and the findings below rest on the Mann–Whitney test \
                 alone. Replay an engine twice on a platform to measure it.",
            ));
        }
    }
    s
}

pub fn document(m: &Matrix) -> Document {
    let mut rows = Table::new(&[
        "engine@build on platform, run",
        "built on",
        "samples",
        "median infer ms",
        "95% CI",
    ]);
    for r in &m.rows {
        rows.row([
            r.label.clone(),
            r.built_on.clone(),
            r.samples.to_string(),
            ms(r.median_ms),
            ci(r.median_ci),
        ]);
    }
    let runs = Section::new("runs", "Runs (one row per engine and run)").with(rows);

    let mut cells = Table::new(&[
        "built on",
        "ran on",
        "runs",
        "samples",
        "median infer ms",
        "95% CI",
    ]);
    for c in &m.cells {
        cells.row([
            c.built_on.clone(),
            c.ran_on.clone(),
            c.runs.len().to_string(),
            c.samples.to_string(),
            ms(c.median_ms),
            ci(c.median_ci),
        ]);
    }
    let mut cell_section = Section::new("cells", "Cells (built on × ran on)").with(cells);
    if m.flips.is_empty() {
        cell_section.push(Block::text(
            "All runs fall in one cell: there is no pair of cells to count decision flips between.",
        ));
    } else {
        let mut flips = Table::new(&["cell A", "cell B", "decision flips"]);
        for (a, b, n) in &m.flips {
            flips.row([
                format!("built on {}, ran on {}", a.0, a.1),
                format!("built on {}, ran on {}", b.0, b.1),
                n.to_string(),
            ]);
        }
        cell_section.push(flips);
    }

    let mut spread = Section::new(
        "build-spread",
        "Build-to-build spread (same model, same platform)",
    );
    if m.build_spread.is_empty() {
        spread.push(Block::text(
            "No two builds of one model ran on one platform.",
        ));
    } else {
        spread.push(pairs_table(&m.build_spread));
    }

    let found = m
        .anomalies
        .iter()
        .filter(|a| a.decision == AnomalyDecision::Anomaly)
        .count();
    let within = m.anomalies.len() - found;
    let mut anomalies = Section::new("anomalies", "Anomalies").with(Block::text(&format!(
        "**{found} anomal{}**, {within} within noise (one-sided Mann–Whitney, α = {}; {}).",
        if found == 1 { "y" } else { "ies" },
        m.alpha,
        match m.noise_floor.max_median_diff_ms {
            Some(f) => format!("noise floor {} ms", fmt_ms(f)),
            None => "noise floor not measured".into(),
        }
    )));
    if !m.anomalies.is_empty() {
        anomalies.push(Block::list(m.anomalies.iter().map(|a| {
            format!(
                "{}: case {}: {} (built on {}, ran on {} slower than built on {}, ran on {} by \
                 {} ms in median; p = {:.3e}, P(slower) = {:.3})",
                match a.decision {
                    AnomalyDecision::Anomaly => "**anomaly**",
                    AnomalyDecision::WithinNoise => "within noise",
                },
                a.case,
                a.description,
                a.slower.0,
                a.slower.1,
                a.faster.0,
                a.faster.1,
                signed_ms(a.median_diff_ms),
                a.p_value,
                a.effect_size
            )
        })));
    }
    Document {
        title: "adasval matrix (built on × ran on)".into(),
        sections: vec![runs, cell_section, noise_section(m), spread, anomalies],
    }
}

/// The matrix as Markdown.
pub fn markdown(m: &Matrix) -> String {
    crate::markdown::document(&document(m))
}

#[cfg(test)]
mod tests {
    use super::fmt_ms;

    #[test]
    fn milliseconds_keep_four_significant_digits() {
        assert_eq!(fmt_ms(1.801804), "1.802");
        assert_eq!(fmt_ms(0.000147), "0.0001470");
        assert_eq!(fmt_ms(-0.0123), "-0.01230");
        assert_eq!(fmt_ms(0.0), "0.000");
        assert_eq!(fmt_ms(123.4567), "123.457");
    }
}
