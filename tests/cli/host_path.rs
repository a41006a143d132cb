//! The harness's host path (goal: harness time close to device time): frames are handed
//! to the backend before timing (`Prepared::stage_inputs`), the timed call is
//! `Session::run_lent`, and raw outputs are copied only when asked for. Backends without
//! their own hooks (tract, noop) must give exactly the results of plain `Session::run`; a
//! fake backend that stages and lends proves the harness takes that path, keeps the guard
//! alive over warm-up and timing, and copies each frame's own outputs.

use crate::common;

use std::collections::HashSet;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use adasval::adapter::Adapter;
use adasval::backend::noop::NoopPrepared;
use adasval::backend::{
    BackendError, DeviceTimings, InferOutput, LentOutput, Prepared, Session, StagedInputs,
};
use adasval::replay::{self, NoProgress, Order, PreparedFrame, TraceSettings};
use adasval::tensor::{outputs_hash, Tensor};

fn adapter() -> Adapter {
    Adapter::parse(Path::new("fake.adapter.yaml"), common::NOOP_ADAPTER).unwrap()
}

fn frames(n: usize) -> Vec<PreparedFrame> {
    (0..n)
        .map(|i| PreparedFrame {
            index: i,
            input: Tensor::new("images", vec![1, 3, 1, 1], vec![i as f32 + 1.0; 3]),
            transform: common::identity_transform(),
            pre_ns: 0,
        })
        .collect()
}

fn settings(repetitions: u32, order: Order) -> TraceSettings {
    TraceSettings {
        repetitions,
        warmup: 3,
        order,
        seed: 11,
        pace_fps: None,
        bounds: Default::default(),
    }
}

/// What the fake lender's outputs for an input must be: one box whose left edge is the
/// input's first value, so every frame's outputs (and detections) differ.
fn expected_outputs(input: &Tensor) -> Vec<Tensor> {
    let v = input.data[0];
    vec![
        Tensor::new("boxes", vec![1, 1, 4], vec![v, 1.0, v + 10.0, 12.0]),
        Tensor::new("scores", vec![1, 1], vec![0.9]),
        Tensor::new("classes", vec![1, 1], vec![0.0]),
    ]
}

/// What the fake backend saw.
#[derive(Default)]
struct Seen {
    /// Data addresses currently staged (set by the guard, cleared when it drops).
    staged: HashSet<usize>,
    staged_calls: usize,
    lent_runs: usize,
    staged_hits: usize,
    /// Addresses of every session's own output vectors.
    lent_addresses: HashSet<usize>,
}

struct Lender(Arc<Mutex<Seen>>);

struct LenderGuard(Arc<Mutex<Seen>>);
impl StagedInputs for LenderGuard {
    fn describe(&self) -> Option<String> {
        Some(format!("{} frames", self.0.lock().unwrap().staged.len()))
    }
}
impl Drop for LenderGuard {
    fn drop(&mut self) {
        self.0.lock().unwrap().staged.clear();
    }
}

impl Prepared for Lender {
    fn session(&self) -> Result<Box<dyn Session>, BackendError> {
        Ok(Box::new(LendingSession {
            seen: self.0.clone(),
            outputs: vec![],
        }))
    }

    fn stage_inputs<'a>(
        &'a self,
        inputs: &[&'a Tensor],
    ) -> Result<Box<dyn StagedInputs + 'a>, BackendError> {
        let mut s = self.0.lock().unwrap();
        s.staged_calls += 1;
        s.staged
            .extend(inputs.iter().map(|t| t.data.as_ptr() as usize));
        Ok(Box::new(LenderGuard(self.0.clone())))
    }
}

struct LendingSession {
    seen: Arc<Mutex<Seen>>,
    outputs: Vec<Tensor>,
}

impl Session for LendingSession {
    fn run(&mut self, _input: &Tensor) -> Result<InferOutput, BackendError> {
        panic!("the harness must time run_lent, not run");
    }

