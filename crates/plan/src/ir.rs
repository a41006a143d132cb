//! The GPU plan's data model: the contract between the plan builder (ONNX import, folding,
//! algorithm choice, serialization) and the CUDA executor. A plan is fully resolved: every
//! shape is static, every weight is folded, every convolution carries the algorithm that was
//! chosen for it and why, so `engine inspect` and `engine diff` can show the builder's
//! decisions and the executor never has to decide anything.

use serde::{Deserialize, Serialize};

/// Index into [`Plan::tensors`].
pub type TensorId = usize;
/// Index into [`Plan::weights`].
pub type WeightId = usize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// IEEE fp32 everywhere, TF32 tensor-core math disabled.
    Fp32,
    /// fp16 storage and convolution math (fp32 accumulation where cuDNN offers it); inputs
    /// and outputs stay fp32 at the plan's boundary.
    Fp16,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TacticPolicy {
    /// Time every applicable algorithm (cuDNN Find) and keep the fastest.
    Measured,
    /// Take cuDNN's heuristic first choice, nothing timed.
    Heuristic,
    /// Only algorithms cuDNN reports as deterministic; fastest of those by measurement.
    Deterministic,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    Relu,
    Sigmoid,
    /// x * sigmoid(x), from a Sigmoid + Mul pair (fusion; follow-up issue).
    Silu,
}

/// Where a convolution's residual input (the layer's second input, of the output's shape)
/// is added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Residual {
    /// y = act(conv + bias + r): Add, then the activation (a ResNet block: `relu(x + f(x))`).
    BeforeActivation,
    /// y = act(conv + bias) + r: the activation, then Add (YOLOX's bottleneck:
    /// `x + silu(conv(x))`).
    AfterActivation,
}

/// One step of a fused elementwise chain ([`Op::Elementwise`]); `Add` / `Mul` name the
/// layer input (an index into `Layer::inputs`) that is the other operand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EwStep {
    Add(usize),
    Mul(usize),
    Relu,
    Sigmoid,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TensorInfo {
    /// The ONNX value name.
    pub name: String,
    /// NCHW for 4-D activations; static.
    pub shape: Vec<usize>,
}

impl TensorInfo {
    /// Saturates at `usize::MAX` (a shape read from a file may be absurd): such a count
    /// fits no blob or arena, so the plan checks refuse it.
    pub fn elements(&self) -> usize {
        self.shape
            .iter()
            .try_fold(1usize, |a, &d| a.checked_mul(d))
            .unwrap_or(usize::MAX)
    }
}

/// A constant stored in the plan's weight blob (fp32 little-endian in the file; the
/// executor converts to fp16 on upload for fp16 plans).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WeightInfo {
    pub name: String,
    pub shape: Vec<usize>,
    /// Offset in elements into the blob.
    pub offset: usize,
}

