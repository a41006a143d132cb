//! `sweep`: the study's concurrency experiment (its Figures 3 and 4) and run-to-run latency
//! stability (its Table XII), on any backend. Orchestration above [`crate::validate`]: for
//! each stream count N it runs the replay stage with N concurrent streams of one engine
//! into its own run directory, then derives throughput, per-stream latency percentiles,
//! GPU utilisation and the saturation point; `--runs R` repeats the single-stream replay R
//! times with a fresh engine and session each. Writes `sweep.json`, `report.md`,
//! `report.html` and `sweep.svg`, and seals the whole directory (each point's run
//! directory is sealed on its own first, so `compare`, `matrix` and `wcet` read it).

pub mod gpu;
pub mod saturation;
pub mod stats;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::exit::{Classify, Status};
use crate::lock::LockFile;
use crate::report;
use crate::validate::{self, ProgressFactory, ReplayOutcome, ValidateError, ValidateRequest};

pub use adasval_record::sweep::*;
pub use saturation::{saturation, Point};
pub use stats::{coefficient_of_variation, kruskal_wallis};

pub const SWEEP_SCHEMA_VERSION: u32 = 1;
pub const SWEEP_FILE: &str = "sweep.json";

#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    #[error(transparent)]
    Validate(#[from] ValidateError),
    #[error("{0}")]
    Input(String),
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    /// Sealing a directory failed; the evidence error keeps its own exit class.
    #[error("sealing {dir}: {source}")]
    Seal {
        dir: String,
        source: crate::evidence::EvidenceError,
    },
    #[error(transparent)]
    Evidence(#[from] crate::evidence::EvidenceError),
    #[error(transparent)]
    Report(#[from] crate::report::ReportError),
}

impl Classify for SweepError {
    fn status(&self) -> Status {
        match self {
            SweepError::Validate(e) => e.status(),
            SweepError::Input(_) => Status::BadInput,
            SweepError::Write { .. } => Status::Unavailable,
            SweepError::Seal { source, .. } => source.status(),
            SweepError::Evidence(e) => e.status(),
            SweepError::Report(e) => e.status(),
        }
    }
}

/// What to sweep. `base` carries validate's selection and timing settings; its `out` is
/// the sweep directory and its `streams` is ignored.
#[derive(Debug, Clone)]
pub struct SweepRequest {
    pub base: ValidateRequest,
    /// Stream counts to measure (sorted and de-duplicated before use).
    pub streams: Vec<u32>,
    /// Repetitions of the single-stream replay for the stability study (0: none).
    pub runs: u32,
    /// Relative throughput gain under which more streams count as buying nothing.
    pub saturation_gain: f64,
    /// Period of the `nvidia-smi` utilisation poll.
    pub gpu_interval: Duration,
}

pub const BUILD_TO_BUILD_NOTE: &str = "Build-to-build spread (the other half of the study's Table XII) is `adasval matrix`'s build-spread table: freeze several builds of the same model, run `adasval validate` (or `adasval sweep --streams 1`) for each on this platform, then `adasval matrix <run-dir>...` compares their latency distributions (Mann–Whitney) and names the layers whose kernel choice differs (docs/REGRESSION.md).";

pub struct SweepOutcome {
    pub dir: PathBuf,
    pub record: SweepRecord,
    pub status: Status,
}

fn now() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), SweepError> {
    crate::atomic::write_atomic(path, bytes).map_err(|source| SweepError::Write {
        path: path.display().to_string(),
        source,
    })
}

/// The one engine a sweep measures: `--engine`, or the lock's only engine.
fn one_engine(req: &ValidateRequest) -> Result<String, SweepError> {
    match req.engines.as_slice() {
        [one] => Ok(one.clone()),
        [] => {
            let lock = LockFile::load(&req.root).map_err(ValidateError::from)?;
            match lock.engines.as_slice() {
                [only] => Ok(only.name.clone()),
                [] => Err(SweepError::Input(format!(
                    "no engines in {}",
                    LockFile::path(&req.root).display()
                ))),
                many => Err(SweepError::Input(format!(
                    "a sweep measures one engine; choose one with --engine ({})",
                    many.iter()
                        .map(|e| e.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))),
            }
        }
        _ => Err(SweepError::Input(
            "a sweep measures one engine; give --engine once".into(),
        )),
    }
}

fn check_streams(streams: &[u32]) -> Result<Vec<u32>, SweepError> {
    let mut s = streams.to_vec();
    s.sort_unstable();
    s.dedup();
    if s.is_empty() {
        return Err(SweepError::Input(
            "--streams needs at least one count".into(),
        ));
    }
    if let Some(bad) = s
        .iter()
        .find(|&&n| n == 0 || n > crate::streams::MAX_STREAMS)
    {
        return Err(SweepError::Input(format!(
            "stream count {bad} is outside 1..={}",
            crate::streams::MAX_STREAMS
        )));
    }
    Ok(s)
}

fn prepare_dir(
    req: &ValidateRequest,
    started_at: &str,
) -> Result<crate::rundir::RunDir, SweepError> {
    let dir = req.out.clone().unwrap_or_else(|| {
        req.root.join("reports").join(format!(
            "sweep-{}-{}",
            started_at.replace([':', '-'], "").trim_end_matches('Z'),
            &crate::hash::sha256_hex(format!("{started_at}{}", std::process::id()).as_bytes())[..8]
        ))
    });
    crate::rundir::claim(&dir).map_err(|e| SweepError::Validate(e.into()))
}

/// Timed windows of a replay (each trace's first stream start to last completion).
fn windows(out: &ReplayOutcome) -> Vec<(Instant, Instant)> {
    out.traces
        .iter()
        .filter_map(|t| {
            let s = &t.result.streams;
            let a = s.iter().map(|x| x.start).min()?;
            let b = s
                .iter()
                .map(|x| x.ends.last().copied().unwrap_or(x.start))
                .max()?;
            Some((a, b))
        })
        .collect()
}

/// The figures of one point from its replay.
pub fn point_of(out: &ReplayOutcome, streams: u32, run_dir: String) -> SweepPoint {
    let mut window_ns = 0u64;
    let mut in_window = 0usize;
    let mut all_have_throughput = !out.record.traces.is_empty();
    for t in &out.record.traces {
        match &t.streams {
            Some(s) if s.throughput_fps.is_some() => {
                window_ns += s.common_window_ns;
                in_window += s.samples_in_common_window;
            }
            _ => all_have_throughput = false,
        }
    }
    let throughput_fps =
        (all_have_throughput && window_ns > 0).then(|| in_window as f64 / (window_ns as f64 / 1e9));
    let infer: Vec<u64> = out
        .traces
        .iter()
        .flat_map(|t| t.result.samples.iter().map(|s| s.infer_ns))
        .collect();
    let mut per_stream: Vec<Vec<u64>> = vec![Vec::new(); streams as usize];
    for t in &out.traces {
        for span in &t.result.streams {
            if let Some(v) = per_stream.get_mut(span.stream as usize) {
                v.extend(
                    t.result.samples[span.first_sample..span.first_sample + span.samples]
                        .iter()
                        .map(|s| s.infer_ns),
                );
            }
        }
    }
    let worst_stream = per_stream
        .iter()
        .enumerate()
        .filter(|(_, v)| !v.is_empty())
        .map(|(i, v)| WorstStream {
            stream: i as u32,
            samples: v.len(),
            latency: Percentiles::of(v),
        })
        .max_by(|a, b| a.latency.p99_ms.total_cmp(&b.latency.p99_ms));
    SweepPoint {
        streams,
        run_dir,
        complete: out.record.complete,
        samples: infer.len(),
        throughput_fps,
        common_window_s: window_ns as f64 / 1e9,
        scaling_efficiency: None,
        latency: Percentiles::of(&infer),
        worst_stream,
        deadline_misses: out.record.traces.iter().map(|t| t.deadline_misses).sum(),
        output_mismatches: out
            .record
            .traces
            .iter()
            .map(|t| t.nondeterministic_repetitions)
            .sum(),
        gpu_utilisation: gpu::GpuUtilisation::unavailable("not measured"),
    }
}

/// Scaling efficiency of every point relative to the first point with a throughput.
fn set_efficiency(points: &mut [SweepPoint]) {
    let Some((n0, x0)) = points
        .iter()
        .find_map(|p| p.throughput_fps.map(|x| (p.streams as f64, x)))
    else {
        return;
    };
    for p in points.iter_mut() {
        p.scaling_efficiency = p
            .throughput_fps
            .map(|x| x / (x0 * p.streams as f64 / n0))
            .filter(|e| e.is_finite());
    }
}

/// The stability figures of R single-stream runs (latencies in ms, one vector per run).
pub fn stability_of(runs: Vec<StabilityRun>, samples_ms: &[Vec<f64>]) -> Stability {
    let ok: Vec<&StabilityRun> = runs.iter().filter(|r| r.samples > 0).collect();
    let spread = |f: fn(&StabilityRun) -> f64| {
        (ok.len() >= 2).then(|| {
            let v: Vec<f64> = ok.iter().map(|r| f(r)).collect();
            v.iter().copied().fold(f64::NEG_INFINITY, f64::max)
                - v.iter().copied().fold(f64::INFINITY, f64::min)
        })
    };
    let medians: Vec<f64> = ok.iter().map(|r| r.median_ms).collect();
    Stability {
        median_spread_ms: spread(|r| r.median_ms),
        median_cv: coefficient_of_variation(&medians),
        p99_spread_ms: spread(|r| r.p99_ms),
        kruskal_wallis: kruskal_wallis(samples_ms),
        runs,
    }
}

/// Seal one point's run directory on its own (so compare / matrix accept it).
fn seal_dir(dir: &Path, key: Option<&ed25519_dalek::SigningKey>) -> Result<(), SweepError> {
    crate::evidence::seal(dir, key)
        .map(|_| ())
        .map_err(|source| SweepError::Seal {
            dir: dir.display().to_string(),
            source,
        })
}

/// Run the sweep. Errors (bad selection, unavailable backend) before anything was measured
/// end it at once; a failure later ends it incomplete with everything measured kept.
pub fn run(
    req: &SweepRequest,
    command_line: Vec<String>,
    progress: &dyn ProgressFactory,
    stop: &AtomicBool,
) -> Result<SweepOutcome, SweepError> {
    let started_at = now();
    let streams = check_streams(&req.streams)?;
    if !(req.saturation_gain.is_finite() && req.saturation_gain >= 0.0) {
        return Err(SweepError::Input(format!(
            "saturation gain {} must be a non-negative number",
            req.saturation_gain
        )));
    }
    let engine = one_engine(&req.base)?;
    let key = match &req.base.sign_key {
        Some(p) => Some(crate::evidence::keys::read_signing_key(p)?),
        None => None,
    };
    // Held until the sweep returns, after its directory is sealed.
    let claim = prepare_dir(&req.base, &started_at)?;
    let dir = claim.path().to_path_buf();
    let probe = gpu::probe();
    let mut reasons = Vec::new();
    let mut points = Vec::new();
    let mut first: Option<ReplayOutcome> = None;
    let mut measured_any = false;

    let replay_into = |name: &str, n: u32| -> Result<ReplayOutcome, ValidateError> {
        let mut r = req.base.clone();
        r.engines = vec![engine.clone()];
        r.out = Some(dir.join(name));
        r.streams = Some(n);
        r.keep_raw_outputs = false;
        let out = validate::replay(&r, command_line.clone(), progress, stop)?;
        // A sweep point is not judged, but keeps the latency histograms a judged run has.
        let p = out.run_dir.join("histograms.json");
        let text = crate::record::histograms_json(out.traces.iter().map(|t| {
            (
                t.scenario.as_str(),
                t.engine.as_str(),
                t.result.samples.as_slice(),
            )
        }));
        crate::atomic::write_atomic(&p, text.as_bytes()).map_err(|source| {
            ValidateError::Write {
                path: p.display().to_string(),
                source,
            }
        })?;
        Ok(out)
    };

    for &n in &streams {
        if stop.load(Ordering::SeqCst) {
            reasons.push(format!("interrupted before {n} streams"));
            break;
        }
        let name = format!("streams-{n:03}");
        let sampler = gpu::Sampler::start(&probe, req.gpu_interval);
        let out = replay_into(&name, n);
        let samples = sampler.map(gpu::Sampler::stop);
        let out = match out {
            Ok(o) => o,
            Err(e) if !measured_any => {
                // Nothing measured: leave no empty directories behind.
                let _ = std::fs::remove_dir(dir.join(&name));
                let _ = std::fs::remove_dir(&dir);
                return Err(e.into());
            }
            Err(e) => {
                reasons.push(format!("{n} streams: {e}"));
                break;
            }
        };
        measured_any = true;
        let mut p = point_of(&out, n, name.clone());
        p.gpu_utilisation = match (&probe, samples) {
            (gpu::Probe::NvidiaSmi { .. }, Some(s)) => gpu::within(&s, &windows(&out)),
            (gpu::Probe::Unavailable(reason), _) => gpu::from_tegrastats(&out.run_dir)
                .unwrap_or_else(|| gpu::GpuUtilisation::unavailable(reason.clone())),
            _ => gpu::GpuUtilisation::unavailable("sampler did not start"),
        };
        seal_dir(&out.run_dir, None)?;
        let complete = out.record.complete;
        if !complete {
            reasons.push(format!(
                "{n} streams: {}",
                out.record.incomplete_reasons.join("; ")
            ));
        }
        points.push(p);
        if first.is_none() {
            first = Some(out);
        }
        if !complete {
            break;
        }
    }
    set_efficiency(&mut points);

    let mut stability = None;
    if req.runs > 0 && reasons.is_empty() {
        let mut runs = Vec::new();
        let mut samples_ms = Vec::new();
        for r in 1..=req.runs {
            if stop.load(Ordering::SeqCst) {
                reasons.push(format!("interrupted before stability run {r}"));
                break;
            }
            let name = format!("stability-{r:02}");
            let out = match replay_into(&name, 1) {
                Ok(o) => o,
                Err(e) => {
                    reasons.push(format!("stability run {r}: {e}"));
                    break;
                }
            };
            seal_dir(&out.run_dir, None)?;
            let ns: Vec<u64> = out
                .traces
                .iter()
                .flat_map(|t| t.result.samples.iter().map(|s| s.infer_ns))
                .collect();
            let s = crate::timing::summarize(&ns);
            runs.push(StabilityRun {
                run: r,
                run_dir: name,
                complete: out.record.complete,
                samples: ns.len(),
                median_ms: s.p50 / 1e6,
                p99_ms: s.p99 / 1e6,
            });
            samples_ms.push(ns.iter().map(|&v| v as f64 / 1e6).collect::<Vec<f64>>());
            if !out.record.complete {
                reasons.push(format!(
                    "stability run {r}: {}",
                    out.record.incomplete_reasons.join("; ")
                ));
                break;
            }
        }
        stability = Some(stability_of(runs, &samples_ms));
    }

    let sat_points: Vec<Point> = points
        .iter()
        .filter(|p| p.complete)
        .filter_map(|p| {
            Some(Point {
                streams: p.streams,
                throughput_fps: p.throughput_fps?,
                p99_ms: p.latency.p99_ms,
            })
        })
        .collect();
    let sat = saturation(&sat_points, req.saturation_gain);
    let record = SweepRecord {
        schema_version: SWEEP_SCHEMA_VERSION,
        complete: reasons.is_empty(),
        incomplete_reasons: reasons,
        started_at,
        finished_at: now(),
        command_line,
        engine: first.as_ref().and_then(|o| {
            o.record.engines.first().map(|e| SweepEngine {
                name: e.name.clone(),
                sha256: e.sha256.clone(),
                format: e.format.clone(),
            })
        }),
        backend: first.as_ref().map(|o| o.record.backend.clone()),
        platform: first.as_ref().map(|o| o.record.platform.name.clone()),
        scenarios: first
            .as_ref()
            .map(|o| o.record.scenarios.iter().map(|s| s.id.clone()).collect())
            .unwrap_or_default(),
        settings: serde_json::to_value(&req.base).unwrap_or_default(),
        latency_stage: "infer".into(),
        points,
        saturation: sat,
        stability,
        build_to_build: BUILD_TO_BUILD_NOTE.into(),
    };
    write(
        &dir.join(SWEEP_FILE),
        serde_json::to_string_pretty(&record)
            .unwrap_or_default()
            .as_bytes(),
    )?;
    let svg = report::sweep_plot::sweep_svg(&record);
    write(
        &dir.join(report::sweep_section::SWEEP_SVG_FILE),
        svg.as_bytes(),
    )?;
    let doc = report::sweep_section::document(&record, &svg);
    let status = if record.complete {
        Status::Pass
    } else {
        Status::GateFailed
    };
    report::sink::write_all(
        &dir,
        &[&report::sink::REPORT_MD, &report::sink::REPORT_HTML],
        &report::Judged::document(&doc.title, &doc),
    )?;
    seal_dir(&dir, key.as_ref())?;
    Ok(SweepOutcome {
        dir,
        record,
        status,
    })
}

/// A few lines for the terminal.
pub fn summary(r: &SweepRecord) -> String {
    let mut s = format!(
        "{:>7} {:>8} {:>12} {:>10} {:>10} {:>10} {:>8}\n",
        "streams", "samples", "frames/s", "p50 ms", "p99 ms", "max ms", "GPU %"
    );
    let opt =
        |v: Option<f64>, d: usize| v.map(|x| format!("{x:.d$}")).unwrap_or_else(|| "–".into());
    for p in &r.points {
        s += &format!(
            "{:>7} {:>8} {:>12} {:>10.3} {:>10.3} {:>10.3} {:>8}{}\n",
            p.streams,
            p.samples,
            opt(p.throughput_fps, 1),
            p.latency.p50_ms,
            p.latency.p99_ms,
            p.latency.max_ms,
            opt(p.gpu_utilisation.mean_pct, 0),
            if p.complete { "" } else { "  INCOMPLETE" }
        );
    }
    s += &match r.saturation.streams {
        Some(n) => format!("saturation point: {n} streams\n"),
        None => format!("no saturation point: {}\n", r.saturation.reason),
    };
    if let Some(st) = &r.stability {
        s += &format!(
            "stability over {} runs: median spread {} ms, CV {}, Kruskal–Wallis p {}\n",
            st.runs.len(),
            opt(st.median_spread_ms, 3),
            opt(st.median_cv, 4),
            st.kruskal_wallis
                .map(|k| format!("{:.3e}", k.p_value))
                .unwrap_or_else(|| "–".into())
        );
    }
    if !r.complete {
        s += &format!("sweep INCOMPLETE: {}\n", r.incomplete_reasons.join("; "));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::EvidenceError;

    /// A sealing failure keeps the class the evidence stage gave it, not a blanket 4.
    #[test]
    fn seal_errors_keep_the_evidence_exit_class() {
        let dir = "reports/x".to_string();
        let sealed = SweepError::Seal {
            dir: dir.clone(),
            source: EvidenceError::Sealed {
                dir: PathBuf::from(&dir),
            },
        };
        assert_eq!(sealed.status(), Status::BadInput);
        assert!(sealed.to_string().contains("is sealed"), "{sealed}");
        let malformed = SweepError::Seal {
            dir: dir.clone(),
            source: EvidenceError::NotSealed {
                dir: PathBuf::from(&dir),
            },
        };
        assert_eq!(malformed.status(), Status::Integrity);
    }
}
