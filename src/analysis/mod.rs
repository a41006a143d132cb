//! Judging a run: everything after the replay, as one orchestration. Takes the run's raw
//! records read back from its directory ([`StoredRun`]), has the judge compute detection
//! metrics, consistency, WCET and the evidence set and evaluate the requirements, has the
//! report crate render and write the reports and verdict files, and seals the run. `validate` calls
//! it on the directory it has just written and `judge` on a stored one: one path to every
//! verdict.

// The computations live in the judge and the renderings in the report crate; the old
// module names stay so `adasval::analysis::detection_stage::SafetyViewSettings` and the
// rest keep working.
pub use crate::report::detection_section;
pub use adasval_judge::detection as detection_stage;
pub use adasval_judge::evidence_items as evidence_build;
pub use adasval_judge::timing as wcet_stage;

use std::path::Path;

use crate::evidence::{self, EvidenceSet};
use crate::exit::Status;
use crate::report::finish::{finish_run, FinishRequest};
use crate::report::{self, Block, Document, Figure, Section};
use crate::safety::{self, Evaluation};
use crate::scenario::LoadedScenario;
use crate::stored::StoredRun;
use crate::validate::ValidateError;

/// Options of the analysis stage.
pub struct AnalysisOptions<'a> {
    pub root: &'a Path,
    pub requirements: Option<&'a Path>,
    /// Waivers of known failures; default: safety-case/waivers.yaml when present and the
    /// requirements are the project's.
    pub waivers: Option<&'a Path>,
    pub gsn: Option<&'a Path>,
    pub sign_key: Option<&'a Path>,
    pub data_root: &'a Path,
    pub safety_view: detection_stage::SafetyViewSettings,
}

pub struct AnalysisOutcome {
    pub status: Status,
    pub evaluation: Evaluation,
    pub summary: String,
    /// Shown in every output (an unsigned bundle).
    pub warnings: Vec<String>,
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), ValidateError> {
    let p = dir.join(name);
    crate::atomic::write_atomic(&p, bytes).map_err(|source| ValidateError::Write {
        path: p.display().to_string(),
        source,
    })
}

