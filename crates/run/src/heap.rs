//! Giving freed memory back to the operating system between traces.
//!
//! Each trace allocates its preprocessed frames (2 MB each for a 416 × 416 input) and frees
//! them when it ends. glibc's allocator raises its mmap threshold after the first such free
//! and serves later ones from the heap, which it does not shrink while small live blocks
//! sit above the freed ones: over a catalogue of hundreds of traces the resident memory grew
//! by the size of every trace's frames (measured: 14 traces of 40 frames, 1.0 GB peak; with
//! the heap trimmed, 76 MB; docs/BENCH.md). Trimming once per scenario, outside the timed
//! loop, keeps the peak at one scenario's frames without changing how the timed region
//! allocates.

/// Return the allocator's free memory to the OS (glibc `malloc_trim`); a no-op elsewhere.
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks the allocator's own free lists; it takes no pointers
    // from us and is safe to call at any time from any thread.
    unsafe {
        libc::malloc_trim(0);
    }
}
