//! Robustness to image corruption, measured as the detection-robustness benchmarks measure
//! it (Michaelis et al., "Benchmarking Robustness in Object Detection", 2019): per
//! corruption and severity the task metric (COCO AP, and recall), the mean performance
//! under corruption (mPC: the mean over corruptions of the mean over severities), the
//! relative performance (rPC = mPC / clean performance), the severity at which each
//! requirement first fails, and the decision flips between engines per severity.
//!
//! Reads the judged golden comparison of a run whose scenarios carry corruption ladders
//! (`ScenarioRecord::corruption`); returns data, renders nothing.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use adasval_record::record::RunRecord;

use crate::detection::{DetectionResults, TraceMetrics};
use crate::evidence::EvidenceSet;
use crate::safety::{self, Requirement, RequirementKind, Verdict};

/// The task metric of the benchmarks: COCO AP over IoU 0.50:0.95.
pub const METRIC: &str = "AP";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Robustness {
    pub metric: String,
    /// One per (clean scenario, corruption, engine).
    pub ladders: Vec<Ladder>,
    /// One per (clean scenario, engine): mPC and rPC over its ladders.
    pub summaries: Vec<Summary>,
    /// One per (requirement, clean scenario, corruption) the requirement applies to.
    pub onsets: Vec<Onset>,
    /// One per (clean scenario, corruption, engine pair).
    pub flips: Vec<Flips>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ladder {
    pub scenario: String,
    pub corruption: String,
    pub engine: String,
    /// The metric on the clean frames (`None`: undefined, e.g. no ground truth).
    pub clean: Option<f64>,
    pub clean_recall: Option<f64>,
    pub rungs: Vec<Rung>,
    /// Mean of the metric over the severities run (the corruption's term of mPC).
    pub mean: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rung {
    pub severity: u8,
    pub value: Option<f64>,
    /// Recall at the first IoU threshold of the metric settings.
    pub recall: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub scenario: String,
    pub engine: String,
    pub clean: Option<f64>,
    pub corruptions: usize,
    /// `None` when a rung's metric is undefined; `why` says which.
    pub mpc: Option<f64>,
    pub rpc: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Onset {
    pub requirement: String,
    pub scenario: String,
    pub corruption: String,
    /// The requirement's verdict on the clean frames.
    pub clean: String,
    /// The lowest severity at which the requirement fails; `None`: it holds at every
    /// severity run.
    pub first_failing_severity: Option<u8>,
    pub severities: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Flips {
    pub scenario: String,
    pub corruption: String,
    pub engine_a: String,
    pub engine_b: String,
    pub clean: Option<usize>,
    /// (severity, decision flips, frames compared).
    pub rungs: Vec<(u8, usize, usize)>,
}

/// mPC (Michaelis et al., eq. 2): the mean over corruptions of the mean over severities.
/// `None` without corruptions or with an empty ladder.
pub fn mpc(per_corruption: &[Vec<f64>]) -> Option<f64> {
    if per_corruption.is_empty() || per_corruption.iter().any(Vec::is_empty) {
        return None;
    }
    let means: Vec<f64> = per_corruption
        .iter()
        .map(|s| s.iter().sum::<f64>() / s.len() as f64)
        .collect();
    Some(means.iter().sum::<f64>() / means.len() as f64)
}

/// rPC (eq. 3): mPC / clean performance; `None` when the clean performance is not positive.
pub fn rpc(mpc: f64, clean: f64) -> Option<f64> {
    (clean > 0.0).then(|| mpc / clean)
}

fn metric_of(t: &TraceMetrics) -> Option<f64> {
    // pycocotools writes -1 for an undefined AP.
    t.detection
        .ap
        .stats
        .get(METRIC)
        .copied()
        .filter(|v| *v >= 0.0)
}

fn recall_of(t: &TraceMetrics) -> Option<f64> {
    t.detection.overall.first().and_then(|c| c.recall)
}

/// (clean scenario, corruption) → severity → rung scenario id.
type LadderIds = BTreeMap<(String, String), BTreeMap<u8, String>>;

fn ladder_ids(record: &RunRecord) -> LadderIds {
    let mut out: LadderIds = BTreeMap::new();
    for s in &record.scenarios {
        if let Some(c) = &s.corruption {
            out.entry((c.base.clone(), c.kind.clone()))
                .or_default()
                .insert(c.severity, s.id.clone());
        }
    }
    out
}

/// The robustness analysis of a judged run; `None` when the run has no corruption ladder.
/// `template` is the run's evidence set (its run and integrity status are kept when the
/// requirements are re-evaluated on each rung's figures).
pub fn analyse(
    record: &RunRecord,
    det: &DetectionResults,
    requirements: &[Requirement],
    template: &EvidenceSet,
) -> Option<Robustness> {
    let ids = ladder_ids(record);
    if ids.is_empty() {
        return None;
    }
    let trace = |scenario: &str, engine: &str| {
        det.traces
            .iter()
            .find(|t| t.scenario == scenario && t.engine == engine)
    };
    let mut engines: Vec<String> = det.traces.iter().map(|t| t.engine.clone()).collect();
    engines.sort();
    engines.dedup();

    let mut ladders = Vec::new();
    for ((base, corruption), rungs) in &ids {
        for engine in &engines {
            let clean = trace(base, engine);
            let rungs: Vec<Rung> = rungs
                .iter()
                .filter_map(|(sev, id)| {
                    trace(id, engine).map(|t| Rung {
                        severity: *sev,
                        value: metric_of(t),
                        recall: recall_of(t),
                    })
                })
                .collect();
            if rungs.is_empty() {
                continue;
            }
            let values: Option<Vec<f64>> = rungs.iter().map(|r| r.value).collect();
            ladders.push(Ladder {
                scenario: base.clone(),
                corruption: corruption.clone(),
                engine: engine.clone(),
                clean: clean.and_then(metric_of),
                clean_recall: clean.and_then(recall_of),
                mean: values.and_then(|v| mpc(&[v])),
                rungs,
            });
        }
    }

    let mut summaries = Vec::new();
    let mut keys: Vec<(String, String)> = ladders
        .iter()
        .map(|l| (l.scenario.clone(), l.engine.clone()))
        .collect();
    keys.dedup();
    for (scenario, engine) in keys {
        let mine: Vec<&Ladder> = ladders
            .iter()
            .filter(|l| l.scenario == scenario && l.engine == engine)
            .collect();
        let clean = mine.first().and_then(|l| l.clean);
        let undefined: Vec<String> = mine
            .iter()
            .flat_map(|l| {
                l.rungs
                    .iter()
                    .filter(|r| r.value.is_none())
                    .map(move |r| format!("{} severity {}", l.corruption, r.severity))
            })
            .collect();
        let per: Option<Vec<Vec<f64>>> = mine
            .iter()
            .map(|l| l.rungs.iter().map(|r| r.value).collect())
            .collect();
        let m = per.and_then(|p| mpc(&p));
        let why = if !undefined.is_empty() {
            Some(format!("{METRIC} undefined at {}", undefined.join(", ")))
        } else if clean.is_none() {
            Some(format!("{METRIC} undefined on the clean frames"))
        } else {
            None
        };
        summaries.push(Summary {
            rpc: m.zip(clean).and_then(|(m, c)| rpc(m, c)),
            scenario,
            engine,
            clean,
            corruptions: mine.len(),
            mpc: m,
            why,
        });
    }

    Some(Robustness {
        metric: METRIC.into(),
        onsets: onsets(record, det, requirements, template, &ids),
        flips: flips(det, &ids),
        ladders,
        summaries,
    })
}

/// The requirements re-evaluated on each rung's figures as if they were the clean
/// scenario's (same scope, same thresholds, the one evaluation path).
fn onsets(
    record: &RunRecord,
    det: &DetectionResults,
    requirements: &[Requirement],
    template: &EvidenceSet,
    ids: &LadderIds,
) -> Vec<Onset> {
    let detection: Vec<Requirement> = requirements
        .iter()
        .filter(|r| {
            matches!(
                r.kind,
                RequirementKind::Detection | RequirementKind::Consistency
            )
        })
        .cloned()
        .collect();
    let verdicts = |scenario: &str, rename: Option<&str>| {
        let as_base = |s: &str| rename.map_or(s.to_string(), str::to_string);
        let view = DetectionResults {
            traces: det
                .traces
                .iter()
                .filter(|t| t.scenario == scenario)
                .map(|t| TraceMetrics {
                    scenario: as_base(&t.scenario),
                    ..t.clone()
                })
                .collect(),
            consistency: det
                .consistency
                .iter()
                .filter(|p| p.scenario == scenario)
                .map(|p| crate::detection::PairConsistency {
                    scenario: as_base(&p.scenario),
                    ..p.clone()
                })
                .collect(),
            ..det.clone()
        };
        let mut ev = EvidenceSet {
            items: Vec::new(),
            ..template.clone()
        };
        crate::evidence_items::detection_items(&mut ev, record, &view);
        safety::evaluate(&detection, &ev).requirements
    };
    let mut out = Vec::new();
    for ((base, corruption), rungs) in ids {
        let clean = verdicts(base, None);
        let per: Vec<(u8, Vec<safety::RequirementVerdict>)> = rungs
            .iter()
            .map(|(sev, id)| (*sev, verdicts(id, Some(base))))
            .collect();
        for (i, req) in detection.iter().enumerate() {
            let applies = per.iter().any(|(_, v)| v[i].verdict != Verdict::NoEvidence);
            if !applies {
                continue;
            }
            out.push(Onset {
                requirement: req.id.clone(),
                scenario: base.clone(),
                corruption: corruption.clone(),
                clean: clean[i].verdict.as_str().to_string(),
                first_failing_severity: per
                    .iter()
                    .find(|(_, v)| v[i].verdict == Verdict::Fail)
                    .map(|(s, _)| *s),
                severities: per.iter().map(|(s, _)| *s).collect(),
            });
        }
    }
    out
}

fn flips(det: &DetectionResults, ids: &LadderIds) -> Vec<Flips> {
    let mut out = Vec::new();
    for ((base, corruption), rungs) in ids {
        let pairs_of = |scenario: &str| {
            det.consistency
                .iter()
                .filter(|p| p.scenario == scenario)
                .cloned()
                .collect::<Vec<_>>()
        };
        let mut pairs: Vec<(String, String)> = rungs
            .values()
            .flat_map(|id| pairs_of(id))
            .map(|p| (p.engine_a, p.engine_b))
            .collect();
        pairs.sort();
        pairs.dedup();
        for (a, b) in pairs {
            let find = |scenario: &str| {
                det.consistency
                    .iter()
                    .find(|p| p.scenario == scenario && p.engine_a == a && p.engine_b == b)
            };
            out.push(Flips {
                scenario: base.clone(),
                corruption: corruption.clone(),
                clean: find(base).map(|p| p.decision_flips),
                rungs: rungs
                    .iter()
                    .filter_map(|(sev, id)| {
                        find(id).map(|p| (*sev, p.decision_flips, p.comparison.frames_compared))
                    })
                    .collect(),
                engine_a: a,
                engine_b: b,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mpc_and_rpc_by_hand() {
        // Two corruptions, clean AP 0.40.
        // gaussian_noise: 0.36 0.30 0.22 0.14 0.06 → mean 1.08 / 5 = 0.216
        // contrast:       0.38 0.34 0.30            → mean 1.02 / 3 = 0.34
        // mPC = (0.216 + 0.34) / 2 = 0.278; rPC = 0.278 / 0.40 = 0.695
        let per = vec![vec![0.36, 0.30, 0.22, 0.14, 0.06], vec![0.38, 0.34, 0.30]];
        let m = mpc(&per).unwrap();
        assert!((m - 0.278).abs() < 1e-12, "{m}");
        let r = rpc(m, 0.40).unwrap();
        assert!((r - 0.695).abs() < 1e-12, "{r}");
        assert_eq!(mpc(&[]), None);
        assert_eq!(mpc(&[vec![]]), None);
        assert_eq!(rpc(0.2, 0.0), None);
    }
}