/// Judge the run in `out`; `scenarios` (the scenario definitions, when at hand) only add
/// frame figures to the report.
pub fn run(
    out: &StoredRun,
    scenarios: &[LoadedScenario],
    opts: &AnalysisOptions<'_>,
) -> Result<AnalysisOutcome, ValidateError> {
    let dir = &out.dir;
    let record = &out.record;
    let infer: Vec<(String, String, Vec<u64>)> = out
        .traces
        .iter()
        .map(|t| {
            (
                t.scenario.clone(),
                t.engine.clone(),
                t.samples.iter().map(|s| s.infer_ns).collect(),
            )
        })
        .collect();

    write(
        dir,
        "histograms.json",
        crate::record::histograms_json(
            out.traces
                .iter()
                .map(|t| (t.scenario.as_str(), t.engine.as_str(), t.samples.as_slice())),
        )
        .as_bytes(),
    )?;

    // Requirements first: they set the high-water-mark margin the WCET table shows, so
    // one trace is never within margin in one table and outside it in another.
    let req_path = opts
        .requirements
        .map(Path::to_path_buf)
        .unwrap_or_else(|| opts.root.join("safety-case/requirements.yaml"));
    let gsn_path = opts
        .gsn
        .map(Path::to_path_buf)
        .unwrap_or_else(|| opts.root.join("safety-case/gsn.yaml"));
    // Without a requirements file there is nothing to judge: say so, never pass silently.
    let have_requirements = opts.requirements.is_some() || req_path.exists();
    // The project's own safety-case files must be the project's: a default one that is a
    // symbolic link out of the project is refused (a file named explicitly is the user's
    // choice).
    for (given, default) in [(opts.requirements, &req_path), (opts.gsn, &gsn_path)] {
        if given.is_none() && default.exists() {
            crate::paths::resolve_inside(opts.root, opts.root, &default.to_string_lossy())
                .map_err(ValidateError::Path)?;
        }
    }
    let requirements = if have_requirements {
        safety::Requirements::load(&req_path)?
    } else {
        safety::Requirements {
            file: req_path.clone(),
            requirements: Vec::new(),
            regression: None,
            not_applicable: Default::default(),
        }
    };
    // Waivers accompany the project's requirements: with another requirements file they
    // apply only when named explicitly.
    let waivers_path = opts
        .waivers
        .map(Path::to_path_buf)
        .unwrap_or_else(|| opts.root.join(safety::gate::PROJECT_WAIVERS_FILE));
    let use_waivers = have_requirements
        && (opts.waivers.is_some() || (opts.requirements.is_none() && waivers_path.exists()));
    if use_waivers && opts.waivers.is_none() {
        crate::paths::resolve_inside(opts.root, opts.root, &waivers_path.to_string_lossy())
            .map_err(ValidateError::Path)?;
    }
    let waivers = if use_waivers {
        safety::Waivers::load(&waivers_path, &requirements)?.waivers
    } else {
        Vec::new()
    };
    let requirements = requirements.requirements;
    let margin = wcet_stage::margin_policy(&requirements);
    // WCET.
    let (wcets, wcet_problems) = wcet_stage::analyse(record, &out.traces, margin.factor);
    write(
        dir,
        "wcet.json",
        serde_json::to_string_pretty(
            &serde_json::json!({ "analyses": wcets, "problems": wcet_problems }),
        )
        .unwrap_or_default()
        .as_bytes(),
    )?;

    // Golden comparison.
    let det = detection_stage::analyse(
        record,
        &out.golden,
        &out.traces,
        &opts.safety_view,
        &safety::requirements::ttc_rules(&requirements),
        &safety::requirements::slice_rules(&requirements),
    );
    // Swept families pooled, beside the per-trace metrics they are summed from.
    let families = adasval_judge::families::analyse(record, &det);
    let mut metrics = serde_json::to_value(&det).unwrap_or_default();
    if let (Some(f), Some(m)) = (&families, metrics.as_object_mut()) {
        m.insert(
            "families".into(),
            serde_json::to_value(f).unwrap_or_default(),
        );
    }
    write(
        dir,
        "metrics.json",
        serde_json::to_string_pretty(&metrics)
            .unwrap_or_default()
            .as_bytes(),
    )?;

    // The golden objects and detections as COCO files, for pycocotools and `eval --gt --dt`
    // (categories: the first engine's classes, which the golden class ids index).
    if let Some(e) = record.engines.first() {
        let dets: Vec<adasval_record::coco::EngineDetections> = out
            .traces
            .iter()
            .filter(|t| {
                record
                    .engines
                    .iter()
                    .any(|x| x.name == t.engine && x.classes == e.classes)
            })
            .map(|t| adasval_record::coco::EngineDetections {
                engine: &t.engine,
                scenario: &t.scenario,
                frames: &t.detections,
            })
            .collect();
        let coco = adasval_record::coco::write_run(&out.golden, &e.classes, &dets);
        write(dir, "golden.coco.json", coco.instances.as_bytes())?;
        write(dir, "detections.coco.json", coco.results.as_bytes())?;
    }

    // Evidence: integrity re-checked now, after the replay, against the lock.
    let checks = evidence_build::integrity_checks(opts.root, record);
    let mut ev = EvidenceSet {
        schema_version: evidence::EVIDENCE_SCHEMA_VERSION,
        run_id: Some(record.run_id.clone()),
        run: evidence::RunStatus {
            complete: record.complete,
            reason: (!record.complete).then(|| record.incomplete_reasons.join("; ")),
        },
        integrity: evidence::IntegrityStatus::from_checks(checks),
        items: Vec::new(),
        not_detectable: Vec::new(),
        tool: Some(crate::tool::identity()),
    };
    evidence_build::not_detectable(&mut ev, record);
    evidence_build::timing_items(&mut ev, record, &wcets);
    evidence_build::detection_items(&mut ev, record, &det);

    let evaluation = safety::evaluate_waived(&requirements, &ev, &waivers, &safety::today_utc());
    // The default safety case argues over the default requirements: with another
    // requirements file it applies only when named explicitly.
    let use_gsn = opts.gsn.is_some() || (opts.requirements.is_none() && gsn_path.exists());
    let gsn = if use_gsn {
        Some(safety::Gsn::load(&gsn_path)?)
    } else {
        None
    };

    // Reports, the overall verdict and the verdict table first. The status is the one
    // finish_run will reach from the same evaluation.
    let status = if !ev.integrity.verified {
        Status::Integrity
    } else if !evaluation.passed() {
        Status::GateFailed
    } else {
        Status::Pass
    };
    let mut verdicts = report::verdict_section::section(&evaluation, record);
    if have_requirements {
        verdicts.blocks.insert(
            0,
            Block::Banner(
                report::Tone::of(status == Status::Pass),
                report::terminal::result_line(&evaluation, status),
            ),
        );
    }
    let mut sections = vec![verdicts];
    if gsn.is_some() {
        sections.push(
            Section::new("safety-case", "Safety case").with(Block::Figures(vec![Figure {
                svg: gsn
                    .as_ref()
                    .map(|g| report::gsn_svg::render_svg(g, &evaluation))
                    .unwrap_or_default(),
                caption: "The GSN argument, each goal marked supported, failed or undeveloped"
                    .into(),
                file: Some(report::finish::GSN_SVG_FILE.into()),
            }])),
        );
    }
    let rows = safety::traceability(&evaluation);
    sections.push(Section::new("traceability", "Traceability").with(report::trace::table(&rows)));
    sections.push(report::header_section(record));
    sections.push(report::latency_section(record, &infer));
    let data = crate::scenario::DataRoot {
        root: opts.data_root.to_path_buf(),
    };
    sections.push(detection_section::section(out, scenarios, &det, &data));
    if let Some(f) = &families {
        sections.push(report::family_section::section(f));
    }
    if let Some(ttc) = report::ttc_section::section(record, &det) {
        sections.push(ttc);
    }
    if let Some(r) = adasval_judge::robustness::analyse(record, &det, &requirements, &ev) {
        sections.push(report::robustness_section::section(&r));
    }
    sections.push(report::wcet_section::section(
        record,
        &wcets,
        &infer,
        &margin.source,
    ));
    let doc = Document {
        title: format!("adasval validation report: {}", record.run_id),
        sections,
    };
    // The bundle is sealed after the reports are written, so whether it will be signed is
    // known now; an unsigned one says so in every output.
    let warnings: Vec<String> = if opts.sign_key.is_none() {
        evidence::SignatureCheck::NotChecked { present: false }
            .warning()
            .into_iter()
            .collect()
    } else {
        Vec::new()
    };
    report::sink::write_all(
        dir,
        &[&report::sink::REPORT_MD, &report::sink::REPORT_HTML],
        &report::Judged {
            warnings: &warnings,
            ..report::Judged::document(&doc.title, &doc)
        },
    )?;

    if !have_requirements {
        write(dir, crate::evidence::EVIDENCE_FILE, ev.to_json().as_bytes())?;
        let key = match opts.sign_key {
            Some(p) => Some(evidence::keys::read_signing_key(p)?),
            None => None,
        };
        evidence::seal(dir, key.as_ref())?;
        let status = if !ev.integrity.verified {
            Status::Integrity
        } else if !record.complete {
            Status::GateFailed
        } else {
            Status::Pass
        };
        return Ok(AnalysisOutcome {
            status,
            evaluation,
            summary: format!(
                "no requirements file ({}): nothing was judged; the run is sealed",
                req_path.display()
            ),
            warnings,
        });
    }
    let key = match opts.sign_key {
        Some(p) => Some(evidence::keys::read_signing_key(p)?),
        None => None,
    };
    let finished = finish_run(&FinishRequest {
        run_dir: dir,
        evidence: &ev,
        requirements_file: &req_path,
        waivers_file: use_waivers.then_some(waivers_path.as_path()),
        gsn_file: gsn.as_ref().map(|_| gsn_path.as_path()),
        sign_key: key.as_ref(),
        title: "adasval validate",
        warnings: warnings.clone(),
        notes: vec![
            format!(
                "run `{}` on platform `{}`",
                record.run_id, record.platform.name
            ),
            format!(
                "engines: {}",
                record
                    .engines
                    .iter()
                    .map(|e| format!("{}@{}", e.name, &e.sha256[..12]))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ],
    })?;
    Ok(AnalysisOutcome {
        status: finished.status,
        evaluation: finished.evaluation,
        summary: finished.summary,
        warnings,
    })
}
