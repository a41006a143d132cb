//! `adasval selftest`: adasval checks itself on the machine it runs on, with no Python and
//! no network. Each reference case (`qualification/cases/*.json`, compiled in, verified
//! against `qualification/MANIFEST.sha256` first) holds inputs, the values an independent
//! reference computed from them (scipy, statsmodels, lmoments3, pycocotools, hashlib,
//! RFC 8032) and a tolerance per value; adasval computes the same values through its
//! estimator table ([`Estimators`]) and each value passes or fails. The results name the
//! binary that produced them and are written as a sealed bundle (`selftest.json`, the
//! Markdown and HTML report, the case files used), which `validate --selftest` puts inside
//! the run and `gate --require-selftest` looks for.
//!
//! `qualification/generate.py` regenerates the cases; a CI test checks that its output is
//! the committed files (tests/reference/qualification_cases.rs).

pub mod behaviour;
pub mod cases;
pub mod decoders;
pub mod detection;
pub mod estimators;
pub mod plan;
pub mod tolerance;

pub use cases::CaseSet;
pub use estimators::{Context, Estimator, Estimators, Obtained};
pub use tolerance::Tolerance;

use adasval_core::exit::{Classify, Status};
use adasval_record::tool::ToolIdentity;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The results file inside a self-test bundle.
pub const RESULTS_FILE: &str = "selftest.json";
/// Where `validate --selftest` puts the bundle inside a run directory.
pub const RUN_SUBDIR: &str = "selftest";
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum SelftestError {
    #[error("reference cases {file}: {reason}")]
    Manifest { file: String, reason: String },
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{file}: {reason}")]
    Parse { file: String, reason: String },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} already exists and is not empty: choose another --out")]
    OutExists { path: PathBuf },
    #[error(transparent)]
    Evidence(#[from] crate::evidence::EvidenceError),
}

impl Classify for SelftestError {
    fn status(&self) -> Status {
        match self {
            SelftestError::Manifest { .. } => Status::Integrity,
            SelftestError::Evidence(e) => e.status(),
            _ => Status::BadInput,
        }
    }
}

/// One value of one case.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Check {
    pub quantity: String,
    pub expected: Value,
    /// `None` when the estimator failed or did not produce this value.
    pub obtained: Option<Value>,
    pub tolerance: Option<Tolerance>,
    pub pass: bool,
}

/// One case's outcome.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CaseResult {
    pub name: String,
    pub family: String,
    pub kind: String,
    pub reference: String,
    pub pass: bool,
    /// Why the estimator produced nothing (an error, a panic, no estimator for the kind).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Why the case could not run on this machine (a GPU case without a GPU): neither
    /// passed nor failed, and said so in every rendering.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_run: Option<String>,
    pub checks: Vec<Check>,
}

/// `selftest.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SelftestRecord {
    pub schema_version: u32,
    /// The binary that ran the self-test.
    pub tool: ToolIdentity,
    pub started_at: String,
    pub finished_at: String,
    /// `embedded` (compiled in) or the case directory read.
    pub cases_source: String,
    /// SHA-256 of the case manifest (which holds every case file's SHA-256).
    pub cases_manifest_sha256: String,
    /// Versions of the reference packages that computed the expected values.
    pub references: BTreeMap<String, String>,
    pub passed: usize,
    pub failed: usize,
    /// Cases that need what this machine lacks (a GPU); not counted as passed.
    #[serde(default)]
    pub not_run: usize,
    /// Every case that could run here passed (and there was at least one).
    pub pass: bool,
    pub cases: Vec<CaseResult>,
}

impl SelftestRecord {
    /// "PASS: 41 of 41 cases passed", the line every rendering of the result leads with,
    /// naming the cases that could not run here and why.
    pub fn headline(&self) -> String {
        let mut line = format!(
            "{}: {} of {} cases passed",
            if self.pass { "PASS" } else { "FAIL" },
            self.passed,
            self.passed + self.failed
        );
        if self.not_run > 0 {
            let mut why: Vec<&str> = self
                .cases
                .iter()
                .filter_map(|c| c.not_run.as_deref())
                .collect();
            why.dedup();
            line.push_str(&format!(
                "; {} not run on this machine ({}: {})",
                self.not_run,
                self.not_run_cases().join(", "),
                why.join("; ")
            ));
        }
        line
    }

