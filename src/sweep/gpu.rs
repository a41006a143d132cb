//! GPU utilisation during a sweep point: `nvidia-smi` polled from a background thread
//! (NVML's utilisation counter, as the study reports it), or the Jetson `tegrastats`
//! samples the replay already records. Where neither exists the figure is `null` with the
//! reason, never a guess.

pub use adasval_record::sweep::GpuUtilisation;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Command that prints the utilisation (tests point it at a fake).
pub const NVIDIA_SMI_ENV: &str = "ADASVAL_NVIDIA_SMI";

/// How utilisation can be read on this machine.
#[derive(Debug, Clone)]
pub enum Probe {
    NvidiaSmi { program: PathBuf, args: Vec<String> },
    Unavailable(String),
}

/// The GPU to watch: the first entry of CUDA_VISIBLE_DEVICES when it is an index, else 0.
fn gpu_index() -> String {
    std::env::var("CUDA_VISIBLE_DEVICES")
        .ok()
        .and_then(|v| v.split(',').next().map(str::trim).map(str::to_string))
        .filter(|v| !v.is_empty() && v.chars().all(|c| c.is_ascii_digit()))
        .unwrap_or_else(|| "0".into())
}

fn parse_pct(stdout: &[u8]) -> Option<f64> {
    String::from_utf8_lossy(stdout)
        .lines()
        .next()?
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
}

fn query(program: &Path, args: &[String]) -> Result<f64, String> {
    let o = Command::new(program)
        .args(args)
        .output()
        .map_err(|e| format!("{}: {e}", program.display()))?;
    if !o.status.success() {
        return Err(format!(
            "{} exited with {}: {}",
            program.display(),
            o.status,
            String::from_utf8_lossy(&o.stderr).trim()
        ));
    }
    parse_pct(&o.stdout).ok_or_else(|| {
        format!(
            "{} printed no utilisation: {:?}",
            program.display(),
            String::from_utf8_lossy(&o.stdout).trim()
        )
    })
}

/// Find `nvidia-smi` (or the command in `ADASVAL_NVIDIA_SMI`) and check one query works.
pub fn probe() -> Probe {
    let program = match std::env::var_os(NVIDIA_SMI_ENV) {
        Some(p) => PathBuf::from(p),
        None => match crate::jetson::which("nvidia-smi") {
            Some(p) => p,
            None => return Probe::Unavailable("nvidia-smi not found on PATH".into()),
        },
    };
    let args = vec![
        "--query-gpu=utilization.gpu".to_string(),
        "--format=csv,noheader,nounits".to_string(),
        "-i".to_string(),
        gpu_index(),
    ];
    match query(&program, &args) {
        Ok(_) => Probe::NvidiaSmi { program, args },
        Err(e) => Probe::Unavailable(e),
    }
}

/// Polls `nvidia-smi` until stopped; samples carry their instant so that only those
/// inside the timed windows are counted.
pub struct Sampler {
    stop: Arc<AtomicBool>,
    handle: std::thread::JoinHandle<Vec<(Instant, f64)>>,
}

impl Sampler {
    pub fn start(probe: &Probe, interval: Duration) -> Option<Self> {
        let Probe::NvidiaSmi { program, args } = probe.clone() else {
            return None;
        };
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::spawn(move || {
            let mut out = Vec::new();
            while !flag.load(Ordering::Relaxed) {
                let t0 = Instant::now();
                if let Ok(v) = query(&program, &args) {
                    // The counter covers the last sample period: stamp it with the query's midpoint.
                    out.push((t0 + t0.elapsed() / 2, v));
                }
                let spent = t0.elapsed();
                if spent < interval {
                    std::thread::sleep(interval - spent);
                }
            }
            out
        });
        Some(Self { stop, handle })
    }

    pub fn stop(self) -> Vec<(Instant, f64)> {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.join().unwrap_or_default()
    }
}

/// Utilisation from samples that fall inside any of `windows`.
pub fn within(samples: &[(Instant, f64)], windows: &[(Instant, Instant)]) -> GpuUtilisation {
    let v: Vec<f64> = samples
        .iter()
        .filter(|(t, _)| windows.iter().any(|(a, b)| t >= a && t <= b))
        .map(|s| s.1)
        .collect();
    GpuUtilisation::from_samples(
        "nvidia-smi",
        &v,
        "no nvidia-smi sample fell inside the timed windows (windows shorter than the sampling interval)",
    )
}

/// Jetson: mean GR3D utilisation from the replay's `tegrastats.jsonl`, when present.
pub fn from_tegrastats(run_dir: &Path) -> Option<GpuUtilisation> {
    let text = std::fs::read_to_string(run_dir.join("tegrastats.jsonl")).ok()?;
    let v: Vec<f64> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|j| j.pointer("/sample/gpu_util_pct").and_then(|v| v.as_f64()))
        .collect();
    Some(GpuUtilisation::from_samples(
        "tegrastats",
        &v,
        "tegrastats reported no GR3D utilisation",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_first_gpu_line() {
        assert_eq!(parse_pct(b"37\n12\n"), Some(37.0));
        assert_eq!(parse_pct(b" 5 \n"), Some(5.0));
        assert_eq!(parse_pct(b"[N/A]\n"), None);
        assert_eq!(parse_pct(b""), None);
    }

    #[test]
    fn jetson_gr3d_load_from_the_replay_tegrastats_file() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(from_tegrastats(dir.path()), None);
        let line = |pct: Option<f64>| {
            serde_json::json!({"t_ms": 1.0, "sample": {"gpu_util_pct": pct}, "raw": "x"})
                .to_string()
        };
        std::fs::write(
            dir.path().join("tegrastats.jsonl"),
            [line(Some(57.0)), line(None), line(Some(13.0))].join("\n"),
        )
        .unwrap();
        let u = from_tegrastats(dir.path()).unwrap();
        assert_eq!(
            (u.mean_pct, u.max_pct, u.samples),
            (Some(35.0), Some(57.0), 2)
        );
        assert_eq!(u.source.as_deref(), Some("tegrastats"));
    }

    #[test]
    fn only_samples_inside_windows_count() {
        let t0 = Instant::now();
        let at = |ms| t0 + Duration::from_millis(ms);
        let s = vec![(at(0), 0.0), (at(10), 80.0), (at(20), 100.0), (at(30), 0.0)];
        let u = within(&s, &[(at(5), at(25))]);
        assert_eq!(
            (u.mean_pct, u.max_pct, u.samples),
            (Some(90.0), Some(100.0), 2)
        );
        let u = within(&s, &[(at(11), at(19))]);
        assert_eq!(u.mean_pct, None);
        assert!(u.unavailable.is_some());
    }
}
