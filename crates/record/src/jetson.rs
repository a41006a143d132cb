//! Jetson fingerprint and `tegrastats` sampling. On a Jetson the platform fingerprint
//! ([`crate::platform::fingerprint`]) gains what decides an engine's latency there: board
//! model, L4T release, nvpmodel power mode, whether clocks are pinned (jetson_clocks), GPU
//! and EMC frequencies, temperatures and throttling. During a replay a [`TegrastatsSampler`]
//! records `tegrastats` lines into the run directory (`tegrastats.jsonl`).
//!
//! Every reader takes a filesystem root so tests run on representative trees and text;
//! formats follow NVIDIA's Jetson Linux documentation (tegrastats statistics table).

use serde::{Deserialize, Serialize};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

pub const DEFAULT_TEGRASTATS_INTERVAL_MS: u32 = 100;

/// What a Jetson was and was doing when a run started.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct JetsonInfo {
    /// `/proc/device-tree/model`, e.g. "NVIDIA Jetson Xavier NX Developer Kit".
    pub model: Option<String>,
    pub l4t: Option<L4tRelease>,
    pub nvpmodel: Option<NvpModel>,
    /// True when every CPU's and the GPU's minimum frequency equals its maximum, which is
    /// what `jetson_clocks` sets (reading its own state needs root).
    pub clocks_pinned: Option<bool>,
    pub gpu_freq: Option<Frequency>,
    pub emc_freq_hz: Option<u64>,
    pub temperatures: Vec<Temperature>,
    /// Zones at or above a passive (throttling) trip point.
    pub throttling: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct L4tRelease {
    /// e.g. "32.7.1".
    pub version: String,
    pub board: Option<String>,
    /// The JetPack release that ships this L4T, when known.
    pub jetpack: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct NvpModel {
    pub name: String,
    pub id: Option<u32>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Frequency {
    pub cur_hz: u64,
    pub min_hz: Option<u64>,
    pub max_hz: Option<u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Temperature {
    pub zone: String,
    pub celsius: f64,
}

/// `/etc/nv_tegra_release`: `# R32 (release), REVISION: 7.1, GCID: ..., BOARD: t186ref, ...`.
pub fn parse_nv_tegra_release(text: &str) -> Option<L4tRelease> {
    let line = text.lines().find(|l| l.contains("release"))?;
    let major = line
        .split_whitespace()
        .find_map(|w| w.strip_prefix('R'))
        .filter(|m| m.chars().all(|c| c.is_ascii_digit()) && !m.is_empty())?;
    let field = |key: &str| {
        line.split(',').find_map(|f| {
            let (k, v) = f.split_once(':')?;
            (k.trim() == key).then(|| v.trim().to_string())
        })
    };
    let revision = field("REVISION")?;
    let version = format!("{major}.{revision}");
    Some(L4tRelease {
        jetpack: jetpack_for(&version).map(str::to_string),
        version,
        board: field("BOARD"),
    })
}

/// L4T → JetPack for common releases (NVIDIA's JetPack archive).
fn jetpack_for(l4t: &str) -> Option<&'static str> {
    Some(match l4t {
        "32.4.3" => "4.4",
        "32.4.4" => "4.4.1",
        "32.5.0" | "32.5" => "4.5",
        "32.5.1" => "4.5.1",
        "32.6.1" => "4.6",
        "32.7.1" => "4.6.1",
        "32.7.2" => "4.6.2",
        "32.7.3" => "4.6.3",
        "32.7.4" => "4.6.4",
        "32.7.5" => "4.6.5",
        "35.1.0" => "5.0.2",
        "35.2.1" => "5.1",
        "35.3.1" => "5.1.1",
        "35.4.1" => "5.1.2",
        "35.5.0" => "5.1.3",
        "35.6.0" => "5.1.4",
        "36.2.0" => "6.0 DP",
        "36.3.0" => "6.0",
        "36.4.0" => "6.1",
        "36.4.3" => "6.2",
        _ => return None,
    })
}

/// `nvpmodel -q` prints `NV Power Mode: MODE_15W_6CORE` and then the mode id on its own line.
pub fn parse_nvpmodel_q(text: &str) -> Option<NvpModel> {
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let name = lines
        .by_ref()
        .find_map(|l| l.strip_prefix("NV Power Mode:"))?
        .trim()
        .to_string();
    let id = lines.next().and_then(|l| l.parse().ok());
    Some(NvpModel { name, id })
}

fn read(root: &Path, p: &str) -> Option<String> {
    std::fs::read_to_string(root.join(p.trim_start_matches('/')))
        .ok()
        .map(|s| s.trim().trim_end_matches('\0').to_string())
}

fn read_u64(root: &Path, p: &str) -> Option<u64> {
    read(root, p)?.parse().ok()
}

/// Whether this looks like a Jetson at all.
pub fn is_jetson(root: &Path) -> bool {
    root.join("etc/nv_tegra_release").exists()
        || read(root, "/proc/device-tree/model").is_some_and(|m| m.contains("Jetson"))
}

/// GPU devfreq node: gv11b (Xavier), ga10b (Orin), gp10b (TX2), gpu (Nano).
fn gpu_devfreq(root: &Path) -> Option<PathBuf> {
    let dir = root.join("sys/class/devfreq");
    let mut entries: Vec<PathBuf> = std::fs::read_dir(&dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    entries.into_iter().find(|p| {
        let n = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        ["gv11b", "ga10b", "gp10b", "gpu"]
            .iter()
            .any(|g| n.contains(g))
    })
}

/// Read the Jetson fingerprint under `root` (`/` on a device). `nvpmodel_q` is the output
/// of `nvpmodel -q`, when it could be run.
pub fn probe_at(root: &Path, nvpmodel_q: Option<&str>) -> JetsonInfo {
    let mut info = JetsonInfo {
        model: read(root, "/proc/device-tree/model"),
        l4t: read(root, "/etc/nv_tegra_release").and_then(|t| parse_nv_tegra_release(&t)),
        nvpmodel: nvpmodel_q.and_then(parse_nvpmodel_q),
        ..Default::default()
    };
    let gpu = gpu_devfreq(root);
    if let Some(g) = &gpu {
        let f = |n: &str| {
            std::fs::read_to_string(g.join(n))
                .ok()
                .and_then(|s| s.trim().parse::<u64>().ok())
        };
        if let Some(cur) = f("cur_freq") {
            info.gpu_freq = Some(Frequency {
                cur_hz: cur,
                min_hz: f("min_freq"),
                max_hz: f("max_freq"),
            });
        }
    }
    // EMC rate: debugfs (root only) on Xavier and Orin; absent otherwise.
    info.emc_freq_hz = [
        "/sys/kernel/debug/bpmp/debug/clk/emc/rate",
        "/sys/kernel/debug/clk/emc/clk_rate",
    ]
    .iter()
    .find_map(|p| read_u64(root, p));
    // Clocks pinned: every online CPU and the GPU have min == max.
    let mut pinned: Option<bool> = None;
    for i in 0..256 {
        let base = format!("/sys/devices/system/cpu/cpu{i}/cpufreq");
        let (Some(lo), Some(hi)) = (
            read_u64(root, &format!("{base}/scaling_min_freq")),
            read_u64(root, &format!("{base}/scaling_max_freq")),
        ) else {
            if i > 0 && !root.join(format!("sys/devices/system/cpu/cpu{i}")).exists() {
                break;
            }
            continue;
        };
        pinned = Some(pinned.unwrap_or(true) && lo == hi);
    }
    if let Some(Frequency {
        min_hz: Some(lo),
        max_hz: Some(hi),
        ..
    }) = &info.gpu_freq
    {
        pinned = Some(pinned.unwrap_or(true) && lo == hi);
    }
    info.clocks_pinned = pinned;
    // Thermal zones and passive trip points.
    if let Ok(entries) = std::fs::read_dir(root.join("sys/class/thermal")) {
        let mut zones: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("thermal_zone"))
            })
            .collect();
        zones.sort();
        for z in zones {
            let r = |n: &str| {
                std::fs::read_to_string(z.join(n))
                    .ok()
                    .map(|s| s.trim().to_string())
            };
            let (Some(kind), Some(milli)) =
                (r("type"), r("temp").and_then(|t| t.parse::<i64>().ok()))
            else {
                continue;
            };
            let celsius = milli as f64 / 1000.0;
            // Disabled sensors report -256 °C (CV and GPU zones on Orin when idle).
            if celsius <= -200.0 {
                continue;
            }
            for k in 0..16 {
                let (Some(t), Some(trip)) = (
                    r(&format!("trip_point_{k}_type")),
                    r(&format!("trip_point_{k}_temp")).and_then(|t| t.parse::<i64>().ok()),
                ) else {
                    continue;
                };
                if t == "passive" && milli >= trip {
                    info.throttling.push(format!(
                        "{kind} at {celsius:.1} C >= passive trip {:.1} C",
                        trip as f64 / 1000.0
                    ));
                    break;
                }
            }
            info.temperatures.push(Temperature {
                zone: kind,
                celsius,
            });
        }
    }
    info
}

