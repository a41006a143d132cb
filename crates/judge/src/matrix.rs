//! `matrix`: the study's compile × run table (its Table VIII). Every engine of every run is
//! one row, labelled by engine, build, platform and run so that no two rows read alike.
//! Rows are grouped by (platform the engine was built on, platform it ran on); each cell gets
//! the median inference latency with a bootstrap interval, each pair of cells the decision
//! flips between them, and the study's anomalies are flagged by a one-sided Mann–Whitney
//! test, not by comparing means: (1) the bigger platform running its own engine is slower
//! than the smaller running its own; (2) and (3) the same engine is slower on the bigger
//! platform. "Bigger" comes from the platform profiles' `rank`.
//!
//! Runs of one engine binary on one platform differ from each other more than frames inside
//! a run do, so with hundreds of frames per run the Mann–Whitney test rejects between two
//! runs of the very same binary. Those run-to-run pairs are therefore measured as the noise
//! floor: a significant difference whose median shift is no larger than the largest
//! run-to-run median shift is reported as within noise, not as a finding.

use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::compare::{compare, CompareError};
use crate::metrics::consistency::Tolerances;
use crate::regress::stats::{bootstrap_quantile_diff, mann_whitney};
use adasval_record::record::{read_latencies_csv, read_run};

/// Shown for an engine whose lock entry does not say where it was built.
pub const UNRECORDED: &str = "unrecorded";

