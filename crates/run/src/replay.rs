//! Replay: the timed loop. Frames are decoded and preprocessed before timing starts (disk
//! I/O excluded, as in the study); then warm-up runs, then N timed repetitions in
//! sequential or seeded shuffled order. Samples are kept raw, in acquisition order. An
//! error or Ctrl-C mid-run keeps what was measured and marks the trace incomplete.
//!
//! The timed region of a frame is `Session::run_lent` alone: the backend's transfer of the
//! frame, the inference, the transfer of the outputs into host memory the harness reads,
//! and the wait for them. Frames may be staged with the backend first ([`stage`]), and
//! outputs are read through the lent borrow; they are copied only to keep raw outputs,
//! after the clock has stopped.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::backend::{NothingStaged, Prepared, Session, StagedInputs};
use crate::decode;
use crate::preprocess::{preprocess, Transform};
use adasval_core::tensor::{outputs_hash, Tensor};
use adasval_core::types::Detection;
use adasval_record::adapter::Adapter;
pub use adasval_record::trace::{
    Order, PrecisionTarget, QuantileInterval, RunBounds, Sample, StopReason, StopRecord,
    TraceSettings, Width,
};
use adasval_scenario::LoadedFrame;

/// A frame ready for the timed loop.
pub struct PreparedFrame {
    pub index: usize,
    pub input: Tensor,
    pub transform: Transform,
    pub pre_ns: u64,
}

/// Preprocess every frame (before any timing); `pre_ns` is each frame's own cost.
pub fn prepare_frames(adapter: &Adapter, frames: &[LoadedFrame]) -> Vec<PreparedFrame> {
    frames
        .iter()
        .map(|f| {
            let t0 = Instant::now();
            let (input, transform) = preprocess(adapter, &f.image);
            PreparedFrame {
                index: f.index,
                input,
                transform,
                pre_ns: t0.elapsed().as_nanos() as u64,
            }
        })
        .collect()
}

/// Hand every prepared frame to the backend before timing (`Prepared::stage_inputs`); keep
/// the guard alive while sessions run the frames. A backend that cannot stage says why in
/// the description and the frames run unstaged: staging never stops a run.
pub fn stage<'a>(
    prepared: &'a dyn Prepared,
    frames: &'a [PreparedFrame],
) -> (Box<dyn StagedInputs + 'a>, Option<String>) {
    let inputs: Vec<&Tensor> = frames.iter().map(|f| &f.input).collect();
    match prepared.stage_inputs(&inputs) {
        Ok(g) => {
            let d = g.describe();
            (g, d)
        }
        Err(e) => (
            Box::new(NothingStaged),
            Some(format!("off: staging failed ({e}); frames run unstaged")),
        ),
    }
}

/// Everything measured for one (engine, scenario) trace.
#[derive(Debug, Default)]
pub struct TraceResult {
    pub samples: Vec<Sample>,
    /// Detections of each frame's first timed repetition, indexed by frame position.
    pub detections: Vec<Option<Vec<Detection>>>,
    /// SHA-256 of each frame's raw outputs (first repetition).
    pub output_sha256: Vec<Option<String>>,
    /// Raw outputs of each frame's first repetition, when requested.
    pub raw_outputs: Vec<Option<Vec<Tensor>>>,
    /// Repetitions whose outputs differed from the frame's first repetition.
    pub nondeterministic: u32,
    pub error: Option<String>,
    pub interrupted: bool,
    /// With concurrent streams (`--streams`): each stream's part of `samples` and its
    /// timing window; empty for the classic single-stream replay.
    pub streams: Vec<crate::streams::StreamSpan>,
    /// Why the timed loop ended (absent when it never started).
    pub stop: Option<StopRecord>,
}

impl TraceResult {
    pub fn complete(&self) -> bool {
        self.error.is_none() && !self.interrupted
    }
}

/// Observer of replay progress (a progress bar in the CLI; nothing in tests).
pub trait Progress {
    fn inc(&self) {}
}
pub struct NoProgress;
impl Progress for NoProgress {}

/// The fixed (frame, repetition) order of a trace.
pub fn schedule(n_frames: usize, s: &TraceSettings) -> Vec<(u32, u32)> {
    let mut order: Vec<(u32, u32)> = (0..s.repetitions)
        .flat_map(|r| (0..n_frames as u32).map(move |f| (f, r)))
        .collect();
    if s.order == Order::Shuffled {
        adasval_core::rng::SplitMix64::new(s.seed).shuffle(&mut order);
    }
    order
}

