//! `adasval --version [--verbose]`: the version, and with `--verbose` what identifies this
//! exact build (the same identity run.json, evidence.json and the self-test record).

pub fn print(verbose: bool) {
    let id = adasval::tool::identity();
    outln!("adasval {}", id.version);
    if !verbose {
        return;
    }
    let commit = match (&id.commit, id.dirty, &id.commit_unknown) {
        (Some(c), Some(true), _) => format!("{c} (with uncommitted changes to tracked files)"),
        (Some(c), _, _) => c.clone(),
        (None, _, Some(why)) => format!("unknown: {why}"),
        (None, _, None) => "unknown".into(),
    };
    outln!("commit: {commit}");
    match (&id.binary_sha256, &id.binary_unknown) {
        (Some(h), _) => outln!("binary sha256: {h}"),
        (None, Some(why)) => outln!("binary sha256: unknown: {why}"),
        (None, None) => outln!("binary sha256: unknown"),
    }
    if let Ok(exe) = std::env::current_exe() {
        outln!("binary: {}", exe.display());
    }
    outln!("compiler: {}", env!("ADASVAL_BUILD_RUSTC"));
    outln!(
        "target: {}-{} (profile {})",
        std::env::consts::ARCH,
        std::env::consts::OS,
        env!("ADASVAL_BUILD_PROFILE")
    );
}
