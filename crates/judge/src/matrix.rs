//! `matrix`: the study's compile × run table (its Table VIII). Runs are grouped by (platform
//! the engine was built on, platform it ran on); each cell gets the median inference
//! latency with a bootstrap interval, each pair of cells the decision flips between them,
//! and the study's anomalies are flagged by a one-sided Mann–Whitney test, not by comparing
//! means: (1) the bigger platform running its own engine is slower than the smaller running
//! its own; (2) and (3) the same engine is slower on the bigger platform. "Bigger" comes from
//! the platform profiles' `rank`.

use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::compare::{compare, CompareError};
use crate::metrics::consistency::Tolerances;
use crate::regress::stats::{bootstrap_quantile_diff, mann_whitney};
use adasval_record::record::{read_latencies_csv, read_run};

#[derive(Debug, Clone, Serialize)]
pub struct Cell {
    pub built_on: String,
    pub ran_on: String,
    pub engines: Vec<String>,
    pub samples: usize,
    pub median_ms: f64,
    /// 95% bootstrap interval of the median.
    pub median_ci: (f64, f64),
}

#[derive(Debug, Clone, Serialize)]
pub struct Anomaly {
    pub case: u8,
    pub description: String,
    pub slower: (String, String),
    pub faster: (String, String),
    /// One-sided Mann–Whitney p-value that the bigger platform's latencies are larger.
    pub p_value: f64,
    /// P(bigger-platform latency > smaller-platform latency).
    pub effect_size: f64,
}

/// (built on, ran on)
pub type Key = (String, String);

