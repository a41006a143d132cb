//! `MANIFEST.sha256`: the seal over a run directory, in `sha256sum` format so that
//! `sha256sum -c MANIFEST.sha256` works without adasval. Written last by `seal`; every
//! other file in the directory (recursively) is listed, sorted by path.

use super::atomic::write_atomic_unchecked;
use super::keys::{read_signature, signature_text, Trust, TrustedKey};
use super::EvidenceError;
use adasval_core::hash::sha256_file;
use ed25519_dalek::{Signer, SigningKey, Verifier, VerifyingKey};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A planted bug for the tamper sweep's own test, compiled into this crate's unit tests
/// only (never into a library or binary anyone runs): while set, `verify_with` does not
/// re-hash the file of one manifest line, so changes to its bytes go unseen.
/// `evidence::planted` shows the tamper sweep failing under it.
#[cfg(test)]
pub(crate) mod planted {
    use std::cell::Cell;

    thread_local! {
        static SKIP_LINE: Cell<Option<usize>> = const { Cell::new(None) };
    }

    /// Skip re-hashing the file of manifest line `line` (0-based) on this thread.
    pub(crate) fn skip_line(line: Option<usize>) {
        SKIP_LINE.with(|c| c.set(line));
    }

    /// True when `rel` is on the skipped line of the manifest `listed`.
    pub(crate) fn skips(listed: &std::collections::BTreeMap<String, String>, rel: &str) -> bool {
        SKIP_LINE
            .with(|c| c.get())
            .is_some_and(|line| listed.keys().nth(line).map(String::as_str) == Some(rel))
    }

    thread_local! {
        static MANIFEST_FIRST: Cell<bool> = const { Cell::new(false) };
        static WRITES_LEFT: Cell<Option<usize>> = const { Cell::new(None) };
    }

    /// The crash sweep's planted bug: `seal` writes the manifest before the signature, so
    /// a seal killed between the two leaves an intact but unsigned bundle.
    pub(crate) fn manifest_first(on: bool) {
        MANIFEST_FIRST.with(|c| c.set(on));
    }

    pub(crate) fn is_manifest_first() -> bool {
        MANIFEST_FIRST.with(|c| c.get())
    }

    /// A simulated SIGKILL (a test hook, not a bug): after `writes` more writes, `seal`
    /// writes nothing more, as if the process had died there.
    pub(crate) fn kill_after(writes: Option<usize>) {
        WRITES_LEFT.with(|c| c.set(writes));
    }

    pub(crate) fn still_alive() -> bool {
        WRITES_LEFT.with(|c| match c.get() {
            None => true,
            Some(0) => false,
            Some(n) => {
                c.set(Some(n - 1));
                true
            }
        })
    }
}

/// File name of the manifest at the root of a sealed directory.
pub const MANIFEST_NAME: &str = "MANIFEST.sha256";
/// File name of the detached Ed25519 signature over the manifest's exact bytes.
pub const SIGNATURE_NAME: &str = "MANIFEST.sha256.sig";

/// What `seal` wrote.
#[derive(Debug, Clone, Serialize)]
pub struct SealReport {
    /// Number of files listed.
    pub files: usize,
    /// SHA-256 of the manifest itself (the one figure to quote for the whole bundle).
    pub manifest_sha256: String,
    pub signed: bool,
}

/// Outcome of checking the signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum SignatureCheck {
    /// No trusted key to check with; `present` says whether a signature file exists.
    NotChecked {
        present: bool,
    },
    /// The signature verifies with the trusted key of `signer`.
    Valid {
        signer: String,
    },
    /// A signature was required but the directory has none.
    Missing,
    Invalid {
        reason: String,
    },
}

impl SignatureCheck {
    /// A warning for every output when the bundle's origin was not established: unsigned,
    /// or signed with no trusted key to check the signature against.
    pub fn warning(&self) -> Option<String> {
        match self {
            SignatureCheck::NotChecked { present: false } => Some(format!(
                "UNSIGNED bundle: nothing shows who produced it (sign with --sign-key; trust signers' public keys in {})",
                super::keys::TRUSTED_KEYS_DIR
            )),
            SignatureCheck::NotChecked { present: true } => Some(format!(
                "signature NOT CHECKED: no trusted key (add the signer's public key to {} or pass --public-key)",
                super::keys::TRUSTED_KEYS_DIR
            )),
            _ => None,
        }
    }
}

