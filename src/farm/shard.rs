//! Deterministic shards of a validation's work list: which (engine, scenario) items the
//! K-th of N shards runs. An item goes to a shard by a stable hash of its id (as
//! `cargo nextest --partition hash:K/N`), or by a cost-balanced plan written from an
//! earlier run's timings (`adasval shard plan`), so every board of a farm, given the same
//! project and the same `K/N`, runs exactly the same items with no coordinator.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::FarmError;

/// `K/N`: the K-th (1-based) of N shards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardSpec {
    pub index: u32,
    pub count: u32,
}

impl ShardSpec {
    /// `K/N` or `hash:K/N`; K outside 1..=N is bad usage.
    pub fn parse(text: &str) -> Result<ShardSpec, FarmError> {
        let bad = |why: &str| FarmError::Spec {
            spec: text.to_string(),
            reason: why.to_string(),
        };
        let t = text.trim();
        let t = t.strip_prefix("hash:").unwrap_or(t);
        let (k, n) = t
            .split_once('/')
            .ok_or_else(|| bad("expected K/N, e.g. 2/4"))?;
        let k: u32 = k
            .trim()
            .parse()
            .map_err(|_| bad("K is not a whole number"))?;
        let n: u32 = n
            .trim()
            .parse()
            .map_err(|_| bad("N is not a whole number"))?;
        if n == 0 {
            return Err(bad("N must be at least 1"));
        }
        if k == 0 || k > n {
            return Err(bad(&format!("K must be in 1..={n}")));
        }
        Ok(ShardSpec { index: k, count: n })
    }
}

impl fmt::Display for ShardSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// One unit of work: one engine replaying one scenario on the board's platform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkItem {
    pub engine: String,
    pub engine_sha256: String,
    pub scenario: String,
    pub scenario_sha256: String,
}

impl WorkItem {
    /// `engine/scenario` (names never hold a `/`).
    pub fn id(&self) -> String {
        format!("{}/{}", self.engine, self.scenario)
    }
}

/// The full (engine × scenario) list of a validation, in replay order (scenario by
/// scenario, engines in lock order), and its hash: the identity every shard records and
/// `merge` compares. The hash covers the engines' and scenarios' content hashes, so two
/// shards of the same names but different files never count as one work list. The list
/// is the product of its engines and scenarios, so it is stored as those two lists.
#[derive(Debug, Clone)]
pub struct WorkList {
    /// (name, SHA-256) of each engine, in lock order.
    pub engines: Vec<(String, String)>,
    /// (id, SHA-256) of each scenario, in replay order.
    pub scenarios: Vec<(String, String)>,
    /// Every (engine, scenario) pair, scenario by scenario.
    pub items: Vec<WorkItem>,
}

impl WorkList {
    pub fn new(engines: Vec<(String, String)>, scenarios: Vec<(String, String)>) -> WorkList {
        let mut items = Vec::with_capacity(engines.len() * scenarios.len());
        for (s, ssha) in &scenarios {
            for (e, esha) in &engines {
                items.push(WorkItem {
                    engine: e.clone(),
                    engine_sha256: esha.clone(),
                    scenario: s.clone(),
                    scenario_sha256: ssha.clone(),
                });
            }
        }
        WorkList {
            engines,
            scenarios,
            items,
        }
    }

    /// The text that is hashed and kept in each shard directory as `worklist.txt`: one
    /// line `engine NAME SHA256` per engine, then one `scenario ID SHA256` per scenario.
    pub fn text(&self) -> String {
        let mut s = String::with_capacity((self.engines.len() + self.scenarios.len()) * 100);
        for (n, h) in &self.engines {
            s.push_str(&format!("engine {n} {h}\n"));
        }
        for (n, h) in &self.scenarios {
            s.push_str(&format!("scenario {n} {h}\n"));
        }
        s
    }

    pub fn sha256(&self) -> String {
        crate::hash::sha256_hex(self.text().as_bytes())
    }

