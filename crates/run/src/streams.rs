//! Concurrent camera streams (`validate --streams N`, `sweep`): part of the replay stage.
//! One [`Prepared`] engine is shared by N host threads; each thread opens its own
//! [`Session`] (for a GPU backend, its own device stream), warms up, waits at a barrier so
//! that every stream starts timing together, then replays the whole trace with
//! [`replay::run_trace`]. Each stream keeps its samples in acquisition order; the merged
//! trace lists stream 0's samples, then stream 1's, and so on, with a [`StreamSpan`] per
//! stream saying which samples are its own and when each one completed.
//!
//! Detections and output hashes come from stream 0; every other stream's per-frame output
//! hash is compared with stream 0's and differences count as nondeterministic repetitions
//! (concurrency must not change outputs). A stream that fails stops the others at their
//! next frame; everything measured is kept and the trace is incomplete.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Barrier;
use std::time::Instant;

use crate::backend::{BackendError, InferOutput, LentOutput, Prepared, Session};
use crate::replay::{self, NoProgress, PreparedFrame, Progress, TraceResult, TraceSettings};
use adasval_core::tensor::Tensor;
use adasval_record::adapter::Adapter;
pub use adasval_record::trace::{StreamRecord, StreamsRecord};

/// Most concurrent streams one trace may ask for (one host thread each).
pub const MAX_STREAMS: u32 = 1024;

/// One stream's share of a merged trace (in memory; [`StreamsRecord`] is what is stored).
#[derive(Debug, Clone)]
pub struct StreamSpan {
    pub stream: u32,
    /// Index of this stream's first sample in the merged `samples`.
    pub first_sample: usize,
    pub samples: usize,
    /// When the stream started timing (just after the common barrier).
    pub start: Instant,
    /// Completion instant of each of this stream's samples, in acquisition order.
    pub ends: Vec<Instant>,
    pub error: Option<String>,
    /// Stopped early because another stream failed.
    pub stopped_by_other: bool,
    pub interrupted: bool,
    /// Frames whose first output differed from stream 0's.
    pub output_mismatches: u32,
}

/// Times each completed inference and turns a failure (or Ctrl-C) into a stop for every
/// stream of the trace.
struct ClockedSession<'a> {
    inner: Box<dyn Session>,
    ends: Vec<Instant>,
    abort: &'a AtomicBool,
    stop: &'a AtomicBool,
}

impl Session for ClockedSession<'_> {
    fn run(&mut self, input: &Tensor) -> Result<InferOutput, BackendError> {
        let out = self.inner.run(input);
        clock(&mut self.ends, self.abort, self.stop, out.is_err());
        out
    }

    fn run_lent(&mut self, input: &Tensor) -> Result<LentOutput<'_>, BackendError> {
        let out = self.inner.run_lent(input);
        clock(&mut self.ends, self.abort, self.stop, out.is_err());
        out
    }
}

/// One inference ended: its end time, and a failure or Ctrl-C stops every stream.
fn clock(ends: &mut Vec<Instant>, abort: &AtomicBool, stop: &AtomicBool, failed: bool) {
    ends.push(Instant::now());
    if failed || stop.load(Ordering::Relaxed) {
        abort.store(true, Ordering::Relaxed);
    }
}

struct StreamOutput {
    result: TraceResult,
    start: Instant,
    ends: Vec<Instant>,
    /// The session could not be opened: reported like the single-stream path's error.
    open_error: Option<BackendError>,
}

fn panic_text(p: Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic".into())
}

