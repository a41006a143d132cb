//! `diff`: did an upgrade (runtime, model, driver) make anything worse? Compares baseline
//! runs with candidate runs of the same scenarios (or the two engines of one interleaved
//! session): accuracy deltas with confidence intervals and decision flips (exact tests),
//! and the p50, p99 and pWCET of the infer latency judged against equivalence margins with
//! each run, or each interleaved block, as one unit (`equivalence`, `latency`), so that
//! run-to-run variation is inside the interval (docs/REGRESSION.md).

pub mod equivalence;
mod latency;
pub mod stats;

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::compare::{compare, CompareError};
use crate::metrics::consistency::Tolerances;
use adasval_core::exit::{Classify, Status};
use adasval_record::record::{read_latencies_csv, read_run, BackendInfo, RecordError};

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

/// An equivalence margin: a change is tolerated up to the larger of `relative` × the
/// baseline's statistic and `absolute_ms` (which keeps sub-millisecond engines from failing
/// on timer granularity).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Margin {
    pub relative: f64,
    pub absolute_ms: f64,
}

impl Margin {
    pub fn of(&self, baseline: f64) -> f64 {
        (self.relative * baseline).max(self.absolute_ms)
    }
}

/// Regression thresholds (YAML, every field optional; a requirements file's `regression:`
/// section or `diff --thresholds FILE`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Thresholds {
    /// A recall or precision drop counts when the whole confidence interval of
    /// (candidate − baseline) lies below −this.
    pub accuracy_drop: f64,
    pub max_decision_flips: usize,
    /// Equivalence margins of the infer latency p50, p99 and of the pWCET bound at 1e-6.
    pub p50: Margin,
    pub p99: Margin,
    pub pwcet: Margin,
    /// Level of each one-sided test of the equivalence test (TOST): decisions use the
    /// (1 − 2·alpha) interval of the difference.
    pub alpha: f64,
    /// Confidence of the accuracy intervals.
    pub confidence: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            accuracy_drop: 0.0,
            max_decision_flips: 0,
            p50: Margin {
                relative: 0.05,
                absolute_ms: 0.05,
            },
            p99: Margin {
                relative: 0.10,
                absolute_ms: 0.05,
            },
            pwcet: Margin {
                relative: 0.10,
                absolute_ms: 0.05,
            },
            alpha: 0.05,
            confidence: 0.95,
        }
    }
}

impl Thresholds {
    pub fn validate(&self) -> Result<(), String> {
        for (name, m) in [("p50", self.p50), ("p99", self.p99), ("pwcet", self.pwcet)] {
            let finite = m.relative.is_finite() && m.absolute_ms.is_finite();
            if !(finite && m.relative >= 0.0 && m.absolute_ms >= 0.0)
                || (m.relative == 0.0 && m.absolute_ms == 0.0)
            {
                return Err(format!(
                    "{name}: the margin needs a relative or absolute_ms part > 0 (finite, non-negative)"
                ));
            }
        }
        if !(self.alpha > 0.0 && self.alpha < 0.5) {
            return Err(format!("alpha {} is not in (0, 0.5)", self.alpha));
        }
        if !(self.confidence > 0.0 && self.confidence < 1.0) {
            return Err(format!("confidence {} is not in (0, 1)", self.confidence));
        }
        Ok(())
    }
}

/// What one check concluded. Latency checks are equivalence tests with four outcomes;
/// the exact tests of accuracy and decision flips test for a regression only
/// (`not_regressed`: none beyond the limit was detected).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Improved,
    Equivalent,
    Regressed,
    Inconclusive,
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

    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Improved => "improved",
            Decision::Equivalent => "equivalent",
            Decision::Regressed => "regressed",
            Decision::Inconclusive => "inconclusive",
            Decision::NotRegressed => "not regressed",
        }
    }

    /// The overall decision: any regression; else any inconclusive check; else improved
    /// when a latency check improved; else equivalent when one was shown equivalent.
    pub fn overall(checks: &[Check]) -> Self {
        let any = |d: Decision| checks.iter().any(|c| c.decision == d);
        if any(Decision::Regressed) {
            Decision::Regressed
        } else if any(Decision::Inconclusive) {
            Decision::Inconclusive
        } else if any(Decision::Improved) {
            Decision::Improved
        } else if any(Decision::Equivalent) {
            Decision::Equivalent
        } else {
            Decision::NotRegressed
        }
    }
}

