//! A backend that runs nothing: it returns an empty detection tensor immediately. Used to
//! measure the harness's own per-frame overhead and for fast pipeline tests.

use super::{Backend, BackendError, BackendInfo, DeviceTimings, InferOutput, Prepared, Session};
use crate::adapter::OutputSpec;
use crate::lock::VerifiedEngine;
use crate::tensor::Tensor;

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
        };
        Ok(Box::new(NoopPrepared(outputs)))
    }
}

pub struct NoopPrepared(pub Vec<Tensor>);

impl Prepared for NoopPrepared {
    fn session(&self) -> Result<Box<dyn Session>, BackendError> {
        Ok(Box::new(NoopSession(self.0.clone())))
    }
}

pub struct NoopSession(Vec<Tensor>);

impl Session for NoopSession {
    fn run(&mut self, _input: &Tensor) -> Result<InferOutput, BackendError> {
        Ok(InferOutput {
            outputs: self.0.clone(),
            device: DeviceTimings::default(),
        })
    }
}
