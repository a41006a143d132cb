//! `adasval engine freeze|verify|list`: the lock file of frozen engines;
//! `adasval engine build|inspect|diff`: GPU plans (`cudaplan`) built, read and compared.

use std::path::{Path, PathBuf};

use adasval::cudaplan::build::{build, freeze_plan, write_plan, BuildOptions};
use adasval::cudaplan::format::PlanFile;
use adasval::cudaplan::ir::{Precision, TacticPolicy};
use adasval::cudaplan::{diff as plandiff, inspect, ChooseError};
use adasval::exit::Status;
use adasval::lock::{self, EngineFormat, FreezeRequest, LockFile};

use super::{CliResult, Failure};

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Hash an engine binary and its model adapter and record both in engines/engines.lock.yaml.
    Freeze(FreezeArgs),
    /// Show an ONNX model's inputs and outputs (names, element types, shapes), opset and
    /// producer, and suggest an adapter with the decoder that fits its outputs.
    Probe(ProbeArgs),
    /// Re-hash every frozen engine and adapter; exit 3 on any mismatch or missing file.
    Verify(RootArgs),
    /// List the frozen engines.
    List(RootArgs),
    /// Compile an ONNX model into a GPU plan (`--backend cuda`), recording every cuDNN
    /// algorithm choice, and freeze it in the lock (format `cuda-plan`). Exit 4 without a GPU.
    Build(BuildArgs),
    /// Show a GPU plan: provenance, then per layer the shapes, cuDNN algorithm, math mode,
    /// workspace, measured time and fused ONNX nodes.
    Inspect(InspectArgs),
    /// Compare two GPU plans layer by layer: exit 0 identical choices, 1 any choice differs,
    /// 2 plans of different graphs.
    Diff(PlanDiffArgs),
}

#[derive(clap::Args, Debug)]
pub struct ProbeArgs {
    /// The ONNX model.
    pub model: PathBuf,
    /// Name in the suggested adapter (default: the file's stem).
    #[arg(long)]
    pub name: Option<String>,
    /// Write the suggested adapter to this new file (never overwrites).
    #[arg(long, value_name = "FILE")]
    pub adapter_out: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = super::Format::Text)]
    pub format: super::Format,
}

#[derive(clap::Args, Debug)]
pub struct BuildArgs {
    /// The ONNX model to compile.
    pub model: PathBuf,
    /// Backend to build for; only `cuda` builds plans.
    #[arg(long)]
    pub backend: String,
    /// fp32 (no TF32 anywhere) or fp16 (fp16 storage and convolution math).
    #[arg(long, value_parser = ["fp32", "fp16"], default_value = "fp32")]
    pub precision: String,
    /// How convolution algorithms are chosen: `measured` (cuDNN Find, fastest), `heuristic`
    /// (cuDNN's first heuristic choice, nothing timed), `deterministic` (fastest of the
    /// deterministic algorithms).
    #[arg(long, value_parser = ["measured", "heuristic", "deterministic"], default_value = "measured")]
    pub tactics: String,
    /// Skip the elementwise fusion pass (residual Adds into convolutions, chains of
    /// Add/Mul/Relu/Sigmoid/Resize into generated kernels), to measure what it buys.
    #[arg(long)]
    pub no_elementwise_fusion: bool,
    /// Name of the plan (and of its lock entry).
    #[arg(long)]
    pub name: String,
    /// Where to write the plan, relative to --root [default: engines/<name>.cudaplan].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Model adapter YAML; with it the plan is frozen in the lock, without it only written.
    #[arg(long)]
    pub adapter: Option<PathBuf>,
    /// Replace an existing lock entry of the same name.
    #[arg(long)]
    pub replace: bool,
    /// Project root holding engines/engines.lock.yaml.
    #[arg(long, default_value = ".")]
    pub root: PathBuf,
}

#[derive(clap::Args, Debug)]
pub struct InspectArgs {
    /// A `.cudaplan` file, or the name of a frozen `cuda-plan` engine in the lock.
    pub plan: String,
    /// Project root holding engines/engines.lock.yaml (for names).
    #[arg(long, default_value = ".")]
    pub root: PathBuf,
    /// Print JSON instead of text.
    #[arg(long, value_enum, default_value_t = super::Format::Text)]
    pub format: super::Format,
}

#[derive(clap::Args, Debug)]
pub struct PlanDiffArgs {
    /// First plan: a `.cudaplan` file or a frozen engine name.
    pub a: String,
    /// Second plan: a `.cudaplan` file or a frozen engine name.
    pub b: String,
    /// Project root holding engines/engines.lock.yaml (for names).
    #[arg(long, default_value = ".")]
    pub root: PathBuf,
    /// Print JSON instead of text.
    #[arg(long, value_enum, default_value_t = super::Format::Text)]
    pub format: super::Format,
}

