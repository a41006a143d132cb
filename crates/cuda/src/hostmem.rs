//! Page-locked host memory for a frame's copies, so that the timed region of a frame holds
//! the DMA transfers themselves and no host memcpy around them (the goal: harness time close
//! to the summed device time).
//!
//! - **Staged inputs**: before timing, the harness hands the preprocessed frames to
//!   `Prepared::stage_inputs`; they are copied once into one backend-owned `cuMemHostAlloc`
//!   block and registered by the address and length of each tensor's data. A session that
//!   gets a registered tensor DMAs its h2d straight from that block; any other tensor takes
//!   the copy into the session's pinned buffer, as before.
//! - **Locked outputs**: a session's output tensors live in ordinary `Vec<f32>`s that are
//!   page-locked in place (`cuMemHostRegister`) once, when the session opens; each frame's
//!   d2h DMA writes into them and the harness reads them through a borrow
//!   (`Session::run_lent`). The vectors are never reallocated and are unregistered before
//!   they are freed.
//!
//! - **fp16 plans** stage their frames already converted to fp16 (on the host, round to
//!   nearest even, exactly as the executor's `f32_to_f16` kernel converts: see
//!   [`f32_to_f16_bits`]), so the timed h2d moves half the bytes straight into the plan's
//!   fp16 input and no conversion kernel runs; unstaged frames still go through the pinned
//!   buffer and the kernel.
//!
//! `ADASVAL_CUDA_STAGING=0` switches both off (copy in, copy out into fresh tensors: the
//! path before this module) to measure the difference.

use std::collections::HashMap;
use std::ffi::c_void;
use std::marker::PhantomData;
use std::sync::{Arc, RwLock};

use cudarc::driver::{result as dr, sys as ds, CudaContext};

use super::gpu::{CallExt, GpuError};
use adasval_core::tensor::Tensor;
use adasval_run::backend::StagedInputs;

/// Most bytes one `stage_inputs` call page-locks; frames beyond it run unstaged.
pub const STAGING_CAP_BYTES: usize = 4 << 30;

/// Spare capacity behind every locked output vector: the registered range ends at least
/// this far before the next allocation can begin, so two registrations never share a page
/// (64 KiB covers 4 KiB and 64 KiB page kernels).
const LOCK_GUARD_BYTES: usize = 64 << 10;

/// How frames move between host memory and the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostPath {
    /// Staged inputs DMA'd from backend-owned page-locked memory, outputs DMA'd into
    /// page-locked output tensors lent to the harness (the default).
    Direct,
    /// The frame copied into the session's pinned buffer, outputs copied from pinned
    /// buffers into freshly allocated tensors (`ADASVAL_CUDA_STAGING=0`).
    Copy,
}

impl HostPath {
    /// `Direct` unless `ADASVAL_CUDA_STAGING` is `0`, `off` or `false`.
    pub fn from_env() -> HostPath {
        match std::env::var("ADASVAL_CUDA_STAGING").as_deref() {
            Ok("0") | Ok("off") | Ok("false") => HostPath::Copy,
            _ => HostPath::Direct,
        }
    }

    /// The backend setting recorded in `run.json`.
    pub fn describe(self) -> &'static str {
        match self {
            HostPath::Direct => {
                "direct: frames staged in page-locked memory before timing (h2d DMA from there; \
                 fp16 plans stage them in fp16, converted on the host), outputs DMA'd into \
                 page-locked output tensors the harness borrows; no host copy inside `infer` \
                 (ADASVAL_CUDA_STAGING=0 restores the copies)"
            }
            HostPath::Copy => {
                "copy (ADASVAL_CUDA_STAGING=0): each frame copied into a pinned buffer and the \
                 outputs out of pinned buffers into new tensors, inside `infer`"
            }
        }
    }
}

/// One `cuMemHostAlloc` block (not write-combined: outputs are read on the host, and the
/// staging copy is written once), freed on drop.
pub struct HostAlloc {
    ptr: *mut c_void,
    bytes: usize,
    ctx: Arc<CudaContext>,
}

// SAFETY: a plain host allocation; who writes it when is decided by its owners (written
// before any transfer reads it, or only between synchronisations).
unsafe impl Send for HostAlloc {}
unsafe impl Sync for HostAlloc {}