    /// Read back `worklist.txt`.
    pub fn parse(path: &Path, text: &str) -> Result<WorkList, FarmError> {
        let (mut engines, mut scenarios) = (Vec::new(), Vec::new());
        for (n, line) in text.lines().enumerate() {
            let bad = |why: String| FarmError::Format {
                path: path.to_path_buf(),
                reason: format!("line {}: {why}", n + 1),
            };
            let f: Vec<&str> = line.split(' ').collect();
            if f.len() != 3 {
                return Err(bad(format!(
                    "expected `engine|scenario NAME SHA256`, found {} fields",
                    f.len()
                )));
            }
            let pair = (f[1].to_string(), f[2].to_string());
            match f[0] {
                "engine" if scenarios.is_empty() => engines.push(pair),
                "scenario" => scenarios.push(pair),
                other => return Err(bad(format!("unexpected `{other}` line"))),
            }
        }
        Ok(WorkList::new(engines, scenarios))
    }
}

/// Stable hash partition: the first 8 bytes of the SHA-256 of the item id, modulo N.
pub fn hash_shard(id: &str, count: u32) -> u32 {
    let digest = crate::hash::sha256_hex(id.as_bytes());
    let v = u64::from_str_radix(&digest[..16], 16).unwrap_or(0);
    (v % count as u64) as u32 + 1
}

/// A cost-balanced assignment of items to shards (`adasval shard plan`), for one work list.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ShardPlan {
    pub schema_version: u32,
    pub shards: u32,
    pub work_list_sha256: String,
    /// Where the costs came from.
    pub source_run: String,
    /// Item id → shard (1-based).
    pub assignment: BTreeMap<String, u32>,
    /// Expected cost per item, nanoseconds (measured, or the median of measured items
    /// for an item the run did not have).
    pub cost_ns: BTreeMap<String, u64>,
    /// Expected total cost of each shard, nanoseconds.
    pub shard_cost_ns: Vec<u64>,
}

