//! `sweep.json`: what a stream sweep measured, per stream count, and its stability study.

use crate::record::BackendInfo;
use serde::Serialize;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Percentiles {
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl Percentiles {
    /// Nearest-rank percentiles of nanosecond samples, in ms.
    pub fn of(ns: &[u64]) -> Self {
        let s = adasval_core::timing::summarize(ns);
        Self {
            p50_ms: s.p50 / 1e6,
            p90_ms: s.p90 / 1e6,
            p99_ms: s.p99 / 1e6,
            max_ms: s.max / 1e6,
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct WorstStream {
    pub stream: u32,
    pub samples: usize,
    pub latency: Percentiles,
}

/// One stream count of the sweep.
#[derive(Debug, Clone, Serialize)]
pub struct SweepPoint {
    pub streams: u32,
    /// Run directory of this point, relative to the sweep directory.
    pub run_dir: String,
    pub complete: bool,
    /// Timed inferences over all streams and scenarios.
    pub samples: usize,
    /// Frames per second of all streams together inside the common windows (every stream
    /// timing), summed over scenarios: Σ completions in window / Σ window length.
    pub throughput_fps: Option<f64>,
    pub common_window_s: f64,
    /// `throughput(N) / (N × throughput(first point) / first N)`: 1 is linear scaling.
    pub scaling_efficiency: Option<f64>,
    /// Inference latency (`infer_ns`) of every sample of every stream, pooled.
    pub latency: Percentiles,
    /// The stream with the highest p99 (its samples pooled over scenarios).
    pub worst_stream: Option<WorstStream>,
    pub deadline_misses: usize,
    /// Frames whose output differed between streams or repetitions.
    pub output_mismatches: u32,
    pub gpu_utilisation: GpuUtilisation,
}

#[derive(Debug, Clone, Serialize)]
pub struct StabilityRun {
    pub run: u32,
    pub run_dir: String,
    pub complete: bool,
    pub samples: usize,
    pub median_ms: f64,
    pub p99_ms: f64,
}

/// Run-to-run spread of the same engine at one stream (the study's Table XII).
#[derive(Debug, Clone, Serialize)]
pub struct Stability {
    pub runs: Vec<StabilityRun>,
    /// max − min of the runs' medians.
    pub median_spread_ms: Option<f64>,
    /// Coefficient of variation of the runs' medians (sample standard deviation / mean).
    pub median_cv: Option<f64>,
    pub p99_spread_ms: Option<f64>,
    /// Kruskal–Wallis test that every run's latencies come from one distribution.
    pub kruskal_wallis: Option<KruskalWallis>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SweepEngine {
    pub name: String,
    pub sha256: String,
    pub format: String,
}

/// `sweep.json`.
#[derive(Debug, Clone, Serialize)]
pub struct SweepRecord {
    pub schema_version: u32,
    pub complete: bool,
    pub incomplete_reasons: Vec<String>,
    pub started_at: String,
    pub finished_at: String,
    pub command_line: Vec<String>,
    pub engine: Option<SweepEngine>,
    pub backend: Option<BackendInfo>,
    pub platform: Option<String>,
    pub scenarios: Vec<String>,
    /// validate's settings as requested (selection, repetitions, warm-up, order, seed).
    pub settings: serde_json::Value,
    /// The latency every percentile refers to.
    pub latency_stage: String,
    pub points: Vec<SweepPoint>,
    pub saturation: Saturation,
    pub stability: Option<Stability>,
    /// Build-to-build spread lives in `adasval matrix`; this says how to get it.
    pub build_to_build: String,
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct KruskalWallis {
    /// H statistic, corrected for ties (as `scipy.stats.kruskal`).
    pub h: f64,
    pub df: usize,
    /// Asymptotic chi-square p-value with `df` degrees of freedom.
    pub p_value: f64,
}

/// Utilisation of one sweep point.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct GpuUtilisation {
    pub mean_pct: Option<f64>,
    pub max_pct: Option<f64>,
    pub samples: usize,
    /// `nvidia-smi`, `tegrastats`, or `null`.
    pub source: Option<String>,
    /// Why there is no figure.
    pub unavailable: Option<String>,
}

impl GpuUtilisation {
    pub fn unavailable(reason: impl Into<String>) -> Self {
        Self {
            mean_pct: None,
            max_pct: None,
            samples: 0,
            source: None,
            unavailable: Some(reason.into()),
        }
    }

    pub fn from_samples(source: &str, v: &[f64], none_reason: &str) -> Self {
        if v.is_empty() {
            return Self::unavailable(none_reason);
        }
        Self {
            mean_pct: Some(v.iter().sum::<f64>() / v.len() as f64),
            max_pct: Some(v.iter().copied().fold(f64::NEG_INFINITY, f64::max)),
            samples: v.len(),
            source: Some(source.into()),
            unavailable: None,
        }
    }
}
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Saturation {
    /// The saturation point, when the sweep reached one.
    pub streams: Option<u32>,
    /// Relative throughput gain below which more streams count as buying nothing.
    pub gain_threshold: f64,
    pub definition: String,
    /// Why this point (or why none), in words.
    pub reason: String,
}
