//! `adasval diff` on imported trtexec runs (the real exports from the shared folder): the
//! import is sealed evidence, and a rebuilt engine whose layer changed kernel and got slower
//! shows up in the per-layer table. On the no-op backend: every check carries its decision
//! in the JSON output, and the exit status follows it.

use crate::common;
use common::*;

#[test]
fn kernel_choice_and_layer_time_changes_are_reported() {
    let Some(shared) = shared_dir() else { return };
    let t = shared.join("formats/trtexec");
    let d = tempfile::tempdir().unwrap();
    let base = d.path().join("base");
    let cand = d.path().join("cand");
    let times = t.join("mobilenet.qat.onnx.engine.timing.json");
    let profile = t.join("mobilenet.qat.onnx.engine.profile.json");
    let graph = t.join("mobilenet.qat.onnx.engine.graph.json");
    // Stand-ins for the two engine files (their hashes identify the builds in the record).
    let (e1, e2) = (
        d.path().join("build1.engine"),
        d.path().join("build2.engine"),
    );
    std::fs::write(&e1, b"engine build 1").unwrap();
    std::fs::write(&e2, b"engine build 2").unwrap();
    let import = |out: &std::path::Path, profile: &std::path::Path, graph: &std::path::Path| {
        let engine = if out.ends_with("base") { &e1 } else { &e2 };
        let (code, o, e) = run(adasval()
            .current_dir(repo_root())
            .args([
                "import",
                "trtexec",
                "--engine-name",
                "mobilenet",
                "--engine",
            ])
            .arg(engine)
            .arg("--times")
            .arg(&times)
            .arg("--profile")
            .arg(profile)
            .arg("--layers")
            .arg(graph)
            .arg("--out")
            .arg(out));
        assert_eq!(code, 0, "{o}{e}");
    };
    import(&base, &profile, &graph);
    assert!(base.join("MANIFEST.sha256").exists(), "imports are sealed");

    // The "rebuild": the first convolution-like layer with a tactic gets another kernel and
    // takes twice as long.
    let mut g: serde_json::Value = serde_json::from_slice(&std::fs::read(&graph).unwrap()).unwrap();
    let layer = g["Layers"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|l| {
            l["TacticValue"]
                .as_str()
                .is_some_and(|v| v != "0x0000000000000000")
        })
        .expect("a layer with a tactic");
    let name = layer["Name"].as_str().unwrap().to_string();
    layer["TacticValue"] = serde_json::json!("0x00000000deadbeef");
    if layer.get("TacticName").is_some() {
        layer["TacticName"] = serde_json::json!("another_kernel_chosen_by_the_builder");
    }
    let mut p: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&profile).unwrap()).unwrap();
    for e in p.as_array_mut().unwrap().iter_mut().skip(1) {
        if e["name"] == name.as_str() {
            for k in ["timeMs", "averageMs", "medianMs"] {
                let v = e[k].as_f64().unwrap();
                e[k] = serde_json::json!(v * 2.0);
            }
        }
    }
    let g2 = d.path().join("graph2.json");
    let p2 = d.path().join("profile2.json");
    std::fs::write(&g2, g.to_string()).unwrap();
    std::fs::write(&p2, p.to_string()).unwrap();
    import(&cand, &p2, &g2);

    let (code, out, err) = run(adasval()
        .arg("diff")
        .arg(&base)
        .arg(&cand)
        .args(["--format", "json"]));
    assert!(code == 0 || code == 1, "{out}{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let layers = v["layers"].as_array().unwrap();
    assert!(layers.len() > 10, "{v}");
    let changed: Vec<&serde_json::Value> = layers
        .iter()
        .filter(|l| l["tactic_changed"] == true)
        .collect();
    assert_eq!(changed.len(), 1, "{changed:?}");
    assert_eq!(changed[0]["name"], name.as_str());
    assert!(changed[0]["delta_ms"].as_f64().unwrap() > 0.0);
    // Identical latency traces, but one run per side and no earlier runs: run-to-run
    // variation is unknown, so latency is inconclusive, never regressed.
    assert!(v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["what"].as_str().unwrap().contains("latency"))
        .all(|c| c["decision"] == "inconclusive"));
}

