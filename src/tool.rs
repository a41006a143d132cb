//! This binary's identity ([`ToolIdentity`]): version, the commit it was built from (from
//! `build.rs`) and the SHA-256 of the running executable, hashed once per process.

use adasval_record::tool::ToolIdentity;
use std::sync::OnceLock;

fn non_empty(s: &'static str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

/// The identity of the running adasval binary.
pub fn identity() -> ToolIdentity {
    static BINARY: OnceLock<Result<String, String>> = OnceLock::new();
    let binary = BINARY.get_or_init(|| {
        let exe = std::env::current_exe()
            .map_err(|e| format!("the running executable cannot be located ({e})"))?;
        adasval_core::hash::sha256_file(&exe)
            .map_err(|e| format!("{} cannot be read ({e})", exe.display()))
    });
    ToolIdentity {
        name: "adasval".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        commit: non_empty(env!("ADASVAL_BUILD_COMMIT")),
        dirty: match env!("ADASVAL_BUILD_DIRTY") {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        },
        commit_unknown: non_empty(env!("ADASVAL_BUILD_COMMIT_UNKNOWN")),
        binary_sha256: binary.as_ref().ok().cloned(),
        binary_unknown: binary.as_ref().err().cloned(),
    }
}
