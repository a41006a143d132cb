//! TensorRT `trtexec` exports: `--exportTimes`, `--exportProfile` and `--exportLayerInfo`.
//! The one reader of each, used by `import trtexec`, the `trtexec` backend and `wcet`.
//!
//! Legacy rules, decided here once:
//! - `--exportTimes` comes in two key generations and a file never mixes them: current
//!   (TensorRT >= 8: `startH2dMs`, `endH2dMs`, `startD2hMs`, `endD2hMs`, `h2dMs`, `d2hMs`)
//!   and legacy (`startInMs`, `endInMs`, `startOutMs`, `endOutMs`, `inMs`, `outMs`); legacy
//!   names are renamed to the current ones ([`LEGACY_KEYS`]), nothing else is.
//! - `computeMs` is required; a missing `h2dMs` / `d2hMs` is 0 (no transfer exported).
//! - `latencyMs` is trtexec's h2d + compute + d2h; when a record lacks it, it is derived
//!   that way and the file says so (`latency_derived`). `endToEndMs` (legacy files only) is
//!   another quantity (it includes waits between the stages) and never stands in for it.
//! - Non-finite, negative or out-of-range durations (longer than
//!   [`adasval_core::timing::MAX_LATENCY_MS`], one hour) are refused, naming the record
//!   and the field.

use serde::{Deserialize, Serialize};
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: not valid JSON: {source}")]
    Json {
        path: String,
        source: serde_json::Error,
    },
    #[error("{path}: item {item}: {message}")]
    Item {
        path: String,
        item: usize,
        message: String,
    },
    #[error("{path}: {message}")]
    Format { path: String, message: String },
}

impl adasval_core::exit::Classify for ExportError {
    fn status(&self) -> adasval_core::exit::Status {
        adasval_core::exit::Status::BadInput
    }
}

/// Legacy `--exportTimes` key names and the current names they are read as.
pub const LEGACY_KEYS: &[(&str, &str)] = &[
    ("startInMs", "startH2dMs"),
    ("endInMs", "endH2dMs"),
    ("startOutMs", "startD2hMs"),
    ("endOutMs", "endD2hMs"),
    ("inMs", "h2dMs"),
    ("outMs", "d2hMs"),
];

/// The current name of an `--exportTimes` key (legacy names renamed, others unchanged).
pub fn current_key(key: &str) -> &str {
    LEGACY_KEYS
        .iter()
        .find(|(old, _)| *old == key)
        .map(|(_, new)| *new)
        .unwrap_or(key)
}

impl TimesSample {
    /// The value of one field, by its current or legacy key name (`None` when the record
    /// has no such field).
    pub fn field(&self, key: &str) -> Option<f64> {
        match current_key(key) {
            "startEnqMs" => self.start_enq_ms,
            "endEnqMs" => self.end_enq_ms,
            "startH2dMs" => self.start_h2d_ms,
            "endH2dMs" => self.end_h2d_ms,
            "startComputeMs" => self.start_compute_ms,
            "endComputeMs" => self.end_compute_ms,
            "startD2hMs" => self.start_d2h_ms,
            "endD2hMs" => self.end_d2h_ms,
            "h2dMs" => Some(self.h2d_ms),
            "computeMs" => Some(self.compute_ms),
            "d2hMs" => Some(self.d2h_ms),
            "latencyMs" => Some(self.latency_ms),
            "endToEndMs" => self.end_to_end_ms,
            _ => None,
        }
    }
}

pub fn read_export_json(path: &Path) -> Result<serde_json::Value, ExportError> {
    let text = std::fs::read(path).map_err(|source| ExportError::Read {
        path: path.display().to_string(),
        source,
    })?;
    serde_json::from_slice(&text).map_err(|source| ExportError::Json {
        path: path.display().to_string(),
        source,
    })
}

/// Which generation of `--exportTimes` keys a file uses.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum KeyFormat {
    /// TensorRT ≥ 8: startEnqMs … endD2hMs, h2dMs, computeMs, d2hMs, latencyMs.
    Current,
    /// Older trtexec: startInMs, endInMs, startComputeMs, endComputeMs, startOutMs,
    /// endOutMs, inMs, computeMs, outMs, latencyMs, endToEndMs.
    Legacy,
}

