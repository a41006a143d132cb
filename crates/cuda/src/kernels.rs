//! The executor's own kernels (elementwise, data movement, pooling, precision conversion),
//! compiled once per engine with NVRTC for the device's architecture. One source, two
//! instantiations: `T = float` for fp32 plans and `T = half` (raw 16-bit storage, converted
//! with PTX `cvt`, so no CUDA headers are needed at run time) for fp16 plans. Arithmetic is
//! always fp32.

use std::sync::Arc;

use cudarc::driver::{CudaFunction, DeviceRepr, LaunchConfig};

use super::gpu::{CallExt, Gpu, GpuError};
use adasval_plan::ir::{ConvTile, DirectConv, Precision};
use adasval_plan::tactic::{self, CHANNEL_BLOCKS};

pub const MAX_RANK: usize = 8;
/// Inputs of a concatenation the one-launch `concat` kernel takes; more go part by part.
pub const MAX_PARTS: usize = 8;

/// The parts of a concatenation, passed by value. The layout matches `struct ConcatParts`
/// in the CUDA source (`_pad` is the C compiler's padding after `n`).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct ConcatParts {
    pub src: [u64; MAX_PARTS],
    /// Elements of each part per outer index.
    pub inner: [i64; MAX_PARTS],
    /// Where each part starts inside one outer index of the output.
    pub off: [i64; MAX_PARTS],
    pub n: i32,
    pub _pad: i32,
    pub outer: i64,
    pub inner_out: i64,
}

// SAFETY: plain-old-data with the C layout the kernels declare.
unsafe impl DeviceRepr for ConcatParts {}

/// The direct convolution's shape and epilogue, passed by value. The layout matches
/// `struct ConvArgs` in the CUDA source.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct ConvArgs {
    pub n: i32,
    pub c: i32,
    pub h: i32,
    pub w: i32,
    pub k: i32,
    pub oh: i32,
    pub ow: i32,
    pub kh: i32,
    pub kw: i32,
    pub sh: i32,
    pub sw: i32,
    pub ph: i32,
    pub pw: i32,
    /// Input and output channels per group.
    pub cg: i32,
    pub kg: i32,
    /// 0 none, 1 ReLU, 2 Sigmoid, 3 SiLU (as `bias_act`).
    pub act: i32,
    /// The residual input: 0 none, 1 added before the activation, 2 after it
    /// ([`residual_mode`]).
    pub res: i32,
}

/// The kernels' code for where a residual is added (`ConvArgs::res`, `bias_act`'s `res`).
pub fn residual_mode(r: Option<adasval_plan::ir::Residual>) -> i32 {
    match r {
        None => 0,
        Some(adasval_plan::ir::Residual::BeforeActivation) => 1,
        Some(adasval_plan::ir::Residual::AfterActivation) => 2,
    }
}

// SAFETY: plain-old-data with the C layout the kernels declare.
unsafe impl DeviceRepr for ConvArgs {}