/// Probe this machine; `None` when it is not a Jetson.
pub fn probe() -> Option<JetsonInfo> {
    let root = Path::new("/");
    if !is_jetson(root) {
        return None;
    }
    let nvp = Command::new("nvpmodel")
        .arg("-q")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned());
    Some(probe_at(root, nvp.as_deref()))
}

/// One parsed `tegrastats` line.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct TegraSample {
    /// Leading `MM-DD-YYYY HH:MM:SS` stamp of newer tegrastats, when present.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    pub ram_used_mb: Option<u64>,
    pub ram_total_mb: Option<u64>,
    pub swap_used_mb: Option<u64>,
    pub swap_total_mb: Option<u64>,
    /// Per core: (load %, MHz); `None` for a core that is off.
    pub cpu: Vec<Option<CpuLoad>>,
    pub emc_util_pct: Option<f64>,
    pub emc_freq_mhz: Option<f64>,
    pub gpu_util_pct: Option<f64>,
    /// GR3D frequency; Orin reports one per GPC (`@[305,305]`).
    pub gpu_freq_mhz: Vec<f64>,
    pub temperatures: Vec<Temperature>,
    pub power: Vec<PowerRail>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CpuLoad {
    pub pct: f64,
    pub mhz: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PowerRail {
    pub rail: String,
    pub current_mw: f64,
    pub average_mw: f64,
}

fn pct(s: &str) -> Option<f64> {
    s.strip_suffix('%')?.parse().ok()
}

/// `X/YMB` or `X/Y` → (X, Y).
fn used_total(s: &str) -> Option<(u64, u64)> {
    let s = s.trim_end_matches("MB").trim_end_matches("kB");
    let (a, b) = s.split_once('/')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

/// `X%@Y`, `X%@[Y,Z]` or `X%` → (X, [Y, Z]).
fn util_at(s: &str) -> Option<(f64, Vec<f64>)> {
    match s.split_once('@') {
        None => Some((pct(s)?, vec![])),
        Some((u, f)) => {
            let f = f.trim_start_matches('[').trim_end_matches(']');
            let freqs = f
                .split(',')
                .filter(|x| !x.is_empty())
                .map(|x| x.parse::<f64>().ok())
                .collect::<Option<Vec<_>>>()?;
            Some((pct(u)?, freqs))
        }
    }
}

/// Parse one `tegrastats` line (Xavier `VDD_IN 5000/5000` and Orin `VDD_IN 5000mW/5000mW`
/// power formats, `CPU [X%@Z,...]` and older `CPU [X%,Y%]@Z`). Unknown fields are skipped.
pub fn parse_tegrastats_line(line: &str) -> TegraSample {
    let toks: Vec<&str> = line.split_whitespace().collect();
    let mut s = TegraSample::default();
    let mut i = 0;
    if toks.len() >= 2
        && toks[0].len() == 10
        && toks[0].chars().filter(|c| *c == '-').count() == 2
        && toks[1].chars().filter(|c| *c == ':').count() == 2
    {
        s.timestamp = Some(format!("{} {}", toks[0], toks[1]));
        i = 2;
    }
    while i < toks.len() {
        let t = toks[i];
        let next = toks.get(i + 1).copied().unwrap_or("");
        match t {
            "RAM" => {
                if let Some((u, tot)) = used_total(next) {
                    s.ram_used_mb = Some(u);
                    s.ram_total_mb = Some(tot);
                    i += 1;
                }
            }
            "SWAP" => {
                if let Some((u, tot)) = used_total(next) {
                    s.swap_used_mb = Some(u);
                    s.swap_total_mb = Some(tot);
                    i += 1;
                }
            }
            "CPU" if next.starts_with('[') => {
                let (list, common) = match next.rsplit_once("]@") {
                    Some((l, f)) => (l, f.parse::<f64>().ok()),
                    None => (next.trim_end_matches(']'), None),
                };
                s.cpu = list
                    .trim_start_matches('[')
                    .split(',')
                    .map(|c| {
                        if c == "off" {
                            return None;
                        }
                        match c.split_once('@') {
                            Some((p, f)) => Some(CpuLoad {
                                pct: pct(p)?,
                                mhz: f.parse().ok(),
                            }),
                            None => Some(CpuLoad {
                                pct: pct(c)?,
                                mhz: common,
                            }),
                        }
                    })
                    .collect();
                i += 1;
            }
            "EMC_FREQ" => {
                if let Some((u, f)) = util_at(next) {
                    s.emc_util_pct = Some(u);
                    s.emc_freq_mhz = f.first().copied();
                    i += 1;
                }
            }
            "GR3D_FREQ" => {
                if let Some((u, f)) = util_at(next) {
                    s.gpu_util_pct = Some(u);
                    s.gpu_freq_mhz = f;
                    i += 1;
                }
            }
            _ => {
                if let Some((name, temp)) = t.split_once('@') {
                    if let Some(c) = temp.strip_suffix('C').and_then(|c| c.parse::<f64>().ok()) {
                        // -256 C marks a sensor that is powered off.
                        if c > -200.0 {
                            s.temperatures.push(Temperature {
                                zone: name.to_string(),
                                celsius: c,
                            });
                        }
                    }
                } else if is_rail_name(t) {
                    let v = next.replace("mW", "");
                    if let Some((c, a)) = v.split_once('/') {
                        if let (Ok(c), Ok(a)) = (c.parse::<f64>(), a.parse::<f64>()) {
                            s.power.push(PowerRail {
                                rail: t.to_string(),
                                current_mw: c,
                                average_mw: a,
                            });
                            i += 1;
                        }
                    }
                }
            }
        }
        i += 1;
    }
    s
}

/// Power rail names are upper-case identifiers (VDD_IN, VDD_CPU_GPU_CV, VIN_SYS_5V0,
/// Xavier NX's bare GPU / CPU / SOC); the value token after them is checked separately.
fn is_rail_name(t: &str) -> bool {
    !t.is_empty()
        && t.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        && t.chars().next().is_some_and(|c| c.is_ascii_uppercase())
}

/// Find a program on PATH.
pub fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

/// Runs `tegrastats --interval N` during a replay; each line is parsed and appended to a
/// JSON-lines file with the time since sampling started.
pub struct TegrastatsSampler {
    child: Child,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl TegrastatsSampler {
    /// Start `program --interval ms`, writing to `out`. `None` when it cannot start.
    pub fn start(program: &Path, interval_ms: u32, out: &Path) -> Option<Self> {
        let mut child = Command::new(program)
            .arg("--interval")
            .arg(interval_ms.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .stdin(Stdio::null())
            .spawn()
            .ok()?;
        let stdout = child.stdout.take()?;
        let mut file = std::fs::File::create(out).ok()?;
        let t0 = Instant::now();
        let reader = std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if line.trim().is_empty() {
                    continue;
                }
                let v = serde_json::json!({
                    "t_ms": t0.elapsed().as_secs_f64() * 1e3,
                    "sample": parse_tegrastats_line(&line),
                    "raw": line,
                });
                if writeln!(file, "{v}").is_err() {
                    break;
                }
            }
        });
        Some(Self {
            child,
            reader: Some(reader),
        })
    }

    /// Start only where `tegrastats` is on PATH (a Jetson).
    pub fn start_if_available(out: &Path, interval_ms: u32) -> Option<Self> {
        Self::start(&which("tegrastats")?, interval_ms, out)
    }

    /// Stop the child this sampler started and wait for the last line to be written.
    pub fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
    }
}

