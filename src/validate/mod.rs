//! `validate`: the whole pipeline for one run. Verify the frozen engines, load scenarios,
//! replay every (engine, scenario) trace on one backend, then write the run record and
//! hand it to the analysis stages and report sinks.

use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use crate::backend::{self, BackendError};
use crate::exit::{Classify, Status};
use crate::lock::{self, LockError, LockFile, VerifiedEngine};
use crate::platform::{self, PlatformError};
use crate::record::*;
use crate::replay::{self, Order, Progress, TraceSettings};
use crate::scenario::{self, DataRoot, LoadedScenario, ScenarioError};
use crate::stored::StoredRun;

mod records;
mod rejudge;
pub use records::write_run_json;
use records::{golden_lines, write_replay_files};
pub use rejudge::{judge, JudgeRequest};

#[derive(Debug, Clone, Serialize, Default)]
pub struct ValidateRequest {
    #[serde(skip)]
    pub root: PathBuf,
    pub data_root: Option<PathBuf>,
    pub out: Option<PathBuf>,
    pub scenarios: Vec<String>,
    pub tags: Vec<String>,
    /// Which scenario files: the project's (`default`) or also the catalogue (`full`).
    pub profile: scenario::Profile,
    /// Most instances one swept scenario file may expand to (`--max-instances`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_instances: Option<usize>,
    /// `--allow-large`: expand sweeps beyond `max_instances`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub allow_large: bool,
    pub engines: Vec<String>,
    pub backend: String,
    /// Command line of the external runner (`--backend runner`).
    pub runner: Option<String>,
    /// trtexec command line (`--backend trtexec`; default `trtexec`).
    pub trtexec: Option<String>,
    /// `--backend cuda`: run plans built for another compute capability.
    pub cuda_force: bool,
    /// `--backend cuda`: per-layer event timing, written to layers.json.
    pub cuda_profile: bool,
    /// `--threads`: intra-op threads of the CPU backend (`None`: see [`cpu_threads`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_threads: Option<u32>,
    pub platform: Option<String>,
    pub max_frames: Option<usize>,
    pub repetitions: Option<u32>,
    pub warmup: Option<u32>,
    /// Time- and count-bounds of every trace (`--duration`, `--min-inferences`,
    /// `--p99-ci-width`).
    #[serde(skip_serializing_if = "crate::replay::RunBounds::is_unbounded")]
    pub bounds: crate::replay::RunBounds,
    pub order: Order,
    pub seed: u64,
    pub pace: bool,
    /// Concurrent camera streams per trace, each on its own thread and session of one
    /// shared prepared engine (`None`: the classic single-stream replay).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub streams: Option<u32>,
    /// `--interleave`: the two selected engines (baseline first) alternate in blocks.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub interleave: bool,
    /// `--interleave`: repetitions per block (0 is taken as 1).
    #[serde(skip_serializing_if = "is_zero")]
    pub block_repetitions: u32,
    pub keep_raw_outputs: bool,
    /// Requirements file (default safety-case/requirements.yaml).
    pub requirements: Option<PathBuf>,
    /// Waivers of known failures (default safety-case/waivers.yaml when present).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waivers: Option<PathBuf>,
    /// GSN safety case (default safety-case/gsn.yaml when present).
    pub gsn: Option<PathBuf>,
    /// Ed25519 secret key file to sign the manifest with.
    pub sign_key: Option<PathBuf>,
    /// Critical-miss rule of the safety view.
    pub safety_view: crate::analysis::detection_stage::SafetyViewSettings,
    /// `--shard K/N`: run only this shard's items of the work list, then seal the raw
    /// records with `shard.json` for `adasval merge` (no verdicts: they belong to the merge).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shard: Option<crate::farm::shard::ShardSelection>,
    /// `--selftest`: the self-test run before the replay (it passed), sealed into the run
    /// directory's `selftest/` before the run is judged and sealed.
    #[serde(skip)]
    pub selftest: Option<Box<(crate::selftest::SelftestRecord, crate::selftest::CaseSet)>>,
}

/// Threads of one CPU inference: as asked (`--threads`), else 1. One is the default because
/// more did not pay on small hosts: the demo detector's timing loop on two dedicated Xeon
/// cores took 9.7 ms (p50) on one thread, 10.9–11.1 ms on two and 6.1–6.5 ms on four
/// (docs/BENCH.md, "CPU inference threads"), and every extra thread is one more source of
/// run-to-run variation in the latencies a gate compares.
pub fn cpu_threads(req: &ValidateRequest) -> usize {
    req.cpu_threads.map_or(1, |t| t.max(1) as usize)
}