/// One inference of `--exportTimes`, under the current key names (ms, relative to
/// trtexec's start). Legacy files map startIn→startH2d, endIn→endH2d, startOut→startD2h,
/// endOut→endD2h, in→h2d, out→d2h; `endToEndMs` exists only there.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct TimesSample {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_enq_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_enq_ms: Option<f64>,
    #[serde(rename = "startH2dMs", skip_serializing_if = "Option::is_none")]
    pub start_h2d_ms: Option<f64>,
    #[serde(rename = "endH2dMs", skip_serializing_if = "Option::is_none")]
    pub end_h2d_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_compute_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_compute_ms: Option<f64>,
    #[serde(rename = "startD2hMs", skip_serializing_if = "Option::is_none")]
    pub start_d2h_ms: Option<f64>,
    #[serde(rename = "endD2hMs", skip_serializing_if = "Option::is_none")]
    pub end_d2h_ms: Option<f64>,
    #[serde(rename = "h2dMs")]
    pub h2d_ms: f64,
    pub compute_ms: f64,
    #[serde(rename = "d2hMs")]
    pub d2h_ms: f64,
    pub latency_ms: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_to_end_ms: Option<f64>,
}

/// Parsed `--exportTimes` file.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Times {
    pub key_format: KeyFormat,
    /// True when latencyMs was absent and computed as h2d + compute + d2h.
    pub latency_derived: bool,
    pub samples: Vec<TimesSample>,
}

/// Parse `--exportTimes` JSON (either key generation; one file never mixes them).
pub fn parse_times(path: &Path, v: &serde_json::Value) -> Result<Times, ExportError> {
    let shown = path.display().to_string();
    let items = v.as_array().ok_or_else(|| ExportError::Format {
        path: shown.clone(),
        message: "expected a JSON array of inferences".into(),
    })?;
    let mut format = None;
    let mut latency_derived = false;
    let mut samples = Vec::with_capacity(items.len());
    for (i, it) in items.iter().enumerate() {
        let bad = |message: String| ExportError::Item {
            path: shown.clone(),
            item: i,
            message,
        };
        let o = it
            .as_object()
            .ok_or_else(|| bad("not a JSON object".into()))?;
        let this = if o.contains_key("startInMs") || o.contains_key("inMs") {
            KeyFormat::Legacy
        } else {
            KeyFormat::Current
        };
        match format {
            None => format = Some(this),
            Some(f) if f != this => {
                return Err(bad(format!(
                    "mixes {this:?} keys into a file of {f:?} keys"
                )))
            }
            _ => {}
        }
        let num = |k: &str| -> Result<Option<f64>, ExportError> {
            match o.get(k) {
                None | Some(serde_json::Value::Null) => Ok(None),
                Some(v) => match v.as_f64() {
                    Some(x) if x.is_finite() => Ok(Some(x)),
                    _ => Err(bad(format!("`{k}` is not a finite number: {v}"))),
                },
            }
        };
        let req = |k: &str| -> Result<f64, ExportError> {
            num(k)?.ok_or_else(|| bad(format!("missing `{k}`")))
        };
        let (pre, post) = match this {
            KeyFormat::Current => (("startH2dMs", "endH2dMs"), ("startD2hMs", "endD2hMs")),
            KeyFormat::Legacy => (("startInMs", "endInMs"), ("startOutMs", "endOutMs")),
        };
        let (h2d_key, d2h_key) = match this {
            KeyFormat::Current => ("h2dMs", "d2hMs"),
            KeyFormat::Legacy => ("inMs", "outMs"),
        };
        let compute_ms = req("computeMs")?;
        let h2d_ms = num(h2d_key)?.unwrap_or(0.0);
        let d2h_ms = num(d2h_key)?.unwrap_or(0.0);
        let latency_ms = match num("latencyMs")? {
            Some(l) => l,
            None => {
                latency_derived = true;
                h2d_ms + compute_ms + d2h_ms
            }
        };
        for (k, x) in [
            ("computeMs", compute_ms),
            (h2d_key, h2d_ms),
            (d2h_key, d2h_ms),
            ("latencyMs", latency_ms),
        ] {
            if x < 0.0 {
                return Err(bad(format!("`{k}` is negative ({x})")));
            }
            if x > adasval_core::timing::MAX_LATENCY_MS {
                return Err(bad(format!(
                    "`{k}` is {x} ms, longer than the longest latency accepted ({} ms, one hour)",
                    adasval_core::timing::MAX_LATENCY_MS
                )));
            }
        }
        samples.push(TimesSample {
            start_enq_ms: num("startEnqMs")?,
            end_enq_ms: num("endEnqMs")?,
            start_h2d_ms: num(pre.0)?,
            end_h2d_ms: num(pre.1)?,
            start_compute_ms: num("startComputeMs")?,
            end_compute_ms: num("endComputeMs")?,
            start_d2h_ms: num(post.0)?,
            end_d2h_ms: num(post.1)?,
            h2d_ms,
            compute_ms,
            d2h_ms,
            latency_ms,
            end_to_end_ms: num("endToEndMs")?,
        });
    }
    Ok(Times {
        key_format: format.unwrap_or(KeyFormat::Current),
        latency_derived,
        samples,
    })
}

