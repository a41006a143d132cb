//! `diff`: did an upgrade (runtime, model, driver) make anything worse? Compares a
//! baseline run with a candidate run of the same scenarios: accuracy deltas with
//! confidence intervals, decision flips, latency shift (Mann–Whitney with effect size and
//! bootstrap intervals on the p50 and p99 deltas) and the pWCET delta, each judged against
//! configurable thresholds.

pub mod stats;

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

use crate::compare::{compare, CompareError};
use crate::metrics::consistency::Tolerances;
use adasval_core::exit::{Classify, Status};
use adasval_record::record::{read_latencies_csv, read_run, RecordError};

#[derive(Debug, thiserror::Error)]
pub enum DiffError {
    #[error(transparent)]
    Compare(#[from] CompareError),
    #[error(transparent)]
    Record(#[from] RecordError),
    #[error("runs are not comparable: {0}")]
    NotComparable(String),
}

impl Classify for DiffError {
    fn status(&self) -> Status {
        match self {
            DiffError::Compare(e) => e.status(),
            DiffError::Record(_) => Status::BadInput,
            DiffError::NotComparable(_) => Status::BadInput,
        }
    }
}

/// Regression thresholds (YAML, every field optional).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Thresholds {
    /// A recall or precision drop counts when the whole confidence interval of
    /// (candidate − baseline) lies below −this.
    pub accuracy_drop: f64,
    pub max_decision_flips: usize,
    /// Latency regression when the lower bootstrap bound of the p50 (p99) increase exceeds
    /// this fraction of the baseline's p50 (p99) and Mann–Whitney rejects at `alpha`.
    pub p50_increase: f64,
    pub p99_increase: f64,
    /// pWCET regression when the candidate's upper bound at 1e-6 exceeds the baseline's by
    /// more than this fraction.
    pub pwcet_increase: f64,
    pub alpha: f64,
    pub confidence: f64,
    pub bootstrap_resamples: usize,
    pub seed: u64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            accuracy_drop: 0.0,
            max_decision_flips: 0,
            p50_increase: 0.05,
            p99_increase: 0.10,
            pwcet_increase: 0.10,
            alpha: 0.01,
            confidence: 0.95,
            bootstrap_resamples: 1000,
            seed: 1,
        }
    }
}

/// What one check concluded. The checks test for a regression only: a check that is not
/// `regressed` has not shown the candidate equivalent or better, only that no regression
/// beyond its limit was detected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Regressed,
    NotRegressed,
}

impl Decision {
    pub fn of(regressed: bool) -> Self {
        if regressed {
            Decision::Regressed
        } else {
            Decision::NotRegressed
        }
    }

