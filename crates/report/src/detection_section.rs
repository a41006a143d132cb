//! Report section of the golden comparison.

use crate::doc::{Block, Figure, Section, Table};
use crate::frame_svg;
use adasval_judge::detection::{frames_of, DetectionResults};
use adasval_record::record::RunRecord;
use adasval_record::stored::StoredRun;
use adasval_scenario::{DataRoot, LoadedScenario};

fn pct(v: Option<f64>) -> String {
    v.map(|x| format!("{:.3}", x)).unwrap_or_else(|| "–".into())
}

fn ci(v: Option<adasval_judge::metrics::stats::Interval>) -> String {
    v.map(|i| format!("[{:.3}, {:.3}]", i.lower, i.upper))
        .unwrap_or_else(|| "–".into())
}

/// At most this many critical-miss frames are drawn (the list itself is complete).
const MAX_DRAWN: usize = 6;

pub fn section(
    out: &StoredRun,
    scenarios: &[LoadedScenario],
    det: &DetectionResults,
    data: &DataRoot,
) -> Section {
    let record: &RunRecord = &out.record;
    let mut sec = Section::new("detection", "Golden comparison");
    sec.push(Block::text("Precision and recall per class with two-sided 95% Clopper–Pearson intervals (requirements use the lower bound); ignore regions neither count as misses nor make false positives."));
    let mut t = Table::new(&[
        "scenario",
        "engine",
        "class",
        "IoU",
        "TP",
        "FP",
        "FN",
        "precision",
        "95% CI",
        "recall",
        "95% CI",
    ]);
    for tr in &det.traces {
        for c in &tr.detection.per_class {
            for a in &c.at {
                if a.tp + a.fp + a.fn_ == 0 {
                    continue;
                }
                t.row([
                    tr.scenario.clone(),
                    tr.engine.clone(),
                    c.class.clone(),
                    format!("{}", a.iou_threshold),
                    a.tp.to_string(),
                    a.fp.to_string(),
                    a.fn_.to_string(),
                    pct(a.precision),
                    ci(a.precision_ci),
                    pct(a.recall),
                    ci(a.recall_ci),
                ]);
            }
        }
    }
    sec.push(t);
    let mut t = Table::new(&[
        "scenario",
        "engine",
        "AP",
        "AP50",
        "AP75",
        "LAMR (pedestrian)",
        "deadline-aware recall (critical classes)",
        "late frames",
    ]);
    for tr in &det.traces {
        let s = &tr.detection.ap.stats;
        let g = |k: &str| {
            s.get(k)
                .map(|v| format!("{v:.3}"))
                .unwrap_or_else(|| "–".into())
        };
        let lamr = tr
            .detection
            .lamr
            .as_ref()
            .map(|l| format!("{:.3}", l.lamr))
            .unwrap_or_else(|| "–".into());
        t.row([
            tr.scenario.clone(),
            tr.engine.clone(),
            g("AP"),
            g("AP50"),
            g("AP75"),
            lamr,
            pct(tr.deadline_recall.recall),
            tr.deadline_recall.late_frames.to_string(),
        ]);
    }
    sec.push(t);

    let v = &det.safety_view;
    let rule = format!(
        "A critical miss is a safety-critical object at least {} px high{} missed (no same-class detection at IoU ≥ {}) in {} or more consecutive frames.",
        v.min_height_px,
        v.roi.map(|r| format!(" inside the region {r:?}")).unwrap_or_default(),
        v.iou_threshold,
        v.consecutive_frames
    );
    let misses: Vec<_> = det
        .traces
        .iter()
        .flat_map(|t| t.critical_misses.iter().map(move |m| (t, m)))
        .collect();
    sec.push(Block::Heading(format!("Critical misses: {}", misses.len())));
    sec.push(Block::Paragraph(vec![crate::doc::Span::Text(rule)]));
    if !misses.is_empty() {
        let mut t = Table::new(&[
            "scenario",
            "engine",
            "class",
            "track",
            "frames",
            "box (first frame)",
        ]);
        for (tr, m) in &misses {
            let b = m.miss.object.bbox;
            t.row([
                tr.scenario.clone(),
                tr.engine.clone(),
                m.class.clone(),
                m.miss
                    .track_id
                    .map(|x| x.to_string())
                    .unwrap_or_else(|| "–".into()),
                format!("{}–{}", m.miss.first_frame, m.miss.last_frame),
                format!("[{:.0}, {:.0}, {:.0}, {:.0}]", b[0], b[1], b[2], b[3]),
            ]);
        }
        sec.push(t);
        let mut figs = Vec::new();
        for (t, m) in misses.iter().take(MAX_DRAWN) {
            let Some(ls) = scenarios.iter().find(|s| s.scenario.id == t.scenario) else {
                continue;
            };
            let Some(trace) = out
                .traces
                .iter()
                .find(|x| x.scenario == t.scenario && x.engine == t.engine)
            else {
                continue;
            };
            let frames = frames_of(&out.golden, trace);
            let Some(f) = frames.iter().find(|f| f.frame == m.miss.first_frame) else {
                continue;
            };
            let classes = record
                .engines
                .iter()
                .find(|e| e.name == t.engine)
                .map(|e| e.classes.clone())
                .unwrap_or_default();
            if let Ok(img) = adasval_scenario::frame_image(ls, f.frame, data) {
                figs.push(Figure {
                    svg: frame_svg::frame_with_boxes(
                        &img,
                        &f.gt,
                        &f.dets,
                        &classes,
                        Some(&m.miss.object),
                    ),
                    caption: format!(
                        "{} × {} frame {}: missed {} (yellow); golden green, detected red",
                        t.engine, t.scenario, f.frame, m.class
                    ),
                    file: None,
                });
            }
        }
        sec.push(Block::Figures(figs));
    }
    if !det.consistency.is_empty() {
        sec.push(Block::Heading("Consistency between engines".into()));
        let mut t = Table::new(&[
            "scenario",
            "engine A",
            "engine B",
            "decision flips",
            "bit-identical frames",
            "mean IoU of matched outputs",
        ]);
        for p in &det.consistency {
            t.row([
                p.scenario.clone(),
                p.engine_a.clone(),
                p.engine_b.clone(),
                p.decision_flips.to_string(),
                format!(
                    "{} / {}",
                    p.bit_identical_frames, p.comparison.frames_compared
                ),
                pct(p.comparison.mean_iou),
            ]);
        }
        sec.push(t);
    }
    sec
}
