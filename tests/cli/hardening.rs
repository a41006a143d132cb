//! Evidence that cannot be overwritten, mixed or redirected: where a run may be written,
//! the manifest's one canonical form, lock metadata, names that become file names,
//! numbers that cannot be latencies or adapter settings, and output into a closed pipe.

use crate::common;
use common::*;
use std::path::Path;

fn validate(project: &Path, extra: &[&str]) -> (i32, String, String) {
    run(adasval()
        .current_dir(project)
        .args(["validate", "--backend", "noop", "--repetitions", "2"])
        .args(extra))
}

fn verify(dir: &Path) -> (i32, String, String) {
    run(adasval().args(["evidence", "verify"]).arg(dir))
}

/// Every file below `dir` with its bytes, sorted by path.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(base, &p, out);
            } else {
                let rel = p.strip_prefix(base).unwrap().display().to_string();
                out.push((rel, std::fs::read(&p).unwrap()));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

const TIMES: &str = r#"[
  { "startH2dMs" : 1.0, "endH2dMs" : 1.5, "startComputeMs" : 1.5, "endComputeMs" : 4.5, "startD2hMs" : 4.5, "endD2hMs" : 4.75, "h2dMs" : 0.5, "computeMs" : 3.0, "d2hMs" : 0.25, "latencyMs" : 3.75 }
, { "startH2dMs" : 5.0, "endH2dMs" : 5.5, "startComputeMs" : 5.5, "endComputeMs" : 9.5, "startD2hMs" : 9.5, "endD2hMs" : 9.75, "h2dMs" : 0.5, "computeMs" : 4.0, "d2hMs" : 0.25, "latencyMs" : 4.75 }
]"#;

fn import_trtexec(times: &Path, out: &Path) -> (i32, String, String) {
    run(adasval()
        .args(["import", "trtexec", "--root"])
        .arg(repo_root())
        .arg("--times")
        .arg(times)
        .arg("--out")
        .arg(out))
}

#[test]
fn validate_refuses_a_sealed_out_dir_before_running() {
    let d = noop_project();
    let (code, o, e) = validate(d.path(), &["--out", "runs/one"]);
    assert!(code == 0 || code == 1, "{o}{e}");
    let dir = d.path().join("runs/one");
    let before = snapshot(&dir);
    let (code, o, e) = validate(d.path(), &["--out", "runs/one"]);
    assert_eq!(code, 2, "{o}{e}");
    assert!(e.contains("sealed"), "{e}");
    assert!(
        snapshot(&dir) == before,
        "the sealed run was rewritten by the refused run"
    );
    let (code, o, e) = verify(&dir);
    assert_eq!(code, 0, "{o}{e}");
}

#[test]
fn validate_refuses_a_non_empty_out_dir() {
    let d = noop_project();
    let dir = d.path().join("runs/notes");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("notes.txt"), b"mine").unwrap();
    let (code, o, e) = validate(d.path(), &["--out", "runs/notes"]);
    assert_eq!(code, 2, "{o}{e}");
    assert!(e.contains("not empty") && e.contains("notes.txt"), "{e}");
    assert_eq!(snapshot(&dir), vec![("notes.txt".into(), b"mine".to_vec())]);
    // An existing empty directory is a valid place for a run.
    let empty = d.path().join("runs/empty");
    std::fs::create_dir_all(&empty).unwrap();
    let (code, o, e) = validate(d.path(), &["--out", "runs/empty"]);
    assert!(code == 0 || code == 1, "{o}{e}");
    assert_eq!(verify(&empty).0, 0);
}

#[test]
fn import_trtexec_refuses_a_sealed_out_dir() {
    let t = tempfile::tempdir().unwrap();
    let times = t.path().join("times.json");
    std::fs::write(&times, TIMES).unwrap();
    let out = t.path().join("run");
    let (code, o, e) = import_trtexec(&times, &out);
    assert_eq!(code, 0, "{o}{e}");
    let before = snapshot(&out);
    // Other measurements, so a rewrite would show in the bytes.
    let other = t.path().join("other.json");
    std::fs::write(
        &other,
        TIMES.replace("\"computeMs\" : 4.0", "\"computeMs\" : 4.5"),
    )
    .unwrap();
    let (code, o, e) = import_trtexec(&other, &out);
    assert_eq!(code, 2, "{o}{e}");
    assert!(e.contains("sealed"), "{e}");
    assert!(snapshot(&out) == before, "the sealed import was rewritten");
    assert_eq!(verify(&out).0, 0);
}