/// Result of re-hashing a sealed directory.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    pub dir: PathBuf,
    /// Listed files that were present and re-hashed.
    pub checked: usize,
    /// Listed files whose bytes changed.
    pub changed: Vec<String>,
    /// Listed files that are gone.
    pub missing: Vec<String>,
    /// Files present but not listed (added after sealing), including non-regular files.
    pub extra: Vec<String>,
    pub signature: SignatureCheck,
}

impl VerifyReport {
    /// True when no file changed, went missing or appeared, and the signature (when a key
    /// was given) is valid.
    pub fn is_intact(&self) -> bool {
        self.changed.is_empty()
            && self.missing.is_empty()
            && self.extra.is_empty()
            && matches!(
                self.signature,
                SignatureCheck::Valid { .. } | SignatureCheck::NotChecked { .. }
            )
    }

    /// One line per problem, naming the file.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        out.extend(self.changed.iter().map(|f| format!("changed: {f}")));
        out.extend(self.missing.iter().map(|f| format!("missing: {f}")));
        out.extend(self.extra.iter().map(|f| format!("extra: {f}")));
        match &self.signature {
            SignatureCheck::Missing => out.push(format!("signature: {SIGNATURE_NAME} missing")),
            SignatureCheck::Invalid { reason } => {
                out.push(format!("signature: invalid ({reason})"))
            }
            _ => {}
        }
        out
    }
}

/// Seal `dir`: hash every file below it and write `MANIFEST.sha256` (and, with a key,
/// `MANIFEST.sha256.sig`). Refuses a directory that is already sealed.
pub fn seal(dir: &Path, key: Option<&SigningKey>) -> Result<SealReport, EvidenceError> {
    if dir.join(MANIFEST_NAME).exists() || dir.join(SIGNATURE_NAME).exists() {
        return Err(EvidenceError::Sealed {
            dir: dir.to_path_buf(),
        });
    }
    let files = list_files(dir)?;
    if let Some((rel, Some(problem))) = files.iter().find(|(_, p)| p.is_some()) {
        return Err(EvidenceError::BadPath {
            path: dir.join(rel),
            reason: problem.clone(),
        });
    }
    let rels: Vec<&String> = files.keys().collect();
    let hashes = hash_all(dir, &rels)?;
    let mut text = String::new();
    for (rel, hex) in rels.iter().zip(&hashes) {
        text.push_str(&format!("{hex}  {rel}\n"));
    }
    let manifest_path = dir.join(MANIFEST_NAME);
    let signature = key.map(|k| signature_text(&k.sign(text.as_bytes()).to_bytes()));
    #[cfg(test)]
    if planted::is_manifest_first() {
        seal_write(&manifest_path, text.as_bytes())?;
        if let Some(sig) = &signature {
            seal_write(&dir.join(SIGNATURE_NAME), sig.as_bytes())?;
        }
        return Ok(SealReport {
            files: files.len(),
            manifest_sha256: adasval_core::hash::sha256_hex(text.as_bytes()),
            signed: key.is_some(),
        });
    }
    // Signature first: the manifest's presence is what marks the directory as sealed, so it
    // must be the very last thing written (a seal killed in between leaves no manifest, which
    // `verify` and `gate` refuse, rather than an intact bundle without its signature).
    if let Some(sig) = &signature {
        seal_write(&dir.join(SIGNATURE_NAME), sig.as_bytes())?;
    }
    seal_write(&manifest_path, text.as_bytes())?;
    Ok(SealReport {
        files: files.len(),
        manifest_sha256: adasval_core::hash::sha256_hex(text.as_bytes()),
        signed: key.is_some(),
    })
}

/// One of `seal`'s two writes (signature, manifest).
fn seal_write(path: &Path, bytes: &[u8]) -> Result<(), EvidenceError> {
    #[cfg(test)]
    if !planted::still_alive() {
        return Err(EvidenceError::Write {
            path: path.to_path_buf(),
            source: std::io::Error::other("simulated kill"),
        });
    }
    write_atomic_unchecked(path, bytes)
}

