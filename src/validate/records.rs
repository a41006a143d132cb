//! The raw records of a replay, written once: `golden.jsonl` (with the label and pixel
//! hashes the run record carries), `latencies.csv`, `detections.jsonl`, raw outputs and
//! `run.json`.

use super::*;
pub(super) fn golden_lines(
    id: &str,
    frames: &[scenario::LoadedFrame],
) -> (String, String, Vec<GoldenLine>) {
    let mut labels = crate::hash::Hasher::new();
    let mut pixels = crate::hash::Hasher::new();
    let mut lines = Vec::with_capacity(frames.len());
    for f in frames {
        let line = GoldenLine {
            scenario: id.to_string(),
            frame: f.index,
            source: f.source.clone(),
            width: f.image.width,
            height: f.image.height,
            condition: f.condition.clone(),
            objects: f.gt.clone(),
        };
        let json = serde_json::to_string(&line).unwrap_or_default();
        labels.update(json.as_bytes());
        labels.update(b"\n");
        pixels.update(&f.image.width.to_le_bytes());
        pixels.update(&f.image.height.to_le_bytes());
        pixels.update(&f.image.data);
        lines.push(line);
    }
    (labels.finish_hex(), pixels.finish_hex(), lines)
}

fn jsonl<T: Serialize>(items: impl Iterator<Item = T>) -> Vec<u8> {
    let mut out = Vec::new();
    for it in items {
        if let Ok(s) = serde_json::to_string(&it) {
            out.extend_from_slice(s.as_bytes());
            out.push(b'\n');
        }
    }
    out
}

pub(super) fn write_replay_files(
    dir: &Path,
    record: &RunRecord,
    traces: &[TraceData],
    golden: &[GoldenLine],
) -> Result<(), ValidateError> {
    let rows: Vec<LatencyRow> = traces
        .iter()
        .flat_map(|t| {
            t.result.samples.iter().map(|s| LatencyRow {
                scenario: t.scenario.clone(),
                engine: t.engine.clone(),
                sample: *s,
            })
        })
        .collect();
    // The stream column appears only for runs with concurrent streams.
    let streams: Option<Vec<u32>> =
        traces
            .iter()
            .any(|t| !t.result.streams.is_empty())
            .then(|| {
                traces
                    .iter()
                    .flat_map(|t| {
                        crate::streams::sample_streams(&t.result)
                            .unwrap_or_else(|| vec![0; t.result.samples.len()])
                    })
                    .collect()
            });
    let p = dir.join("latencies.csv");
    write_latencies_csv_streams(&p, &rows, streams.as_deref()).map_err(|source| {
        ValidateError::Write {
            path: p.display().to_string(),
            source,
        }
    })?;
    let dets = traces.iter().flat_map(|t| {
        t.result
            .detections
            .iter()
            .enumerate()
            .filter_map(move |(i, d)| {
                d.as_ref().map(|d| DetectionLine {
                    scenario: t.scenario.clone(),
                    engine: t.engine.clone(),
                    frame: i,
                    output_sha256: t.result.output_sha256[i].clone(),
                    detections: d.clone(),
                })
            })
    });
    write(&dir.join("detections.jsonl"), &jsonl(dets))?;
    write(&dir.join("golden.jsonl"), &jsonl(golden.iter()))?;
    if traces
        .iter()
        .any(|t| t.result.raw_outputs.iter().any(Option::is_some))
    {
        let odir = dir.join("outputs");
        std::fs::create_dir_all(&odir).map_err(|source| ValidateError::Write {
            path: odir.display().to_string(),
            source,
        })?;
        for t in traces {
            let mut buf = Vec::new();
            let mut index = Vec::new();
            for (frame, o) in t.result.raw_outputs.iter().enumerate() {
                let Some(o) = o else { continue };
                let tensors: Vec<serde_json::Value> = o
                    .iter()
                    .map(|tensor| {
                        let offset = buf.len() / 4;
                        for v in &tensor.data {
                            buf.extend_from_slice(&v.to_le_bytes());
                        }
                        serde_json::json!({"name": tensor.name, "shape": tensor.shape, "offset": offset, "len": tensor.data.len()})
                    })
                    .collect();
                index.push(serde_json::json!({"frame": frame, "tensors": tensors}));
            }
            let stem = crate::names::file_name(
                "",
                &[("engine", &t.engine), ("scenario", &t.scenario)],
                "__",
                "",
            )?;
            write(&odir.join(format!("{stem}.f32")), &buf)?;
            write(
                &odir.join(format!("{stem}.json")),
                serde_json::to_string(&serde_json::json!({
                    "format": "little-endian f32; offsets and lengths in values",
                    "frames": index
                }))
                .unwrap_or_default()
                .as_bytes(),
            )?;
        }
    }
    write_run_json(dir, record)
}

pub fn write_run_json(dir: &Path, record: &RunRecord) -> Result<(), ValidateError> {
    write(
        &dir.join("run.json"),
        serde_json::to_string_pretty(record)
            .unwrap_or_default()
            .as_bytes(),
    )
}
