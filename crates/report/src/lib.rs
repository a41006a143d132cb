//! Report sinks: Markdown and a self-contained HTML page (inline SVG, no network). Stages
//! contribute [`Section`]s; the reporter only assembles them, so adding an analysis
//! touches no sink.

#![allow(clippy::result_large_err)]

pub mod compare;
pub mod detection_section;
pub mod finish;
pub mod frame_svg;
pub mod gsn_svg;
pub mod html;
pub mod junit;
pub mod matrix;
pub mod regress;
pub mod summary;
pub mod svg;
pub mod trace;
pub mod verdict_section;
pub mod wcet_plot;
pub mod wcet_section;

use adasval_core::timing::LatencySummary;
use adasval_record::record::RunRecord;

/// One part of a report, rendered by the stage that owns the data.
#[derive(Debug, Clone, Default)]
pub struct Section {
    pub id: String,
    pub title: String,
    pub markdown: String,
    pub html: String,
}

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
    let mut md = format!(
        "Run `{}` ({status}), {} → {}\n\nPlatform **{}** ({}; {} logical cores; {}; kernel {}), backend `{}` ({}), adasval {} at commit {}{}.\n\n| engine | format | sha256 | adapter sha256 |\n|---|---|---|---|\n",
        r.run_id,
        r.started_at,
        r.finished_at,
        r.platform.name,
        fp.cpu_model,
        fp.logical_cores,
        fp.os,
        fp.kernel,
        r.backend.name,
        r.backend.libraries.join(", "),
        fp.tool_version,
        fp.git_commit.as_deref().unwrap_or("unknown"),
        if fp.git_dirty == Some(true) { " (uncommitted changes)" } else { "" },
    );
    let mut html = format!(
        "<p>Run <code>{}</code> (<b class=\"{}\">{}</b>), {} → {}</p><p>Platform <b>{}</b> ({}; {} logical cores; {}; kernel {}), backend <code>{}</code> ({}), adasval {} at commit <code>{}</code>{}.</p><table><tr><th>engine</th><th>format</th><th>sha256</th><th>adapter sha256</th></tr>",
        esc(&r.run_id),
        if r.complete { "pass" } else { "fail" },
        esc(&status),
        esc(&r.started_at),
        esc(&r.finished_at),
        esc(&r.platform.name),
        esc(&fp.cpu_model),
        fp.logical_cores,
        esc(&fp.os),
        esc(&fp.kernel),
        esc(&r.backend.name),
        esc(&r.backend.libraries.join(", ")),
        esc(&fp.tool_version),
        esc(fp.git_commit.as_deref().unwrap_or("unknown")),
        if fp.git_dirty == Some(true) { " (uncommitted changes)" } else { "" },
    );
    for e in &r.engines {
        md += &format!(
            "| {} | {} | `{}` | `{}` |\n",
            e.name, e.format, e.sha256, e.adapter_sha256
        );
        html += &format!(
            "<tr><td>{}</td><td>{}</td><td><code>{}</code></td><td><code>{}</code></td></tr>",
            esc(&e.name),
            esc(&e.format),
            e.sha256,
            e.adapter_sha256
        );
    }
    html += "</table>";
    md += "\n| scenario | category | frames | deadline ms | scenario sha256 | labels sha256 |\n|---|---|---|---|---|---|\n";
    html += "<table><tr><th>scenario</th><th>category</th><th>frames</th><th>deadline ms</th><th>scenario sha256</th><th>labels sha256</th></tr>";
    for s in &r.scenarios {
        md += &format!(
            "| {} | {} | {} | {} | `{}` | `{}` |\n",
            s.id,
            s.category,
            s.frames,
            s.deadline_ms,
            &s.sha256[..16],
            &s.labels_sha256[..16]
        );
        html += &format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td><td><code>{}</code></td></tr>",
            esc(&s.id),
            esc(&s.category),
            s.frames,
            s.deadline_ms,
            &s.sha256[..16],
            &s.labels_sha256[..16]
        );
    }
    html += "</table>";
    Section {
        id: "run".into(),
        title: "Run".into(),
        markdown: md,
        html,
    }
}

/// Latency percentiles per scenario and engine, with an SVG histogram per trace.
pub fn latency_section(r: &RunRecord, infer_samples: &[(String, String, Vec<u64>)]) -> Section {
    let mut md = String::from("Latency in ms; `infer` is what deadlines and WCET use. Percentiles are nearest-rank over the raw samples.\n\n");
    md += &format!(
        "| scenario | engine | stage | {} | deadline misses | non-identical reps |\n|{}\n",
        LAT_HEAD.join(" | "),
        "---|".repeat(LAT_HEAD.len() + 5)
    );
    let mut html = format!(
        "<p>Latency in ms; <code>infer</code> is what deadlines and WCET use. Percentiles are nearest-rank over the raw samples.</p><table><tr><th>scenario</th><th>engine</th><th>stage</th>{}<th>deadline misses</th><th>non-identical reps</th></tr>",
        LAT_HEAD.iter().map(|h| format!("<th>{h}</th>")).collect::<String>()
    );
    for t in &r.traces {
        for (stage, s) in [
            ("pre", &t.latency_ns.pre),
            ("infer", &t.latency_ns.infer),
            ("post", &t.latency_ns.post),
            ("total", &t.latency_ns.total),
        ] {
            let cells = row(s);
            let (miss, nd) = if stage == "infer" {
                (
                    t.deadline_misses.to_string(),
                    t.nondeterministic_repetitions.to_string(),
                )
            } else {
                (String::new(), String::new())
            };
            md += &format!(
                "| {} | {} | {stage} | {} | {miss} | {nd} |\n",
                t.scenario,
                t.engine,
                cells.join(" | ")
            );
            html += &format!(
                "<tr><td>{}</td><td>{}</td><td>{stage}</td>{}<td>{miss}</td><td>{nd}</td></tr>",
                esc(&t.scenario),
                esc(&t.engine),
                cells
                    .iter()
                    .map(|c| format!("<td>{c}</td>"))
                    .collect::<String>()
            );
        }
    }
    html += "</table><div class=\"plots\">";
    for (scenario, engine, samples) in infer_samples {
        let deadline = r
            .scenarios
            .iter()
            .find(|s| &s.id == scenario)
            .map(|s| s.deadline_ms);
        html += &format!(
            "<figure>{}<figcaption>{} × {}: inference latency</figcaption></figure>",
            svg::latency_histogram(samples, deadline, &format!("{engine} × {scenario}")),
            esc(engine),
            esc(scenario)
        );
    }
    html += "</div>";
    Section {
        id: "latency".into(),
        title: "Latency".into(),
        markdown: md,
        html,
    }
}

/// Assemble a Markdown report from sections.
pub fn markdown(title: &str, sections: &[Section]) -> String {
    let mut out = format!("# {title}\n\n");
    for s in sections {
        out += &format!("## {}\n\n{}\n\n", s.title, s.markdown.trim_end());
    }
    out
}