/// Re-hash `dir` against its manifest. With `public_key`, the signature must also be
/// present and valid. Errors only when the manifest cannot be read or parsed at all.
pub fn verify(
    dir: &Path,
    public_key: Option<&VerifyingKey>,
) -> Result<VerifyReport, EvidenceError> {
    let trust = match public_key {
        Some(k) => Trust {
            keys: vec![TrustedKey {
                name: "the given public key".into(),
                key: *k,
            }],
            source: "the given public key".into(),
            require_signature: true,
        },
        None => Trust::none(),
    };
    verify_with(dir, &trust)
}

/// Re-hash `dir` against its manifest and check its signature against `trust`: a
/// signature present is checked whenever there is a trusted key, and must verify with one
/// of them; an absent or uncheckable signature fails only when `trust` requires one.
pub fn verify_with(dir: &Path, trust: &Trust) -> Result<VerifyReport, EvidenceError> {
    let manifest_path = dir.join(MANIFEST_NAME);
    if !dir.is_dir() {
        return Err(EvidenceError::BadPath {
            path: dir.to_path_buf(),
            reason: "not a directory".into(),
        });
    }
    if !manifest_path.exists() {
        return Err(EvidenceError::NotSealed {
            dir: dir.to_path_buf(),
        });
    }
    let bytes = std::fs::read(&manifest_path).map_err(|source| EvidenceError::Io {
        path: manifest_path.clone(),
        source,
    })?;
    let listed = parse_manifest(&manifest_path, &bytes)?;
    let present = list_files(dir)?;

    let mut report = VerifyReport {
        dir: dir.to_path_buf(),
        checked: 0,
        changed: Vec::new(),
        missing: Vec::new(),
        extra: Vec::new(),
        signature: SignatureCheck::NotChecked {
            present: dir.join(SIGNATURE_NAME).exists(),
        },
    };
    let mut to_hash: Vec<&String> = Vec::new();
    for rel in listed.keys() {
        match present.get(rel) {
            None => report.missing.push(rel.clone()),
            Some(Some(_)) => report.changed.push(rel.clone()),
            #[cfg(test)]
            Some(None) if planted::skips(&listed, rel) => {}
            Some(None) => to_hash.push(rel),
        }
    }
    let actual = hash_all(dir, &to_hash)?;
    report.checked = to_hash.len();
    for (rel, hex) in to_hash.iter().zip(&actual) {
        if Some(hex) != listed.get(*rel) {
            report.changed.push((*rel).clone());
        }
    }
    report.changed.sort();
    for (rel, problem) in &present {
        if !listed.contains_key(rel) {
            report.extra.push(match problem {
                Some(p) => format!("{rel} ({p})"),
                None => rel.clone(),
            });
        }
    }
    report.signature = check_signature(dir, trust, &bytes);
    Ok(report)
}

/// SHA-256 of each file, in parallel (run directories hold many detection and latency
/// files), in the order given.
fn hash_all(dir: &Path, rels: &[&String]) -> Result<Vec<String>, EvidenceError> {
    use rayon::prelude::*;
    rels.par_iter()
        .map(|rel| {
            let path = dir.join(rel);
            sha256_file(&path).map_err(|source| EvidenceError::Io { path, source })
        })
        .collect()
}

fn check_signature(dir: &Path, trust: &Trust, manifest: &[u8]) -> SignatureCheck {
    let sig_path = dir.join(SIGNATURE_NAME);
    let present = sig_path.exists();
    if !present {
        return if trust.require_signature {
            SignatureCheck::Missing
        } else {
            SignatureCheck::NotChecked { present }
        };
    }
    if trust.keys.is_empty() {
        return if trust.require_signature {
            SignatureCheck::Invalid {
                reason: "a signature is required but no trusted key is configured to check it"
                    .into(),
            }
        } else {
            SignatureCheck::NotChecked { present }
        };
    }
    match read_signature(&sig_path) {
        Err(e) => SignatureCheck::Invalid {
            reason: e.to_string(),
        },
        Ok(sig) => match trust
            .keys
            .iter()
            .find(|k| k.key.verify(manifest, &sig).is_ok())
        {
            Some(k) => SignatureCheck::Valid {
                signer: k.name.clone(),
            },
            None => SignatureCheck::Invalid {
                reason: format!(
                    "signature does not match the manifest under any trusted key ({})",
                    trust.source
                ),
            },
        },
    }
}