/// One layer: `--exportProfile` timings joined by name with `--exportLayerInfo` details.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct LayerRecord {
    pub name: String,
    /// Position in the engine's execution order (graph.json order, else profile order).
    pub index: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tactic: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub average_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub median_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percentage: Option<f64>,
    /// The layer's full `--exportLayerInfo` object, as exported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub info: Option<serde_json::Value>,
}

/// Parsed `--exportProfile`: the iteration count and per-layer times.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Profile {
    pub count: u64,
    pub layers: Vec<LayerRecord>,
}

pub fn parse_profile(path: &Path, v: &serde_json::Value) -> Result<Profile, ExportError> {
    let shown = path.display().to_string();
    let items = v.as_array().ok_or_else(|| ExportError::Format {
        path: shown.clone(),
        message: "expected a JSON array ({\"count\": N} then one object per layer)".into(),
    })?;
    let count = items
        .first()
        .and_then(|f| f.get("count"))
        .and_then(|c| c.as_u64())
        .ok_or_else(|| ExportError::Format {
            path: shown.clone(),
            message: "first element must be {\"count\": N}".into(),
        })?;
    let mut layers = Vec::new();
    for (i, it) in items.iter().enumerate().skip(1) {
        let bad = |m: &str| ExportError::Item {
            path: shown.clone(),
            item: i,
            message: m.to_string(),
        };
        let name = it
            .get("name")
            .and_then(|n| n.as_str())
            .ok_or_else(|| bad("missing `name`"))?;
        let f = |k: &str| it.get(k).and_then(|x| x.as_f64());
        layers.push(LayerRecord {
            name: name.to_string(),
            index: i - 1,
            time_ms: Some(f("timeMs").ok_or_else(|| bad("missing `timeMs`"))?),
            average_ms: f("averageMs"),
            median_ms: f("medianMs"),
            percentage: f("percentage"),
            ..Default::default()
        });
    }
    Ok(Profile { count, layers })
}

