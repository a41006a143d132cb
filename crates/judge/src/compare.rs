//! `compare`: consistency across runs of the same scenarios (different engines, builds or
//! platforms), the study's Tables V and VI. Reads sealed run directories only; writes its
//! own directory citing the hashes of the runs it read.

use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::metrics::consistency::{
    compare_decisions, compare_tensors, DecisionSettings, FrameDetections, NamedTensor,
    TensorAgreement, Tolerances,
};
use adasval_core::exit::{Classify, Status};
use adasval_record::record::{read_jsonl, read_run, DetectionLine, RecordError, RunRecord};

#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    #[error(transparent)]
    Record(#[from] RecordError),
    #[error("run {dir} is not an intact sealed run: {problems}")]
    Tampered { dir: String, problems: String },
    #[error("runs are not comparable: {0}")]
    NotComparable(String),
    #[error("{0}")]
    Other(String),
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Platform(#[from] adasval_record::platform::PlatformError),
}

impl Classify for CompareError {
    fn status(&self) -> Status {
        match self {
            CompareError::Tampered { .. } => Status::Integrity,
            CompareError::Platform(e) => e.status(),
            _ => Status::BadInput,
        }
    }
}

/// One side of a comparison: one engine of one run.
#[derive(Debug, Clone, Serialize)]
pub struct Participant {
    pub label: String,
    pub run_id: String,
    pub run_dir: String,
    pub manifest_sha256: String,
    pub engine: String,
    pub engine_sha256: String,
    pub platform: String,
    pub built_on: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PairResult {
    pub scenario: String,
    pub a: usize,
    pub b: usize,
    pub frames_compared: usize,
    pub decision_flips: usize,
    pub flipped_frames: Vec<usize>,
    pub matched_pairs: usize,
    pub mean_iou: Option<f64>,
    pub min_iou: Option<f64>,
    pub bit_identical_frames: usize,
    /// Raw-output agreement per output tensor over all frames (when both runs kept outputs).
    pub outputs: Vec<TensorAgreement>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    pub schema_version: u32,
    pub participants: Vec<Participant>,
    pub scenarios: Vec<String>,
    pub tolerances: Tolerances,
    pub pairs: Vec<PairResult>,
}

struct Loaded {
    dir: PathBuf,
    record: RunRecord,
    manifest_sha256: String,
    detections: Vec<DetectionLine>,
}

fn load(dir: &Path) -> Result<Loaded, CompareError> {
    let report = crate::evidence::verify(dir, None).map_err(|e| CompareError::Tampered {
        dir: dir.display().to_string(),
        problems: e.to_string(),
    })?;
    if !report.is_intact() {
        return Err(CompareError::Tampered {
            dir: dir.display().to_string(),
            problems: report.problems().join("; "),
        });
    }
    let manifest = dir.join("MANIFEST.sha256");
    let manifest_sha256 =
        adasval_core::hash::sha256_file(&manifest).map_err(|source| CompareError::Io {
            path: manifest.display().to_string(),
            source,
        })?;
    Ok(Loaded {
        record: read_run(dir)?,
        detections: read_jsonl(&dir.join("detections.jsonl"))?,
        manifest_sha256,
        dir: dir.to_path_buf(),
    })
}

/// Raw outputs of one trace, per frame, when the run kept them (`--save-outputs`).
fn raw_outputs(
    dir: &Path,
    engine: &str,
    scenario: &str,
) -> Option<BTreeMap<usize, Vec<NamedTensor>>> {
    // Names from a stored record are checked like fresh ones, so a crafted run.json
    // cannot point the reader outside `outputs/`.
    let stem =
        adasval_core::names::file_name("", &[("engine", engine), ("scenario", scenario)], "__", "")
            .ok()?;
    let index: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dir.join("outputs").join(format!("{stem}.json"))).ok()?,
    )
    .ok()?;
    let bytes = std::fs::read(dir.join("outputs").join(format!("{stem}.f32"))).ok()?;
    let values: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    let mut out = BTreeMap::new();
    for f in index["frames"].as_array()? {
        let frame = f["frame"].as_u64()? as usize;
        let mut tensors = Vec::new();
        for t in f["tensors"].as_array()? {
            let (off, len) = (t["offset"].as_u64()? as usize, t["len"].as_u64()? as usize);
            tensors.push(NamedTensor {
                name: t["name"].as_str()?.to_string(),
                shape: t["shape"]
                    .as_array()?
                    .iter()
                    .filter_map(|d| d.as_u64().map(|d| d as usize))
                    .collect(),
                data: values.get(off..off + len)?.to_vec(),
            });
        }
        out.insert(frame, tensors);
    }
    Some(out)
}

