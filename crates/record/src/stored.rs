//! A run read back from its raw records (`run.json`, `latencies.csv`, `detections.jsonl`,
//! `golden.jsonl`): the one input every judge of a run works from, whether right after a
//! replay or later on a copy of the files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use adasval_core::types::Detection;

use crate::record::{
    read_jsonl, read_latencies_csv, read_run, DetectionLine, GoldenLine, RecordError, RunRecord,
};
use crate::trace::Sample;

/// One (engine, scenario) trace as its raw records hold it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredTrace {
    pub scenario: String,
    pub engine: String,
    /// Every timed inference, in the order `latencies.csv` lists them (acquisition order;
    /// with concurrent streams, stream by stream).
    pub samples: Vec<Sample>,
    /// Detections of each frame's first timed repetition, indexed by frame position;
    /// `None` where `detections.jsonl` has no line for the frame.
    pub detections: Vec<Option<Vec<Detection>>>,
    /// SHA-256 of each frame's raw outputs (first repetition), indexed like `detections`.
    pub output_sha256: Vec<Option<String>>,
}

/// A whole run directory's raw records.
#[derive(Debug, Clone)]
pub struct StoredRun {
    pub dir: PathBuf,
    pub record: RunRecord,
    pub golden: Vec<GoldenLine>,
    /// In the order of `run.json`'s `traces`.
    pub traces: Vec<StoredTrace>,
}

impl StoredRun {
    /// Read the raw records of `dir` and check that they describe the same traces.
    pub fn load(dir: &Path) -> Result<StoredRun, RecordError> {
        let record = read_run(dir)?;
        let rows = read_latencies_csv(&dir.join("latencies.csv"))?;
        let lines: Vec<DetectionLine> = read_jsonl(&dir.join("detections.jsonl"))?;
        let golden: Vec<GoldenLine> = read_jsonl(&dir.join("golden.jsonl"))?;
        let shown = dir.display().to_string();
        let inconsistent = |message: String| RecordError::Inconsistent {
            dir: shown.clone(),
            message,
        };

        let mut index: BTreeMap<(&str, &str), usize> = BTreeMap::new();
        let mut traces: Vec<StoredTrace> = Vec::with_capacity(record.traces.len());
        for t in &record.traces {
            if index
                .insert((t.scenario.as_str(), t.engine.as_str()), traces.len())
                .is_some()
            {
                return Err(inconsistent(format!(
                    "run.json lists the trace {} × {} twice",
                    t.engine, t.scenario
                )));
            }
            traces.push(StoredTrace {
                scenario: t.scenario.clone(),
                engine: t.engine.clone(),
                samples: Vec::with_capacity(t.samples),
                detections: Vec::new(),
                output_sha256: Vec::new(),
            });
        }
        for r in rows {
            let Some(&i) = index.get(&(r.scenario.as_str(), r.engine.as_str())) else {
                return Err(inconsistent(format!(
                    "latencies.csv has samples of {} × {}, a trace run.json does not list",
                    r.engine, r.scenario
                )));
            };
            traces[i].samples.push(r.sample);
        }
        for (t, rec) in traces.iter().zip(&record.traces) {
            if t.samples.len() != rec.samples {
                return Err(inconsistent(format!(
                    "latencies.csv has {} samples of {} × {}, run.json says {}",
                    t.samples.len(),
                    rec.engine,
                    rec.scenario,
                    rec.samples
                )));
            }
        }
        for l in lines {
            let Some(&i) = index.get(&(l.scenario.as_str(), l.engine.as_str())) else {
                return Err(inconsistent(format!(
                    "detections.jsonl has frame {} of {} × {}, a trace run.json does not list",
                    l.frame, l.engine, l.scenario
                )));
            };
            let t = &mut traces[i];
            if t.detections.len() <= l.frame {
                t.detections.resize(l.frame + 1, None);
                t.output_sha256.resize(l.frame + 1, None);
            }
            if t.detections[l.frame].is_some() {
                return Err(inconsistent(format!(
                    "detections.jsonl lists frame {} of {} × {} twice",
                    l.frame, l.engine, l.scenario
                )));
            }
            t.detections[l.frame] = Some(l.detections);
            t.output_sha256[l.frame] = l.output_sha256;
        }
        Ok(StoredRun {
            dir: dir.to_path_buf(),
            record,
            golden,
            traces,
        })
    }
}