/// One engine of one run.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// Unique among the rows: engine, build, platform it ran on and run.
    pub label: String,
    pub engine: String,
    /// First 12 hex digits of the engine file's SHA-256.
    pub build: String,
    pub built_on: String,
    pub ran_on: String,
    pub run_id: String,
    pub run_dir: String,
    pub samples: usize,
    /// Absent when the run holds no latency sample of this engine.
    pub median_ms: Option<f64>,
    /// 95% bootstrap interval of the median.
    pub median_ci: Option<(f64, f64)>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Cell {
    pub built_on: String,
    pub ran_on: String,
    /// Labels of the rows pooled in this cell.
    pub runs: Vec<String>,
    pub samples: usize,
    pub median_ms: Option<f64>,
    /// 95% bootstrap interval of the median.
    pub median_ci: Option<(f64, f64)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AnomalyDecision {
    /// Significant, and the median shift exceeds the noise floor (or no floor was measured).
    Anomaly,
    /// Significant, but the median shift is no larger than two runs of one binary differ.
    WithinNoise,
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
    pub median_slower_ms: f64,
    pub median_faster_ms: f64,
    /// Median of the slower cell minus median of the faster one.
    pub median_diff_ms: f64,
    pub decision: AnomalyDecision,
}

/// (built on, ran on)
pub type Key = (String, String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PairDecision {
    /// Two-sided Mann–Whitney p ≥ α.
    NotSignificant,
    /// p < α, but the median shift is no larger than the noise floor.
    WithinNoise,
    /// p < α and the median shift exceeds the noise floor (or no floor was measured; for a
    /// run-to-run pair: the runs themselves differ, which is what sets the floor).
    Differs,
}

/// Two rows of one model on one platform: either two runs of the same engine binary
/// (run-to-run, the noise floor) or two builds (the study's Tables XII and XIII), with the
/// layers whose kernel choice differs.
#[derive(Debug, Clone, Serialize)]
pub struct Pair {
    pub platform: String,
    pub source_model_sha256: String,
    pub a: String,
    pub b: String,
    pub median_a_ms: f64,
    pub median_b_ms: f64,
    /// Median of b minus median of a.
    pub median_diff_ms: f64,
    /// Two-sided Mann–Whitney p-value and P(a > b).
    pub p_value: f64,
    pub effect_size: f64,
    /// Decision flips between the two rows, summed over scenarios.
    pub decision_flips: usize,
    /// Layers with a different kernel choice (when both runs carry layer information).
    pub layers_compared: usize,
    pub kernel_changes: Vec<String>,
    pub decision: PairDecision,
}

/// What two runs of one engine binary on one platform differ by.
#[derive(Debug, Clone, Serialize)]
pub struct NoiseFloor {
    /// Number of run-to-run pairs measured.
    pub pairs: usize,
    /// Largest |median difference| among them; absent without run-to-run pairs.
    pub max_median_diff_ms: Option<f64>,
    /// Smallest two-sided Mann–Whitney p-value among them.
    pub min_p_value: Option<f64>,
}

impl NoiseFloor {
    fn covers(&self, median_diff_ms: f64) -> bool {
        self.max_median_diff_ms
            .is_some_and(|floor| median_diff_ms.abs() <= floor)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Matrix {
    pub rows: Vec<Row>,
    pub cells: Vec<Cell>,
    /// Decision flips between cells, summed over scenarios and engine pairs.
    pub flips: Vec<(Key, Key, usize)>,
    pub alpha: f64,
    pub noise_floor: NoiseFloor,
    pub run_to_run: Vec<Pair>,
    pub anomalies: Vec<Anomaly>,
    pub build_spread: Vec<Pair>,
}

fn median(v: &[f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    Some(adasval_core::timing::percentile_sorted(&s, 50.0))
}

fn median_ci(v: &[f64]) -> Option<(f64, f64)> {
    // The difference to a single zero is the quantile itself: its interval is the median's.
    bootstrap_quantile_diff(&[0.0], v, 0.5, 1000, 0.95, 1).map(|(_, lo, hi)| (lo, hi))
}

struct Measured {
    row: Row,
    dir: PathBuf,
    model: String,
    engine_sha256: String,
    xs: Vec<f64>,
}

pub fn matrix(root: &Path, dirs: &[PathBuf], alpha: f64) -> Result<Matrix, CompareError> {
    let cmp = compare(dirs, &Tolerances::default())?;
    let ranks: BTreeMap<String, f64> = adasval_record::platform::load_profiles(root)?
        .into_iter()
        .filter_map(|p| p.rank.map(|r| (p.name, r)))
        .collect();
    // Rows in the order `compare` numbers its participants (runs in order, then each run's
    // engines), so that its pairwise decision flips can be looked up by index.
    let mut measured: Vec<Measured> = Vec::new();
    for d in dirs {
        let run = read_run(d)?;
        let lat = read_latencies_csv(&d.join("latencies.csv"))?;
        for e in &run.engines {
            let xs: Vec<f64> = lat
                .iter()
                .filter(|r| r.engine == e.name)
                .map(|r| r.sample.infer_ns as f64 / 1e6)
                .collect();
            let build = e.sha256.chars().take(12).collect::<String>();
            measured.push(Measured {
                row: Row {
                    label: String::new(),
                    engine: e.name.clone(),
                    build,
                    built_on: e.built_on.clone().unwrap_or_else(|| UNRECORDED.into()),
                    ran_on: run.platform.name.clone(),
                    run_id: run.run_id.clone(),
                    run_dir: d.display().to_string(),
                    samples: xs.len(),
                    median_ms: median(&xs),
                    median_ci: median_ci(&xs),
                },
                dir: d.clone(),
                // Builds of one model: the same source model, else the engine itself.
                model: e
                    .source_model_sha256
                    .clone()
                    .unwrap_or_else(|| e.sha256.clone()),
                engine_sha256: e.sha256.clone(),
                xs,
            });
        }
    }
    label_rows(&mut measured);

    let mut samples: BTreeMap<Key, Vec<f64>> = BTreeMap::new();
    let mut members: BTreeMap<Key, Vec<String>> = BTreeMap::new();
    for m in &measured {
        let key = (m.row.built_on.clone(), m.row.ran_on.clone());
        samples
            .entry(key.clone())
            .or_default()
            .extend(m.xs.iter().copied());
        members.entry(key).or_default().push(m.row.label.clone());
    }
    let cells: Vec<Cell> = samples
        .iter()
        .map(|(k, v)| Cell {
            built_on: k.0.clone(),
            ran_on: k.1.clone(),
            runs: members.get(k).cloned().unwrap_or_default(),
            samples: v.len(),
            median_ms: median(v),
            median_ci: median_ci(v),
        })
        .collect();

    let key_of = |i: usize| -> Option<Key> {
        measured
            .get(i)
            .map(|m| (m.row.built_on.clone(), m.row.ran_on.clone()))
    };
    let mut flips: BTreeMap<(Key, Key), usize> = BTreeMap::new();
    let mut pair_flips: BTreeMap<(usize, usize), usize> = BTreeMap::new();
    for p in &cmp.pairs {
        *pair_flips.entry((p.a.min(p.b), p.a.max(p.b))).or_default() += p.decision_flips;
        let (Some(a), Some(b)) = (key_of(p.a), key_of(p.b)) else {
            continue;
        };
        if a != b {
            let k = if a < b { (a, b) } else { (b, a) };
            *flips.entry(k).or_default() += p.decision_flips;
        }
    }

    // Pairs of one model on one platform: run-to-run (same binary) first, since they set
    // the floor the build-to-build pairs are judged against.
    let mut run_to_run = Vec::new();
    let mut builds = Vec::new();
    for (i, a) in measured.iter().enumerate() {
        for (j, b) in measured.iter().enumerate().skip(i + 1) {
            if a.row.ran_on != b.row.ran_on || a.model != b.model {
                continue;
            }
            let same_binary = a.engine_sha256 == b.engine_sha256;
            // The same run given twice (or a copy of it) is one measurement, not two runs.
            if same_binary && a.row.run_id == b.row.run_id {
                continue;
            }
            let (Some(m), Some(ma), Some(mb)) =
                (mann_whitney(&a.xs, &b.xs), a.row.median_ms, b.row.median_ms)
            else {
                continue;
            };
            let (layers, _) = crate::regress::layer_changes(&a.dir, &b.dir);
            let pair = Pair {
                platform: a.row.ran_on.clone(),
                source_model_sha256: a.model.clone(),
                a: a.row.label.clone(),
                b: b.row.label.clone(),
                median_a_ms: ma,
                median_b_ms: mb,
                median_diff_ms: mb - ma,
                p_value: m.p_value,
                effect_size: m.effect_size,
                decision_flips: pair_flips.get(&(i, j)).copied().unwrap_or(0),
                layers_compared: layers.len(),
                kernel_changes: layers
                    .iter()
                    .filter(|l| l.tactic_changed)
                    .map(|l| l.name.clone())
                    .collect(),
                decision: if m.p_value < alpha {
                    PairDecision::Differs
                } else {
                    PairDecision::NotSignificant
                },
            };
            if same_binary {
                run_to_run.push(pair);
            } else {
                builds.push(pair);
            }
        }
    }
    let noise_floor = NoiseFloor {
        pairs: run_to_run.len(),
        max_median_diff_ms: run_to_run
            .iter()
            .map(|p| p.median_diff_ms.abs())
            .max_by(f64::total_cmp),
        min_p_value: run_to_run.iter().map(|p| p.p_value).min_by(f64::total_cmp),
    };
    for p in &mut builds {
        if p.decision == PairDecision::Differs && noise_floor.covers(p.median_diff_ms) {
            p.decision = PairDecision::WithinNoise;
        }
    }

    // Anomalies: compare pairs of cells where one platform is bigger than the other.
    let rank = |p: &str| ranks.get(p).copied();
    let mut anomalies = Vec::new();
    let mut test = |case: u8, description: String, big: &Key, small: &Key| {
        let (Some(xb), Some(xs)) = (samples.get(big), samples.get(small)) else {
            return;
        };
        let (Some(m), Some(mb), Some(ms)) = (mann_whitney(xb, xs), median(xb), median(xs)) else {
            return;
        };
        // One-sided: the bigger platform's latencies are stochastically larger.
        let p_one = if m.effect_size > 0.5 {
            m.p_value / 2.0
        } else {
            1.0 - m.p_value / 2.0
        };
        if p_one < alpha {
            let median_diff_ms = mb - ms;
            anomalies.push(Anomaly {
                case,
                description,
                slower: big.clone(),
                faster: small.clone(),
                p_value: p_one,
                effect_size: m.effect_size,
                median_slower_ms: mb,
                median_faster_ms: ms,
                median_diff_ms,
                decision: if noise_floor.covers(median_diff_ms) {
                    AnomalyDecision::WithinNoise
                } else {
                    AnomalyDecision::Anomaly
                },
            });
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
    Ok(Matrix {
        rows: measured.into_iter().map(|m| m.row).collect(),
        cells,
        flips: flips.into_iter().map(|((a, b), n)| (a, b, n)).collect(),
        alpha,
        noise_floor,
        run_to_run,
        anomalies,
        build_spread: builds,
    })
}

/// `engine@build on platform, run id`; a run given twice (or two copies with one id) gets
/// its directory as well, so that no two labels read alike.
fn label_rows(measured: &mut [Measured]) {
    let base = |r: &Row| format!("{}@{} on {}, run {}", r.engine, r.build, r.ran_on, r.run_id);
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for m in measured.iter() {
        *seen.entry(base(&m.row)).or_default() += 1;
    }
    let mut used: BTreeMap<String, usize> = BTreeMap::new();
    for m in measured.iter_mut() {
        let b = base(&m.row);
        m.row.label = if seen.get(&b).copied().unwrap_or(0) > 1 {
            let n = used.entry(b.clone()).or_default();
            *n += 1;
            format!("{b} ({}, #{n})", m.row.run_dir)
        } else {
            b
        };
    }
}