impl HostAlloc {
    pub fn new(ctx: &Arc<CudaContext>, bytes: usize) -> Result<HostAlloc, GpuError> {
        ctx.bind_to_thread().call("cuCtxSetCurrent")?;
        let n = bytes.max(256);
        // SAFETY: plain allocation; freed exactly once in Drop.
        let ptr = unsafe { dr::malloc_host(n, 0) }.call(&format!("cuMemHostAlloc({n} bytes)"))?;
        Ok(HostAlloc {
            ptr,
            bytes: n,
            ctx: ctx.clone(),
        })
    }

    pub fn as_ptr(&self) -> *mut f32 {
        self.ptr as *mut f32
    }

    /// The first `len` floats.
    ///
    /// # Safety
    /// No transfer may be writing them (the stream that uses the block is synchronised).
    pub unsafe fn floats(&self, len: usize) -> &[f32] {
        assert!(len * 4 <= self.bytes);
        std::slice::from_raw_parts(self.ptr as *const f32, len)
    }

    /// # Safety
    /// As [`HostAlloc::floats`], and no other reference to the block is alive.
    #[allow(clippy::mut_from_ref)]
    pub unsafe fn floats_mut(&self, len: usize) -> &mut [f32] {
        assert!(len * 4 <= self.bytes);
        std::slice::from_raw_parts_mut(self.ptr as *mut f32, len)
    }
}

impl Drop for HostAlloc {
    fn drop(&mut self) {
        let _ = self.ctx.bind_to_thread();
        // SAFETY: allocated by malloc_host in `new`, freed only here.
        let _ = unsafe { dr::free_host(self.ptr) };
    }
}

/// The element format frames are staged in: the plan input's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StageFormat {
    F32,
    /// IEEE binary16 bits from [`f32_to_f16_bits`] (fp16 plans).
    F16,
}

impl StageFormat {
    pub fn bytes(self) -> usize {
        match self {
            StageFormat::F32 => 4,
            StageFormat::F16 => 2,
        }
    }
}

/// f32 → IEEE binary16 bits, rounded to nearest with ties to even, exactly as the
/// executor's `f32_to_f16` kernel (PTX `cvt.rn.f16.f32`) converts: subnormal results kept,
/// overflow to ±infinity, and every NaN to the canonical `0x7FFF` (what the GPU and CUDA's
/// own host conversion produce; the `half` crate would keep sign and payload).
pub fn f32_to_f16_bits(x: f32) -> u16 {
    if x.is_nan() {
        0x7FFF
    } else {
        half::f16::from_f32(x).to_bits()
    }
}

/// Where a staged tensor's copy lives.
#[derive(Clone)]
pub struct StagedSlot {
    block: Arc<HostAlloc>,
    /// Offset in elements of `format`.
    offset: usize,
    format: StageFormat,
}

impl StagedSlot {
    /// The first byte of the copy.
    pub fn ptr(&self) -> *const u8 {
        // SAFETY: the offset lies inside the block (checked when the slot was made).
        unsafe { (self.block.as_ptr() as *const u8).add(self.offset * self.format.bytes()) }
    }

    pub fn format(&self) -> StageFormat {
        self.format
    }

    /// Whether element `i` of the copy is `v` as staged.
    fn holds(&self, i: usize, v: f32) -> bool {
        // SAFETY: written once at staging, never by a transfer (h2d only reads it); `i` is
        // inside the tensor the slot was made for (the caller's probes).
        unsafe {
            match self.format {
                StageFormat::F32 => (*(self.ptr() as *const f32).add(i)).to_bits() == v.to_bits(),
                StageFormat::F16 => *(self.ptr() as *const u16).add(i) == f32_to_f16_bits(v),
            }
        }
    }
}

/// The staged tensors of one prepared plan, shared by its sessions. Keyed by the address
/// and length of the tensor's data: the [`Staging`] guard borrows the tensors, so while an
/// entry exists its tensor can be neither freed nor changed.
#[derive(Default)]
pub struct StagedRegistry {
    map: RwLock<HashMap<(usize, usize), StagedSlot>>,
}

fn key(data: &[f32]) -> (usize, usize) {
    (data.as_ptr() as usize, data.len())
}