    fn run_lent(&mut self, input: &Tensor) -> Result<LentOutput<'_>, BackendError> {
        let want = expected_outputs(input);
        if self.outputs.is_empty() {
            self.outputs = want;
        } else {
            // Overwritten in place, as a device writing into locked host memory does.
            for (o, w) in self.outputs.iter_mut().zip(&want) {
                o.data.copy_from_slice(&w.data);
            }
        }
        let mut s = self.seen.lock().unwrap();
        s.lent_runs += 1;
        if s.staged.contains(&(input.data.as_ptr() as usize)) {
            s.staged_hits += 1;
        }
        for o in &self.outputs {
            s.lent_addresses.insert(o.data.as_ptr() as usize);
        }
        Ok(LentOutput::Borrowed {
            outputs: &self.outputs,
            device: DeviceTimings {
                h2d_ns: Some(1),
                compute_ns: Some(2),
                d2h_ns: Some(3),
            },
        })
    }
}

#[test]
fn the_harness_stages_times_run_lent_and_copies_raw_outputs_only_when_asked() {
    let a = adapter();
    let fr = frames(4);
    for keep_raw in [false, true] {
        let seen = Arc::new(Mutex::new(Seen::default()));
        let lender = Lender(seen.clone());
        let (guard, note) = replay::stage(&lender, &fr);
        assert_eq!(note.as_deref(), Some("4 frames"));
        let mut session = lender.session().unwrap();
        let r = replay::run_trace(
            session.as_mut(),
            &a,
            &fr,
            &settings(3, Order::Shuffled),
            keep_raw,
            &AtomicBool::new(false),
            &NoProgress,
        );
        assert!(r.complete(), "{:?}", r.error);
        assert_eq!(r.samples.len(), 12);
        {
            let s = seen.lock().unwrap();
            assert_eq!(s.staged_calls, 1);
            assert_eq!(s.lent_runs, 3 + 12, "warm-up and timed runs all lent");
            assert_eq!(
                s.staged_hits, s.lent_runs,
                "the guard lived through the trace"
            );
        }
        drop(guard);
        assert!(seen.lock().unwrap().staged.is_empty(), "dropping unstages");
        assert_eq!(r.nondeterministic, 0);
        for (i, f) in fr.iter().enumerate() {
            let want = expected_outputs(&f.input);
            assert_eq!(
                r.output_sha256[i].as_deref(),
                Some(outputs_hash(&want).as_str()),
                "frame {i}: hash of its own outputs"
            );
            let d = r.detections[i].as_ref().expect("detections");
            assert_eq!(d.len(), 1, "frame {i}");
            match (&r.raw_outputs[i], keep_raw) {
                (None, false) => {}
                (Some(raw), true) => {
                    // The frame's own values, not the last frame's: copied while lent.
                    assert_eq!(raw, &want, "frame {i}");
                    let lent = &seen.lock().unwrap().lent_addresses;
                    assert!(raw
                        .iter()
                        .all(|t| !lent.contains(&(t.data.as_ptr() as usize))));
                }
                (other, _) => panic!("keep_raw {keep_raw}: frame {i} raw outputs {other:?}"),
            }
        }
        for s in &r.samples {
            assert_eq!(
                (s.device_h2d_ns, s.device_compute_ns, s.device_d2h_ns),
                (Some(1), Some(2), Some(3))
            );
        }
    }
}

#[test]
fn concurrent_streams_use_the_lent_path_with_the_frames_staged() {
    let a = adapter();
    let fr = frames(3);
    let seen = Arc::new(Mutex::new(Seen::default()));
    let lender = Lender(seen.clone());
    let (guard, _) = replay::stage(&lender, &fr);
    let r = adasval::streams::run_streams(
        &lender,
        &a,
        &fr,
        &settings(2, Order::Sequential),
        true,
        &AtomicBool::new(false),
        &NoProgress,
        3,
    )
    .unwrap();
    drop(guard);
    assert!(r.complete(), "{:?}", r.error);
    assert_eq!(r.samples.len(), 3 * 6);
    assert_eq!(r.nondeterministic, 0);
    let s = seen.lock().unwrap();
    assert_eq!(s.lent_runs, 3 * (3 + 6));
    assert_eq!(s.staged_hits, s.lent_runs);
    for (i, f) in fr.iter().enumerate() {
        assert_eq!(r.raw_outputs[i].as_ref(), Some(&expected_outputs(&f.input)));
    }
}