#[test]
fn validate_refuses_an_out_dir_held_by_another_run() {
    let d = noop_project();
    let dir = d.path().join("runs/held");
    std::fs::create_dir_all(&dir).unwrap();
    // Another process's hold on the directory, as a running `validate` has it.
    let holder = std::fs::File::open(&dir).unwrap();
    holder.try_lock().unwrap();
    let (code, o, e) = validate(d.path(), &["--out", "runs/held"]);
    assert_eq!(code, 2, "{o}{e}");
    assert!(e.contains("in use"), "{e}");
    assert!(snapshot(&dir).is_empty(), "the refused run wrote into it");
}

#[test]
fn two_runs_with_one_out_dir_never_mix() {
    let d = noop_project();
    let spawn = || {
        adasval()
            .current_dir(d.path())
            .args([
                "validate",
                "--backend",
                "noop",
                "--repetitions",
                "20",
                "--out",
                "runs/race",
            ])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    let mut codes = [a.status.code().unwrap(), b.status.code().unwrap()];
    codes.sort();
    assert!(
        codes[0] <= 1 && codes[1] == 2,
        "one run wins, the other is refused: {codes:?}\n{}\n{}",
        String::from_utf8_lossy(&a.stderr),
        String::from_utf8_lossy(&b.stderr)
    );
    let dir = d.path().join("runs/race");
    assert_eq!(verify(&dir).0, 0);
    let run: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("run.json")).unwrap()).unwrap();
    let ev: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("evidence.json")).unwrap()).unwrap();
    assert_eq!(run["run_id"], ev["run_id"]);
}

/// A sealed directory of three files, and its manifest's text.
fn sealed_dir() -> (tempfile::TempDir, String) {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("bundle");
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    std::fs::write(dir.join("b.txt"), b"bee").unwrap();
    std::fs::write(dir.join("a.txt"), b"ay").unwrap();
    std::fs::write(dir.join("sub/c.txt"), b"sea").unwrap();
    let (code, o, e) = run(adasval().args(["evidence", "seal"]).arg(&dir));
    assert_eq!(code, 0, "{o}{e}");
    let text = std::fs::read_to_string(dir.join("MANIFEST.sha256")).unwrap();
    (t, text)
}

#[test]
fn manifest_in_any_but_its_canonical_form_is_an_integrity_failure() {
    let (t, text) = sealed_dir();
    let dir = t.path().join("bundle");
    // What seal writes is the canonical form.
    let lines: Vec<&str> = text.split_terminator('\n').collect();
    assert!(text.ends_with('\n') && !text.contains('\r'));
    let paths: Vec<&str> = lines.iter().map(|l| &l[66..]).collect();
    assert_eq!(paths, ["a.txt", "b.txt", "sub/c.txt"]);
    assert!(lines.iter().all(|l| l[..64]
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))));
    assert_eq!(verify(&dir).0, 0);

    let upper = format!("{}{}", lines[0][..64].to_ascii_uppercase(), &text[64..]);
    let swapped = format!("{}\n{}\n{}\n", lines[1], lines[0], lines[2]);
    let crlf = text.replace('\n', "\r\n");
    let unterminated = text.trim_end_matches('\n').to_string();
    for (what, edited, line) in [
        ("upper-case hex", upper, 1),
        ("unsorted paths", swapped, 2),
        ("CRLF", crlf, 1),
        ("no final newline", unterminated, 3),
    ] {
        std::fs::write(dir.join("MANIFEST.sha256"), &edited).unwrap();
        let (code, o, e) = verify(&dir);
        assert_eq!(code, 3, "{what}: {o}{e}");
        assert!(
            e.contains(&format!("MANIFEST.sha256:{line}:")),
            "{what}: names the line: {e}"
        );
    }
}

