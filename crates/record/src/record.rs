//! The run record: what a replay measured and everything needed to trace it to hashed
//! inputs. Later stages (metrics, WCET, compare, gate) read these files and never call a
//! backend, so a run can be judged again elsewhere, years later.
//!
//! Files in `reports/<run-id>/`: `run.json` (this struct), `latencies.csv`,
//! `detections.jsonl`, `golden.jsonl`, `histograms.json`, reports, and `MANIFEST.sha256`.

use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::Path;

use crate::platform::{Fingerprint, PlatformProfile};
use crate::trace::{Sample, TraceSettings};
use adasval_core::timing::{LatencySummary, MAX_LATENCY_NS};
use adasval_core::types::{Detection, GtObject};

pub const SCHEMA_VERSION: u32 = 1;
pub const LATENCIES_HEADER: &str =
    "scenario,engine,frame,rep,pre_ns,infer_ns,post_ns,total_ns,device_h2d_ns,device_compute_ns,device_d2h_ns";
/// The header of a run with concurrent streams (`--streams N`, N > 1): one more column,
/// the stream index, last so every other column keeps its position.
pub const LATENCIES_HEADER_STREAMS: &str =
    "scenario,engine,frame,rep,pre_ns,infer_ns,post_ns,total_ns,device_h2d_ns,device_compute_ns,device_d2h_ns,stream";
/// The header before the device columns existed; still read, so older runs stay usable.
const LATENCIES_HEADER_V1: &str = "scenario,engine,frame,rep,pre_ns,infer_ns,post_ns,total_ns";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunRecord {
    pub schema_version: u32,
    pub run_id: String,
    /// False when any trace failed or was interrupted: such a run never passes a gate.
    pub complete: bool,
    #[serde(default)]
    pub incomplete_reasons: Vec<String>,
    pub started_at: String,
    pub finished_at: String,
    pub command_line: Vec<String>,
    pub settings: Settings,
    pub platform: PlatformRecord,
    pub backend: BackendInfo,
    pub engines: Vec<EngineRecord>,
    pub scenarios: Vec<ScenarioRecord>,
    pub traces: Vec<TraceRecord>,
    /// `validate --interleave`: the two engines ran in alternating blocks (absent otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interleave: Option<Interleave>,
    /// The adasval binary that replayed (absent in records written before it was kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool: Option<crate::tool::ToolIdentity>,
}

/// The schedule of an interleaved session (`validate --interleave`): baseline and
/// candidate engines replayed alternately, one block each (A B A B ...), so that slow
/// phases of the machine fall on both. Block `index` of an engine's trace holds samples
/// `first_sample .. first_sample + samples` of that trace in `latencies.csv`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Interleave {
    pub baseline: String,
    pub candidate: String,
    /// Every block in the order it ran.
    pub blocks: Vec<InterleaveBlock>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InterleaveBlock {
    pub scenario: String,
    pub engine: String,
    pub index: usize,
    pub first_sample: usize,
    pub samples: usize,
}

/// Settings as requested on the command line and as they took effect.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Settings {
    pub requested: serde_json::Value,
    pub effective: serde_json::Value,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlatformRecord {
    pub name: String,
    pub profile: PlatformProfile,
    pub fingerprint: Fingerprint,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EngineRecord {
    pub name: String,
    pub path: String,
    pub format: String,
    pub sha256: String,
    pub size: u64,
    pub adapter_path: String,
    pub adapter_sha256: String,
    #[serde(default)]
    pub source_model_sha256: Option<String>,
    #[serde(default)]
    pub built_on: Option<String>,
    /// The classes detections and golden objects are judged in (`class_id` indexes them):
    /// the adapter's own, or the scenario classes its `scenario_classes` maps onto.
    pub classes: Vec<String>,
    pub safety_critical: Vec<String>,
    /// The adapter's `scenario_classes` as the run used it (`{pedestrian: person, ...}`);
    /// absent when the engine is judged in its own classes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scenario_classes: Option<String>,
    /// Scenario classes this engine cannot detect (its adapter maps nothing onto them):
    /// their golden objects are ignore regions and requirements on them are not applicable.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_detectable: Vec<String>,
    pub score_threshold: f32,
    /// One-off load cost measured by the backend, when it reports one.
    #[serde(default)]
    pub load_ns: Option<u64>,
    /// How raw outputs became detections (decoder, NMS, top-k, limits), copied from the
    /// adapter so the run says it without the adapter file. Absent in older runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postprocess: Option<PostprocessRecord>,
}

/// The adapter's decoding and suppression settings as a run used them.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PostprocessRecord {
    pub decoder: String,
    /// `per_class`, `class_agnostic`, or `none` (the model's output needs none or had it).
    pub nms: String,
    #[serde(default)]
    pub nms_iou: Option<f32>,
    #[serde(default)]
    pub top_k: Option<usize>,
    pub max_detections: usize,
    pub clip_to_input: bool,
    /// The adapter's whole `output` section.
    pub output: crate::adapter::OutputSpec,
}

