//! `evidence.json`: the flat list of measured figures a run produced, stored in the run
//! directory so that `gate` can re-evaluate requirements without recomputing anything.
//!
//! `validate` fills it from its results (detection metrics, timing bounds, cross-engine
//! comparisons, lock checks); `safety::verdict` reads it.

use serde::{Deserialize, Serialize};
use std::path::Path;

use super::EvidenceError;

/// File name of the evidence set inside a run directory.
pub const EVIDENCE_FILE: &str = "evidence.json";
/// Current `schema_version` of [`EvidenceSet`].
pub const EVIDENCE_SCHEMA_VERSION: u32 = 1;

/// Everything measured in one run, plus whether the run finished and whether every engine
/// and adapter matched its lock entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvidenceSet {
    pub schema_version: u32,
    /// The run's id, as in run.json (informative).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    pub run: RunStatus,
    pub integrity: IntegrityStatus,
    pub items: Vec<EvidenceItem>,
    /// Scenario classes an engine of the run cannot detect (its adapter's
    /// `scenario_classes` maps nothing onto them): requirements on them are not applicable
    /// to that engine. Absent when every engine is judged in its own classes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_detectable: Vec<NotDetectable>,
    /// The adasval binary that judged the run and wrote this file (absent in files
    /// written before it was kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool: Option<adasval_record::tool::ToolIdentity>,
}

/// One scenario class one engine cannot detect, as its run recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotDetectable {
    pub engine: String,
    pub engine_sha256: String,
    pub platform: String,
    pub class: String,
    /// The adapter's map that leaves the class out (`{pedestrian: person, ...}`).
    pub scenario_classes: String,
}

/// Whether the run covered everything it was asked to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunStatus {
    pub complete: bool,
    /// Why the run is incomplete (interrupted, backend failure, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Lock checks of the engines and adapters used by the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntegrityStatus {
    /// True when every check below passed (and there is at least one).
    pub verified: bool,
    pub checks: Vec<IntegrityCheck>,
}

impl IntegrityStatus {
    pub fn from_checks(checks: Vec<IntegrityCheck>) -> Self {
        Self {
            verified: !checks.is_empty() && checks.iter().all(|c| c.ok()),
            checks,
        }
    }
}

/// One hashed file (engine binary or adapter) compared with its lock entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntegrityCheck {
    /// Engine name (for an adapter: the engine it belongs to).
    pub engine: String,
    pub artefact: IntegrityArtefact,
    /// Path as recorded (relative to the project root).
    pub path: String,
    pub expected_sha256: String,
    /// `None` when the file could not be read.
    pub actual_sha256: Option<String>,
}

impl IntegrityCheck {
    pub fn ok(&self) -> bool {
        self.actual_sha256.as_deref() == Some(self.expected_sha256.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IntegrityArtefact {
    Engine,
    Adapter,
}

/// Which family of requirement a measured figure can support.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceKind {
    Detection,
    Timing,
    Consistency,
}

/// One measured figure for one scenario × engine × platform (× class).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvidenceItem {
    pub kind: EvidenceKind,
    /// Metric name, see docs/EVIDENCE.md (e.g. `recall_lcb`, `pwcet_ucb_ms`, `hwm_ms`,
    /// `decision_flips`, `critical_misses`).
    pub metric: String,
    pub scenario: String,
    #[serde(default)]
    pub scenario_tags: Vec<String>,
    pub engine: String,
    pub engine_sha256: String,
    pub platform: String,
    /// The second engine/platform of a consistency comparison.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compared_with: Option<Counterpart>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iou: Option<f64>,
    /// Exceedance probability per frame (pWCET items).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
    /// The figure; `null` when there is none, with the reason in `no_value`.
    pub value: Option<f64>,
    /// Why there is no figure (e.g. the pWCET analysis refused a bound, and why).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_value: Option<String>,
    /// The scenario's deadline, for timing items.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline_ms: Option<f64>,
    /// Files (relative to the run directory) the figure was computed from or reported in.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub artefacts: Vec<ArtefactRef>,
    /// For `detection_ttc_s` items: which target, family and stable-detection rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttc: Option<TtcItem>,
    /// For the figures of a requirement that names a slice: the slice, its rule and the
    /// counts the figure was computed from (so figures pool over scenarios exactly).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slice: Option<SliceItem>,
}

/// What a slice figure was taken on: the slice with its rule for unmatched detections
/// outside it, in data and in words, and the counts behind the figure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SliceItem {
    pub slice: crate::metrics::slice::Slice,
    /// The slice and its rule in words, as every output prints them beside the figure.
    pub rule: String,
    /// Frames in the slice (frames of another condition left out).
    pub frames: usize,
    /// Objects that count.
    pub objects: u64,
    pub tp: u64,
    pub fp: u64,
    #[serde(rename = "fn")]
    pub fn_: u64,
    /// Critical misses among the slice's objects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub critical_misses: Option<usize>,
}

impl SliceItem {
    /// The counts in words: `tp 8, fp 1, fn 2 over 10 objects in 40 frames`.
    pub fn counts(&self) -> String {
        format!(
            "tp {}, fp {}, fn {} over {} objects in {} frames",
            self.tp, self.fp, self.fn_, self.objects, self.frames
        )
    }
}

/// What a `detection_ttc_s` item measured: one target of one scenario instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TtcItem {
    /// The family the instance belongs to (the scenario itself when it has none).
    pub family: String,
    pub track_id: u64,
    /// The stable-detection rule's id (`k3n4-p99-iou0.5`).
    pub rule: String,
    /// First frame of stable detection; `None`: never stably detected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_stable_frame: Option<usize>,
    pub latency_ms: f64,
}

/// The other side of a cross-engine or cross-platform comparison.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Counterpart {
    pub engine: String,
    pub engine_sha256: String,
    pub platform: String,
}

/// A file in the run directory, with its hash at the time the figure was recorded.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArtefactRef {
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

impl EvidenceSet {
    /// Read and check `evidence.json`.
    pub fn load(path: &Path) -> Result<Self, EvidenceError> {
        let bytes = std::fs::read(path).map_err(|source| EvidenceError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let set: Self = serde_json::from_slice(&bytes).map_err(|source| EvidenceError::Json {
            path: path.to_path_buf(),
            source,
        })?;
        if set.schema_version != EVIDENCE_SCHEMA_VERSION {
            return Err(EvidenceError::Schema {
                path: path.to_path_buf(),
                reason: format!(
                    "schema_version {} (this adasval reads {EVIDENCE_SCHEMA_VERSION})",
                    set.schema_version
                ),
            });
        }
        for (i, item) in set.items.iter().enumerate() {
            let problem = match (item.value, &item.no_value) {
                (Some(v), _) if !v.is_finite() || v.abs() >= 1e300 => {
                    Some("value is not a finite measurement")
                }
                (Some(_), Some(_)) => Some("has both a value and a reason for having none"),
                (None, None) => Some("has no value and no reason (`no_value`) for it"),
                _ => None,
            };
            if let Some(problem) = problem {
                return Err(EvidenceError::Schema {
                    path: path.to_path_buf(),
                    reason: format!("items[{i}] {problem}"),
                });
            }
        }
        Ok(set)
    }

    /// Pretty JSON, as stored in the run directory.
    pub fn to_json(&self) -> String {
        // Serialising plain data with finite floats cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default() + "\n"
    }
}
