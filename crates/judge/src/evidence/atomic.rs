//! Crash-safe writes: every report lands under its final name only once it is complete,
//! and nothing lands in a directory that has already been sealed.

use super::manifest::{MANIFEST_NAME, SIGNATURE_NAME};
use super::EvidenceError;
use std::path::{Path, PathBuf};

/// Write `bytes` to `path` atomically: a temporary file in the same directory is written,
/// fsynced, then renamed over `path`, and the directory is fsynced so the rename survives a
/// crash. A reader therefore sees either the old file or the complete new one, never half.
///
/// Refuses to write into a sealed directory (one that holds `MANIFEST.sha256`).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), EvidenceError> {
    let dir = parent_dir(path);
    SealedDir::ensure_writable(&dir)?;
    write_atomic_unchecked(path, bytes)
}

/// [`write_atomic`] without the sealed-directory check; used by `seal` itself for the
/// manifest and its signature.
pub(crate) fn write_atomic_unchecked(path: &Path, bytes: &[u8]) -> Result<(), EvidenceError> {
    adasval_core::atomic::write_atomic(path, bytes).map_err(|source| EvidenceError::Write {
        path: path.to_path_buf(),
        source,
    })
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Guard for directories that may become evidence bundles.
pub struct SealedDir;

impl SealedDir {
    /// True when `dir` holds a manifest (or signature), i.e. was sealed.
    pub fn is_sealed(dir: &Path) -> bool {
        dir.join(MANIFEST_NAME).exists() || dir.join(SIGNATURE_NAME).exists()
    }

    /// Error when `dir` or any of its ancestors is sealed: a write anywhere inside a sealed
    /// bundle would invalidate it.
    pub fn ensure_writable(dir: &Path) -> Result<(), EvidenceError> {
        let abs = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
        for d in abs.ancestors() {
            if Self::is_sealed(d) {
                return Err(EvidenceError::Sealed {
                    dir: d.to_path_buf(),
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use adasval_core::exit::{Classify, Status};

    #[test]
    fn a_failed_write_is_the_environment_not_bad_input() {
        // A file where the directory should be: the write fails like on a full or
        // read-only disk, whatever the user running the test may do.
        let dir = tempfile::tempdir().unwrap();
        let blocked = dir.path().join("not-a-dir");
        std::fs::write(&blocked, b"x").unwrap();
        let err = write_atomic(&blocked.join("report.md"), b"evidence").unwrap_err();
        assert!(matches!(err, EvidenceError::Write { .. }), "{err:?}");
        assert_eq!(err.status(), Status::Unavailable);
    }
}
