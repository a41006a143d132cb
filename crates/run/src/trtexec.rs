//! TensorRT `trtexec` exports and logs → adasval's run record. This is an entry point
//! beside replay: `adasval import trtexec` turns `--exportTimes` (+ `--exportProfile`,
//! `--exportLayerInfo`) into a run directory that latency, WCET, comparison and regression
//! stages read like any replay; the `trtexec` backend reuses the log and output parsers.
//!
//! Column mapping (docs/TRTEXEC.md): `infer_ns` = computeMs (GPU time of the engine,
//! independent of the harness's transfers), `pre_ns` = h2dMs, `post_ns` = d2hMs,
//! `total_ns` = latencyMs (= h2d + compute + d2h as trtexec defines it). Every field of
//! every sample is kept in `trtexec.json`, under the current key names. The export files
//! themselves are read by the run record's one reader (`adasval_record::trtexec_export`).

use std::path::{Path, PathBuf};

use crate::backend::BackendInfo;
use crate::replay::{Order, Sample, TraceSettings};
use adasval_record::platform::{Fingerprint, PlatformProfile};
use adasval_record::record::*;
pub use adasval_record::trtexec_export::*;

#[derive(Debug, thiserror::Error)]
pub enum TrtexecError {
    // Unreadable or malformed exports and logs are the export reader's errors, so the
    // importer and the reader say the same thing about the same file.
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Platform(#[from] adasval_record::platform::PlatformError),
    #[error(transparent)]
    Export(#[from] ExportError),
    #[error(transparent)]
    RunDir(#[from] adasval_core::rundir::RunDirError),
    #[error("--engine-name: {0}")]
    Name(#[from] adasval_core::names::NameError),
}

impl adasval_core::exit::Classify for TrtexecError {
    fn status(&self) -> adasval_core::exit::Status {
        match self {
            TrtexecError::Write { .. } => adasval_core::exit::Status::Unavailable,
            TrtexecError::RunDir(e) => e.status(),
            TrtexecError::Name(e) => e.status(),
            _ => adasval_core::exit::Status::BadInput,
        }
    }
}

/// TensorRT version from a trtexec log: `[TensorRT v8502]` (8.x: M*1000+m*100+p) or
/// `[TensorRT v100300]` (≥ 10: M*10000+m*100+p), or a `TensorRT version: 10.3.0` line.
pub fn tensorrt_version(log: &str) -> Option<String> {
    for line in log.lines() {
        if let Some(i) = line.find("TensorRT version:") {
            let v = line[i + "TensorRT version:".len()..].trim();
            if !v.is_empty() {
                return Some(v.to_string());
            }
        }
    }
    let i = log.find("[TensorRT v")?;
    let digits: String = log[i + "[TensorRT v".len()..]
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    let n: u64 = digits.parse().ok()?;
    let (major, minor, patch) = if n >= 100_000 {
        (n / 10_000, (n / 100) % 100, n % 100)
    } else {
        (n / 1000, (n / 100) % 10, n % 100)
    };
    Some(format!("{major}.{minor}.{patch}"))
}

/// Settings as trtexec printed them in its `=== Inference Options ===` block (what took
/// effect, whatever the version's defaults): `CUDA Graph: Disabled` → ("CUDA Graph", "Disabled").
pub fn inference_options(log: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut inside = false;
    for line in log.lines() {
        // Strip the `[date-time] [I] ` prefix trtexec puts on every log line.
        let text = match line.rfind("] ") {
            Some(i) if line.starts_with('[') => &line[i + 2..],
            _ => line,
        };
        let text = text.trim();
        if text.starts_with("===") {
            inside = text.contains("Inference Options");
            continue;
        }
        if inside {
            if let Some((k, v)) = text.split_once(": ") {
                out.push((k.trim().to_string(), v.trim().to_string()));
            }
        }
    }
    out
}

/// One output of `--exportOutput`.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportedOutput {
    pub name: String,
    pub shape: Vec<usize>,
    pub values: Vec<f32>,
}

/// Parse `--exportOutput` JSON: `[{"name": ..., "dimensions": "1x100x4", "values": [...]}]`.
/// trtexec prints non-finite values as bare `nan` / `inf`, which JSON lacks: they are
/// read as NaN / ±infinity.
pub fn parse_exported_outputs(
    path: &Path,
    text: &str,
) -> Result<Vec<ExportedOutput>, TrtexecError> {
    let shown = path.display().to_string();
    let v: serde_json::Value =
        serde_json::from_str(&nan_to_strings(text)).map_err(|source| ExportError::Json {
            path: shown.clone(),
            source,
        })?;
    let items = v.as_array().ok_or_else(|| ExportError::Format {
        path: shown.clone(),
        message: "expected a JSON array of outputs".into(),
    })?;
    let mut out = Vec::new();
    for (i, it) in items.iter().enumerate() {
        let bad = |m: String| ExportError::Item {
            path: shown.clone(),
            item: i,
            message: m,
        };
        let name = it
            .get("name")
            .and_then(|n| n.as_str())
            .ok_or_else(|| bad("missing `name`".into()))?;
        let dims = it
            .get("dimensions")
            .and_then(|n| n.as_str())
            .ok_or_else(|| bad("missing `dimensions`".into()))?;
        let shape: Vec<usize> = if dims.trim().is_empty() {
            vec![]
        } else {
            dims.split('x')
                .map(|d| d.trim().parse::<usize>())
                .collect::<Result<_, _>>()
                .map_err(|_| bad(format!("bad `dimensions` {dims:?}")))?
        };
        let values = it
            .get("values")
            .and_then(|n| n.as_array())
            .ok_or_else(|| bad("missing `values`".into()))?
            .iter()
            .map(|x| match x {
                serde_json::Value::Number(n) => n.as_f64().map(|f| f as f32),
                serde_json::Value::String(s) => match s.as_str() {
                    "nan" | "-nan" => Some(f32::NAN),
                    "inf" => Some(f32::INFINITY),
                    "-inf" => Some(f32::NEG_INFINITY),
                    _ => None,
                },
                _ => None,
            })
            .collect::<Option<Vec<f32>>>()
            .ok_or_else(|| bad(format!("`values` of `{name}` are not all numbers")))?;
        // Checked: in a release build an overflowing product wrapped (2^63 × 2 × 4 is 0)
        // and an absurd shape passed with no values (found by the trtexec_log target).
        let n = shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
        if n != Some(values.len()) {
            return Err(bad(format!(
                "`{name}` has dimensions {dims} but {} values",
                values.len()
            ))
            .into());
        }
        out.push(ExportedOutput {
            name: name.to_string(),
            shape,
            values,
        });
    }
    Ok(out)
}

/// Quote bare `nan`, `-nan`, `inf`, `-inf` tokens outside strings. Walks whole UTF-8
/// characters (inside strings too), so non-ASCII text is copied as is and never sliced
/// inside a character (a fuzzer found that panic: fuzz/regressions/trtexec_log/).
fn nan_to_strings(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.char_indices().peekable();
    let mut in_str = false;
    while let Some((i, c)) = chars.next() {
        if in_str {
            out.push(c);
            if c == '\\' {
                if let Some((_, escaped)) = chars.next() {
                    out.push(escaped);
                }
            } else if c == '"' {
                in_str = false;
            }
            continue;
        }
        if c == '"' {
            in_str = true;
            out.push('"');
            continue;
        }
        let rest = &text.as_bytes()[i..];
        if let Some(tok) = ["-nan", "nan", "-inf", "inf"].iter().find(|t| {
            rest.get(..t.len())
                .is_some_and(|p| p.eq_ignore_ascii_case(t.as_bytes()))
        }) {
            out.push('"');
            out.push_str(tok);
            out.push('"');
            // The token is ASCII: skip its remaining characters.
            for _ in 1..tok.len() {
                chars.next();
            }
            continue;
        }
        out.push(c);
    }
    out
}

/// What to import.
#[derive(Debug, Clone, Default)]
pub struct ImportRequest {
    pub times: PathBuf,
    pub profile: Option<PathBuf>,
    pub layers: Option<PathBuf>,
    pub engine: Option<PathBuf>,
    /// The engine's adapter (classes, threshold); hashed into the record when given.
    pub adapter: Option<PathBuf>,
    /// Name of the engine in the record (default: the engine file stem, else "trtexec").
    pub engine_name: Option<String>,
    /// Profile the measurement ran on (platforms/<name>.yaml under `root`).
    pub platform: Option<String>,
    /// Profile the engine was built on.
    pub built_on: Option<String>,
    /// trtexec's console log, for the TensorRT version and the inference options.
    pub log: Option<PathBuf>,
    pub root: PathBuf,
    pub out: PathBuf,
    pub command_line: Vec<String>,
    /// The adasval binary that imports (recorded in `run.json`).
    pub tool: Option<adasval_record::tool::ToolIdentity>,
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), TrtexecError> {
    adasval_core::atomic::write_atomic(path, bytes).map_err(|source| TrtexecError::Write {
        path: path.display().to_string(),
        source,
    })
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_else(|| p.display().to_string())
}

fn profile_named(root: &Path, name: Option<&str>) -> Result<PlatformProfile, TrtexecError> {
    match name {
        Some(n) => Ok(adasval_record::platform::resolve(
            root,
            Some(n),
            &Fingerprint::default(),
        )?),
        None => Ok(PlatformProfile {
            schema_version: 1,
            name: "unknown".into(),
            kind: "unknown".into(),
            description: "imported trtexec export; the platform was not given (--platform)".into(),
            rank: None,
            cpu: None,
            gpu: None,
            memory: None,
            detect: vec![],
        }),
    }
}

/// Build a run directory from trtexec exports. Returns the record written.
pub fn import(req: &ImportRequest) -> Result<RunRecord, TrtexecError> {
    // Where the run goes is settled before any input is read, so a sealed or busy
    // directory is refused with its old evidence untouched.
    let _run_dir = adasval_core::rundir::claim(&req.out)?;
    let started_at = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    let times_bytes = std::fs::read(&req.times).map_err(|source| ExportError::Read {
        path: req.times.display().to_string(),
        source,
    })?;
    let times_v: serde_json::Value =
        serde_json::from_slice(&times_bytes).map_err(|source| ExportError::Json {
            path: req.times.display().to_string(),
            source,
        })?;
    let times = parse_times(&req.times, &times_v)?;
    if times.samples.is_empty() {
        return Err(ExportError::Format {
            path: req.times.display().to_string(),
            message: "no inferences in the file".into(),
        }
        .into());
    }
    let profile = match &req.profile {
        Some(p) => Some(parse_profile(p, &read_export_json(p)?)?),
        None => None,
    };
    let (graph, bindings) = match &req.layers {
        Some(p) => {
            let (l, b) = parse_layer_info(p, &read_export_json(p)?)?;
            (Some(l), b)
        }
        None => (None, vec![]),
    };
    let log = match &req.log {
        Some(p) => Some(
            std::fs::read_to_string(p).map_err(|source| ExportError::Read {
                path: p.display().to_string(),
                source,
            })?,
        ),
        None => None,
    };
    let version = log.as_deref().and_then(tensorrt_version);
    let options = log.as_deref().map(inference_options).unwrap_or_default();

    let run_platform = profile_named(&req.root, req.platform.as_deref())?;
    if let Some(b) = &req.built_on {
        // The build platform must be a known profile too, so tags stay comparable.
        profile_named(&req.root, Some(b))?;
    }
    let engine_name = req.engine_name.clone().unwrap_or_else(|| {
        req.engine
            .as_ref()
            .and_then(|e| e.file_stem())
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "trtexec".into())
    });
    adasval_core::names::check("engine", &engine_name)?;
    // Without an adapter the record says so with an empty path and the hash of no bytes.
    let (adapter_path, adapter_sha256, adapter) = match &req.adapter {
        Some(a) => {
            let bytes = std::fs::read(a).map_err(|source| ExportError::Read {
                path: a.display().to_string(),
                source,
            })?;
            let text = String::from_utf8_lossy(&bytes);
            let parsed = adasval_record::adapter::Adapter::parse(a, &text).map_err(|e| {
                ExportError::Format {
                    path: a.display().to_string(),
                    message: e.to_string(),
                }
            })?;
            (
                a.display().to_string(),
                adasval_core::hash::sha256_hex(&bytes),
                Some(parsed),
            )
        }
        None => (String::new(), adasval_core::hash::sha256_hex(b""), None),
    };
    let mut engines = Vec::new();
    let judged = adapter.as_ref().map(|a| a.judged_classes());
    if let Some(e) = &req.engine {
        let bytes = std::fs::read(e).map_err(|source| ExportError::Read {
            path: e.display().to_string(),
            source,
        })?;
        engines.push(EngineRecord {
            name: engine_name.clone(),
            path: e.display().to_string(),
            format: "trt".into(),
            sha256: adasval_core::hash::sha256_hex(&bytes),
            size: bytes.len() as u64,
            adapter_path,
            adapter_sha256,
            source_model_sha256: None,
            built_on: req.built_on.clone(),
            classes: judged
                .as_ref()
                .map(|j| j.classes.clone())
                .unwrap_or_default(),
            safety_critical: judged
                .as_ref()
                .map(|j| j.safety_critical.clone())
                .unwrap_or_default(),
            scenario_classes: judged.as_ref().and_then(|j| j.map.clone()),
            not_detectable: judged
                .as_ref()
                .map(|j| j.not_detectable.clone())
                .unwrap_or_default(),
            score_threshold: adapter.as_ref().map(|a| a.score_threshold).unwrap_or(0.0),
            load_ns: None,
            postprocess: adapter
                .as_ref()
                .map(adasval_record::record::PostprocessRecord::of),
        });
    }

    let ns = |ms: f64| (ms * 1e6).round() as u64;
    let samples: Vec<Sample> = times
        .samples
        .iter()
        .enumerate()
        .map(|(i, s)| Sample {
            frame: i as u32,
            rep: 0,
            pre_ns: ns(s.h2d_ms),
            infer_ns: ns(s.compute_ms),
            post_ns: ns(s.d2h_ms),
            total_ns: ns(s.latency_ms),
            device_h2d_ns: Some(ns(s.h2d_ms)),
            device_compute_ns: Some(ns(s.compute_ms)),
            device_d2h_ns: Some(ns(s.d2h_ms)),
        })
        .collect();
    let scenario_id = "trtexec-times".to_string();
    let stage = |f: fn(&Sample) -> u64| {
        adasval_core::timing::summarize(&samples.iter().map(f).collect::<Vec<_>>())
    };
    let trace = TraceRecord {
        scenario: scenario_id.clone(),
        engine: engine_name.clone(),
        settings: TraceSettings {
            repetitions: 1,
            warmup: 0,
            order: Order::Sequential,
            seed: 0,
            pace_fps: None,
            bounds: Default::default(),
        },
        samples: samples.len(),
        complete: true,
        error: None,
        interrupted: false,
        nondeterministic_repetitions: 0,
        deadline_misses: 0,
        latency_ns: StageSummaries {
            pre: stage(|x| x.pre_ns),
            infer: stage(|x| x.infer_ns),
            post: stage(|x| x.post_ns),
            total: stage(|x| x.total_ns),
        },
        streams: None,
        failure: None,
        stop: None,
    };
    let times_sha = adasval_core::hash::sha256_hex(&times_bytes);
    let scenario = ScenarioRecord {
        id: scenario_id.clone(),
        title: format!("trtexec --exportTimes {}", file_name(&req.times)),
        path: req.times.display().to_string(),
        sha256: times_sha.clone(),
        category: "benchmark".into(),
        tags: vec!["trtexec".into()],
        fps: 0.0,
        deadline_ms: 0.0,
        requirements: vec![],
        frames: samples.len(),
        labels_sha256: adasval_core::hash::sha256_hex(b""),
        pixels_sha256: adasval_core::hash::sha256_hex(b""),
        family: None,
        parameters: Default::default(),
        corruption: None,
    };
    let mut backend_settings = vec![
        ("source".to_string(), "trtexec --exportTimes".to_string()),
        (
            "key_format".to_string(),
            format!("{:?}", times.key_format).to_lowercase(),
        ),
        ("infer_ns".to_string(), "computeMs".to_string()),
        ("pre_ns".to_string(), "h2dMs".to_string()),
        ("post_ns".to_string(), "d2hMs".to_string()),
        ("total_ns".to_string(), "latencyMs".to_string()),
    ];
    backend_settings.extend(options.iter().cloned());
    let file_hash = |p: &Option<PathBuf>| -> Result<Option<String>, TrtexecError> {
        p.as_ref()
            .map(|p| {
                adasval_core::hash::sha256_file(p).map_err(|source| {
                    TrtexecError::from(ExportError::Read {
                        path: p.display().to_string(),
                        source,
                    })
                })
            })
            .transpose()
    };
    let record = RunRecord {
        schema_version: SCHEMA_VERSION,
        run_id: format!("trtexec-{}", &times_sha[..12]),
        complete: true,
        incomplete_reasons: vec![],
        started_at: started_at.clone(),
        finished_at: started_at,
        command_line: req.command_line.clone(),
        settings: Settings {
            requested: serde_json::json!({
                "times": req.times.display().to_string(),
                "profile": req.profile.as_ref().map(|p| p.display().to_string()),
                "layers": req.layers.as_ref().map(|p| p.display().to_string()),
                "engine": req.engine.as_ref().map(|p| p.display().to_string()),
                "adapter": req.adapter.as_ref().map(|p| p.display().to_string()),
                "log": req.log.as_ref().map(|p| p.display().to_string()),
                "platform": req.platform,
                "built_on": req.built_on,
            }),
            effective: serde_json::json!({
                "backend": "trtexec-import",
                "platform": run_platform.name,
                "platform_source": if req.platform.is_some() { "requested" } else { "unknown" },
                "built_on": req.built_on,
                "tensorrt_version": version,
                "inputs_sha256": {
                    "times": times_sha,
                    "profile": file_hash(&req.profile)?,
                    "layers": file_hash(&req.layers)?,
                    "log": file_hash(&req.log)?,
                },
                "traces": [{"scenario": scenario_id, "engine": engine_name,
                            "platform": run_platform.name, "built_on": req.built_on}],
            }),
        },
        platform: PlatformRecord {
            name: run_platform.name.clone(),
            profile: run_platform,
            // The measurement ran elsewhere: nothing of this machine is recorded.
            fingerprint: Fingerprint {
                arch: "unknown".into(),
                cpu_model: "unknown (imported)".into(),
                os: "unknown".into(),
                kernel: "unknown".into(),
                tool_version: env!("CARGO_PKG_VERSION").into(),
                ..Default::default()
            },
        },
        backend: BackendInfo {
            name: "trtexec-import".into(),
            libraries: version.iter().map(|v| format!("TensorRT {v}")).collect(),
            settings: backend_settings,
        },
        engines,
        scenarios: vec![scenario],
        traces: vec![trace],
        interleave: None,
        tool: req.tool.clone(),
    };

    let rows: Vec<LatencyRow> = samples
        .iter()
        .map(|s| LatencyRow {
            scenario: scenario_id.clone(),
            engine: engine_name.clone(),
            sample: *s,
        })
        .collect();
    let p = req.out.join("latencies.csv");
    write_latencies_csv(&p, &rows).map_err(|source| TrtexecError::Write {
        path: p.display().to_string(),
        source,
    })?;
    write(
        &req.out.join("trtexec.json"),
        serde_json::to_string(&serde_json::json!({
            "key_format": times.key_format,
            "latency_derived": times.latency_derived,
            "tensorrt_version": version,
            "inference_options": options.iter().map(|(k, v)| serde_json::json!({"name": k, "value": v})).collect::<Vec<_>>(),
            "samples": times.samples,
        }))
        .unwrap_or_default()
        .as_bytes(),
    )?;
    if profile.is_some() || graph.is_some() {
        write(
            &req.out.join("layers.json"),
            serde_json::to_string_pretty(&serde_json::json!({
                "profile_iterations": profile.as_ref().map(|p| p.count),
                "bindings": bindings,
                "layers": join_layers(graph, profile.as_ref()),
            }))
            .unwrap_or_default()
            .as_bytes(),
        )?;
    }
    write(&req.out.join("detections.jsonl"), b"")?;
    write(&req.out.join("golden.jsonl"), b"")?;
    write(
        &req.out.join("histograms.json"),
        adasval_record::record::histograms_json([(
            scenario_id.as_str(),
            engine_name.as_str(),
            samples.as_slice(),
        )])
        .as_bytes(),
    )?;
    write(
        &req.out.join("run.json"),
        serde_json::to_string_pretty(&record)
            .unwrap_or_default()
            .as_bytes(),
    )?;
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_non_finite_tokens_are_quoted_and_other_text_is_copied_whole() {
        assert_eq!(
            nan_to_strings(r#"[{"name":"é\"nan","values":[NaN,-inf,1]}]"#),
            r#"[{"name":"é\"nan","values":["nan","-inf",1]}]"#
        );
        // Found by the trtexec_log fuzz target: a multi-byte character where a token's
        // length would end mid-character panicked on a slice.
        assert_eq!(nan_to_strings("[\u{347}\u{347}]"), "[\u{347}\u{347}]");
        assert_eq!(nan_to_strings("iñf ñ"), "iñf ñ");
        let e = parse_exported_outputs(Path::new("o.json"), "[{\"name\":\"ͅ\"}]\u{347}");
        assert!(e.is_err());
    }

    #[test]
    fn dimensions_whose_product_overflows_are_refused() {
        let text = r#"[{"name":"boxes","dimensions":"9223372036854775808x2x4","values":[]}]"#;
        let e = parse_exported_outputs(Path::new("o.json"), text).unwrap_err();
        assert!(e.to_string().contains("but 0 values"), "{e}");
    }

    #[test]
    fn version_from_both_banner_encodings() {
        assert_eq!(
            tensorrt_version("&&&& RUNNING TensorRT.trtexec [TensorRT v8502] # trtexec").as_deref(),
            Some("8.5.2")
        );
        assert_eq!(
            tensorrt_version("&&&& RUNNING TensorRT.trtexec [TensorRT v100300] # trtexec")
                .as_deref(),
            Some("10.3.0")
        );
        assert_eq!(
            tensorrt_version("[I] TensorRT version: 10.3.0\n").as_deref(),
            Some("10.3.0")
        );
        assert_eq!(tensorrt_version("no banner"), None);
    }

    #[test]
    fn inference_options_block() {
        let log = "[11/26/2026-09:00:00] [I] === Inference Options ===\n\
[11/26/2026-09:00:00] [I] Batch: Explicit\n\
[11/26/2026-09:00:00] [I] Data transfers: Enabled\n\
[11/26/2026-09:00:00] [I] Spin-wait: Disabled\n\
[11/26/2026-09:00:00] [I] CUDA Graph: Enabled\n\
[11/26/2026-09:00:00] [I] === Reporting Options ===\n\
[11/26/2026-09:00:00] [I] Verbose: Disabled\n";
        let o = inference_options(log);
        assert!(o.contains(&("CUDA Graph".into(), "Enabled".into())));
        assert!(o.contains(&("Spin-wait".into(), "Disabled".into())));
        assert!(o.contains(&("Data transfers".into(), "Enabled".into())));
        assert!(
            !o.iter().any(|(k, _)| k == "Verbose"),
            "reporting block excluded"
        );
    }

    #[test]
    fn exported_outputs_with_non_finite_values() {
        let text = r#"[
  { "name" : "num_detections"
  , "dimensions" : "1x1"
  , "values" : [ 2 ]
  }
, { "name" : "scores"
  , "dimensions" : "1x3"
  , "values" : [ 0.5, nan, -inf ]
  }
]"#;
        let o = parse_exported_outputs(Path::new("o.json"), text).unwrap();
        assert_eq!(o[0].shape, vec![1, 1]);
        assert_eq!(o[0].values, vec![2.0]);
        assert!(o[1].values[1].is_nan());
        assert_eq!(o[1].values[2], f32::NEG_INFINITY);
        let bad = r#"[{"name":"x","dimensions":"1x3","values":[1,2]}]"#;
        assert!(parse_exported_outputs(Path::new("o.json"), bad).is_err());
    }
}