impl Drop for TegrastatsSampler {
    fn drop(&mut self) {
        if self.reader.is_some() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Representative lines in the formats of NVIDIA's tegrastats documentation
    // (Jetson Linux developer guide, "tegrastats Utility" statistics table).
    const XAVIER: &str = "RAM 2448/7764MB (lfb 1x4MB) SWAP 0/3882MB (cached 0MB) CPU [3%@1190,1%@1190,0%@1190,1%@1190,off,off] EMC_FREQ 4%@1600 GR3D_FREQ 57%@1100 APE 150 MTS fg 0% bg 0% AO@37.5C GPU@36.5C PMIC@100C AUX@36.5C CPU@37.5C thermal@36.8C VDD_IN 5000/4820 VDD_CPU_GPU_CV 1149/1021 VDD_SOC 1149/1149";
    const ORIN: &str = "11-26-2026 09:14:07 RAM 3345/30536MB (lfb 5434x4MB) SWAP 0/15268MB (cached 0MB) CPU [2%@729,1%@729,0%@729,0%@729,off,off,off,off] EMC_FREQ 0%@2133 GR3D_FREQ 12%@[305,305] VIC_FREQ 115 APE 174 CV0@-256C CPU@46.468C SOC2@42.5C tj@46.468C GPU@-256C VDD_GPU_SOC 2400mW/2390mW VDD_CPU_CV 400mW/400mW VIN_SYS_5V0 2619mW/2619mW";
    const OLD_CPU: &str =
        "RAM 1200/3964MB (lfb 400x4MB) CPU [12%,5%,off,3%]@1428 EMC_FREQ 7% GR3D_FREQ 0% PLL@31C";

    #[test]
    fn xavier_line() {
        let s = parse_tegrastats_line(XAVIER);
        assert_eq!((s.ram_used_mb, s.ram_total_mb), (Some(2448), Some(7764)));
        assert_eq!((s.swap_used_mb, s.swap_total_mb), (Some(0), Some(3882)));
        assert_eq!(s.cpu.len(), 6);
        assert_eq!(
            s.cpu[0],
            Some(CpuLoad {
                pct: 3.0,
                mhz: Some(1190.0)
            })
        );
        assert_eq!(s.cpu[5], None);
        assert_eq!((s.emc_util_pct, s.emc_freq_mhz), (Some(4.0), Some(1600.0)));
        assert_eq!(
            (s.gpu_util_pct, s.gpu_freq_mhz.clone()),
            (Some(57.0), vec![1100.0])
        );
        assert!(s.temperatures.contains(&Temperature {
            zone: "GPU".into(),
            celsius: 36.5
        }));
        assert_eq!(s.temperatures.len(), 6);
        assert_eq!(s.power.len(), 3);
        assert_eq!(
            s.power[0],
            PowerRail {
                rail: "VDD_IN".into(),
                current_mw: 5000.0,
                average_mw: 4820.0
            }
        );
        assert_eq!(s.timestamp, None);
    }

    #[test]
    fn orin_line() {
        let s = parse_tegrastats_line(ORIN);
        assert_eq!(s.timestamp.as_deref(), Some("11-26-2026 09:14:07"));
        assert_eq!(s.ram_total_mb, Some(30536));
        assert_eq!(s.cpu.iter().filter(|c| c.is_none()).count(), 4);
        assert_eq!(s.gpu_util_pct, Some(12.0));
        assert_eq!(s.gpu_freq_mhz, vec![305.0, 305.0]);
        // -256 C sensors (powered off) are dropped.
        let zones: Vec<&str> = s.temperatures.iter().map(|t| t.zone.as_str()).collect();
        assert_eq!(zones, ["CPU", "SOC2", "tj"]);
        assert_eq!(s.power.len(), 3);
        assert_eq!(s.power[0].rail, "VDD_GPU_SOC");
        assert_eq!(
            (s.power[0].current_mw, s.power[0].average_mw),
            (2400.0, 2390.0)
        );
        assert!(!s
            .power
            .iter()
            .any(|p| p.rail == "APE" || p.rail == "VIC_FREQ"));
    }

    #[test]
    fn old_cpu_format() {
        let s = parse_tegrastats_line(OLD_CPU);
        assert_eq!(s.cpu.len(), 4);
        assert_eq!(
            s.cpu[1],
            Some(CpuLoad {
                pct: 5.0,
                mhz: Some(1428.0)
            })
        );
        assert_eq!(s.cpu[2], None);
        assert_eq!((s.emc_util_pct, s.emc_freq_mhz), (Some(7.0), None));
        assert_eq!(s.swap_total_mb, None);
    }

    #[test]
    fn release_and_nvpmodel() {
        let r = parse_nv_tegra_release(
            "# R32 (release), REVISION: 7.1, GCID: 29818004, BOARD: t186ref, EABI: aarch64, DATE: Sat Feb 19 17:05:08 UTC 2022\n",
        )
        .unwrap();
        assert_eq!(r.version, "32.7.1");
        assert_eq!(r.board.as_deref(), Some("t186ref"));
        assert_eq!(r.jetpack.as_deref(), Some("4.6.1"));
        let r = parse_nv_tegra_release("# R35 (release), REVISION: 4.1, GCID: 33958178, BOARD: t186ref, EABI: aarch64, DATE: Tue Aug  1 19:57:35 UTC 2023").unwrap();
        assert_eq!(
            (r.version.as_str(), r.jetpack.as_deref()),
            ("35.4.1", Some("5.1.2"))
        );
        assert!(parse_nv_tegra_release("garbage").is_none());
        let m = parse_nvpmodel_q("NV Fan Mode:quiet\nNV Power Mode: MODE_15W_6CORE\n2\n").unwrap();
        assert_eq!(
            m,
            NvpModel {
                name: "MODE_15W_6CORE".into(),
                id: Some(2)
            }
        );
        assert!(parse_nvpmodel_q("nothing").is_none());
    }

    fn put(root: &Path, p: &str, v: &str) {
        let f = root.join(p);
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        std::fs::write(f, v).unwrap();
    }

    #[test]
    fn probe_a_fake_xavier_tree() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        put(
            r,
            "proc/device-tree/model",
            "NVIDIA Jetson Xavier NX Developer Kit\0",
        );
        put(
            r,
            "etc/nv_tegra_release",
            "# R32 (release), REVISION: 7.1, GCID: 1, BOARD: t186ref, EABI: aarch64, DATE: x\n",
        );
        for c in 0..2 {
            put(
                r,
                &format!("sys/devices/system/cpu/cpu{c}/cpufreq/scaling_min_freq"),
                "1190400",
            );
            put(
                r,
                &format!("sys/devices/system/cpu/cpu{c}/cpufreq/scaling_max_freq"),
                "1190400",
            );
        }
        let g = "sys/class/devfreq/17000000.gv11b";
        put(r, &format!("{g}/cur_freq"), "1109250000");
        put(r, &format!("{g}/min_freq"), "1109250000");
        put(r, &format!("{g}/max_freq"), "1109250000");
        put(r, "sys/class/thermal/thermal_zone0/type", "GPU-therm");
        put(r, "sys/class/thermal/thermal_zone0/temp", "97500");
        put(
            r,
            "sys/class/thermal/thermal_zone0/trip_point_0_type",
            "passive",
        );
        put(
            r,
            "sys/class/thermal/thermal_zone0/trip_point_0_temp",
            "96000",
        );
        put(r, "sys/class/thermal/thermal_zone1/type", "CV0-therm");
        put(r, "sys/class/thermal/thermal_zone1/temp", "-256000");
        assert!(is_jetson(r));
        let i = probe_at(r, Some("NV Power Mode: MODE_20W_6CORE\n8\n"));
        assert_eq!(
            i.model.as_deref(),
            Some("NVIDIA Jetson Xavier NX Developer Kit")
        );
        assert_eq!(i.l4t.as_ref().map(|l| l.version.as_str()), Some("32.7.1"));
        assert_eq!(i.nvpmodel.as_ref().and_then(|m| m.id), Some(8));
        assert_eq!(i.clocks_pinned, Some(true));
        assert_eq!(i.gpu_freq.as_ref().map(|g| g.cur_hz), Some(1_109_250_000));
        assert_eq!(i.temperatures.len(), 1);
        assert_eq!(i.throttling.len(), 1, "{:?}", i.throttling);
        // Unpin one CPU: no longer pinned.
        put(
            r,
            "sys/devices/system/cpu/cpu1/cpufreq/scaling_min_freq",
            "115200",
        );
        assert_eq!(probe_at(r, None).clocks_pinned, Some(false));
        assert!(!is_jetson(&r.join("nowhere")));
    }

    #[test]
    fn sampler_records_a_fake_tegrastats() {
        let d = tempfile::tempdir().unwrap();
        let script = d.path().join("tegrastats");
        std::fs::write(
            &script,
            format!("#!/bin/sh\n[ \"$1\" = --interval ] || exit 3\nwhile true; do echo '{XAVIER}'; sleep 0.02; done\n"),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let out = d.path().join("tegrastats.jsonl");
        let s = TegrastatsSampler::start(&script, 20, &out).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(300));
        s.stop();
        let text = std::fs::read_to_string(&out).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert!(lines.len() >= 2, "{text}");
        assert_eq!(lines[0]["sample"]["gpu_util_pct"], 57.0);
    }
}