/// The frame order of pass `pass` beyond the planned repetitions: every frame once, in
/// an order of its own derived from the trace's seed (so a bounded run is reproducible).
fn extra_pass(n_frames: usize, s: &TraceSettings, pass: u32) -> Vec<(u32, u32)> {
    let mut order: Vec<(u32, u32)> = (0..n_frames as u32).map(|f| (f, pass)).collect();
    if s.order == Order::Shuffled {
        let seed = s.seed ^ (pass as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        adasval_core::rng::SplitMix64::new(seed).shuffle(&mut order);
    }
    order
}

/// The percentile's interval over the inference latencies measured so far; `None` until
/// the samples bound it on both sides.
pub fn quantile_interval(samples: &[Sample], target: &PrecisionTarget) -> Option<QuantileInterval> {
    let mut v: Vec<u64> = samples.iter().map(|s| s.infer_ns).collect();
    v.sort_unstable();
    let bounds =
        adasval_core::quantile_ci::quantile_bounds(v.len(), target.quantile, target.confidence);
    let (lo, hi) = bounds.both()?;
    // Nearest rank, as every reported percentile (`timing::percentile_sorted`).
    let rank = (target.quantile * v.len() as f64).ceil() as usize;
    Some(QuantileInterval {
        quantile: target.quantile,
        confidence: target.confidence,
        estimate_ns: v[rank.clamp(1, v.len()) - 1],
        low_ns: v[lo],
        high_ns: v[hi],
    })
}

/// Decides, after the planned passes, whether the timed loop goes on (see [`RunBounds`]).
struct StopRule<'a> {
    bounds: &'a RunBounds,
    /// Sample count at which the precision is next checked: sorting every sample after
    /// every inference would cost more than the inference, so checks grow geometrically.
    next_check: usize,
}

impl<'a> StopRule<'a> {
    fn new(bounds: &'a RunBounds) -> Self {
        Self {
            bounds,
            next_check: 0,
        }
    }

    /// `None`: keep measuring; `Some(reason)`: stop now.
    fn decide(&mut self, samples: &[Sample], elapsed: Duration) -> Option<StopReason> {
        let b = self.bounds;
        let short_of_count = b.min_inferences.is_some_and(|m| (samples.len() as u64) < m);
        let short_of_time = b.min_duration_s.is_some_and(|d| elapsed.as_secs_f64() < d);
        if short_of_count || short_of_time {
            return None;
        }
        let Some(target) = &b.precision else {
            return Some(StopReason::Planned);
        };
        if samples.len() >= self.next_check {
            self.next_check = samples.len() + (samples.len() / 20).max(50);
            if let Some(q) = quantile_interval(samples, target) {
                if ((q.high_ns - q.low_ns) as f64) <= target.max_width.ns(q.estimate_ns) {
                    return Some(StopReason::PrecisionReached);
                }
            }
        }
        if elapsed.as_secs_f64() >= target.max_duration_s {
            return Some(StopReason::TimeCap);
        }
        None
    }
}

/// FNV-1a over the outputs' 32-bit words (not bytes: a quarter of the steps): a cheap
/// per-repetition equality check, kept in memory only.
fn quick_hash(outputs: &[Tensor]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for t in outputs {
        for v in &t.data {
            h ^= v.to_bits() as u64;
            h = h.wrapping_mul(0x100_0000_01b3);
        }
    }
    h
}

