//! Turn measured results into the flat `evidence.json` items requirements are judged on.

use std::path::Path;

use crate::evidence::{
    ArtefactRef, EvidenceItem, EvidenceKind, EvidenceSet, IntegrityArtefact, IntegrityCheck,
};
use crate::timing::TraceWcet;
use adasval_record::record::RunRecord;

/// Re-hash the engines and adapters the run used, against the lock file now.
pub fn integrity_checks(root: &Path, record: &RunRecord) -> Vec<IntegrityCheck> {
    let lock = adasval_record::lock::LockFile::load(root).ok();
    let mut out = Vec::new();
    for e in &record.engines {
        // The lock entry must still exist and name the same hashes the run used.
        let entry = lock
            .as_ref()
            .and_then(|l| l.engines.iter().find(|x| x.name == e.name));
        for (artefact, path, expected, locked) in [
            (
                IntegrityArtefact::Engine,
                &e.path,
                &e.sha256,
                entry.map(|x| x.sha256.clone()),
            ),
            (
                IntegrityArtefact::Adapter,
                &e.adapter_path,
                &e.adapter_sha256,
                entry.map(|x| x.adapter.sha256.clone()),
            ),
        ] {
            let actual = adasval_core::paths::resolve_inside(root, root, path)
                .ok()
                .and_then(|p| adasval_core::hash::sha256_file(&p).ok())
                .filter(|_| locked.as_deref() == Some(expected.as_str()));
            out.push(IntegrityCheck {
                engine: e.name.clone(),
                artefact,
                path: path.clone(),
                expected_sha256: expected.clone(),
                actual_sha256: actual,
            });
        }
    }
    out
}

/// A rung of a corruption ladder: evidence for no requirement. Its detection figures are
/// the robustness analysis's (`robustness`). Its latencies are recorded and analysed
/// (latencies.csv, wcet.json, the report's timing tables) but are not timing evidence:
/// a rung replays the clean scenario's frames, so a ladder would multiply one scenario's
/// weight in a timing requirement, and the rungs run back to back after it, so a burst
/// of load on the machine would fail the nominal scenario's timing requirement through
/// frames that are not the scenario's (docs/CORRUPTIONS.md).
/// The scenario classes each engine of the run cannot detect, as the run recorded them.
pub fn not_detectable(ev: &mut EvidenceSet, record: &RunRecord) {
    for e in &record.engines {
        for class in &e.not_detectable {
            ev.not_detectable.push(crate::evidence::NotDetectable {
                engine: e.name.clone(),
                engine_sha256: e.sha256.clone(),
                platform: record.platform.name.clone(),
                class: class.clone(),
                scenario_classes: e.scenario_classes.clone().unwrap_or_default(),
            });
        }
    }
}

fn is_rung(record: &RunRecord, scenario: &str) -> bool {
    record
        .scenarios
        .iter()
        .any(|s| s.id == scenario && s.corruption.is_some())
}

fn tags(record: &RunRecord, scenario: &str) -> (Vec<String>, Option<f64>) {
    record
        .scenarios
        .iter()
        .find(|s| s.id == scenario)
        .map(|s| {
            let mut t = s.tags.clone();
            if !t.contains(&s.category) {
                t.push(s.category.clone());
            }
            (t, Some(s.deadline_ms))
        })
        .unwrap_or_default()
}

/// Why a trace has no pWCET bound, in one sentence a reader can act on.
fn no_bound_reason(a: &crate::wcet::Analysis) -> String {
    let why = if a.reasons.is_empty() {
        "the analysis gave no bound".to_string()
    } else {
        a.reasons.join("; ")
    };
    match a.advice.first() {
        Some(advice) => format!("no pWCET bound: {why} (what to change: {advice})"),
        None => format!("no pWCET bound: {why}"),
    }
}