/// Parse the manifest, which has exactly one valid byte form (the one `seal` writes): one
/// line per file, `<64 lower-case hex><two spaces><relative path>`, paths sorted by their
/// bytes and unique, each line ending in LF (no CR), the last one too. The manifest's own
/// SHA-256 is the figure quoted for a bundle, so any other spelling of the same content
/// (upper-case hex, reordered lines, CRLF, a missing final newline) is refused, naming the
/// line.
pub fn parse_manifest(
    path: &Path,
    bytes: &[u8],
) -> Result<BTreeMap<String, String>, EvidenceError> {
    let bad = |line: usize, reason: &str| EvidenceError::ManifestMalformed {
        path: path.to_path_buf(),
        line,
        reason: reason.to_string(),
    };
    let text = std::str::from_utf8(bytes).map_err(|_| bad(0, "not UTF-8"))?;
    let mut out = BTreeMap::new();
    let mut previous: Option<&str> = None;
    let mut lines = text.split('\n').enumerate().peekable();
    while let Some((i, line)) = lines.next() {
        let n = i + 1;
        if lines.peek().is_none() {
            // The text after the last LF: empty for a manifest that ends in a newline.
            if !line.is_empty() {
                return Err(bad(n, "the last line does not end with a newline (LF)"));
            }
            break;
        }
        if line.contains('\r') {
            return Err(bad(n, "carriage return: lines end with LF only, not CRLF"));
        }
        let (hex, rel) = line
            .split_once("  ")
            .ok_or_else(|| bad(n, "expected `<sha256>  <path>`"))?;
        if hex.len() != 64 || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(bad(n, "hash is not 64 lower-case hex digits"));
        }
        if rel.is_empty()
            || rel.starts_with('/')
            || rel
                .split('/')
                .any(|c| c == ".." || c == "." || c.is_empty())
        {
            return Err(bad(n, "path must be relative, without `..`"));
        }
        if let Some(prev) = previous {
            if rel == prev {
                return Err(bad(n, "path listed twice"));
            }
            if rel < prev {
                return Err(bad(
                    n,
                    &format!("paths are not sorted: `{rel}` comes after `{prev}`"),
                ));
            }
        }
        previous = Some(rel);
        out.insert(rel.to_string(), hex.to_string());
    }
    Ok(out)
}

/// Every entry below `dir` as a `/`-separated relative path, except the manifest and its
/// signature at the root. The value is `Some(reason)` for entries that cannot be sealed
/// (symlinks, special files, names `sha256sum` would have to escape).
fn list_files(dir: &Path) -> Result<BTreeMap<String, Option<String>>, EvidenceError> {
    let mut out = BTreeMap::new();
    walk(dir, "", &mut out)?;
    out.remove(MANIFEST_NAME);
    out.remove(SIGNATURE_NAME);
    Ok(out)
}

fn walk(
    dir: &Path,
    prefix: &str,
    out: &mut BTreeMap<String, Option<String>>,
) -> Result<(), EvidenceError> {
    let io = |source| EvidenceError::Io {
        path: dir.to_path_buf(),
        source,
    };
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            out.insert(
                format!("{prefix}{}", name.to_string_lossy()),
                Some("file name is not UTF-8".into()),
            );
            continue;
        };
        let rel = format!("{prefix}{name}");
        let ty = entry.file_type().map_err(io)?;
        if name.contains('\n') || name.contains('\\') {
            out.insert(
                rel,
                Some("file name contains a newline or backslash".into()),
            );
        } else if ty.is_symlink() {
            out.insert(rel, Some("symbolic link".into()));
        } else if ty.is_dir() {
            walk(&entry.path(), &format!("{rel}/"), out)?;
        } else if ty.is_file() {
            out.insert(rel, None);
        } else {
            out.insert(rel, Some("not a regular file".into()));
        }
    }
    Ok(())
}
