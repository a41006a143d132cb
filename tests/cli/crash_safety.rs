//! A crash sweep: `adasval validate` is killed with SIGKILL at seeded random moments of
//! each phase (replay, analysis, sealing), on the no-op backend and, for a few points, on
//! the CPU backend with two frames; every run is signed with a key the project trusts.
//! After every kill, `gate` and `evidence verify` must refuse the directory (never exit
//! 0), the directory must be refused as a target for another run unless the kill left it
//! empty, and the next `validate` must work and pass the gate. The requirements used pass
//! on a complete run, so a gate that accepted a killed directory would show as exit 0.
//! The planted bug that makes this sweep fail is shown in `adasval-judge`'s
//! `evidence::planted` (a seal that writes the manifest before the signature).

use crate::common;
use adasval::rng::SplitMix64;
use common::*;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// Requirements a complete no-op or CPU run passes: the integrity check and a latency
/// margin far inside the scenarios' deadlines.
const PASSING_REQUIREMENTS: &str = "schema_version: 1
requirements:
  - id: REQ-INT-001
    text: Every engine binary and adapter used matches its lock entry (SHA-256).
    kind: integrity
  - id: REQ-TIM-002
    text: The latency high-water mark times 1.5 is within the frame deadline.
    kind: timing
    metric: hwm_margin
    margin: 1.5
";

/// The phases of `validate`, told apart by the files it has written: the replay ends with
/// `run.json`, the analysis with `traceability.html` (the last verdict file before
/// sealing; no GSN file is used here), sealing with `MANIFEST.sha256`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    Replay,
    Analysis,
    Sealing,
    Finished,
}

const MARKERS: [(&str, Phase); 3] = [
    ("MANIFEST.sha256", Phase::Finished),
    ("traceability.html", Phase::Sealing),
    ("run.json", Phase::Analysis),
];

fn phase_of(dir: &Path) -> Phase {
    MARKERS
        .iter()
        .find(|(f, _)| dir.join(f).exists())
        .map(|(_, p)| *p)
        .unwrap_or(Phase::Replay)
}

struct Project {
    dir: tempfile::TempDir,
    args: Vec<String>,
}

impl Project {
    fn spawn(&self, out: &Path) -> Child {
        adasval()
            .current_dir(self.dir.path())
            .args(&self.args)
            .arg("--out")
            .arg(out)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn adasval validate")
    }

    fn exit(&self, args: &[&str], dir: &Path) -> (i32, String) {
        let (code, o, e) = run(adasval().current_dir(self.dir.path()).args(args).arg(dir));
        (code, format!("{o}{e}"))
    }
}

/// The project with requirements a complete run passes, and a signing key the project
/// trusts (signatures not required): every run is signed, so a seal killed between the
/// signature and the manifest must not leave an intact unsigned bundle.
fn with_passing_requirements(dir: tempfile::TempDir, args: &[&str]) -> Project {
    let sc = dir.path().join("safety-case");
    std::fs::create_dir_all(sc.join("trusted-keys")).unwrap();
    std::fs::write(sc.join("requirements.yaml"), PASSING_REQUIREMENTS).unwrap();
    let key = dir.path().join("ci.key");
    let (code, o, e) = run(adasval().args(["evidence", "keygen", "--out"]).arg(&key));
    assert_eq!(code, 0, "{o}{e}");
    std::fs::copy(
        dir.path().join("ci.key.pub"),
        sc.join("trusted-keys/ci.pub"),
    )
    .unwrap();
    let mut args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    args.extend(["--sign-key".into(), key.display().to_string()]);
    Project { dir, args }
}

/// Wait until `child` has written `marker` into `out` (or exited); the time it took.
fn wait_for(child: &mut Child, out: &Path, marker: Option<&str>) -> Duration {
    let t0 = Instant::now();
    if let Some(m) = marker {
        while !out.join(m).exists() && child.try_wait().unwrap().is_none() {
            std::thread::sleep(Duration::from_micros(100));
        }
    }
    t0.elapsed()
}

/// When each phase starts, from a run that is not killed: offsets of `run.json`,
/// `traceability.html` and `MANIFEST.sha256` from the start; also checks that such a run
/// passes the gate, so an exit 0 after a kill would be a real acceptance.
fn phase_starts(p: &Project, out: &Path) -> [Duration; 3] {
    let mut child = p.spawn(out);
    let t0 = Instant::now();
    let mut at = [Duration::ZERO; 3];
    for (i, m) in ["run.json", "traceability.html", "MANIFEST.sha256"]
        .iter()
        .enumerate()
    {
        wait_for(&mut child, out, Some(m));
        at[i] = t0.elapsed();
    }
    let status = child.wait().unwrap();
    assert!(status.success(), "an uninterrupted validate: {status}");
    let (code, msg) = p.exit(&["gate"], out);
    assert_eq!(code, 0, "an uninterrupted run passes the gate: {msg}");
    at
}

