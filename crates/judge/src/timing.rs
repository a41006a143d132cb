//! The timing judgement of a run: one pWCET analysis per (engine, scenario) trace of the
//! `infer` stage, in acquisition order, naming the units (boards) that measured it (rendered by the report crate's `wcet_section`).

use serde::Serialize;

use crate::safety::Requirement;
use crate::wcet::{self, Analysis, WcetSettings};
use adasval_record::record::RunRecord;
use adasval_record::stored::StoredTrace;
use adasval_record::units::{self, PoolTest, TraceUnit};

#[derive(Debug, Clone, Serialize)]
pub struct TraceWcet {
    pub engine: String,
    pub engine_sha256: String,
    pub scenario: String,
    pub platform: String,
    pub stage: String,
    /// The boards whose samples make this trace (one, unless pooled by `merge --pool-units`).
    pub units: Vec<TraceUnit>,
    /// The homogeneity test that allowed pooling several units.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pooling: Option<PoolTest>,
    #[serde(flatten)]
    pub analysis: Analysis,
}

pub fn settings() -> WcetSettings {
    WcetSettings {
        stage: "infer".into(),
        unit: "ms".into(),
        ..WcetSettings::default()
    }
}

/// The one high-water-mark margin of a run, and where it comes from, in words.
pub struct MarginPolicy {
    pub factor: f64,
    pub source: String,
}

/// The margin of the requirements that judge the high-water mark (the largest when they
/// differ, so the table is never more lenient than a requirement); the analysis default
/// when no requirement does.
pub fn margin_policy(requirements: &[Requirement]) -> MarginPolicy {
    let from: Vec<(&str, f64)> = requirements
        .iter()
        .filter_map(|r| match r.check {
            crate::safety::requirements::Check::HwmMargin { margin, .. } => {
                Some((r.id.as_str(), margin))
            }
            _ => None,
        })
        .collect();
    match from.iter().copied().max_by(|a, b| a.1.total_cmp(&b.1)) {
        Some((id, m)) => MarginPolicy {
            factor: m,
            source: if from.len() == 1 {
                format!("× {m} from {id} (requirements file)")
            } else {
                format!(
                    "× {m} from {id}, the largest of the requirements' margins ({})",
                    from.iter()
                        .map(|(i, m)| format!("{i}: {m}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            },
        },
        None => {
            let m = WcetSettings::default().margin;
            MarginPolicy {
                factor: m,
                source: format!("× {m}, the analysis default (no requirement sets a margin)"),
            }
        }
    }
}

/// Analyse every trace, the high-water mark with `margin`; a trace the analysis cannot
/// handle is reported, not fatal.
pub fn analyse(
    record: &RunRecord,
    traces: &[StoredTrace],
    margin: f64,
) -> (Vec<TraceWcet>, Vec<String>) {
    let s = WcetSettings {
        margin,
        ..settings()
    };
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for t in traces {
        let samples: Vec<f64> = t.samples.iter().map(|x| x.infer_ns as f64 / 1e6).collect();
        let sha = record
            .engines
            .iter()
            .find(|e| e.name == t.engine)
            .map(|e| e.sha256.clone())
            .unwrap_or_default();
        let (units, pooling) = units::of_trace(
            Some(&record.settings.effective),
            Some(&record.platform.fingerprint.hostname),
            &record.platform.name,
            &t.engine,
            &t.scenario,
            t.samples.len(),
        );
        match wcet::analyse(&samples, &s) {
            Ok(a) => out.push(TraceWcet {
                units,
                pooling,
                engine: t.engine.clone(),
                engine_sha256: sha,
                scenario: t.scenario.clone(),
                platform: record.platform.name.clone(),
                stage: "infer".into(),
                analysis: a,
            }),
            Err(e) => problems.push(format!("{} × {}: {e}", t.engine, t.scenario)),
        }
    }
    (out, problems)
}

/// pWCET value and upper bound of the selected model at probability `p`.
pub fn selected_at(a: &Analysis, p: f64) -> (Option<f64>, Option<f64>) {
    let Some(sel) = &a.selected else {
        return (None, None);
    };
    a.pwcet
        .iter()
        .find(|r| {
            r.method == sel.method
                && r.estimator == sel.estimator
                && (r.exceedance_probability - p).abs() <= p * 1e-9
        })
        .map(|r| (r.value, r.ci_high))
        .unwrap_or((None, None))
}