#[derive(clap::Args, Debug)]
pub struct RootArgs {
    /// Project root holding engines/engines.lock.yaml.
    #[arg(long, default_value = ".")]
    pub root: PathBuf,
    /// Print JSON instead of a table.
    #[arg(long, value_enum, default_value_t = super::Format::Text)]
    pub format: super::Format,
}

#[derive(clap::Args, Debug)]
pub struct FreezeArgs {
    /// The engine file (ONNX model, TensorRT .engine/.plan, or .cudaplan), inside the project.
    pub file: PathBuf,
    /// Name the engine is known by in runs and reports.
    #[arg(long)]
    pub name: String,
    /// The model adapter YAML (input, decoder, classes, thresholds).
    #[arg(long)]
    pub adapter: PathBuf,
    /// The model the engine was built from (its hash is recorded as provenance).
    #[arg(long)]
    pub source_model: Option<PathBuf>,
    /// Engine format when the extension does not tell.
    #[arg(long, value_parser = ["onnx", "trt", "cuda-plan"])]
    pub format: Option<String>,
    /// Platform profile the engine was built on.
    #[arg(long)]
    pub built_on: Option<String>,
    /// Replace an existing entry of the same name.
    #[arg(long)]
    pub replace: bool,
    #[arg(long, default_value = ".")]
    pub root: PathBuf,
}

pub fn run(cmd: Command) -> CliResult {
    match cmd {
        Command::Freeze(a) => freeze(a),
        Command::Probe(a) => probe(a),
        Command::Verify(a) => verify(a),
        Command::List(a) => list(a),
        Command::Build(a) => build_plan(a),
        Command::Inspect(a) => inspect_plan(a),
        Command::Diff(a) => diff_plans(a),
    }
}

fn build_plan(a: BuildArgs) -> CliResult {
    if a.backend != "cuda" {
        return Err(Failure::bad_input(anyhow::anyhow!(
            "`engine build` compiles GPU plans and supports only `--backend cuda` (got `{}`); \
             ONNX models run on the cpu backend as they are: freeze them with `engine freeze`",
            a.backend
        )));
    }
    let precision = match a.precision.as_str() {
        "fp16" => Precision::Fp16,
        _ => Precision::Fp32,
    };
    let tactics = match a.tactics.as_str() {
        "heuristic" => TacticPolicy::Heuristic,
        "deterministic" => TacticPolicy::Deterministic,
        _ => TacticPolicy::Measured,
    };
    // Any failure to get a chooser means no usable GPU here (no driver, no device, no
    // CUDA backend in this build): exit 4, whatever the GPU side called it.
    let mut chooser = adasval::backend::cuda::algo_chooser().map_err(|e: ChooseError| {
        Failure::unavailable(anyhow::anyhow!(
            "cannot build a CUDA plan on this machine: {e}"
        ))
    })?;
    let opts = BuildOptions {
        name: a.name.clone(),
        precision,
        tactics,
        fuse_elementwise: !a.no_elementwise_fusion,
    };
    let file = build(&a.model, &opts, chooser.as_mut()).map_err(Failure::classified)?;
    let out_rel = a
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("engines/{}.cudaplan", a.name)));
    let (out, bytes) = write_plan(&a.root, &out_rel, &file).map_err(Failure::classified)?;
    let p = &file.plan;
    let convs = p.layers.iter().filter(|l| l.choice.is_some()).count();
    outln!(
        "built {} ({} layers, {} convolutions, {}, tactics {}) on {}\n  wrote {} ({} bytes, sha256 {})\n  arena {} B, workspace {} B",
        p.name,
        p.layers.len(),
        convs,
        inspect::precision_str(p.precision),
        inspect::tactics_str(p.tactics),
        inspect::device_str(p),
        out.display(),
        bytes.len(),
        adasval::hash::sha256_hex(&bytes),
        p.memory.arena_bytes,
        p.memory.workspace_bytes
    );
    let Some(adapter) = a.adapter else {
        eprintln!("not frozen: pass --adapter to record the plan in the lock");
        return Ok(Status::Pass);
    };
    let model_abs = std::path::absolute(&a.model).unwrap_or(a.model.clone());
    let entry = freeze_plan(&a.root, &out_rel, &file, &adapter, &model_abs, a.replace)
        .map_err(Failure::classified)?;
    outln!(
        "frozen {} ({}, {} bytes)\n  sha256  {}\n  adapter {} sha256 {}",
        entry.name,
        entry.path,
        entry.size,
        entry.sha256,
        entry.adapter.path,
        entry.adapter.sha256
    );
    Ok(Status::Pass)
}