impl ConvArgs {
    /// From NCHW input, [k, c/group, kh, kw] weight and output shapes, after the same checks
    /// as `cudaplan::tactic::direct_unsupported`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        input: [usize; 4],
        weight: [usize; 4],
        output: [usize; 4],
        stride: [usize; 2],
        pads: [usize; 4],
        dilation: [usize; 2],
        group: usize,
        act: i32,
    ) -> Result<ConvArgs, GpuError> {
        if dilation != [1, 1] {
            return Err(GpuError::Invalid(format!(
                "the direct convolution kernel has no dilation ({dilation:?})"
            )));
        }
        let [n, c, h, w] = input;
        let [k, cg, kh, kw] = weight;
        let [on, ok, oh, ow] = output;
        if group == 0 || c != cg * group || k % group != 0 || on != n || ok != k {
            return Err(GpuError::Invalid(format!(
                "direct convolution: input {input:?}, weight {weight:?}, output {output:?}, {group} groups do not fit"
            )));
        }
        let fits = |v: usize| {
            i32::try_from(v).map_err(|_| GpuError::Invalid(format!("value {v} too large")))
        };
        fits(n * c * h * w)?;
        fits(n * k * oh * ow)?;
        fits(k * cg * kh * kw)?;
        Ok(ConvArgs {
            n: fits(n)?,
            c: fits(c)?,
            h: fits(h)?,
            w: fits(w)?,
            k: fits(k)?,
            oh: fits(oh)?,
            ow: fits(ow)?,
            kh: fits(kh)?,
            kw: fits(kw)?,
            sh: fits(stride[0])?,
            sw: fits(stride[1])?,
            ph: fits(pads[0])?,
            pw: fits(pads[1])?,
            cg: fits(cg)?,
            kg: fits(k / group)?,
            act,
            res: 0,
        })
    }

    /// The launch grid of variant `v`, or why it cannot run this layer.
    pub fn config(&self, v: DirectConv) -> Result<LaunchConfig, GpuError> {
        if let Some(t) = v.tile {
            return self.tile_config(v, t);
        }
        let cb = v.channels_per_thread as i32;
        if !CHANNEL_BLOCKS.contains(&v.channels_per_thread) || self.kg % cb != 0 {
            return Err(GpuError::Invalid(format!(
                "channel block {cb} does not divide {} output channels per group",
                self.kg
            )));
        }
        if !(32..=256).contains(&v.block) || !v.block.is_multiple_of(32) {
            return Err(GpuError::Invalid(format!("block of {} threads", v.block)));
        }
        let pixels = (self.oh as u32 * self.ow as u32).div_ceil(v.block);
        let rows = self.n as u32 * (self.k / cb) as u32;
        if rows > 65_535 || pixels == 0 {
            return Err(GpuError::Invalid(format!("launch grid {pixels} × {rows}")));
        }
        Ok(LaunchConfig {
            grid_dim: (pixels, rows, 1),
            block_dim: (v.block, 1, 1),
            shared_mem_bytes: 0,
        })
    }
}

impl ConvArgs {
    /// The tiled kernel's launch: one block per output tile × block of output channels ×
    /// image ([`tactic::tile_grid`]), [`tactic::tile_threads`] threads, static shared memory.
    fn tile_config(&self, v: DirectConv, t: ConvTile) -> Result<LaunchConfig, GpuError> {
        let problem = adasval_plan::ConvProblem {
            layer: String::new(),
            input: [self.n, self.c, self.h, self.w].map(|d| d as usize),
            weight: [self.k, self.cg, self.kh, self.kw].map(|d| d as usize),
            output: [self.n, self.k, self.oh, self.ow].map(|d| d as usize),
            stride: [self.sh, self.sw].map(|d| d as usize),
            pads: [self.ph, self.pw, self.ph, self.pw].map(|d| d as usize),
            dilation: [1, 1],
            group: (self.c / self.cg.max(1)) as usize,
            bias: false,
            activation: None,
            residual: None,
            precision: adasval_plan::ir::Precision::Fp32,
            policy: adasval_plan::ir::TacticPolicy::Measured,
        };
        if let Some(why) = tactic::tile_unsupported(&problem, &v) {
            return Err(GpuError::Invalid(format!(
                "tiled direct convolution: {why}"
            )));
        }
        let [x, y, z] = tactic::tile_grid(&t, problem.output);
        Ok(LaunchConfig {
            grid_dim: (x as u32, y as u32, z as u32),
            block_dim: (tactic::tile_threads(&t, v.channels_per_thread), 1, 1),
            shared_mem_bytes: 0,
        })
    }
}

/// The kernel of a direct convolution with (`_res`) or without a residual input: two
/// instantiations, so the plain one compiles exactly the epilogue it had before residuals.
pub fn residual_name(name: String, residual: bool) -> String {
    if residual {
        format!("{name}_res")
    } else {
        name
    }
}

/// The CUDA source of every tiled variant: two `extern "C"` entries (without and with a
/// residual) per [`tactic::tiled_variants`], named as [`DirectConv::kernel_name`] names
/// it (and [`residual_name`]).
fn tiled_entries() -> String {
    tactic::tiled_variants()
        .iter()
        .flat_map(|v| [(v, false), (v, true)])
        .filter_map(|(v, res)| {
            let t = v.tile?;
            Some(format!(
                "extern \"C\" __global__ void __launch_bounds__({nt}) {name}(const T* x, const T* w, const T* b, const T* r, T* y, ConvArgs a) \
                 {{ conv_tile<{s}, {th}, {tw}, {kb}, {kt}, {py}, {res}>(x, w, b, r, y, a); }}\n",
                nt = v.block,
                name = residual_name(v.kernel_name([3, 3]), res),
                s = t.stride,
                th = t.rows,
                tw = t.cols,
                kb = t.channels,
                kt = v.channels_per_thread,
                py = t.rows_per_thread,
            ))
        })
        .collect()
}

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

