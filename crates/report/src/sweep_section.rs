//! The report of a stream sweep: the points, the saturation point and the stability study.

use crate::doc::{Block, Document, Figure, Section, Table};
use adasval_record::sweep::{SweepPoint, SweepRecord};

/// The file the sweep's figure is written to, next to its report.
pub const SWEEP_SVG_FILE: &str = "sweep.svg";

fn f(v: Option<f64>, digits: usize) -> String {
    v.filter(|x| x.is_finite())
        .map(|x| format!("{x:.digits$}"))
        .unwrap_or_else(|| "–".into())
}

fn gpu_cell(p: &SweepPoint) -> String {
    match (p.gpu_utilisation.mean_pct, p.gpu_utilisation.max_pct) {
        (Some(m), Some(x)) => format!("{m:.0} (max {x:.0})"),
        _ => "–".into(),
    }
}

fn row(p: &SweepPoint) -> Vec<String> {
    let worst = p
        .worst_stream
        .as_ref()
        .map(|w| format!("{:.3} (stream {})", w.latency.p99_ms, w.stream))
        .unwrap_or_else(|| "–".into());
    vec![
        p.streams.to_string(),
        p.samples.to_string(),
        f(p.throughput_fps, 1),
        f(p.scaling_efficiency, 2),
        f(Some(p.latency.p50_ms), 3),
        f(Some(p.latency.p90_ms), 3),
        f(Some(p.latency.p99_ms), 3),
        f(Some(p.latency.max_ms), 3),
        worst,
        gpu_cell(p),
        p.output_mismatches.to_string(),
        if p.complete { "yes" } else { "NO" }.into(),
    ]
}

const HEAD: [&str; 12] = [
    "streams",
    "samples",
    "throughput (frames/s)",
    "scaling efficiency",
    "p50 (ms)",
    "p90 (ms)",
    "p99 (ms)",
    "max (ms)",
    "worst stream p99 (ms)",
    "GPU util. % (mean)",
    "output mismatches",
    "complete",
];

/// The sweep as a report; `svg` is its figure ([`crate::sweep_plot::sweep_svg`]).
pub fn document(r: &SweepRecord, svg: &str) -> Document {
    Document {
        title: "adasval stream sweep".into(),
        sections: sections(r, svg),
    }
}

fn sections(r: &SweepRecord, svg: &str) -> Vec<Section> {
    let mut out = Vec::new();
    let status = if r.complete {
        "complete".to_string()
    } else {
        format!("INCOMPLETE: {}", r.incomplete_reasons.join("; "))
    };
    let engine = r
        .engine
        .as_ref()
        .map(|e| format!("`{}` ({}, sha256 {})", e.name, e.format, e.sha256))
        .unwrap_or_else(|| "–".into());
    let backend = r
        .backend
        .as_ref()
        .map(|b| format!("`{}` ({})", b.name, b.libraries.join(", ")))
        .unwrap_or_else(|| "–".into());
    let head = format!(
        "Sweep {status}, {} → {}. Engine {engine} on backend {backend}, platform `{}`; scenarios: {}. Latencies are the harness's per-frame inference time (`infer_ns`) of every stream; each point's run directory (`streams-NNN/`) holds its `run.json` and `latencies.csv` (with a `stream` column).",
        r.started_at,
        r.finished_at,
        r.platform.as_deref().unwrap_or("–"),
        r.scenarios.join(", ")
    );
    out.push(Section::new("sweep-run", "Stream sweep").with(Block::text(&head)));

    let mut t = Table::new(&HEAD);
    for p in &r.points {
        t.row(row(p));
    }
    let gpu_note = r
        .points
        .iter()
        .find_map(|p| p.gpu_utilisation.unavailable.clone())
        .map(|why| format!(" GPU utilisation: not available ({why})."))
        .unwrap_or_default();
    let note = "Throughput: inferences completed by all streams together inside the common window (every stream timing, from the last stream's start to the first stream's end), per second. Scaling efficiency: throughput / (N × single-stream throughput); 1 is linear scaling.";
    out.push(
        Section::new("sweep-table", "Throughput and latency per stream count")
            .with(t)
            .with(Block::text(&format!("{note}{gpu_note}")))
            .with(Block::Figures(vec![Figure {
                svg: svg.to_string(),
                caption: "throughput and p99 latency vs streams".into(),
                file: Some(SWEEP_SVG_FILE.into()),
            }])),
    );

    let s = &r.saturation;
    let verdict = match s.streams {
        Some(n) => format!("**Saturation point: {n} streams.** {}", s.reason),
        None => format!("**No saturation point.** {}", s.reason),
    };
    let def = format!(
        "Definition: {} (gain threshold {:.0}%; docs/SWEEP.md).",
        s.definition,
        s.gain_threshold * 100.0
    );
    out.push(
        Section::new("saturation", "Saturation point")
            .with(Block::text(&verdict))
            .with(Block::text(&def)),
    );

    let mut sec = Section::new(
        "stability",
        "Latency stability (run to run; build to build via matrix)",
    );
    match &r.stability {
        None => {
            sec.push(Block::text("No stability runs (`--runs 0`)."));
        }
        Some(st) => {
            let mut t = Table::new(&[
                "run",
                "directory",
                "samples",
                "median (ms)",
                "p99 (ms)",
                "complete",
            ]);
            for x in &st.runs {
                t.row([
                    x.run.to_string(),
                    x.run_dir.clone(),
                    x.samples.to_string(),
                    f(Some(x.median_ms), 3),
                    f(Some(x.p99_ms), 3),
                    if x.complete { "yes" } else { "NO" }.into(),
                ]);
            }
            let kw = st
                .kruskal_wallis
                .map(|k| {
                    format!(
                        "Kruskal–Wallis across runs: H = {:.3}, df = {}, p = {:.3e} ({}).",
                        k.h,
                        k.df,
                        k.p_value,
                        if k.p_value < 0.01 {
                            "the runs' latency distributions differ at the 1% level"
                        } else {
                            "no difference between runs at the 1% level"
                        }
                    )
                })
                .unwrap_or_else(|| "Kruskal–Wallis: needs two runs with samples.".into());
            let spread = format!(
                "Run-to-run spread at one stream, each run a fresh engine load and session: medians max − min {} ms, coefficient of variation of the medians {}; p99 max − min {} ms. {kw}",
                f(st.median_spread_ms, 3),
                f(st.median_cv, 4),
                f(st.p99_spread_ms, 3),
            );
            sec.push(t);
            sec.push(Block::text(&spread));
        }
    }
    sec.push(Block::text(&r.build_to_build));
    out.push(sec);
    out
}
