//! Claiming a run directory before anything runs. A run writes only into a directory it
//! owns: one it created itself, or one that exists and is empty; never a sealed or
//! non-empty one, so earlier evidence can neither be overwritten nor mixed with a new run.
//! Ownership is an exclusive advisory lock on the directory, held until the claim is
//! dropped, so two processes given the same directory cannot both write into it.

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::exit::{Classify, Status};

/// Name of the seal that marks a finished run directory (see the judge's evidence module).
const MANIFEST_NAME: &str = "MANIFEST.sha256";

#[derive(Debug, thiserror::Error)]
pub enum RunDirError {
    #[error("{path} is a sealed run directory (it holds {MANIFEST_NAME}); a run writes into a new or empty directory")]
    Sealed { path: PathBuf },
    #[error(
        "{path} is not empty (it holds `{entry}`); a run writes into a new or empty directory"
    )]
    NotEmpty { path: PathBuf, entry: String },
    #[error("{path} exists and is not a directory")]
    NotADirectory { path: PathBuf },
    #[error("{path} is in use by another adasval process")]
    Busy { path: PathBuf },
    #[error("cannot create run directory {path}: {source}")]
    Create {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl Classify for RunDirError {
    fn status(&self) -> Status {
        match self {
            RunDirError::Create { .. } => Status::Unavailable,
            _ => Status::BadInput,
        }
    }
}

/// A run directory owned by this process until dropped.
#[derive(Debug)]
pub struct RunDir {
    path: PathBuf,
    created: bool,
    // Holding the open handle keeps the advisory lock; closing it releases the lock.
    _lock: File,
}

impl RunDir {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for RunDir {
    fn drop(&mut self) {
        // A run refused after the claim (bad input found later) leaves no empty directory
        // it made itself; `remove_dir` never removes a directory that holds anything.
        if self.created {
            let _ = std::fs::remove_dir(&self.path);
        }
    }
}

/// Claim `path` as a run directory: create it (parents as needed, the directory itself
/// exclusively) or accept an existing empty one, and lock it for this process.
pub fn claim(path: &Path) -> Result<RunDir, RunDirError> {
    let create_err = |source| RunDirError::Create {
        path: path.to_path_buf(),
        source,
    };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(create_err)?;
    }
    let created = match std::fs::create_dir(path) {
        Ok(()) => true,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => false,
        Err(e) => return Err(create_err(e)),
    };
    if !path.is_dir() {
        return Err(RunDirError::NotADirectory {
            path: path.to_path_buf(),
        });
    }
    let lock = File::open(path).map_err(create_err)?;
    match lock.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            return Err(RunDirError::Busy {
                path: path.to_path_buf(),
            })
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(create_err(e)),
    }
    // Checked under the lock: a process that held it before us may have filled the
    // directory and exited in between.
    let claimed = RunDir {
        path: path.to_path_buf(),
        created,
        _lock: lock,
    };
    ensure_empty(path)?;
    Ok(claimed)
}

fn ensure_empty(path: &Path) -> Result<(), RunDirError> {
    if path.join(MANIFEST_NAME).exists() {
        return Err(RunDirError::Sealed {
            path: path.to_path_buf(),
        });
    }
    let mut entries = std::fs::read_dir(path).map_err(|source| RunDirError::Create {
        path: path.to_path_buf(),
        source,
    })?;
    if let Some(entry) = entries.next() {
        let entry = entry.map_err(|source| RunDirError::Create {
            path: path.to_path_buf(),
            source,
        })?;
        return Err(RunDirError::NotEmpty {
            path: path.to_path_buf(),
            entry: entry.file_name().to_string_lossy().into_owned(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_and_empty_directories_are_claimed_others_refused() {
        let t = tempfile::tempdir().unwrap();
        let fresh = t.path().join("a/b/run");
        let c = claim(&fresh).unwrap();
        assert!(fresh.is_dir());
        // The same directory cannot be claimed twice while held.
        let again = claim(&fresh).unwrap_err();
        assert!(matches!(again, RunDirError::Busy { .. }), "{again}");
        std::fs::write(fresh.join("run.json"), b"{}").unwrap();
        drop(c);
        assert!(fresh.join("run.json").exists(), "a used directory stays");
        let full = claim(&fresh).unwrap_err();
        assert!(matches!(full, RunDirError::NotEmpty { .. }), "{full}");
        assert_eq!(full.status(), Status::BadInput);
        std::fs::write(fresh.join(MANIFEST_NAME), b"").unwrap();
        assert!(matches!(
            claim(&fresh).unwrap_err(),
            RunDirError::Sealed { .. }
        ));

        let empty = t.path().join("empty");
        std::fs::create_dir(&empty).unwrap();
        drop(claim(&empty).unwrap());
        assert!(empty.is_dir(), "an existing directory is never removed");

        let unused = t.path().join("unused");
        drop(claim(&unused).unwrap());
        assert!(
            !unused.exists(),
            "an unused directory it created is removed"
        );

        let file = t.path().join("file");
        std::fs::write(&file, b"x").unwrap();
        assert!(matches!(
            claim(&file).unwrap_err(),
            RunDirError::NotADirectory { .. }
        ));
    }
}
