//! Every project file goes through one inside-the-project check, symbolic links resolved:
//! a lock's adapter path, a scenario file, a platform profile, the default requirements and
//! a trusted key that lead out of the project are refused with exit 2, before anything is
//! read from them (so nothing of an outside file reaches an error message).

use crate::common;
use common::*;
use std::path::Path;

/// A file outside the project whose content must never be shown.
const SECRET: &str = "schema_version: 1\nsecret: do-not-print-me\n";

fn outside_file(dir: &Path, name: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, SECRET).unwrap();
    p
}

#[test]
fn scenario_check_refuses_a_lock_adapter_outside_the_project() {
    let d = noop_project();
    let elsewhere = tempfile::tempdir().unwrap();
    let secret = outside_file(elsewhere.path(), "adapter.yaml");
    let lock_path = d.path().join("engines/engines.lock.yaml");
    let lock = std::fs::read_to_string(&lock_path).unwrap();
    let edited = lock.replace(
        "engines/fake.adapter.yaml",
        secret.to_str().expect("UTF-8 temp path"),
    );
    assert_ne!(lock, edited, "the fixture's lock names the adapter");
    std::fs::write(&lock_path, edited).unwrap();
    reseal_lock(d.path());
    let (code, out, err) = run(adasval().current_dir(d.path()).args(["scenario", "check"]));
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("escapes the project root"), "{err}");
    assert!(
        !format!("{out}{err}").contains("do-not-print-me"),
        "{out}{err}"
    );
}

#[cfg(unix)]
#[test]
fn project_files_linked_in_from_outside_are_refused() {
    use std::os::unix::fs::symlink;
    let elsewhere = tempfile::tempdir().unwrap();

    // A scenario file.
    let d = noop_project();
    let outside = elsewhere.path().join("scenario.yaml");
    std::fs::copy(d.path().join("scenarios/two-frames.yaml"), &outside).unwrap();
    std::fs::remove_file(d.path().join("scenarios/two-frames.yaml")).unwrap();
    symlink(&outside, d.path().join("scenarios/two-frames.yaml")).unwrap();
    for args in [
        &["validate", "--backend", "noop"][..],
        &["scenario", "check"][..],
    ] {
        let (code, out, err) = run(adasval().current_dir(d.path()).args(args));
        assert_eq!(code, 2, "{args:?}: {out}{err}");
        assert!(err.contains("symbolic link leads outside"), "{err}");
    }
    assert!(
        !d.path().join("reports").exists()
            || std::fs::read_dir(d.path().join("reports"))
                .unwrap()
                .next()
                .is_none(),
        "nothing replayed"
    );

    // A platform profile.
    let d = noop_project();
    std::fs::create_dir_all(d.path().join("platforms")).unwrap();
    symlink(
        outside_file(elsewhere.path(), "p.yaml"),
        d.path().join("platforms/x86.yaml"),
    )
    .unwrap();
    let (code, out, err) =
        run(adasval()
            .current_dir(d.path())
            .args(["validate", "--backend", "noop"]));
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        !format!("{out}{err}").contains("do-not-print-me"),
        "{out}{err}"
    );

    // The default requirements.
    let d = noop_project();
    std::fs::create_dir_all(d.path().join("safety-case")).unwrap();
    symlink(
        outside_file(elsewhere.path(), "req.yaml"),
        d.path().join("safety-case/requirements.yaml"),
    )
    .unwrap();
    let (code, out, err) =
        run(adasval()
            .current_dir(d.path())
            .args(["validate", "--backend", "noop"]));
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("symbolic link leads outside"), "{err}");

    // A trusted key.
    let d = noop_project();
    let keys = d.path().join("safety-case/trusted-keys");
    std::fs::create_dir_all(&keys).unwrap();
    let sk = elsewhere.path().join("k");
    let (code, _, err) = run(adasval().args(["evidence", "keygen", "--out"]).arg(&sk));
    assert_eq!(code, 0, "{err}");
    symlink(elsewhere.path().join("k.pub"), keys.join("someone.pub")).unwrap();
    let run_dir = d.path().join("sealed");
    std::fs::create_dir_all(&run_dir).unwrap();
    std::fs::write(run_dir.join("run.json"), "{}").unwrap();
    let (code, _, err) = run(adasval().args(["evidence", "seal"]).arg(&run_dir));
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = run(adasval()
        .current_dir(d.path())
        .args(["evidence", "verify"])
        .arg(&run_dir));
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("someone.pub"), "{err}");
}
