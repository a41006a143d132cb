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
            OutputSpec::BoxesScoresClasses {
                boxes,
                scores,
                classes,
                ..
            } => vec![
                Tensor::new(boxes.clone(), vec![1, 0, 4], vec![]),
                Tensor::new(scores.clone(), vec![1, 0], vec![]),
                Tensor::new(classes.clone(), vec![1, 0], vec![]),
            ],
            OutputSpec::EfficientNms {
                num_detections,
                boxes,
                scores,
                classes,
                ..
            } => vec![
                Tensor::new(num_detections.clone(), vec![1, 1], vec![0.0]),
                Tensor::new(boxes.clone(), vec![1, 0, 4], vec![]),
                Tensor::new(scores.clone(), vec![1, 0], vec![]),
                Tensor::new(classes.clone(), vec![1, 0], vec![]),
            ],
        };
        Ok(Box::new(NoopPrepared(outputs)))
    }
}

pub struct NoopPrepared(pub Vec<Tensor>);

/// Fault injection for tests of the "keep what was measured" path: with
/// `ADASVAL_NOOP_FAIL_AFTER=N` every session fails on its (N+1)-th inference.
const FAIL_AFTER_ENV: &str = "ADASVAL_NOOP_FAIL_AFTER";
/// Latency injection for tests of the timing analyses: `ADASVAL_NOOP_DELAY_US=N` makes every
/// inference busy-wait N microseconds.
const DELAY_ENV: &str = "ADASVAL_NOOP_DELAY_US";

impl Prepared for NoopPrepared {
    fn session(&self) -> Result<Box<dyn Session>, BackendError> {
        let fail_after = std::env::var(FAIL_AFTER_ENV)
            .ok()
            .and_then(|v| v.parse::<u64>().ok());
        let delay = std::env::var(DELAY_ENV)
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .map(std::time::Duration::from_micros);
        Ok(Box::new(NoopSession {
            outputs: self.0.clone(),
            runs: 0,
            fail_after,
            delay,
        }))
    }
}

pub struct NoopSession {
    outputs: Vec<Tensor>,
    runs: u64,
    fail_after: Option<u64>,
    delay: Option<std::time::Duration>,
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
        if let Some(d) = self.delay {
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
