//! The release gate: re-evaluate a stored, sealed run. Order matters: the manifest is
//! checked first (nothing in a tampered bundle is worth reading), then the engines and
//! adapters the run used are re-hashed against their recorded hashes, then the
//! requirements are evaluated from the stored `evidence.json`.

use super::requirements::Requirements;
use super::verdict::{evaluate_waived, Evaluation};
use super::waivers::{today_utc, Waivers};
use super::SafetyError;
use crate::evidence::{
    self, EvidenceSet, IntegrityArtefact, IntegrityCheck, IntegrityStatus, RunHeader, VerifyReport,
    EVIDENCE_FILE,
};
use adasval_core::exit::Status;
use adasval_record::record::RecordError;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Name of the requirements copy a run stores; preferred over the project's current file.
pub const RUN_REQUIREMENTS_FILE: &str = "requirements.yaml";
/// The project's requirements file, relative to the project root.
pub const PROJECT_REQUIREMENTS_FILE: &str = "safety-case/requirements.yaml";
/// Name of the waivers copy a run stores; preferred over the project's current file.
pub const RUN_WAIVERS_FILE: &str = "waivers.yaml";
/// The project's waivers file, relative to the project root; optional.
pub const PROJECT_WAIVERS_FILE: &str = "safety-case/waivers.yaml";

pub struct GateRequest<'a> {
    pub run_dir: &'a Path,
    /// Explicit requirements file; default: the run's own copy, else the project's.
    pub requirements: Option<&'a Path>,
    /// Explicit waivers file; default (only with the default requirements): the run's own
    /// copy when the requirements are the run's own, else the project's, else none.
    pub waivers: Option<&'a Path>,
    /// Directory engine and adapter paths in run.json are relative to.
    pub project_root: &'a Path,
    /// The keys a signature must verify with, and whether one is required.
    pub trust: &'a evidence::keys::Trust,
}

#[derive(Debug, Clone, Serialize)]
pub struct GateOutcome {
    pub run_dir: PathBuf,
    pub run_id: Option<String>,
    pub requirements_file: PathBuf,
    /// The requirements as evaluated (not serialised: the verdicts carry id and text).
    #[serde(skip)]
    pub requirements: Requirements,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waivers_file: Option<PathBuf>,
    pub manifest: VerifyReport,
    /// Fresh re-hash of every engine and adapter the run used.
    pub lock_checks: Vec<IntegrityCheck>,
    pub evaluation: Evaluation,
}

impl GateOutcome {
    pub fn engines_match(&self) -> bool {
        self.lock_checks.iter().all(IntegrityCheck::ok)
    }

    /// 3 when an engine or adapter changed, 1 when a requirement failed or the run is
    /// incomplete, 0 otherwise.
    pub fn status(&self) -> Status {
        if !self.engines_match() {
            Status::Integrity
        } else if !self.evaluation.passed() {
            Status::GateFailed
        } else {
            Status::Pass
        }
    }
}

/// Run the gate. A tampered bundle is an error ([`SafetyError::Tampered`], exit 3) and no
/// verdicts are produced from it.
pub fn gate(req: &GateRequest<'_>) -> Result<GateOutcome, SafetyError> {
    let manifest = evidence::verify_with(req.run_dir, req.trust)?;
    if !manifest.is_intact() {
        return Err(SafetyError::Tampered {
            dir: req.run_dir.to_path_buf(),
            problems: manifest.problems(),
        });
    }
    let run = adasval_record::record::read_run_header(req.run_dir)?;
    let mut set = EvidenceSet::load(&req.run_dir.join(EVIDENCE_FILE))?;
    let lock_checks = recheck_engines(&run, req.run_dir, req.project_root)?;
    // The integrity requirement is judged on today's files, not on what validate saw.
    set.integrity = IntegrityStatus::from_checks(lock_checks.clone());
    // run.json is the authority on completeness; either record saying incomplete counts.
    set.run.complete = set.run.complete && run.is_complete();

    let own_requirements = req.run_dir.join(RUN_REQUIREMENTS_FILE);
    let requirements_file = match req.requirements {
        Some(p) => p.to_path_buf(),
        None if own_requirements.exists() => own_requirements.clone(),
        None => adasval_core::paths::resolve_inside(
            req.project_root,
            req.project_root,
            PROJECT_REQUIREMENTS_FILE,
        )
        .map_err(SafetyError::Path)?,
    };
    let requirements = Requirements::load(&requirements_file)?;
    // Waivers name the ids of the requirements they came with, so they follow the
    // requirements' source: the run's copies go together (a run judged without waivers
    // has none), and another requirements file takes waivers only when they are named.
    let own_waivers = req.run_dir.join(RUN_WAIVERS_FILE);
    let waivers_file = match req.waivers {
        Some(p) => Some(p.to_path_buf()),
        None if req.requirements.is_some() => None,
        None if requirements_file == own_requirements => {
            own_waivers.exists().then_some(own_waivers)
        }
        None if req.project_root.join(PROJECT_WAIVERS_FILE).exists() => Some(
            adasval_core::paths::resolve_inside(
                req.project_root,
                req.project_root,
                PROJECT_WAIVERS_FILE,
            )
            .map_err(SafetyError::Path)?,
        ),
        None => None,
    };
    let waivers = match &waivers_file {
        Some(p) => Waivers::load(p, &requirements)?.waivers,
        None => Vec::new(),
    };
    let evaluation = evaluate_waived(&requirements.requirements, &set, &waivers, &today_utc());
    Ok(GateOutcome {
        run_dir: req.run_dir.to_path_buf(),
        run_id: run.run_id.clone().or(set.run_id.clone()),
        requirements_file,
        requirements,
        waivers_file,
        manifest,
        lock_checks,
        evaluation,
    })
}

/// Re-hash each engine and adapter listed in `run_dir`'s run.json (paths relative to
/// `root`). An engine without a recorded path cannot be re-hashed: bad input, named.
pub fn recheck_engines(
    run: &RunHeader,
    run_dir: &Path,
    root: &Path,
) -> Result<Vec<IntegrityCheck>, RecordError> {
    let mut out = Vec::new();
    for e in &run.engines {
        let path = e.path.as_deref().ok_or_else(|| RecordError::Inconsistent {
            dir: run_dir.display().to_string(),
            message: format!("run.json: engine `{}` has no `path`", e.name),
        })?;
        out.push(check(
            &e.name,
            IntegrityArtefact::Engine,
            path,
            &e.sha256,
            root,
        ));
        if let (Some(p), Some(h)) = (&e.adapter_path, &e.adapter_sha256) {
            out.push(check(&e.name, IntegrityArtefact::Adapter, p, h, root));
        }
    }
    Ok(out)
}

fn check(
    engine: &str,
    artefact: IntegrityArtefact,
    path: &str,
    sha: &str,
    root: &Path,
) -> IntegrityCheck {
    IntegrityCheck {
        engine: engine.to_string(),
        artefact,
        path: path.to_string(),
        expected_sha256: sha.to_ascii_lowercase(),
        actual_sha256: adasval_core::hash::sha256_file(&root.join(path)).ok(),
    }
}