/// One stream: open a session, warm up, meet the others at the barrier, replay.
#[allow(clippy::too_many_arguments)]
fn one_stream(
    prepared: &dyn Prepared,
    adapter: &Adapter,
    frames: &[PreparedFrame],
    settings: &TraceSettings,
    keep_raw: bool,
    barrier: &Barrier,
    abort: &AtomicBool,
    stop: &AtomicBool,
    progress: &dyn Progress,
) -> StreamOutput {
    let mut out = TraceResult {
        detections: vec![None; frames.len()],
        output_sha256: vec![None; frames.len()],
        raw_outputs: (0..frames.len()).map(|_| None).collect(),
        ..Default::default()
    };
    let mut open_error = None;
    // Phase 1, before the barrier: every path must reach the barrier exactly once.
    let warmed = catch_unwind(AssertUnwindSafe(|| -> Result<Box<dyn Session>, String> {
        let mut s = prepared.session().map_err(|e| {
            let text = e.to_string();
            open_error = Some(e);
            text
        })?;
        if !frames.is_empty() {
            for i in 0..settings.warmup as usize {
                s.run_lent(&frames[i % frames.len()].input)
                    .map_err(|e| format!("warm-up: {e}"))?;
            }
        }
        Ok(s)
    }))
    .unwrap_or_else(|p| Err(format!("panic in warm-up: {}", panic_text(p))));
    if warmed.is_err() {
        abort.store(true, Ordering::SeqCst);
    }
    barrier.wait();
    let start = Instant::now();
    let session = match warmed {
        Ok(s) => s,
        Err(e) => {
            out.error = Some(e);
            return StreamOutput {
                result: out,
                start,
                ends: Vec::new(),
                open_error,
            };
        }
    };
    let timed = TraceSettings {
        warmup: 0,
        ..settings.clone()
    };
    let mut clocked = ClockedSession {
        inner: session,
        ends: Vec::new(),
        abort,
        stop,
    };
    let replayed = catch_unwind(AssertUnwindSafe(|| {
        replay::run_trace(
            &mut clocked,
            adapter,
            frames,
            &timed,
            keep_raw,
            abort,
            progress,
        )
    }));
    let result = match replayed {
        Ok(r) => r,
        Err(p) => {
            abort.store(true, Ordering::SeqCst);
            out.error = Some(format!("panic: {}", panic_text(p)));
            out
        }
    };
    let mut ends = clocked.ends;
    ends.truncate(result.samples.len());
    StreamOutput {
        result,
        start,
        ends,
        open_error,
    }
}

/// Replay one trace on `n` concurrent streams sharing `prepared`. Errors only when a
/// stream could not open its session (as the single-stream path does); failures while
/// running are recorded in the result.
#[allow(clippy::too_many_arguments)]
pub fn run_streams(
    prepared: &dyn Prepared,
    adapter: &Adapter,
    frames: &[PreparedFrame],
    settings: &TraceSettings,
    keep_raw: bool,
    stop: &AtomicBool,
    progress: &dyn Progress,
    n: u32,
) -> Result<TraceResult, BackendError> {
    let n = n.clamp(1, MAX_STREAMS);
    let barrier = Barrier::new(n as usize);
    let abort = AtomicBool::new(stop.load(Ordering::SeqCst));
    let outputs: Vec<StreamOutput> = std::thread::scope(|scope| {
        let handles: Vec<_> = (1..n)
            .map(|_| {
                let (barrier, abort) = (&barrier, &abort);
                scope.spawn(move || {
                    one_stream(
                        prepared,
                        adapter,
                        frames,
                        settings,
                        false,
                        barrier,
                        abort,
                        stop,
                        &NoProgress,
                    )
                })
            })
            .collect();
        // Stream 0 runs on this thread: it owns the progress bar and the raw outputs.
        let mut all = vec![one_stream(
            prepared, adapter, frames, settings, keep_raw, &barrier, &abort, stop, progress,
        )];
        for h in handles {
            all.push(h.join().unwrap_or_else(|p| StreamOutput {
                result: TraceResult {
                    error: Some(format!("panic: {}", panic_text(p))),
                    ..Default::default()
                },
                start: Instant::now(),
                ends: Vec::new(),
                open_error: None,
            }));
        }
        all
    });
    let interrupted = stop.load(Ordering::SeqCst);
    merge(outputs, interrupted)
}

