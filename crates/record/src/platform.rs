//! Platforms: a named profile (`platforms/*.yaml`, what the hardware is) plus the
//! fingerprint measured at run time (what it was doing). Every run record carries both.

use serde::{Deserialize, Serialize};
use std::path::Path;

use adasval_core::yamlfile::{self, YamlError};

/// A platform profile as written in `platforms/<name>.yaml`. Every hardware field is
/// optional: profiles describe what is known.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PlatformProfile {
    pub schema_version: u32,
    pub name: String,
    /// cpu | gpu | jetson
    pub kind: String,
    #[serde(default)]
    pub description: String,
    /// Relative capability used to call one platform "bigger" than another (higher is bigger).
    #[serde(default)]
    pub rank: Option<f64>,
    #[serde(default)]
    pub cpu: Option<CpuSpec>,
    #[serde(default)]
    pub gpu: Option<GpuSpec>,
    #[serde(default)]
    pub memory: Option<MemorySpec>,
    /// How to recognise this platform from a fingerprint: substrings of the CPU model,
    /// GPU name or device-tree model.
    #[serde(default)]
    pub detect: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CpuSpec {
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub cores: Option<u32>,
    #[serde(default)]
    pub max_freq_mhz: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct GpuSpec {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub architecture: Option<String>,
    #[serde(default)]
    pub compute_capability: Option<String>,
    #[serde(default)]
    pub sms: Option<u32>,
    #[serde(default)]
    pub cuda_cores: Option<u32>,
    #[serde(default)]
    pub tensor_cores: Option<u32>,
    #[serde(default)]
    pub max_freq_mhz: Option<f64>,
    #[serde(default)]
    pub memory_gib: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MemorySpec {
    #[serde(default)]
    pub size_gib: Option<f64>,
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub bus_width_bits: Option<u32>,
    #[serde(default)]
    pub bandwidth_gbps: Option<f64>,
}

#[derive(Debug, thiserror::Error)]
pub enum PlatformError {
    #[error(transparent)]
    Yaml(#[from] YamlError),
    #[error("unknown platform `{name}`: no platforms/{name}.yaml (known: {known})")]
    Unknown { name: String, known: String },
    #[error(transparent)]
    Path(#[from] adasval_core::paths::PathEscape),
    #[error("{path}: field `name`: {source}")]
    Name {
        path: String,
        source: adasval_core::names::NameError,
    },
}

impl adasval_core::exit::Classify for PlatformError {
    fn status(&self) -> adasval_core::exit::Status {
        adasval_core::exit::Status::BadInput
    }
}

/// All profiles under `<root>/platforms`, sorted by name.
pub fn load_profiles(root: &Path) -> Result<Vec<PlatformProfile>, PlatformError> {
    let mut out = Vec::new();
    let dir = root.join("platforms");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Ok(out);
    };
    let mut paths: Vec<_> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    paths.sort();
    for p in paths {
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        adasval_core::paths::resolve_inside(root, &dir, &name)?;
        let profile = yamlfile::load::<PlatformProfile>(&p)?;
        adasval_core::names::check("platform", &profile.name).map_err(|source| {
            PlatformError::Name {
                path: p.display().to_string(),
                source,
            }
        })?;
        out.push(profile);
    }
    Ok(out)
}

/// The name of the GPU profile whose `detect` patterns match a GPU's name (e.g. the card a
/// GPU plan was built on), so build and run platforms are named alike in runs and matrices.
pub fn gpu_profile_name(root: &Path, gpu_name: &str) -> Option<String> {
    let name = gpu_name.to_lowercase();
    load_profiles(root)
        .ok()?
        .into_iter()
        .find(|p| {
            p.kind == "gpu"
                && p.detect
                    .iter()
                    .any(|d| !d.is_empty() && name.contains(&d.to_lowercase()))
        })
        .map(|p| p.name)
}

/// The profile named by the user, or the one whose `detect` patterns match the fingerprint.
pub fn resolve(
    root: &Path,
    requested: Option<&str>,
    fp: &Fingerprint,
) -> Result<PlatformProfile, PlatformError> {
    let profiles = load_profiles(root)?;
    if let Some(name) = requested {
        return profiles
            .iter()
            .find(|p| p.name == name)
            .cloned()
            .ok_or_else(|| PlatformError::Unknown {
                name: name.to_string(),
                known: profiles
                    .iter()
                    .map(|p| p.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
    }
    let haystack = format!(
        "{} {} {}",
        fp.cpu_model,
        fp.gpus
            .iter()
            .map(|g| g.name.as_str())
            .collect::<Vec<_>>()
            .join(" "),
        fp.device_model.clone().unwrap_or_default()
    )
    .to_lowercase();
    let matched = profiles.iter().find(|p| {
        p.detect
            .iter()
            .any(|d| !d.is_empty() && haystack.contains(&d.to_lowercase()))
    });
    Ok(matched.cloned().unwrap_or_else(|| PlatformProfile {
        schema_version: 1,
        name: format!("detected-{}", std::env::consts::ARCH),
        kind: "cpu".into(),
        description: format!("no profile matched; detected {}", fp.cpu_model),
        rank: None,
        cpu: Some(CpuSpec {
            model: Some(fp.cpu_model.clone()),
            cores: Some(fp.logical_cores),
            max_freq_mhz: None,
        }),
        gpu: None,
        memory: None,
        detect: vec![],
    }))
}

/// What the machine was at run time.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct Fingerprint {
    pub hostname: String,
    pub arch: String,
    pub cpu_model: String,
    pub logical_cores: u32,
    pub governor: Option<String>,
    /// Current frequency of each CPU in MHz, when the kernel exposes it.
    pub cur_freq_mhz: Vec<f64>,
    pub os: String,
    pub kernel: String,
    pub memory_total_kib: Option<u64>,
    pub gpus: Vec<GpuFingerprint>,
    /// Device-tree model (Jetson and other embedded boards).
    pub device_model: Option<String>,
    pub tool_version: String,
    pub git_commit: Option<String>,
    pub git_dirty: Option<bool>,
    pub binary_sha256: Option<String>,
    /// Jetson board state (power mode, clocks, temperatures), on a Jetson only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jetson: Option<crate::jetson::JetsonInfo>,
    /// The GPU a `cuda` run used: identity, versions, and its state before and after.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu: Option<GpuRecord>,
}

/// GPU identity (driver attributes, library versions) and state samples around a run.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct GpuRecord {
    /// From the CUDA driver API (cudarc); `None` when the device could not be opened.
    pub device: Option<DeviceInfo>,
    /// Why `device` is missing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_error: Option<String>,
    pub before: GpuState,
    #[serde(default)]
    pub after: Option<GpuState>,
}

/// One sample of the GPU's changing state. Every field is `None` with a reason in
/// `missing` when its source could not say.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct GpuState {
    /// RFC 3339 time of the sample.
    pub at: String,
    /// Where the values came from, e.g. `nvidia-smi --query-gpu=... (driver 580.159.04)`.
    pub source: String,
    pub temperature_c: Option<f64>,
    pub power_w: Option<f64>,
    pub power_limit_w: Option<f64>,
    pub sm_clock_mhz: Option<f64>,
    pub memory_clock_mhz: Option<f64>,
    pub max_sm_clock_mhz: Option<f64>,
    pub max_memory_clock_mhz: Option<f64>,
    /// `Enabled` / `Disabled` as nvidia-smi reports the current ECC mode.
    pub ecc_mode: Option<String>,
    pub performance_state: Option<String>,
    pub memory_used_mib: Option<f64>,
    pub memory_bus_width_bits: Option<u32>,
    /// Field name → reason it is `None`.
    #[serde(default)]
    pub missing: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct GpuFingerprint {
    pub name: String,
    pub driver: Option<String>,
}

fn read_trim(p: &str) -> Option<String> {
    std::fs::read_to_string(p)
        .ok()
        .map(|s| s.trim().trim_end_matches('\0').to_string())
}

/// Commit and dirty state of the checkout at `root`. The project under validation is data,
/// not code: its `.git/config` may name programs (an fsmonitor, hooks, clean filters) that
/// a plain `git status` would run, so each of them is switched off for these calls.
fn git_state(root: &Path) -> (Option<String>, Option<bool>) {
    let git = |overrides: &[String], args: &[&str]| {
        std::process::Command::new("git")
            .arg("-C")
            .arg(root)
            .args([
                "--no-optional-locks",
                "-c",
                "core.fsmonitor=false",
                "-c",
                "core.hooksPath=/dev/null",
            ])
            .args(overrides.iter().flat_map(|o| ["-c", o.as_str()]))
            .args(args)
            .stdin(std::process::Stdio::null())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let commit = git(&[], &["rev-parse", "--verify", "-q", "HEAD"]);
    if commit.is_none() {
        return (None, None);
    }
    // Reading the configuration runs nothing; an empty command disables a filter, so
    // files are compared as they are on disk.
    let filters: Vec<String> = git(
        &[],
        &[
            "config",
            "--name-only",
            "--get-regexp",
            r"^filter\..*\.(clean|process)$",
        ],
    )
    .unwrap_or_default()
    .lines()
    .map(|k| format!("{k}="))
    .collect();
    let dirty =
        git(&filters, &["status", "--porcelain", "--untracked-files=no"]).map(|s| !s.is_empty());
    (commit, dirty)
}

/// Measure the fingerprint. `root` is the project checkout (for the git commit).
pub fn fingerprint(root: &Path) -> Fingerprint {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu_model = cpuinfo
        .lines()
        .find(|l| {
            l.starts_with("model name") || l.starts_with("Model") || l.starts_with("Hardware")
        })
        .and_then(|l| l.split(':').nth(1))
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|| std::env::consts::ARCH.to_string());
    let logical_cores = std::thread::available_parallelism()
        .map(|n| n.get() as u32)
        .unwrap_or(1);
    let mut cur_freq_mhz = Vec::new();
    for i in 0..logical_cores {
        if let Some(khz) = read_trim(&format!(
            "/sys/devices/system/cpu/cpu{i}/cpufreq/scaling_cur_freq"
        ))
        .and_then(|s| s.parse::<f64>().ok())
        {
            cur_freq_mhz.push(khz / 1000.0);
        }
    }
    if cur_freq_mhz.is_empty() {
        // Virtual machines often expose only /proc/cpuinfo's "cpu MHz".
        cur_freq_mhz = cpuinfo
            .lines()
            .filter(|l| l.starts_with("cpu MHz"))
            .filter_map(|l| l.split(':').nth(1)?.trim().parse().ok())
            .collect();
    }
    let os = std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("PRETTY_NAME="))
                .map(|l| l["PRETTY_NAME=".len()..].trim_matches('"').to_string())
        })
        .unwrap_or_else(|| std::env::consts::OS.to_string());
    let memory_total_kib = std::fs::read_to_string("/proc/meminfo").ok().and_then(|s| {
        s.lines()
            .find(|l| l.starts_with("MemTotal:"))
            .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
    });
    let mut gpus = Vec::new();
    if let Ok(entries) = std::fs::read_dir("/proc/driver/nvidia/gpus") {
        for e in entries.flatten() {
            if let Ok(info) = std::fs::read_to_string(e.path().join("information")) {
                if let Some(model) = info.lines().find(|l| l.starts_with("Model:")) {
                    gpus.push(GpuFingerprint {
                        name: model["Model:".len()..].trim().to_string(),
                        driver: read_trim("/sys/module/nvidia/version"),
                    });
                }
            }
        }
    }
    let (git_commit, git_dirty) = git_state(root);
    Fingerprint {
        hostname: read_trim("/proc/sys/kernel/hostname").unwrap_or_default(),
        arch: std::env::consts::ARCH.into(),
        cpu_model,
        logical_cores,
        governor: read_trim("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor"),
        cur_freq_mhz,
        os,
        kernel: read_trim("/proc/sys/kernel/osrelease").unwrap_or_default(),
        memory_total_kib,
        gpus,
        device_model: read_trim("/proc/device-tree/model"),
        tool_version: env!("CARGO_PKG_VERSION").into(),
        git_commit,
        git_dirty,
        binary_sha256: std::env::current_exe()
            .ok()
            .and_then(|p| adasval_core::hash::sha256_file(&p).ok()),
        jetson: crate::jetson::probe(),
        gpu: None,
    }
}

/// Identity and static properties of the device (driver attributes and library versions).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DeviceInfo {
    pub name: String,
    pub compute_capability: [u32; 2],
    pub sm_count: u32,
    pub memory_bytes: u64,
    pub memory_bus_width_bits: Option<u32>,
    pub l2_bytes: Option<u64>,
    /// Peak clocks as the driver reports them (CU_DEVICE_ATTRIBUTE_CLOCK_RATE and
    /// MEMORY_CLOCK_RATE, kHz → MHz).
    pub max_sm_clock_mhz: Option<u32>,
    pub max_memory_clock_mhz: Option<u32>,
    pub ecc_enabled: Option<bool>,
    pub pci_bus_id: Option<String>,
    /// Kernel driver version (e.g. 580.159.04), from /sys/module/nvidia/version.
    pub driver: String,
    /// Highest CUDA version the driver supports (cuDriverGetVersion), e.g. 13.0.
    pub cuda_driver_api: String,
    pub nvrtc: String,
    pub cudnn: String,
    /// CUDA runtime version cuDNN was built against.
    pub cudnn_cudart: String,
    pub cublas: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A project's own `.git/config` is not trusted: reading the commit and dirty state
    /// must not run the fsmonitor (or any hook) it names.
    #[test]
    fn fingerprint_runs_no_repository_hook() {
        let t = tempfile::tempdir().unwrap();
        let repo = t.path().join("repo");
        let marker = t.path().join("marker");
        let git = |args: &[&str]| {
            let ok = std::process::Command::new("git")
                .arg("-C")
                .arg(&repo)
                .args(args)
                .env("GIT_CONFIG_NOSYSTEM", "1")
                .env("HOME", t.path())
                .status()
                .unwrap()
                .success();
            assert!(ok, "git {args:?}");
        };
        std::fs::create_dir_all(&repo).unwrap();
        git(&["init", "-q"]);
        std::fs::write(repo.join("f.txt"), b"one").unwrap();
        std::fs::write(repo.join(".gitattributes"), b"f.txt filter=evil\n").unwrap();
        git(&["add", "f.txt", ".gitattributes"]);
        git(&[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "commit",
            "-q",
            "-m",
            "one",
        ]);
        let hook = t.path().join("hook.sh");
        std::fs::write(&hook, format!("#!/bin/sh\ntouch '{}'\n", marker.display())).unwrap();
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        git(&["config", "core.fsmonitor", &hook.display().to_string()]);
        let filter = t.path().join("filter.sh");
        std::fs::write(
            &filter,
            format!("#!/bin/sh\ntouch '{}'\ncat\n", marker.display()),
        )
        .unwrap();
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&filter, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        git(&["config", "filter.evil.clean", &filter.display().to_string()]);
        std::fs::write(repo.join("f.txt"), b"two").unwrap();

        let fp = fingerprint(&repo);
        assert!(
            !marker.exists(),
            "the repository's fsmonitor or clean filter ran"
        );
        assert_eq!(fp.git_commit.as_deref().map(str::len), Some(40));
        assert_eq!(fp.git_dirty, Some(true));
    }
}
