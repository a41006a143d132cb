//! Ed25519 key and signature files (format documented in docs/EVIDENCE.md).
//!
//! All three are small text files: a header line naming the format and version, then the
//! raw bytes in lower-case hex. Blank lines and lines starting with `#` are ignored, so a
//! key can carry a comment saying whose it is.
//!
//! ```text
//! adasval-ed25519-secret-key-v1
//! <64 hex digits: the 32-byte secret seed>
//! ```
//! Public keys use the header `adasval-ed25519-public-key-v1` (32 bytes), signatures
//! `adasval-ed25519-signature-v1` (64 bytes, over the manifest's exact bytes).

use super::EvidenceError;
use ed25519_dalek::{Signature, SigningKey, VerifyingKey};
use std::io::{Read, Write};
use std::path::Path;

pub const SECRET_HEADER: &str = "adasval-ed25519-secret-key-v1";
pub const PUBLIC_HEADER: &str = "adasval-ed25519-public-key-v1";
pub const SIGNATURE_HEADER: &str = "adasval-ed25519-signature-v1";

/// A fresh signing key from the operating system's random source.
pub fn generate_signing_key() -> Result<SigningKey, EvidenceError> {
    let path = Path::new("/dev/urandom");
    let mut seed = [0u8; 32];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut seed))
        .map_err(|source| EvidenceError::Io {
            path: path.to_path_buf(),
            source,
        })?;
    Ok(SigningKey::from_bytes(&seed))
}

pub fn secret_key_text(key: &SigningKey) -> String {
    format!(
        "{SECRET_HEADER}\n{}\n",
        adasval_core::hash::to_hex(&key.to_bytes())
    )
}

pub fn public_key_text(key: &VerifyingKey) -> String {
    format!(
        "{PUBLIC_HEADER}\n{}\n",
        adasval_core::hash::to_hex(key.as_bytes())
    )
}

pub(crate) fn signature_text(sig: &[u8; 64]) -> String {
    format!("{SIGNATURE_HEADER}\n{}\n", adasval_core::hash::to_hex(sig))
}

/// Write a secret key readable by its owner only; refuses to overwrite an existing file.
pub fn write_secret_key(path: &Path, key: &SigningKey) -> Result<(), EvidenceError> {
    let io = |source| EvidenceError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(io)?;
    f.write_all(secret_key_text(key).as_bytes()).map_err(io)?;
    f.sync_all().map_err(io)
}

pub fn read_signing_key(path: &Path) -> Result<SigningKey, EvidenceError> {
    let bytes: [u8; 32] = read_hex_file(path, SECRET_HEADER)?;
    Ok(SigningKey::from_bytes(&bytes))
}

