//! The first GPU, opened once: library presence checks (so a machine without CUDA gets a
//! clear "unavailable" instead of a panic from a missing shared library), the driver
//! context, raw device buffers and the device's identity (what a plan records as
//! `built_on` and the run records in its fingerprint).

use std::sync::Arc;

use cudarc::driver::{sys as ds, CudaContext, CudaGraph, CudaStream};

use adasval_plan::ir::BuildDevice;
pub use adasval_record::platform::DeviceInfo;

/// Everything that can go wrong on the GPU side, before it is mapped onto the backend's
/// or the builder's error type.
#[derive(Debug, thiserror::Error)]
pub enum GpuError {
    /// No driver, no GPU, or a library missing: exit 4.
    #[error("{0}")]
    Unavailable(String),
    /// A CUDA, cuDNN or NVRTC call failed.
    #[error("{call}: {message}")]
    Call { call: String, message: String },
    /// The plan asks for something this executor cannot do.
    #[error("{0}")]
    Invalid(String),
}

/// `result.call("cuMemAlloc")?`: every CUDA/cuDNN result carries the call that failed.
pub trait CallExt<T> {
    fn call(self, what: &str) -> Result<T, GpuError>;
}

impl<T, E: std::fmt::Debug> CallExt<T> for Result<T, E> {
    fn call(self, what: &str) -> Result<T, GpuError> {
        self.map_err(|e| GpuError::Call {
            call: what.to_string(),
            message: format!("{e:?}"),
        })
    }
}

/// What `record` enqueues on `stream`, captured and instantiated as one CUDA graph (the
/// chooser's timing runs and each session's frame). Thread-local capture mode: other
/// threads keep working on their own streams meanwhile. The capture is ended whatever
/// `record` returned, or the stream would stay unusable.
pub fn capture_graph(
    stream: &Arc<CudaStream>,
    record: impl FnOnce() -> Result<(), GpuError>,
) -> Result<CudaGraph, GpuError> {
    stream
        .begin_capture(ds::CUstreamCaptureMode::CU_STREAM_CAPTURE_MODE_THREAD_LOCAL)
        .call("cuStreamBeginCapture")?;
    let recorded = record();
    let ended = stream
        .end_capture(ds::CUgraphInstantiate_flags(0))
        .call("cuStreamEndCapture/cuGraphInstantiate");
    recorded?;
    ended?.ok_or_else(|| GpuError::Call {
        call: "cuStreamEndCapture".into(),
        message: "captured an empty graph".into(),
    })
}

/// The device as a plan records the GPU it was built on.
pub fn build_device(info: &DeviceInfo) -> BuildDevice {
    BuildDevice {
        name: info.name.clone(),
        compute_capability: info.compute_capability,
        sm_count: info.sm_count,
        memory_bytes: info.memory_bytes,
        driver: info.driver.clone(),
        cuda: info.cuda_driver_api.clone(),
        cudnn: info.cudnn.clone(),
        cublas: info.cublas.clone().unwrap_or_else(|| "unavailable".into()),
    }
}

pub struct Gpu {
    pub ctx: Arc<CudaContext>,
    pub info: DeviceInfo,
    /// How a waiting host thread waits for the GPU (the context's scheduling flag), as it
    /// took effect: recorded in the run's backend settings.
    pub sched: String,
}

/// The context scheduling flag `ADASVAL_CUDA_SCHED` asks for (`spin`, `yield`, `blocking`;
/// unset or `auto`: the driver's default), or why the value is not understood.
fn sched_from_env() -> Result<Option<ds::CUctx_flags>, String> {
    use ds::CUctx_flags as F;
    match std::env::var("ADASVAL_CUDA_SCHED").as_deref() {
        Err(_) | Ok("") | Ok("auto") => Ok(None),
        Ok("spin") => Ok(Some(F::CU_CTX_SCHED_SPIN)),
        Ok("yield") => Ok(Some(F::CU_CTX_SCHED_YIELD)),
        Ok("blocking") => Ok(Some(F::CU_CTX_SCHED_BLOCKING_SYNC)),
        Ok(other) => Err(format!(
            "ADASVAL_CUDA_SCHED={other} is not one of auto, spin, yield, blocking"
        )),
    }
}

