//! Project-relative paths: everything a lock file or scenario names must stay inside the
//! project (or a root the user passes), so a validation run cannot silently read files
//! from elsewhere.

use std::path::{Component, Path, PathBuf};

#[derive(Debug, thiserror::Error)]
#[error("path `{path}` escapes the project root {root}: {why}")]
pub struct PathEscape {
    pub path: String,
    pub root: String,
    pub why: &'static str,
}

impl crate::exit::Classify for PathEscape {
    fn status(&self) -> crate::exit::Status {
        crate::exit::Status::BadInput
    }
}

/// Resolve `rel` (relative to `base`, itself inside `root`) and refuse anything that
/// leaves `root`, lexically (`..`) or through symbolic links.
pub fn resolve_inside(root: &Path, base: &Path, rel: &str) -> Result<PathBuf, PathEscape> {
    let err = |why| PathEscape {
        path: rel.to_string(),
        root: root.display().to_string(),
        why,
    };
    let p = Path::new(rel);
    let joined = if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    };
    let root_abs = normalize(&absolute(root)).ok_or_else(|| err("invalid root"))?;
    let normal =
        normalize(&absolute(&joined)).ok_or_else(|| err("`..` above the filesystem root"))?;
    if !normal.starts_with(&root_abs) {
        return Err(err(if p.is_absolute() {
            "absolute path outside the root"
        } else {
            "`..` leads outside the root"
        }));
    }
    // A symlink inside the project may still point elsewhere.
    if let (Ok(real), Ok(real_root)) = (normal.canonicalize(), root_abs.canonicalize()) {
        if !real.starts_with(&real_root) {
            return Err(err("a symbolic link leads outside the root"));
        }
    }
    Ok(normal)
}

/// `path` relative to `root` with forward slashes, for records that must read the same
/// on every machine.
pub fn relative_to(root: &Path, path: &Path) -> String {
    let root_abs = normalize(&absolute(root)).unwrap_or_else(|| root.to_path_buf());
    let abs = normalize(&absolute(path)).unwrap_or_else(|| path.to_path_buf());
    let rel = abs.strip_prefix(&root_abs).unwrap_or(&abs);
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

fn absolute(p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|d| d.join(p))
            .unwrap_or_else(|_| p.to_path_buf())
    }
}

fn normalize(p: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_escapes() {
        let root = Path::new("/tmp/proj");
        assert!(resolve_inside(root, root, "scenarios/a.yaml").is_ok());
        assert!(resolve_inside(root, &root.join("scenarios"), "../golden/x.json").is_ok());
        assert!(resolve_inside(root, root, "../etc/passwd").is_err());
        assert!(resolve_inside(root, root, "/etc/passwd").is_err());
        assert!(resolve_inside(root, root, "/tmp/proj/golden/x.json").is_ok());
        assert!(resolve_inside(root, root, "a/../../b").is_err());
    }

    #[test]
    fn relative_paths_use_forward_slashes() {
        assert_eq!(
            relative_to(
                Path::new("/tmp/proj"),
                Path::new("/tmp/proj/engines/demo/x.onnx")
            ),
            "engines/demo/x.onnx"
        );
    }
}