#[derive(Debug, thiserror::Error)]
pub enum ValidateError {
    #[error(transparent)]
    Lock(#[from] LockError),
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    #[error(transparent)]
    Backend(#[from] BackendError),
    #[error(transparent)]
    Platform(#[from] PlatformError),
    /// The run's own records could not be read back.
    #[error(transparent)]
    Record(#[from] RecordError),
    #[error("{0}")]
    Selection(String),
    /// Requirements, safety case or sealing: the judge's own error, with its exit class.
    #[error("analysis: {0}")]
    Safety(#[from] crate::safety::SafetyError),
    #[error("analysis: {0}")]
    Evidence(#[from] crate::evidence::EvidenceError),
    #[error("report: {0}")]
    Report(#[from] crate::report::ReportError),
    #[error(transparent)]
    Path(crate::paths::PathEscape),
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    RunDir(#[from] crate::rundir::RunDirError),
    /// The untimed inference before timing failed: the engine, its adapter and the
    /// backend do not work together (or the backend's environment is missing).
    #[error("engine `{engine}` failed its first, untimed inference before any timing: {source}")]
    Preflight {
        engine: String,
        source: BackendError,
    },
    #[error("engine `{engine}`: its adapter does not fit the model's outputs: {message}")]
    AdapterMismatch { engine: String, message: String },
    #[error(transparent)]
    Name(#[from] crate::names::NameError),
    #[error(transparent)]
    Farm(#[from] crate::farm::FarmError),
    #[error("self-test: {0}")]
    Selftest(#[from] crate::selftest::SelftestError),
}

impl Classify for ValidateError {
    fn status(&self) -> Status {
        match self {
            ValidateError::Lock(e) => e.status(),
            ValidateError::Scenario(e) => e.status(),
            ValidateError::Backend(e) => e.status(),
            ValidateError::Platform(e) => e.status(),
            ValidateError::Record(e) => e.status(),
            ValidateError::Safety(e) => e.status(),
            ValidateError::Evidence(e) => e.status(),
            ValidateError::Report(e) => e.status(),
            ValidateError::Path(e) => e.status(),
            ValidateError::Selection(_) => Status::BadInput,
            ValidateError::Write { .. } => Status::Unavailable,
            ValidateError::RunDir(e) => e.status(),
            ValidateError::Preflight { source, .. } => source.status(),
            ValidateError::AdapterMismatch { .. } => Status::BadInput,
            ValidateError::Name(e) => e.status(),
            ValidateError::Farm(e) => e.status(),
            ValidateError::Selftest(e) => e.status(),
        }
    }
}

/// What the replay produced, in memory, for the analysis stages.
pub struct TraceData {
    pub scenario: String,
    pub engine: String,
    pub result: replay::TraceResult,
}

pub struct ReplayOutcome {
    pub run_dir: PathBuf,
    /// This process's hold on `run_dir`, kept until the run is sealed.
    pub claim: crate::rundir::RunDir,
    pub record: RunRecord,
    pub engines: Vec<VerifiedEngine>,
    pub scenarios: Vec<LoadedScenario>,
    pub golden: Vec<GoldenLine>,
    pub traces: Vec<TraceData>,
    /// `--shard`: the full work list and the ids of the items this shard ran.
    pub shard: Option<(crate::farm::shard::WorkList, Vec<String>)>,
}

/// What a request selects from the project: the lock, its selected entries and the
/// chosen scenarios, before anything is verified or run.
pub struct Selection {
    pub lock: LockFile,
    pub entries: Vec<lock::LockEntry>,
    pub chosen: Vec<LoadedScenario>,
}

impl Selection {
    /// The (engine × scenario) work list, scenario by scenario as the replay runs it.
    pub fn work_list(&self) -> crate::farm::shard::WorkList {
        crate::farm::shard::WorkList::new(
            self.entries
                .iter()
                .map(|e| (e.name.clone(), e.sha256.clone()))
                .collect(),
            self.chosen
                .iter()
                .map(|s| (s.scenario.id.clone(), s.sha256.clone()))
                .collect(),
        )
    }
}

/// Load the lock and the scenarios and apply the request's engine, scenario and tag
/// selection (names checked, nothing hashed or run).
pub fn select(req: &ValidateRequest) -> Result<Selection, ValidateError> {
    let root = &req.root;
    let lock = LockFile::load(root)?;
    let entries: Vec<lock::LockEntry> = if req.engines.is_empty() {
        lock.engines.to_vec()
    } else {
        req.engines
            .iter()
            .map(|n| lock.get(n).cloned())
            .collect::<Result<_, _>>()?
    };
    if entries.is_empty() {
        let lock_path = LockFile::path(root);
        return Err(ValidateError::Selection(if lock_path.exists() {
            format!(
                "no engines in {} (freeze one with `adasval engine freeze`)",
                lock_path.display()
            )
        } else {
            format!(
                "{} is not an adasval project: it has no {}. Run from the project's directory or pass `--root DIR`; to start a project, freeze an engine with `adasval engine freeze`",
                root.display(),
                lock_path.strip_prefix(root).unwrap_or(&lock_path).display()
            )
        }));
    }
    let all = scenario::load_all_with(
        root,
        &req.profile.dirs(root),
        scenario::sweep::ExpandLimits {
            max_instances: req
                .max_instances
                .unwrap_or(scenario::sweep::DEFAULT_MAX_INSTANCES),
            allow_large: req.allow_large,
        },
    )?;
    let chosen: Vec<LoadedScenario> = all
        .iter()
        .filter(|s| {
            // Naming a scenario selects its corruption ladder too; naming a swept file's
            // id (its family) selects all its instances.
            req.scenarios.is_empty()
                || req.scenarios.contains(&s.scenario.id)
                || s.scenario
                    .family
                    .as_ref()
                    .is_some_and(|f| req.scenarios.contains(f))
                || s.scenario
                    .applied
                    .as_ref()
                    .is_some_and(|a| req.scenarios.contains(&a.base))
        })
        .filter(|s| req.tags.is_empty() || s.scenario.has_any_tag(&req.tags))
        .cloned()
        .collect();
    for id in &req.scenarios {
        if !chosen
            .iter()
            .any(|s| &s.scenario.id == id || s.scenario.family.as_ref() == Some(id))
        {
            let known: Vec<String> = all.iter().map(|s| s.scenario.id.clone()).collect();
            return Err(ValidateError::Selection(format!(
                "no scenario `{id}` (or it does not carry the requested tags).{}",
                crate::suggest::hint(id, &known)
            )));
        }
    }
    if chosen.is_empty() {
        return Err(ValidateError::Selection(
            "no scenario matches the selection".into(),
        ));
    }
    Ok(Selection {
        lock,
        entries,
        chosen,
    })
}

/// What one engine's trace of a scenario replays: the scenario's timing for that engine
/// (`timing.engine_repetitions`, else `repetitions`), overridden by the request. The one
/// place for the per-trace loop, the interleaved session and its check before the run.
pub(crate) fn trace_settings(
    req: &ValidateRequest,
    ls: &LoadedScenario,
    engine: &str,
) -> TraceSettings {
    let timing = ls.scenario.timing.as_ref();
    TraceSettings {
        repetitions: req
            .repetitions
            .or_else(|| timing.and_then(|t| t.repetitions_for(engine)))
            .unwrap_or(1)
            .max(1),
        warmup: req
            .warmup
            .or_else(|| timing.and_then(|t| t.warmup))
            .unwrap_or(5),
        order: req.order,
        seed: req.seed,
        pace_fps: req.pace.then_some(ls.scenario.fps),
        bounds: req.bounds.clone(),
    }
}

/// Factory for a progress observer over `total` inferences with a label.
/// What a progress display expects a trace to run: its planned passes, or the minimum
/// count when that is larger (a duration or precision bound is not known in advance).
fn planned_inferences(frames: usize, s: &TraceSettings) -> u64 {
    let planned = frames as u64 * s.repetitions as u64;
    planned.max(s.bounds.min_inferences.unwrap_or(0))
}

pub trait ProgressFactory {
    fn start(&self, label: &str, total: u64) -> Box<dyn Progress>;
}

pub struct Quiet;
impl ProgressFactory for Quiet {
    fn start(&self, _label: &str, _total: u64) -> Box<dyn Progress> {
        Box::new(replay::NoProgress)
    }
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), ValidateError> {
    crate::atomic::write_atomic(path, bytes).map_err(|source| ValidateError::Write {
        path: path.display().to_string(),
        source,
    })
}

fn now() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

/// Select, verify and replay. Writes run.json, latencies.csv, detections.jsonl,
/// and golden.jsonl into the run directory (the raw records every judge reads).
pub fn replay(
    req: &ValidateRequest,
    command_line: Vec<String>,
    progress: &dyn ProgressFactory,
    stop: &AtomicBool,
) -> Result<ReplayOutcome, ValidateError> {
    let root = &req.root;
    let started_at = now();
    // A named run directory is claimed before anything runs: a sealed, non-empty or busy
    // one is refused with the evidence in it untouched.
    let mut claim = req.out.as_deref().map(crate::rundir::claim).transpose()?;
    // 1. Integrity first: nothing runs that is not in the lock and intact.
    let sel = select(req)?;
    let engines: Vec<VerifiedEngine> = sel
        .entries
        .iter()
        .map(|e| lock::load_verified(root, e))
        .collect::<Result<_, _>>()?;
    if req.interleave {
        crate::interleave::check_request(req, engines.len())?;
    }

    // 2. Scenarios; a shard keeps those with at least one of its items.
    let shard = match &req.shard {
        Some(s) => {
            let list = sel.work_list();
            let ids: Vec<String> = s.select(&list)?.iter().map(|i| i.id()).collect();
            Some((list, ids))
        }
        None => None,
    };
    let runs = |engine: &str, scenario: &str| {
        shard
            .as_ref()
            .is_none_or(|(_, ids)| ids.iter().any(|id| id == &format!("{engine}/{scenario}")))
    };
    let chosen: Vec<LoadedScenario> = sel
        .chosen
        .into_iter()
        .filter(|s| engines.iter().any(|e| runs(&e.entry.name, &s.scenario.id)))
        .collect();
    if req.interleave {
        crate::interleave::check_scenarios(req, &chosen, &engines)?;
    }

    // 3. Platform and backend.
    let mut fp = platform::fingerprint(root);
    if req.backend == "cuda" {
        fp.gpu = Some(backend::cuda::fingerprint::probe());
    }
    let profile = platform::resolve(root, req.platform.as_deref(), &fp)?;
    let be = backend::by_name(
        &req.backend,
        &backend::BackendConfig {
            runner: req.runner.clone(),
            trtexec: req.trtexec.clone(),
            cuda_force: req.cuda_force,
            cuda_profile: req.cuda_profile,
            cpu_threads: cpu_threads(req),
        },
    )?;
    be.info()?;

    let data = DataRoot {
        root: req.data_root.clone().unwrap_or_else(|| root.clone()),
    };
    let run_id = format!(
        "{}-{}-{}",
        started_at.replace([':', '-'], "").trim_end_matches('Z'),
        sanitize(&profile.name),
        &crate::hash::sha256_hex(
            format!("{started_at}{:?}{}", command_line, std::process::id()).as_bytes()
        )[..8]
    );
    let claim = match claim.take() {
        Some(c) => c,
        None => crate::rundir::claim(&root.join("reports").join(&run_id))?,
    };
    let run_dir = claim.path().to_path_buf();

    // 4. Replay, one (engine, scenario) trace at a time. Frames are decoded once per
    //    scenario and labels mapped per engine's class list.
    let mut traces = Vec::new();
    let mut golden = Vec::new();
    let mut scenario_records = Vec::new();
    let mut trace_records = Vec::new();
    let mut reasons = Vec::new();
    let mut engine_records: Vec<EngineRecord> = engines.iter().map(engine_record).collect();
    let mut interleave_blocks = Vec::new();
    let mut prepared_engines = Vec::new();
    for (k, e) in engines.iter().enumerate() {
        let p = be.prepare(e)?;
        engine_records[k].load_ns = p.load_ns();
        prepared_engines.push(p);
    }
    // Everything about the user's input that can be checked before timing starts is
    // checked now, so it fails as bad input with nothing measured rather than as an
    // incomplete run halfway through.
    preflight(&chosen, &engines, &prepared_engines, &data, req.max_frames)?;
    // Asked again after prepare: external backends learn their settings while loading.
    let mut backend_info = be.info()?;
    let tegrastats = crate::jetson::TegrastatsSampler::start_if_available(
        &run_dir.join("tegrastats.jsonl"),
        crate::jetson::DEFAULT_TEGRASTATS_INTERVAL_MS,
    );
    'outer: for ls in &chosen {
        // The previous scenario's frames are freed; give their memory back before the next
        // scenario's are rendered (crates/run/src/heap.rs says why).
        adasval_run::heap::release_free_memory();
        let s = &ls.scenario;
        // Golden labels are mapped to the first engine's classes for the record;
        // each engine re-maps below if its class list differs.
        let judged0 = engines[0].adapter.judged_classes();
        let frames0 = scenario::load_frames(ls, &judged0, &data, req.max_frames)?;
        let (labels_sha256, pixels_sha256, lines) = golden_lines(&s.id, &frames0);
        golden.extend(lines);
        scenario_records.push(ScenarioRecord {
            id: s.id.clone(),
            title: s.title.clone(),
            path: crate::paths::relative_to(root, &ls.path),
            sha256: ls.sha256.clone(),
            category: s.category.clone(),
            tags: s.tags.clone(),
            fps: s.fps,
            deadline_ms: s.deadline_ms,
            requirements: s.requirements.clone(),
            frames: frames0.len(),
            labels_sha256,
            pixels_sha256,
            family: s.family.clone(),
            parameters: s.parameters.clone(),
            corruption: s.applied.as_ref().map(|a| a.record()),
        });
        // `--interleave`: both engines' traces of this scenario come from one session.
        let mut interleaved = if req.interleave {
            let il = crate::interleave::replay_scenario(
                req,
                ls,
                &data,
                &engines,
                &prepared_engines,
                progress,
                stop,
            )?;
            interleave_blocks.extend(il.blocks);
            il.traces
        } else {
            vec![]
        };
        for (k, e) in engines.iter().enumerate() {
            if !runs(&e.entry.name, &s.id) {
                continue;
            }
            let judged = e.adapter.judged_classes();
            let frames = if k == 0 || judged == judged0 {
                None
            } else {
                Some(scenario::load_frames(ls, &judged, &data, req.max_frames)?)
            };
            let frames_ref = frames.as_ref().unwrap_or(&frames0);
            let prepared = replay::prepare_frames(&e.adapter, frames_ref);
            // Before warm-up and timing; the guard lives until this trace is done.
            let (staged, staging_note) = replay::stage(prepared_engines[k].as_ref(), &prepared);
            if let Some(note) = staging_note {
                backend_info
                    .settings
                    .push((format!("input staging {} × {}", e.entry.name, s.id), note));
            }
            let settings = trace_settings(req, ls, &e.entry.name);
            // A failure that can only appear now (the backend or its device failing after
            // the pre-flight inference passed) ends the replay as incomplete, with what was
            // measured kept and the failure's class recorded; it never aborts the run.
            let (result, failure) = if let Some(r) = interleaved.get_mut(k).and_then(Option::take) {
                r
            } else if let Some(n) = req.streams {
                let bar = progress.start(
                    &format!("{} × {} (stream 0 of {n})", e.entry.name, s.id),
                    planned_inferences(prepared.len(), &settings),
                );
                match crate::streams::run_streams(
                    prepared_engines[k].as_ref(),
                    &e.adapter,
                    &prepared,
                    &settings,
                    req.keep_raw_outputs,
                    stop,
                    bar.as_ref(),
                    n,
                ) {
                    Ok(r) => (r, None),
                    Err(err) => (failed_trace(&err), Some(failure_class(&err))),
                }
            } else {
                match prepared_engines[k].session() {
                    Err(err) => (failed_trace(&err), Some(failure_class(&err))),
                    Ok(mut session) => {
                        let bar = progress.start(
                            &format!("{} × {}", e.entry.name, s.id),
                            planned_inferences(prepared.len(), &settings),
                        );
                        let result = replay::run_trace(
                            session.as_mut(),
                            &e.adapter,
                            &prepared,
                            &settings,
                            req.keep_raw_outputs,
                            stop,
                            bar.as_ref(),
                        );
                        drop(bar);
                        (result, None)
                    }
                }
            };
            let failure = failure.or_else(|| {
                if result.interrupted {
                    Some(FailureClass::Interrupted)
                } else {
                    result.error.as_ref().map(|_| FailureClass::Inference)
                }
            });
            drop(staged);
            let deadline_ns = (s.deadline_ms * 1e6) as u64;
            let stage = |f: fn(&replay::Sample) -> u64| {
                crate::timing::summarize(&result.samples.iter().map(f).collect::<Vec<_>>())
            };
            trace_records.push(TraceRecord {
                scenario: s.id.clone(),
                engine: e.entry.name.clone(),
                settings,
                samples: result.samples.len(),
                complete: result.complete(),
                error: result.error.clone(),
                interrupted: result.interrupted,
                nondeterministic_repetitions: result.nondeterministic,
                deadline_misses: result
                    .samples
                    .iter()
                    .filter(|x| x.infer_ns > deadline_ns)
                    .count(),
                latency_ns: StageSummaries {
                    pre: stage(|x| x.pre_ns),
                    infer: stage(|x| x.infer_ns),
                    post: stage(|x| x.post_ns),
                    total: stage(|x| x.total_ns),
                },
                streams: crate::streams::record(&result),
                failure,
                stop: result.stop.clone(),
            });
            let stop_now = !result.complete();
            if let Some(err) = &result.error {
                reasons.push(format!("{} × {}: {err}", e.entry.name, s.id));
            }
            if result.interrupted {
                reasons.push(format!("{} × {}: interrupted", e.entry.name, s.id));
            }
            traces.push(TraceData {
                scenario: s.id.clone(),
                engine: e.entry.name.clone(),
                result,
            });
            if stop_now {
                break 'outer;
            }
        }
    }
    if let Some(t) = tegrastats {
        t.stop();
    }
    if let Some(g) = fp.gpu.as_mut() {
        backend::cuda::fingerprint::finish(g);
    }
    // Per-layer profiles (GPU plans): the first engine's as layers.json, which `diff`
    // compares; every engine's under its own name.
    let mut first_profile = true;
    for (e, p) in engines.iter().zip(&prepared_engines) {
        if let Some(v) = p.layer_profile() {
            let text = serde_json::to_string_pretty(&v).unwrap_or_default();
            if first_profile {
                write(&run_dir.join("layers.json"), text.as_bytes())?;
                first_profile = false;
            }
            write(
                &run_dir.join(crate::names::file_name(
                    "layers-",
                    &[("engine", &e.entry.name)],
                    "",
                    ".json",
                )?),
                text.as_bytes(),
            )?;
        }
    }
    let expected = match &shard {
        Some((_, ids)) => ids.len(),
        None => chosen.len() * engines.len(),
    };
    if traces.len() < expected {
        reasons.push(format!(
            "{} of {expected} traces were not run",
            expected - traces.len()
        ));
    }
    let record = RunRecord {
        schema_version: SCHEMA_VERSION,
        run_id,
        complete: reasons.is_empty(),
        incomplete_reasons: reasons,
        started_at,
        finished_at: now(),
        command_line,
        settings: Settings {
            requested: serde_json::to_value(req).unwrap_or_default(),
            effective: serde_json::json!({
                "backend": backend_info.name,
                "data_root": crate::paths::relative_to(root, &data.root),
                "platform": profile.name,
                "platform_source": if req.platform.is_some() { "requested" } else { "detected" },
                "traces": trace_records.iter().map(|t| serde_json::json!({
                    "scenario": t.scenario, "engine": t.engine, "settings": t.settings,
                    // Platform tags: where this trace ran and where its engine was built.
                    "platform": profile.name,
                    "built_on": engine_records.iter().find(|e| e.name == t.engine).and_then(|e| e.built_on.clone()),
                })).collect::<Vec<_>>(),
            }),
        },
        platform: PlatformRecord {
            name: profile.name.clone(),
            profile,
            fingerprint: fp,
        },
        backend: backend_info,
        engines: engine_records,
        scenarios: scenario_records,
        traces: trace_records,
        interleave: req.interleave.then(|| Interleave {
            baseline: engines[0].entry.name.clone(),
            candidate: engines[engines.len() - 1].entry.name.clone(),
            blocks: interleave_blocks,
        }),
        tool: Some(crate::tool::identity()),
    };
    write_replay_files(&run_dir, &record, &traces, &golden)?;
    Ok(ReplayOutcome {
        run_dir,
        claim,
        record,
        engines,
        scenarios: chosen,
        golden,
        traces,
        shard,
    })
}

/// The checks of [`replay`] that need the engines loaded: every chosen scenario's frames
/// and labels under every engine's class list, and one untimed inference per engine on a
/// real frame, decoded through its adapter (tensor names, shapes, output layout).
fn preflight(
    chosen: &[LoadedScenario],
    engines: &[VerifiedEngine],
    prepared: &[Box<dyn backend::Prepared>],
    data: &DataRoot,
    max_frames: Option<usize>,
) -> Result<(), ValidateError> {
    let mut class_lists: Vec<scenario::JudgedClasses> = Vec::new();
    for e in engines {
        let judged = e.adapter.judged_classes();
        if !class_lists.contains(&judged) {
            class_lists.push(judged);
        }
    }
    let mut probe = None;
    for ls in chosen {
        // A rung of a corruption ladder has its clean scenario's frames and labels: when
        // that scenario is checked here too, corrupting every frame again would only cost
        // time (the one thing a corruption can refuse, a frame under 32×32, is checked on
        // the clean frames below).
        let base_checked = ls
            .scenario
            .applied
            .as_ref()
            .is_some_and(|a| chosen.iter().any(|c| c.scenario.id == a.base));
        if base_checked {
            continue;
        }
        for classes in &class_lists {
            let frames = scenario::load_frames(ls, classes, data, max_frames)?;
            if !ls.scenario.corruptions.is_empty() {
                for f in &frames {
                    crate::corrupt::check_frame(&f.image).map_err(|source| {
                        scenario::ScenarioError::Corrupt {
                            scenario: ls.scenario.id.clone(),
                            frame: f.index,
                            source,
                        }
                    })?;
                }
            }
            if probe.is_none() && !frames.is_empty() {
                probe = Some(frames.into_iter().take(1).collect::<Vec<_>>());
            }
        }
    }
    let Some(frame) = probe else {
        return Ok(());
    };
    for (e, p) in engines.iter().zip(prepared) {
        let input = replay::prepare_frames(&e.adapter, &frame);
        let Some(f) = input.first() else { continue };
        let engine = e.entry.name.clone();
        let out = p
            .session()
            .and_then(|mut s| s.run(&f.input))
            .map_err(|source| ValidateError::Preflight {
                engine: engine.clone(),
                source,
            })?;
        crate::decode::decode(&e.adapter, &out.outputs, &f.transform).map_err(|err| {
            ValidateError::AdapterMismatch {
                engine,
                message: err.to_string(),
            }
        })?;
    }
    Ok(())
}

/// A trace that could not start: no samples, the error kept.
fn failed_trace(err: &BackendError) -> replay::TraceResult {
    replay::TraceResult {
        error: Some(err.to_string()),
        ..replay::TraceResult::default()
    }
}

fn failure_class(err: &BackendError) -> FailureClass {
    match err.status() {
        Status::Unavailable => FailureClass::Environment,
        _ => FailureClass::Inference,
    }
}

fn is_zero(v: &u32) -> bool {
    *v == 0
}

fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn engine_record(e: &VerifiedEngine) -> EngineRecord {
    let judged = e.adapter.judged_classes();
    EngineRecord {
        name: e.entry.name.clone(),
        path: e.entry.path.clone(),
        format: e.entry.format.as_str().into(),
        sha256: e.entry.sha256.clone(),
        size: e.entry.size,
        adapter_path: e.entry.adapter.path.clone(),
        adapter_sha256: e.entry.adapter.sha256.clone(),
        source_model_sha256: e.entry.source_model_sha256.clone(),
        built_on: e.entry.built_on.clone(),
        classes: judged.classes,
        safety_critical: judged.safety_critical,
        scenario_classes: judged.map,
        not_detectable: judged.not_detectable,
        score_threshold: e.adapter.score_threshold,
        load_ns: None,
        postprocess: Some(adasval_record::record::PostprocessRecord::of(&e.adapter)),
    }
}

/// Result of a whole `validate`: where the run went and its exit status.
pub struct ValidateOutcome {
    pub run_dir: PathBuf,
    pub status: Status,
    /// A few human lines for the terminal.
    pub summary: String,
}

/// Replay, analyse, report.
pub fn run(
    req: &ValidateRequest,
    command_line: Vec<String>,
    progress: &dyn ProgressFactory,
    stop: &AtomicBool,
) -> Result<ValidateOutcome, ValidateError> {
    let out = replay(req, command_line, progress, stop)?;
    if let Some(st) = &req.selftest {
        crate::selftest::write_bundle(
            &out.run_dir.join(crate::selftest::RUN_SUBDIR),
            &st.0,
            &st.1,
        )?;
    }
    if let Some(sel) = &req.shard {
        return finish_shard(req, sel, out);
    }
    // Judge what was written, not what is in memory: a stored run judged later by `judge`
    // goes through exactly the same reader and the same function.
    let stored = StoredRun::load(&out.run_dir)?;
    let analysed = crate::analysis::run(
        &stored,
        &out.scenarios,
        &crate::analysis::AnalysisOptions {
            root: &req.root,
            requirements: req.requirements.as_deref(),
            waivers: req.waivers.as_deref(),
            gsn: req.gsn.as_deref(),
            sign_key: req.sign_key.as_deref(),
            data_root: req.data_root.as_deref().unwrap_or(&req.root),
            safety_view: req.safety_view.clone(),
        },
    )?;
    Ok(finish(out.run_dir, &stored.record, analysed))
}

/// The end of a shard: record what it belongs to (`shard.json`, `worklist.txt`) and seal
/// its raw records. Its verdicts belong to the merge, which judges all items together.
fn finish_shard(
    req: &ValidateRequest,
    sel: &crate::farm::shard::ShardSelection,
    out: ReplayOutcome,
) -> Result<ValidateOutcome, ValidateError> {
    use crate::farm;
    let Some((list, items)) = &out.shard else {
        return Err(ValidateError::Selection("shard: no work list".into()));
    };
    let record = &out.record;
    let shard = farm::ShardRecord {
        schema_version: 1,
        shard: sel.spec,
        strategy: sel.strategy().into(),
        plan_sha256: sel.plan_sha256.clone(),
        work_list_sha256: list.sha256(),
        work_list_items: list.items.len(),
        items: items.clone(),
        lock_sha256: farm::file_sha256(&LockFile::path(&req.root))?.unwrap_or_default(),
        requirements_sha256: farm::file_sha256(&farm::requirements_path(
            &req.root,
            req.requirements.as_deref(),
        ))?,
        adasval_version: env!("CARGO_PKG_VERSION").into(),
        platform: record.platform.name.clone(),
        replay_settings: farm::replay_settings(&record.settings.requested),
        board: farm::Board::of(&record.platform.fingerprint, &record.platform.name),
        run_id: record.run_id.clone(),
    };
    write(
        &out.run_dir.join(farm::SHARD_FILE),
        serde_json::to_string_pretty(&shard)
            .unwrap_or_default()
            .as_bytes(),
    )?;
    write(
        &out.run_dir.join(farm::WORKLIST_FILE),
        list.text().as_bytes(),
    )?;
    let key = req
        .sign_key
        .as_deref()
        .map(crate::evidence::keys::read_signing_key)
        .transpose()?;
    crate::evidence::seal(&out.run_dir, key.as_ref())?;
    let status = if record.complete {
        Status::Pass
    } else {
        Status::GateFailed
    };
    let mut summary = format!(
        "shard {} ({}): {} of {} work items ran on {} ({}); sealed, to be merged with `adasval merge`\n",
        sel.spec,
        sel.strategy(),
        items.len(),
        list.items.len(),
        shard.board.hostname,
        shard.platform
    );
    if !record.complete {
        summary += &format!(
            "shard INCOMPLETE: {}\n",
            record.incomplete_reasons.join("; ")
        );
    }
    Ok(ValidateOutcome {
        run_dir: out.run_dir,
        status,
        summary,
    })
}

/// Exit status and terminal lines of a judged run.
fn finish(
    run_dir: PathBuf,
    record: &RunRecord,
    analysed: crate::analysis::AnalysisOutcome,
) -> ValidateOutcome {
    // An incomplete run never passes, whatever the verdicts say.
    let status = if !record.complete && analysed.status == Status::Pass {
        Status::GateFailed
    } else {
        analysed.status
    };
    let mut summary = String::new();
    for t in &record.traces {
        summary += &format!(
            "{:<20} {:<36} n={:<6} infer p50 {} ms p99 {} ms max {} ms{}\n",
            t.engine,
            t.scenario,
            t.samples,
            crate::report::ms(t.latency_ns.infer.p50),
            crate::report::ms(t.latency_ns.infer.p99),
            crate::report::ms(t.latency_ns.infer.max),
            if t.complete { "" } else { "  INCOMPLETE" }
        );
    }
    if !record.complete {
        summary += &format!("run INCOMPLETE: {}\n", record.incomplete_reasons.join("; "));
    }
    summary.push('\n');
    if analysed.evaluation.requirements.is_empty() {
        summary += &format!("{}\n", analysed.summary);
        for w in &analysed.warnings {
            summary += &format!("warning: {w}\n");
        }
    } else {
        summary += &crate::report::terminal::ending(
            &analysed.evaluation,
            status,
            &analysed.warnings,
            &run_dir,
        );
    }
    ValidateOutcome {
        run_dir,
        status,
        summary,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::EvidenceError;
    use crate::safety::SafetyError;

    #[test]
    fn cpu_threads_are_one_unless_asked() {
        let asked = ValidateRequest {
            cpu_threads: Some(3),
            ..Default::default()
        };
        assert_eq!(cpu_threads(&asked), 3);
        assert_eq!(cpu_threads(&ValidateRequest::default()), 1);
    }

    /// The analysis stage's errors reach the binary with the class the judge gave them:
    /// a tampered or unsealed bundle is an integrity failure (3), not bad input (2).
    #[test]
    fn analysis_errors_keep_their_exit_class() {
        let tampered: ValidateError = SafetyError::Tampered {
            dir: PathBuf::from("reports/x"),
            problems: vec!["run.json changed".into()],
        }
        .into();
        assert_eq!(tampered.status(), Status::Integrity);
        let unsealed: ValidateError = EvidenceError::NotSealed {
            dir: PathBuf::from("reports/x"),
        }
        .into();
        assert_eq!(unsealed.status(), Status::Integrity);
        let sealed: ValidateError = EvidenceError::Sealed {
            dir: PathBuf::from("reports/x"),
        }
        .into();
        assert_eq!(sealed.status(), Status::BadInput);
        assert!(sealed.to_string().contains("is sealed"), "{sealed}");
        assert!(matches!(
            sealed,
            ValidateError::Evidence(EvidenceError::Sealed { .. })
        ));
    }
}
