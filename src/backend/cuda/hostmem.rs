//! Page-locked host memory for a frame's copies, so that the timed region of a frame holds
//! the DMA transfers themselves and no host memcpy around them (issue 8: harness time close
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
//! `ADASVAL_CUDA_STAGING=0` switches both off (copy in, copy out into fresh tensors: the
//! path before this module) to measure the difference.

use std::collections::HashMap;
use std::ffi::c_void;
use std::marker::PhantomData;
use std::sync::{Arc, RwLock};

use cudarc::driver::{result as dr, sys as ds, CudaContext};

use super::gpu::{CallExt, GpuError};
use crate::backend::StagedInputs;
use crate::tensor::Tensor;

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
                "direct: frames staged in page-locked memory before timing (h2d DMA from there), \
                 outputs DMA'd into page-locked output tensors the harness borrows; no host \
                 copy inside `infer` (ADASVAL_CUDA_STAGING=0 restores the copies)"
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

/// Where a staged tensor's copy lives.
#[derive(Clone)]
pub struct StagedSlot {
    block: Arc<HostAlloc>,
    offset_floats: usize,
}

impl StagedSlot {
    pub fn ptr(&self) -> *const f32 {
        // SAFETY: the offset lies inside the block (checked when the slot was made).
        unsafe { self.block.as_ptr().add(self.offset_floats) }
    }

    fn floats(&self, len: usize) -> &[f32] {
        // SAFETY: written once at staging, never by a transfer (h2d only reads it).
        unsafe { std::slice::from_raw_parts(self.ptr(), len) }
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
        let copy = slot.floats(data.len());
        probe_positions(data.len())
            .all(|i| copy[i].to_bits() == data[i].to_bits())
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

/// Copy every distinct tensor of `elements` values into one page-locked block and register
/// it, up to `cap_bytes`; tensors of another size (the session refuses them anyway) and
/// tensors already staged by a live guard are left alone. A failed allocation stages
/// nothing and says so: staging is an optimisation, never a reason to stop a run.
pub fn stage<'a>(
    ctx: &Arc<CudaContext>,
    registry: &'a StagedRegistry,
    inputs: &[&'a Tensor],
    elements: usize,
    cap_bytes: usize,
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
    let bytes_each = elements * 4;
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
        // SAFETY: a fresh block of `total` bytes that nothing else references yet.
        let dst = unsafe { block.floats_mut(chosen.len() * elements) };
        for (t, d) in chosen.iter().zip(dst.chunks_exact_mut(elements)) {
            d.copy_from_slice(&t.data);
        }
        let mut map = registry.map.write().unwrap_or_else(|p| p.into_inner());
        for (i, t) in chosen.iter().enumerate() {
            let k = key(&t.data);
            map.insert(
                k,
                StagedSlot {
                    block: block.clone(),
                    offset_floats: i * elements,
                },
            );
            guard.keys.push(k);
        }
    }
    guard.note = format!(
        "{} frames page-locked before timing ({:.1} MiB, cuMemHostAlloc){}",
        chosen.len(),
        total as f64 / (1 << 20) as f64,
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

    #[test]
    fn both_host_paths_describe_themselves() {
        assert!(HostPath::Direct.describe().starts_with("direct"));
        assert!(HostPath::Copy.describe().contains("ADASVAL_CUDA_STAGING=0"));
    }
}