/// How the latency checks got their units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Design {
    /// Several runs on at least one side: each run is one unit.
    Runs,
    /// One run per side: only `equivalent` (with run-to-run variation from earlier runs)
    /// or `inconclusive`.
    SingleRuns,
    /// One interleaved session (`validate --interleave`): paired blocks are the units of
    /// p50 and p99; the pWCET has one unit per engine.
    Interleaved,
    /// Several interleaved sessions (`diff --sessions`): each session is one paired unit of
    /// every check, the pWCET included, so the interval holds the session-to-session
    /// variation of the difference, and the blocks' alternation keeps a process's own
    /// speed out of it.
    Sessions,
}

impl Design {
    /// Units of the latency checks are paired (baseline and candidate from one process).
    pub fn paired(self) -> bool {
        matches!(self, Design::Interleaved | Design::Sessions)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub scenario: String,
    pub what: String,
    pub baseline: Option<f64>,
    pub candidate: Option<f64>,
    pub delta: Option<f64>,
    /// Accuracy: the `confidence` interval; latency: the (1 − 2·alpha) interval of the
    /// difference (absent when run-to-run variation could not be estimated).
    pub ci: Option<(f64, f64)>,
    /// Latency: the TOST p-value of equivalence within the margin.
    pub p_value: Option<f64>,
    /// Latency: the equivalence margin in ms.
    pub margin: Option<f64>,
    /// Latency: units (runs, blocks or sessions) per side and the degrees of freedom of the
    /// variance.
    pub units: Option<Units>,
    /// Latency, when inconclusive with independent runs (or interleaved sessions): runs per
    /// side (sessions) that would give an interval clear of the margin, at the observed
    /// spread and delta.
    pub runs_needed: Option<usize>,
    pub limit: String,
    pub decision: Decision,
    /// Why the decision is what it is, when the numbers alone do not say.
    pub note: Option<String>,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct Units {
    pub kind: &'static str,
    pub baseline: usize,
    pub candidate: usize,
    /// Degrees of freedom borrowed from earlier runs.
    pub prior_df: f64,
    pub df: f64,
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
    /// Run ids of each side (the same interleaved run on both sides in that design).
    pub baseline: Vec<String>,
    pub candidate: Vec<String>,
    pub design: Design,
    /// Earlier runs whose run-to-run variation was used.
    pub history: Vec<String>,
    pub baseline_engine: String,
    pub candidate_engine: String,
    pub thresholds: Thresholds,
    pub checks: Vec<Check>,
    /// Per-layer time and kernel-choice changes, when both runs carry layer information.
    pub layers: Vec<LayerChange>,
    /// Layers present in only one of the runs.
    pub layers_only_in_one: Vec<String>,
    /// See [`Decision::overall`].
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

/// The runs of a `diff`.
#[derive(Debug, Clone, Default)]
pub struct DiffInput {
    pub baseline: Vec<PathBuf>,
    pub candidate: Vec<PathBuf>,
    /// Earlier sealed runs of the same engines for the run-to-run variation. `None`: with
    /// one run per side (or one interleaved session), the sealed runs beside the first
    /// baseline run that hold one of the two engines on the same platform.
    pub history: Option<Vec<PathBuf>>,
}

fn same_dir(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

fn source(dir: &Path, engine: &str) -> Result<latency::Source, DiffError> {
    Ok(latency::Source {
        engine: engine.to_string(),
        rows: read_latencies_csv(&dir.join("latencies.csv"))?,
        wcet: read_json(dir, "wcet.json"),
        blocks: None,
    })
}

/// Why two runs' backends cannot be compared for latency, if they cannot: another backend,
/// or another number of CPU inference threads (`validate --threads`). Library versions,
/// commands and per-engine settings may differ: a runtime upgrade is what `diff` is for.
fn settings_differ(a: &BackendInfo, b: &BackendInfo) -> Option<String> {
    if a.name != b.name {
        return Some(format!("backend {} vs {}", a.name, b.name));
    }
    let threads = |i: &BackendInfo| {
        i.settings
            .iter()
            .find(|(k, _)| k == "threads")
            .map_or_else(|| "not recorded".to_string(), |(_, v)| v.clone())
    };
    let (ta, tb) = (threads(a), threads(b));
    (ta != tb).then(|| format!("threads {ta} vs {tb}"))
}

/// Sealed, intact runs in `dirs` (or beside `near`) holding an engine with one of `shas`
/// on `platform` with the same scenarios' labels, grouped by engine SHA-256.
fn history(
    dirs: Option<&[PathBuf]>,
    near: &Path,
    exclude: &[PathBuf],
    shas: &[&str],
    platform: &str,
    backend: &BackendInfo,
    labels: &BTreeMap<String, String>,
) -> Result<(latency::History, Vec<String>), DiffError> {
    let candidates: Vec<PathBuf> = match dirs {
        Some(d) => d.to_vec(),
        None => {
            let parent = near
                .canonicalize()
                .ok()
                .and_then(|p| p.parent().map(Path::to_path_buf));
            let mut v: Vec<PathBuf> = parent
                .and_then(|p| std::fs::read_dir(p).ok())
                .into_iter()
                .flatten()
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.join("MANIFEST.sha256").is_file() && p.join("run.json").is_file())
                .collect();
            v.sort();
            v
        }
    };
    let explicit = dirs.is_some();
    let mut groups: BTreeMap<String, Vec<latency::Source>> = BTreeMap::new();
    let mut used = Vec::new();
    for dir in candidates {
        if exclude.iter().any(|e| same_dir(e, &dir)) {
            continue;
        }
        // run.json first (cheap), so only runs of these engines are hashed.
        let record = match read_run(&dir) {
            Ok(r) => r,
            Err(e) if explicit => return Err(e.into()),
            Err(_) => continue,
        };
        let relevant = record
            .engines
            .iter()
            .any(|e| shas.contains(&e.sha256.as_str()));
        if !relevant && !explicit {
            continue;
        }
        if !crate::evidence::verify(&dir, None).is_ok_and(|r| r.is_intact()) {
            // Named runs must be usable; runs found beside the baseline may be anything.
            if explicit {
                return Err(DiffError::Compare(CompareError::Tampered {
                    dir: dir.display().to_string(),
                    problems: "not sealed or not intact".into(),
                }));
            }
            continue;
        }
        let same_labels = labels.iter().all(|(id, sha)| {
            record
                .scenarios
                .iter()
                .any(|s| &s.id == id && &s.labels_sha256 == sha)
        });
        if record.platform.name != platform || !same_labels {
            if explicit {
                return Err(DiffError::NotComparable(format!(
                    "history run {} ran on {} or other scenarios; it must match the baseline's platform {platform} and scenarios",
                    dir.display(),
                    record.platform.name
                )));
            }
            continue;
        }
        if let Some(why) = settings_differ(backend, &record.backend) {
            if explicit {
                return Err(DiffError::NotComparable(format!(
                    "history run {} was replayed with other backend settings than the baseline ({why})",
                    dir.display()
                )));
            }
            continue;
        }
        let mut took = false;
        for e in &record.engines {
            if shas.contains(&e.sha256.as_str()) {
                groups
                    .entry(e.sha256.clone())
                    .or_default()
                    .push(source(&dir, &e.name)?);
                took = true;
            }
        }
        if took {
            used.push(record.run_id);
        } else if explicit {
            return Err(DiffError::NotComparable(format!(
                "history run {} holds neither the baseline's nor the candidate's engine",
                dir.display()
            )));
        }
    }
    Ok((
        latency::History {
            groups: groups.into_values().collect(),
        },
        used,
    ))
}

fn not_interleaved(d: &Path) -> DiffError {
    DiffError::NotComparable(format!(
        "{} is both baseline and candidate but was not replayed with `validate --interleave`",
        d.display()
    ))
}

/// The baseline's and the candidate's sources of interleaved sessions, and the two engines'
/// names (the first session's). One session: its blocks are the units. Several: each
/// session's whole trace of an engine is one unit, paired with the other engine's, and its
/// blocks match the two engines in time for the p50's change.
fn sessions(
    dirs: &[PathBuf],
    records: &[adasval_record::record::RunRecord],
) -> Result<(String, String, Vec<latency::Source>, Vec<latency::Source>), DiffError> {
    let sha_of = |r: &adasval_record::record::RunRecord, name: &str| {
        r.engines
            .iter()
            .find(|e| e.name == name)
            .map(|e| e.sha256.clone())
    };
    let first = records
        .first()
        .ok_or_else(|| DiffError::NotComparable("no interleaved session given".into()))?;
    let il0 = first
        .interleave
        .clone()
        .ok_or_else(|| not_interleaved(&dirs[0]))?;
    let shas0 = (sha_of(first, &il0.baseline), sha_of(first, &il0.candidate));
    let (mut base, mut cand) = (Vec::new(), Vec::new());
    for (d, r) in dirs.iter().zip(records) {
        let il = r.interleave.clone().ok_or_else(|| not_interleaved(d))?;
        if (sha_of(r, &il.baseline), sha_of(r, &il.candidate)) != shas0 {
            return Err(DiffError::NotComparable(format!(
                "{} interleaves {} and {}, other engine files than {}'s {} and {}: every session must replay the same baseline and candidate",
                d.display(),
                il.baseline,
                il.candidate,
                dirs[0].display(),
                il0.baseline,
                il0.candidate
            )));
        }
        if let Some(why) = settings_differ(&first.backend, &r.backend) {
            return Err(DiffError::NotComparable(format!(
                "{} and {} were replayed with different backend settings ({why})",
                dirs[0].display(),
                d.display()
            )));
        }
        let mut sb = source(d, &il.baseline)?;
        let mut sc = source(d, &il.candidate)?;
        // Every session keeps its schedule: one session's blocks are its units, and in
        // several sessions adjacent blocks match the two engines in time (latency.rs).
        let blocks = |engine: &str| -> Vec<(String, usize, usize)> {
            il.blocks
                .iter()
                .filter(|b| b.engine == engine)
                .map(|b| (b.scenario.clone(), b.first_sample, b.samples))
                .collect()
        };
        sb.blocks = Some(blocks(&il.baseline));
        sc.blocks = Some(blocks(&il.candidate));
        base.push(sb);
        cand.push(sc);
    }
    Ok((il0.baseline, il0.candidate, base, cand))
}

/// Compare baseline runs with candidate runs (or the two engines of interleaved sessions,
/// given as the same runs on both sides).
pub fn diff(input: &DiffInput, th: &Thresholds) -> Result<DiffReport, DiffError> {
    th.validate()
        .map_err(|m| DiffError::NotComparable(format!("thresholds: {m}")))?;
    let (Some(b0), Some(c0)) = (input.baseline.first(), input.candidate.first()) else {
        return Err(DiffError::NotComparable(
            "give at least one baseline and one candidate run".into(),
        ));
    };
    // The same runs on both sides, in the same order: interleaved sessions, each holding
    // both engines.
    let interleaved = input.baseline.len() == input.candidate.len()
        && input
            .baseline
            .iter()
            .zip(&input.candidate)
            .all(|(b, c)| same_dir(b, c));
    let mut all: Vec<PathBuf> = input.baseline.clone();
    all.extend(input.candidate.iter().cloned());
    let distinct: &[PathBuf] = if interleaved { &input.baseline } else { &all };
    for (i, a) in distinct.iter().enumerate() {
        if distinct[..i].iter().any(|b| same_dir(a, b)) {
            return Err(DiffError::NotComparable(format!(
                "{} is given twice; only an interleaved session may be both baseline and candidate",
                a.display()
            )));
        }
    }
    // Each session's record, read once; a run that is not interleaved is refused before
    // `compare`, whose own complaint would not say why.
    let session_records = if interleaved {
        distinct
            .iter()
            .map(|d| {
                let r = read_run(d)?;
                match r.interleave {
                    Some(_) => Ok(r),
                    None => Err(not_interleaved(d)),
                }
            })
            .collect::<Result<Vec<_>, DiffError>>()?
    } else {
        vec![]
    };
    // Integrity (every run) and comparability (same scenarios and labels) from `compare`;
    // its pairs give the decision flips.
    let cmp = compare(distinct, &Tolerances::default())?;
    let read_b;
    let rb = match session_records.first() {
        Some(r) => r,
        None => {
            read_b = read_run(b0)?;
            &read_b
        }
    };
    let (design, eb, ec, base_sources, cand_sources) = if interleaved {
        let (eb, ec, base, cand) = sessions(&input.baseline, &session_records)?;
        let design = if base.len() == 1 {
            Design::Interleaved
        } else {
            Design::Sessions
        };
        (design, eb, ec, base, cand)
    } else {
        let mut sides = Vec::new();
        let mut shas = Vec::new();
        for (side, dirs) in [
            ("baseline", &input.baseline),
            ("candidate", &input.candidate),
        ] {
            let mut sources = Vec::new();
            let mut sha: Option<String> = None;
            for d in dirs {
                let r = read_run(d)?;
                if let Some(why) = settings_differ(&rb.backend, &r.backend) {
                    return Err(DiffError::NotComparable(format!(
                        "{} and {} were replayed with different backend settings ({why}): a latency change would be the settings' as much as the engine's; replay every run with the same settings (e.g. the same `--threads`)",
                        b0.display(),
                        d.display()
                    )));
                }
                if r.engines.len() != 1 {
                    return Err(DiffError::NotComparable(format!(
                        "{}: each run must hold exactly one engine (replay with --engine NAME), or be one interleaved session given alone",
                        d.display()
                    )));
                }
                let e = &r.engines[0];
                if sha.as_ref().is_some_and(|s| s != &e.sha256) {
                    return Err(DiffError::NotComparable(format!(
                        "the {side} runs hold different engine files ({} in {})",
                        e.name,
                        d.display()
                    )));
                }
                sha = Some(e.sha256.clone());
                sources.push(source(d, &e.name)?);
            }
            sides.push(sources);
            shas.push(sha);
        }
        let cand_sources = sides.pop().unwrap_or_default();
        let base_sources = sides.pop().unwrap_or_default();
        let design = if base_sources.len() == 1 && cand_sources.len() == 1 {
            Design::SingleRuns
        } else {
            Design::Runs
        };
        let (eb, ec) = (
            base_sources[0].engine.clone(),
            cand_sources[0].engine.clone(),
        );
        (design, eb, ec, base_sources, cand_sources)
    };
    let read_c;
    let rc = if interleaved {
        rb
    } else {
        read_c = read_run(c0)?;
        &read_c
    };
    let engine_of = |r: &adasval_record::record::RunRecord, name: &str| {
        r.engines
            .iter()
            .find(|e| e.name == name)
            .map(|e| e.sha256.clone())
            .unwrap_or_default()
    };
    let (shab, shac) = (engine_of(rb, &eb), engine_of(rc, &ec));
    let labels: BTreeMap<String, String> = rb
        .scenarios
        .iter()
        .map(|s| (s.id.clone(), s.labels_sha256.clone()))
        .collect();
    // Several runs per side, or paired sessions, carry their own variance.
    let needs_history = matches!(design, Design::SingleRuns | Design::Interleaved);
    let (hist, history_ids) = if input.history.is_some() || needs_history {
        history(
            input.history.as_deref(),
            b0,
            &all,
            &[&shab, &shac],
            &rb.platform.name,
            &rb.backend,
            &labels,
        )?
    } else {
        (latency::History { groups: vec![] }, vec![])
    };
    let (mb, mc) = (read_json(b0, "metrics.json"), read_json(c0, "metrics.json"));
    // The participant index of the first candidate in `compare` (one engine per run, or
    // the interleaved run's second engine).
    let first_candidate = if interleaved {
        rb.engines.iter().position(|e| e.name == ec).unwrap_or(1)
    } else {
        input.baseline.len()
    };
    let first_baseline = if interleaved {
        rb.engines.iter().position(|e| e.name == eb).unwrap_or(0)
    } else {
        0
    };
    let mut checks = Vec::new();
    for s in &rb.scenarios {
        let id = &s.id;
        // Accuracy: recall and precision per class at IoU 0.5, first run of each side (the
        // detections of a frozen engine do not change from run to run).
        let (cb, cc) = (counts(&mb, &eb, id), counts(&mc, &ec, id));
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
                    margin: None,
                    units: None,
                    runs_needed: None,
                    limit: if th.accuracy_drop == 0.0 {
                        "CI upper bound ≥ 0".to_string()
                    } else {
                        format!("CI upper bound ≥ −{}", th.accuracy_drop)
                    },
                    decision: Decision::of(ci.1 < -th.accuracy_drop),
                    note: None,
                });
            }
        }
        // Decision flips between the first baseline and the first candidate.
        let flips: usize = cmp
            .pairs
            .iter()
            .filter(|p| &p.scenario == id)
            .filter(|p| {
                (p.a, p.b) == (first_baseline, first_candidate)
                    || (p.a, p.b) == (first_candidate, first_baseline)
            })
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
            margin: None,
            units: None,
            runs_needed: None,
            limit: format!("≤ {}", th.max_decision_flips),
            decision: Decision::of(flips > th.max_decision_flips),
            note: None,
        });
        checks.extend(latency::checks(
            id,
            design,
            &base_sources,
            &cand_sources,
            &hist,
            th,
        ));
    }
    latency::family_wise(&mut checks, th);
    let decision = Decision::overall(&checks);
    let (layers, layers_only_in_one) = if interleaved {
        (vec![], vec![])
    } else {
        layer_changes(b0, c0)
    };
    let ids = |dirs: &[PathBuf]| -> Result<Vec<String>, DiffError> {
        dirs.iter().map(|d| Ok(read_run(d)?.run_id)).collect()
    };
    let sha12 = |s: &str| s.get(..12).unwrap_or(s).to_string();
    Ok(DiffReport {
        layers,
        layers_only_in_one,
        baseline: ids(&input.baseline)?,
        candidate: ids(&input.candidate)?,
        design,
        history: history_ids,
        baseline_engine: format!("{eb}@{}", sha12(&shab)),
        candidate_engine: format!("{ec}@{}", sha12(&shac)),
        thresholds: th.clone(),
        checks,
        decision,
    })
}
