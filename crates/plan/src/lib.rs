//! GPU plans (`.cudaplan`): an ONNX model compiled for the CUDA backend, with every kernel
//! choice recorded. Sits between the model and the frozen engine: `engine build --backend
//! cuda` makes one, the lock freezes it (format `cuda-plan`), the CUDA backend replays it.
//!
//! `ir` is the contract between the builder (this module) and the executor
//! (`backend::cuda`); `AlgoChooser` is how the builder asks the GPU side for a decision.

#![allow(clippy::result_large_err)]

// Importing ONNX needs tract-onnx's protobuf parser (the `onnx` feature, on by default);
// reading, checking, inspecting and diffing a `.cudaplan` file do not, so the fuzz targets
// link this crate without it.
#[cfg(feature = "onnx")]
pub mod build;
pub mod diff;
mod dims;
pub mod format;
#[cfg(feature = "onnx")]
pub mod fuse;
#[cfg(feature = "onnx")]
pub mod import;
pub mod inspect;
pub mod ir;
pub mod memory;
#[cfg(feature = "onnx")]
mod onnx_values;
pub mod reference;
pub mod shapes;
pub mod tactic;

use ir::{Activation, BuildDevice, ConvChoice, Precision, Residual, TacticPolicy};

/// One convolution as the algorithm chooser sees it (NCHW, fp32 or fp16 per precision).
#[derive(Debug, Clone, PartialEq)]
pub struct ConvProblem {
    /// The layer name, for error messages.
    pub layer: String,
    /// [n, c, h, w]
    pub input: [usize; 4],
    /// [k, c / group, kh, kw]
    pub weight: [usize; 4],
    /// [n, k, oh, ow]
    pub output: [usize; 4],
    pub stride: [usize; 2],
    /// [top, left, bottom, right]; cuDNN needs symmetric padding, so asymmetric pads are
    /// the builder's problem (it rejects them or pads explicitly).
    pub pads: [usize; 4],
    pub dilation: [usize; 2],
    pub group: usize,
    /// The epilogue the layer needs after the convolution: every tactic is timed with it,
    /// since cuDNN runs it as a separate kernel (or its fused call, for bias + ReLU) and
    /// the direct kernel in the same launch.
    pub bias: bool,
    pub activation: Option<Activation>,
    /// A residual input (of the output's shape) added in the epilogue, where it says.
    pub residual: Option<Residual>,
    pub precision: Precision,
    pub policy: TacticPolicy,
}

#[derive(Debug, thiserror::Error)]
pub enum ChooseError {
    #[error("no GPU available to choose convolution algorithms: {0}")]
    Unavailable(String),
    #[error("layer `{layer}`: {message}")]
    Failed { layer: String, message: String },
}

/// The GPU side of the builder: says which device it is and picks one algorithm per
/// convolution. The cuDNN implementation lives in `backend::cuda`; tests use fakes.
pub trait AlgoChooser {
    fn device(&self) -> Option<BuildDevice>;
    fn choose(&mut self, problem: &ConvProblem) -> Result<ConvChoice, ChooseError>;
}