impl PostprocessRecord {
    pub fn of(a: &crate::adapter::Adapter) -> Self {
        use crate::adapter::OutputSpec;
        let model_suppresses = match &a.output {
            OutputSpec::EfficientNms { .. } | OutputSpec::EndToEnd(_) => true,
            OutputSpec::BoxesScoresClasses { apply_nms, .. } => !apply_nms,
            OutputSpec::Table(t) => !t.apply_nms,
            OutputSpec::Yolox { .. } | OutputSpec::Grid(_) | OutputSpec::Priors(_) => false,
        };
        let nms = if model_suppresses {
            "none"
        } else if a.nms_class_agnostic {
            "class_agnostic"
        } else {
            "per_class"
        };
        PostprocessRecord {
            decoder: a.output.decoder_name().into(),
            nms: nms.into(),
            nms_iou: (!model_suppresses).then_some(a.nms_iou),
            top_k: if model_suppresses { None } else { a.top_k },
            max_detections: a.max_detections,
            clip_to_input: a.clip_to_input,
            output: a.output.clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ScenarioRecord {
    pub id: String,
    pub title: String,
    pub path: String,
    pub sha256: String,
    pub category: String,
    pub tags: Vec<String>,
    pub fps: f64,
    pub deadline_ms: f64,
    pub requirements: Vec<String>,
    pub frames: usize,
    /// SHA-256 of this scenario's lines in `golden.jsonl` (the labels as used).
    pub labels_sha256: String,
    /// SHA-256 over the frames' decoded pixels, in order (after any corruption).
    pub pixels_sha256: String,
    /// The family an instance of a swept scenario file belongs to (the file's id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
    /// The instance's swept parameter values.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub parameters: std::collections::BTreeMap<String, String>,
    /// Set on a rung of a corruption ladder: which scenario, corruption and severity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub corruption: Option<CorruptionRecord>,
}

/// The corruption applied to a scenario's frames before timing.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CorruptionRecord {
    /// The id of the clean scenario this rung corrupts.
    pub base: String,
    /// Corruption name (`gaussian_noise`, ...).
    #[serde(rename = "type")]
    pub kind: String,
    pub severity: u8,
    /// Seed of the corruption's random draws (with the frame index).
    pub seed: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TraceRecord {
    pub scenario: String,
    pub engine: String,
    pub settings: TraceSettings,
    pub samples: usize,
    pub complete: bool,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub interrupted: bool,
    /// Repetitions whose raw outputs differed from the same frame's first repetition.
    pub nondeterministic_repetitions: u32,
    /// Timed inferences whose `infer` latency exceeded the scenario deadline.
    pub deadline_misses: usize,
    pub latency_ns: StageSummaries,
    /// Concurrent streams (`--streams N`): throughput window and per-stream results;
    /// absent for a single-stream replay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub streams: Option<crate::trace::StreamsRecord>,
    /// What ended the trace early, when something did (absent for a complete trace).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<FailureClass>,
    /// Why the timed loop ended (absent in records written before bounded runs existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop: Option<crate::trace::StopRecord>,
}

/// The class of a failure that can only appear during the replay. Input problems never
/// appear here: they are refused before timing starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureClass {
    /// The backend failed to run an inference that the same engine ran before.
    Inference,
    /// The backend's device or runtime became unavailable.
    Environment,
    /// Stopped by the user (Ctrl-C).
    Interrupted,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StageSummaries {
    pub pre: LatencySummary,
    pub infer: LatencySummary,
    pub post: LatencySummary,
    pub total: LatencySummary,
}

/// One line of `detections.jsonl`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DetectionLine {
    pub scenario: String,
    pub engine: String,
    pub frame: usize,
    pub output_sha256: Option<String>,
    pub detections: Vec<Detection>,
}

/// One line of `golden.jsonl`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GoldenLine {
    pub scenario: String,
    pub frame: usize,
    pub source: String,
    pub width: u32,
    pub height: u32,
    #[serde(default)]
    pub condition: Option<String>,
    pub objects: Vec<GtObject>,
}

/// One row of `latencies.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct LatencyRow {
    pub scenario: String,
    pub engine: String,
    pub sample: Sample,
}