fn merge(mut all: Vec<StreamOutput>, interrupted: bool) -> Result<TraceResult, BackendError> {
    let mut merged = TraceResult::default();
    if all.is_empty() {
        return Ok(merged);
    }
    if let Some(e) = all.iter_mut().find_map(|o| o.open_error.take()) {
        return Err(e);
    }
    let reference = all[0].result.output_sha256.clone();
    let failed = all.iter().any(|o| o.result.error.is_some());
    for (s, o) in all.into_iter().enumerate() {
        let mut r = o.result;
        let mismatches = r
            .output_sha256
            .iter()
            .zip(&reference)
            .filter(|(a, b)| matches!((a, b), (Some(a), Some(b)) if a != b))
            .count() as u32;
        let span = StreamSpan {
            stream: s as u32,
            first_sample: merged.samples.len(),
            samples: r.samples.len(),
            start: o.start,
            ends: o.ends,
            error: r.error.clone(),
            stopped_by_other: r.interrupted && !interrupted && failed,
            interrupted: r.interrupted && interrupted,
            output_mismatches: mismatches,
        };
        merged.nondeterministic += r.nondeterministic + mismatches;
        if merged.error.is_none() {
            merged.error = r.error.take().map(|e| format!("stream {s}: {e}"));
        }
        merged.samples.append(&mut r.samples);
        if s == 0 {
            merged.detections = r.detections;
            merged.output_sha256 = r.output_sha256;
            merged.raw_outputs = r.raw_outputs;
            // Each stream applied the bounds to itself; stream 0 speaks for the trace.
            merged.stop = r.stop.take();
        }
        merged.streams.push(span);
    }
    merged.interrupted = interrupted;
    Ok(merged)
}

/// Concurrency facts of a merged trace; `None` for a classic single-stream trace.
pub fn record(r: &TraceResult) -> Option<StreamsRecord> {
    let origin = r.streams.iter().map(|s| s.start).min()?;
    let rel = |t: Instant| t.saturating_duration_since(origin).as_nanos() as u64;
    let last = |s: &StreamSpan| s.ends.last().copied().unwrap_or(s.start);
    let common_start = r.streams.iter().map(|s| s.start).max()?;
    let common_end = r.streams.iter().map(last).min()?;
    let span_end = r.streams.iter().map(last).max()?;
    let all_measured = r.streams.iter().all(|s| !s.ends.is_empty());
    let window = common_end.saturating_duration_since(common_start);
    let in_window = r
        .streams
        .iter()
        .flat_map(|s| s.ends.iter())
        .filter(|&&t| t > common_start && t <= common_end)
        .count();
    let throughput_fps =
        (all_measured && !window.is_zero()).then(|| in_window as f64 / window.as_secs_f64());
    let per_stream = r
        .streams
        .iter()
        .map(|s| {
            let mine = &r.samples[s.first_sample..s.first_sample + s.samples];
            StreamRecord {
                stream: s.stream,
                samples: s.samples,
                complete: s.error.is_none() && !s.stopped_by_other && !s.interrupted,
                error: s.error.clone(),
                stopped_by_other: s.stopped_by_other,
                start_ns: rel(s.start),
                end_ns: rel(last(s)),
                output_mismatches: s.output_mismatches,
                infer_ns: adasval_core::timing::summarize(
                    &mine.iter().map(|x| x.infer_ns).collect::<Vec<_>>(),
                ),
            }
        })
        .collect();
    Some(StreamsRecord {
        count: r.streams.len() as u32,
        common_window_ns: window.as_nanos() as u64,
        samples_in_common_window: in_window,
        throughput_fps,
        span_ns: rel(span_end),
        per_stream,
    })
}

/// The stream index of every merged sample (for the `stream` column of latencies.csv);
/// `None` for a classic single-stream trace.
pub fn sample_streams(r: &TraceResult) -> Option<Vec<u32>> {
    if r.streams.is_empty() {
        return None;
    }
    let mut v = vec![0u32; r.samples.len()];
    for s in &r.streams {
        for x in v.iter_mut().skip(s.first_sample).take(s.samples) {
            *x = s.stream;
        }
    }
    Some(v)
}
