//! The report of the compile × run platform matrix (`adasval matrix`).

use crate::doc::{Block, Document, Section, Table};
use adasval_judge::matrix::*;

pub fn document(m: &Matrix) -> Document {
    let mut cells = Table::new(&[
        "built on",
        "ran on",
        "engines",
        "samples",
        "median infer ms",
        "95% CI",
    ]);
    for c in &m.cells {
        cells.row([
            c.built_on.clone(),
            c.ran_on.clone(),
            c.engines.join(", "),
            c.samples.to_string(),
            format!("{:.3}", c.median_ms),
            format!("[{:.3}, {:.3}]", c.median_ci.0, c.median_ci.1),
        ]);
    }
    let mut flips = Table::new(&["cell A", "cell B", "decision flips"]);
    for (a, b, n) in &m.flips {
        flips.row([
            format!("c{} r{}", a.0, a.1),
            format!("c{} r{}", b.0, b.1),
            n.to_string(),
        ]);
    }
    let mut sections = vec![Section::new("cells", "Cells").with(cells).with(flips)];
    if !m.build_spread.is_empty() {
        let mut t = Table::new(&[
            "platform",
            "build A",
            "build B",
            "median A ms",
            "median B ms",
            "Mann–Whitney p",
            "P(A > B)",
            "layers compared",
            "kernel changes",
        ]);
        for b in &m.build_spread {
            let changes = if b.kernel_changes.is_empty() {
                "–".to_string()
            } else {
                b.kernel_changes.join(", ")
            };
            t.row([
                b.platform.clone(),
                b.a.clone(),
                b.b.clone(),
                format!("{:.3}", b.median_a_ms),
                format!("{:.3}", b.median_b_ms),
                format!("{:.3e}", b.p_value),
                format!("{:.3}", b.effect_size),
                b.layers_compared.to_string(),
                changes,
            ]);
        }
        sections.push(
            Section::new(
                "build-spread",
                "Build-to-build spread (same model, same platform)",
            )
            .with(t),
        );
    }
    let mut anomalies = Section::new("anomalies", "Anomalies").with(Block::text(&format!(
        "**{} anomalies** (one-sided Mann–Whitney, α = {}).",
        m.anomalies.len(),
        m.alpha
    )));
    if !m.anomalies.is_empty() {
        anomalies.push(Block::list(m.anomalies.iter().map(|a| {
            format!(
                "case {}: {} (c{} r{} slower than c{} r{}; p = {:.3e}, P(slower) = {:.3})",
                a.case,
                a.description,
                a.slower.0,
                a.slower.1,
                a.faster.0,
                a.faster.1,
                a.p_value,
                a.effect_size
            )
        })));
    }
    sections.push(anomalies);
    Document {
        title: "adasval matrix (built on × ran on)".into(),
        sections,
    }
}

/// The matrix as Markdown.
pub fn markdown(m: &Matrix) -> String {
    crate::markdown::document(&document(m))
}