pub fn write_latencies_csv(path: &Path, rows: &[LatencyRow]) -> std::io::Result<()> {
    write_latencies_csv_streams(path, rows, None)
}

/// `latencies.csv` with the `stream` column when `streams` (one index per row) is given.
pub fn write_latencies_csv_streams(
    path: &Path,
    rows: &[LatencyRow],
    streams: Option<&[u32]>,
) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(rows.len() * 64 + 64);
    match streams {
        Some(_) => writeln!(buf, "{LATENCIES_HEADER_STREAMS}")?,
        None => writeln!(buf, "{LATENCIES_HEADER}")?,
    }
    for (i, r) in rows.iter().enumerate() {
        let s = &r.sample;
        // Device columns stay empty when the backend measured nothing itself.
        let opt = |v: Option<u64>| v.map(|n| n.to_string()).unwrap_or_default();
        writeln!(
            buf,
            "{},{},{},{},{},{},{},{},{},{},{}",
            r.scenario,
            r.engine,
            s.frame,
            s.rep,
            s.pre_ns,
            s.infer_ns,
            s.post_ns,
            s.total_ns,
            opt(s.device_h2d_ns),
            opt(s.device_compute_ns),
            opt(s.device_d2h_ns)
        )?;
        if let Some(st) = streams {
            buf.pop();
            writeln!(buf, ",{}", st.get(i).copied().unwrap_or(0))?;
        }
    }
    adasval_core::atomic::write_atomic(path, &buf)
}

#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("{path}: {message}")]
    Read { path: String, message: String },
    #[error("{path}:{line}: {message}")]
    Line {
        path: String,
        line: usize,
        message: String,
    },
    /// The files of one run directory disagree with each other.
    #[error("{dir}: {message}")]
    Inconsistent { dir: String, message: String },
}

impl adasval_core::exit::Classify for RecordError {
    fn status(&self) -> adasval_core::exit::Status {
        adasval_core::exit::Status::BadInput
    }
}

/// `histograms.json`: the infer-stage latency histogram of each (scenario, engine) trace,
/// HDR buckets with 3 significant digits. The one writer of the file's contents.
pub fn histograms_json<'a>(
    traces: impl IntoIterator<Item = (&'a str, &'a str, &'a [Sample])>,
) -> String {
    let hist: Vec<serde_json::Value> = traces
        .into_iter()
        .map(|(scenario, engine, samples)| {
            let infer: Vec<u64> = samples.iter().map(|s| s.infer_ns).collect();
            serde_json::json!({
                "scenario": scenario, "engine": engine, "stage": "infer",
                "significant_digits": 3,
                "buckets_ns": adasval_core::timing::hdr_buckets(&infer),
            })
        })
        .collect();
    serde_json::to_string_pretty(&hist).unwrap_or_default()
}

