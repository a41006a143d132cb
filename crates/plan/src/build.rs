//! The plan builder behind `engine build --backend cuda`: import the ONNX model, fuse
//! elementwise layers (`fuse`), ask the algorithm chooser (cuDNN on a GPU, a fake in tests) for every convolution, plan memory,
//! and stamp the provenance (source hash, device, builder version, time).

use std::path::Path;

use super::format::{FormatError, PlanFile};
use super::import::{import, ImportError};
use super::ir::{ConvEngine, Op, Plan, Precision, TacticPolicy, FORMAT_VERSION};
use super::memory::plan_memory;
use super::{AlgoChooser, ChooseError, ConvProblem};
use adasval_core::exit::{Classify, Status};

#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// The plan's name (what runs and reports call the engine).
    pub name: String,
    pub precision: Precision,
    pub tactics: TacticPolicy,
    /// Run the elementwise fusion pass (`fuse`): residual Adds into convolutions, chains of
    /// elementwise layers into generated kernels. Off only to measure what it buys.
    pub fuse_elementwise: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Import(#[from] ImportError),
    #[error(transparent)]
    Choose(#[from] ChooseError),
    #[error(transparent)]
    Format(#[from] FormatError),
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Lock(#[from] adasval_record::lock::LockError),
    #[error("{path} (sha256 {actual}) is not the model the plan was built from (sha256 {plan})")]
    SourceMismatch {
        path: String,
        plan: String,
        actual: String,
    },
}

impl Classify for BuildError {
    fn status(&self) -> Status {
        match self {
            BuildError::Choose(_) => Status::Unavailable,
            BuildError::Lock(e) => e.status(),
            _ => Status::BadInput,
        }
    }
}

pub fn builder_version() -> String {
    format!("adasval {}", env!("CARGO_PKG_VERSION"))
}

/// Build a plan from an ONNX file.
pub fn build(
    model: &Path,
    opts: &BuildOptions,
    chooser: &mut dyn AlgoChooser,
) -> Result<PlanFile, BuildError> {
    let bytes = std::fs::read(model).map_err(|source| BuildError::Io {
        path: model.display().to_string(),
        source,
    })?;
    let name = model
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| model.display().to_string());
    build_from_bytes(&bytes, &name, opts, chooser)
}

/// Build a plan from ONNX bytes; `model_name` is recorded as the source file name.
pub fn build_from_bytes(
    bytes: &[u8],
    model_name: &str,
    opts: &BuildOptions,
    chooser: &mut dyn AlgoChooser,
) -> Result<PlanFile, BuildError> {
    let mut g = import(bytes, model_name)?;
    if opts.fuse_elementwise {
        super::fuse::fuse(&mut g);
    }
    let mut plan = Plan {
        format_version: FORMAT_VERSION,
        name: opts.name.clone(),
        source_model: model_name.to_string(),
        source_sha256: adasval_core::hash::sha256_hex(bytes),
        precision: opts.precision,
        tf32: false,
        tactics: opts.tactics,
        built_on: chooser.device(),
        builder: builder_version(),
        built_at: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
        tensors: g.tensors,
        weights: g.weights,
        inputs: g.inputs,
        outputs: g.outputs,
        layers: g.layers,
        memory: super::ir::MemoryPlan {
            arena_bytes: 0,
            offsets: vec![],
            workspace_bytes: 0,
        },
    };
    let mut workspace = 0;
    for i in 0..plan.layers.len() {
        let problem = match conv_problem(&plan, i) {
            Some(p) => p,
            None => continue,
        };
        let choice = chooser.choose(&problem)?;
        // The direct kernel needs no workspace.
        if choice.engine == ConvEngine::Cudnn {
            workspace = workspace.max(choice.workspace_bytes);
        }
        plan.layers[i].choice = Some(choice);
    }
    plan.memory = plan_memory(&plan);
    plan.memory.workspace_bytes = workspace;
    let file = PlanFile {
        plan,
        weights: g.blob,
    };
    file.check()?;
    Ok(file)
}

/// The chooser's view of layer `i` when it is a convolution.
pub fn conv_problem(plan: &Plan, i: usize) -> Option<ConvProblem> {
    let l = plan.layers.get(i)?;
    let Op::Conv {
        weight,
        kernel,
        stride,
        pads,
        dilation,
        group,
        bias,
        activation,
        residual,
    } = &l.op
    else {
        return None;
    };
    let dims4 = |s: &[usize]| -> Option<[usize; 4]> { s.try_into().ok() };
    let x = dims4(&plan.tensors[*l.inputs.first()?].shape)?;
    let y = dims4(&plan.tensors[*l.outputs.first()?].shape)?;
    let w = dims4(&plan.weights.get(*weight)?.shape)?;
    debug_assert_eq!([w[2], w[3]], *kernel);
    Some(ConvProblem {
        layer: l.name.clone(),
        input: x,
        weight: w,
        output: y,
        stride: *stride,
        pads: *pads,
        dilation: *dilation,
        group: *group,
        bias: bias.is_some(),
        activation: *activation,
        residual: *residual,
        precision: plan.precision,
        policy: plan.tactics,
    })
}

/// Write a built plan atomically to `out` (relative to `root` unless absolute), creating
/// its directory. Returns the path written and the bytes.
pub fn write_plan(
    root: &Path,
    out: &Path,
    file: &PlanFile,
) -> Result<(std::path::PathBuf, Vec<u8>), BuildError> {
    let bytes = file.to_bytes()?;
    let path = if out.is_absolute() {
        out.to_path_buf()
    } else {
        root.join(out)
    };
    let err = |source| BuildError::Write {
        path: path.display().to_string(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(err)?;
    }
    adasval_core::atomic::write_atomic(&path, &bytes).map_err(err)?;
    Ok((path, bytes))
}

/// Freeze a written plan in the lock as `engine freeze` would, with format `cuda-plan`
/// and the provenance the plan carries: the source model's hash (of `source_model`, which
/// must be the file the plan was built from) and the build GPU.
pub fn freeze_plan(
    root: &Path,
    out: &Path,
    file: &PlanFile,
    adapter: &Path,
    source_model: &Path,
    replace: bool,
) -> Result<adasval_record::lock::LockEntry, BuildError> {
    let actual =
        adasval_core::hash::sha256_file(source_model).map_err(|source| BuildError::Io {
            path: source_model.display().to_string(),
            source,
        })?;
    if actual != file.plan.source_sha256 {
        return Err(BuildError::SourceMismatch {
            path: source_model.display().to_string(),
            plan: file.plan.source_sha256.clone(),
            actual,
        });
    }
    // The platform profile's name when one matches the card (what runs are tagged with, so
    // `matrix` can pair build and run platforms); else the card's name and architecture.
    let built_on = file.plan.built_on.as_ref().map(|d| {
        adasval_record::platform::gpu_profile_name(root, &d.name).unwrap_or_else(|| {
            format!(
                "{} sm_{}{}",
                d.name, d.compute_capability[0], d.compute_capability[1]
            )
        })
    });
    let entry = adasval_record::lock::freeze(
        root,
        &adasval_record::lock::FreezeRequest {
            file: out.to_path_buf(),
            name: file.plan.name.clone(),
            adapter: adapter.to_path_buf(),
            source_model: Some(source_model.to_path_buf()),
            format: Some(adasval_record::lock::EngineFormat::CudaPlan),
            built_on,
            replace,
            // A plan is not ONNX; its layers were built from the model and adapter already.
            onnx_signature: None,
        },
    )?;
    Ok(entry)
}