fn noop_replay(p: &std::path::Path, delay_us: &str, seed: &str) -> std::path::PathBuf {
    let (code, out, err) = run(adasval()
        .current_dir(p)
        .env("ADASVAL_NOOP_DELAY_US", delay_us)
        .env("ADASVAL_NOOP_JITTER_US", "20")
        .env("ADASVAL_NOOP_SEED", seed)
        .args(["validate", "--backend", "noop", "--repetitions", "60"]));
    assert!(code == 0 || code == 1, "{out}{err}");
    p.join(out.trim())
}

const LATENCY: [&str; 4] = ["improved", "equivalent", "regressed", "inconclusive"];

fn diff_json(args: &[&std::path::Path], extra: &[&str]) -> (i32, serde_json::Value) {
    let mut cmd = adasval();
    cmd.arg("diff");
    for a in args {
        cmd.arg(a);
    }
    let (code, out, err) = run(cmd.args(["--format", "json"]).args(extra));
    assert!(code == 0 || code == 1, "{out}{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let checks = v["checks"].as_array().unwrap();
    assert!(!checks.is_empty(), "{v}");
    for c in checks {
        let latency = c["what"].as_str().unwrap().contains("latency");
        let d = c["decision"].as_str().unwrap();
        if latency {
            assert!(LATENCY.contains(&d), "{c}");
        } else {
            assert!(d == "regressed" || d == "not_regressed", "{c}");
        }
    }
    // The exit status follows the overall decision (inconclusive fails by default).
    let overall = v["decision"].as_str().unwrap();
    let fails = overall == "regressed" || (overall == "inconclusive" && !extra.contains(&"pass"));
    assert_eq!(code, i32::from(fails), "{v}");
    (code, v)
}

fn check<'a>(v: &'a serde_json::Value, what: &str) -> &'a serde_json::Value {
    v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["what"] == what)
        .unwrap_or_else(|| panic!("no check {what}: {v}"))
}

#[test]
fn every_check_states_its_decision_and_the_exit_status_follows() {
    let d = noop_project();
    let p = d.path();
    let base: Vec<_> = (0..3)
        .map(|i| noop_replay(p, "1000", &i.to_string()))
        .collect();
    let same: Vec<_> = (3..6)
        .map(|i| noop_replay(p, "1000", &i.to_string()))
        .collect();
    let slow: Vec<_> = (6..9)
        .map(|i| noop_replay(p, "1500", &i.to_string()))
        .collect();
    let runs = |b: &[std::path::PathBuf], c: &[std::path::PathBuf]| -> Vec<std::path::PathBuf> {
        let mut v = vec![std::path::PathBuf::from("--baseline")];
        v.extend(b.iter().cloned());
        v.push("--candidate".into());
        v.extend(c.iter().cloned());
        v
    };
    let refs = |v: &[std::path::PathBuf]| -> Vec<std::path::PathBuf> { v.to_vec() };

    // +50% on p50 with three runs per side: regressed, exit 1.
    let args = runs(&base, &slow);
    let a: Vec<&std::path::Path> = args.iter().map(|x| x.as_path()).collect();
    let (code, v) = diff_json(&a, &[]);
    assert_eq!(code, 1);
    assert_eq!(
        check(&v, "infer latency p50 (ms)")["decision"],
        "regressed",
        "{v}"
    );
    assert_eq!(check(&v, "decision flips")["decision"], "not_regressed");
    assert_eq!(v["design"], "runs");
    // The same engine and delay: never regressed (the margin absorbs the noise).
    let args = runs(&base, &same);
    let a: Vec<&std::path::Path> = args.iter().map(|x| x.as_path()).collect();
    let (_, v) = diff_json(&a, &["--inconclusive", "pass"]);
    assert_ne!(
        check(&v, "infer latency p50 (ms)")["decision"],
        "regressed",
        "{v}"
    );
    // The candidate faster by a third: improved.
    let args = runs(&slow, &base);
    let a: Vec<&std::path::Path> = args.iter().map(|x| x.as_path()).collect();
    let (_, v) = diff_json(&a, &["--inconclusive", "pass"]);
    assert_eq!(
        check(&v, "infer latency p50 (ms)")["decision"],
        "improved",
        "{v}"
    );

    // One run per side: never regressed; with the sealed runs beside them (the other
    // replays of the same engine on this machine) as run-to-run variation, a +50% shift
    // is inconclusive with the runs needed, and the exit status follows --inconclusive.
    let one = refs(&[base[0].clone(), slow[0].clone()]);
    let a: Vec<&std::path::Path> = one.iter().map(|x| x.as_path()).collect();
    let (code, v) = diff_json(&a, &[]);
    assert_eq!(code, 1);
    assert_eq!(v["design"], "single_runs");
    assert!(!v["history"].as_array().unwrap().is_empty(), "{v}");
    let p50 = check(&v, "infer latency p50 (ms)");
    assert_eq!(p50["decision"], "inconclusive", "{p50}");
    assert!(p50["note"].is_string(), "{p50}");
    let (code, _) = diff_json(&a, &["--inconclusive", "pass"]);
    assert_eq!(code, 0);

    // The text report names the same decisions; an unknown format is bad input.
    let (code, md, err) = run(adasval().arg("diff").args(&args));
    assert!(code == 0 || code == 1, "{err}");
    assert!(md.contains("| decision |"), "{md}");
    assert!(md.contains("3 + 3 runs"), "{md}");
    let (code, _, err) = run(adasval()
        .arg("diff")
        .arg(&base[0])
        .arg(&slow[0])
        .args(["--format", "yaml"]));
    assert_eq!(code, 2, "{err}");
    // The same run on both sides is refused unless it is an interleaved session.
    let (code, _, err) = run(adasval().arg("diff").arg(&base[0]));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--interleave"), "{err}");
}

