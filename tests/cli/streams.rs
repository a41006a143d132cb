//! Concurrent streams through the library with fake backends whose cost is a sleep (the
//! device works while the host thread waits, as with a GPU): throughput scales with the
//! streams; a device that serialises every inference saturates at once; one failing stream
//! ends the trace incomplete with every stream's samples kept. Shapes are asserted with
//! generous bounds, never timing figures.

use crate::common;

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use adasval::adapter::Adapter;
use adasval::backend::noop::NoopPrepared;
use adasval::backend::{BackendError, InferOutput, Prepared, Session};
use adasval::replay::{NoProgress, Order, PreparedFrame, TraceResult, TraceSettings};
use adasval::streams::{record, run_streams, sample_streams};
use adasval::sweep::{saturation, Point};
use adasval::tensor::Tensor;

fn adapter() -> Adapter {
    Adapter::parse(Path::new("fake.adapter.yaml"), common::NOOP_ADAPTER).unwrap()
}

fn frames(n: usize) -> Vec<PreparedFrame> {
    (0..n)
        .map(|i| PreparedFrame {
            index: i,
            input: Tensor::new("images", vec![1, 3, 1, 1], vec![i as f32; 3]),
            transform: common::identity_transform(),
            pre_ns: 0,
        })
        .collect()
}

fn settings(repetitions: u32) -> TraceSettings {
    TraceSettings {
        repetitions,
        warmup: 2,
        order: Order::Sequential,
        seed: 1,
        pace_fps: None,
        bounds: Default::default(),
    }
}

fn empty_outputs() -> Vec<Tensor> {
    vec![
        Tensor::new("boxes", vec![1, 0, 4], vec![]),
        Tensor::new("scores", vec![1, 0], vec![]),
        Tensor::new("classes", vec![1, 0], vec![]),
    ]
}

/// Every inference sleeps `cost`; with `device` set, inferences hold one shared lock
/// while they sleep (a device that runs one inference at a time). Session number
/// `fail.0` (in opening order) fails on its `fail.1`-th timed-or-warm-up inference.
struct Fake {
    cost: Duration,
    device: Option<Arc<Mutex<()>>>,
    fail: Option<(usize, usize)>,
    opened: AtomicUsize,
}

struct FakeSession {
    cost: Duration,
    device: Option<Arc<Mutex<()>>>,
    fail_at: Option<usize>,
    runs: usize,
}

impl Prepared for Fake {
    fn session(&self) -> Result<Box<dyn Session>, BackendError> {
        let id = self.opened.fetch_add(1, Ordering::SeqCst);
        Ok(Box::new(FakeSession {
            cost: self.cost,
            device: self.device.clone(),
            fail_at: self.fail.filter(|f| f.0 == id).map(|f| f.1),
            runs: 0,
        }))
    }
}

impl Session for FakeSession {
    fn run(&mut self, _input: &Tensor) -> Result<InferOutput, BackendError> {
        self.runs += 1;
        if self.fail_at == Some(self.runs) {
            return Err(BackendError::Run {
                backend: "fake".into(),
                message: "injected".into(),
            });
        }
        match &self.device {
            Some(d) => {
                let _busy = d.lock().unwrap();
                std::thread::sleep(self.cost);
            }
            None => std::thread::sleep(self.cost),
        }
        Ok(InferOutput {
            outputs: empty_outputs(),
            device: Default::default(),
        })
    }
}

fn fake(cost_ms: u64, serialised: bool, fail: Option<(usize, usize)>) -> Fake {
    Fake {
        cost: Duration::from_millis(cost_ms),
        device: serialised.then(|| Arc::new(Mutex::new(()))),
        fail,
        opened: AtomicUsize::new(0),
    }
}

fn run(p: &dyn Prepared, n: u32, frames_n: usize, reps: u32) -> TraceResult {
    let stop = AtomicBool::new(false);
    run_streams(
        p,
        &adapter(),
        &frames(frames_n),
        &settings(reps),
        false,
        &stop,
        &NoProgress,
        n,
    )
    .unwrap()
}

fn sweep_points(cost_ms: u64, serialised: bool) -> Vec<Point> {
    [1u32, 2, 4, 8]
        .iter()
        .map(|&n| {
            let r = run(&fake(cost_ms, serialised, None), n, 10, 3);
            assert!(r.complete(), "{:?}", r.error);
            let rec = record(&r).unwrap();
            let mut infer: Vec<u64> = r.samples.iter().map(|s| s.infer_ns).collect();
            infer.sort_unstable();
            Point {
                streams: n,
                throughput_fps: rec.throughput_fps.unwrap(),
                p99_ms: infer[(infer.len() * 99).div_ceil(100) - 1] as f64 / 1e6,
            }
        })
        .collect()
}

