//! Report section "Detection before collision": per target of every scenario instance
//! with a time to collision, the first frame of stable detection and the TTC left after
//! the engine's latency, and per family a plot of that TTC against the ego speed, one
//! series per engine. Empty (no section) for runs without such targets.

use crate::doc::{Block, Figure, Section, Table};
use adasval_judge::detection::DetectionResults;
use adasval_record::record::RunRecord;
use plotters::prelude::*;
use std::collections::BTreeMap;

/// One plotted point: (ego speed km/h, TTC left s), `None` TTC for never detected.
type Series = BTreeMap<String, Vec<(f64, Option<f64>)>>;
/// (family, rule, parameter, value, engine).
type ValueKey = (String, String, String, String, String);

pub fn section(record: &RunRecord, det: &DetectionResults) -> Option<Section> {
    let any = det
        .traces
        .iter()
        .any(|t| t.stable_detection.iter().any(|r| r.targets.is_some()));
    if !any {
        return None;
    }
    let mut sec = Section::new("ttc", "Detection before collision");
    sec.push(Block::text(
        "Per target, the first frame by which it was detected (same class, IoU at the rule's threshold) in k of the last n frames, the scene's time to collision (TTC) at that frame, the engine's inference latency at the rule's percentile, and the TTC left once that latency has passed (docs/SCENARIOS.md). Never stably detected: no figure.",
    ));
    let mut t = Table::new(&[
        "family",
        "scenario",
        "engine",
        "rule",
        "target",
        "first stable frame",
        "TTC at frame (s)",
        "latency (ms)",
        "TTC left (s)",
    ]);
    // family → rule → engine → points
    let mut plots: BTreeMap<(String, String), Series> = BTreeMap::new();
    // (family, rule, parameter, value, engine) → TTC left per target (None: never)
    let mut by_value: BTreeMap<ValueKey, Vec<Option<f64>>> = BTreeMap::new();
    for tr in &det.traces {
        let sc = record.scenarios.iter().find(|s| s.id == tr.scenario);
        let family = sc
            .and_then(|s| s.family.clone())
            .unwrap_or_else(|| tr.scenario.clone());
        let speed = sc
            .and_then(|s| s.parameters.get("ego_speed_kmh"))
            .and_then(|v| v.parse::<f64>().ok());
        for rd in &tr.stable_detection {
            let Some(targets) = &rd.targets else {
                t.row([
                    family.clone(),
                    tr.scenario.clone(),
                    tr.engine.clone(),
                    rd.rule_id.clone(),
                    "–".into(),
                    "no latency samples: no figure".into(),
                    String::new(),
                    String::new(),
                    String::new(),
                ]);
                continue;
            };
            for tg in targets {
                t.row([
                    family.clone(),
                    tr.scenario.clone(),
                    tr.engine.clone(),
                    rd.rule_id.clone(),
                    tg.track_id.to_string(),
                    tg.first_stable_frame
                        .map(|f| f.to_string())
                        .unwrap_or_else(|| "never".into()),
                    tg.ttc_at_frame_s
                        .map(|v| format!("{v:.2}"))
                        .unwrap_or_else(|| "–".into()),
                    format!("{:.1}", tg.latency_ms),
                    tg.ttc_s
                        .map(|v| format!("{v:.2}"))
                        .unwrap_or_else(|| "–".into()),
                ]);
                for (k, v) in sc.map(|s| &s.parameters).into_iter().flatten() {
                    by_value
                        .entry((
                            family.clone(),
                            rd.rule_id.clone(),
                            k.clone(),
                            v.clone(),
                            tr.engine.clone(),
                        ))
                        .or_default()
                        .push(tg.ttc_s);
                }
                if let Some(x) = speed {
                    plots
                        .entry((family.clone(), rd.rule_id.clone()))
                        .or_default()
                        .entry(tr.engine.clone())
                        .or_default()
                        .push((x, tg.ttc_s));
                }
            }
        }
    }
    sec.push(t);
    if !by_value.is_empty() {
        sec.push(Block::Heading("Per family and parameter value".into()));
        let mut t = Table::new(&[
            "family",
            "rule",
            "parameter",
            "value",
            "engine",
            "targets",
            "stably detected",
            "min TTC left (s)",
            "median TTC left (s)",
        ]);
        for ((family, rule, k, v, engine), ttcs) in &by_value {
            let mut found: Vec<f64> = ttcs.iter().flatten().copied().collect();
            found.sort_by(f64::total_cmp);
            // Targets never stably detected have the lowest TTC of all: the minimum and
            // median count them as below every figure.
            let never = ttcs.len() - found.len();
            let min = if never > 0 {
                "never detected".to_string()
            } else {
                found.first().map(|m| format!("{m:.2}")).unwrap_or_default()
            };
            let mid = ttcs.len() / 2;
            let median = if mid < never {
                "never detected".to_string()
            } else if ttcs.len() % 2 == 1 {
                format!("{:.2}", found[mid - never])
            } else if mid == never {
                "never detected".to_string()
            } else {
                format!("{:.2}", (found[mid - never - 1] + found[mid - never]) / 2.0)
            };
            t.row([
                family.clone(),
                rule.clone(),
                k.clone(),
                v.clone(),
                engine.clone(),
                ttcs.len().to_string(),
                found.len().to_string(),
                min,
                median,
            ]);
        }
        sec.push(t);
    }
    let figures: Vec<Figure> = plots
        .iter()
        .map(|((family, rule), series)| Figure {
            svg: ttc_svg(family, rule, series),
            caption: format!(
                "{family}: TTC left at the first stable detection ({rule}) against the ego speed; a cross on the axis: never stably detected"
            ),
            file: None,
        })
        .collect();
    if !figures.is_empty() {
        sec.push(Block::Figures(figures));
    }
    Some(sec)
}

