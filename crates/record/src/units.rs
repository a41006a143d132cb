//! Which units (boards) contributed the samples of a trace. A merged farm run
//! (`adasval merge`) records them per item in `run.json`'s `settings.effective.traces[]`
//! (`units`, and `pooling` when several units of one platform were pooled after a
//! homogeneity test); a run on one machine has one unit, its fingerprint's host.
//! `wcet` and the timing judgement read them here, so every WCET output names its units.

use serde::{Deserialize, Serialize};

/// One board that contributed samples to a trace.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TraceUnit {
    pub hostname: String,
    /// The board's serial number; `None` when the run did not record one.
    #[serde(default)]
    pub serial: Option<String>,
    pub platform: String,
    /// Samples of this trace that this unit measured.
    pub samples: usize,
    /// The shard (`K/N`) it ran, for a merged run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<String>,
}

impl TraceUnit {
    /// `host (serial S)`, or `host (no serial recorded)`.
    pub fn label(&self) -> String {
        match &self.serial {
            Some(s) => format!("{} (serial {s})", self.hostname),
            None => format!("{} (no serial recorded)", self.hostname),
        }
    }
}

/// The homogeneity test that allowed several units' samples to be pooled into one trace.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PoolTest {
    /// `kruskal-wallis`.
    pub test: String,
    /// The stage whose latencies were tested (`infer`).
    pub stage: String,
    /// H, corrected for ties.
    pub statistic: f64,
    /// Degrees of freedom (units − 1).
    pub df: usize,
    pub p_value: f64,
    pub alpha: f64,
}

/// The units recorded for one trace (`settings.effective` of `run.json`) and their pooling
/// test; empty when the record names none.
pub fn recorded(
    effective: &serde_json::Value,
    engine: &str,
    scenario: &str,
) -> (Vec<TraceUnit>, Option<PoolTest>) {
    let Some(entry) = effective
        .get("traces")
        .and_then(|t| t.as_array())
        .and_then(|a| {
            a.iter()
                .find(|x| x["engine"] == engine && x["scenario"] == scenario)
        })
    else {
        return (Vec::new(), None);
    };
    let units = entry
        .get("units")
        .and_then(|u| serde_json::from_value::<Vec<TraceUnit>>(u.clone()).ok())
        .unwrap_or_default();
    let pooling = entry
        .get("pooling")
        .and_then(|p| serde_json::from_value::<PoolTest>(p.clone()).ok());
    (units, pooling)
}

/// The units of a trace: the recorded ones, else the one machine the run's fingerprint
/// names (its serial is not part of a plain run's record).
pub fn of_trace(
    effective: Option<&serde_json::Value>,
    host: Option<&str>,
    platform: &str,
    engine: &str,
    scenario: &str,
    samples: usize,
) -> (Vec<TraceUnit>, Option<PoolTest>) {
    let (units, pooling) = effective
        .map(|e| recorded(e, engine, scenario))
        .unwrap_or_default();
    if !units.is_empty() {
        return (units, pooling);
    }
    let units = host
        .map(|h| {
            vec![TraceUnit {
                hostname: h.to_string(),
                serial: None,
                platform: platform.to_string(),
                samples,
                shard: None,
            }]
        })
        .unwrap_or_default();
    (units, None)
}

/// One line for a report: which units, and how they were pooled.
pub fn describe(units: &[TraceUnit], pooling: Option<&PoolTest>) -> String {
    if units.is_empty() {
        return "units: not recorded in run.json".into();
    }
    let list: Vec<String> = units
        .iter()
        .map(|u| format!("{}, {} samples", u.label(), u.samples))
        .collect();
    let mut s = format!("units: {}", list.join("; "));
    if let Some(p) = pooling {
        s += &format!(
            ". Pooled after a {} test on `{}` latencies: H = {:.3}, df = {}, p = {:.4} ≥ α = {}",
            p.test, p.stage, p.statistic, p.df, p.p_value, p.alpha
        );
    }
    s
}