/// The scheduling part of the current context's flags, in words.
fn sched_in_effect() -> String {
    let mut flags: std::ffi::c_uint = 0;
    // SAFETY: plain out-parameter; a context is current (bound by the caller).
    if unsafe { ds::cuCtxGetFlags(&mut flags) }.result().is_err() {
        return "unknown (cuCtxGetFlags failed)".into();
    }
    match flags & 7 {
        0 => "auto (driver default: spin while active contexts <= logical CPUs, else yield)",
        1 => "spin",
        2 => "yield",
        4 => "blocking sync",
        _ => "unknown",
    }
    .into()
}

/// Whether the shared library is there, without letting cudarc panic on its absence.
fn present(name: &str, check: unsafe fn() -> bool) -> Result<(), GpuError> {
    // SAFETY: only tries to dlopen the candidate names.
    if unsafe { check() } {
        Ok(())
    } else {
        Err(GpuError::Unavailable(format!(
            "{name} not found (no NVIDIA driver or CUDA libraries on this machine, or not on \
             LD_LIBRARY_PATH)"
        )))
    }
}

fn version_mmp(v: usize, major_div: usize) -> String {
    format!("{}.{}.{}", v / major_div, (v % major_div) / 100, v % 100)
}

impl Gpu {
    /// Open device 0. Never panics: a missing library or device is `Unavailable`.
    pub fn open() -> Result<Arc<Gpu>, GpuError> {
        std::panic::catch_unwind(Self::open_inner).unwrap_or_else(|p| {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "unknown panic".into());
            Err(GpuError::Unavailable(format!(
                "loading the CUDA libraries failed: {msg}"
            )))
        })
    }

    fn open_inner() -> Result<Arc<Gpu>, GpuError> {
        present("libcuda (the NVIDIA driver)", ds::is_culib_present)?;
        present("NVRTC (libnvrtc)", cudarc::nvrtc::sys::is_culib_present)?;
        present("cuDNN (libcudnn)", cudarc::cudnn::sys::is_culib_present)?;
        cudarc::driver::result::init()
            .map_err(|e| GpuError::Unavailable(format!("cuInit failed: {e:?}")))?;
        let count = cudarc::driver::result::device::get_count()
            .map_err(|e| GpuError::Unavailable(format!("cuDeviceGetCount failed: {e:?}")))?;
        if count < 1 {
            return Err(GpuError::Unavailable("the CUDA driver sees no GPU".into()));
        }
        let ctx = CudaContext::new(0)
            .map_err(|e| GpuError::Unavailable(format!("cannot open GPU 0: {e:?}")))?;
        // One stream per engine and raw buffers: cudarc's cross-stream event tracking would
        // only add work.
        // SAFETY: nothing in this backend shares cudarc slices between streams.
        unsafe { ctx.disable_event_tracking() };
        let info = device_info(&ctx)?;
        let asked = sched_from_env().map_err(GpuError::Invalid)?;
        if let Some(flag) = asked {
            ctx.set_flags(flag).call("cuCtxSetFlags(scheduling)")?;
        }
        let sched = format!(
            "{}{}",
            sched_in_effect(),
            if asked.is_some() {
                " (ADASVAL_CUDA_SCHED)"
            } else {
                ""
            }
        );
        Ok(Arc::new(Gpu { ctx, info, sched }))
    }
}

