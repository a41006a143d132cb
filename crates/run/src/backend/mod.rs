//! Backends run a verified engine on one kind of hardware. Stages never depend on a
//! backend's internals: they hand it a [`VerifiedEngine`] and input tensors, and get output
//! tensors back with per-frame timings.
//!
//! Plug-in points: `cpu` (tract-onnx, the embedded default and reference), `noop` (a
//! fake for harness tests and overhead benchmarks), `runner` (an external process over the
//! runner protocol), `trtexec` (single frames through TensorRT's trtexec), `cuda` (GPU plans on cuDNN and
//! NVRTC kernels) lives in its own crate, `adasval-cuda`, and is looked up by name in the
//! binary.

// The tract backend (the `cpu` feature, on by default; off only in the fuzz targets).
#[cfg(feature = "cpu")]
pub mod cpu;
pub mod noop;
pub mod runner;
pub mod trtexec;

use serde::Serialize;

use adasval_core::tensor::Tensor;
use adasval_record::lock::VerifiedEngine;
pub use adasval_record::record::BackendInfo;

#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error("backend `{backend}` is not available: {reason}")]
    Unavailable { backend: String, reason: String },
    #[error("backend `{backend}` cannot run engine `{engine}` (format {format})")]
    UnsupportedFormat {
        backend: String,
        engine: String,
        format: String,
    },
    #[error("backend `{backend}` failed to prepare engine `{engine}`: {message}")]
    Prepare {
        backend: String,
        engine: String,
        message: String,
    },
    #[error("backend `{backend}` failed during inference: {message}")]
    Run { backend: String, message: String },
    #[error("unknown backend `{0}` (known: cpu, cuda, noop, runner, trtexec)")]
    Unknown(String),
    #[error("backend `{backend}` loaded engine `{engine}` with sha256 {actual}, but the lock pins {expected}")]
    Integrity {
        backend: String,
        engine: String,
        expected: String,
        actual: String,
    },
}

impl adasval_core::exit::Classify for BackendError {
    fn status(&self) -> adasval_core::exit::Status {
        use adasval_core::exit::Status;
        match self {
            BackendError::Unavailable { .. } => Status::Unavailable,
            BackendError::Unknown(_) | BackendError::UnsupportedFormat { .. } => Status::BadInput,
            BackendError::Prepare { .. } | BackendError::Run { .. } => Status::BadInput,
            BackendError::Integrity { .. } => Status::Integrity,
        }
    }
}

/// Timings a backend measured itself (e.g. device events); the harness's own wall-clock
/// inference time is always recorded separately.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq)]
pub struct DeviceTimings {
    pub h2d_ns: Option<u64>,
    pub compute_ns: Option<u64>,
    pub d2h_ns: Option<u64>,
}

pub struct InferOutput {
    pub outputs: Vec<Tensor>,
    pub device: DeviceTimings,
}

/// One frame's result from [`Session::run_lent`]: either owned (the default, any backend)
/// or the session's own output tensors, borrowed until the next call (a backend whose
/// device writes its outputs straight into host memory it keeps, so a frame allocates and
/// copies nothing).
pub enum LentOutput<'a> {
    Owned(InferOutput),
    Borrowed {
        outputs: &'a [Tensor],
        device: DeviceTimings,
    },
}

impl LentOutput<'_> {
    pub fn outputs(&self) -> &[Tensor] {
        match self {
            LentOutput::Owned(o) => &o.outputs,
            LentOutput::Borrowed { outputs, .. } => outputs,
        }
    }

    pub fn device(&self) -> DeviceTimings {
        match self {
            LentOutput::Owned(o) => o.device,
            LentOutput::Borrowed { device, .. } => *device,
        }
    }

    /// The outputs as owned tensors (a copy only when borrowed).
    pub fn into_outputs(self) -> Vec<Tensor> {
        match self {
            LentOutput::Owned(o) => o.outputs,
            LentOutput::Borrowed { outputs, .. } => outputs.to_vec(),
        }
    }

    pub fn is_borrowed(&self) -> bool {
        matches!(self, LentOutput::Borrowed { .. })
    }
}

/// What [`Prepared::stage_inputs`] keeps alive: the backend's own copies of the frames,
/// released when dropped. It borrows the frames, so they cannot change or go away while
/// staged.
pub trait StagedInputs {
    /// What was staged, for the run record's backend settings (`None`: nothing to say).
    fn describe(&self) -> Option<String> {
        None
    }
}