    pub fn is_regressed(self) -> bool {
        self == Decision::Regressed
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub scenario: String,
    pub what: String,
    pub baseline: Option<f64>,
    pub candidate: Option<f64>,
    pub delta: Option<f64>,
    pub ci: Option<(f64, f64)>,
    pub p_value: Option<f64>,
    pub effect_size: Option<f64>,
    pub limit: String,
    pub decision: Decision,
}

/// One layer present in both runs' `layers.json` (trtexec imports, GPU plans).
#[derive(Debug, Clone, Serialize)]
pub struct LayerChange {
    pub name: String,
    pub baseline_ms: Option<f64>,
    pub candidate_ms: Option<f64>,
    pub delta_ms: Option<f64>,
    pub baseline_tactic: Option<String>,
    pub candidate_tactic: Option<String>,
    pub tactic_changed: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct DiffReport {
    pub baseline: String,
    pub candidate: String,
    pub baseline_engine: String,
    pub candidate_engine: String,
    pub thresholds: Thresholds,
    pub checks: Vec<Check>,
    /// Per-layer time and kernel-choice changes, when both runs carry layer information.
    pub layers: Vec<LayerChange>,
    /// Layers present in only one of the runs.
    pub layers_only_in_one: Vec<String>,
    /// `regressed` when any check is.
    pub decision: Decision,
}

/// Layer name → (time in ms, kernel choice).
type LayerMap = BTreeMap<String, (Option<f64>, Option<String>)>;

fn layer_map(dir: &Path) -> Option<LayerMap> {
    let v = read_json(dir, "layers.json");
    let layers = v["layers"].as_array()?;
    Some(
        layers
            .iter()
            .filter_map(|l| {
                let name = l["name"].as_str()?.to_string();
                let t = l["median_ms"].as_f64().or_else(|| l["average_ms"].as_f64());
                let tactic = l["tactic"].as_str().map(str::to_string);
                Some((name, (t, tactic)))
            })
            .collect(),
    )
}

/// Per-layer changes between two run directories that carry `layers.json`.
pub fn layer_changes(baseline: &Path, candidate: &Path) -> (Vec<LayerChange>, Vec<String>) {
    let (Some(a), Some(b)) = (layer_map(baseline), layer_map(candidate)) else {
        return (vec![], vec![]);
    };
    let mut changes = Vec::new();
    let mut only = Vec::new();
    for (name, (ta, ka)) in &a {
        match b.get(name) {
            Some((tb, kb)) => changes.push(LayerChange {
                name: name.clone(),
                baseline_ms: *ta,
                candidate_ms: *tb,
                delta_ms: ta.zip(*tb).map(|(x, y)| y - x),
                baseline_tactic: ka.clone(),
                candidate_tactic: kb.clone(),
                tactic_changed: ka != kb,
            }),
            None => only.push(format!("{name} (baseline only)")),
        }
    }
    only.extend(
        b.keys()
            .filter(|k| !a.contains_key(*k))
            .map(|k| format!("{k} (candidate only)")),
    );
    (changes, only)
}

fn counts(
    metrics: &serde_json::Value,
    engine: &str,
    scenario: &str,
) -> BTreeMap<(String, String), (u64, u64, u64)> {
    let mut out = BTreeMap::new();
    for t in metrics["traces"].as_array().into_iter().flatten() {
        if t["engine"] != engine || t["scenario"] != scenario {
            continue;
        }
        for c in t["detection"]["per_class"].as_array().into_iter().flatten() {
            for a in c["at"].as_array().into_iter().flatten() {
                if a["iou_threshold"] != 0.5 {
                    continue;
                }
                let g = |k: &str| a[k].as_u64().unwrap_or(0);
                out.insert(
                    (
                        c["class"].as_str().unwrap_or("").to_string(),
                        "0.5".to_string(),
                    ),
                    (g("tp"), g("fp"), g("fn")),
                );
            }
        }
    }
    out
}

fn pwcet_ucb(wcet: &serde_json::Value, engine: &str, scenario: &str, p: f64) -> Option<f64> {
    let a = wcet["analyses"]
        .as_array()?
        .iter()
        .find(|a| a["engine"] == engine && a["scenario"] == scenario)?;
    if a["verdict"] != "pwcet" {
        return None;
    }
    let sel = &a["selected"];
    a["pwcet"].as_array()?.iter().find_map(|r| {
        let same = r["method"] == sel["method"] && r["estimator"] == sel["estimator"];
        let prob = r["exceedance_probability"].as_f64()?;
        (same && (prob - p).abs() <= p * 1e-9)
            .then(|| r["ci_high"].as_f64())
            .flatten()
    })
}

fn read_json(dir: &Path, name: &str) -> serde_json::Value {
    std::fs::read(dir.join(name))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(serde_json::Value::Null)
}

pub fn diff(baseline: &Path, candidate: &Path, th: &Thresholds) -> Result<DiffReport, DiffError> {
    // Integrity and comparability (same scenarios and labels) come from `compare`.
    let cmp = compare(
        &[baseline.to_path_buf(), candidate.to_path_buf()],
        &Tolerances::default(),
    )?;
    let (rb, rc) = (read_run(baseline)?, read_run(candidate)?);
    if rb.engines.len() != 1 || rc.engines.len() != 1 {
        return Err(DiffError::NotComparable(
            "each run must hold exactly one engine (replay with --engine NAME)".into(),
        ));
    }
    let (eb, ec) = (&rb.engines[0].name, &rc.engines[0].name);
    let (mb, mc) = (
        read_json(baseline, "metrics.json"),
        read_json(candidate, "metrics.json"),
    );
    let (wb, wc) = (
        read_json(baseline, "wcet.json"),
        read_json(candidate, "wcet.json"),
    );
    let (lb, lc) = (
        read_latencies_csv(&baseline.join("latencies.csv"))?,
        read_latencies_csv(&candidate.join("latencies.csv"))?,
    );
    let mut checks = Vec::new();
    for s in &rb.scenarios {
        let id = &s.id;
        // Accuracy: recall and precision per class at IoU 0.5.
        let (cb, cc) = (counts(&mb, eb, id), counts(&mc, ec, id));
        for (key, &(tpb, fpb, fnb)) in &cb {
            let Some(&(tpc, fpc, fnc)) = cc.get(key) else {
                continue;
            };
            for (what, kb, nb, kc, nc) in [
                ("recall", tpb, tpb + fnb, tpc, tpc + fnc),
                ("precision", tpb, tpb + fpb, tpc, tpc + fpc),
            ] {
                let Some(ci) = stats::newcomb_diff(kc, nc, kb, nb, th.confidence) else {
                    continue;
                };
                let (pb, pc) = (kb as f64 / nb as f64, kc as f64 / nc as f64);
                checks.push(Check {
                    scenario: id.clone(),
                    what: format!("{what} {} @IoU 0.5", key.0),
                    baseline: Some(pb),
                    candidate: Some(pc),
                    delta: Some(pc - pb),
                    ci: Some(ci),
                    p_value: None,
                    effect_size: None,
                    limit: if th.accuracy_drop == 0.0 {
                        "CI upper bound ≥ 0".to_string()
                    } else {
                        format!("CI upper bound ≥ −{}", th.accuracy_drop)
                    },
                    decision: Decision::of(ci.1 < -th.accuracy_drop),
                });
            }
        }
        // Decision flips between the two runs.
        let flips: usize = cmp
            .pairs
            .iter()
            .filter(|p| &p.scenario == id)
            .map(|p| p.decision_flips)
            .sum();
        checks.push(Check {
            scenario: id.clone(),
            what: "decision flips".into(),
            baseline: None,
            candidate: Some(flips as f64),
            delta: None,
            ci: None,
            p_value: None,
            effect_size: None,
            limit: format!("≤ {}", th.max_decision_flips),
            decision: Decision::of(flips > th.max_decision_flips),
        });
        // Latency shift of the infer stage.
        let lat = |rows: &[adasval_record::record::LatencyRow], e: &str| -> Vec<f64> {
            rows.iter()
                .filter(|r| &r.scenario == id && r.engine == e)
                .map(|r| r.sample.infer_ns as f64 / 1e6)
                .collect()
        };
        let (xb, xc) = (lat(&lb, eb), lat(&lc, ec));
        let mw = stats::mann_whitney(&xc, &xb);
        for (q, limit) in [(0.5, th.p50_increase), (0.99, th.p99_increase)] {
            let Some((d, lo, hi)) = stats::bootstrap_quantile_diff(
                &xb,
                &xc,
                q,
                th.bootstrap_resamples,
                th.confidence,
                th.seed,
            ) else {
                continue;
            };
            let mut sorted = xb.clone();
            sorted.sort_by(f64::total_cmp);
            let base = adasval_core::timing::percentile_sorted(&sorted, q * 100.0);
            let significant = mw.is_some_and(|m| m.p_value < th.alpha);
            checks.push(Check {
                scenario: id.clone(),
                what: format!("infer latency p{} (ms)", if q == 0.5 { "50" } else { "99" }),
                baseline: Some(base),
                candidate: Some(base + d),
                delta: Some(d),
                ci: Some((lo, hi)),
                p_value: mw.map(|m| m.p_value),
                effect_size: mw.map(|m| m.effect_size),
                limit: format!(
                    "CI lower bound ≤ {:.0}% of baseline, or Mann–Whitney p ≥ {}",
                    limit * 100.0,
                    th.alpha
                ),
                decision: Decision::of(significant && lo > limit * base),
            });
        }
        // pWCET at 1e-6.
        let (pb, pc) = (pwcet_ucb(&wb, eb, id, 1e-6), pwcet_ucb(&wc, ec, id, 1e-6));
        if pb.is_some() || pc.is_some() {
            let regression = match (pb, pc) {
                (Some(b), Some(c)) => c > b * (1.0 + th.pwcet_increase),
                // Losing a bound the baseline had is a regression.
                (Some(_), None) => true,
                _ => false,
            };
            checks.push(Check {
                scenario: id.clone(),
                what: "pWCET UCB at 1e-6 (ms)".into(),
                baseline: pb,
                candidate: pc,
                delta: pb.zip(pc).map(|(b, c)| c - b),
                ci: None,
                p_value: None,
                effect_size: None,
                limit: format!("≤ baseline × {}", 1.0 + th.pwcet_increase),
                decision: Decision::of(regression),
            });
        }
    }
    let decision = Decision::of(checks.iter().any(|c| c.decision.is_regressed()));
    let (layers, layers_only_in_one) = layer_changes(baseline, candidate);
    Ok(DiffReport {
        layers,
        layers_only_in_one,
        baseline: rb.run_id,
        candidate: rc.run_id,
        baseline_engine: format!("{eb}@{}", &rb.engines[0].sha256[..12]),
        candidate_engine: format!("{ec}@{}", &rc.engines[0].sha256[..12]),
        thresholds: th.clone(),
        checks,
        decision,
    })
}
