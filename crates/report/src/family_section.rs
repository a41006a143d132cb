//! Report section "Detection per family": the judge's recall of each scenario family and of
//! each swept parameter value within it (`adasval_judge::families`), one row per class.

use crate::doc::{Block, Section, Table};
use adasval_judge::families::Families;

pub fn section(f: &Families) -> Section {
    let mut sec = Section::new("families", "Detection per family");
    sec.push(Block::text(&format!(
        "Instances of each swept scenario family pooled: the whole family, then each value of each swept parameter. Recall at IoU {:.2} on the summed counts, with its {:.0}% Clopper–Pearson interval; critical misses are runs of consecutive missed frames of a safety-critical object. Corruption rungs are judged in the robustness section instead.",
        f.iou_threshold,
        f.confidence * 100.0
    )));
    let mut t = Table::new(&[
        "family",
        "engine",
        "instances",
        "frames",
        "class",
        "recall",
        "found / labelled",
        "critical misses",
    ]);
    t.id = Some("families".into());
    for g in &f.groups {
        let scope = match (&g.parameter, &g.value) {
            (Some(p), Some(v)) => format!("{} · {p} = {v}", g.family),
            _ => format!("{} (all)", g.family),
        };
        if g.classes.is_empty() {
            t.row([
                scope.clone(),
                g.engine.clone(),
                g.instances.to_string(),
                g.frames.to_string(),
                "–".into(),
                "no labelled objects".into(),
                String::new(),
                g.critical_misses.to_string(),
            ]);
        }
        for c in &g.classes {
            let ci = c
                .recall_ci
                .as_ref()
                .map(|i| format!(" [{:.3}, {:.3}]", i.lower, i.upper))
                .unwrap_or_default();
            t.row([
                scope.clone(),
                g.engine.clone(),
                g.instances.to_string(),
                g.frames.to_string(),
                c.class.clone(),
                format!("{:.3}{ci}", c.recall),
                format!("{} / {}", c.tp, c.tp + c.fn_),
                g.critical_misses.to_string(),
            ]);
        }
    }
    sec.push(Block::Table(t));
    sec
}