/// Two builds of the same model measured on the same platform (the study's Tables XII and
/// XIII): their latency distributions compared, and the layers whose kernel choice differs.
#[derive(Debug, Clone, Serialize)]
pub struct BuildSpread {
    pub platform: String,
    pub source_model_sha256: String,
    pub a: String,
    pub b: String,
    pub median_a_ms: f64,
    pub median_b_ms: f64,
    /// Two-sided Mann–Whitney p-value and P(a > b).
    pub p_value: f64,
    pub effect_size: f64,
    /// Layers with a different kernel choice (when both runs carry layer information).
    pub layers_compared: usize,
    pub kernel_changes: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Matrix {
    pub cells: Vec<Cell>,
    /// Decision flips between cells, summed over scenarios and engine pairs.
    pub flips: Vec<(Key, Key, usize)>,
    pub alpha: f64,
    pub anomalies: Vec<Anomaly>,
    pub build_spread: Vec<BuildSpread>,
}

pub fn matrix(root: &Path, dirs: &[PathBuf], alpha: f64) -> Result<Matrix, CompareError> {
    let cmp = compare(dirs, &Tolerances::default())?;
    let ranks: BTreeMap<String, f64> = adasval_record::platform::load_profiles(root)?
        .into_iter()
        .filter_map(|p| p.rank.map(|r| (p.name, r)))
        .collect();
    let mut samples: BTreeMap<Key, Vec<f64>> = BTreeMap::new();
    // (platform ran on, source model) → builds: (label, run dir, samples)
    type Build = (String, PathBuf, Vec<f64>);
    let mut builds: BTreeMap<(String, String), Vec<Build>> = BTreeMap::new();
    let mut engines: BTreeMap<Key, Vec<String>> = BTreeMap::new();
    for d in dirs {
        let run = read_run(d)?;
        let rows = read_latencies_csv(&d.join("latencies.csv"))?;
        for e in &run.engines {
            let key = (
                e.built_on.clone().unwrap_or_else(|| "unknown".into()),
                run.platform.name.clone(),
            );
            samples.entry(key.clone()).or_default().extend(
                rows.iter()
                    .filter(|r| r.engine == e.name)
                    .map(|r| r.sample.infer_ns as f64 / 1e6),
            );
            let label = format!("{}@{}", e.name, &e.sha256[..12.min(e.sha256.len())]);
            // Builds of one model: the same source model, else the engine itself.
            let model = e
                .source_model_sha256
                .clone()
                .unwrap_or_else(|| e.sha256.clone());
            let xs: Vec<f64> = rows
                .iter()
                .filter(|r| r.engine == e.name)
                .map(|r| r.sample.infer_ns as f64 / 1e6)
                .collect();
            builds
                .entry((run.platform.name.clone(), model))
                .or_default()
                .push((label.clone(), d.clone(), xs));
            let list = engines.entry(key).or_default();
            if !list.contains(&label) {
                list.push(label);
            }
        }
    }
    let cells: Vec<Cell> =
        samples
            .iter()
            .map(|(k, v)| {
                let (_, lo, hi) = bootstrap_quantile_diff(&[0.0], v, 0.5, 1000, 0.95, 1)
                    .unwrap_or((f64::NAN, f64::NAN, f64::NAN));
                let mut s = v.clone();
                s.sort_by(f64::total_cmp);
                Cell {
                    built_on: k.0.clone(),
                    ran_on: k.1.clone(),
                    engines: engines.get(k).cloned().unwrap_or_default(),
                    samples: v.len(),
                    median_ms: adasval_core::timing::percentile_sorted(&s, 50.0),
                    median_ci: (lo, hi),
                }
            })
            .collect();
    let key_of = |i: usize| -> Key {
        let p = &cmp.participants[i];
        (
            p.built_on.clone().unwrap_or_else(|| "unknown".into()),
            p.platform.clone(),
        )
    };
    let mut flips: BTreeMap<(Key, Key), usize> = BTreeMap::new();
    for p in &cmp.pairs {
        let (a, b) = (key_of(p.a), key_of(p.b));
        if a != b {
            let k = if a < b { (a, b) } else { (b, a) };
            *flips.entry(k).or_default() += p.decision_flips;
        }
    }
    // Anomalies: compare pairs of cells where one platform is bigger than the other.
    let rank = |p: &str| ranks.get(p).copied();
    let mut anomalies = Vec::new();
    let mut test = |case: u8, description: String, big: &Key, small: &Key| {
        let (Some(xb), Some(xs)) = (samples.get(big), samples.get(small)) else {
            return;
        };
        if let Some(m) = mann_whitney(xb, xs) {
            // One-sided: the bigger platform's latencies are stochastically larger.
            let p_one = if m.effect_size > 0.5 {
                m.p_value / 2.0
            } else {
                1.0 - m.p_value / 2.0
            };
            if p_one < alpha {
                anomalies.push(Anomaly {
                    case,
                    description,
                    slower: big.clone(),
                    faster: small.clone(),
                    p_value: p_one,
                    effect_size: m.effect_size,
                });
            }
        }
    };
    let platforms: Vec<String> = {
        let mut v: Vec<String> = samples
            .keys()
            .flat_map(|k| [k.0.clone(), k.1.clone()])
            .collect();
        v.sort();
        v.dedup();
        v
    };
    for small in &platforms {
        for big in &platforms {
            let (Some(rs), Some(rb)) = (rank(small), rank(big)) else {
                continue;
            };
            if rb <= rs {
                continue;
            }
            test(
                1,
                format!("{big} running its own engine is slower than {small} running its own"),
                &(big.clone(), big.clone()),
                &(small.clone(), small.clone()),
            );
            test(
                2,
                format!("the engine built on {small} is slower on the bigger {big}"),
                &(small.clone(), big.clone()),
                &(small.clone(), small.clone()),
            );
            test(
                3,
                format!("the engine built on {big} is slower on its own (bigger) platform than on {small}"),
                &(big.clone(), big.clone()),
                &(big.clone(), small.clone()),
            );
        }
    }
    let median = |v: &[f64]| {
        let mut s = v.to_vec();
        s.sort_by(f64::total_cmp);
        adasval_core::timing::percentile_sorted(&s, 50.0)
    };
    let mut build_spread = Vec::new();
    for ((platform, model), list) in &builds {
        for (i, (la, da, xa)) in list.iter().enumerate() {
            for (lb, db, xb) in &list[i + 1..] {
                if la == lb {
                    continue;
                }
                let Some(m) = mann_whitney(xa, xb) else {
                    continue;
                };
                let (layers, _) = crate::regress::layer_changes(da, db);
                build_spread.push(BuildSpread {
                    platform: platform.clone(),
                    source_model_sha256: model.clone(),
                    a: la.clone(),
                    b: lb.clone(),
                    median_a_ms: median(xa),
                    median_b_ms: median(xb),
                    p_value: m.p_value,
                    effect_size: m.effect_size,
                    layers_compared: layers.len(),
                    kernel_changes: layers
                        .iter()
                        .filter(|l| l.tactic_changed)
                        .map(|l| l.name.clone())
                        .collect(),
                });
            }
        }
    }
    Ok(Matrix {
        build_spread,
        cells,
        flips: flips.into_iter().map(|((a, b), n)| (a, b, n)).collect(),
        alpha,
        anomalies,
    })
}