pub fn read_latencies_csv(path: &Path) -> Result<Vec<LatencyRow>, RecordError> {
    read_latencies_csv_streams(path).map(|(rows, _)| rows)
}

/// Rows and, for a run with concurrent streams, each row's stream index.
#[allow(clippy::type_complexity)]
pub fn read_latencies_csv_streams(
    path: &Path,
) -> Result<(Vec<LatencyRow>, Option<Vec<u32>>), RecordError> {
    let shown = path.display().to_string();
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            // A bundle of several platforms has no records of its own: say where they are.
            if let Some(dir) = path.parent() {
                not_a_bundle(dir)?;
            }
            return Err(RecordError::Read {
                path: shown,
                message: e.to_string(),
            });
        }
    };
    parse_latencies_csv_streams(&shown, &text)
}

/// [`read_latencies_csv_streams`] on text already read; `shown` names the file in errors.
#[allow(clippy::type_complexity)]
pub fn parse_latencies_csv_streams(
    shown: &str,
    text: &str,
) -> Result<(Vec<LatencyRow>, Option<Vec<u32>>), RecordError> {
    let shown = shown.to_string();
    let mut lines = text.lines();
    let columns = match lines.next() {
        Some(LATENCIES_HEADER_STREAMS) => 12,
        Some(LATENCIES_HEADER) => 11,
        Some(LATENCIES_HEADER_V1) => 8,
        _ => {
            return Err(RecordError::Line {
                path: shown,
                line: 1,
                message: format!("expected header `{LATENCIES_HEADER}`"),
            })
        }
    };
    let mut out = Vec::new();
    let mut streams = (columns == 12).then(Vec::new);
    for (i, l) in lines.enumerate() {
        let f: Vec<&str> = l.split(',').collect();
        let bad = |m: &str| RecordError::Line {
            path: shown.clone(),
            line: i + 2,
            message: m.to_string(),
        };
        if f.len() != columns {
            return Err(bad(&format!("expected {columns} columns")));
        }
        let n = |k: usize| {
            f[k].parse::<u64>().map_err(|_| {
                bad(&format!(
                    "column {}: `{}` is not a non-negative integer",
                    k + 1,
                    f[k]
                ))
            })
        };
        // Durations, unlike frame and repetition indices, have a physical bound.
        let ns = |k: usize| {
            let v = n(k)?;
            if v > MAX_LATENCY_NS {
                return Err(bad(&format!(
                    "column {}: {v} ns is longer than the longest latency accepted ({MAX_LATENCY_NS} ns, one hour)",
                    k + 1
                )));
            }
            Ok(v)
        };
        let opt = |k: usize| match f.get(k) {
            None | Some(&"") => Ok(None),
            Some(_) => ns(k).map(Some),
        };
        out.push(LatencyRow {
            scenario: f[0].to_string(),
            engine: f[1].to_string(),
            sample: Sample {
                frame: n(2)? as u32,
                rep: n(3)? as u32,
                pre_ns: ns(4)?,
                infer_ns: ns(5)?,
                post_ns: ns(6)?,
                total_ns: ns(7)?,
                device_h2d_ns: opt(8)?,
                device_compute_ns: opt(9)?,
                device_d2h_ns: opt(10)?,
            },
        });
        if let Some(st) = streams.as_mut() {
            st.push(n(11)? as u32);
        }
    }
    Ok((out, streams))
}

pub fn read_jsonl<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Vec<T>, RecordError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| RecordError::Read {
        path: shown.clone(),
        message: e.to_string(),
    })?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| RecordError::Line {
                path: shown.clone(),
                line: i + 1,
                message: e.to_string(),
            })
        })
        .collect()
}

/// File name of the run record inside a run directory.
pub const RUN_FILE: &str = "run.json";

fn read_json_file<T: serde::de::DeserializeOwned>(p: &Path) -> Result<T, RecordError> {
    let text = std::fs::read_to_string(p).map_err(|e| RecordError::Read {
        path: p.display().to_string(),
        message: e.to_string(),
    })?;
    parse_json_text(&p.display().to_string(), &text)
}