/// One interleaved no-op session of `fake` (baseline) and `fake-b` (the same file, `scale`
/// times slower), `delay_us` per inference plus 20 µs × Exp(1).
fn noop_session(
    p: &std::path::Path,
    delay_us: u32,
    scale: &str,
    repetitions: &str,
    block_repetitions: &str,
) -> std::path::PathBuf {
    let (code, out, err) = run(adasval()
        .current_dir(p)
        .env("ADASVAL_NOOP_DELAY_US", delay_us.to_string())
        .env("ADASVAL_NOOP_JITTER_US", "20")
        .env("ADASVAL_NOOP_SCALE", format!("fake-b={scale}"))
        .args([
            "validate",
            "--backend",
            "noop",
            "--engine",
            "fake,fake-b",
            "--interleave",
            "--repetitions",
            repetitions,
            "--block-repetitions",
            block_repetitions,
        ]));
    assert!(code == 0 || code == 1, "{out}{err}");
    p.join(out.trim())
}

#[test]
fn interleaved_session_is_judged_block_by_block() {
    let d = noop_project();
    let p = d.path();
    // The same engine file under a second name: an A/A pair of one session.
    freeze_fake_b(p);
    let slow = noop_session(p, 800, "1.3", "60", "6");
    // The schedule is recorded: A B A B ..., ten blocks of twelve samples each.
    let rec: serde_json::Value =
        serde_json::from_slice(&std::fs::read(slow.join("run.json")).unwrap()).unwrap();
    let blocks = rec["interleave"]["blocks"].as_array().unwrap();
    assert_eq!(blocks.len(), 20, "{blocks:?}");
    for (i, b) in blocks.iter().enumerate() {
        assert_eq!(b["engine"], if i % 2 == 0 { "fake" } else { "fake-b" });
        assert_eq!(b["samples"], 12);
        assert_eq!(b["first_sample"], (i / 2) * 12);
    }
    assert_eq!(rec["interleave"]["baseline"], "fake");
    let (code, v) = diff_json(&[slow.as_path()], &[]);
    assert_eq!(code, 1);
    assert_eq!(v["design"], "interleaved");
    let p50 = check(&v, "infer latency p50 (ms)");
    assert_eq!(p50["decision"], "regressed", "{p50}");
    assert_eq!(p50["units"]["kind"], "blocks");
    assert_eq!(p50["units"]["baseline"], 10);
    // A p99 of 12-sample blocks is their maximum: the check cannot decide, and says why
    // (blocks thick enough to decide one are tested in the judge crate, on generated
    // latencies: on a shared machine a block's p99 is whichever preemption hit it).
    let p99 = check(&v, "infer latency p99 (ms)");
    assert_eq!(p99["decision"], "inconclusive", "{p99}");
    let note = p99["note"].as_str().unwrap_or_default();
    assert!(note.contains("0.1 of them beyond the p99"), "{p99}");
    assert!(note.contains("about 1000 samples per unit"), "{p99}");
    // Interleaving needs exactly two engines.
    let (code, _, err) = run(adasval().current_dir(p).args([
        "validate",
        "--backend",
        "noop",
        "--engine",
        "fake",
        "--interleave",
    ]));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("exactly two engines"), "{err}");
}

