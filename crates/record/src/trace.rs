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
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TraceSettings {
    pub repetitions: u32,
    pub warmup: u32,
    pub order: Order,
    pub seed: u64,
    /// Sleep between inferences to the scenario's frame period.
    pub pace_fps: Option<f64>,
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