/// Positions compared between a tensor and its staged copy at every lookup: a guard that
/// was leaked (`mem::forget`) cannot make a new tensor at a reused address read stale data
/// unnoticed, short of a tensor that agrees on all of them. Cheap (17 loads).
fn probe_positions(len: usize) -> impl Iterator<Item = usize> {
    (0..16).map(move |k| k * len / 16).chain(len.checked_sub(1))
}

impl StagedRegistry {
    /// The staged copy of `data`, if it was staged and still agrees with it.
    pub fn lookup(&self, data: &[f32]) -> Option<StagedSlot> {
        if data.is_empty() {
            return None;
        }
        let slot = self
            .map
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key(data))?
            .clone();
        probe_positions(data.len())
            .all(|i| slot.holds(i, data[i]))
            .then_some(slot)
    }

    /// How many tensors are staged now (tests).
    pub fn len(&self) -> usize {
        self.map.read().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The guard `stage_inputs` returns: keeps the block alive and the tensors borrowed;
/// dropping it unregisters what it staged.
pub struct Staging<'a> {
    registry: &'a StagedRegistry,
    keys: Vec<(usize, usize)>,
    note: String,
    _tensors: PhantomData<&'a Tensor>,
}

impl StagedInputs for Staging<'_> {
    fn describe(&self) -> Option<String> {
        Some(self.note.clone())
    }
}

impl Drop for Staging<'_> {
    fn drop(&mut self) {
        let mut map = self.registry.map.write().unwrap_or_else(|p| p.into_inner());
        for k in &self.keys {
            map.remove(k);
        }
    }
}

/// Copy every distinct tensor of `elements` values into one page-locked block (converted
/// to `format`) and register it, up to `cap_bytes`; tensors of another size (the session refuses them anyway) and
/// tensors already staged by a live guard are left alone. A failed allocation stages
/// nothing and says so: staging is an optimisation, never a reason to stop a run.
pub fn stage<'a>(
    ctx: &Arc<CudaContext>,
    registry: &'a StagedRegistry,
    inputs: &[&'a Tensor],
    elements: usize,
    cap_bytes: usize,
    format: StageFormat,
) -> Staging<'a> {
    let mut guard = Staging {
        registry,
        keys: vec![],
        note: String::new(),
        _tensors: PhantomData,
    };
    if elements == 0 {
        guard.note = "off: the plan's input is empty".into();
        return guard;
    }
    let bytes_each = elements * format.bytes();
    let mut chosen: Vec<&Tensor> = vec![];
    let mut seen = std::collections::HashSet::new();
    let (mut wrong_size, mut over_cap, mut already) = (0usize, 0usize, 0usize);
    {
        let map = registry.map.read().unwrap_or_else(|p| p.into_inner());
        for t in inputs {
            if t.data.len() != elements {
                wrong_size += 1;
            } else if map.contains_key(&key(&t.data)) {
                already += 1;
            } else if seen.insert(key(&t.data)) {
                if (chosen.len() + 1) * bytes_each > cap_bytes {
                    over_cap += 1;
                } else {
                    chosen.push(t);
                }
            }
        }
    }
    let mut notes = vec![];
    if over_cap > 0 {
        notes.push(format!(
            "{over_cap} beyond the {} MiB cap run unstaged",
            cap_bytes >> 20
        ));
    }
    if wrong_size > 0 {
        notes.push(format!(
            "{wrong_size} of another size than the plan's input"
        ));
    }
    if already > 0 {
        notes.push(format!("{already} already staged"));
    }
    let total = chosen.len() * bytes_each;
    let block = if chosen.is_empty() {
        None
    } else {
        match HostAlloc::new(ctx, total) {
            Ok(b) => Some(Arc::new(b)),
            Err(e) => {
                guard.note = format!(
                    "off: page-locking {:.1} MiB for {} frames failed ({e}); frames are copied \
                     into the pinned buffer inside `infer`",
                    total as f64 / (1 << 20) as f64,
                    chosen.len()
                );
                return guard;
            }
        }
    };
    if let Some(block) = block {
        match format {
            StageFormat::F32 => {
                // SAFETY: a fresh block of `total` bytes that nothing else references yet.
                let dst = unsafe { block.floats_mut(chosen.len() * elements) };
                for (t, d) in chosen.iter().zip(dst.chunks_exact_mut(elements)) {
                    d.copy_from_slice(&t.data);
                }
            }
            StageFormat::F16 => {
                // SAFETY: as above; `total` bytes hold chosen.len() × elements u16.
                let dst = unsafe {
                    std::slice::from_raw_parts_mut(
                        block.as_ptr() as *mut u16,
                        chosen.len() * elements,
                    )
                };
                for (t, d) in chosen.iter().zip(dst.chunks_exact_mut(elements)) {
                    for (o, v) in d.iter_mut().zip(&t.data) {
                        *o = f32_to_f16_bits(*v);
                    }
                }
            }
        }
        let mut map = registry.map.write().unwrap_or_else(|p| p.into_inner());
        for (i, t) in chosen.iter().enumerate() {
            let k = key(&t.data);
            map.insert(
                k,
                StagedSlot {
                    block: block.clone(),
                    offset: i * elements,
                    format,
                },
            );
            guard.keys.push(k);
        }
    }
    guard.note = format!(
        "{} frames page-locked before timing ({:.1} MiB, cuMemHostAlloc{}){}",
        chosen.len(),
        total as f64 / (1 << 20) as f64,
        match format {
            StageFormat::F32 => "",
            StageFormat::F16 => {
                ", fp16: converted on the host (round to nearest even, as the GPU's cvt.rn), \
                 so the h2d moves half the bytes and no conversion kernel runs"
            }
        },
        if notes.is_empty() {
            String::new()
        } else {
            format!("; {}", notes.join("; "))
        }
    );
    guard
}

