//! Reports. Stages describe what they found as a [`Document`] of sections (tables,
//! paragraphs, figures) and hand it, with the verdicts, to [`Sink`]s: Markdown, HTML,
//! JUnit, the Markdown and JSON summaries, the traceability matrix and the GSN SVG. Adding
//! an analysis touches no sink; adding a format touches no stage.

#![allow(clippy::result_large_err)]

pub mod compare;
pub mod detection_section;
pub mod doc;
pub mod family_section;
pub mod finish;
pub mod frame_svg;
pub mod gsn_svg;
pub mod html;
pub mod junit;
pub mod markdown;
pub mod matrix;
pub mod regress;
pub mod robustness_section;
pub mod sink;
pub mod summary;
pub mod svg;
pub mod sweep_plot;
pub mod sweep_section;
pub mod terminal;
pub mod trace;
pub mod ttc_section;
pub mod verdict_section;
pub mod wcet_plot;
pub mod wcet_section;
pub mod wcet_text;

pub use doc::{Block, Cell, Document, Figure, Section, Span, Table, Tone};
pub use sink::{Judged, ReportError, Sink};

use adasval_core::timing::LatencySummary;
use adasval_record::record::RunRecord;

pub fn ms(ns: f64) -> String {
    if ns.is_nan() {
        "–".into()
    } else {
        format!("{:.3}", ns / 1e6)
    }
}

/// Escape text for HTML.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn row(s: &LatencySummary) -> [String; 9] {
    [
        s.n.to_string(),
        ms(s.min),
        ms(s.p50),
        ms(s.p90),
        ms(s.p99),
        ms(s.p999),
        ms(s.max),
        ms(s.mean),
        ms(s.stddev),
    ]
}

const LAT_HEAD: [&str; 9] = [
    "n", "min", "p50", "p90", "p99", "p99.9", "max", "mean", "stddev",
];

/// The run header and integrity facts.
pub fn header_section(r: &RunRecord) -> Section {
    let status = if r.complete {
        "complete".to_string()
    } else {
        format!("INCOMPLETE: {}", r.incomplete_reasons.join("; "))
    };
    let fp = &r.platform.fingerprint;
    let mut sec = Section::new("run", "Run");
    sec.push(Block::Paragraph(vec![
        Span::Text("Run ".into()),
        Span::Code(r.run_id.clone()),
        Span::Text(" (".into()),
        Span::Tone(Tone::of(r.complete), status),
        Span::Text(format!("), {} → {}", r.started_at, r.finished_at)),
    ]));
    sec.push(Block::Paragraph(vec![
        Span::Text("Platform ".into()),
        Span::Strong(r.platform.name.clone()),
        Span::Text(format!(
            " ({}; {} logical cores; {}; kernel {}), backend ",
            fp.cpu_model, fp.logical_cores, fp.os, fp.kernel
        )),
        Span::Code(r.backend.name.clone()),
        Span::Text(format!(
            " ({}), adasval {} at commit ",
            r.backend.libraries.join(", "),
            fp.tool_version
        )),
        Span::Code(fp.git_commit.clone().unwrap_or_else(|| "unknown".into())),
        Span::Text(
            if fp.git_dirty == Some(true) {
                " (uncommitted changes)."
            } else {
                "."
            }
            .into(),
        ),
    ]));
    let mut t = Table::new(&["engine", "format", "sha256", "adapter sha256"]);
    for e in &r.engines {
        t.row([
            Cell::from(e.name.as_str()),
            e.format.as_str().into(),
            Cell::code(e.sha256.as_str()),
            Cell::code(e.adapter_sha256.as_str()),
        ]);
    }
    sec.push(t);
    let mut t = Table::new(&[
        "scenario",
        "category",
        "frames",
        "deadline ms",
        "scenario sha256",
        "labels sha256",
    ]);
    for s in &r.scenarios {
        t.row([
            Cell::from(s.id.as_str()),
            s.category.as_str().into(),
            s.frames.to_string().into(),
            s.deadline_ms.to_string().into(),
            Cell::spans(vec![Span::Hash {
                short: short(&s.sha256),
                full: s.sha256.clone(),
            }]),
            Cell::spans(vec![Span::Hash {
                short: short(&s.labels_sha256),
                full: s.labels_sha256.clone(),
            }]),
        ]);
    }
    sec.push(t);
    sec
}