pub fn read_verifying_key(path: &Path) -> Result<VerifyingKey, EvidenceError> {
    let text = std::fs::read_to_string(path).map_err(|source| EvidenceError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse_verifying_key(path, &text)
}

/// A public-key file's text, already read; `path` names it in errors.
pub fn parse_verifying_key(path: &Path, text: &str) -> Result<VerifyingKey, EvidenceError> {
    let bytes: [u8; 32] = parse_hex_text(path, text, PUBLIC_HEADER)?;
    VerifyingKey::from_bytes(&bytes).map_err(|_| EvidenceError::KeyFormat {
        path: path.to_path_buf(),
        line: 2,
        reason: "not a valid Ed25519 public key".into(),
    })
}

pub(crate) fn read_signature(path: &Path) -> Result<Signature, EvidenceError> {
    let bytes: [u8; 64] = read_hex_file(path, SIGNATURE_HEADER)?;
    Ok(Signature::from_bytes(&bytes))
}

/// A signature file's text (`MANIFEST.sha256.sig`), already read; `path` names it in errors.
pub fn parse_signature(path: &Path, text: &str) -> Result<Signature, EvidenceError> {
    let bytes: [u8; 64] = parse_hex_text(path, text, SIGNATURE_HEADER)?;
    Ok(Signature::from_bytes(&bytes))
}

fn read_hex_file<const N: usize>(path: &Path, header: &str) -> Result<[u8; N], EvidenceError> {
    let text = std::fs::read_to_string(path).map_err(|source| EvidenceError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse_hex_text(path, &text, header)
}

fn parse_hex_text<const N: usize>(
    path: &Path,
    text: &str,
    header: &str,
) -> Result<[u8; N], EvidenceError> {
    let bad = |line: usize, reason: String| EvidenceError::KeyFormat {
        path: path.to_path_buf(),
        line,
        reason,
    };
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'));
    match lines.next() {
        Some((_, l)) if l == header => {}
        Some((n, l)) => return Err(bad(n, format!("expected header `{header}`, found `{l}`"))),
        None => return Err(bad(1, format!("empty file, expected header `{header}`"))),
    }
    let (n, hex) = lines
        .next()
        .ok_or_else(|| bad(2, format!("missing {} hex digits after the header", 2 * N)))?;
    if let Some((m, _)) = lines.next() {
        return Err(bad(m, "unexpected extra line".into()));
    }
    let bytes = from_hex(hex).ok_or_else(|| bad(n, "not hex".into()))?;
    bytes
        .try_into()
        .map_err(|b: Vec<u8>| bad(n, format!("expected {} bytes, found {}", N, b.len())))
}

fn from_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Where a project keeps the public keys whose signatures it trusts: one public-key file
/// per signer, named `<signer>.pub` (the signer's name is what reports show).
pub const TRUSTED_KEYS_DIR: &str = "safety-case/trusted-keys";

/// A public key a bundle's signature may verify with, and whose it is.
#[derive(Debug, Clone)]
pub struct TrustedKey {
    /// The signer: the key file's name without `.pub`, or the path given on the command line.
    pub name: String,
    pub key: VerifyingKey,
}

/// What a verification trusts and demands.
#[derive(Debug, Clone, Default)]
pub struct Trust {
    pub keys: Vec<TrustedKey>,
    /// Where the keys came from, for messages (`--public-key FILE`, the project's folder).
    pub source: String,
    /// An unsigned bundle, or one whose signature cannot be checked, fails verification.
    pub require_signature: bool,
}

impl Trust {
    /// Nothing trusted and nothing required: signatures are reported, never checked.
    pub fn none() -> Self {
        Self::default()
    }

    /// One key given explicitly: its signature is then required.
    pub fn key_file(path: &Path) -> Result<Self, EvidenceError> {
        Ok(Self {
            keys: vec![TrustedKey {
                name: path.display().to_string(),
                key: read_verifying_key(path)?,
            }],
            source: format!("--public-key {}", path.display()),
            require_signature: true,
        })
    }

    /// The project's trusted keys (`safety-case/trusted-keys/*.pub` under `root`); none
    /// when the folder does not exist. A file there that is not a public key is an error,
    /// never skipped: a trust store that silently drops a key is not one.
    pub fn project(root: &Path) -> Result<Self, EvidenceError> {
        let dir = root.join(TRUSTED_KEYS_DIR);
        let mut keys = Vec::new();
        if dir.is_dir() {
            let entries = std::fs::read_dir(&dir).map_err(|source| EvidenceError::Io {
                path: dir.clone(),
                source,
            })?;
            let mut paths = Vec::new();
            for e in entries {
                let e = e.map_err(|source| EvidenceError::Io {
                    path: dir.clone(),
                    source,
                })?;
                paths.push(e.path());
            }
            paths.sort();
            for p in paths {
                if p.extension().is_some_and(|x| x == "pub") {
                    let file = p
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    // A trusted key linked in from outside the project is not the project's.
                    adasval_core::paths::resolve_inside(root, &dir, &file).map_err(|e| {
                        EvidenceError::BadPath {
                            path: p.clone(),
                            reason: e.to_string(),
                        }
                    })?;
                    let name = p
                        .file_stem()
                        .map(|s| s.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    keys.push(TrustedKey {
                        name,
                        key: read_verifying_key(&p)?,
                    });
                } else if p.file_name().is_some_and(|n| n != "README.md") {
                    return Err(EvidenceError::BadPath {
                        path: p,
                        reason: format!(
                            "{TRUSTED_KEYS_DIR}/ holds only public keys named <signer>.pub (and a README.md)"
                        ),
                    });
                }
            }
        }
        Ok(Self {
            source: format!("{} ({} keys)", dir.display(), keys.len()),
            keys,
            require_signature: false,
        })
    }

    pub fn require(mut self, yes: bool) -> Self {
        self.require_signature |= yes;
        self
    }
}