/// A `Vec<f32>` page-locked in place; unregistered on drop, which must come before the
/// vector is freed or grown (the owner keeps it in a field declared after this one and
/// never resizes it).
pub struct LockedRange {
    ptr: *mut c_void,
    ctx: Arc<CudaContext>,
}

// SAFETY: only the registration handle; the memory is owned elsewhere.
unsafe impl Send for LockedRange {}

impl Drop for LockedRange {
    fn drop(&mut self) {
        let _ = self.ctx.bind_to_thread();
        // SAFETY: registered in `lock_vec`, unregistered only here.
        let _ = unsafe { ds::cuMemHostUnregister(self.ptr).result() };
    }
}

/// A zeroed vector of `len` floats with spare capacity behind it (see `LOCK_GUARD_BYTES`),
/// for [`lock_vec`].
pub fn lockable_vec(len: usize) -> Vec<f32> {
    let mut v = Vec::with_capacity(len.max(1) + LOCK_GUARD_BYTES / 4);
    v.resize(len, 0.0);
    v
}

/// Page-lock `v[..]` in place.
///
/// # Safety
/// The returned range must be dropped before `v` is freed, shrunk or reallocated.
pub unsafe fn lock_vec(ctx: &Arc<CudaContext>, v: &mut [f32]) -> Result<LockedRange, GpuError> {
    ctx.bind_to_thread().call("cuCtxSetCurrent")?;
    if v.is_empty() {
        return Err(GpuError::Invalid("empty output tensor".into()));
    }
    let ptr = v.as_mut_ptr() as *mut c_void;
    ds::cuMemHostRegister_v2(ptr, std::mem::size_of_val(v), 0)
        .result()
        .call("cuMemHostRegister")?;
    Ok(LockedRange {
        ptr,
        ctx: ctx.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probes_cover_both_ends_and_stay_in_range() {
        for len in [1usize, 2, 15, 16, 17, 1000] {
            let p: Vec<usize> = probe_positions(len).collect();
            assert!(p.iter().all(|&i| i < len), "{len}: {p:?}");
            assert_eq!(p[0], 0);
            assert_eq!(*p.last().unwrap(), len - 1);
        }
    }

    #[test]
    fn lockable_vectors_keep_a_guard_behind_the_data() {
        let v = lockable_vec(10);
        assert_eq!(v.len(), 10);
        assert!(v.capacity() * 4 >= 10 * 4 + LOCK_GUARD_BYTES);
        assert!(v.iter().all(|&x| x == 0.0));
    }

    /// Every finite non-negative binary16 value (exactly, as f64) with its bits, ascending,
    /// and +infinity standing in at 2^16 (where rounding of the largest finite value ends).
    fn f16_table() -> Vec<(f64, u16)> {
        let mut t: Vec<(f64, u16)> = (0u16..0x7C00)
            .map(|b| {
                let (e, m) = ((b >> 10) as i32, (b & 0x3FF) as f64);
                let v = if e == 0 {
                    m * 2f64.powi(-24)
                } else {
                    (1024.0 + m) * 2f64.powi(e - 25)
                };
                (v, b)
            })
            .collect();
        t.push((65536.0, 0x7C00));
        t
    }

    /// Brute-force round to nearest, ties to even, over the whole table; NaN → 0x7FFF.
    fn reference(table: &[(f64, u16)], x: f32) -> u16 {
        if x.is_nan() {
            return 0x7FFF;
        }
        let sign = if x.is_sign_negative() { 0x8000 } else { 0 };
        let a = (x as f64).abs();
        if a >= 65536.0 {
            return sign | 0x7C00;
        }
        let i = table.partition_point(|(v, _)| *v < a);
        let (hi, hb) = table[i];
        let bits = if i == 0 || hi == a {
            hb
        } else {
            let (lo, lb) = table[i - 1];
            match (a - lo).total_cmp(&(hi - a)) {
                std::cmp::Ordering::Less => lb,
                std::cmp::Ordering::Greater => hb,
                std::cmp::Ordering::Equal if lb % 2 == 0 => lb,
                std::cmp::Ordering::Equal => hb,
            }
        };
        sign | bits
    }

    #[test]
    fn host_fp16_conversion_rounds_like_the_gpu() {
        let table = f16_table();
        let p = |e: i32| 2f32.powi(e);
        let edge = [
            0.0,
            -0.0,
            1.0,
            -1.0,
            65504.0,   // largest finite
            65519.996, // just below the midpoint to infinity
            65520.0,   // tie: 65504 has an odd mantissa, so infinity
            -65520.0,
            65536.0,
            1e10,
            f32::MAX,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
            -f32::NAN,
            f32::from_bits(0x7F80_0001), // signalling NaN
            f32::from_bits(0xFFC1_2345), // negative NaN with a payload
            p(-14),                      // smallest normal
            p(-14) * (1.0 - p(-11)),     // rounds up into the normal range
            p(-24),                      // smallest subnormal
            p(-25),                      // tie between 0 and the smallest subnormal: 0
            -p(-25),                     // -0
            p(-25) * 1.000_001,          // just above the tie: smallest subnormal
            3.0 * p(-25),                // tie between 1 and 2 subnormal units: 2
            5.0 * p(-25),                // tie between 2 and 3 units: 2
            p(-30),                      // underflow to 0
            f32::from_bits(1),           // f32 subnormal
            1.0 + p(-11),                // tie: 1.0 (even)
            1.0 + 3.0 * p(-11),          // tie: 1 + 2^-9 (even)
            1.0 + p(-11) + p(-20),       // above the tie: up
            2049.0,                      // tie at spacing 2: 2048
            2051.0,                      // tie: 2052
            0.1,
            -0.333_333_34,
        ];
        for x in edge {
            assert_eq!(
                f32_to_f16_bits(x),
                reference(&table, x),
                "{x:e} ({:#010x})",
                x.to_bits()
            );
        }
        assert_eq!(f32_to_f16_bits(65520.0), 0x7C00);
        assert_eq!(f32_to_f16_bits(p(-25)), 0);
        assert_eq!(f32_to_f16_bits(-p(-25)), 0x8000);
        assert_eq!(f32_to_f16_bits(3.0 * p(-25)), 2);
        assert_eq!(f32_to_f16_bits(-f32::NAN), 0x7FFF);
        // Seeded random bit patterns over the whole f32 range, and values in the range of
        // preprocessed frames.
        let mut z = 0x2545_F491_4F6C_DD1Du64;
        for _ in 0..200_000 {
            z ^= z << 13;
            z ^= z >> 7;
            z ^= z << 17;
            for x in [
                f32::from_bits(z as u32),
                (z >> 40) as f32 / (1u64 << 24) as f32 * 4.0 - 2.0,
            ] {
                assert_eq!(
                    f32_to_f16_bits(x),
                    reference(&table, x),
                    "{x:e} ({:#010x})",
                    x.to_bits()
                );
            }
        }
    }

    #[test]
    fn both_host_paths_describe_themselves() {
        assert!(HostPath::Direct.describe().starts_with("direct"));
        assert!(HostPath::Copy.describe().contains("ADASVAL_CUDA_STAGING=0"));
    }
}