fn edit_lock(project: &Path, f: impl Fn(&str) -> String) {
    let p = project.join("engines/engines.lock.yaml");
    let text = std::fs::read_to_string(&p).unwrap();
    std::fs::write(&p, f(&text)).unwrap();
    // Each check behind the lock's seal is tested on its own: re-seal after the edit.
    reseal_lock(project);
}

/// Replace the value of the first lock line `key: ...` (any indentation).
fn set_field(text: &str, key: &str, value: &str) -> String {
    let mut done = false;
    text.lines()
        .map(|l| {
            let t = l.trim_start();
            if !done && t.starts_with(&format!("{key}:")) {
                done = true;
                format!("{}{key}: {value}", &l[..l.len() - t.len()])
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

#[test]
fn engine_verify_checks_lock_metadata() {
    let d = noop_project();
    let lock = std::fs::read_to_string(d.path().join("engines/engines.lock.yaml")).unwrap();
    let size = std::fs::metadata(d.path().join("engines/fake.onnx"))
        .unwrap()
        .len();
    let sha = lock
        .lines()
        .find_map(|l| l.trim_start().strip_prefix("sha256: "))
        .unwrap()
        .to_string();

    edit_lock(d.path(), |t| set_field(t, "size", "7"));
    let (code, o, e) = run(adasval().current_dir(d.path()).args(["engine", "verify"]));
    assert_ne!(code, 0, "{o}{e}");
    assert!(
        e.contains("size") && e.contains('7') && e.contains(&size.to_string()),
        "names the field, the locked and the actual size: {e}"
    );

    for (key, value, code_wanted) in [
        ("frozen_at", "not-a-date", 2),
        ("sha256", sha.to_ascii_uppercase().as_str(), 2),
    ] {
        std::fs::write(d.path().join("engines/engines.lock.yaml"), &lock).unwrap();
        edit_lock(d.path(), |t| set_field(t, key, value));
        let (code, o, e) = run(adasval().current_dir(d.path()).args(["engine", "verify"]));
        assert_eq!(code, code_wanted, "{key}: {o}{e}");
        assert!(e.contains(key) && e.contains(value), "{key}: {e}");
    }

    std::fs::write(d.path().join("engines/engines.lock.yaml"), &lock).unwrap();
    edit_lock(d.path(), |t| {
        t.replace(
            "  format: onnx\n",
            "  format: onnx\n    source_model_sha256: xyz\n",
        )
    });
    assert!(
        std::fs::read_to_string(d.path().join("engines/engines.lock.yaml"))
            .unwrap()
            .contains("source_model_sha256: xyz")
    );
    let (code, o, e) = run(adasval().current_dir(d.path()).args(["engine", "verify"]));
    assert_eq!(code, 2, "{o}{e}");
    assert!(
        e.contains("source_model_sha256") && e.contains("xyz"),
        "{e}"
    );

    // A changed engine names both hashes.
    std::fs::write(d.path().join("engines/engines.lock.yaml"), &lock).unwrap();
    std::fs::write(d.path().join("engines/fake.onnx"), b"other bytes").unwrap();
    let (code, o, e) = run(adasval().current_dir(d.path()).args(["engine", "verify"]));
    assert_eq!(code, 3, "{o}{e}");
    let actual = adasval::hash::sha256_hex(b"other bytes");
    assert!(e.contains(&sha) && e.contains(&actual), "{e}");
}

#[test]
fn latencies_that_cannot_be_latencies_are_refused() {
    let t = tempfile::tempdir().unwrap();
    // wcet --samples: negative and absurdly large values, named by file and line.
    for (i, bad) in ["-3.5", "1e300"].iter().enumerate() {
        let p = t.path().join(format!("s{i}.csv"));
        let mut text = String::from("latency_ms\n");
        for k in 0..50 {
            text += &format!("{}\n", 10.0 + (k % 7) as f64);
        }
        text += &format!("{bad}\n");
        std::fs::write(&p, text).unwrap();
        let (code, o, e) = run(adasval().arg("wcet").arg("--samples").arg(&p));
        assert_eq!(code, 2, "{bad}: {o}{e}");
        assert!(e.contains(&format!("s{i}.csv:52")), "{bad}: {e}");
    }
    // import trtexec: 1e308 ms is not clamped to the largest integer.
    let times = t.path().join("huge.json");
    std::fs::write(
        &times,
        TIMES.replace("\"computeMs\" : 4.0", "\"computeMs\" : 1e308"),
    )
    .unwrap();
    let out = t.path().join("huge-run");
    let (code, o, e) = import_trtexec(&times, &out);
    assert_eq!(code, 2, "{o}{e}");
    assert!(e.contains("huge.json") && e.contains("computeMs"), "{e}");
    assert!(!out.join("latencies.csv").exists());
    // latencies.csv of a run directory: the reader refuses an impossible value.
    let src = t.path().join("ok-run");
    std::fs::write(&times, TIMES).unwrap();
    assert_eq!(import_trtexec(&times, &src).0, 0);
    let dir = t.path().join("edited");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(src.join("run.json"), dir.join("run.json")).unwrap();
    let csv = std::fs::read_to_string(src.join("latencies.csv")).unwrap();
    let mut lines: Vec<String> = csv.lines().map(str::to_string).collect();
    let mut f: Vec<String> = lines[2].split(',').map(str::to_string).collect();
    f[7] = u64::MAX.to_string();
    lines[2] = f.join(",");
    std::fs::write(dir.join("latencies.csv"), lines.join("\n") + "\n").unwrap();
    let (code, o, e) = run(adasval().arg("wcet").arg(&dir));
    assert_eq!(code, 2, "{o}{e}");
    assert!(e.contains("latencies.csv:3"), "{e}");
}

#[test]
fn non_finite_adapter_numbers_are_refused_at_freeze_and_load() {
    let d = noop_project();
    let p = d.path();
    for (i, (field, from, to)) in [
        (
            "input.scale",
            "scale: 0.00392156862745098",
            "scale: .nan".to_string(),
        ),
        (
            "input.mean",
            "scale: 0.00392156862745098",
            "scale: 0.00392156862745098\n  mean: [0, .inf, 0]".to_string(),
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let name = format!("engines/bad{i}.adapter.yaml");
        std::fs::write(p.join(&name), NOOP_ADAPTER.replace(from, &to)).unwrap();
        let (code, o, e) = run(adasval().current_dir(p).args([
            "engine",
            "freeze",
            "engines/fake.onnx",
            "--name",
            &format!("bad{i}"),
            "--adapter",
            &name,
        ]));
        assert_eq!(code, 2, "{field}: {o}{e}");
        assert!(
            e.contains(&format!("bad{i}.adapter.yaml")) && e.contains(field),
            "{field}: {e}"
        );
    }
    // At load: an adapter edited after freezing, with the lock's hash updated to match.
    let adapter = p.join("engines/fake.adapter.yaml");
    let old = adasval::hash::sha256_file(&adapter).unwrap();
    let edited = NOOP_ADAPTER.replace("scale: 0.00392156862745098", "scale: .nan");
    std::fs::write(&adapter, &edited).unwrap();
    let new = adasval::hash::sha256_hex(edited.as_bytes());
    edit_lock(p, |t| t.replace(&old, &new));
    let (code, o, e) = validate(p, &[]);
    assert_eq!(code, 2, "{o}{e}");
    assert!(
        e.contains("fake.adapter.yaml") && e.contains("input.scale"),
        "{e}"
    );
}

/// Every file below `dir` whose name contains `needle`.
fn files_named(dir: &Path, needle: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.to_string_lossy().contains(needle) {
                out.push(p.display().to_string());
            }
        }
    }
    out
}

#[test]
fn unsafe_names_never_become_paths() {
    let d = noop_project();
    let p = d.path();
    let (code, o, e) = run(adasval().current_dir(p).args([
        "engine",
        "freeze",
        "engines/fake.onnx",
        "--name",
        "../../x",
        "--adapter",
        "engines/fake.adapter.yaml",
    ]));
    assert_eq!(code, 2, "freeze: {o}{e}");
    assert!(e.contains("../../x"), "{e}");

    // A lock edited by hand: refused when loaded, before anything is written.
    edit_lock(p, |t| t.replace("name: fake", "name: ../../x"));
    let (code, o, e) = validate(p, &["--save-outputs", "--out", "runs/named"]);
    assert_eq!(code, 2, "{o}{e}");
    assert!(e.contains("../../x"), "{e}");
    assert!(
        files_named(p, "x__").is_empty(),
        "{:?}",
        files_named(p, "x__")
    );
    assert!(!p.join("runs/named").exists() || snapshot(&p.join("runs/named")).is_empty());
    edit_lock(p, |t| t.replace("name: ../../x", "name: fake"));

    let s = std::fs::read_to_string(p.join("scenarios/two-frames.yaml")).unwrap();
    std::fs::write(
        p.join("scenarios/two-frames.yaml"),
        s.replace("id: two-frames", "id: ../two-frames"),
    )
    .unwrap();
    let (code, o, e) = run(adasval().current_dir(p).args(["scenario", "check"]));
    assert_eq!(code, 2, "scenario check: {o}{e}");
    assert!(e.contains("../two-frames"), "{e}");
}

#[test]
fn output_into_a_closed_pipe_is_a_quiet_exit() {
    let d = noop_project();
    for args in [
        &["engine", "list"][..],
        &["engine", "verify"],
        &["scenario", "check"],
    ] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let o = adasval()
            .current_dir(d.path())
            .args(args)
            .stdout(writer)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}

#[test]
fn an_input_size_the_model_cannot_take_is_one_line() {
    let t = tempfile::tempdir().unwrap();
    let p = t.path();
    std::fs::create_dir_all(p.join("engines")).unwrap();
    std::fs::create_dir_all(p.join("scenarios")).unwrap();
    std::fs::copy(
        repo_root().join("engines/demo/detector.onnx"),
        p.join("engines/detector.onnx"),
    )
    .unwrap();
    let good = std::fs::read_to_string(repo_root().join("engines/demo/adapter.yaml")).unwrap();
    let small = good
        .replace("width: 512", "width: 16")
        .replace("height: 288", "height: 16");
    std::fs::write(p.join("engines/small.adapter.yaml"), &small).unwrap();
    std::fs::copy(
        repo_root().join("scenarios/timing-loop.yaml"),
        p.join("scenarios/timing-loop.yaml"),
    )
    .unwrap();
    let (code, o, e) = run(adasval().current_dir(p).args([
        "engine",
        "freeze",
        "engines/detector.onnx",
        "--name",
        "small",
        "--adapter",
        "engines/small.adapter.yaml",
    ]));
    // Freezing refuses it, naming both sizes.
    assert_eq!(code, 2, "{o}{e}");
    assert!(
        e.contains("input.width/height/layout") && e.contains("16, 16") && e.contains("288, 512"),
        "{e}"
    );
    // A lock that holds it anyway (hand-edited, or older) is refused at load, in one line.
    std::fs::write(p.join("engines/small.adapter.yaml"), &good).unwrap();
    let (code, o, e) = run(adasval().current_dir(p).args([
        "engine",
        "freeze",
        "engines/detector.onnx",
        "--name",
        "small",
        "--adapter",
        "engines/small.adapter.yaml",
    ]));
    assert_eq!(code, 0, "{o}{e}");
    rehash_adapter(p, "engines/small.adapter.yaml", &small);
    let (code, o, e) = validate_cpu(p);
    assert_eq!(code, 2, "{o}{e}");
    let e = e.trim();
    assert!(
        e.lines().count() == 1 && e.len() < 600,
        "one short line, not {} bytes: {e}",
        e.len()
    );
    assert!(
        e.contains("16") && e.contains("288") && e.contains("512"),
        "{e}"
    );
}

fn validate_cpu(project: &Path) -> (i32, String, String) {
    run(adasval().current_dir(project).args([
        "validate",
        "--max-frames",
        "1",
        "--repetitions",
        "1",
        "--warmup",
        "0",
        "--out",
        "runs/small",
    ]))
}