/// Parse `--exportLayerInfo` (graph.json): `{"Layers": [...], "Bindings": [...]}`, where a
/// layer is an object (detailed verbosity) or just its name (layer_names_only).
pub fn parse_layer_info(
    path: &Path,
    v: &serde_json::Value,
) -> Result<(Vec<LayerRecord>, Vec<String>), ExportError> {
    let shown = path.display().to_string();
    let layers = v
        .get("Layers")
        .and_then(|l| l.as_array())
        .ok_or_else(|| ExportError::Format {
            path: shown.clone(),
            message: "missing `Layers` array".into(),
        })?;
    let mut out = Vec::with_capacity(layers.len());
    for (i, l) in layers.iter().enumerate() {
        let rec = match l {
            serde_json::Value::String(s) => LayerRecord {
                name: s.clone(),
                index: i,
                ..Default::default()
            },
            serde_json::Value::Object(o) => LayerRecord {
                name: o
                    .get("Name")
                    .and_then(|n| n.as_str())
                    .ok_or_else(|| ExportError::Item {
                        path: shown.clone(),
                        item: i,
                        message: "layer without `Name`".into(),
                    })?
                    .to_string(),
                index: i,
                layer_type: o
                    .get("LayerType")
                    .and_then(|n| n.as_str())
                    .map(str::to_string),
                tactic: o
                    .get("TacticName")
                    .or_else(|| o.get("TacticValue"))
                    .and_then(|n| n.as_str())
                    .map(str::to_string),
                info: Some(l.clone()),
                ..Default::default()
            },
            _ => {
                return Err(ExportError::Item {
                    path: shown,
                    item: i,
                    message: "a layer is neither an object nor a name".into(),
                })
            }
        };
        out.push(rec);
    }
    let bindings = v
        .get("Bindings")
        .and_then(|b| b.as_array())
        .map(|b| {
            b.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    Ok((out, bindings))
}

/// Join profile times onto graph layers by name (graph order wins); profile entries with
/// no graph layer (e.g. reformatting layers trtexec adds) are appended.
pub fn join_layers(graph: Option<Vec<LayerRecord>>, profile: Option<&Profile>) -> Vec<LayerRecord> {
    let Some(mut g) = graph else {
        return profile.map(|p| p.layers.clone()).unwrap_or_default();
    };
    if let Some(p) = profile {
        let mut extra = Vec::new();
        for pl in &p.layers {
            match g
                .iter_mut()
                .find(|l| l.name == pl.name && l.time_ms.is_none())
            {
                Some(l) => {
                    l.time_ms = pl.time_ms;
                    l.average_ms = pl.average_ms;
                    l.median_ms = pl.median_ms;
                    l.percentage = pl.percentage;
                }
                None => extra.push(pl.clone()),
            }
        }
        let n = g.len();
        for (k, mut e) in extra.into_iter().enumerate() {
            e.index = n + k;
            g.push(e);
        }
    }
    g
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_keys_map_to_current_names() {
        let v = serde_json::json!([
            {"startInMs": 1.0, "endInMs": 1.25, "startComputeMs": 1.25, "endComputeMs": 3.25,
             "startOutMs": 3.25, "endOutMs": 3.5, "inMs": 0.25, "computeMs": 2.0,
             "outMs": 0.25, "latencyMs": 2.5, "endToEndMs": 2.5}
        ]);
        let t = parse_times(Path::new("old.json"), &v).unwrap();
        assert_eq!(t.key_format, KeyFormat::Legacy);
        let s = &t.samples[0];
        assert_eq!(s.start_h2d_ms, Some(1.0));
        assert_eq!(s.end_h2d_ms, Some(1.25));
        assert_eq!(s.start_d2h_ms, Some(3.25));
        assert_eq!(s.end_d2h_ms, Some(3.5));
        assert_eq!((s.h2d_ms, s.compute_ms, s.d2h_ms), (0.25, 2.0, 0.25));
        assert_eq!(s.end_to_end_ms, Some(2.5));
        assert_eq!(s.start_enq_ms, None);
    }

    #[test]
    fn mixed_negative_and_missing_fields_are_refused() {
        let p = Path::new("t.json");
        let mixed =
            serde_json::json!([{"computeMs": 1.0, "h2dMs": 0.0}, {"inMs": 0.1, "computeMs": 1.0}]);
        assert!(matches!(
            parse_times(p, &mixed),
            Err(ExportError::Item { item: 1, .. })
        ));
        let neg = serde_json::json!([{"computeMs": -1.0}]);
        assert!(parse_times(p, &neg).is_err());
        let missing = serde_json::json!([{"h2dMs": 0.1}]);
        assert!(parse_times(p, &missing).is_err());
        let derived = parse_times(
            p,
            &serde_json::json!([{"h2dMs": 0.5, "computeMs": 1.0, "d2hMs": 0.25}]),
        )
        .unwrap();
        assert!(derived.latency_derived);
        assert_eq!(derived.samples[0].latency_ms, 1.75);
    }

    #[test]
    fn profile_and_graph_join_by_name() {
        let prof = serde_json::json!([{"count": 10},
            {"name": "a", "timeMs": 1.0, "averageMs": 0.1, "medianMs": 0.1, "percentage": 25.0},
            {"name": "reformat", "timeMs": 3.0, "averageMs": 0.3, "medianMs": 0.3, "percentage": 75.0}]);
        let p = parse_profile(Path::new("p"), &prof).unwrap();
        assert_eq!(p.count, 10);
        let graph = serde_json::json!({"Layers": [{"Name": "a", "LayerType": "CaskConvolution"}, "b"], "Bindings": ["in", "out"]});
        let (g, b) = parse_layer_info(Path::new("g"), &graph).unwrap();
        assert_eq!(b, vec!["in", "out"]);
        let j = join_layers(Some(g), Some(&p));
        assert_eq!(j.len(), 3);
        assert_eq!(j[0].time_ms, Some(1.0));
        assert_eq!(j[0].layer_type.as_deref(), Some("CaskConvolution"));
        assert_eq!(j[1].name, "b");
        assert_eq!(j[1].time_ms, None);
        assert_eq!((j[2].name.as_str(), j[2].index), ("reformat", 2));
        assert!(parse_profile(Path::new("p"), &serde_json::json!([{"name": "x"}])).is_err());
    }
    #[test]
    fn fields_are_found_by_current_and_legacy_names() {
        let v = serde_json::json!([
            {"startInMs": 1.0, "endInMs": 1.25, "inMs": 0.25, "computeMs": 2.0,
             "outMs": 0.5, "latencyMs": 2.75, "endToEndMs": 3.0}
        ]);
        let t = parse_times(Path::new("old.json"), &v).unwrap();
        let s = &t.samples[0];
        assert_eq!(s.field("inMs"), Some(0.25));
        assert_eq!(s.field("h2dMs"), Some(0.25));
        assert_eq!(s.field("outMs"), s.field("d2hMs"));
        assert_eq!(s.field("latencyMs"), Some(2.75));
        assert_eq!(s.field("endToEndMs"), Some(3.0));
        assert_eq!(s.field("startEnqMs"), None);
        assert_eq!(s.field("nonsense"), None);
    }
}