/// One row per trace run with `--duration`, `--min-inferences` or `--p99-ci-width`;
/// `None` when no trace was bounded.
fn bounded_runs_table(r: &RunRecord) -> Option<Table> {
    let bounded: Vec<_> = r
        .traces
        .iter()
        .filter(|tr| !tr.settings.bounds.is_unbounded())
        .collect();
    if bounded.is_empty() {
        return None;
    }
    let mut t = Table::new(&[
        "scenario",
        "engine",
        "asked",
        "inferences",
        "passes",
        "seconds",
        "stopped because",
        "p99 95% interval ms",
    ]);
    let ms = |ns: u64| format!("{:.3}", ns as f64 / 1e6);
    for tr in bounded {
        let b = &tr.settings.bounds;
        let mut asked = Vec::new();
        if let Some(n) = b.min_inferences {
            asked.push(format!("≥ {n} inferences"));
        }
        if let Some(d) = b.min_duration_s {
            asked.push(format!("≥ {d} s"));
        }
        if let Some(p) = &b.precision {
            asked.push(format!(
                "p99 interval ≤ {} (cap {} s)",
                p.max_width, p.max_duration_s
            ));
        }
        let (passes, secs, why, ci) = match &tr.stop {
            Some(st) => (
                st.passes.to_string(),
                format!("{:.1}", st.elapsed_s),
                st.reason.describe().to_string(),
                match (&b.precision, &st.quantile_interval_ns) {
                    (None, _) => "not asked".to_string(),
                    (Some(_), Some(q)) => format!(
                        "{} [{}, {}]",
                        ms(q.estimate_ns),
                        ms(q.low_ns),
                        ms(q.high_ns)
                    ),
                    (Some(_), None) => "not bounded: too few samples beyond the p99".to_string(),
                },
            ),
            None => (
                "not recorded".into(),
                "not recorded".into(),
                "not recorded by this version".into(),
                "not recorded".into(),
            ),
        };
        t.row([
            tr.scenario.clone(),
            tr.engine.clone(),
            asked.join(", "),
            tr.samples.to_string(),
            passes,
            secs,
            why,
            ci,
        ]);
    }
    Some(t)
}

/// The first 16 characters of a hash (all of it when shorter).
fn short(h: &str) -> String {
    h.chars().take(16).collect()
}

/// Latency percentiles per scenario and engine, with an SVG histogram per trace.
pub fn latency_section(r: &RunRecord, infer_samples: &[(String, String, Vec<u64>)]) -> Section {
    let mut sec = Section::new("latency", "Latency");
    sec.push(Block::text("Latency in ms; `infer` is what deadlines and WCET use. Percentiles are nearest-rank over the raw samples."));
    let mut head = vec!["scenario", "engine", "stage"];
    head.extend(LAT_HEAD);
    head.extend(["deadline misses", "non-identical reps"]);
    let mut t = Table::new(&head);
    for tr in &r.traces {
        for (stage, s) in [
            ("pre", &tr.latency_ns.pre),
            ("infer", &tr.latency_ns.infer),
            ("post", &tr.latency_ns.post),
            ("total", &tr.latency_ns.total),
        ] {
            let (miss, nd) = if stage == "infer" {
                (
                    tr.deadline_misses.to_string(),
                    tr.nondeterministic_repetitions.to_string(),
                )
            } else {
                (String::new(), String::new())
            };
            let mut cells = vec![tr.scenario.clone(), tr.engine.clone(), stage.to_string()];
            cells.extend(row(s));
            cells.extend([miss, nd]);
            t.row(cells);
        }
    }
    sec.push(t);
    if let Some(t) = bounded_runs_table(r) {
        sec.push(Block::text("Bounded runs: how long each trace ran and why it stopped; the p99 interval is the distribution-free 95% interval from order statistics."));
        sec.push(t);
    }
    let figs = infer_samples
        .iter()
        .map(|(scenario, engine, samples)| {
            let deadline = r
                .scenarios
                .iter()
                .find(|s| &s.id == scenario)
                .map(|s| s.deadline_ms);
            Figure {
                svg: svg::latency_histogram(samples, deadline, &format!("{engine} × {scenario}")),
                caption: format!("{engine} × {scenario}: inference latency"),
                file: None,
            }
        })
        .collect();
    sec.push(Block::Figures(figs));
    sec
}
