//! A backend that runs nothing: it returns an empty detection tensor immediately. Used to
//! measure the harness's own per-frame overhead and for fast pipeline tests.

use super::{Backend, BackendError, BackendInfo, DeviceTimings, InferOutput, Prepared, Session};
use adasval_core::tensor::Tensor;
use adasval_record::adapter::OutputSpec;
use adasval_record::lock::VerifiedEngine;

pub struct NoopBackend;

impl Backend for NoopBackend {
    fn name(&self) -> &'static str {
        "noop"
    }
    fn info(&self) -> Result<BackendInfo, BackendError> {
        Ok(BackendInfo {
            name: "noop".into(),
            libraries: vec![],
            settings: vec![],
        })
    }
    fn prepare(&self, engine: &VerifiedEngine) -> Result<Box<dyn Prepared>, BackendError> {
        let a = &engine.adapter;
        let outputs = match &a.output {
            OutputSpec::Yolox { tensor, strides } => {
                let anchors: usize = strides
                    .iter()
                    .map(|s| ((a.input.width / s) * (a.input.height / s)) as usize)
                    .sum();
                let row = 5 + a.classes.len();
                vec![Tensor::new(
                    tensor.clone(),
                    vec![1, anchors, row],
                    vec![0.0; anchors * row],
                )]
            }
            OutputSpec::Grid(g) => g
                .expected_shapes(a.input.width, a.input.height, a.classes.len())
                .into_iter()
                .map(|(name, shape)| {
                    let n = shape.iter().product();
                    Tensor::new(name, shape, vec![0.0; n])
                })
                .collect(),
            // Every other decoder reads N rows; zero of them is a valid empty frame.
            OutputSpec::EfficientNms { num_detections, .. } => a
                .output
                .tensor_fields()
                .into_iter()
                .map(|(field, name)| match field {
                    "output.num_detections" => {
                        Tensor::new(num_detections.clone(), vec![1, 1], vec![0.0])
                    }
                    "output.scores" | "output.classes" => Tensor::new(name, vec![1, 0], vec![]),
                    _ => Tensor::new(name, vec![1, 0, 4], vec![]),
                })
                .collect(),
            OutputSpec::BoxesScoresClasses { .. } => a
                .output
                .tensor_fields()
                .into_iter()
                .map(|(field, name)| match field {
                    "output.scores" | "output.classes" => Tensor::new(name, vec![1, 0], vec![]),
                    _ => Tensor::new(name, vec![1, 0, 4], vec![]),
                })
                .collect(),
            OutputSpec::EndToEnd(e) => {
                let per_query = a.classes.len()
                    + usize::from(
                        e.scoring == adasval_record::adapter::QueryScoring::SoftmaxNoObject,
                    );
                vec![
                    Tensor::new(e.boxes.clone(), vec![1, 0, 4], vec![]),
                    Tensor::new(e.logits.clone(), vec![1, 0, per_query], vec![]),
                ]
            }
            OutputSpec::Priors(p) => {
                let per_prior = a.classes.len()
                    + usize::from(p.background != adasval_record::adapter::Background::None);
                vec![
                    Tensor::new(p.deltas.clone(), vec![1, 0, 4], vec![]),
                    Tensor::new(p.scores.clone(), vec![1, 0, per_prior], vec![]),
                    Tensor::new(p.priors.clone(), vec![0, 4], vec![]),
                ]
            }
            OutputSpec::Table(t) => vec![Tensor::new(
                t.tensor.clone(),
                vec![0, t.columns.len()],
                vec![],
            )],
        };
        let scale = scale_for(&engine.entry.name);
        if scale == 1.0 {
            Ok(Box::new(NoopPrepared(outputs)))
        } else {
            Ok(Box::new(ScaledNoop {
                inner: NoopPrepared(outputs),
                scale,
            }))
        }
    }
}

/// `ADASVAL_NOOP_SCALE=engine=factor[,engine=factor...]`: the named engines' injected
/// delay and jitter are multiplied by their factor, so two engines of one session (e.g.
/// `validate --interleave`) can differ by a known amount.
const SCALE_ENV: &str = "ADASVAL_NOOP_SCALE";
/// `ADASVAL_NOOP_JITTER_US=J`: every inference also busy-waits J × Exp(1) microseconds
/// (right-skewed like real latencies), drawn from `ADASVAL_NOOP_SEED` (default 0).
const JITTER_ENV: &str = "ADASVAL_NOOP_JITTER_US";
const SEED_ENV: &str = "ADASVAL_NOOP_SEED";