/// A plan given as a file path, or as the name of a frozen `cuda-plan` engine (whose bytes
/// are checked against the lock before they are parsed). Returns the plan and a label.
fn load_plan(root: &Path, what: &str) -> Result<(PlanFile, String), Failure> {
    let path = Path::new(what);
    let (bytes, label) = if path.is_file() {
        let bytes = std::fs::read(path)
            .map_err(|e| Failure::bad_input(anyhow::anyhow!("cannot read {what}: {e}")))?;
        (bytes, what.to_string())
    } else {
        let lock = LockFile::load(root).map_err(Failure::classified)?;
        let entry = lock.get(what).map_err(|e| {
            Failure::bad_input(anyhow::anyhow!(
                "`{what}` is neither a file nor a frozen engine: {e}"
            ))
        })?;
        if entry.format != EngineFormat::CudaPlan {
            return Err(Failure::bad_input(anyhow::anyhow!(
                "engine `{what}` has format {}, not cuda-plan",
                entry.format.as_str()
            )));
        }
        let v = lock::load_verified(root, entry).map_err(Failure::classified)?;
        (v.bytes.to_vec(), format!("{what} ({})", entry.path))
    };
    let file = PlanFile::from_bytes(&bytes)
        .map_err(|e| Failure::bad_input(anyhow::anyhow!("{label}: {e}")))?;
    Ok((file, label))
}

fn inspect_plan(a: InspectArgs) -> CliResult {
    let (file, _) = load_plan(&a.root, &a.plan)?;
    if a.format == super::Format::Json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&inspect::inspect_json(&file))
                .map_err(Failure::bad_input)?
        );
    } else {
        out!("{}", inspect::inspect_text(&file));
    }
    Ok(Status::Pass)
}

fn diff_plans(a: PlanDiffArgs) -> CliResult {
    let (fa, la) = load_plan(&a.root, &a.a)?;
    let (fb, lb) = load_plan(&a.root, &a.b)?;
    let d = plandiff::diff(&fa, &fb);
    if a.format == super::Format::Json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({ "a": la, "b": lb, "diff": d }))
                .map_err(Failure::bad_input)?
        );
    } else {
        let label = |l: &str, f: &PlanFile| {
            format!(
                "{l}: {} built {} on {}",
                f.plan.name,
                f.plan.built_at,
                inspect::device_str(&f.plan)
            )
        };
        out!(
            "{}",
            plandiff::diff_text(&d, &label(&la, &fa), &label(&lb, &fb))
        );
    }
    Ok(match d.verdict {
        plandiff::Verdict::Identical => Status::Pass,
        plandiff::Verdict::ChoicesDiffer => Status::GateFailed,
        plandiff::Verdict::NotComparable => Status::BadInput,
    })
}

fn probe(a: ProbeArgs) -> CliResult {
    let bytes = std::fs::read(&a.model).map_err(|e| {
        Failure::bad_input(anyhow::anyhow!("cannot read {}: {e}", a.model.display()))
    })?;
    let model = adasval::probe::model_signature(&bytes)
        .map_err(|e| Failure::bad_input(anyhow::anyhow!("{}: {e}", a.model.display())))?;
    let name = a.name.clone().unwrap_or_else(|| {
        a.model
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "model".into())
    });
    let suggestion = adasval::model_signature::suggest_adapter(&model, &name);
    if let (Some(path), Some(yaml)) = (&a.adapter_out, &suggestion.adapter_yaml) {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(|e| {
                Failure::bad_input(anyhow::anyhow!(
                    "cannot create {} (an existing file is never overwritten): {e}",
                    path.display()
                ))
            })?;
        f.write_all(yaml.as_bytes())
            .map_err(|e| Failure::new(Status::Unavailable, e))?;
    }
    let sha = adasval::hash::sha256_hex(&bytes);
    match a.format {
        super::Format::Json => {
            let v = serde_json::json!({
                "model": a.model,
                "sha256": sha,
                "signature": model,
                "suggestion": suggestion,
            });
            outln!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        }
        super::Format::Text => {
            outln!("model     {}", a.model.display());
            outln!("sha256    {sha}");
            let producer = if model.producer.is_empty() {
                "not recorded".to_string()
            } else {
                format!("{} {}", model.producer, model.producer_version)
            };
            outln!("producer  {}", producer.trim());
            match model.opset {
                Some(o) => outln!("opset     {o}"),
                None => outln!("opset     not declared"),
            }
            outln!("inputs");
            for t in &model.inputs {
                outln!("  {t}");
            }
            outln!("outputs");
            for t in &model.outputs {
                outln!("  {t}");
            }
            match &suggestion.decoder {
                Some(d) => outln!("decoder   {d} (fits the output shapes)"),
                None => outln!("decoder   none of adasval's decoders fits these outputs"),
            }
            for n in &suggestion.notes {
                outln!("note      {n}");
            }
            if let Some(yaml) = &suggestion.adapter_yaml {
                match &a.adapter_out {
                    Some(p) => outln!("suggested adapter written to {}", p.display()),
                    None => {
                        outln!("suggested adapter (save it with --adapter-out FILE):");
                        out!("{yaml}");
                    }
                }
            }
        }
    }
    Ok(Status::Pass)
}