    pub fn not_run_cases(&self) -> Vec<&str> {
        self.cases
            .iter()
            .filter(|c| c.not_run.is_some())
            .map(|c| c.name.as_str())
            .collect()
    }

    /// Read `selftest.json` of a bundle.
    pub fn load(dir: &Path) -> Result<Self, SelftestError> {
        let path = dir.join(RESULTS_FILE);
        let text = std::fs::read_to_string(&path).map_err(|source| SelftestError::Read {
            path: path.clone(),
            source,
        })?;
        serde_json::from_str(&text).map_err(|e| SelftestError::Parse {
            file: format!("{}:{}", path.display(), e.line()),
            reason: e.to_string(),
        })
    }

    pub fn failed_cases(&self) -> Vec<&str> {
        self.cases
            .iter()
            .filter(|c| !c.pass && c.not_run.is_none())
            .map(|c| c.name.as_str())
            .collect()
    }
}

fn now() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

fn panic_text(p: Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into())
}

/// Run every case of `set` through `estimators`. `exe` is the adasval executable for the
/// cases that run it (the replay); without it they fail, saying so.
pub fn run(set: &CaseSet, estimators: &Estimators, exe: Option<&Path>) -> SelftestRecord {
    let started_at = now();
    // Unique per call: two self-tests of one process (tests run them side by side) must
    // not share, and so delete, each other's scratch files.
    static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let scratch_root = std::env::temp_dir().join(format!(
        "adasval-selftest-{}-{}-{}",
        std::process::id(),
        CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        adasval_core::hash::sha256_hex(started_at.as_bytes())
            .get(..8)
            .unwrap_or("")
    ));
    let mut results = Vec::new();
    for (i, (family, case)) in set.cases.iter().enumerate() {
        let scratch = scratch_root.join(format!("{i:03}"));
        if let Some(why) = estimators.unmet_need(&case.kind) {
            results.push(CaseResult {
                name: case.name.clone(),
                family: family.clone(),
                kind: case.kind.clone(),
                reference: case.reference.clone(),
                pass: false,
                error: None,
                not_run: Some(why),
                checks: Vec::new(),
            });
            continue;
        }
        let obtained = match (
            estimators.get(&case.kind),
            std::fs::create_dir_all(&scratch),
        ) {
            (None, _) => Err(format!("no estimator for kind `{}`", case.kind)),
            (_, Err(e)) => Err(format!("cannot create {}: {e}", scratch.display())),
            (Some(f), Ok(())) => {
                let ctx = Context {
                    scratch: scratch.clone(),
                    exe: exe.map(Path::to_path_buf),
                };
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&case.input, &ctx)))
                    .unwrap_or_else(|p| Err(format!("panicked: {}", panic_text(p))))
            }
        };
        let checks: Vec<Check> = case
            .expected
            .iter()
            .map(|(q, expected)| {
                let got = obtained.as_ref().ok().and_then(|o| o.get(q)).cloned();
                let tolerance = case.tolerance.get(q).cloned();
                let pass = match (&got, &tolerance) {
                    (Some(g), Some(t)) => t.accepts(expected, g),
                    _ => false,
                };
                Check {
                    quantity: q.clone(),
                    expected: expected.clone(),
                    obtained: got,
                    tolerance,
                    pass,
                }
            })
            .collect();
        let error = obtained.err();
        results.push(CaseResult {
            name: case.name.clone(),
            family: family.clone(),
            kind: case.kind.clone(),
            reference: case.reference.clone(),
            pass: error.is_none() && !checks.is_empty() && checks.iter().all(|c| c.pass),
            error,
            not_run: None,
            checks,
        });
    }
    // Scratch files are the cases' own; nothing of them is evidence.
    let _ = std::fs::remove_dir_all(&scratch_root);
    let passed = results.iter().filter(|c| c.pass).count();
    let not_run = results.iter().filter(|c| c.not_run.is_some()).count();
    SelftestRecord {
        schema_version: SCHEMA_VERSION,
        tool: crate::tool::identity(),
        started_at,
        finished_at: now(),
        cases_source: set.source.clone(),
        cases_manifest_sha256: set.manifest_sha256.clone(),
        references: set.references.clone(),
        passed,
        failed: results.len() - passed - not_run,
        not_run,
        pass: passed + not_run == results.len() && passed > 0,
        cases: results,
    }
}