fn device_info(ctx: &Arc<CudaContext>) -> Result<DeviceInfo, GpuError> {
    use ds::CUdevice_attribute as A;
    let attr = |a: A| ctx.attribute(a).ok();
    let (major, minor) = ctx.compute_capability().call("cuDeviceGetAttribute(cc)")?;
    let mut drv: std::ffi::c_int = 0;
    // SAFETY: plain out-parameter.
    unsafe { ds::cuDriverGetVersion(&mut drv).result() }.call("cuDriverGetVersion")?;
    let mut pci = [0 as std::ffi::c_char; 32];
    // SAFETY: the buffer is 32 bytes, as declared in the call.
    let pci_bus_id = unsafe {
        ds::cuDeviceGetPCIBusId(pci.as_mut_ptr(), pci.len() as i32, ctx.cu_device()).result()
    }
    .ok()
    .map(|_| {
        // SAFETY: NUL-terminated by the driver within the buffer.
        unsafe { std::ffi::CStr::from_ptr(pci.as_ptr()) }
            .to_string_lossy()
            .into_owned()
    });
    let (mut nv_major, mut nv_minor) = (0, 0);
    // SAFETY: plain out-parameters.
    unsafe { cudarc::nvrtc::sys::nvrtcVersion(&mut nv_major, &mut nv_minor).result() }
        .call("nvrtcVersion")?;
    let cudnn = cudarc::cudnn::result::get_version();
    let cudnn_cudart = cudarc::cudnn::result::get_cudart_version();
    Ok(DeviceInfo {
        name: ctx.name().call("cuDeviceGetName")?,
        compute_capability: [major as u32, minor as u32],
        sm_count: attr(A::CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT).unwrap_or(0) as u32,
        memory_bytes: ctx.total_mem().call("cuDeviceTotalMem")? as u64,
        memory_bus_width_bits: attr(A::CU_DEVICE_ATTRIBUTE_GLOBAL_MEMORY_BUS_WIDTH)
            .map(|v| v as u32),
        l2_bytes: attr(A::CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE).map(|v| v as u64),
        max_sm_clock_mhz: attr(A::CU_DEVICE_ATTRIBUTE_CLOCK_RATE).map(|k| k as u32 / 1000),
        max_memory_clock_mhz: attr(A::CU_DEVICE_ATTRIBUTE_MEMORY_CLOCK_RATE)
            .map(|k| k as u32 / 1000),
        ecc_enabled: attr(A::CU_DEVICE_ATTRIBUTE_ECC_ENABLED).map(|v| v != 0),
        pci_bus_id,
        driver: kernel_driver_version().unwrap_or_else(|| "unknown".into()),
        cuda_driver_api: format!("{}.{}", drv / 1000, (drv % 1000) / 10),
        nvrtc: format!("{nv_major}.{nv_minor}"),
        cudnn: version_mmp(cudnn, 10_000),
        cudnn_cudart: format!("{}.{}", cudnn_cudart / 1000, (cudnn_cudart % 1000) / 10),
        cublas: cublas_version(),
    })
}

/// The kernel module's version, as nvidia-smi prints it.
pub fn kernel_driver_version() -> Option<String> {
    std::fs::read_to_string("/sys/module/nvidia/version")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// cuBLAS is recorded, not needed: its absence is a `None`, not an error.
fn cublas_version() -> Option<String> {
    use cudarc::cublas::sys as bs;
    // SAFETY: dlopen probe only.
    if !unsafe { bs::is_culib_present() } {
        return None;
    }
    let get = |t: bs::libraryPropertyType| {
        let mut v: std::ffi::c_int = 0;
        // SAFETY: plain out-parameter; the library is present.
        let st = unsafe { bs::cublasGetProperty(t, &mut v) };
        (st == bs::cublasStatus_t::CUBLAS_STATUS_SUCCESS).then_some(v)
    };
    Some(format!(
        "{}.{}.{}",
        get(bs::libraryPropertyType::MAJOR_VERSION)?,
        get(bs::libraryPropertyType::MINOR_VERSION)?,
        get(bs::libraryPropertyType::PATCH_LEVEL)?
    ))
}

/// A raw device allocation (cuMemAlloc, never managed memory), freed on drop.
pub struct DevBuf {
    pub ptr: ds::CUdeviceptr,
    pub bytes: usize,
    ctx: Arc<CudaContext>,
}

impl DevBuf {
    pub fn new(ctx: &Arc<CudaContext>, bytes: usize) -> Result<DevBuf, GpuError> {
        ctx.bind_to_thread().call("cuCtxSetCurrent")?;
        // Zero-sized tensors still need a valid, aligned address.
        let n = bytes.max(256);
        // SAFETY: plain allocation; freed exactly once in Drop.
        let ptr = unsafe { cudarc::driver::result::malloc_sync(n) }
            .call(&format!("cuMemAlloc({n} bytes)"))?;
        Ok(DevBuf {
            ptr,
            bytes: n,
            ctx: ctx.clone(),
        })
    }
}

impl Drop for DevBuf {
    fn drop(&mut self) {
        let _ = self.ctx.bind_to_thread();
        // SAFETY: allocated by malloc_sync in `new`, freed only here.
        let _ = unsafe { cudarc::driver::result::free_sync(self.ptr) };
    }
}
