//! The backends a run can name: every backend of the replay stage, plus the CUDA backend,
//! which lives in its own crate so nothing but this binary links cudarc into the replay.

pub use adasval_cuda as cuda;
pub use adasval_run::backend::*;

/// Look a backend up by name.
pub fn by_name(name: &str, config: &BackendConfig) -> Result<Box<dyn Backend>, BackendError> {
    match name {
        "cpu" => Ok(Box::new(cpu::CpuBackend::new(config.cpu_threads))),
        "noop" => Ok(Box::new(noop::NoopBackend)),
        "runner" => Ok(Box::new(runner::RunnerBackend::new(
            config.runner.as_deref().unwrap_or(""),
        )?)),
        "trtexec" => Ok(Box::new(trtexec::TrtexecBackend::new(
            config.trtexec.as_deref().unwrap_or("trtexec"),
        ))),
        "cuda" => Ok(Box::new(cuda::CudaBackend::new(config))),
        other => Err(BackendError::Unknown(other.to_string())),
    }
}