fn show(v: &Value) -> String {
    match v {
        Value::String(s) if s.len() > 24 => format!("{}…", &s[..20]),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The self-test as a report document (rendered by the report crate's sinks).
pub fn document(rec: &SelftestRecord) -> crate::report::doc::Document {
    use crate::report::doc::{Block, Document, Section, Table, Tone};
    let mut summary = Section::new("summary", "Summary");
    summary.push(Block::Banner(Tone::of(rec.pass), rec.headline()));
    summary.push(Block::list([
        format!("Tool: {}", rec.tool.describe()),
        format!("Started {}, finished {}", rec.started_at, rec.finished_at),
        format!(
            "Cases: {} (manifest SHA-256 `{}`)",
            rec.cases_source, rec.cases_manifest_sha256
        ),
        format!(
            "References: {}",
            rec.references
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    ]));
    let mut table = Table::new(&[
        "case",
        "reference",
        "quantity",
        "expected",
        "obtained",
        "tolerance",
        "result",
    ]);
    table.id = Some("selftest-cases".into());
    for c in &rec.cases {
        if let Some(why) = &c.not_run {
            table.row([
                c.name.clone(),
                c.reference.clone(),
                "—".into(),
                "—".into(),
                format!("not run on this machine: {why}"),
                "—".into(),
                "NOT RUN".into(),
            ]);
        }
        if let Some(e) = &c.error {
            table.row([
                c.name.clone(),
                c.reference.clone(),
                "—".into(),
                "—".into(),
                format!("error: {e}"),
                "—".into(),
                "FAIL".into(),
            ]);
        }
        for k in &c.checks {
            table.row([
                c.name.clone(),
                c.reference.clone(),
                k.quantity.clone(),
                show(&k.expected),
                k.obtained
                    .as_ref()
                    .map(show)
                    .unwrap_or_else(|| "not obtained".into()),
                k.tolerance
                    .as_ref()
                    .map(Tolerance::describe)
                    .unwrap_or_else(|| "none given".into()),
                if k.pass { "pass" } else { "FAIL" }.into(),
            ]);
        }
    }
    let cases = Section::new("cases", "Cases").with(table);
    Document {
        title: "adasval self-test".into(),
        sections: vec![summary, cases],
    }
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), SelftestError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|source| SelftestError::Write {
            path: parent.to_path_buf(),
            source,
        })?;
    }
    crate::atomic::write_atomic(path, bytes).map_err(|source| SelftestError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// Write the sealed bundle into `dir` (created; refused when it exists and is not empty):
/// `selftest.json`, `selftest.md`, `selftest.html`, and the case files used
/// (`reference/`, their manifest as `reference/cases.sha256`).
pub fn write_bundle(dir: &Path, rec: &SelftestRecord, set: &CaseSet) -> Result<(), SelftestError> {
    if std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_some()) {
        return Err(SelftestError::OutExists {
            path: dir.to_path_buf(),
        });
    }
    let json = serde_json::to_string_pretty(rec).unwrap_or_default() + "\n";
    write(&dir.join(RESULTS_FILE), json.as_bytes())?;
    let doc = document(rec);
    write(
        &dir.join("selftest.md"),
        crate::report::markdown::document(&doc).as_bytes(),
    )?;
    write(
        &dir.join("selftest.html"),
        crate::report::html::page(&doc).as_bytes(),
    )?;
    for (rel, text) in &set.files {
        let name = if rel == cases::MANIFEST {
            "cases.sha256"
        } else {
            rel.as_str()
        };
        write(&dir.join("reference").join(name), text.as_bytes())?;
    }
    crate::evidence::seal(dir, None)?;
    Ok(())
}

/// What `gate --require-selftest` found in a run directory.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum RunSelftest {
    /// A passing self-test by the binary that wrote the evidence.
    Passed { binary_sha256: String, cases: usize },
    /// No passing self-test by that binary, and why (gate exit 1).
    Refused { reason: String },
    /// The self-test bundle does not match its own manifest (gate exit 3).
    Tampered { problems: Vec<String> },
}

/// The case kinds that check the CUDA backend: a run replayed on it needs them passed.
pub const GPU_KINDS: &[&str] = &["plan_cuda"];

/// Whether `run_dir` holds (in `selftest/`) a passing self-test by the binary that wrote
/// its evidence (`evidence_tool`, from `evidence.json`): same SHA-256. For a run replayed on
/// the CUDA backend (`gpu_backend`), the self-test's GPU cases must have run and passed.
pub fn check_run(
    run_dir: &Path,
    evidence_tool: Option<&ToolIdentity>,
    gpu_backend: bool,
) -> RunSelftest {
    let refused = |reason: String| RunSelftest::Refused { reason };
    let dir = run_dir.join(RUN_SUBDIR);
    if !dir.join(RESULTS_FILE).is_file() {
        return refused(format!(
            "the bundle holds no self-test ({}/{RESULTS_FILE} is missing: run `adasval validate --selftest`)",
            RUN_SUBDIR
        ));
    }
    match crate::evidence::verify(&dir, None) {
        Ok(v) if v.is_intact() => {}
        Ok(v) => {
            return RunSelftest::Tampered {
                problems: v
                    .problems()
                    .into_iter()
                    .map(|p| format!("{RUN_SUBDIR}/: {p}"))
                    .collect(),
            }
        }
        Err(e) => {
            return RunSelftest::Tampered {
                problems: vec![e.to_string()],
            }
        }
    }
    let rec = match SelftestRecord::load(&dir) {
        Ok(r) => r,
        Err(e) => return refused(e.to_string()),
    };
    if !rec.pass {
        return refused(format!(
            "the self-test failed: {}",
            rec.failed_cases().join(", ")
        ));
    }
    if gpu_backend {
        let unchecked: Vec<String> = rec
            .cases
            .iter()
            .filter(|c| GPU_KINDS.contains(&c.kind.as_str()) && !c.pass)
            .map(|c| match &c.not_run {
                Some(why) => format!("{} (not run: {why})", c.name),
                None => c.name.clone(),
            })
            .collect();
        let ran = rec
            .cases
            .iter()
            .any(|c| GPU_KINDS.contains(&c.kind.as_str()));
        if !unchecked.is_empty() || !ran {
            return refused(format!(
                "the run was replayed on the CUDA backend, but the self-test did not check it                  on this GPU: {}; run `adasval validate --selftest` on the GPU machine",
                if ran {
                    unchecked.join(", ")
                } else {
                    "it has no GPU cases".into()
                }
            ));
        }
    }
    let Some(evidence_binary) = evidence_tool.and_then(|t| t.binary_sha256.as_deref()) else {
        return refused(
            "evidence.json does not say which binary wrote it (no tool.binary_sha256), so the \
             self-test cannot be matched to it"
                .into(),
        );
    };
    match rec.tool.binary_sha256.as_deref() {
        Some(h) if h == evidence_binary => RunSelftest::Passed {
            binary_sha256: h.to_string(),
            cases: rec.passed,
        },
        Some(h) => refused(format!(
            "the self-test was run by binary {h}, the evidence written by {evidence_binary}"
        )),
        None => refused("the self-test does not say which binary ran it".into()),
    }
}
