//! Traceability matrix: requirement → scenario → engine hash → platform → measured value →
//! verdict → artefact hashes, one row per scope instance (and one row for a requirement with
//! no evidence). The report embeds the Markdown or HTML rendering.

use super::verdict::{fmt_num, short_hash, Evaluation, Verdict};
use crate::evidence::ArtefactRef;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TraceRow {
    pub requirement: String,
    pub scenario: String,
    pub engine: String,
    pub engine_sha256: String,
    pub platform: String,
    /// Other side of a consistency comparison, as `engine@hash / platform`.
    pub compared_with: Option<String>,
    pub class: Option<String>,
    pub measured: Option<f64>,
    /// e.g. `≥ 0.8`.
    pub threshold: Option<String>,
    pub verdict: Verdict,
    pub artefacts: Vec<ArtefactRef>,
}

/// Flatten an evaluation into matrix rows, in requirement order.
pub fn traceability(eval: &Evaluation) -> Vec<TraceRow> {
    let mut rows = Vec::new();
    for r in &eval.requirements {
        if r.instances.is_empty() {
            rows.push(TraceRow {
                requirement: r.id.clone(),
                scenario: "-".into(),
                engine: "-".into(),
                engine_sha256: String::new(),
                platform: "-".into(),
                compared_with: None,
                class: None,
                measured: None,
                threshold: None,
                verdict: r.verdict,
                artefacts: Vec::new(),
            });
        }
        for i in &r.instances {
            rows.push(TraceRow {
                requirement: r.id.clone(),
                scenario: i.scenario.clone(),
                engine: i.engine.clone(),
                engine_sha256: i.engine_sha256.clone(),
                platform: i.platform.clone(),
                compared_with: i.compared_with.as_ref().map(|c| {
                    format!(
                        "{}@{} / {}",
                        c.engine,
                        short_hash(&c.engine_sha256),
                        c.platform
                    )
                }),
                class: i.class.clone(),
                measured: i.measured,
                threshold: i
                    .limit
                    .map(|l| format!("{} {}", i.comparison.symbol(), fmt_num(l))),
                verdict: i.verdict,
                artefacts: i.artefacts.clone(),
            });
        }
    }
    rows
}