impl WeightInfo {
    /// Saturates at `usize::MAX` (a shape read from a file may be absurd): such a count
    /// fits no blob or arena, so the plan checks refuse it.
    pub fn elements(&self) -> usize {
        self.shape
            .iter()
            .try_fold(1usize, |a, &d| a.checked_mul(d))
            .unwrap_or(usize::MAX)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op {
    /// 2-D convolution, BatchNorm folded in, optional fused activation.
    Conv {
        weight: WeightId,
        bias: Option<WeightId>,
        /// [kh, kw]
        kernel: [usize; 2],
        /// [sh, sw]
        stride: [usize; 2],
        /// [top, left, bottom, right]
        pads: [usize; 4],
        /// [dh, dw]
        dilation: [usize; 2],
        group: usize,
        activation: Option<Activation>,
        /// A residual Add folded into the epilogue (the fusion pass, `cudaplan::fuse`): the
        /// layer's second input is added where this says. Absent in plans without it (and in
        /// plans written before the fusion pass existed).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        residual: Option<Residual>,
    },
    Relu,
    Sigmoid,
    /// Elementwise with numpy broadcasting of the second input onto the first's shape.
    Add,
    Mul,
    Concat {
        axis: usize,
    },
    /// One entry per sliced axis; `end` is already clamped to the dimension.
    Slice {
        axes: Vec<usize>,
        starts: Vec<usize>,
        ends: Vec<usize>,
        steps: Vec<usize>,
    },
    MaxPool {
        kernel: [usize; 2],
        stride: [usize; 2],
        /// [top, left, bottom, right]
        pads: [usize; 4],
    },
    /// Nearest-neighbour resize, integer scale factors, asymmetric / floor (ONNX defaults
    /// used by PyTorch's exporter).
    ResizeNearest {
        /// [scale_h, scale_w]
        scales: [usize; 2],
    },
    /// Data stays where it is; only the logical shape changes.
    Reshape,
    /// A chain of elementwise layers fused into one generated kernel (the fusion pass,
    /// `cudaplan::fuse`): the value starts as input 0 (nearest-upsampled by `resize` when
    /// the chain began with a Resize), then each step in order; every intermediate has the
    /// output's shape, the other operand of a binary step broadcasts onto it.
    Elementwise {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        resize: Option<[usize; 2]>,
        steps: Vec<EwStep>,
    },
    Transpose {
        perm: Vec<usize>,
    },
}

impl Op {
    pub fn kind(&self) -> &'static str {
        match self {
            Op::Conv { .. } => "Conv",
            Op::Relu => "Relu",
            Op::Sigmoid => "Sigmoid",
            Op::Add => "Add",
            Op::Mul => "Mul",
            Op::Concat { .. } => "Concat",
            Op::Slice { .. } => "Slice",
            Op::MaxPool { .. } => "MaxPool",
            Op::ResizeNearest { .. } => "Resize",
            Op::Reshape => "Reshape",
            Op::Transpose { .. } => "Transpose",
            Op::Elementwise { .. } => "Elementwise",
        }
    }
}

/// The builder's decision for one convolution, with the evidence it was based on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConvChoice {
    /// cuDNN's enum name, e.g. `CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM`.
    pub algo: String,
    /// Its numeric value (what the executor passes to cuDNN).
    pub algo_id: i32,
    /// `CUDNN_DEFAULT_MATH` (fp32: no TF32), `CUDNN_TENSOR_OP_MATH`, ...
    pub math_type: String,
    pub workspace_bytes: usize,
    pub deterministic: bool,
    /// Time cuDNN measured for the chosen algorithm (None for heuristic choices).
    pub measured_ms: Option<f32>,
    /// Every candidate considered, in cuDNN's order, with its measured time where timed.
    pub candidates: Vec<Candidate>,
    /// Which implementation runs the layer. Plans written before the direct kernel existed
    /// have no such field: cuDNN. `algo` and the fields above always describe the best
    /// cuDNN algorithm, also when the direct kernel won.
    #[serde(default)]
    pub engine: ConvEngine,
    /// The direct kernel's variant, when `engine` is `direct`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direct: Option<DirectConv>,
    /// The whole-layer comparison behind `engine` (convolution + bias + activation, every
    /// tactic timed the same way); empty when nothing was compared (older plans).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tactics: Vec<TacticTime>,
}

/// The implementation of one convolution layer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConvEngine {
    /// cuDNN with the recorded algorithm; bias + ReLU in cuDNN's fused call, any other
    /// bias / activation in a separate `bias_act` kernel.
    #[default]
    Cudnn,
    /// adasval's generated direct convolution kernel: convolution, bias and activation in
    /// one launch (fp32 accumulation in both precisions).
    Direct,
}

/// A variant of the direct convolution kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectConv {
    /// Output channels each thread computes (a compile-time parameter of the kernel).
    pub channels_per_thread: u32,
    /// Threads per block; each thread computes one output pixel (several, for tiled
    /// variants).
    pub block: u32,
    /// The shared-memory tiled kernel's block shape; absent: the one-pixel-per-thread kernel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tile: Option<ConvTile>,
}

/// The output tile one block of the tiled direct kernel computes (3×3 kernels only, one
/// stride per variant): `rows` × `cols` pixels × `channels` output channels; each thread
/// computes `rows_per_thread` vertically adjacent pixels of one column × the variant's
/// `channels_per_thread` channels. All compile-time parameters of the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConvTile {
    pub stride: u32,
    pub rows: u32,
    pub cols: u32,
    pub channels: u32,
    pub rows_per_thread: u32,
}

