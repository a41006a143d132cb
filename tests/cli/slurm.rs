//! Slurm for real: a one-node cluster on localhost (Debian's slurmctld, slurmd and munge;
//! `deploy/slurm/local-cluster.sh`, four task slots, the `xavier-nx` feature and four
//! stand-in GPUs), the demo's work list (every scenario and engine, reduced frames)
//! submitted by `deploy/slurm/submit.sh` as a 4-task array job plus the dependent merge
//! job, waited for, and the merged run compared with an unsharded run of the same list:
//! same detections, detection metrics and non-timing verdicts, and the same exit status.
//! Skips with a message where Slurm is not installed or cannot start; fails under CI=true.

use crate::common;
use common::*;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The work list: the demo, fewer frames (four shards share two cores).
const WORK: &[&str] = &["--max-frames", "20", "--repetitions", "2", "--warmup", "2"];

fn skip(why: &str) {
    if ci() {
        panic!("Slurm test cannot run under CI=true: {why}");
    }
    eprintln!("skipped: Slurm test: {why}");
}

fn have(bin: &str) -> bool {
    ["/usr/bin", "/usr/sbin", "/bin", "/sbin"]
        .iter()
        .any(|d| Path::new(d).join(bin).exists())
}

/// Stops the cluster's daemons however the test ends.
struct Cluster {
    dir: PathBuf,
    conf: PathBuf,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new(repo_root().join("deploy/slurm/local-cluster.sh"))
            .arg("stop")
            .arg(&self.dir)
            .status();
    }
}

fn slurm(cluster: &Cluster, bin: &str) -> Command {
    let mut c = Command::new(bin);
    c.env("SLURM_CONF", &cluster.conf).env(
        "PATH",
        format!(
            "{}:/usr/sbin:/sbin",
            std::env::var("PATH").unwrap_or_default()
        ),
    );
    c
}

#[test]
fn a_slurm_array_of_four_shards_merges_to_the_unsharded_results() {
    let missing: Vec<&str> = [
        "sbatch",
        "squeue",
        "scontrol",
        "slurmctld",
        "slurmd",
        "munged",
    ]
    .into_iter()
    .filter(|b| !have(b))
    .collect();
    if !missing.is_empty() {
        return skip(&format!(
            "not installed: {} (apt-get install slurmctld slurmd slurm-client munge; .ci/run does)",
            missing.join(", ")
        ));
    }
    let uid = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    if uid.as_deref().ok() != Some("0") {
        return skip("the local cluster's daemons need root");
    }
    // Short paths: munge's socket path must fit a Unix socket address.
    let tmp = tempfile::Builder::new()
        .prefix("adasval-slurm")
        .tempdir_in("/tmp")
        .unwrap();
    let dir = tmp.path().join("cluster");
    let started = Command::new(repo_root().join("deploy/slurm/local-cluster.sh"))
        .arg("start")
        .arg(&dir)
        .arg("4")
        .output()
        .unwrap();
    let cluster = Cluster {
        conf: dir.join("slurm.conf"),
        dir: dir.clone(),
    };
    if !started.status.success() {
        return skip(&format!(
            "the local cluster did not start: {}",
            String::from_utf8_lossy(&started.stderr)
        ));
    }

    // The unsharded run of the same work list, on the same machine.
    let farm = tmp.path().join("farm");
    let unsharded = farm.join("unsharded");
    let t0 = Instant::now();
    let (code, o, e) = run(adasval()
        .current_dir(repo_root())
        .args(["validate", "-q"])
        .args(WORK)
        .arg("--out")
        .arg(&unsharded));
    let unsharded_s = t0.elapsed().as_secs_f64();
    assert!(code == 0 || code == 1, "unsharded validate: {code}: {o}{e}");

    // A constraint no node offers is refused at submission: nodes really are chosen by feature.
    let refused = slurm(&cluster, "bash")
        .current_dir(repo_root())
        .arg("deploy/slurm/submit.sh")
        .args(["4"])
        .arg(tmp.path().join("nowhere"))
        .arg("--constraint=orin-agx")
        .output()
        .unwrap();
    assert!(!refused.status.success(), "an unknown feature was accepted");

    let t1 = Instant::now();
    let submitted = slurm(&cluster, "bash")
        .current_dir(repo_root())
        .arg("deploy/slurm/submit.sh")
        .arg("4")
        .arg(&farm)
        .env("ADASVAL", env!("CARGO_BIN_EXE_adasval"))
        .env("ADASVAL_VALIDATE_ARGS", WORK.join(" "))
        .output()
        .unwrap();
    assert!(
        submitted.status.success(),
        "submit: {}",
        String::from_utf8_lossy(&submitted.stderr)
    );
    let ids = String::from_utf8_lossy(&submitted.stdout)
        .trim()
        .to_string();
    let (array, merge) = ids.split_once(' ').expect("two job ids");
    // Wait for the array and the merge to leave the queue.
    loop {
        let q = slurm(&cluster, "squeue")
            .args(["-h", "-j", &format!("{array},{merge}")])
            .output()
            .unwrap();
        if q.status.success() && q.stdout.iter().all(u8::is_ascii_whitespace) {
            break;
        }
        assert!(
            t1.elapsed() < Duration::from_secs(240),
            "jobs still queued after 240 s: {}",
            String::from_utf8_lossy(&q.stdout)
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    let slurm_s = t1.elapsed().as_secs_f64();
    let show = slurm(&cluster, "scontrol")
        .args(["show", "job", merge])
        .output()
        .unwrap();
    let show = String::from_utf8_lossy(&show.stdout).to_string();
    let exit = show
        .split_whitespace()
        .find_map(|w| w.strip_prefix("ExitCode="))
        .and_then(|c| c.split(':').next())
        .and_then(|c| c.parse::<i32>().ok())
        .unwrap_or_else(|| panic!("no exit code for the merge job: {show}"));
    let log =
        std::fs::read_to_string(farm.join(format!("logs/merge-{merge}.out"))).unwrap_or_default();
    assert_eq!(
        exit, code,
        "merge job's exit status vs the unsharded run's: {log}"
    );

    let merged = farm.join("merged");
    let farm_json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(merged.join("farm.json")).unwrap()).unwrap();
    let shards = farm_json["shards"].as_array().unwrap();
    assert_eq!(shards.len(), 4, "{farm_json}");
    for s in shards {
        assert!(s["shard"].as_str().unwrap().ends_with("/4"));
    }
    crate::farm::assert_same_non_timing_results(&unsharded, &merged);
    eprintln!(
        "Slurm test: unsharded validate {unsharded_s:.1} s; 4-task array + merge (submit to merged) {slurm_s:.1} s"
    );
}