fn parse_json_text<T: serde::de::DeserializeOwned>(
    shown: &str,
    text: &str,
) -> Result<T, RecordError> {
    serde_json::from_str(text).map_err(|e| RecordError::Line {
        path: shown.to_string(),
        line: e.line(),
        message: e.to_string(),
    })
}

/// [`read_run`] on text already read; `shown` names the file in errors.
pub fn parse_run(shown: &str, text: &str) -> Result<RunRecord, RecordError> {
    parse_json_text(shown, text)
}

/// [`read_run_header`] on text already read; `shown` names the file in errors.
pub fn parse_run_header(shown: &str, text: &str) -> Result<RunHeader, RecordError> {
    parse_json_text(shown, text)
}

/// The whole run record of a run directory, as `validate` and `import` write it.
pub fn read_run(dir: &Path) -> Result<RunRecord, RecordError> {
    not_a_bundle(dir)?;
    read_json_file(&dir.join(RUN_FILE))
}

/// A multi-platform merge (`adasval merge` of shards of several platforms) holds one run
/// directory per platform and no `run.json` of its own: say which directories to read.
fn not_a_bundle(dir: &Path) -> Result<(), RecordError> {
    if dir.join(RUN_FILE).exists() {
        return Ok(());
    }
    let farm = dir.join("farm.json");
    let Ok(text) = std::fs::read_to_string(&farm) else {
        return Ok(());
    };
    let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) else {
        return Ok(());
    };
    let Some(platforms) = v.get("platforms").and_then(|p| p.as_array()) else {
        return Ok(());
    };
    let dirs: Vec<String> = platforms
        .iter()
        .filter_map(|p| {
            Some(format!(
                "{} ({})",
                dir.join(p.get("run_dir")?.as_str()?).display(),
                p.get("platform")?.as_str()?
            ))
        })
        .collect();
    Err(RecordError::Inconsistent {
        dir: dir.display().to_string(),
        message: format!(
            "a multi-platform farm bundle (farm.json), not a run directory: its runs are kept apart per platform; give one of {}",
            dirs.join(", ")
        ),
    })
}