/// Types, loads and stores, the grid-stride loop and the activations: shared by the fixed
/// kernels and the generated elementwise ones (`ewgen`).
pub(crate) const HEADER: &str = r#"
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

"#;

const SOURCE: &str = r#"
extern "C" __global__ void act(const T* x, T* y, long long n, int kind) {
  LOOP(n) { ST(y, i, apply(kind, LD(x, i))); }
}

/* The convolution epilogue after the sum: bias, a residual before (res 1) or after (res 2)
   the activation. One order for every engine, so they differ only in the sum. */
__device__ __forceinline__ float epilogue(float v, int act, int res, const T* r, long long i) {
  if (res == 1) v += LD(r, i);
  v = apply(act, v);
  if (res == 2) v += LD(r, i);
  return v;
}

/* Bias (per channel of NCHW), residual and activation in place, after a cuDNN convolution. */
extern "C" __global__ void bias_act(T* y, const T* bias, const T* r, long long n, long long hw, int c, int kind, int res) {
  LOOP(n) {
    float v = LD(y, i);
    if (bias) v += LD(bias, (i / hw) % c);
    ST(y, i, epilogue(v, kind, res, r, i));
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

/* Every input of a concatenation in one launch: output-ordered, so writes are coalesced. */
#define MAX_PARTS 8
struct ConcatParts { long long src[MAX_PARTS]; long long inner[MAX_PARTS]; long long off[MAX_PARTS]; int n; long long outer; long long inner_out; };
extern "C" __global__ void concat(T* y, ConcatParts p) {
  LOOP(p.outer * p.inner_out) {
    long long o = i / p.inner_out, r = i % p.inner_out;
    int k = 0;
    while (k + 1 < p.n && r >= p.off[k + 1]) ++k;
    const T* x = (const T*)p.src[k];
    y[i] = x[o * p.inner[k] + (r - p.off[k])];
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

/* Direct convolution (NCHW, groups, any kernel / stride / padding, no dilation) with bias and
   activation in the same launch. One thread: one output pixel of CB output channels of one
   group, so neighbouring threads read neighbouring input pixels (coalesced) and every thread
   of a block reads the same weights (uniform). The executor lays the weights out as
   [k / CB][c / group][kh][kw][CB], so a thread's CB weights of one tap are one vector load.
   Products are summed in fp32 in a fixed order (input channel, kernel row, kernel column)
   with fmaf: deterministic. */
struct ConvArgs { int n, c, h, w, k, oh, ow, kh, kw, sh, sw, ph, pw, cg, kg, act, res; };
/* Read-only data cache loads (what __ldg compiles to), without needing CUDA headers. */
__device__ __forceinline__ float LDG(const T* p, long long i) {
#ifdef ADASVAL_HALF
  half_t h; asm("ld.global.nc.u16 %0, [%1];" : "=h"(h) : "l"(p + i)); return h2f(h);
#else
  float f; asm("ld.global.nc.f32 %0, [%1];" : "=f"(f) : "l"(p + i)); return f;
#endif
}
/* CB consecutive weights (aligned: the block starts on 512 bytes, chunks are CB wide). */
template <int CB>
__device__ __forceinline__ void LDW(const T* p, float* w) {
#ifdef ADASVAL_HALF
  if (CB % 4 == 0) {
#pragma unroll
    for (int q = 0; q < CB / 4; ++q) {
      half_t a, b, c, d;
      asm("ld.global.nc.v4.u16 {%0,%1,%2,%3}, [%4];" : "=h"(a), "=h"(b), "=h"(c), "=h"(d) : "l"(p + 4 * q));
      w[4 * q] = h2f(a); w[4 * q + 1] = h2f(b); w[4 * q + 2] = h2f(c); w[4 * q + 3] = h2f(d);
    }
  } else if (CB == 2) {
    half_t a, b;
    asm("ld.global.nc.v2.u16 {%0,%1}, [%2];" : "=h"(a), "=h"(b) : "l"(p));
    w[0] = h2f(a); w[1] = h2f(b);
  } else {
#pragma unroll
    for (int j = 0; j < CB; ++j) w[j] = LDG(p, j);
  }
#else
  if (CB % 4 == 0) {
#pragma unroll
    for (int q = 0; q < CB / 4; ++q)
      asm("ld.global.nc.v4.f32 {%0,%1,%2,%3}, [%4];"
          : "=f"(w[4 * q]), "=f"(w[4 * q + 1]), "=f"(w[4 * q + 2]), "=f"(w[4 * q + 3]) : "l"(p + 4 * q));
  } else if (CB == 2) {
    asm("ld.global.nc.v2.f32 {%0,%1}, [%2];" : "=f"(w[0]), "=f"(w[1]) : "l"(p));
  } else {
#pragma unroll
    for (int j = 0; j < CB; ++j) w[j] = LDG(p, j);
  }
#endif
}
/* One input channel's taps of a thread's CB outputs. */
template <int CB, int KH, int KW>
__device__ __forceinline__ void conv_taps(const T* __restrict__ xc, const T* __restrict__ wc, float* acc,
                                          int iy0, int ix0, int kh, int kw, const ConvArgs& a) {
#pragma unroll
  for (int ky = 0; ky < (KH > 0 ? KH : kh); ++ky) {
    const int iy = iy0 + ky;
    if (iy < 0 || iy >= a.h) continue;
#pragma unroll
    for (int kx = 0; kx < (KW > 0 ? KW : kw); ++kx) {
      const int ix = ix0 + kx;
      if (ix < 0 || ix >= a.w) continue;
      const float v = LDG(xc, iy * a.w + ix);
      float wv[CB];
      LDW<CB>(wc + (ky * kw + kx) * CB, wv);
#pragma unroll
      for (int j = 0; j < CB; ++j) acc[j] = fmaf(v, wv[j], acc[j]);
    }
  }
}
template <int CB, int KH, int KW, bool RES>
__device__ __forceinline__ void conv_direct(const T* __restrict__ x, const T* __restrict__ wt,
                                            const T* __restrict__ bias, const T* __restrict__ res,
                                            T* __restrict__ y, const ConvArgs a) {
  const int kh = KH > 0 ? KH : a.kh, kw = KW > 0 ? KW : a.kw;
  const int npix = a.oh * a.ow;
  const int pix = blockIdx.x * blockDim.x + threadIdx.x;
  if (pix >= npix) return;
  const int kblocks = a.k / CB;
  const int nb = blockIdx.y / kblocks;
  const int co0 = (blockIdx.y - nb * kblocks) * CB;
  const int oy = pix / a.ow, ox = pix - oy * a.ow;
  const int g = co0 / a.kg;
  const int iy0 = oy * a.sh - a.ph, ix0 = ox * a.sw - a.pw;
  const int hw = a.h * a.w, khw = kh * kw;
  const T* xb = x + ((long long)nb * a.c + (long long)g * a.cg) * hw;
  const T* wb = wt + (long long)co0 * a.cg * khw;
  float acc[CB];
#pragma unroll
  for (int j = 0; j < CB; ++j) acc[j] = 0.0f;
  /* U input channels per step, unrolled, so their loads are in flight together (a thread
     of a small layer otherwise waits out one load latency per channel). The order of the
     products per output stays input channel, row, column. */
  constexpr int TAPS = KH > 0 ? KH * KW : 9;
  constexpr int U = TAPS * CB <= 8 ? 8 : (TAPS * CB <= 36 ? 4 : (TAPS * CB <= 72 ? 2 : 1));
  int ci = 0;
  for (; ci + U <= a.cg; ci += U) {
#pragma unroll
    for (int u = 0; u < U; ++u)
      conv_taps<CB, KH, KW>(xb + (long long)(ci + u) * hw, wb + (long long)(ci + u) * khw * CB,
                            acc, iy0, ix0, kh, kw, a);
  }
  for (; ci < a.cg; ++ci)
    conv_taps<CB, KH, KW>(xb + (long long)ci * hw, wb + (long long)ci * khw * CB, acc, iy0, ix0, kh, kw, a);
  const long long ob = ((long long)nb * a.k + co0) * npix + pix;
  T* yb = y + ob;
#pragma unroll
  for (int j = 0; j < CB; ++j) {
    float v = acc[j];
    if (bias) v += LDG(bias, co0 + j);
    if (RES) v = epilogue(v, a.act, a.res, res + ob, (long long)j * npix);
    else v = apply(a.act, v);
    ST(yb, (long long)j * npix, v);
  }
}
/* Each variant twice: without a residual (the epilogue of the plain kernel, nothing else
   compiled in) and with one (`_res`: added where ConvArgs::res says). */
#define DIRECT(K, KH, KW, CB) \
  extern "C" __global__ void __launch_bounds__(256) conv_direct_##K##_c##CB( \
      const T* x, const T* w, const T* b, const T* r, T* y, ConvArgs a) { conv_direct<CB, KH, KW, false>(x, w, b, r, y, a); } \
  extern "C" __global__ void __launch_bounds__(256) conv_direct_##K##_c##CB##_res( \
      const T* x, const T* w, const T* b, const T* r, T* y, ConvArgs a) { conv_direct<CB, KH, KW, true>(x, w, b, r, y, a); }
#define DIRECT_ALL(K, KH, KW) DIRECT(K, KH, KW, 1) DIRECT(K, KH, KW, 2) DIRECT(K, KH, KW, 4) DIRECT(K, KH, KW, 8) DIRECT(K, KH, KW, 16)
DIRECT_ALL(k1, 1, 1)
DIRECT_ALL(k3, 3, 3)
DIRECT_ALL(kn, 0, 0)

/* Shared-memory tiled direct convolution (3×3, one group, stride S, no dilation) with bias
   and activation. A block computes a TH × TW output tile × KB output channels of one image;
   input channels go in chunks of CC: the chunk's input tile with halo (zero outside the
   image) and its weights (the executor's layout [k / KB][c][3][3][KB], one contiguous run
   per chunk) are copied to shared memory as fp32, then each thread accumulates PY vertically
   adjacent pixels of one column × KT channels in registers. Lanes take neighbouring columns
   (conflict-free input reads) and, with TW × TH / PY ≥ 32, the same channels (broadcast
   weight reads). Each output's products are summed in fp32 with fmaf in a fixed order
   (input channel, kernel row, kernel column): deterministic. */
template <int S, int TH, int TW, int KB, int KT, int PY, bool RES>
__device__ __forceinline__ void conv_tile(const T* __restrict__ x, const T* __restrict__ wt,
                                          const T* __restrict__ bias, const T* __restrict__ res,
                                          T* __restrict__ y, const ConvArgs a) {
  constexpr int IH = (TH - 1) * S + 3, IW = (TW - 1) * S + 3, IHW = IH * IW;
  constexpr int RG = TH / PY;
  constexpr int NT = TW * RG * (KB / KT);
  constexpr int CC0 = 40960 / (4 * (IHW + 9 * KB));
  constexpr int CC = CC0 > 16 ? 16 : CC0;
  constexpr int NR = (PY - 1) * S + 3;
  __shared__ float sx[CC * IHW];
  __shared__ __align__(16) float sw[CC * 9 * KB];
  const int tiles_x = (a.ow + TW - 1) / TW;
  const int ty0 = (blockIdx.x / tiles_x) * TH, tx0 = (blockIdx.x % tiles_x) * TW;
  const int co0 = blockIdx.y * KB;
  const int nb = blockIdx.z;
  const int t = threadIdx.x;
  const int col = t % TW, rg = (t / TW) % RG, cgp = t / (TW * RG);
  const int iy0 = ty0 * S - a.ph, ix0 = tx0 * S - a.pw;
  const int hw = a.h * a.w;
  const T* xb = x + (long long)nb * a.c * hw;
  const T* wb = wt + (long long)co0 * a.c * 9;
  float acc[PY][KT];
#pragma unroll
  for (int p = 0; p < PY; ++p)
#pragma unroll
    for (int q = 0; q < KT; ++q) acc[p][q] = 0.0f;
  for (int c0 = 0; c0 < a.c; c0 += CC) {
    const int cn = min(CC, a.c - c0);
    const int nin = cn * IHW;
#pragma unroll 4
    for (int e = t; e < nin; e += NT) {
      const int ci = e / IHW, r = e - ci * IHW, yy = r / IW, xx = r - yy * IW;
      const int gy = iy0 + yy, gx = ix0 + xx;
      float v = 0.0f;
      if (gy >= 0 && gy < a.h && gx >= 0 && gx < a.w) v = LDG(xb, (long long)(c0 + ci) * hw + gy * a.w + gx);
      sx[e] = v;
    }
    const int nw = cn * 9 * KB;
    const T* wc = wb + (long long)c0 * 9 * KB;
#pragma unroll 4
    for (int e = t; e < nw; e += NT) sw[e] = LDG(wc, e);
    __syncthreads();
    for (int ci = 0; ci < cn; ++ci) {
      const float* xs = sx + ci * IHW + rg * PY * S * IW + col * S;
      const float* ws = sw + ci * 9 * KB + cgp * KT;
      float xv[NR][3];
#pragma unroll
      for (int r = 0; r < NR; ++r)
#pragma unroll
        for (int kx = 0; kx < 3; ++kx) xv[r][kx] = xs[r * IW + kx];
#pragma unroll
      for (int ky = 0; ky < 3; ++ky) {
#pragma unroll
        for (int kx = 0; kx < 3; ++kx) {
          float wv[KT];
          const float* wp = ws + (ky * 3 + kx) * KB;
          if (KT % 4 == 0) {
#pragma unroll
            for (int q = 0; q < KT; q += 4) {
              const float4 w4 = *reinterpret_cast<const float4*>(wp + q);
              wv[q] = w4.x; wv[q + 1] = w4.y; wv[q + 2] = w4.z; wv[q + 3] = w4.w;
            }
          } else if (KT % 2 == 0) {
#pragma unroll
            for (int q = 0; q < KT; q += 2) {
              const float2 w2 = *reinterpret_cast<const float2*>(wp + q);
              wv[q] = w2.x; wv[q + 1] = w2.y;
            }
          } else {
#pragma unroll
            for (int q = 0; q < KT; ++q) wv[q] = wp[q];
          }
#pragma unroll
          for (int p = 0; p < PY; ++p)
#pragma unroll
            for (int q = 0; q < KT; ++q) acc[p][q] = fmaf(xv[p * S + ky][kx], wv[q], acc[p][q]);
        }
      }
    }
    __syncthreads();
  }
  const int ox = tx0 + col;
  if (ox >= a.ow) return;
  const int npix = a.oh * a.ow;
#pragma unroll
  for (int q = 0; q < KT; ++q) {
    const int co = co0 + cgp * KT + q;
    if (co >= a.k) break;
    const float bv = bias ? LDG(bias, co) : 0.0f;
    const long long yo = ((long long)nb * a.k + co) * npix;
    T* yc = y + yo;
#pragma unroll
    for (int p = 0; p < PY; ++p) {
      const int oy = ty0 + rg * PY + p;
      if (oy < a.oh) {
        const long long o = (long long)oy * a.ow + ox;
        float v = acc[p][q] + bv;
        if (RES) v = epilogue(v, a.act, a.res, res + yo, o);
        else v = apply(a.act, v);
        ST(yc, o, v);
      }
    }
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
    pub concat: CudaFunction,
    pub maxpool: CudaFunction,
    pub resize_nearest: CudaFunction,
    pub f32_to_f16: CudaFunction,
    pub f16_to_f32: CudaFunction,
    /// `conv_direct_<k1|k3|kn>_c<CB>`, by name.
    direct: Vec<(String, CudaFunction)>,
    max_blocks: u32,
}

/// Compile `source` after [`HEADER`] for this GPU and precision and load it.
fn compile_module(
    gpu: &Arc<Gpu>,
    precision: Precision,
    source: &str,
) -> Result<Arc<cudarc::driver::CudaModule>, GpuError> {
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
        cudarc::nvrtc::compile_ptx_with_opts(format!("{HEADER}{source}"), opts).map_err(|e| {
            GpuError::Call {
                call: "nvrtcCompileProgram".into(),
                message: e.to_string(),
            }
        })?;
    gpu.ctx.load_module(ptx).call("cuModuleLoadData")
}

/// Compile generated kernels (`ewgen`) and load the functions `names`, in order.
pub fn compile_generated(
    gpu: &Arc<Gpu>,
    precision: Precision,
    source: &str,
    names: &[String],
) -> Result<Vec<CudaFunction>, GpuError> {
    let module = compile_module(gpu, precision, source)?;
    names
        .iter()
        .map(|n| {
            module
                .load_function(n)
                .call(&format!("cuModuleGetFunction({n})"))
        })
        .collect()
}

impl Kernels {
    pub fn compile(gpu: &Arc<Gpu>, precision: Precision) -> Result<Kernels, GpuError> {
        let source = format!("{SOURCE}{}", tiled_entries());
        let module = compile_module(gpu, precision, &source)?;
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
            concat: f("concat")?,
            maxpool: f("maxpool")?,
            resize_nearest: f("resize_nearest")?,
            f32_to_f16: f("f32_to_f16")?,
            f16_to_f32: f("f16_to_f32")?,
            direct: ["k1", "k3", "kn"]
                .iter()
                .flat_map(|k| {
                    CHANNEL_BLOCKS
                        .iter()
                        .map(move |cb| format!("conv_direct_{k}_c{cb}"))
                })
                .chain(
                    tactic::tiled_variants()
                        .iter()
                        .map(|v| v.kernel_name([3, 3])),
                )
                .flat_map(|n| [residual_name(n.clone(), false), residual_name(n, true)])
                .map(|name| Ok((name.clone(), f(&name)?)))
                .collect::<Result<Vec<_>, GpuError>>()?,
            max_blocks: gpu.info.sm_count.max(1) * 32,
        })
    }

    /// The direct convolution kernel of variant `v` for a layer with this kernel size, with
    /// or without a residual input.
    pub fn direct(
        &self,
        v: DirectConv,
        kernel: [usize; 2],
        residual: bool,
    ) -> Result<&CudaFunction, GpuError> {
        let name = residual_name(v.kernel_name(kernel), residual);
        self.direct
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, f)| f)
            .ok_or_else(|| GpuError::Invalid(format!("no direct convolution kernel `{name}`")))
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

/// The direct kernel's weight layout: `[k, per]` (per = c/group × kh × kw, the plan's
/// layout) to `[⌈k / cb⌉, per, cb]`, so the `cb` output channels a thread (a tiled block)
/// computes have their weights of one tap next to each other; a last partial block is
/// padded with zeros (the tiled kernel reads whole blocks and writes only real channels).
pub fn direct_weight_layout(w: &[f32], k: usize, cb: usize) -> Vec<f32> {
    let per = w.len() / k.max(1);
    let cb = cb.max(1);
    let mut out = vec![0.0; k.div_ceil(cb) * cb * per];
    for co in 0..k {
        for r in 0..per {
            out[((co / cb) * per + r) * cb + co % cb] = w[co * per + r];
        }
    }
    out
}

/// The output-channel block of `v`'s weight layout: a thread's channels, or a tiled block's.
pub fn weight_block(v: DirectConv) -> usize {
    v.tile.map_or(v.channels_per_thread, |t| t.channels) as usize
}

/// One launch of the direct convolution (convolution, bias, residual, activation). `bias`
/// 0: none; `res` is read only when `args.res` says so.
#[allow(clippy::too_many_arguments)]
pub fn launch_direct(
    stream: &cudarc::driver::CudaStream,
    f: &CudaFunction,
    cfg: LaunchConfig,
    x: u64,
    w: u64,
    bias: u64,
    res: u64,
    y: u64,
    args: &ConvArgs,
) -> Result<(), GpuError> {
    use cudarc::driver::PushKernelArg;
    let mut b = stream.launch_builder(f);
    b.arg(&x).arg(&w).arg(&bias).arg(&res).arg(&y).arg(args);
    // SAFETY: the arguments match `conv_direct_*` in SOURCE; the pointers are allocations
    // sized from the same shapes as `args` (checked by the caller).
    unsafe { b.launch(cfg) }.call("cuLaunchKernel(conv_direct)")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::direct_weight_layout;

    #[test]
    fn direct_weights_put_a_threads_channels_side_by_side() {
        // k = 4 channels of per = 3 values each: w[co][r] = 10 co + r.
        let w: Vec<f32> = (0..4)
            .flat_map(|co| (0..3).map(move |r| (10 * co + r) as f32))
            .collect();
        let t = direct_weight_layout(&w, 4, 2);
        // Block 0 (channels 0, 1): taps r = 0, 1, 2 each as [ch0, ch1]; then block 1.
        assert_eq!(
            t,
            vec![0., 10., 1., 11., 2., 12., 20., 30., 21., 31., 22., 32.]
        );
        assert_eq!(direct_weight_layout(&w, 4, 1), w);
        // k = 3 in blocks of 2 (a tiled variant's partial last block): zero-padded.
        let t = direct_weight_layout(&w[..9], 3, 2);
        assert_eq!(
            t,
            vec![0., 10., 1., 11., 2., 12., 20., 0., 21., 0., 22., 0.]
        );
    }
}