pub fn compare(dirs: &[PathBuf], tolerances: &Tolerances) -> Result<Comparison, CompareError> {
    if dirs.len() < 2 && dirs.iter().all(|d| d.as_os_str().is_empty()) {
        return Err(CompareError::Other(
            "give at least one run directory".into(),
        ));
    }
    let runs: Vec<Loaded> = dirs.iter().map(|d| load(d)).collect::<Result<_, _>>()?;
    // Comparable: the same scenarios with the same golden labels.
    let scen = |r: &RunRecord| -> BTreeMap<String, String> {
        r.scenarios
            .iter()
            .map(|s| (s.id.clone(), s.labels_sha256.clone()))
            .collect()
    };
    let first = scen(&runs[0].record);
    for r in &runs[1..] {
        if scen(&r.record) != first {
            return Err(CompareError::NotComparable(format!(
                "{} and {} replayed different scenarios or golden labels",
                runs[0].record.run_id, r.record.run_id
            )));
        }
    }
    let mut participants = Vec::new();
    let mut sides: Vec<(usize, String)> = Vec::new();
    for (ri, r) in runs.iter().enumerate() {
        for e in &r.record.engines {
            participants.push(Participant {
                label: format!("{}@{}:{}", e.name, r.record.platform.name, &r.record.run_id),
                run_id: r.record.run_id.clone(),
                run_dir: r.dir.display().to_string(),
                manifest_sha256: r.manifest_sha256.clone(),
                engine: e.name.clone(),
                engine_sha256: e.sha256.clone(),
                platform: r.record.platform.name.clone(),
                built_on: e.built_on.clone(),
            });
            sides.push((ri, e.name.clone()));
        }
    }
    if participants.len() < 2 {
        return Err(CompareError::Other(
            "need at least two engine runs to compare".into(),
        ));
    }
    let mut pairs = Vec::new();
    let scenarios: Vec<String> = first.keys().cloned().collect();
    for scenario in &scenarios {
        let frames_of = |k: usize| -> Vec<FrameDetections> {
            let (ri, engine) = &sides[k];
            runs[*ri]
                .detections
                .iter()
                .filter(|d| &d.scenario == scenario && &d.engine == engine)
                .map(|d| FrameDetections {
                    frame: d.frame,
                    dets: d.detections.clone(),
                })
                .collect()
        };
        let hashes_of = |k: usize| -> BTreeMap<usize, Option<String>> {
            let (ri, engine) = &sides[k];
            runs[*ri]
                .detections
                .iter()
                .filter(|d| &d.scenario == scenario && &d.engine == engine)
                .map(|d| (d.frame, d.output_sha256.clone()))
                .collect()
        };
        for a in 0..sides.len() {
            for b in a + 1..sides.len() {
                let ea = runs[sides[a].0]
                    .record
                    .engines
                    .iter()
                    .find(|e| e.name == sides[a].1);
                let critical: Vec<u32> = ea
                    .map(|e| {
                        e.safety_critical
                            .iter()
                            .filter_map(|c| e.classes.iter().position(|x| x == c).map(|i| i as u32))
                            .collect()
                    })
                    .unwrap_or_default();
                let c = compare_decisions(
                    &frames_of(a),
                    &frames_of(b),
                    &DecisionSettings {
                        critical_classes: critical,
                        iou_threshold: 0.5,
                    },
                );
                let (ha, hb) = (hashes_of(a), hashes_of(b));
                let bit_identical_frames = ha
                    .iter()
                    .filter(|(f, h)| h.is_some() && hb.get(f) == Some(h))
                    .count();
                let mut outputs = Vec::new();
                if let (Some(oa), Some(ob)) = (
                    raw_outputs(&runs[sides[a].0].dir, &sides[a].1, scenario),
                    raw_outputs(&runs[sides[b].0].dir, &sides[b].1, scenario),
                ) {
                    // Concatenate frames per output name so the statistics cover the whole scenario.
                    let concat = |o: &BTreeMap<usize, Vec<NamedTensor>>| -> Vec<NamedTensor> {
                        let mut by: BTreeMap<String, NamedTensor> = BTreeMap::new();
                        for ts in o.values() {
                            for t in ts {
                                let e = by.entry(t.name.clone()).or_insert_with(|| NamedTensor {
                                    name: t.name.clone(),
                                    shape: vec![0],
                                    data: vec![],
                                });
                                e.data.extend_from_slice(&t.data);
                                e.shape = vec![e.data.len()];
                            }
                        }
                        by.into_values().collect()
                    };
                    outputs = compare_tensors(&concat(&oa), &concat(&ob), tolerances);
                }
                pairs.push(PairResult {
                    scenario: scenario.clone(),
                    a,
                    b,
                    frames_compared: c.frames_compared,
                    decision_flips: c.differing.len(),
                    flipped_frames: c.differing.iter().map(|d| d.frame).collect(),
                    matched_pairs: c.matched_pairs,
                    mean_iou: c.mean_iou,
                    min_iou: c.min_iou,
                    bit_identical_frames,
                    outputs,
                });
            }
        }
    }
    Ok(Comparison {
        schema_version: 1,
        participants,
        scenarios,
        tolerances: tolerances.clone(),
        pairs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A platform profile that does not load is reported as the platform stage classifies
    /// it, with its own message, not as a string.
    #[test]
    fn platform_errors_keep_their_type() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("platforms")).unwrap();
        std::fs::write(dir.path().join("platforms/bad.yaml"), "name: [unclosed\n").unwrap();
        let e: CompareError = adasval_record::platform::load_profiles(dir.path())
            .unwrap_err()
            .into();
        assert!(matches!(e, CompareError::Platform(_)), "{e}");
        assert_eq!(e.status(), Status::BadInput);
        assert!(e.to_string().contains("bad.yaml"), "{e}");
    }
}