/// The few parts of `run.json` that checking a stored run needs (its id, whether it
/// completed, where it ran, which engine and adapter files it used), read from any
/// `run.json` that has them: the run records of every schema version, imported runs and
/// hand-made ones. Missing keys are missing, never guessed: no `complete` means "not
/// known to be complete".
#[derive(Debug, Clone, Deserialize)]
pub struct RunHeader {
    /// `run_id`; `id` is read as a legacy name of the same key.
    #[serde(default, alias = "id")]
    pub run_id: Option<String>,
    #[serde(default)]
    pub complete: Option<bool>,
    #[serde(default)]
    pub platform: Option<PlatformName>,
    #[serde(default)]
    pub engines: Vec<EngineRef>,
    /// `settings.effective`: per-trace provenance of merged runs (`crate::units`).
    #[serde(default)]
    pub settings: Option<HeaderSettings>,
    /// The backend's name (`--require-selftest` asks more of a run on the GPU).
    #[serde(default)]
    pub backend: Option<HeaderBackend>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct PlatformName {
    pub name: String,
    #[serde(default)]
    pub fingerprint: Option<HostName>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct HostName {
    pub hostname: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct HeaderSettings {
    #[serde(default)]
    pub effective: serde_json::Value,
}

/// An engine as `run.json` records it; paths are relative to the project root.
#[derive(Debug, Clone, Deserialize)]
pub struct EngineRef {
    pub name: String,
    #[serde(default)]
    pub path: Option<String>,
    pub sha256: String,
    #[serde(default)]
    pub adapter_path: Option<String>,
    #[serde(default)]
    pub adapter_sha256: Option<String>,
}

impl RunHeader {
    pub fn is_complete(&self) -> bool {
        self.complete == Some(true)
    }
}

/// The header view of `dir`'s `run.json` (the same file and reader as [`read_run`]).
/// The part of `run.json`'s `backend` that `gate` reads.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct HeaderBackend {
    pub name: String,
}

pub fn read_run_header(dir: &Path) -> Result<RunHeader, RecordError> {
    not_a_bundle(dir)?;
    read_json_file(&dir.join(RUN_FILE))
}

/// What a backend reports about itself (recorded in every run).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct BackendInfo {
    pub name: String,
    /// Library versions, e.g. `tract-onnx 0.23.9`.
    pub libraries: Vec<String>,
    /// Settings as they took effect (threads, precision, ...).
    pub settings: Vec<(String, String)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_reads_run_id_and_its_legacy_name() {
        let dir = tempfile::tempdir().unwrap();
        let write = |text: &str| std::fs::write(dir.path().join(RUN_FILE), text).unwrap();
        write(
            r#"{"run_id": "r1", "complete": true, "platform": {"name": "nx", "profile": {}},
                 "engines": [{"name": "e", "path": "engines/e.onnx", "sha256": "ab"}]}"#,
        );
        let h = read_run_header(dir.path()).unwrap();
        assert_eq!(h.run_id.as_deref(), Some("r1"));
        assert!(h.is_complete());
        assert_eq!(h.platform.map(|p| p.name).as_deref(), Some("nx"));
        assert_eq!(h.engines[0].path.as_deref(), Some("engines/e.onnx"));
        write(r#"{"id": "old"}"#);
        let h = read_run_header(dir.path()).unwrap();
        assert_eq!(h.run_id.as_deref(), Some("old"));
        assert!(
            !h.is_complete(),
            "no `complete` is not known to be complete"
        );
        write(r#"{"complete": "yes"}"#);
        let e = read_run_header(dir.path()).unwrap_err().to_string();
        assert!(e.contains("run.json:1"), "{e}");
    }

    fn row(frame: u32, device: Option<u64>) -> LatencyRow {
        LatencyRow {
            scenario: "s".into(),
            engine: "e".into(),
            sample: Sample {
                frame,
                rep: 0,
                pre_ns: 1,
                infer_ns: 2,
                post_ns: 3,
                total_ns: 6,
                device_h2d_ns: device.map(|d| d + 1),
                device_compute_ns: device,
                device_d2h_ns: device.map(|d| d + 2),
            },
        }
    }

    #[test]
    fn latencies_round_trip_with_and_without_device_timings() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("latencies.csv");
        let rows = vec![row(0, Some(40)), row(1, None)];
        write_latencies_csv(&path, &rows).unwrap();
        assert_eq!(read_latencies_csv(&path).unwrap(), rows);
    }

    #[test]
    fn latencies_with_a_stream_column_round_trip_and_read_as_plain_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("latencies.csv");
        let rows = vec![row(0, Some(40)), row(1, None), row(0, None)];
        write_latencies_csv_streams(&path, &rows, Some(&[0, 0, 1])).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with(LATENCIES_HEADER_STREAMS), "{text}");
        assert!(text.lines().nth(3).unwrap().ends_with(",,,1"), "{text}");
        let (back, streams) = read_latencies_csv_streams(&path).unwrap();
        assert_eq!((back, streams), (rows.clone(), Some(vec![0, 0, 1])));
        assert_eq!(read_latencies_csv(&path).unwrap(), rows);
        write_latencies_csv(&path, &rows).unwrap();
        assert_eq!(read_latencies_csv_streams(&path).unwrap().1, None);
    }

    #[test]
    fn latencies_without_device_columns_are_still_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("latencies.csv");
        std::fs::write(&path, format!("{LATENCIES_HEADER_V1}\ns,e,0,0,1,2,3,6\n")).unwrap();
        assert_eq!(read_latencies_csv(&path).unwrap(), vec![row(0, None)]);
        std::fs::write(&path, format!("{LATENCIES_HEADER}\ns,e,0,0,1,2,3,6\n")).unwrap();
        let err = read_latencies_csv(&path).unwrap_err().to_string();
        assert!(err.contains(":2:") && err.contains("11 columns"), "{err}");
    }
}
