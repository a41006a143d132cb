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
    let bytes: [u8; 32] = read_hex_file(path, PUBLIC_HEADER)?;
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

fn read_hex_file<const N: usize>(path: &Path, header: &str) -> Result<[u8; N], EvidenceError> {
    let text = std::fs::read_to_string(path).map_err(|source| EvidenceError::Io {
        path: path.to_path_buf(),
        source,
    })?;
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