#[test]
fn sleep_bound_streams_scale_and_a_serialised_device_saturates_at_once() {
    let free = sweep_points(4, false);
    // Ideal: 250 frames/s per stream. Generous bounds: 8 streams give more than 4x one.
    assert!(
        free[3].throughput_fps > 4.0 * free[0].throughput_fps,
        "{free:?}"
    );
    for w in free.windows(2) {
        assert!(w[1].throughput_fps > 1.3 * w[0].throughput_fps, "{free:?}");
    }
    assert_eq!(saturation(&free, 0.05).streams, None, "{free:?}");

    let serial = sweep_points(12, true);
    // One inference at a time: more streams only queue (throughput flat, latency grows).
    assert!(
        serial[3].throughput_fps < 1.5 * serial[0].throughput_fps,
        "{serial:?}"
    );
    assert!(serial[3].p99_ms > 4.0 * serial[0].p99_ms, "{serial:?}");
    // One stream also leaves the device idle for the harness's own work and the sleep's
    // wake-up between inferences, which a queued second stream hides: on a loaded 2-core
    // machine that was worth 6.5-11% of a 4 ms inference (229 vs 244, 221 vs 244 frames/s).
    // Hence a 12 ms inference for the serialised case, judged with a 10% gain threshold.
    assert_eq!(saturation(&serial, 0.10).streams, Some(1), "{serial:?}");
}

#[test]
fn samples_keep_their_stream_and_order() {
    let r = run(&fake(1, false, None), 3, 4, 2);
    assert!(r.complete());
    assert_eq!(r.samples.len(), 3 * 4 * 2);
    assert_eq!(r.streams.len(), 3);
    let streams = sample_streams(&r).unwrap();
    for (s, span) in r.streams.iter().enumerate() {
        assert_eq!(span.stream as usize, s);
        assert_eq!(span.samples, 8);
        assert_eq!(span.ends.len(), 8);
        assert!(span.ends.windows(2).all(|w| w[0] <= w[1]));
        let mine = &r.samples[span.first_sample..span.first_sample + span.samples];
        // Sequential order within each stream: frame-major per repetition.
        let order: Vec<(u32, u32)> = mine.iter().map(|x| (x.frame, x.rep)).collect();
        let expected: Vec<(u32, u32)> = (0..2).flat_map(|r| (0..4).map(move |f| (f, r))).collect();
        assert_eq!(order, expected);
        assert!(streams[span.first_sample..span.first_sample + 8]
            .iter()
            .all(|&x| x == s as u32));
    }
    // Detections of stream 0 only: one per frame.
    assert_eq!(r.detections.iter().filter(|d| d.is_some()).count(), 4);
    let rec = record(&r).unwrap();
    assert_eq!(rec.count, 3);
    assert!(rec.samples_in_common_window > 0);
    assert!(rec.common_window_ns <= rec.span_ns);
    assert!(rec.per_stream.iter().all(|s| s.complete && s.samples == 8));
}

#[test]
fn one_failing_stream_ends_the_trace_with_every_stream_kept() {
    // The first session opened fails on its 12th inference (2 warm-ups + 9 timed frames).
    let r = run(&fake(3, false, Some((0, 12))), 4, 50, 1);
    assert!(!r.complete());
    let failed: Vec<_> = r.streams.iter().filter(|s| s.error.is_some()).collect();
    assert_eq!(failed.len(), 1, "{:?}", r.streams);
    assert_eq!(failed[0].samples, 9);
    let err = r.error.as_deref().unwrap();
    assert!(
        err.starts_with(&format!("stream {}:", failed[0].stream)) && err.contains("injected"),
        "{err}"
    );
    // The others were stopped early (50 frames would take 150 ms), their samples kept.
    for s in r.streams.iter().filter(|s| s.error.is_none()) {
        assert!(s.stopped_by_other, "{s:?}");
        assert!(s.samples > 0 && s.samples < 50, "{s:?}");
    }
    let total: usize = r.streams.iter().map(|s| s.samples).sum();
    assert_eq!(r.samples.len(), total);
    let rec = record(&r).unwrap();
    assert_eq!(rec.per_stream.iter().filter(|s| !s.complete).count(), 4);
}

#[test]
fn a_session_that_cannot_open_is_an_error_as_with_one_stream() {
    struct NoSession;
    impl Prepared for NoSession {
        fn session(&self) -> Result<Box<dyn Session>, BackendError> {
            Err(BackendError::Unavailable {
                backend: "fake".into(),
                reason: "no device".into(),
            })
        }
    }
    let stop = AtomicBool::new(false);
    let e = run_streams(
        &NoSession,
        &adapter(),
        &frames(3),
        &settings(1),
        false,
        &stop,
        &NoProgress,
        3,
    )
    .err()
    .unwrap();
    assert!(e.to_string().contains("no device"), "{e}");
    // The no-op backend's outputs agree across streams: no mismatches counted.
    let r = run(&NoopPrepared(empty_outputs()), 2, 3, 2);
    assert_eq!(r.nondeterministic, 0);
}