/// Run one trace. Never panics on backend failure: the error is recorded.
pub fn run_trace(
    session: &mut dyn Session,
    adapter: &Adapter,
    frames: &[PreparedFrame],
    settings: &TraceSettings,
    keep_raw: bool,
    stop: &AtomicBool,
    progress: &dyn Progress,
) -> TraceResult {
    let n = frames.len();
    let mut r = TraceResult {
        detections: vec![None; n],
        output_sha256: vec![None; n],
        raw_outputs: (0..n).map(|_| None).collect(),
        ..Default::default()
    };
    if n == 0 {
        return r;
    }
    for i in 0..settings.warmup as usize {
        if let Err(e) = session.run_lent(&frames[i % n].input) {
            r.error = Some(format!("warm-up: {e}"));
            return r;
        }
    }
    let planned = schedule(n, settings);
    r.samples.reserve_exact(planned.len());
    let mut first_hash: Vec<Option<u64>> = vec![None; n];
    let period = settings.pace_fps.map(|f| Duration::from_secs_f64(1.0 / f));
    let mut next_slot = Instant::now();
    let mut rule = StopRule::new(&settings.bounds);
    // Known before the loop: an unbounded trace never consults the rule per inference.
    let bounded = !settings.bounds.is_unbounded();
    let mut pending = planned.into_iter();
    let mut passes = settings.repetitions;
    let mut reason = StopReason::Failed;
    let mut started: Option<Instant> = None;
    let mut last_end: Option<Instant> = None;
    loop {
        let (frame, rep) = match pending.next() {
            Some(pair) => pair,
            None => {
                let elapsed = match (started, last_end) {
                    (Some(a), Some(b)) => b - a,
                    _ => Duration::ZERO,
                };
                if let Some(why) = rule.decide(&r.samples, elapsed) {
                    reason = why;
                    break;
                }
                pending = extra_pass(n, settings, passes).into_iter();
                passes += 1;
                continue;
            }
        };
        if stop.load(Ordering::Relaxed) {
            r.interrupted = true;
            break;
        }
        if let Some(p) = period {
            let now = Instant::now();
            if next_slot > now {
                std::thread::sleep(next_slot - now);
            }
            next_slot = next_slot.max(now) + p;
        }
        let f = &frames[frame as usize];
        let t0 = Instant::now();
        let out = session.run_lent(&f.input);
        let t1 = Instant::now();
        started.get_or_insert(t0);
        last_end = Some(t1);
        let out = match out {
            Ok(o) => o,
            Err(e) => {
                r.error = Some(format!("frame {frame} repetition {rep}: {e}"));
                break;
            }
        };
        let dets = decode::decode(adapter, out.outputs(), &f.transform);
        let t2 = Instant::now();
        let dets = match dets {
            Ok(d) => d,
            Err(e) => {
                r.error = Some(format!("frame {frame} repetition {rep}: {e}"));
                break;
            }
        };
        let infer_ns = (t1 - t0).as_nanos() as u64;
        let post_ns = (t2 - t1).as_nanos() as u64;
        let device = out.device();
        r.samples.push(Sample {
            frame,
            rep,
            pre_ns: f.pre_ns,
            infer_ns,
            post_ns,
            total_ns: f.pre_ns + infer_ns + post_ns,
            device_h2d_ns: device.h2d_ns,
            device_compute_ns: device.compute_ns,
            device_d2h_ns: device.d2h_ns,
        });
        let fi = frame as usize;
        let qh = quick_hash(out.outputs());
        match first_hash[fi] {
            None => {
                first_hash[fi] = Some(qh);
                r.output_sha256[fi] = Some(outputs_hash(out.outputs()));
                r.detections[fi] = Some(dets);
                if keep_raw {
                    r.raw_outputs[fi] = Some(out.into_outputs());
                }
            }
            Some(h) if h != qh => r.nondeterministic += 1,
            Some(_) => {}
        }
        progress.inc();
        // Inside the planned passes the bounds are checked only when a pass runs out;
        // beyond them, before every inference, so a time cap or a met target ends the
        // loop mid-pass.
        if bounded && passes > settings.repetitions {
            let elapsed = last_end.zip(started).map_or(Duration::ZERO, |(b, a)| b - a);
            if let Some(why) = rule.decide(&r.samples, elapsed) {
                reason = why;
                break;
            }
        }
    }
    if r.error.is_some() || r.interrupted {
        reason = StopReason::Failed;
    }
    let elapsed = last_end.zip(started).map_or(Duration::ZERO, |(b, a)| b - a);
    r.stop = Some(StopRecord {
        reason,
        passes,
        elapsed_s: elapsed.as_secs_f64(),
        quantile_interval_ns: settings
            .bounds
            .precision
            .as_ref()
            .and_then(|t| quantile_interval(&r.samples, t)),
    });
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_covers_every_pair_once() {
        let s = TraceSettings {
            repetitions: 3,
            warmup: 0,
            order: Order::Shuffled,
            seed: 9,
            pace_fps: None,
            bounds: Default::default(),
        };
        let mut o = schedule(5, &s);
        assert_eq!(o.len(), 15);
        let shuffled = o.clone();
        o.sort();
        o.dedup();
        assert_eq!(o.len(), 15);
        assert_ne!(shuffled, o, "a seeded shuffle should reorder");
        assert_eq!(schedule(5, &s), shuffled, "same seed, same order");
    }
}