/// Several interleaved sessions: each session is one paired unit, so a process-wide speed
/// that differs from session to session (here 0.7, 0.8 and 0.9 ms per inference) cancels
/// inside each pair, and a candidate 30% slower is still a regression.
#[test]
fn interleaved_sessions_are_paired_units() {
    let d = noop_project();
    let p = d.path();
    freeze_fake_b(p);
    let session = |delay_us: u32, scale: &str| noop_session(p, delay_us, scale, "40", "4");
    let judge = |sessions: &[std::path::PathBuf]| {
        let mut args: Vec<&std::path::Path> = vec![std::path::Path::new("--sessions")];
        args.extend(sessions.iter().map(|s| s.as_path()));
        diff_json(&args, &[])
    };
    let aa: Vec<_> = [700, 800, 900].iter().map(|&us| session(us, "1")).collect();
    let (_, v) = judge(&aa);
    assert_eq!(v["design"], "sessions", "{v}");
    let p50 = check(&v, "infer latency p50 (ms)");
    assert_eq!(p50["units"]["kind"], "sessions", "{p50}");
    assert_eq!(p50["units"]["baseline"], 3, "{p50}");
    assert_eq!(p50["units"]["df"], 2.0, "paired over three sessions: {p50}");
    assert_eq!(p50["decision"], "equivalent", "{p50}");

    let slow: Vec<_> = [700, 800, 900]
        .iter()
        .map(|&us| session(us, "1.3"))
        .collect();
    let (code, v) = judge(&slow);
    assert_eq!(code, 1, "{v}");
    assert_eq!(check(&v, "infer latency p50 (ms)")["decision"], "regressed");

    // A run that is not an interleaved session is refused (bad input), as are two sessions
    // whose engines differ.
    let (code, single, err) = run(adasval().current_dir(p).args([
        "validate",
        "--backend",
        "noop",
        "--engine",
        "fake",
        "--repetitions",
        "2",
    ]));
    assert!(code == 0 || code == 1, "{err}");
    let (code, _, err) = run(adasval()
        .arg("diff")
        .arg("--sessions")
        .arg(&aa[0])
        .arg(p.join(single.trim())));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--interleave"), "{err}");
}

/// Runs replayed with another number of CPU inference threads measure the setting, not the
/// engine: `diff` refuses them (bad input, exit 2) and says which setting differs.
#[test]
fn runs_with_other_cpu_threads_are_not_compared() {
    let d = tempfile::tempdir().unwrap();
    let cpu_run = |threads: &str| -> std::path::PathBuf {
        let out = d.path().join(format!("t{threads}"));
        let (code, o, e) = run(adasval().current_dir(repo_root()).args([
            "-q",
            "validate",
            "--scenario",
            "timing-loop",
            "--engine",
            "demo-detector",
            "--max-frames",
            "2",
            "--repetitions",
            "2",
            "--threads",
            threads,
            "--out",
            out.to_str().unwrap(),
        ]));
        assert!(code == 0 || code == 1, "{o}{e}");
        let record: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join("run.json")).unwrap()).unwrap();
        assert_eq!(
            record["backend"]["settings"][0],
            serde_json::json!(["threads", threads]),
            "the run records its threads"
        );
        out
    };
    let (one, two) = (cpu_run("1"), cpu_run("2"));
    let (code, out, err) = run(adasval().arg("diff").arg(&one).arg(&two));
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("threads 1 vs 2"), "{err}");
}