/// `hwm_ms` for every analysed trace and `pwcet_ucb_ms` at each probability (no figure, with
/// the reason, when the analysis refused a bound, so a requirement needing one fails).
pub fn timing_items(ev: &mut EvidenceSet, record: &RunRecord, wcets: &[TraceWcet]) {
    for w in wcets.iter().filter(|w| !is_rung(record, &w.scenario)) {
        let (scenario_tags, deadline_ms) = tags(record, &w.scenario);
        let base = EvidenceItem {
            ttc: None,
            slice: None,
            kind: EvidenceKind::Timing,
            metric: "hwm_ms".into(),
            scenario: w.scenario.clone(),
            scenario_tags,
            engine: w.engine.clone(),
            engine_sha256: w.engine_sha256.clone(),
            platform: w.platform.clone(),
            compared_with: None,
            class: None,
            iou: None,
            probability: None,
            value: Some(w.analysis.hwm),
            deadline_ms,
            no_value: None,
            artefacts: vec![
                ArtefactRef {
                    path: "latencies.csv".into(),
                    sha256: None,
                },
                ArtefactRef {
                    path: "wcet.json".into(),
                    sha256: None,
                },
            ],
        };
        ev.items.push(base.clone());
        if w.analysis.verdict != crate::wcet::Verdict::Pwcet {
            // A refused analysis (not i.i.d., too few samples, no acceptable fit) must not
            // drop out of a pWCET requirement's instances: it is recorded as an unbounded
            // figure, so any requirement on it fails. wcet.json says why.
            for p in &w.analysis.settings.probabilities {
                ev.items.push(EvidenceItem {
                    metric: "pwcet_ucb_ms".into(),
                    probability: Some(*p),
                    value: None,
                    no_value: Some(no_bound_reason(&w.analysis)),
                    ..base.clone()
                });
            }
            continue;
        }
        for p in &w.analysis.settings.probabilities {
            match crate::timing::selected_at(&w.analysis, *p) {
                (_, Some(ucb)) => ev.items.push(EvidenceItem {
                    metric: "pwcet_ucb_ms".into(),
                    probability: Some(*p),
                    value: Some(ucb),
                    ..base.clone()
                }),
                // A probability beyond the extrapolation limit has no printed bound: the
                // requirement on it must fail with the reason, not lose its instance.
                _ if crate::wcet::extrapolation_class(*p, w.analysis.n)
                    == crate::wcet::Extrapolation::BeyondLimit =>
                {
                    ev.items.push(EvidenceItem {
                        metric: "pwcet_ucb_ms".into(),
                        probability: Some(*p),
                        value: None,
                        no_value: Some(format!(
                            "no pWCET bound at {p:e}: beyond the extrapolation limit of {} samples \
                             (1e-2/n = {:.1e}); collect at least {:.0} frames",
                            w.analysis.n,
                            crate::wcet::EXTRAPOLATION_LIMIT / w.analysis.n as f64,
                            (crate::wcet::EXTRAPOLATION_LIMIT / p).ceil()
                        )),
                        ..base.clone()
                    });
                }
                _ => {}
            }
        }
    }
}

/// Detection items per scenario × engine × class (at each IoU), critical misses per class,
/// and decision flips between engines.
pub fn detection_items(
    ev: &mut EvidenceSet,
    record: &RunRecord,
    det: &crate::detection::DetectionResults,
) {
    for t in det.traces.iter().filter(|t| !is_rung(record, &t.scenario)) {
        let (scenario_tags, _) = tags(record, &t.scenario);
        let base = EvidenceItem {
            ttc: None,
            slice: None,
            kind: EvidenceKind::Detection,
            metric: String::new(),
            scenario: t.scenario.clone(),
            scenario_tags,
            engine: t.engine.clone(),
            engine_sha256: t.engine_sha256.clone(),
            platform: record.platform.name.clone(),
            compared_with: None,
            class: None,
            iou: None,
            probability: None,
            value: Some(0.0),
            deadline_ms: None,
            no_value: None,
            artefacts: vec![
                ArtefactRef {
                    path: "metrics.json".into(),
                    sha256: None,
                },
                ArtefactRef {
                    path: "detections.jsonl".into(),
                    sha256: None,
                },
                ArtefactRef {
                    path: "golden.jsonl".into(),
                    sha256: None,
                },
            ],
        };
        for c in &t.detection.per_class {
            for at in &c.at {
                let figures = [
                    ("recall", at.recall),
                    ("precision", at.precision),
                    ("recall_lcb", at.recall_ci.map(|i| i.lower)),
                    ("precision_lcb", at.precision_ci.map(|i| i.lower)),
                ];
                for (metric, v) in figures {
                    // No positives (or no detections): no figure, so a requirement on it
                    // finds no evidence rather than a made-up value.
                    if let Some(value) = v {
                        ev.items.push(EvidenceItem {
                            metric: metric.into(),
                            class: Some(c.class.clone()),
                            iou: Some(at.iou_threshold),
                            value: Some(value),
                            ..base.clone()
                        });
                    }
                }
            }
        }
        let family = record
            .scenarios
            .iter()
            .find(|s| s.id == t.scenario)
            .and_then(|s| s.family.clone())
            .unwrap_or_else(|| t.scenario.clone());
        let classes = record
            .engines
            .iter()
            .find(|e| e.name == t.engine)
            .map(|e| e.classes.as_slice())
            .unwrap_or_default();
        for rd in &t.stable_detection {
            ev.items.extend(ttc_items(&base, &family, rd, classes));
        }
        for ts in &t.slices {
            ev.items.extend(slice_items(&base, ts));
        }
        for a in &t.detection.ap.per_class {
            if a.ap >= 0.0 {
                ev.items.push(EvidenceItem {
                    metric: "ap".into(),
                    class: Some(a.class.clone()),
                    value: Some(a.ap),
                    ..base.clone()
                });
            }
        }
        // One critical-miss count per safety-critical class, zero included: a clean run
        // is evidence too.
        let rec = record.engines.iter().find(|e| e.name == t.engine);
        for class in rec.map(|e| e.safety_critical.clone()).unwrap_or_default() {
            let n = t
                .critical_misses
                .iter()
                .filter(|m| m.class == class)
                .count();
            ev.items.push(EvidenceItem {
                metric: "critical_misses".into(),
                class: Some(class),
                iou: Some(det.safety_view.iou_threshold),
                value: Some(n as f64),
                ..base.clone()
            });
        }
    }
    for p in det
        .consistency
        .iter()
        .filter(|p| !is_rung(record, &p.scenario))
    {
        let (scenario_tags, _) = tags(record, &p.scenario);
        let sha = |n: &str| {
            record
                .engines
                .iter()
                .find(|e| e.name == n)
                .map(|e| e.sha256.clone())
                .unwrap_or_default()
        };
        ev.items.push(EvidenceItem {
            ttc: None,
            slice: None,
            kind: EvidenceKind::Consistency,
            metric: "decision_flips".into(),
            scenario: p.scenario.clone(),
            scenario_tags,
            engine: p.engine_a.clone(),
            engine_sha256: sha(&p.engine_a),
            platform: record.platform.name.clone(),
            compared_with: Some(crate::evidence::Counterpart {
                engine: p.engine_b.clone(),
                engine_sha256: sha(&p.engine_b),
                platform: record.platform.name.clone(),
            }),
            class: None,
            iou: Some(0.5),
            probability: None,
            value: Some(p.decision_flips as f64),
            deadline_ms: None,
            no_value: None,
            artefacts: vec![ArtefactRef {
                path: "metrics.json".into(),
                sha256: None,
            }],
        });
    }
}

