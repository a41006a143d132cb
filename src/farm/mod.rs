//! Validation across a device farm: a validation's work list cut into deterministic
//! shards (`validate --shard K/N`), each shard's run directory recording what it belongs
//! to and sealed on its own (`shard.json`, `worklist.txt`), and `merge`, which checks that
//! shards belong together and ran every item exactly once, then writes one run directory
//! judged by the same `analysis::run` as any other (docs/FARM.md). Scheduling is left to
//! the farm's own scheduler (Slurm, Kubernetes, CI matrices: `deploy/`).

pub mod merge;
pub mod pool;
pub mod shard;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::exit::{Classify, Status};

/// File names a shard adds to its run directory.
pub const SHARD_FILE: &str = "shard.json";
pub const WORKLIST_FILE: &str = "worklist.txt";

#[derive(Debug, thiserror::Error)]
pub enum FarmError {
    #[error("shard `{spec}`: {reason}")]
    Spec { spec: String, reason: String },
    #[error("{path}: {message}")]
    Read { path: PathBuf, message: String },
    #[error("{path}: {reason}")]
    Format { path: PathBuf, reason: String },
    /// Shards that do not belong together: the field and both values.
    #[error("shards do not belong together: {field} differs: {first} vs {second}")]
    Differs {
        field: String,
        first: String,
        second: String,
    },
    /// A shard's seal does not hold.
    #[error("shard {shard}: integrity failure: {}", problems.join("; "))]
    Tampered {
        shard: PathBuf,
        problems: Vec<String>,
    },
    /// Items missing, run more than once by one unit, or run by several units of one
    /// platform without `--pool-units`.
    #[error("{}", coverage_message(platform, missing, duplicated, units))]
    Coverage {
        platform: String,
        missing: Vec<String>,
        duplicated: Vec<String>,
        units: Vec<String>,
    },
    /// `--pool-units`: the units of one platform differ, so their samples stay apart.
    #[error(
        "platform `{platform}`: the units differ (Kruskal–Wallis on the infer latencies, level {alpha}), so their samples are not pooled: {}. Merge each unit's shards separately to keep per-unit bounds",
        items.join("; ")
    )]
    UnitsDiffer {
        platform: String,
        alpha: f64,
        items: Vec<String>,
    },
    #[error("cannot write {path}: {message}")]
    Write { path: PathBuf, message: String },
    #[error(transparent)]
    Evidence(#[from] crate::evidence::EvidenceError),
    #[error(transparent)]
    Record(#[from] crate::record::RecordError),
    #[error(transparent)]
    RunDir(#[from] crate::rundir::RunDirError),
}

fn coverage_message(
    platform: &str,
    missing: &[String],
    duplicated: &[String],
    units: &[String],
) -> String {
    let mut s =
        format!("the shards of platform `{platform}` do not cover the work list exactly once:");
    if !missing.is_empty() {
        s += &format!(
            " {} item(s) missing (re-run their shard with `validate --shard K/N` into a fresh directory, then merge again): {}.",
            missing.len(),
            missing.join(", ")
        );
    }
    if !duplicated.is_empty() {
        s += &format!(
            " {} item(s) ran more than once (pass each shard once): {}.",
            duplicated.len(),
            duplicated.join(", ")
        );
    }
    if !units.is_empty() {
        s += &format!(
            " {} item(s) ran on several units of this platform, whose samples are never pooled silently (merge each unit's shards separately for per-unit bounds, or pass --pool-units to pool them after a Kruskal–Wallis homogeneity test): {}.",
            units.len(),
            units.join(", ")
        );
    }
    s
}

impl Classify for FarmError {
    fn status(&self) -> Status {
        match self {
            FarmError::Spec { .. }
            | FarmError::Read { .. }
            | FarmError::Format { .. }
            | FarmError::Differs { .. } => Status::BadInput,
            FarmError::Tampered { .. } => Status::Integrity,
            FarmError::Coverage { .. } | FarmError::UnitsDiffer { .. } => Status::GateFailed,
            FarmError::Write { .. } => Status::Unavailable,
            FarmError::Evidence(e) => e.status(),
            FarmError::Record(e) => e.status(),
            FarmError::RunDir(e) => e.status(),
        }
    }
}

/// Which board ran a shard.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Board {
    pub hostname: String,
    /// The board's serial number, when it can be read.
    pub serial: Option<String>,
    /// Where the serial came from, or why there is none.
    pub serial_source: String,
    pub device_model: Option<String>,
    pub cpu_model: String,
    /// The platform profile the shard ran under.
    pub platform: String,
}

impl Board {
    pub fn of(fp: &crate::platform::Fingerprint, platform: &str) -> Board {
        let dt = Path::new("/proc/device-tree/serial-number");
        let from_dt = std::fs::read(dt).ok().map(|b| {
            String::from_utf8_lossy(&b)
                .trim_matches(char::from(0))
                .trim()
                .to_string()
        });
        let (serial, serial_source) = match (from_dt, std::env::var("ADASVAL_BOARD_SERIAL")) {
            (Some(s), _) if !s.is_empty() => (Some(s), dt.display().to_string()),
            (_, Ok(s)) if !s.trim().is_empty() => {
                (Some(s.trim().to_string()), "ADASVAL_BOARD_SERIAL".into())
            }
            _ => (
                None,
                "not available: no /proc/device-tree/serial-number and ADASVAL_BOARD_SERIAL unset"
                    .into(),
            ),
        };
        Board {
            hostname: fp.hostname.clone(),
            serial,
            serial_source,
            device_model: fp.device_model.clone(),
            cpu_model: fp.cpu_model.clone(),
            platform: platform.to_string(),
        }
    }
}

/// `shard.json`: what a shard is part of. Every field but `shard`, `items`, `board` and
/// `run_id` must be equal across the shards of one merge.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ShardRecord {
    pub schema_version: u32,
    pub shard: shard::ShardSpec,
    /// `hash` or `plan`.
    pub strategy: String,
    #[serde(default)]
    pub plan_sha256: Option<String>,
    pub work_list_sha256: String,
    pub work_list_items: usize,
    /// Ids (`engine/scenario`) of the items this shard ran, in work-list order.
    pub items: Vec<String>,
    pub lock_sha256: String,
    /// SHA-256 of the requirements the run is to be judged on (absent: none found).
    pub requirements_sha256: Option<String>,
    pub adasval_version: String,
    pub platform: String,
    /// The settings that change what is replayed (backend, repetitions, order, seed, ...).
    pub replay_settings: serde_json::Value,
    pub board: Board,
    pub run_id: String,
}