/// Kill runs at seeded moments until each phase has been hit `per_phase` times: each run
/// is aimed at a phase still short of kills, and killed a random fraction (up to 1.2) of
/// that phase's length (from an uninterrupted run) after the file that opens it appears.
/// A kill that lands after sealing (the machine was faster or slower than the baseline)
/// counts for nothing and halves the fraction for that phase. Returns the phase each kill
/// actually hit.
fn sweep(p: &Project, seed: u64, per_phase: usize, label: &str) -> Vec<Phase> {
    let base = p.dir.path().join(format!("{label}-baseline"));
    let starts = phase_starts(p, &base);
    let mut rng = SplitMix64::new(seed);
    let mut hit = Vec::new();
    let mut scale = [1.2f64; 3];
    let phases = [Phase::Replay, Phase::Analysis, Phase::Sealing];
    for i in 0.. {
        let short: Vec<usize> = (0..3)
            .filter(|k| count(&hit, phases[*k]) < per_phase)
            .collect();
        let Some(&aim) = short.get(i % short.len().max(1)) else {
            break;
        };
        assert!(
            i < 4 * 3 * per_phase,
            "{}: too many kills missed their phase",
            report(label, &hit)
        );
        let out = p.dir.path().join(format!("{label}-kill-{i:02}"));
        let (marker, length) = match aim {
            0 => (None, starts[0]),
            1 => (Some("run.json"), starts[1] - starts[0]),
            _ => (Some("traceability.html"), starts[2] - starts[1]),
        };
        let delay = length.mul_f64(scale[aim] * rng.below(1_000_000) as f64 / 1e6);
        let mut child = p.spawn(&out);
        wait_for(&mut child, &out, marker);
        std::thread::sleep(delay);
        child.kill().expect("SIGKILL");
        child.wait().unwrap();
        let phase = phase_of(&out);
        hit.push(phase);
        if out.join("MANIFEST.sha256.sig").exists() && phase != Phase::Finished {
            eprintln!("{label} point {i}: killed between the signature and the manifest");
        }
        let at = format!("{label} point {i} ({phase:?}, {marker:?} + {delay:?})");
        if phase == Phase::Finished {
            scale[aim] /= 2.0;
            continue;
        }
        if !out.exists() {
            // Killed before the directory was created: nothing to judge, and both
            // commands must still refuse the path.
            for args in [&["evidence", "verify"][..], &["gate"][..]] {
                let (code, msg) = p.exit(args, &out);
                assert_ne!(
                    code, 0,
                    "{at}: {args:?} accepted a missing directory: {msg}"
                );
            }
        }
        if out.exists() {
            let (code, msg) = p.exit(&["evidence", "verify"], &out);
            assert_ne!(
                code, 0,
                "{at}: evidence verify accepted a killed run: {msg}"
            );
            assert_eq!(
                code, 3,
                "{at}: an unsealed run is an integrity failure: {msg}"
            );
            let (code, msg) = p.exit(&["gate"], &out);
            assert_ne!(code, 0, "{at}: gate accepted a killed run: {msg}");
            // What the kill left is kept: another run into the same directory is refused
            // unless the directory is still empty.
            let empty = std::fs::read_dir(&out).unwrap().next().is_none();
            if !empty {
                let mut again = p.spawn(&out);
                let code = again.wait().unwrap().code();
                assert_eq!(code, Some(2), "{at}: a killed run's directory is reused");
            }
        }
        // The next run works (a fresh directory: the killed one holds the evidence of
        // what happened).
        let next = p.dir.path().join(format!("{label}-next-{i:02}"));
        let status = p.spawn(&next).wait().unwrap();
        assert!(status.success(), "{at}: the next validate: {status}");
        let (code, msg) = p.exit(&["gate"], &next);
        assert_eq!(code, 0, "{at}: the next run's gate: {msg}");
        std::fs::remove_dir_all(&next).unwrap();
    }
    hit
}

fn count(hit: &[Phase], phase: Phase) -> usize {
    hit.iter().filter(|p| **p == phase).count()
}

fn report(label: &str, hit: &[Phase]) -> String {
    format!(
        "{label}: {} kills, replay {}, analysis {}, sealing {}, after sealing {}",
        hit.len(),
        count(hit, Phase::Replay),
        count(hit, Phase::Analysis),
        count(hit, Phase::Sealing),
        count(hit, Phase::Finished)
    )
}

#[test]
fn a_validate_killed_at_any_moment_never_passes_and_the_next_one_works() {
    let t0 = Instant::now();
    let noop = with_passing_requirements(noop_project(), &["validate", "--backend", "noop"]);
    // More repetitions than the default make the replay long enough to land in.
    let scenario = noop.dir.path().join("scenarios/two-frames.yaml");
    let text = std::fs::read_to_string(&scenario).unwrap();
    std::fs::write(
        &scenario,
        format!("{text}timing: {{ repetitions: 200, warmup: 2 }}\n"),
    )
    .unwrap();
    let hit = sweep(&noop, 20261207, 10, "noop");
    eprintln!("{} ({:?})", report("crash sweep, noop", &hit), t0.elapsed());
    let killed = hit.iter().filter(|p| **p != Phase::Finished).count();
    assert!(killed >= 20, "{}", report("noop", &hit));
    for phase in [Phase::Replay, Phase::Analysis, Phase::Sealing] {
        assert!(count(&hit, phase) >= 10, "{}", report("noop", &hit));
    }

    // A few points on the CPU backend (tract), with YOLOX-Nano on two frames.
    let Some(shared) = shared_dir() else { return };
    let t1 = Instant::now();
    let cpu = with_passing_requirements(
        yolox_project(&shared, "yolox-nano", "voc", "data/voc100/images/*.jpg"),
        &[
            "validate",
            "--backend",
            "cpu",
            "--max-frames",
            "2",
            "--warmup",
            "0",
            "--data-root",
            shared.to_str().unwrap(),
        ],
    );
    let hit = sweep(&cpu, 7, 2, "cpu");
    eprintln!("{} ({:?})", report("crash sweep, cpu", &hit), t1.elapsed());
    for phase in [Phase::Replay, Phase::Analysis, Phase::Sealing] {
        assert!(count(&hit, phase) >= 2, "{}", report("cpu", &hit));
    }
}
