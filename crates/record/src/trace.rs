//! What one trace's settings and samples look like on record: the replay fills these in,
//! `run.json` and `latencies.csv` store them, and every judge reads them back.

use serde::{Deserialize, Serialize};

use adasval_core::timing::LatencySummary;

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum Order {
    Sequential,
    /// The command line's default.
    #[default]
    Shuffled,
}

/// Settings of one trace as they took effect.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct TraceSettings {
    pub repetitions: u32,
    pub warmup: u32,
    pub order: Order,
    pub seed: u64,
    /// Sleep between inferences to the scenario's frame period.
    pub pace_fps: Option<f64>,
    /// How long the trace runs beyond its `repetitions` passes (absent: exactly those).
    #[serde(default, skip_serializing_if = "RunBounds::is_unbounded")]
    pub bounds: RunBounds,
}

/// Time- and count-bounded runs, as trtexec (`--duration`, `--iterations`) and MLPerf
/// LoadGen (`min_duration`, `min_query_count`, early stopping) bound theirs. Every pass over
/// the frames runs whole first (`repetitions` of them); then more passes run, each in its own
/// seeded order, until every minimum is met, and, with a precision target, until the
/// percentile is known to the asked width or the time cap is reached.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct RunBounds {
    /// At least this many timed inferences.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_inferences: Option<u64>,
    /// At least this many seconds of timed inferences.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_duration_s: Option<f64>,
    /// Keep measuring until a latency percentile is known this well.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub precision: Option<PrecisionTarget>,
}

impl RunBounds {
    pub fn is_unbounded(&self) -> bool {
        *self == RunBounds::default()
    }
}

/// Stop once the distribution-free confidence interval of the `quantile` of the inference
/// latency (`infer_ns`) is narrower than `max_width`, or after `max_duration_s`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PrecisionTarget {
    /// The percentile as a probability, e.g. 0.99.
    pub quantile: f64,
    /// Two-sided confidence of the interval, e.g. 0.95.
    pub confidence: f64,
    pub max_width: Width,
    /// Time cap of the trace's timed inferences, in seconds.
    pub max_duration_s: f64,
}

/// A width: relative to the percentile's point estimate, or absolute.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum Width {
    /// A fraction of the point estimate (0.02 for 2 %).
    Relative(f64),
    Nanoseconds(u64),
}

impl Width {
    /// The width in nanoseconds for a percentile estimated at `point_ns`.
    pub fn ns(&self, point_ns: u64) -> f64 {
        match *self {
            Width::Relative(f) => f * point_ns as f64,
            Width::Nanoseconds(w) => w as f64,
        }
    }
}

impl std::fmt::Display for Width {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Width::Relative(x) => write!(f, "{}% of the estimate", x * 100.0),
            Width::Nanoseconds(ns) => write!(f, "{} ms", ns as f64 / 1e6),
        }
    }
}

/// Why a trace's timed loop ended, and what it had reached (`run.json`, `traces[].stop`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StopRecord {
    pub reason: StopReason,
    /// Passes over the frames begun (the last may be partial once a minimum is met).
    pub passes: u32,
    /// Seconds from the first to the end of the last timed inference.
    pub elapsed_s: f64,
    /// With a precision target: the percentile's interval when the loop ended, absent when
    /// the samples could not bound it on both sides yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantile_interval_ns: Option<QuantileInterval>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// The planned passes, inference count and duration were all reached.
    Planned,
    /// The precision target was met.
    PrecisionReached,
    /// The precision target's time cap was reached before the target.
    TimeCap,
    /// An inference failed or the user interrupted: see the trace's `failure`.
    Failed,
}

impl StopReason {
    pub fn describe(&self) -> &'static str {
        match self {
            StopReason::Planned => "planned passes, count and duration reached",
            StopReason::PrecisionReached => "precision target met",
            StopReason::TimeCap => "time cap reached before the precision target",
            StopReason::Failed => "ended by a failure or an interruption",
        }
    }
}

/// A percentile's point estimate and confidence interval, in nanoseconds.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct QuantileInterval {
    pub quantile: f64,
    pub confidence: f64,
    pub estimate_ns: u64,
    pub low_ns: u64,
    pub high_ns: u64,
}

/// One timed inference, in acquisition order.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    pub frame: u32,
    pub rep: u32,
    pub pre_ns: u64,
    pub infer_ns: u64,
    pub post_ns: u64,
    pub total_ns: u64,
    /// Backend-measured host-to-device copy, compute and device-to-host copy (device
    /// events), when the backend reports them.
    pub device_h2d_ns: Option<u64>,
    pub device_compute_ns: Option<u64>,
    pub device_d2h_ns: Option<u64>,
}

/// Concurrency facts of one trace, stored in `run.json` (`traces[].streams`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StreamsRecord {
    pub count: u32,
    /// Length of the common window: from the last stream's start to the first stream's
    /// last completion, i.e. while every stream was timing.
    pub common_window_ns: u64,
    /// Inferences that completed inside the common window.
    pub samples_in_common_window: usize,
    /// `samples_in_common_window / common_window` (frames per second, all streams
    /// together); `None` when some stream measured nothing.
    pub throughput_fps: Option<f64>,
    /// From the first stream's start to the last stream's last completion.
    pub span_ns: u64,
    pub per_stream: Vec<StreamRecord>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StreamRecord {
    pub stream: u32,
    pub samples: usize,
    pub complete: bool,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub stopped_by_other: bool,
    /// Start and last completion relative to the earliest stream's start.
    pub start_ns: u64,
    pub end_ns: u64,
    pub output_mismatches: u32,
    pub infer_ns: LatencySummary,
}