/// A backend whose staging fails: the frames run unstaged and the record says why.
struct FailsToStage;
impl Prepared for FailsToStage {
    fn session(&self) -> Result<Box<dyn Session>, BackendError> {
        unreachable!()
    }
    fn stage_inputs<'a>(
        &'a self,
        _inputs: &[&'a Tensor],
    ) -> Result<Box<dyn StagedInputs + 'a>, BackendError> {
        Err(BackendError::Run {
            backend: "fake".into(),
            message: "no page-locked memory".into(),
        })
    }
}

#[test]
fn a_staging_failure_is_recorded_not_fatal() {
    let fr = frames(2);
    let (guard, note) = replay::stage(&FailsToStage, &fr);
    assert!(guard.describe().is_none());
    let note = note.unwrap();
    assert!(
        note.starts_with("off: staging failed") && note.contains("no page-locked memory"),
        "{note}"
    );
}

/// Counts plain `run` calls: the default `run_lent` must go through it.
struct CountingNoop {
    inner: Box<dyn Session>,
    runs: Arc<AtomicUsize>,
}
impl Session for CountingNoop {
    fn run(&mut self, input: &Tensor) -> Result<InferOutput, BackendError> {
        self.runs.fetch_add(1, Ordering::SeqCst);
        self.inner.run(input)
    }
}

#[test]
fn default_hooks_keep_noop_results_identical() {
    let outputs = expected_outputs(&Tensor::new("x", vec![1], vec![5.0]));
    let prepared = NoopPrepared(outputs.clone());
    let fr = frames(3);
    let (guard, note) = replay::stage(&prepared, &fr);
    assert!(
        note.is_none(),
        "the default stages nothing and says nothing"
    );
    let runs = Arc::new(AtomicUsize::new(0));
    let mut s = CountingNoop {
        inner: prepared.session().unwrap(),
        runs: runs.clone(),
    };
    let lent = s.run_lent(&fr[0].input).unwrap();
    assert!(!lent.is_borrowed());
    assert_eq!(lent.outputs(), outputs.as_slice());
    assert_eq!(lent.device(), DeviceTimings::default());
    assert_eq!(lent.into_outputs(), outputs);
    let r = replay::run_trace(
        &mut s,
        &adapter(),
        &fr,
        &settings(2, Order::Sequential),
        true,
        &AtomicBool::new(false),
        &NoProgress,
    );
    drop(guard);
    assert!(r.complete());
    assert_eq!(runs.load(Ordering::SeqCst), 1 + 3 + 6);
    for i in 0..fr.len() {
        assert_eq!(r.raw_outputs[i].as_ref(), Some(&outputs));
        assert_eq!(r.output_sha256[i], Some(outputs_hash(&outputs)));
    }
}

/// The bundled demo detector, verified against the lock.
fn demo_engine() -> adasval::lock::VerifiedEngine {
    use adasval::lock::{load_verified, LockFile};
    let root = common::repo_root();
    let lock = LockFile::load(&root).unwrap();
    let entry = lock
        .get("demo-detector")
        .expect("demo-detector in the lock");
    load_verified(&root, entry).unwrap()
}

/// Three random scenes of `width` × `height` from `seed`, preprocessed for `engine`.
fn demo_frames(
    engine: &adasval::lock::VerifiedEngine,
    seed: u64,
    width: u32,
    height: u32,
) -> Vec<PreparedFrame> {
    (0..3)
        .map(|i| {
            let f = adasval::synth::render_random(seed, i, width, height);
            let img = adasval::preprocess::RgbImage {
                width: f.width,
                height: f.height,
                data: f.rgb,
            };
            let (input, transform) = adasval::preprocess::preprocess(&engine.adapter, &img);
            PreparedFrame {
                index: i as usize,
                input,
                transform,
                pre_ns: 0,
            }
        })
        .collect()
}

