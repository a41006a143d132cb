//! The executor's own kernels (elementwise, data movement, pooling, precision conversion),
//! compiled once per engine with NVRTC for the device's architecture. One source, two
//! instantiations: `T = float` for fp32 plans and `T = half` (raw 16-bit storage, converted
//! with PTX `cvt`, so no CUDA headers are needed at run time) for fp16 plans. Arithmetic is
//! always fp32.

use std::sync::Arc;

use cudarc::driver::{CudaFunction, DeviceRepr, LaunchConfig};

use super::gpu::{CallExt, Gpu, GpuError};
use crate::cudaplan::ir::Precision;

pub const MAX_RANK: usize = 8;

/// Index map of a strided gather / broadcast, passed to the kernels by value. The layout
/// matches `struct Gather` in the CUDA source.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct Gather {
    pub n: i64,
    pub rank: i32,
    pub dims: [i32; MAX_RANK],
    pub sa: [i64; MAX_RANK],
    pub sb: [i64; MAX_RANK],
    pub base_a: i64,
    pub base_b: i64,
}

// SAFETY: plain-old-data with the C layout the kernels declare.
unsafe impl DeviceRepr for Gather {}

const SOURCE: &str = r#"
typedef unsigned short half_t;
__device__ __forceinline__ float h2f(half_t h) { float f; asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h)); return f; }
__device__ __forceinline__ half_t f2h(float f) { half_t h; asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h) : "f"(f)); return h; }
#ifdef ADASVAL_HALF
typedef half_t T;
__device__ __forceinline__ float LD(const T* p, long long i) { return h2f(p[i]); }
__device__ __forceinline__ void ST(T* p, long long i, float v) { p[i] = f2h(v); }
#else
typedef float T;
__device__ __forceinline__ float LD(const T* p, long long i) { return p[i]; }
__device__ __forceinline__ void ST(T* p, long long i, float v) { p[i] = v; }
#endif
#define MAX_RANK 8
struct Gather { long long n; int rank; int dims[MAX_RANK]; long long sa[MAX_RANK]; long long sb[MAX_RANK]; long long base_a; long long base_b; };
#define LOOP(n) for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < (n); i += (long long)gridDim.x * blockDim.x)

__device__ __forceinline__ float apply(int kind, float v) {
  if (kind == 1) return fmaxf(v, 0.0f);
  if (kind == 2) return 1.0f / (1.0f + expf(-v));
  if (kind == 3) return v / (1.0f + expf(-v));
  return v;
}

extern "C" __global__ void act(const T* x, T* y, long long n, int kind) {
  LOOP(n) { ST(y, i, apply(kind, LD(x, i))); }
}

/* Bias (per channel of NCHW) and activation in place, after a cuDNN convolution. */
extern "C" __global__ void bias_act(T* y, const T* bias, long long n, long long hw, int c, int kind) {
  LOOP(n) {
    float v = LD(y, i);
    if (bias) v += LD(bias, (i / hw) % c);
    ST(y, i, apply(kind, v));
  }
}

extern "C" __global__ void binary(const T* a, const T* b, T* y, Gather g, int op) {
  LOOP(g.n) {
    long long r = i, oa = g.base_a, ob = g.base_b;
    for (int d = g.rank - 1; d >= 0; --d) {
      long long c = r % g.dims[d]; r /= g.dims[d];
      oa += c * g.sa[d]; ob += c * g.sb[d];
    }
    float va = LD(a, oa), vb = LD(b, ob);
    ST(y, i, op == 0 ? va + vb : va * vb);
  }
}

extern "C" __global__ void gather(const T* x, T* y, Gather g) {
  LOOP(g.n) {
    long long r = i, oa = g.base_a;
    for (int d = g.rank - 1; d >= 0; --d) {
      long long c = r % g.dims[d]; r /= g.dims[d];
      oa += c * g.sa[d];
    }
    y[i] = x[oa];
  }
}

extern "C" __global__ void concat_part(const T* x, T* y, long long outer, long long inner_in, long long inner_out, long long off) {
  LOOP(outer * inner_in) {
    long long o = i / inner_in, r = i % inner_in;
    y[o * inner_out + off + r] = x[i];
  }
}

