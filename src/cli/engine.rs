//! `adasval engine freeze|verify|list`: the lock file of frozen engines.

use std::path::PathBuf;

use adasval::exit::Status;
use adasval::lock::{self, EngineFormat, FreezeRequest, LockFile};

use super::{CliResult, Failure};

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Hash an engine binary and its model adapter and record both in engines/engines.lock.yaml.
    Freeze(FreezeArgs),
    /// Re-hash every frozen engine and adapter; exit 3 on any mismatch or missing file.
    Verify(RootArgs),
    /// List the frozen engines.
    List(RootArgs),
}

#[derive(clap::Args, Debug)]
pub struct RootArgs {
    /// Project root holding engines/engines.lock.yaml.
    #[arg(long, default_value = ".")]
    pub root: PathBuf,
    /// Print JSON instead of a table.
    #[arg(long, value_parser = ["text", "json"], default_value = "text")]
    pub format: String,
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
        Command::Verify(a) => verify(a),
        Command::List(a) => list(a),
    }
}

fn freeze(a: FreezeArgs) -> CliResult {
    let format = a.format.as_deref().map(|f| match f {
        "trt" => EngineFormat::Trt,
        "cuda-plan" => EngineFormat::CudaPlan,
        _ => EngineFormat::Onnx,
    });
    let entry = lock::freeze(
        &a.root,
        &FreezeRequest {
            file: a.file,
            name: a.name,
            adapter: a.adapter,
            source_model: a.source_model,
            format,
            built_on: a.built_on,
            replace: a.replace,
        },
    )
    .map_err(Failure::classified)?;
    println!(
        "frozen {} ({}, {} bytes)\n  sha256  {}\n  adapter {} sha256 {}",
        entry.name, entry.path, entry.size, entry.sha256, entry.adapter.path, entry.adapter.sha256
    );
    Ok(Status::Pass)
}

fn verify(a: RootArgs) -> CliResult {
    let lock = LockFile::load(&a.root).map_err(Failure::classified)?;
    let checks = lock::verify_all(&a.root, &lock);
    let bad = checks.iter().filter(|c| !c.ok()).count();
    if a.format == "json" {
        println!(
            "{}",
            serde_json::json!({ "ok": bad == 0, "checks": checks.iter().map(|c| serde_json::json!({
                "engine": c.engine, "what": c.what, "path": c.path, "expected": c.expected,
                "actual": c.actual, "ok": c.ok() })).collect::<Vec<_>>() })
        );
    } else {
        println!(
            "{:<24} {:<8} {:<6} {:<44} expected / actual sha256",
            "engine", "file", "status", "path"
        );
        for c in &checks {
            let status = match (&c.actual, c.ok()) {
                (None, _) => "MISSING",
                (_, true) => "ok",
                (_, false) => "CHANGED",
            };
            println!(
                "{:<24} {:<8} {:<6} {:<44} {}",
                c.engine, c.what, status, c.path, c.expected
            );
            if !c.ok() {
                println!(
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
        let first = checks.iter().find(|c| !c.ok()).map(|c| {
            format!(
                "{} of engine `{}` ({}): expected sha256 {}, actual {}",
                c.what,
                c.engine,
                c.path,
                c.expected,
                c.actual.as_deref().unwrap_or("missing")
            )
        });
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
    if a.format == "json" {
        println!(
            "{}",
            serde_json::to_string_pretty(&lock.engines).map_err(Failure::bad_input)?
        );
        return Ok(Status::Pass);
    }
    for e in &lock.engines {
        println!(
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