impl DirectConv {
    /// The NVRTC kernel's name for a layer with this `kernel` size: 1×1 and 3×3 have
    /// specialised loops, any other size the generic one.
    pub fn kernel_name(&self, kernel: [usize; 2]) -> String {
        if let Some(t) = self.tile {
            return format!(
                "conv_tile_s{}_{}x{}_k{}_c{}_r{}",
                t.stride, t.rows, t.cols, t.channels, self.channels_per_thread, t.rows_per_thread
            );
        }
        let k = match kernel {
            [1, 1] => "k1",
            [3, 3] => "k3",
            _ => "kn",
        };
        format!("conv_direct_{k}_c{}", self.channels_per_thread)
    }

    /// How plans, inspect and diff name the tactic.
    pub fn label(&self, kernel: [usize; 2]) -> String {
        format!("{} b{}", self.kernel_name(kernel), self.block)
    }
}

/// One whole-layer tactic and its time (per layer execution, inside a CUDA graph).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TacticTime {
    /// `cudnn <ALGO> + bias_act`, `cudnn <ALGO> fused bias+relu`, `conv_direct_k3_c4 b128`.
    pub tactic: String,
    pub engine: ConvEngine,
    /// The direct kernel's variant (direct tactics only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direct: Option<DirectConv>,
    /// None: not timed (heuristic policy) or the run failed (see `status`).
    pub time_ms: Option<f32>,
    /// `chosen`, `timed`, `untimed`, `forced`, or why it was not eligible.
    pub status: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    pub algo: String,
    pub time_ms: Option<f32>,
    pub workspace_bytes: usize,
    pub status: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Layer {
    /// The ONNX node name (or `<op>_<index>` when the node has none); with fusion, the
    /// first node's name.
    pub name: String,
    #[serde(flatten)]
    pub op: Op,
    pub inputs: Vec<TensorId>,
    pub outputs: Vec<TensorId>,
    /// Conv only: filled by the builder's algorithm choice.
    pub choice: Option<ConvChoice>,
    /// ONNX nodes folded or fused into this layer besides its own (BatchNormalization,
    /// the activation, ...), so inspect can say what happened to every node.
    pub fused: Vec<String>,
}

/// Where each tensor lives in the activation arena (bytes, 256-aligned), computed from
/// tensor lifetimes so that tensors whose lifetimes do not overlap share memory.
/// Reshape outputs alias their input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemoryPlan {
    pub arena_bytes: usize,
    /// One entry per tensor in [`Plan::tensors`].
    pub offsets: Vec<usize>,
    pub workspace_bytes: usize,
}

/// Properties of the GPU a plan was built on (subset of the run fingerprint that decides
/// whether a plan may run elsewhere).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BuildDevice {
    pub name: String,
    /// e.g. [9, 0]
    pub compute_capability: [u32; 2],
    pub sm_count: u32,
    pub memory_bytes: u64,
    pub driver: String,
    pub cuda: String,
    pub cudnn: String,
    pub cublas: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// Bumped on any incompatible change of this model.
    pub format_version: u32,
    pub name: String,
    /// File name and sha256 of the ONNX model the plan was built from.
    pub source_model: String,
    pub source_sha256: String,
    pub precision: Precision,
    /// Stated explicitly so a reader need not know cuDNN's defaults.
    pub tf32: bool,
    pub tactics: TacticPolicy,
    pub built_on: Option<BuildDevice>,
    /// adasval version and build time (RFC 3339).
    pub builder: String,
    pub built_at: String,
    pub tensors: Vec<TensorInfo>,
    pub weights: Vec<WeightInfo>,
    pub inputs: Vec<TensorId>,
    pub outputs: Vec<TensorId>,
    /// In execution order (topologically sorted).
    pub layers: Vec<Layer>,
    pub memory: MemoryPlan,
}

pub const FORMAT_VERSION: u32 = 1;