/// One `detection_ttc_s` item per target of one trace under one rule (none when the trace
/// has no latency to add); `base` carries the trace's scenario, engine and platform.
pub fn ttc_items(
    base: &EvidenceItem,
    family: &str,
    rd: &crate::detection::RuleDetections,
    classes: &[String],
) -> Vec<EvidenceItem> {
    let Some(targets) = &rd.targets else {
        return Vec::new();
    };
    targets
        .iter()
        .map(|tg| EvidenceItem {
            kind: EvidenceKind::Detection,
            metric: "detection_ttc_s".into(),
            class: classes.get(tg.class_id as usize).cloned(),
            iou: Some(rd.rule.iou_threshold),
            value: tg.ttc_s,
            no_value: tg.ttc_s.is_none().then(|| {
                format!(
                    "target {} was never detected in {} of {} consecutive frames",
                    tg.track_id, rd.rule.k, rd.rule.n
                )
            }),
            ttc: Some(crate::evidence::TtcItem {
                family: family.to_string(),
                track_id: tg.track_id,
                rule: rd.rule_id.clone(),
                first_stable_frame: tg.first_stable_frame,
                latency_ms: tg.latency_ms,
            }),
            ..base.clone()
        })
        .collect()
}

/// The figures of one slice on one trace as evidence items, each carrying the slice, its
/// rule and the counts; a figure the slice does not define (no object, no detection) gives
/// no item, so a requirement on it finds no evidence rather than a made-up value.
pub fn slice_items(base: &EvidenceItem, ts: &crate::detection::TraceSlice) -> Vec<EvidenceItem> {
    let f = &ts.figures;
    let c = &f.counts;
    let item = crate::evidence::SliceItem {
        slice: ts.spec.clone(),
        rule: f.slice.clone(),
        frames: f.frames,
        objects: f.objects,
        tp: c.tp,
        fp: c.fp,
        fn_: c.fn_,
        critical_misses: f.critical_misses,
    };
    [
        ("recall", c.recall),
        ("precision", c.precision),
        ("recall_lcb", c.recall_ci.map(|i| i.lower)),
        ("precision_lcb", c.precision_ci.map(|i| i.lower)),
        ("ap", f.ap),
        ("lamr", f.lamr),
        ("critical_misses", f.critical_misses.map(|n| n as f64)),
    ]
    .into_iter()
    .filter_map(|(metric, v)| {
        v.map(|value| EvidenceItem {
            metric: metric.into(),
            class: ts.spec.class.clone(),
            iou: Some(c.iou_threshold),
            value: Some(value),
            slice: Some(item.clone()),
            ..base.clone()
        })
    })
    .collect()
}
