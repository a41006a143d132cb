//! Units (boards) of one platform in a merge. Each item normally runs on one unit, so its
//! trace and its pWCET come from that unit alone. When several units of one platform ran
//! the same items (the study's unit-to-unit question), their samples are pooled only on
//! request (`merge --pool-units`) and only when a Kruskal–Wallis test on the `infer`
//! latencies finds no difference between the units; otherwise the merge is refused and
//! says how to keep the units apart (docs/FARM.md).

use std::collections::{BTreeMap, HashMap};

use super::merge::Shard;
use super::{Board, FarmError};
use crate::record::{read_latencies_csv, LatencyRow};
use crate::units::{PoolTest, TraceUnit};
use crate::wcet::homogeneity::kruskal_wallis;

/// The stage whose latencies decide whether units may be pooled: the one pWCET bounds.
pub const POOL_STAGE: &str = "infer";

/// A unit's identity: its hostname and serial number.
pub fn unit_key(b: &Board) -> (&str, Option<&str>) {
    (b.hostname.as_str(), b.serial.as_deref())
}

/// `host (serial S)` or `host (no serial)`.
pub fn unit_label(b: &Board) -> String {
    match &b.serial {
        Some(s) => format!("{} (serial {s})", b.hostname),
        None => format!("{} (no serial)", b.hostname),
    }
}

/// The unit of shard `s` as it contributed `samples` samples to a trace.
pub fn trace_unit(s: &Shard, samples: usize) -> TraceUnit {
    TraceUnit {
        hostname: s.record.board.hostname.clone(),
        serial: s.record.board.serial.clone(),
        platform: s.record.platform.clone(),
        samples,
        shard: Some(s.record.shard.to_string()),
    }
}

/// What pooling found: the test of each pooled item and the latency rows of the shards
/// that hold pooled items (to summarise the pooled traces).
#[derive(Default)]
pub struct Pooled {
    pub tests: BTreeMap<String, PoolTest>,
    pub rows: HashMap<usize, Vec<LatencyRow>>,
}

impl Pooled {
    /// The rows of `item` (`engine/scenario`) that shard `k` measured.
    pub fn rows_of<'a>(&'a self, k: usize, item: &'a str) -> impl Iterator<Item = &'a LatencyRow> {
        self.rows
            .get(&k)
            .into_iter()
            .flatten()
            .filter(move |r| format!("{}/{}", r.engine, r.scenario) == item)
    }
}

/// Pooling keeps one trace per item, so it cannot hold what is per-stream or per-unit
/// output: refuse those settings before anything is read.
pub fn check_poolable(shards: &[Shard]) -> Result<(), FarmError> {
    let settings = &shards[0].record.replay_settings;
    let streams = settings
        .get("streams")
        .and_then(|v| v.as_u64())
        .unwrap_or(1);
    let outputs = settings
        .get("keep_raw_outputs")
        .and_then(|v| v.as_bool())
        .unwrap_or(false);
    if streams > 1 || outputs {
        return Err(FarmError::Spec {
            spec: "--pool-units".into(),
            reason: format!(
                "pooling units is not available for shards run with {} (each unit's samples would have to stay apart); merge each unit's shards separately",
                if streams > 1 { "--streams > 1" } else { "--save-outputs" }
            ),
        });
    }
    Ok(())
}

/// Test every item that several units ran (`owners`: item → shard indices, one per unit);
/// exit 1 listing the items whose units differ at level `alpha`.
pub fn test_units(
    owners: &BTreeMap<String, Vec<usize>>,
    shards: &[Shard],
    alpha: f64,
    platform: &str,
) -> Result<Pooled, FarmError> {
    let mut pooled = Pooled::default();
    for ks in owners.values().filter(|v| v.len() > 1) {
        for &k in ks {
            if let std::collections::hash_map::Entry::Vacant(e) = pooled.rows.entry(k) {
                e.insert(read_latencies_csv(&shards[k].dir.join("latencies.csv"))?);
            }
        }
    }
    let mut differ = Vec::new();
    for (item, ks) in owners.iter().filter(|(_, v)| v.len() > 1) {
        let groups: Vec<Vec<f64>> = ks
            .iter()
            .map(|&k| {
                pooled
                    .rows_of(k, item)
                    .map(|r| r.sample.infer_ns as f64)
                    .collect()
            })
            .collect();
        let refs: Vec<&[f64]> = groups.iter().map(Vec::as_slice).collect();
        let Some(kw) = kruskal_wallis(&refs) else {
            differ.push(format!(
                "{item}: a unit has no samples of it, nothing to compare"
            ));
            continue;
        };
        let per_unit: Vec<String> = ks
            .iter()
            .zip(&groups)
            .map(|(&k, g)| {
                let ns: Vec<u64> = g.iter().map(|&v| v as u64).collect();
                format!(
                    "{}: n = {}, median {:.3} ms",
                    unit_label(&shards[k].record.board),
                    g.len(),
                    crate::timing::summarize(&ns).p50 / 1e6
                )
            })
            .collect();
        if kw.p_value < alpha {
            differ.push(format!(
                "{item}: H = {:.3}, df = {}, p = {:.3e} < {alpha} ({})",
                kw.statistic,
                kw.df,
                kw.p_value,
                per_unit.join("; ")
            ));
        } else {
            pooled.tests.insert(
                item.clone(),
                PoolTest {
                    test: "kruskal-wallis".into(),
                    stage: POOL_STAGE.into(),
                    statistic: kw.statistic,
                    df: kw.df,
                    p_value: kw.p_value,
                    alpha,
                },
            );
        }
    }
    if differ.is_empty() {
        Ok(pooled)
    } else {
        Err(FarmError::UnitsDiffer {
            platform: platform.to_string(),
            alpha,
            items: differ,
        })
    }
}
