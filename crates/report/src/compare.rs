//! The report of a cross-run consistency comparison (`adasval compare`).

use crate::doc::{Block, Document, Section, Table};
use adasval_judge::compare::*;

pub fn document(c: &Comparison) -> Document {
    let n = c.participants.len();
    let mut m = vec![vec![0usize; n]; n];
    for p in &c.pairs {
        m[p.a][p.b] += p.decision_flips;
        m[p.b][p.a] += p.decision_flips;
    }
    let runs = Section::new("runs", "Runs read (sealed; manifest SHA-256)").with(Block::list(
        c.participants.iter().enumerate().map(|(i, p)| {
            format!(
                "[{i}] `{}` engine sha256 `{}` run `{}` manifest `{}`",
                p.label,
                &p.engine_sha256[..16.min(p.engine_sha256.len())],
                p.run_dir,
                p.manifest_sha256
            )
        }),
    ));
    let mut head = vec![String::new()];
    head.extend((0..n).map(|i| format!("[{i}]")));
    let mut flips = Table::new(&head);
    for (i, row) in m.iter().enumerate() {
        let mut cells = vec![format!("[{i}]")];
        cells.extend(row.iter().enumerate().map(|(j, v)| {
            if i == j {
                "–".to_string()
            } else {
                v.to_string()
            }
        }));
        flips.row(cells);
    }
    let mut per = Table::new(&[
        "scenario",
        "pair",
        "frames",
        "decision flips",
        "bit-identical frames",
        "mean IoU",
        "min IoU",
        "outputs max abs err",
        "within tolerance",
    ]);
    for p in &c.pairs {
        let f = |v: Option<f64>| v.map(|x| format!("{x:.4}")).unwrap_or_else(|| "–".into());
        let max_abs = p
            .outputs
            .iter()
            .map(|o| o.max_abs)
            .fold(None, |a: Option<f64>, x| Some(a.map_or(x, |a| a.max(x))));
        let within = if p.outputs.is_empty() {
            "–".to_string()
        } else {
            p.outputs.iter().all(|o| o.within_tolerance).to_string()
        };
        per.row([
            p.scenario.clone(),
            format!("[{}]–[{}]", p.a, p.b),
            p.frames_compared.to_string(),
            p.decision_flips.to_string(),
            p.bit_identical_frames.to_string(),
            f(p.mean_iou),
            f(p.min_iou),
            f(max_abs),
            within,
        ]);
    }
    Document {
        title: "adasval compare".into(),
        sections: vec![
            runs,
            Section::new(
                "flips",
                "Frames whose safety decisions differ (all scenarios)",
            )
            .with(flips),
            Section::new("per-scenario", "Per scenario").with(per),
        ],
    }
}

/// The comparison as Markdown.
pub fn markdown(c: &Comparison) -> String {
    crate::markdown::document(&document(c))
}
