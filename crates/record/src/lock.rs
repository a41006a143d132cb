//! Frozen engines: `engines/engines.lock.yaml` pins each engine binary and its adapter by
//! SHA-256. Nothing runs an engine that is not in the lock, and every replay hashes the
//! exact bytes it hands to the backend ([`VerifiedEngine`]).

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

use crate::adapter::{Adapter, AdapterError};
use adasval_core::exit::{Classify, Status};
use adasval_core::hash::sha256_hex;
use adasval_core::names;
use adasval_core::paths::{relative_to, resolve_inside, PathEscape};
use adasval_core::yamlfile::{self, YamlError};

pub const LOCK_PATH: &str = "engines/engines.lock.yaml";
pub const SCHEMA_VERSION: u32 = 1;
/// The lock's last line: the SHA-256 of every byte above it. A YAML comment, so the lock
/// stays plain YAML; it makes every edit of the lock detectable, names, timestamps,
/// provenance and comments included, not only the fields that bind it to files.
pub const SEAL_PREFIX: &str = "# sha256 of the lines above: ";

/// The seal line for `body` (the lock's text up to and including its last newline).
pub fn seal_line(body: &[u8]) -> String {
    format!("{SEAL_PREFIX}{}\n", sha256_hex(body))
}

/// Checks the seal of a lock's text. A lock without one (written by hand or by an older
/// adasval) is accepted: `engine freeze` seals it. A last line that looks like a seal must
/// be one and must match, so any single flipped byte, in the seal line too, is caught.
pub fn check_seal(path: &Path, text: &[u8]) -> Result<Sealed, LockError> {
    let trimmed = text.strip_suffix(b"\n").unwrap_or(text);
    let start = trimmed
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let last = &text[start..];
    let words = |w: &str| last.windows(w.len()).any(|x| x == w.as_bytes());
    // Seal-like: the seal's wording, or a comment naming a SHA-256. One flipped byte
    // cannot break both, so a damaged seal is never mistaken for an unsealed lock (whose
    // last line is an adapter's `sha256:` field, not a comment).
    if !(words("of the lines above") || (last.starts_with(b"#") && words("sha256"))) {
        return Ok(Sealed::No);
    }
    let body = &text[..start];
    let expected = seal_line(body);
    if last != expected.as_bytes() {
        let recorded = String::from_utf8_lossy(last).trim_end().to_string();
        return Err(LockError::Seal {
            path: path.display().to_string(),
            recorded,
            actual: sha256_hex(body),
        });
    }
    Ok(Sealed::Yes)
}