const COLOURS: [RGBColor; 4] = [BLUE, RED, GREEN, MAGENTA];

fn ttc_svg(family: &str, rule: &str, series: &Series) -> String {
    let pts = series.values().flatten();
    let xmax = pts.clone().map(|p| p.0).fold(1.0, f64::max) * 1.1;
    let ymax = pts.filter_map(|p| p.1).fold(1.0, f64::max).max(0.5) * 1.15;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (560, 320)).into_drawing_area();
        let draw = || -> Result<(), Box<dyn std::error::Error + '_>> {
            root.fill(&WHITE)?;
            let mut chart = ChartBuilder::on(&root)
                .caption(format!("{family} ({rule})"), ("sans-serif", 15))
                .margin(10)
                .x_label_area_size(38)
                .y_label_area_size(50)
                .build_cartesian_2d(0f64..xmax, 0f64..ymax)?;
            chart
                .configure_mesh()
                .x_desc("ego speed (km/h)")
                .y_desc("TTC left at stable detection (s)")
                .draw()?;
            for (i, (engine, pts)) in series.iter().enumerate() {
                let c = COLOURS[i % COLOURS.len()];
                let mut found: Vec<(f64, f64)> =
                    pts.iter().filter_map(|&(x, y)| Some((x, y?))).collect();
                found.sort_by(|a, b| a.0.total_cmp(&b.0));
                chart
                    .draw_series(LineSeries::new(found.clone(), c.stroke_width(2)))?
                    .label(engine.clone())
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], c));
                chart.draw_series(found.iter().map(|&p| Circle::new(p, 3, c.filled())))?;
                chart.draw_series(
                    pts.iter()
                        .filter(|p| p.1.is_none())
                        .map(|&(x, _)| Cross::new((x, 0.0), 5, c.stroke_width(2))),
                )?;
            }
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperRight)
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK)
                .draw()?;
            root.present()?;
            Ok(())
        };
        if let Err(e) = draw() {
            return format!("<p>plot failed: {e}</p>");
        }
    }
    svg
}