#[test]
fn default_hooks_keep_tract_results_identical() {
    use adasval::backend::{cpu::CpuBackend, Backend};
    let engine = demo_engine();
    let prepared = CpuBackend::new(1).prepare(&engine).unwrap();
    let fr = demo_frames(&engine, 4242, 320, 180);
    // Reference: plain `run` on a session of its own, outside the harness.
    let mut plain = prepared.session().unwrap();
    let want: Vec<Vec<Tensor>> = fr
        .iter()
        .map(|f| plain.run(&f.input).unwrap().outputs)
        .collect();
    let (guard, note) = replay::stage(prepared.as_ref(), &fr);
    assert!(note.is_none());
    let mut session = prepared.session().unwrap();
    let r = replay::run_trace(
        session.as_mut(),
        &engine.adapter,
        &fr,
        &settings(2, Order::Shuffled),
        true,
        &AtomicBool::new(false),
        &NoProgress,
    );
    drop(guard);
    assert!(r.complete(), "{:?}", r.error);
    for (i, w) in want.iter().enumerate() {
        assert_eq!(r.raw_outputs[i].as_ref(), Some(w), "frame {i}");
        assert_eq!(r.output_sha256[i], Some(outputs_hash(w)));
        let dets = adasval::decode::decode(&engine.adapter, w, &fr[i].transform).unwrap();
        assert_eq!(r.detections[i].as_ref(), Some(&dets));
    }
}

#[test]
fn a_backend_without_staging_adds_nothing_to_the_run_record() {
    let d = common::noop_project();
    for streams in [None, Some("2")] {
        let mut cmd = common::adasval();
        cmd.current_dir(d.path())
            .args(["validate", "--backend", "noop", "--repetitions", "2"]);
        if let Some(n) = streams {
            cmd.args(["--streams", n]);
        }
        let (code, out, err) = common::run(&mut cmd);
        assert!(code == 0 || code == 1, "{out}{err}");
        let dir = d.path().join(out.trim());
        let r: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("run.json")).unwrap()).unwrap();
        assert_eq!(r["complete"], true, "{streams:?}: {r}");
        let settings = r["backend"]["settings"].as_array().unwrap();
        assert!(
            settings
                .iter()
                .all(|kv| !kv[0].as_str().unwrap().starts_with("input staging")),
            "{streams:?}: {settings:?}"
        );
    }
}

/// `--threads`: tract splits each matrix product over a pool on panel boundaries, so every
/// output value is summed in the same order; the outputs must not depend on the thread count.
#[test]
fn tract_outputs_do_not_depend_on_the_thread_count() {
    use adasval::backend::{cpu::CpuBackend, Backend};
    let engine = demo_engine();
    let inputs: Vec<Tensor> = demo_frames(&engine, 77, 640, 360)
        .into_iter()
        .map(|f| f.input)
        .collect();
    let outputs = |threads: usize| -> Vec<Vec<Tensor>> {
        let backend = CpuBackend::new(threads);
        let settings = backend.info().unwrap().settings;
        assert_eq!(
            settings,
            vec![("threads".to_string(), threads.to_string())],
            "the thread count is what the run records"
        );
        let prepared = backend.prepare(&engine).unwrap();
        let mut session = prepared.session().unwrap();
        inputs
            .iter()
            .map(|x| session.run(x).unwrap().outputs)
            .collect()
    };
    let one = outputs(1);
    for threads in [2, 3] {
        let many = outputs(threads);
        for (i, (a, b)) in one.iter().zip(&many).enumerate() {
            for (ta, tb) in a.iter().zip(b) {
                assert_eq!(ta.shape, tb.shape);
                let differ = ta
                    .data
                    .iter()
                    .zip(&tb.data)
                    .filter(|(x, y)| x.to_bits() != y.to_bits())
                    .count();
                assert_eq!(
                    differ, 0,
                    "frame {i}, output {}: {differ} values differ between 1 and {threads} threads",
                    ta.name
                );
            }
        }
    }
}
