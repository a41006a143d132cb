//! `adasval judge`: the same judgement as after a replay, on a stored run's raw records.

use super::*;
/// What `judge` needs besides the run directory.
pub struct JudgeRequest {
    /// The directory holding the raw records; the judged files are written into it.
    pub run_dir: PathBuf,
    /// Where the lock, the engines, `scenarios/` and `safety-case/` are.
    pub root: PathBuf,
    pub data_root: Option<PathBuf>,
    pub requirements: Option<PathBuf>,
    pub waivers: Option<PathBuf>,
    pub gsn: Option<PathBuf>,
    pub sign_key: Option<PathBuf>,
}

/// Judge a stored run from its raw records alone (`run.json`, `latencies.csv`,
/// `detections.jsonl`, `golden.jsonl`), with the same function `validate` judges a fresh
/// replay with. The safety view is the one the run was made with (`run.json`'s requested
/// settings). A sealed directory is refused before anything is written.
pub fn judge(req: &JudgeRequest) -> Result<ValidateOutcome, ValidateError> {
    let manifest = req.run_dir.join(crate::evidence::MANIFEST_NAME);
    if manifest.exists() {
        return Err(crate::evidence::EvidenceError::Sealed {
            dir: req.run_dir.clone(),
        }
        .into());
    }
    let stored = StoredRun::load(&req.run_dir)?;
    let requested = &stored.record.settings.requested;
    let safety_view = match requested.get("safety_view") {
        Some(v) => serde_json::from_value(v.clone()).map_err(|e| RecordError::Inconsistent {
            dir: req.run_dir.display().to_string(),
            message: format!("run.json: settings.requested.safety_view: {e}"),
        })?,
        None => Default::default(),
    };
    // The data root as the run recorded it, relative to the project root.
    let recorded_data_root = stored
        .record
        .settings
        .effective
        .get("data_root")
        .and_then(|v| v.as_str())
        .map(|p| req.root.join(p));
    let data_root = req
        .data_root
        .clone()
        .or(recorded_data_root)
        .unwrap_or_else(|| req.root.clone());
    // Scenario definitions only add frame figures to the report; without them the
    // verdicts are the same, so a missing or changed scenarios/ folder is not an error.
    let unlimited = scenario::sweep::ExpandLimits {
        max_instances: usize::MAX,
        allow_large: true,
    };
    let scenarios: Vec<LoadedScenario> = scenario::load_all_with(
        &req.root,
        &scenario::Profile::Full.dirs(&req.root),
        unlimited,
    )
    .map(|all| {
        all.into_iter()
            .filter(|s| {
                stored
                    .record
                    .scenarios
                    .iter()
                    .any(|r| r.id == s.scenario.id && r.sha256 == s.sha256)
            })
            .collect()
    })
    .unwrap_or_default();
    let analysed = crate::analysis::run(
        &stored,
        &scenarios,
        &crate::analysis::AnalysisOptions {
            root: &req.root,
            requirements: req.requirements.as_deref(),
            waivers: req.waivers.as_deref(),
            gsn: req.gsn.as_deref(),
            sign_key: req.sign_key.as_deref(),
            data_root: &data_root,
            safety_view,
        },
    )?;
    Ok(finish(req.run_dir.clone(), &stored.record, analysed))
}