/// The default: nothing staged, nothing to say.
pub struct NothingStaged;
impl StagedInputs for NothingStaged {}

pub trait Backend: Send + Sync {
    fn name(&self) -> &'static str;
    /// Whether the backend can run here, and its versions.
    fn info(&self) -> Result<BackendInfo, BackendError>;
    /// Build a runnable engine from verified bytes (done once, before timing).
    fn prepare(&self, engine: &VerifiedEngine) -> Result<Box<dyn Prepared>, BackendError>;
}

pub trait Prepared: Send + Sync {
    /// Open a session that runs frames (one session per stream).
    fn session(&self) -> Result<Box<dyn Session>, BackendError>;
    /// One-off engine upload / load cost measured by the backend, when meaningful.
    fn load_ns(&self) -> Option<u64> {
        None
    }
    /// Per-layer times and kernel choices (`layers.json`, the format `adasval diff` reads),
    /// when the backend profiled layers.
    fn layer_profile(&self) -> Option<serde_json::Value> {
        None
    }
    /// Called once per trace with every preprocessed frame, after preprocessing and before
    /// warm-up: a backend may copy the frames into memory its device reads directly
    /// (page-locked memory for DMA), so the timed region holds the transfer itself and no
    /// host copy before it. Sessions of this engine then recognise those tensors while the
    /// returned guard lives. The default stages nothing.
    fn stage_inputs<'a>(
        &'a self,
        inputs: &[&'a Tensor],
    ) -> Result<Box<dyn StagedInputs + 'a>, BackendError> {
        let _ = inputs;
        Ok(Box::new(NothingStaged))
    }
}

pub trait Session: Send {
    /// Run one frame.
    fn run(&mut self, input: &Tensor) -> Result<InferOutput, BackendError>;

    /// Run one frame and lend its outputs until the next call: what the harness times. The
    /// default is [`Session::run`]; a backend that keeps its output tensors (written by the
    /// device in place) lends them instead of allocating and copying new ones per frame.
    fn run_lent(&mut self, input: &Tensor) -> Result<LentOutput<'_>, BackendError> {
        self.run(input).map(LentOutput::Owned)
    }

    /// Run a whole sequence. Backends that can only run complete sequences (an external
    /// tool replaying a recording, say) override this; the default runs frame by frame and
    /// stops at the first error, returning what was measured before it.
    fn run_sequence(&mut self, inputs: &[&Tensor]) -> (Vec<InferOutput>, Option<BackendError>) {
        let mut out = Vec::with_capacity(inputs.len());
        for t in inputs {
            match self.run(t) {
                Ok(o) => out.push(o),
                Err(e) => return (out, Some(e)),
            }
        }
        (out, None)
    }
}

/// What some backends need besides their name (external commands).
#[derive(Debug, Clone, Default)]
pub struct BackendConfig {
    /// Command line of the external runner (`runner` backend).
    pub runner: Option<String>,
    /// trtexec command line, default `trtexec` (`trtexec` backend); extra flags allowed.
    pub trtexec: Option<String>,
    /// Run a GPU plan built for another compute capability (`cuda` backend).
    pub cuda_force: bool,
    /// Time every layer with CUDA events and write layers.json (`cuda` backend).
    pub cuda_profile: bool,
    /// Intra-op threads of the CPU backend (at least 1).
    pub cpu_threads: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    struct FailsOnThird(u32);
    impl Session for FailsOnThird {
        fn run(&mut self, _input: &Tensor) -> Result<InferOutput, BackendError> {
            self.0 += 1;
            if self.0 == 3 {
                return Err(BackendError::Run {
                    backend: "test".into(),
                    message: "third".into(),
                });
            }
            Ok(InferOutput {
                outputs: vec![],
                device: DeviceTimings::default(),
            })
        }
    }

    #[test]
    fn default_sequence_keeps_what_ran_before_an_error() {
        let t = Tensor::new("x", vec![1], vec![0.0]);
        let inputs = vec![&t; 5];
        let (done, err) = FailsOnThird(0).run_sequence(&inputs);
        assert_eq!(done.len(), 2);
        assert!(err.is_some());
    }
}