/// The requested settings that decide what a shard measures; paths and the shard itself
/// are left out, since they legitimately differ between boards.
pub fn replay_settings(requested: &serde_json::Value) -> serde_json::Value {
    const KEYS: [&str; 14] = [
        "backend",
        "max_frames",
        "repetitions",
        "warmup",
        "bounds",
        "order",
        "seed",
        "pace",
        "streams",
        "interleave",
        "block_repetitions",
        "keep_raw_outputs",
        "safety_view",
        "cuda_force",
    ];
    let mut m = serde_json::Map::new();
    for k in KEYS {
        if let Some(v) = requested.get(k) {
            m.insert(k.to_string(), v.clone());
        }
    }
    serde_json::Value::Object(m)
}

/// SHA-256 of a file's bytes, `None` when it does not exist.
pub fn file_sha256(path: &Path) -> Result<Option<String>, FarmError> {
    match std::fs::read(path) {
        Ok(b) => Ok(Some(crate::hash::sha256_hex(&b))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(FarmError::Read {
            path: path.to_path_buf(),
            message: e.to_string(),
        }),
    }
}

/// The requirements file a run is judged on: the given one, else the project's.
pub fn requirements_path(root: &Path, given: Option<&Path>) -> PathBuf {
    given
        .map(Path::to_path_buf)
        .unwrap_or_else(|| root.join("safety-case/requirements.yaml"))
}

pub(crate) fn write_file(path: &Path, bytes: &[u8]) -> Result<(), FarmError> {
    crate::atomic::write_atomic(path, bytes).map_err(|e| FarmError::Write {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}
