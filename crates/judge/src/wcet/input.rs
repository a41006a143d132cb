//! Reading latency traces: one value per line, a column of a headed CSV, a trtexec
//! `--exportTimes` JSON (new and old key names), or a run directory written by replay
//! (`latencies.csv` + `run.json`), analysed per (engine, scenario).

use super::{analyse, Analysis, WcetSettings};
use adasval_core::exit::{Classify, Status};
use adasval_core::timing::MAX_LATENCY_NS;
use adasval_record::record::{
    read_latencies_csv, read_run_header, RecordError, RunHeader, RUN_FILE,
};
use adasval_record::trace::Sample;
use adasval_record::trtexec_export::{parse_times, ExportError};
use adasval_record::units::{self, PoolTest, TraceUnit};
use serde::Serialize;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum WcetError {
    #[error("no samples to analyse")]
    Empty,
    #[error("sample {index} (0-based, acquisition order) is not a finite non-negative number")]
    NonFinite { index: usize },
    #[error("cannot read {path}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}: {what}")]
    Parse {
        path: PathBuf,
        line: usize,
        what: String,
    },
    #[error("{path}: invalid JSON")]
    Json {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("{path}: record {index}: field `{field}` {what}")]
    Field {
        path: PathBuf,
        index: usize,
        field: String,
        what: String,
    },
    #[error("{path}: {what}")]
    Format { path: PathBuf, what: String },
    /// A run directory's records, through the run record's readers.
    #[error(transparent)]
    Record(#[from] RecordError),
    #[error(transparent)]
    Export(#[from] ExportError),
}

impl Classify for WcetError {
    fn status(&self) -> Status {
        Status::BadInput
    }
}

/// Where one trace comes from.
#[derive(Debug, Clone, Default)]
pub struct SampleSource {
    pub path: PathBuf,
    /// Column of a headed CSV.
    pub column: Option<String>,
    /// Field of a trtexec `--exportTimes` record (default `latencyMs`).
    pub field: Option<String>,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> WcetError + '_ {
    move |source| WcetError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Splits one CSV line (double quotes protect commas; "" is an escaped quote).
fn split_csv(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    out.push(cur);
    out.into_iter().map(|s| s.trim().to_string()).collect()
}

fn parse_num(path: &Path, line: usize, s: &str) -> Result<f64, WcetError> {
    let v: f64 = s.parse().map_err(|_| WcetError::Parse {
        path: path.to_path_buf(),
        line,
        what: format!("`{s}` is not a number"),
    })?;
    if !v.is_finite() {
        return Err(WcetError::Parse {
            path: path.to_path_buf(),
            line,
            what: format!("`{s}` is not finite"),
        });
    }
    if v < 0.0 {
        return Err(WcetError::Parse {
            path: path.to_path_buf(),
            line,
            what: format!("`{s}` is negative: a latency is at least 0"),
        });
    }
    // The unit is only a label here, so the bound is an hour in the finest unit (ns).
    if v > MAX_LATENCY_NS as f64 {
        return Err(WcetError::Parse {
            path: path.to_path_buf(),
            line,
            what: format!(
                "`{s}` is out of range: no latency exceeds {MAX_LATENCY_NS} (one hour in ns)"
            ),
        });
    }
    Ok(v)
}

/// One field of every `--exportTimes` record, read through the run record's one reader of
/// the format (its legacy-key rules: `adasval_record::trtexec_export`).
fn read_trtexec(path: &Path, text: &str, field: &str) -> Result<Vec<f64>, WcetError> {
    let v: serde_json::Value = serde_json::from_str(text).map_err(|source| WcetError::Json {
        path: path.to_path_buf(),
        source,
    })?;
    let times = parse_times(path, &v)?;
    times
        .samples
        .iter()
        .enumerate()
        .map(|(i, s)| {
            s.field(field).ok_or_else(|| WcetError::Field {
                path: path.to_path_buf(),
                index: i,
                field: field.into(),
                what: "is not in this export (name another with --field: latencyMs, \
                       computeMs, h2dMs, d2hMs, endToEndMs in legacy files, ...)"
                    .into(),
            })
        })
        .collect()
}

fn read_csv(path: &Path, text: &str, column: Option<&str>) -> Result<Vec<f64>, WcetError> {
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let mut out = Vec::new();
    match column {
        Some(col) => {
            let Some((_, header)) = lines.next() else {
                return Ok(out);
            };
            let names = split_csv(header);
            let idx = names
                .iter()
                .position(|h| h == col)
                .ok_or_else(|| WcetError::Parse {
                    path: path.to_path_buf(),
                    line: 1,
                    what: format!("column `{col}` not in header ({})", names.join(", ")),
                })?;
            for (i, l) in lines {
                let f = split_csv(l);
                let cell = f.get(idx).ok_or_else(|| WcetError::Parse {
                    path: path.to_path_buf(),
                    line: i + 1,
                    what: format!(
                        "only {} fields, column `{col}` is field {}",
                        f.len(),
                        idx + 1
                    ),
                })?;
                out.push(parse_num(path, i + 1, cell)?);
            }
        }
        None => {
            for (k, (i, l)) in lines.enumerate() {
                let t = l.trim();
                if t.contains(',') {
                    return Err(WcetError::Parse {
                        path: path.to_path_buf(),
                        line: i + 1,
                        what: "several columns: name one with --column".into(),
                    });
                }
                // a one-column file may carry a header
                if k == 0
                    && t.parse::<f64>().is_err()
                    && t.chars().any(|c| c.is_alphabetic())
                    && t != "nan"
                    && t != "inf"
                {
                    continue;
                }
                out.push(parse_num(path, i + 1, t)?);
            }
        }
    }
    Ok(out)
}

/// Reads one trace in acquisition order.
pub fn read_samples(src: &SampleSource) -> Result<Vec<f64>, WcetError> {
    let path = &src.path;
    let text = std::fs::read_to_string(path).map_err(io_err(path))?;
    let is_json = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
        || text.trim_start().starts_with('[');
    if is_json {
        read_trtexec(path, &text, src.field.as_deref().unwrap_or("latencyMs"))
    } else {
        if src.field.is_some() {
            return Err(WcetError::Format {
                path: path.clone(),
                what: "--field applies to trtexec JSON; use --column for CSV".into(),
            });
        }
        read_csv(path, &text, src.column.as_deref())
    }
}

/// One trace of a run directory.
#[derive(Debug, Clone)]
pub struct RunTrace {
    pub engine: String,
    pub engine_sha256: Option<String>,
    pub scenario: String,
    pub platform: String,
    pub samples: Vec<f64>,
}

impl RunTrace {
    /// The units that measured this trace, from the run's header.
    fn units(&self, header: &RunHeader) -> (Vec<TraceUnit>, Option<PoolTest>) {
        units::of_trace(
            header.settings.as_ref().map(|s| &s.effective),
            header
                .platform
                .as_ref()
                .and_then(|p| p.fingerprint.as_ref())
                .map(|f| f.hostname.as_str()),
            &self.platform,
            &self.engine,
            &self.scenario,
            self.samples.len(),
        )
    }
}

/// Reads `latencies.csv` (+ `run.json`) of a run directory through the run record's
/// readers, one trace per (engine, scenario) in order of first appearance, for stage
/// pre|infer|post|total (nanoseconds).
pub fn read_run_dir(dir: &Path, stage: &str) -> Result<Vec<RunTrace>, WcetError> {
    let header = read_run_header(dir)?;
    let run_json = dir.join(RUN_FILE);
    let platform = header
        .platform
        .map(|p| p.name)
        .ok_or_else(|| WcetError::Format {
            path: run_json,
            what: "missing platform.name".into(),
        })?;
    let pick: fn(&Sample) -> u64 = match stage {
        "pre" => |s| s.pre_ns,
        "infer" => |s| s.infer_ns,
        "post" => |s| s.post_ns,
        "total" => |s| s.total_ns,
        other => {
            return Err(WcetError::Format {
                path: dir.join("latencies.csv"),
                what: format!("no stage `{other}` (pre, infer, post, total)"),
            })
        }
    };
    let rows = read_latencies_csv(&dir.join("latencies.csv"))?;
    let mut traces: Vec<RunTrace> = Vec::new();
    for r in rows {
        let v = pick(&r.sample) as f64;
        match traces
            .iter_mut()
            .find(|t| t.engine == r.engine && t.scenario == r.scenario)
        {
            Some(t) => t.samples.push(v),
            None => traces.push(RunTrace {
                engine_sha256: header
                    .engines
                    .iter()
                    .find(|e| e.name == r.engine)
                    .map(|e| e.sha256.clone()),
                engine: r.engine,
                scenario: r.scenario,
                platform: platform.clone(),
                samples: vec![v],
            }),
        }
    }
    Ok(traces)
}

#[derive(Debug, Clone, Serialize)]
pub struct TraceAnalysis {
    pub engine: String,
    pub engine_sha256: Option<String>,
    pub scenario: String,
    pub platform: String,
    /// The boards whose samples make this trace (one, unless pooled by `merge --pool-units`).
    pub units: Vec<TraceUnit>,
    /// The homogeneity test that allowed pooling several units.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pooling: Option<PoolTest>,
    #[serde(flatten)]
    pub analysis: Analysis,
}

#[derive(Debug, Clone, Serialize)]
pub struct RunAnalyses {
    pub analyses: Vec<TraceAnalysis>,
}

/// Analyses every (engine, scenario) trace of a run directory for `settings.stage`.
pub fn analyse_run_dir(dir: &Path, settings: &WcetSettings) -> Result<RunAnalyses, WcetError> {
    // Run directories record nanoseconds; every human-facing figure is in milliseconds,
    // as in `validate`'s own WCET table.
    let mut s = settings.clone();
    s.unit = "ms".into();
    let traces = read_run_dir(dir, &s.stage)?;
    let header = read_run_header(dir)?;
    let mut analyses = Vec::new();
    for t in traces {
        let ms: Vec<f64> = t.samples.iter().map(|v| v / 1e6).collect();
        let analysis = analyse(&ms, &s)?;
        let (units, pooling) = t.units(&header);
        analyses.push(TraceAnalysis {
            units,
            pooling,
            engine: t.engine,
            engine_sha256: t.engine_sha256,
            scenario: t.scenario,
            platform: t.platform,
            analysis,
        });
    }
    Ok(RunAnalyses { analyses })
}