fn freeze(a: FreezeArgs) -> CliResult {
    let format = a.format.as_deref().map(|f| match f {
        "trt" => EngineFormat::Trt,
        "cuda-plan" => EngineFormat::CudaPlan,
        _ => EngineFormat::Onnx,
    });
    let (entry, unchecked) = lock::freeze_noting(
        &a.root,
        &FreezeRequest {
            file: a.file,
            name: a.name,
            adapter: a.adapter,
            source_model: a.source_model,
            format,
            built_on: a.built_on,
            replace: a.replace,
            onnx_signature: Some(adasval::probe::model_signature),
        },
    )
    .map_err(Failure::classified)?;
    if let Some(e) = unchecked {
        eprintln!(
            "warning: {} is {e}: its adapter could not be checked against it (the CPU backend cannot run it; external runners may)",
            entry.path
        );
    }
    outln!(
        "frozen {} ({}, {} bytes)\n  sha256  {}\n  adapter {} sha256 {}",
        entry.name,
        entry.path,
        entry.size,
        entry.sha256,
        entry.adapter.path,
        entry.adapter.sha256
    );
    Ok(Status::Pass)
}

fn verify(a: RootArgs) -> CliResult {
    // A project whose lock is gone has nothing verified: that is never a pass.
    let lock_path = LockFile::path(&a.root);
    if !lock_path.exists() {
        return Err(Failure::bad_input(anyhow::anyhow!(
            "no lock file at {}: nothing is frozen, so nothing was verified (run from the project's directory or pass --root DIR)",
            lock_path.display()
        )));
    }
    let lock = LockFile::load(&a.root).map_err(Failure::classified)?;
    let sealed = std::fs::read(&lock_path)
        .ok()
        .and_then(|b| lock::check_seal(&lock_path, &b).ok());
    if sealed == Some(lock::Sealed::No) {
        eprintln!(
            "warning: {} has no seal line (written by hand or by an older adasval), so an edit to its names, timestamps or provenance cannot be detected; `adasval engine freeze --replace` of any engine seals it",
            lock_path.display()
        );
    }
    let checks = lock::verify_all(&a.root, &lock);
    let bad = checks.iter().filter(|c| !c.ok()).count();
    if a.format == super::Format::Json {
        outln!(
            "{}",
            serde_json::json!({ "ok": bad == 0, "checks": checks.iter().map(|c| serde_json::json!({
                "engine": c.engine, "what": c.what, "path": c.path, "expected": c.expected,
                "actual": c.actual, "expected_size": c.expected_size, "actual_size": c.actual_size,
                "ok": c.ok(), "problem": c.problem() })).collect::<Vec<_>>() })
        );
    } else {
        outln!(
            "{:<24} {:<8} {:<6} {:<44} expected / actual sha256",
            "engine",
            "file",
            "status",
            "path"
        );
        for c in &checks {
            let status = match (&c.actual, c.ok()) {
                (None, _) => "MISSING",
                (_, true) => "ok",
                (Some(a), false) if a == &c.expected => "SIZE",
                (_, false) => "CHANGED",
            };
            outln!(
                "{:<24} {:<8} {:<6} {:<44} {}",
                c.engine,
                c.what,
                status,
                c.path,
                c.expected
            );
            if !c.ok() {
                outln!(
                    "{:<90} {}",
                    "",
                    c.actual
                        .as_deref()
                        .unwrap_or("(file missing or unreadable)")
                );
            }
        }
    }
    if bad > 0 {
        let first = checks.iter().find_map(|c| c.problem());
        return Err(Failure::integrity(anyhow::anyhow!(
            "{bad} file(s) do not match the lock; first: {}",
            first.unwrap_or_default()
        )));
    }
    eprintln!("{} engine(s) verified", lock.engines.len());
    Ok(Status::Pass)
}

fn list(a: RootArgs) -> CliResult {
    let lock = LockFile::load(&a.root).map_err(Failure::classified)?;
    if a.format == super::Format::Json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&lock.engines).map_err(Failure::bad_input)?
        );
        return Ok(Status::Pass);
    }
    for e in &lock.engines {
        outln!(
            "{:<24} {:<9} {:>10} B  {}  {}  adapter {}",
            e.name,
            e.format.as_str(),
            e.size,
            &e.sha256[..16],
            e.path,
            e.adapter.path
        );
    }
    Ok(Status::Pass)
}
