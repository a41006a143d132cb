//! Self-test cases of the CUDA plan path: an ONNX model (carried in the case) is imported
//! into a plan as `engine build` does, and its outputs on a seeded input are compared with
//! onnxruntime's: through the plan's CPU reference interpreter on every machine
//! (`plan_reference`), and through the CUDA executor where a GPU is present (`plan_cuda`;
//! elsewhere the case is reported as not run, never as passed).

use super::estimators::{field, hex, nums, Context, Obtained};
use crate::backend::cuda::{self, CudaPrepared, Gpu};
use crate::backend::Prepared;
use crate::cudaplan::build::{build_from_bytes, BuildOptions};
use crate::cudaplan::format::PlanFile;
use crate::cudaplan::ir::{BuildDevice, ConvChoice, ConvEngine, Precision, TacticPolicy};
use crate::cudaplan::{AlgoChooser, ChooseError, ConvProblem};
use crate::tensor::Tensor;
use serde_json::{json, Value};

/// The CPU interpreter ignores algorithm choices; the plan still needs one per convolution.
struct NoDevice;

impl AlgoChooser for NoDevice {
    fn device(&self) -> Option<BuildDevice> {
        None
    }

    fn choose(&mut self, _: &ConvProblem) -> Result<ConvChoice, ChooseError> {
        Ok(ConvChoice {
            algo: "CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM".into(),
            algo_id: 0,
            math_type: "CUDNN_DEFAULT_MATH".into(),
            workspace_bytes: 0,
            deterministic: true,
            measured_ms: None,
            candidates: vec![],
            engine: ConvEngine::Cudnn,
            direct: None,
            tactics: vec![],
        })
    }
}

fn options() -> BuildOptions {
    BuildOptions {
        name: "selftest".into(),
        precision: Precision::Fp32,
        tactics: TacticPolicy::Heuristic,
        fuse_elementwise: true,
    }
}

fn input_tensor(input: &Value, file: &PlanFile) -> Result<Tensor, String> {
    let shape: Vec<usize> = nums(input, "input_shape")?
        .into_iter()
        .map(|d| d as usize)
        .collect();
    let data: Vec<f32> = nums(input, "input")?
        .into_iter()
        .map(|x| x as f32)
        .collect();
    if shape.iter().product::<usize>() != data.len() {
        return Err(format!(
            "input holds {} values for the shape {shape:?}",
            data.len()
        ));
    }
    let name = file
        .plan
        .inputs
        .first()
        .map(|&t| file.plan.tensors[t].name.clone())
        .ok_or("the plan has no input")?;
    Ok(Tensor::new(name, shape, data))
}

/// Per output: its sum, L2 norm and extremes, and the single values at the indices the
/// input's `picks` lists for it.
fn quantities(outputs: &[Tensor], input: &Value) -> Result<Obtained, String> {
    let picks = field(input, "picks")?;
    let mut out = Obtained::new();
    for t in outputs {
        let v: Vec<f64> = t.data.iter().map(|&x| x as f64).collect();
        let sum: f64 = v.iter().sum();
        let l2 = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        let min = v.iter().copied().fold(f64::INFINITY, f64::min);
        let max = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        for (k, x) in [("sum", sum), ("l2", l2), ("min", min), ("max", max)] {
            out.insert(format!("{}_{k}", t.name), json!(x));
        }
        for index in nums(picks, &t.name).unwrap_or_default() {
            if let Some(x) = v.get(index as usize) {
                out.insert(format!("{}[{index}]", t.name), json!(x));
            }
        }
    }
    Ok(out)
}

fn model(input: &Value) -> Result<Vec<u8>, String> {
    hex(input, "model_hex")
}

/// The plan's CPU reference interpreter against onnxruntime.
pub fn plan_reference(input: &Value, _: &Context) -> Result<Obtained, String> {
    let bytes = model(input)?;
    let file = build_from_bytes(&bytes, "selftest.onnx", &options(), &mut NoDevice)
        .map_err(|e| format!("building the plan: {e}"))?;
    let x = input_tensor(input, &file)?;
    let outputs = crate::cudaplan::reference::run_reference(&file, std::slice::from_ref(&x))
        .map_err(|e| format!("the reference interpreter: {e}"))?;
    quantities(&outputs, input)
}

/// Whether a GPU and the CUDA libraries are usable here.
pub fn gpu_present() -> Result<(), String> {
    Gpu::open()
        .map(|_| ())
        .map_err(|e| format!("no usable GPU: {e}"))
}

/// The CUDA executor (cuDNN's measured choices, as `engine build` makes them) against
/// onnxruntime.
pub fn plan_cuda(input: &Value, _: &Context) -> Result<Obtained, String> {
    let bytes = model(input)?;
    let mut chooser = cuda::algo_chooser().map_err(|e| format!("the cuDNN chooser: {e}"))?;
    let mut opts = options();
    opts.tactics = TacticPolicy::Measured;
    let file = build_from_bytes(&bytes, "selftest.onnx", &opts, chooser.as_mut())
        .map_err(|e| format!("building the plan: {e}"))?;
    let x = input_tensor(input, &file)?;
    let serialized = file.to_bytes().map_err(|e| e.to_string())?;
    let (plan, weights) = cuda::decode_plan(&serialized)?;
    let prepared = CudaPrepared::from_plan(&plan.name, &plan, &weights, false)
        .map_err(|e| format!("loading the plan on the GPU: {e}"))?;
    let mut session = prepared.session().map_err(|e| e.to_string())?;
    let out = session.run(&x).map_err(|e| e.to_string())?;
    quantities(&out.outputs, input)
}