/// Whether a lock carried a seal line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sealed {
    Yes,
    No,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LockFile {
    pub schema_version: u32,
    #[serde(default)]
    pub engines: Vec<LockEntry>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum EngineFormat {
    /// ONNX model run by the CPU (tract) backend or an external runner.
    Onnx,
    /// TensorRT serialized engine (`.engine` / `.plan`).
    Trt,
    /// adasval's own GPU plan.
    CudaPlan,
}

impl EngineFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            EngineFormat::Onnx => "onnx",
            EngineFormat::Trt => "trt",
            EngineFormat::CudaPlan => "cuda-plan",
        }
    }
    fn from_extension(path: &Path) -> Option<Self> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "onnx" => Some(Self::Onnx),
            "engine" | "plan" | "trt" => Some(Self::Trt),
            "cudaplan" => Some(Self::CudaPlan),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LockEntry {
    pub name: String,
    /// Project-relative path with forward slashes.
    pub path: String,
    pub format: EngineFormat,
    pub sha256: String,
    pub size: u64,
    /// Hash of the model the engine was built from, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_model_sha256: Option<String>,
    /// Platform profile the engine was built on, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub built_on: Option<String>,
    /// RFC 3339 UTC time of freezing.
    pub frozen_at: String,
    pub adapter: AdapterRef,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AdapterRef {
    pub path: String,
    pub sha256: String,
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(transparent)]
    Yaml(#[from] YamlError),
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{what} of engine `{name}` ({path}) does not match the lock: expected sha256 {expected}, actual {actual}")]
    Mismatch {
        what: &'static str,
        name: String,
        path: String,
        expected: String,
        actual: String,
    },
    #[error("{what} of engine `{name}` ({path}): field `size` is {expected} bytes in the lock, the file has {actual} bytes")]
    SizeMismatch {
        what: &'static str,
        name: String,
        path: String,
        expected: u64,
        actual: u64,
    },
    #[error("{what} of engine `{name}` is missing: {path}")]
    Missing {
        what: &'static str,
        name: String,
        path: String,
    },
    #[error("{path}: the lock was edited after it was sealed: its last line records `{recorded}`, the lines above hash to sha256 {actual} (re-freeze with `adasval engine freeze --replace` if the edit is wanted)")]
    Seal {
        path: String,
        recorded: String,
        actual: String,
    },
    #[error("engine `{0}` is not in the lock file (freeze it with `adasval engine freeze`).{1}")]
    NotInLock(String, String),
    #[error("engine `{0}` is already in the lock file (use --replace to re-freeze it)")]
    Duplicate(String),
    #[error(transparent)]
    Path(#[from] PathEscape),
    #[error("adapter of engine `{name}`: {source}")]
    Adapter { name: String, source: AdapterError },
    /// The adapter does not describe the model it is frozen with.
    #[error("adapter {adapter} does not describe engine `{name}`:\n  {}\n{model}", misfits.iter().map(|m| m.to_string()).collect::<Vec<_>>().join("\n  "))]
    AdapterMisfit {
        name: String,
        adapter: String,
        misfits: Vec<crate::model_signature::Misfit>,
        /// What the model has, in words.
        model: String,
    },
}

impl Classify for LockError {
    fn status(&self) -> Status {
        match self {
            LockError::Mismatch { .. }
            | LockError::Seal { .. }
            | LockError::SizeMismatch { .. }
            | LockError::Missing { .. } => Status::Integrity,
            _ => Status::BadInput,
        }
    }
}

impl LockFile {
    pub fn path(root: &Path) -> PathBuf {
        root.join(LOCK_PATH)
    }

    /// Load the lock file; a missing file is an empty lock.
    pub fn load(root: &Path) -> Result<Self, LockError> {
        let path = Self::path(root);
        if !path.exists() {
            return Ok(LockFile {
                schema_version: SCHEMA_VERSION,
                engines: vec![],
            });
        }
        let bytes = std::fs::read(&path).map_err(|source| LockError::Io {
            path: path.display().to_string(),
            source,
        })?;
        check_seal(&path, &bytes)?;
        let text = String::from_utf8(bytes).map_err(|e| LockError::Invalid {
            path: path.display().to_string(),
            message: format!("not UTF-8 text: {e}"),
        })?;
        Self::parse(&path, &text)
    }

    pub fn parse(path: &Path, text: &str) -> Result<Self, LockError> {
        check_seal(path, text.as_bytes())?;
        let lock: LockFile = yamlfile::parse(path, text)?;
        lock.check(path)?;
        Ok(lock)
    }

    fn check(&self, path: &Path) -> Result<(), LockError> {
        let invalid = |message: String| LockError::Invalid {
            path: path.display().to_string(),
            message,
        };
        if self.schema_version != SCHEMA_VERSION {
            return Err(invalid(format!(
                "field `schema_version`: unsupported version {}",
                self.schema_version
            )));
        }
        let mut seen = std::collections::BTreeSet::new();
        for (i, e) in self.engines.iter().enumerate() {
            let at = format!("engines[{i}] (`{}`)", e.name);
            if let Err(err) = names::check("engine", &e.name) {
                return Err(invalid(format!("engines[{i}]: field `name`: {err}")));
            }
            if !seen.insert(e.name.as_str()) {
                return Err(invalid(format!(
                    "engines[{i}]: duplicate engine name `{}`",
                    e.name
                )));
            }
            for (field, h) in [
                ("sha256", Some(&e.sha256)),
                ("adapter.sha256", Some(&e.adapter.sha256)),
                ("source_model_sha256", e.source_model_sha256.as_ref()),
            ] {
                if let Some(h) = h.filter(|h| !is_sha256_hex(h)) {
                    return Err(invalid(format!(
                        "{at}: field `{field}`: `{h}` is not a SHA-256 (64 lower-case hex digits)"
                    )));
                }
            }
            if humantime::parse_rfc3339(&e.frozen_at).is_err() {
                return Err(invalid(format!(
                    "{at}: field `frozen_at`: `{}` is not an RFC 3339 UTC timestamp \
                     (e.g. 2026-01-31T12:00:00Z)",
                    e.frozen_at
                )));
            }
        }
        Ok(())
    }

    pub fn save(&self, root: &Path) -> Result<(), LockError> {
        let path = Self::path(root);
        let text = serde_saphyr::to_string(self).map_err(|e| LockError::Invalid {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        let header = "# Frozen engines: written by `adasval engine freeze`; checked by `adasval engine verify`.\n";
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|source| LockError::Io {
                path: dir.display().to_string(),
                source,
            })?;
        }
        let body = format!("{header}{text}");
        let body = if body.ends_with('\n') {
            body
        } else {
            format!("{body}\n")
        };
        let sealed = format!("{body}{}", seal_line(body.as_bytes()));
        adasval_core::atomic::write_atomic(&path, sealed.as_bytes()).map_err(|source| {
            LockError::Io {
                path: path.display().to_string(),
                source,
            }
        })
    }

    pub fn get(&self, name: &str) -> Result<&LockEntry, LockError> {
        self.engines.iter().find(|e| e.name == name).ok_or_else(|| {
            let known: Vec<String> = self.engines.iter().map(|e| e.name.clone()).collect();
            LockError::NotInLock(name.to_string(), adasval_core::suggest::hint(name, &known))
        })
    }
}

/// The form the lock gives every hash: what `sha256_hex` writes.
fn is_sha256_hex(h: &str) -> bool {
    h.len() == 64 && h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Options of `adasval engine freeze`.
#[derive(Debug, Clone)]
pub struct FreezeRequest {
    pub file: PathBuf,
    pub name: String,
    pub adapter: PathBuf,
    pub source_model: Option<PathBuf>,
    pub format: Option<EngineFormat>,
    pub built_on: Option<String>,
    pub replace: bool,
    /// Reads an ONNX model's edges (the binary passes the run crate's reader; this crate
    /// parses no models). With it, an ONNX engine is frozen only with an adapter that
    /// describes it.
    pub onnx_signature: Option<SignatureReader>,
}

/// Reads a model's edges from its bytes, or says why it cannot.
pub type SignatureReader = fn(&[u8]) -> Result<crate::model_signature::ModelSignature, String>;

/// Hash an engine and its adapter and record them in the lock.
pub fn freeze(root: &Path, req: &FreezeRequest) -> Result<LockEntry, LockError> {
    freeze_noting(root, req).map(|(entry, _)| entry)
}

/// [`freeze`], also saying why the adapter could not be checked against the model, when an
/// ONNX file was not readable by `onnx_signature` (it is frozen unchecked).
pub fn freeze_noting(
    root: &Path,
    req: &FreezeRequest,
) -> Result<(LockEntry, Option<String>), LockError> {
    let invalid_name = |field: &str, err: names::NameError| LockError::Invalid {
        path: req.file.display().to_string(),
        message: format!("--{field}: {err}"),
    };
    // `built_on` is free text (a card's name when no profile matches) and never part of a
    // path, so only the engine name is held to the name rule.
    names::check("engine", &req.name).map_err(|e| invalid_name("name", e))?;
    let mut lock = LockFile::load(root)?;
    if lock.engines.iter().any(|e| e.name == req.name) && !req.replace {
        return Err(LockError::Duplicate(req.name.clone()));
    }
    let file = resolve_inside(root, root, &req.file.to_string_lossy())?;
    let adapter_path = resolve_inside(root, root, &req.adapter.to_string_lossy())?;
    let bytes = read(&file)?;
    let adapter_bytes = read(&adapter_path)?;
    let adapter_text = String::from_utf8_lossy(&adapter_bytes);
    let adapter =
        Adapter::parse(&adapter_path, &adapter_text).map_err(|source| LockError::Adapter {
            name: req.name.clone(),
            source,
        })?;
    let format = match req.format.or_else(|| EngineFormat::from_extension(&file)) {
        Some(f) => f,
        None => {
            return Err(LockError::Invalid {
                path: file.display().to_string(),
                message: "cannot tell the engine format from the extension: pass --format".into(),
            })
        }
    };
    let mut unchecked = None;
    if let (EngineFormat::Onnx, Some(read_signature)) = (format, req.onnx_signature) {
        // A file the protobuf reader cannot read is frozen unchecked (external runners and
        // the no-op backend take files tract cannot): the caller warns about it.
        match read_signature(&bytes) {
            Ok(model) => {
                let misfits = crate::model_signature::check_adapter(&adapter, &model);
                if !misfits.is_empty() {
                    return Err(LockError::AdapterMisfit {
                        name: req.name.clone(),
                        adapter: adapter_path.display().to_string(),
                        misfits,
                        model: model.describe(),
                    });
                }
            }
            Err(why) => unchecked = Some(why),
        }
    }
    let source_model_sha256 = match &req.source_model {
        Some(p) => Some(sha256_hex(&read(p)?)),
        None => None,
    };
    let entry = LockEntry {
        name: req.name.clone(),
        path: relative_to(root, &file),
        format,
        sha256: sha256_hex(&bytes),
        size: bytes.len() as u64,
        source_model_sha256,
        built_on: req.built_on.clone(),
        frozen_at: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
        adapter: AdapterRef {
            path: relative_to(root, &adapter_path),
            sha256: sha256_hex(&adapter_bytes),
        },
    };
    lock.engines.retain(|e| e.name != req.name);
    lock.engines.push(entry.clone());
    lock.engines.sort_by(|a, b| a.name.cmp(&b.name));
    lock.save(root)?;
    Ok((entry, unchecked))
}

fn read(path: &Path) -> Result<Vec<u8>, LockError> {
    std::fs::read(path).map_err(|source| LockError::Io {
        path: path.display().to_string(),
        source,
    })
}

/// An engine whose bytes and adapter were hashed in memory and matched the lock. The
/// backend receives exactly these bytes.
#[derive(Debug, Clone)]
pub struct VerifiedEngine {
    pub entry: LockEntry,
    pub bytes: std::sync::Arc<Vec<u8>>,
    pub adapter: Adapter,
}

/// Outcome of checking one file against its lock entry.
#[derive(Debug, Clone, Serialize)]
pub struct FileCheck {
    pub engine: String,
    pub what: &'static str,
    pub path: String,
    pub expected: String,
    /// `None` when the file is missing or unreadable.
    pub actual: Option<String>,
    /// The lock's `size` (engines only; adapters have none).
    pub expected_size: Option<u64>,
    /// The file's size, when it could be read.
    pub actual_size: Option<u64>,
}

impl FileCheck {
    pub fn ok(&self) -> bool {
        self.problem().is_none()
    }

    /// What is wrong, naming the engine, the file, the field and both values.
    pub fn problem(&self) -> Option<String> {
        let what = format!("{} of engine `{}` ({})", self.what, self.engine, self.path);
        match &self.actual {
            None => Some(format!("{what}: missing or unreadable")),
            Some(a) if a != &self.expected => Some(format!(
                "{what}: expected sha256 {}, actual {a}",
                self.expected
            )),
            Some(_) => match (self.expected_size, self.actual_size) {
                (Some(e), Some(a)) if e != a => Some(format!(
                    "{what}: field `size` is {e} bytes in the lock, the file has {a} bytes"
                )),
                _ => None,
            },
        }
    }
}

/// Re-hash every engine and adapter; never stops at the first mismatch.
pub fn verify_all(root: &Path, lock: &LockFile) -> Vec<FileCheck> {
    let mut out = Vec::new();
    for e in &lock.engines {
        for (what, path, expected, expected_size) in [
            ("engine", &e.path, &e.sha256, Some(e.size)),
            ("adapter", &e.adapter.path, &e.adapter.sha256, None),
        ] {
            let bytes = resolve_inside(root, root, path)
                .ok()
                .and_then(|p| std::fs::read(p).ok());
            out.push(FileCheck {
                engine: e.name.clone(),
                what,
                path: path.clone(),
                expected: expected.clone(),
                actual: bytes.as_ref().map(|b| sha256_hex(b)),
                expected_size,
                actual_size: bytes.as_ref().map(|b| b.len() as u64),
            });
        }
    }
    out
}

/// Load one engine for replay: read once, hash those bytes, refuse a mismatch.
pub fn load_verified(root: &Path, entry: &LockEntry) -> Result<VerifiedEngine, LockError> {
    let bytes = read_checked(root, &entry.name, "engine", &entry.path, &entry.sha256)?;
    if bytes.len() as u64 != entry.size {
        return Err(LockError::SizeMismatch {
            what: "engine",
            name: entry.name.clone(),
            path: entry.path.clone(),
            expected: entry.size,
            actual: bytes.len() as u64,
        });
    }
    let adapter_bytes = read_checked(
        root,
        &entry.name,
        "adapter",
        &entry.adapter.path,
        &entry.adapter.sha256,
    )?;
    let adapter_path = root.join(&entry.adapter.path);
    let adapter = Adapter::parse(&adapter_path, &String::from_utf8_lossy(&adapter_bytes)).map_err(
        |source| LockError::Adapter {
            name: entry.name.clone(),
            source,
        },
    )?;
    Ok(VerifiedEngine {
        entry: entry.clone(),
        bytes: std::sync::Arc::new(bytes),
        adapter,
    })
}

fn read_checked(
    root: &Path,
    name: &str,
    what: &'static str,
    rel: &str,
    expected: &str,
) -> Result<Vec<u8>, LockError> {
    let path = resolve_inside(root, root, rel)?;
    let bytes = std::fs::read(&path).map_err(|_| LockError::Missing {
        what,
        name: name.to_string(),
        path: rel.to_string(),
    })?;
    let actual = sha256_hex(&bytes);
    if actual != expected {
        return Err(LockError::Mismatch {
            what,
            name: name.to_string(),
            path: rel.to_string(),
            expected: expected.to_string(),
            actual,
        });
    }
    Ok(bytes)
}