fn scale_for(engine: &str) -> f64 {
    std::env::var(SCALE_ENV)
        .ok()
        .into_iter()
        .flat_map(|v| {
            v.split(',')
                .filter_map(|kv| {
                    let (k, f) = kv.split_once('=')?;
                    (k.trim() == engine).then(|| f.trim().parse::<f64>().ok())?
                })
                .collect::<Vec<_>>()
        })
        .find(|f| f.is_finite() && *f > 0.0)
        .unwrap_or(1.0)
}

fn env_f64(name: &str) -> Option<f64> {
    std::env::var(name).ok().and_then(|v| v.parse::<f64>().ok())
}

/// A no-op engine whose injected latency is scaled (`ADASVAL_NOOP_SCALE`).
pub struct ScaledNoop {
    inner: NoopPrepared,
    scale: f64,
}

impl Prepared for ScaledNoop {
    fn session(&self) -> Result<Box<dyn Session>, BackendError> {
        self.inner.session_scaled(self.scale)
    }
}

/// Sessions of one process draw different jitter streams from the same seed.
static SESSIONS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

pub struct NoopPrepared(pub Vec<Tensor>);

/// Fault injection for tests of the "keep what was measured" path: with
/// `ADASVAL_NOOP_FAIL_AFTER=N` every session fails on its (N+1)-th inference.
const FAIL_AFTER_ENV: &str = "ADASVAL_NOOP_FAIL_AFTER";
/// Latency injection for tests of the timing analyses: `ADASVAL_NOOP_DELAY_US=N` makes every
/// inference busy-wait N microseconds (fractional values allowed).
const DELAY_ENV: &str = "ADASVAL_NOOP_DELAY_US";

impl Prepared for NoopPrepared {
    fn session(&self) -> Result<Box<dyn Session>, BackendError> {
        self.session_scaled(1.0)
    }
}

impl NoopPrepared {
    fn session_scaled(&self, scale: f64) -> Result<Box<dyn Session>, BackendError> {
        let fail_after = std::env::var(FAIL_AFTER_ENV)
            .ok()
            .and_then(|v| v.parse::<u64>().ok());
        let delay = env_f64(DELAY_ENV)
            .filter(|d| d.is_finite() && *d > 0.0)
            .map(|d| std::time::Duration::from_secs_f64(d * scale / 1e6));
        let jitter_us = env_f64(JITTER_ENV)
            .filter(|j| j.is_finite() && *j > 0.0)
            .map(|j| j * scale);
        let seed = std::env::var(SEED_ENV)
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
        let n = SESSIONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(Box::new(NoopSession {
            outputs: self.0.clone(),
            runs: 0,
            fail_after,
            delay,
            jitter_us,
            rng: adasval_core::rng::SplitMix64::new(seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15)),
        }))
    }
}

pub struct NoopSession {
    outputs: Vec<Tensor>,
    runs: u64,
    fail_after: Option<u64>,
    delay: Option<std::time::Duration>,
    jitter_us: Option<f64>,
    rng: adasval_core::rng::SplitMix64,
}

impl Session for NoopSession {
    fn run(&mut self, _input: &Tensor) -> Result<InferOutput, BackendError> {
        if self.fail_after.is_some_and(|n| self.runs >= n) {
            return Err(BackendError::Run {
                backend: "noop".into(),
                message: format!(
                    "injected failure after {} inferences ({FAIL_AFTER_ENV})",
                    self.runs
                ),
            });
        }
        self.runs += 1;
        let mut wait = self.delay.unwrap_or_default();
        if let Some(j) = self.jitter_us {
            // Exp(1) by inversion of a uniform in (0, 1].
            let u = (self.rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
            wait += std::time::Duration::from_secs_f64(-(1.0 - u).ln() * j / 1e6);
        }
        if !wait.is_zero() {
            let d = wait;
            // Busy-wait: a sleep would measure the scheduler, not a steady compute cost.
            let t0 = std::time::Instant::now();
            while t0.elapsed() < d {
                std::hint::spin_loop();
            }
        }
        Ok(InferOutput {
            outputs: self.outputs.clone(),
            device: DeviceTimings::default(),
        })
    }
}
