//! The robustness section: what the judge's `robustness` analysis found on a run's
//! corruption ladders, as tables (mPC / rPC, the metric per severity, the severity at which
//! each requirement first fails, decision flips between engines per severity) and one
//! severity-vs-metric figure per corrupted scenario and corruption.

use plotters::prelude::*;

use adasval_judge::robustness::{Ladder, Robustness};

use crate::doc::{Block, Figure, Section, Table};

fn num(v: Option<f64>) -> String {
    v.map_or("undefined".into(), |v| format!("{v:.3}"))
}

pub fn section(r: &Robustness) -> Section {
    let mut s = Section::new("robustness", "Robustness to corruption");
    s.push(Block::text(&format!(
        "Each rung of a corruption ladder replays the clean scenario's frames corrupted \
         (seeded per frame) and is judged like any scenario, but its figures are not evidence \
         for the clean scenario's requirements. Metric: COCO `{m}`. mPC is the mean over \
         corruptions of the mean over severities; rPC = mPC / clean `{m}` (Michaelis et al., \
         2019).",
        m = r.metric
    )));

    let mut t = Table::new(&["scenario", "engine", "clean", "corruptions", "mPC", "rPC"]);
    for x in &r.summaries {
        let rpc = match (&x.rpc, &x.why) {
            (Some(v), _) => format!("{v:.3}"),
            (None, Some(why)) => format!("undefined: {why}"),
            (None, None) => "undefined".into(),
        };
        t.row([
            x.scenario.clone(),
            x.engine.clone(),
            num(x.clean),
            x.corruptions.to_string(),
            num(x.mpc),
            rpc,
        ]);
    }
    s.push(Block::Heading("Mean performance under corruption".into()));
    s.push(Block::Table(t));

    let max_sev = r
        .ladders
        .iter()
        .flat_map(|l| l.rungs.iter().map(|g| g.severity))
        .max()
        .unwrap_or(5);
    let mut head: Vec<String> = ["scenario", "corruption", "engine", "clean"]
        .map(String::from)
        .to_vec();
    head.extend((1..=max_sev).map(|k| format!("severity {k}")));
    head.push("mean".into());
    let mut t = Table::new(&head);
    for l in &r.ladders {
        let mut row = vec![
            l.scenario.clone(),
            l.corruption.clone(),
            l.engine.clone(),
            format!("{} (recall {})", num(l.clean), num(l.clean_recall)),
        ];
        for k in 1..=max_sev {
            row.push(match l.rungs.iter().find(|g| g.severity == k) {
                Some(g) => format!("{} (recall {})", num(g.value), num(g.recall)),
                None => "not run".into(),
            });
        }
        row.push(num(l.mean));
        t.row(row);
    }
    s.push(Block::Heading(format!("{} per severity", r.metric)));
    s.push(Block::Table(t));

    if !r.onsets.is_empty() {
        let mut t = Table::new(&[
            "requirement",
            "scenario",
            "corruption",
            "clean",
            "first fails at severity",
        ]);
        for o in &r.onsets {
            let sev: Vec<String> = o.severities.iter().map(u8::to_string).collect();
            t.row([
                o.requirement.clone(),
                o.scenario.clone(),
                o.corruption.clone(),
                o.clean.clone(),
                match o.first_failing_severity {
                    Some(k) => k.to_string(),
                    None => format!("holds at every severity run ({})", sev.join(", ")),
                },
            ]);
        }
        s.push(Block::Heading("Where each requirement first fails".into()));
        s.push(Block::Table(t));
    }

    if !r.flips.is_empty() {
        let mut t = Table::new(&[
            "scenario",
            "corruption",
            "engines",
            "clean",
            "per severity (flips / frames)",
        ]);
        for f in &r.flips {
            let per: Vec<String> = f
                .rungs
                .iter()
                .map(|(k, n, frames)| format!("{k}: {n} / {frames}"))
                .collect();
            t.row([
                f.scenario.clone(),
                f.corruption.clone(),
                format!("{} vs {}", f.engine_a, f.engine_b),
                f.clean.map_or("not compared".into(), |n| n.to_string()),
                per.join(", "),
            ]);
        }
        s.push(Block::Heading("Decision flips between engines".into()));
        s.push(Block::Table(t));
    }

    let mut keys: Vec<(&str, &str)> = r
        .ladders
        .iter()
        .map(|l| (l.scenario.as_str(), l.corruption.as_str()))
        .collect();
    keys.dedup();
    let figures: Vec<Figure> = keys
        .iter()
        .map(|(sc, c)| {
            let mine: Vec<&Ladder> = r
                .ladders
                .iter()
                .filter(|l| l.scenario == *sc && l.corruption == *c)
                .collect();
            Figure {
                svg: plot(&r.metric, sc, c, &mine),
                caption: format!("{sc}: {} against {c} severity (0 = clean)", r.metric),
                file: None,
            }
        })
        .collect();
    if !figures.is_empty() {
        s.push(Block::Figures(figures));
    }
    s
}

const COLOURS: [RGBColor; 4] = [BLUE, RED, GREEN, MAGENTA];

/// Severity (0 = clean) against the metric, one line per engine; undefined points left out.
pub fn plot(metric: &str, scenario: &str, corruption: &str, ladders: &[&Ladder]) -> String {
    let series: Vec<(String, Vec<(f64, f64)>)> = ladders
        .iter()
        .map(|l| {
            let mut pts: Vec<(f64, f64)> = l.clean.map(|v| (0.0, v)).into_iter().collect();
            pts.extend(
                l.rungs
                    .iter()
                    .filter_map(|g| g.value.map(|v| (f64::from(g.severity), v))),
            );
            (l.engine.clone(), pts)
        })
        .collect();
    let y_hi = series
        .iter()
        .flat_map(|(_, p)| p.iter().map(|q| q.1))
        .fold(0.0, f64::max)
        .max(0.05)
        * 1.15;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (480, 300)).into_drawing_area();
        let draw = || -> Result<(), Box<dyn std::error::Error + '_>> {
            root.fill(&WHITE)?;
            let mut chart = ChartBuilder::on(&root)
                .caption(format!("{scenario} · {corruption}"), ("sans-serif", 14))
                .margin(10)
                .x_label_area_size(36)
                .y_label_area_size(50)
                .build_cartesian_2d(-0.2f64..5.2, 0f64..y_hi)?;
            chart
                .configure_mesh()
                .x_desc("severity (0 = clean)")
                .y_desc(metric)
                .x_labels(6)
                .x_label_formatter(&|v| format!("{v:.0}"))
                .draw()?;
            for (i, (engine, pts)) in series.iter().enumerate() {
                let colour = COLOURS[i % COLOURS.len()];
                chart
                    .draw_series(LineSeries::new(pts.clone(), colour.stroke_width(2)))?
                    .label(engine.as_str())
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], colour));
                chart.draw_series(pts.iter().map(|&p| Circle::new(p, 3, colour.filled())))?;
            }
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperRight)
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK.mix(0.3))
                .draw()?;
            root.present()?;
            Ok(())
        };
        if let Err(e) = draw() {
            return format!("<p>plot failed: {}</p>", crate::esc(&e.to_string()));
        }
    }
    svg
}