impl ShardPlan {
    pub fn load(path: &Path) -> Result<(ShardPlan, String), FarmError> {
        let bytes = std::fs::read(path).map_err(|e| FarmError::Read {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        let plan: ShardPlan = serde_json::from_slice(&bytes).map_err(|e| FarmError::Format {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        Ok((plan, crate::hash::sha256_hex(&bytes)))
    }

    /// Largest-cost-first greedy balancing: each item, costliest first, goes to the shard
    /// with the least cost so far (ties by item id, then shard number, so it is
    /// deterministic).
    pub fn balance(
        list: &WorkList,
        shards: u32,
        measured: &BTreeMap<String, u64>,
        source_run: String,
    ) -> ShardPlan {
        let mut known: Vec<u64> = measured.values().copied().collect();
        known.sort_unstable();
        let fallback = known.get(known.len() / 2).copied().unwrap_or(1);
        let mut cost: BTreeMap<String, u64> = BTreeMap::new();
        for i in &list.items {
            let id = i.id();
            let c = measured.get(&id).copied().unwrap_or(fallback);
            cost.insert(id, c);
        }
        let mut order: Vec<(&String, &u64)> = cost.iter().collect();
        order.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let mut load = vec![0u64; shards as usize];
        let mut assignment = BTreeMap::new();
        for (id, c) in order {
            let (k, _) = load
                .iter()
                .enumerate()
                .min_by_key(|(k, l)| (**l, *k))
                .unwrap_or((0, &0));
            load[k] += *c;
            assignment.insert(id.clone(), k as u32 + 1);
        }
        ShardPlan {
            schema_version: 1,
            shards,
            work_list_sha256: list.sha256(),
            source_run,
            assignment,
            cost_ns: cost,
            shard_cost_ns: load,
        }
    }
}

/// How a shard picks its items: by hash, or by a plan.
#[derive(Debug, Clone, Serialize)]
pub struct ShardSelection {
    pub spec: ShardSpec,
    /// `--shard-plan`: the file and its SHA-256.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan_file: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan_sha256: Option<String>,
    #[serde(skip)]
    pub plan: Option<ShardPlan>,
}

impl ShardSelection {
    pub fn by_hash(spec: ShardSpec) -> Self {
        ShardSelection {
            spec,
            plan_file: None,
            plan_sha256: None,
            plan: None,
        }
    }

    pub fn with_plan(spec: ShardSpec, path: &Path) -> Result<Self, FarmError> {
        let (plan, sha) = ShardPlan::load(path)?;
        if plan.shards != spec.count {
            return Err(FarmError::Spec {
                spec: spec.to_string(),
                reason: format!(
                    "the plan {} divides the work into {} shards, not {}",
                    path.display(),
                    plan.shards,
                    spec.count
                ),
            });
        }
        Ok(ShardSelection {
            spec,
            plan_file: Some(path.to_path_buf()),
            plan_sha256: Some(sha),
            plan: Some(plan),
        })
    }

    /// `hash` or `plan`.
    pub fn strategy(&self) -> &'static str {
        if self.plan.is_some() {
            "plan"
        } else {
            "hash"
        }
    }

    /// The items of `list` this shard runs, in work-list order. With a plan, the plan must
    /// be for this very work list.
    pub fn select<'a>(&self, list: &'a WorkList) -> Result<Vec<&'a WorkItem>, FarmError> {
        match &self.plan {
            None => Ok(list
                .items
                .iter()
                .filter(|i| hash_shard(&i.id(), self.spec.count) == self.spec.index)
                .collect()),
            Some(plan) => {
                let sha = list.sha256();
                if plan.work_list_sha256 != sha {
                    return Err(FarmError::Differs {
                        field: "work_list_sha256".into(),
                        first: format!(
                            "{} (plan {})",
                            plan.work_list_sha256,
                            self.plan_file
                                .as_deref()
                                .map(|p| p.display().to_string())
                                .unwrap_or_default()
                        ),
                        second: format!("{sha} (this project's work list)"),
                    });
                }
                let mut out = Vec::new();
                for i in &list.items {
                    match plan.assignment.get(&i.id()) {
                        Some(&k) if k == self.spec.index => out.push(i),
                        Some(_) => {}
                        None => {
                            return Err(FarmError::Format {
                                path: self.plan_file.clone().unwrap_or_default(),
                                reason: format!("the plan does not assign item `{}`", i.id()),
                            })
                        }
                    }
                }
                Ok(out)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(engines: usize, scenarios: usize) -> WorkList {
        WorkList::new(
            (0..engines)
                .map(|e| (format!("e{e}"), "a".repeat(64)))
                .collect(),
            (0..scenarios)
                .map(|s| (format!("s{s}"), "b".repeat(64)))
                .collect(),
        )
    }

    #[test]
    fn a_work_list_reads_back_as_written() {
        let l = list(3, 5);
        let back = WorkList::parse(Path::new("worklist.txt"), &l.text()).unwrap();
        assert_eq!(back.items, l.items);
        assert_eq!(back.sha256(), l.sha256());
        let e = WorkList::parse(Path::new("w.txt"), "engine a b\nbogus a b\n").unwrap_err();
        assert!(e.to_string().contains("w.txt: line 2"), "{e}");
    }

    #[test]
    fn specs_parse_and_k_outside_range_is_refused() {
        assert_eq!(
            ShardSpec::parse("2/4").unwrap(),
            ShardSpec { index: 2, count: 4 }
        );
        assert_eq!(
            ShardSpec::parse("hash:4/4").unwrap(),
            ShardSpec { index: 4, count: 4 }
        );
        for bad in ["0/4", "5/4", "1/0", "x/2", "3", "-1/2", ""] {
            let e = ShardSpec::parse(bad).unwrap_err();
            assert_eq!(
                crate::exit::Classify::status(&e),
                crate::exit::Status::BadInput,
                "{bad}"
            );
        }
    }

    /// Every item lands in exactly one shard, for every N.
    #[test]
    fn hash_shards_cover_every_item_exactly_once() {
        let l = list(3, 37);
        for n in 1..=9u32 {
            let mut seen = std::collections::BTreeMap::new();
            for k in 1..=n {
                let sel = ShardSelection::by_hash(ShardSpec { index: k, count: n });
                for i in sel.select(&l).unwrap() {
                    *seen.entry(i.id()).or_insert(0) += 1;
                }
            }
            assert_eq!(seen.len(), l.items.len(), "n={n}");
            assert!(seen.values().all(|&c| c == 1), "n={n}");
        }
    }

    #[test]
    fn a_balanced_plan_covers_every_item_and_beats_the_worst_case() {
        let l = list(2, 10);
        let mut measured = BTreeMap::new();
        for (k, i) in l.items.iter().enumerate() {
            measured.insert(i.id(), if k == 0 { 1000 } else { 10 });
        }
        let plan = ShardPlan::balance(&l, 4, &measured, "r".into());
        assert_eq!(plan.assignment.len(), l.items.len());
        // The one costly item sits alone on its shard.
        let big = plan.assignment[&l.items[0].id()];
        assert_eq!(plan.assignment.values().filter(|&&k| k == big).count(), 1);
        assert_eq!(plan.shard_cost_ns.iter().sum::<u64>(), 1000 + 19 * 10);
    }
}