/* Padding never wins the max (ONNX MaxPool semantics). */
extern "C" __global__ void maxpool(const T* x, T* y, long long nc, int h, int w, int oh, int ow,
                                   int kh, int kw, int sh, int sw, int pt, int pl) {
  LOOP(nc * oh * ow) {
    int ox = (int)(i % ow); long long t = i / ow; int oy = (int)(t % oh); long long p = t / oh;
    float m = __int_as_float(0xff800000);
    const T* base = x + p * (long long)h * w;
    for (int ky = 0; ky < kh; ++ky) {
      int iy = oy * sh - pt + ky;
      if (iy < 0 || iy >= h) continue;
      for (int kx = 0; kx < kw; ++kx) {
        int ix = ox * sw - pl + kx;
        if (ix < 0 || ix >= w) continue;
        m = fmaxf(m, LD(base, (long long)iy * w + ix));
      }
    }
    ST(y, i, m);
  }
}

/* Nearest, integer scales, asymmetric coordinates with floor: out (y, x) reads (y / sh, x / sw). */
extern "C" __global__ void resize_nearest(const T* x, T* y, long long nc, int h, int w, int sh, int sw) {
  long long oh = (long long)h * sh, ow = (long long)w * sw;
  LOOP(nc * oh * ow) {
    long long ox = i % ow; long long t = i / ow; long long oy = t % oh; long long p = t / oh;
    y[i] = x[(p * h + oy / sh) * w + ox / sw];
  }
}

extern "C" __global__ void f32_to_f16(const float* x, half_t* y, long long n) { LOOP(n) { y[i] = f2h(x[i]); } }
extern "C" __global__ void f16_to_f32(const half_t* x, float* y, long long n) { LOOP(n) { y[i] = h2f(x[i]); } }
"#;

pub struct Kernels {
    pub act: CudaFunction,
    pub bias_act: CudaFunction,
    pub binary: CudaFunction,
    pub gather: CudaFunction,
    pub concat_part: CudaFunction,
    pub maxpool: CudaFunction,
    pub resize_nearest: CudaFunction,
    pub f32_to_f16: CudaFunction,
    pub f16_to_f32: CudaFunction,
    max_blocks: u32,
}

impl Kernels {
    pub fn compile(gpu: &Arc<Gpu>, precision: Precision) -> Result<Kernels, GpuError> {
        let [major, minor] = gpu.info.compute_capability;
        let mut options = vec![format!("--gpu-architecture=compute_{major}{minor}")];
        if precision == Precision::Fp16 {
            options.push("-DADASVAL_HALF".into());
        }
        let opts = cudarc::nvrtc::CompileOptions {
            options,
            // IEEE division and square root, no flush to zero: bit-for-bit reproducible
            // elementwise results matter more here than the last percent of speed.
            ftz: Some(false),
            prec_div: Some(true),
            prec_sqrt: Some(true),
            fmad: Some(false),
            ..Default::default()
        };
        let ptx =
            cudarc::nvrtc::compile_ptx_with_opts(SOURCE, opts).map_err(|e| GpuError::Call {
                call: "nvrtcCompileProgram".into(),
                message: e.to_string(),
            })?;
        let module = gpu.ctx.load_module(ptx).call("cuModuleLoadData")?;
        let f = |name: &str| {
            module
                .load_function(name)
                .call(&format!("cuModuleGetFunction({name})"))
        };
        Ok(Kernels {
            act: f("act")?,
            bias_act: f("bias_act")?,
            binary: f("binary")?,
            gather: f("gather")?,
            concat_part: f("concat_part")?,
            maxpool: f("maxpool")?,
            resize_nearest: f("resize_nearest")?,
            f32_to_f16: f("f32_to_f16")?,
            f16_to_f32: f("f16_to_f32")?,
            max_blocks: gpu.info.sm_count.max(1) * 32,
        })
    }

    /// Grid-stride loops: enough blocks to fill the chip, never more than the work.
    pub fn config(&self, n: usize) -> LaunchConfig {
        const THREADS: u32 = 256;
        let blocks = (n.div_ceil(THREADS as usize)).clamp(1, self.max_blocks as usize) as u32;
        LaunchConfig {
            grid_dim: (blocks, 1, 1),
            block_dim: (THREADS, 1, 1),
            shared_mem_bytes: 0,
        }
    }
}

/// Launch with the arguments given, checking the launch's result.
macro_rules! launch {
    ($stream:expr, $k:expr, $f:ident, $n:expr; $($arg:expr),* $(,)?) => {{
        let cfg = $k.config($n as usize);
        let mut b = $stream.launch_builder(&$k.$f);
        $( b.arg($arg); )*
        // SAFETY: the arguments match the kernel's signature in SOURCE; every pointer is
        // inside an allocation sized from the plan, checked at prepare.
        unsafe { b.launch(cfg) }.call(concat!("cuLaunchKernel(", stringify!($f), ")"))?;
    }};
}
pub(crate) use launch;
