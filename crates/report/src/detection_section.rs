//! Report section of the golden comparison.

use crate::{esc, frame_svg, Section};
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

/// Append one table row to both the Markdown and the HTML rendering.
fn push_row(md: &mut String, html: &mut String, cells: &[String]) {
    *md += &format!("| {} |\n", cells.join(" | "));
    *html += &format!(
        "<tr>{}</tr>",
        cells
            .iter()
            .map(|c| format!("<td>{}</td>", esc(c)))
            .collect::<String>()
    );
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
    let mut md = String::from("Precision and recall per class with two-sided 95% Clopper–Pearson intervals (requirements use the lower bound); ignore regions neither count as misses nor make false positives.\n\n| scenario | engine | class | IoU | TP | FP | FN | precision | 95% CI | recall | 95% CI |\n|---|---|---|---|---|---|---|---|---|---|---|\n");
    let mut html = String::from("<p>Precision and recall per class with two-sided 95% Clopper–Pearson intervals (requirements use the lower bound); ignore regions neither count as misses nor make false positives.</p><table><tr><th>scenario</th><th>engine</th><th>class</th><th>IoU</th><th>TP</th><th>FP</th><th>FN</th><th>precision</th><th>95% CI</th><th>recall</th><th>95% CI</th></tr>");
    for t in &det.traces {
        for c in &t.detection.per_class {
            for a in &c.at {
                if a.tp + a.fp + a.fn_ == 0 {
                    continue;
                }
                let cells = [
                    t.scenario.clone(),
                    t.engine.clone(),
                    c.class.clone(),
                    format!("{}", a.iou_threshold),
                    a.tp.to_string(),
                    a.fp.to_string(),
                    a.fn_.to_string(),
                    pct(a.precision),
                    ci(a.precision_ci),
                    pct(a.recall),
                    ci(a.recall_ci),
                ];
                push_row(&mut md, &mut html, &cells);
            }
        }
    }
    html += "</table>";
    md += "\n| scenario | engine | AP | AP50 | AP75 | LAMR (pedestrian) | deadline-aware recall (critical classes) | late frames |\n|---|---|---|---|---|---|---|---|\n";
    html += "<table><tr><th>scenario</th><th>engine</th><th>AP</th><th>AP50</th><th>AP75</th><th>LAMR (pedestrian)</th><th>deadline-aware recall (critical classes)</th><th>late frames</th></tr>";
    for t in &det.traces {
        let s = &t.detection.ap.stats;
        let g = |k: &str| {
            s.get(k)
                .map(|v| format!("{v:.3}"))
                .unwrap_or_else(|| "–".into())
        };
        let lamr = t
            .detection
            .lamr
            .as_ref()
            .map(|l| format!("{:.3}", l.lamr))
            .unwrap_or_else(|| "–".into());
        let cells = [
            t.scenario.clone(),
            t.engine.clone(),
            g("AP"),
            g("AP50"),
            g("AP75"),
            lamr,
            pct(t.deadline_recall.recall),
            t.deadline_recall.late_frames.to_string(),
        ];
        push_row(&mut md, &mut html, &cells);
    }
    html += "</table>";

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
    md += &format!("\n**Critical misses: {}.** {rule}\n\n", misses.len());
    html += &format!(
        "<h3>Critical misses: {}</h3><p>{}</p>",
        misses.len(),
        esc(&rule)
    );
    if !misses.is_empty() {
        md += "| scenario | engine | class | track | frames | box (first frame) |\n|---|---|---|---|---|---|\n";
        html += "<table><tr><th>scenario</th><th>engine</th><th>class</th><th>track</th><th>frames</th><th>box (first frame)</th></tr>";
        for (t, m) in &misses {
            let b = m.miss.object.bbox;
            let cells = [
                t.scenario.clone(),
                t.engine.clone(),
                m.class.clone(),
                m.miss
                    .track_id
                    .map(|x| x.to_string())
                    .unwrap_or_else(|| "–".into()),
                format!("{}–{}", m.miss.first_frame, m.miss.last_frame),
                format!("[{:.0}, {:.0}, {:.0}, {:.0}]", b[0], b[1], b[2], b[3]),
            ];
            push_row(&mut md, &mut html, &cells);
        }
        html += "</table><div class=\"plots\">";
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
                html += &format!(
                    "<figure>{}<figcaption>{} × {} frame {}: missed {} (yellow); golden green, detected red</figcaption></figure>",
                    frame_svg::frame_with_boxes(&img, &f.gt, &f.dets, &classes, Some(&m.miss.object)),
                    esc(&t.engine),
                    esc(&t.scenario),
                    f.frame,
                    esc(&m.class)
                );
            }
        }
        html += "</div>";
    }
    if !det.consistency.is_empty() {
        md += "\n| scenario | engine A | engine B | decision flips | bit-identical frames | mean IoU of matched outputs |\n|---|---|---|---|---|---|\n";
        html += "<h3>Consistency between engines</h3><table><tr><th>scenario</th><th>engine A</th><th>engine B</th><th>decision flips</th><th>bit-identical frames</th><th>mean IoU of matched outputs</th></tr>";
        for p in &det.consistency {
            let cells = [
                p.scenario.clone(),
                p.engine_a.clone(),
                p.engine_b.clone(),
                p.decision_flips.to_string(),
                format!(
                    "{} / {}",
                    p.bit_identical_frames, p.comparison.frames_compared
                ),
                pct(p.comparison.mean_iou),
            ];
            push_row(&mut md, &mut html, &cells);
        }
        html += "</table>";
    }
    Section {
        id: "detection".into(),
        title: "Golden comparison".into(),
        markdown: md,
        html,
    }
}
