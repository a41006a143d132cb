//! The GPU part of a run's fingerprint: identity from the driver API (through the backend's
//! open device) and changing state (temperature, power, clocks, ECC) from `nvidia-smi`,
//! sampled before and after the replay. cudarc has no NVML binding, so nvidia-smi is the
//! source where present; a value it cannot give is `None` with the reason, never an error.

use std::collections::BTreeMap;
use std::process::Command;

use super::gpu::{Gpu, GpuError};
use adasval_record::platform::{GpuRecord, GpuState};

/// The fields asked of nvidia-smi, in order.
const FIELDS: [&str; 11] = [
    "temperature.gpu",
    "power.draw",
    "power.limit",
    "clocks.sm",
    "clocks.mem",
    "clocks.max.sm",
    "clocks.max.mem",
    "ecc.mode.current",
    "pstate",
    "memory.used",
    "driver_version",
];

fn now() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

/// Parse one `--format=csv,noheader,nounits` line into a state sample.
pub fn parse_smi_line(line: &str, source: String) -> GpuState {
    let values: Vec<&str> = line.split(',').map(str::trim).collect();
    let mut missing = BTreeMap::new();
    let mut text = |k: usize| -> Option<String> {
        match values.get(k) {
            None => {
                missing.insert(FIELDS[k].to_string(), "not in nvidia-smi's output".into());
                None
            }
            Some(v) if v.is_empty() || v.contains("N/A") || v.starts_with('[') => {
                missing.insert(
                    FIELDS[k].to_string(),
                    format!("nvidia-smi reports `{v}` (not supported or not permitted here)"),
                );
                None
            }
            Some(v) => Some(v.to_string()),
        }
    };
    let raw: Vec<Option<String>> = (0..FIELDS.len()).map(&mut text).collect();
    let mut num = |k: usize| -> Option<f64> {
        let v = raw[k].as_ref()?;
        match v.parse::<f64>() {
            Ok(x) => Some(x),
            Err(_) => {
                missing.insert(FIELDS[k].to_string(), format!("not a number: `{v}`"));
                None
            }
        }
    };
    GpuState {
        at: now(),
        temperature_c: num(0),
        power_w: num(1),
        power_limit_w: num(2),
        sm_clock_mhz: num(3),
        memory_clock_mhz: num(4),
        max_sm_clock_mhz: num(5),
        max_memory_clock_mhz: num(6),
        ecc_mode: raw[7].clone(),
        performance_state: raw[8].clone(),
        memory_used_mib: num(9),
        memory_bus_width_bits: None,
        source: match &raw[10] {
            Some(d) => format!("{source} (driver {d})"),
            None => source,
        },
        missing,
    }
}

/// One state sample of the GPU with this PCI bus id (or the first GPU).
pub fn sample(pci_bus_id: Option<&str>) -> GpuState {
    let query = format!("--query-gpu={}", FIELDS.join(","));
    let mut cmd = Command::new("nvidia-smi");
    cmd.arg(&query).arg("--format=csv,noheader,nounits");
    // nvidia-smi and CUDA may number GPUs differently: select by bus id.
    let id = pci_bus_id.unwrap_or("0");
    cmd.arg("-i").arg(id);
    let source = format!("nvidia-smi {query} -i {id}");
    let unavailable = |why: String| {
        let missing = FIELDS
            .iter()
            .filter(|f| **f != "driver_version")
            .map(|f| (f.to_string(), why.clone()))
            .collect();
        GpuState {
            at: now(),
            source: source.clone(),
            missing,
            ..Default::default()
        }
    };
    match cmd.output() {
        Err(e) => unavailable(format!("nvidia-smi could not run: {e}")),
        Ok(o) if !o.status.success() => unavailable(format!(
            "nvidia-smi failed ({}): {}",
            o.status,
            String::from_utf8_lossy(&o.stderr).trim()
        )),
        Ok(o) => {
            let out = String::from_utf8_lossy(&o.stdout);
            match out.lines().find(|l| !l.trim().is_empty()) {
                Some(line) => parse_smi_line(line, source.clone()),
                None => unavailable("nvidia-smi printed nothing".into()),
            }
        }
    }
}

/// The fingerprint's `gpu` section at the start of a run.
pub fn probe() -> GpuRecord {
    match Gpu::open() {
        Ok(g) => probe_with(&g),
        Err(e) => GpuRecord {
            device: None,
            device_error: Some(match e {
                GpuError::Unavailable(s) => s,
                other => other.to_string(),
            }),
            before: sample(None),
            after: None,
        },
    }
}

pub fn probe_with(g: &Gpu) -> GpuRecord {
    let mut before = sample(g.info.pci_bus_id.as_deref());
    before.memory_bus_width_bits = g.info.memory_bus_width_bits;
    GpuRecord {
        device: Some(g.info.clone()),
        device_error: None,
        before,
        after: None,
    }
}

/// Add the after-run sample.
pub fn finish(record: &mut GpuRecord) {
    let bus = record.device.as_ref().and_then(|d| d.pci_bus_id.clone());
    let mut after = sample(bus.as_deref());
    after.memory_bus_width_bits = record.device.as_ref().and_then(|d| d.memory_bus_width_bits);
    record.after = Some(after);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smi_line_with_unsupported_fields_keeps_reasons() {
        let s = parse_smi_line(
            "41, 72.35, 700.00, 1980, 2619, 1980, 2619, [N/A], P0, 512, 580.159.04",
            "test".into(),
        );
        assert_eq!(s.temperature_c, Some(41.0));
        assert_eq!(s.power_w, Some(72.35));
        assert_eq!(s.sm_clock_mhz, Some(1980.0));
        assert_eq!(s.ecc_mode, None);
        assert!(s.missing.contains_key("ecc.mode.current"));
        assert_eq!(s.performance_state.as_deref(), Some("P0"));
        assert_eq!(s.source, "test (driver 580.159.04)");
    }

    #[test]
    fn short_or_garbled_lines_are_missing_not_errors() {
        let s = parse_smi_line("abc, 10", "t".into());
        assert_eq!(s.temperature_c, None);
        assert!(s.missing["temperature.gpu"].contains("not a number"));
        assert_eq!(s.power_w, Some(10.0));
        assert!(s.missing.contains_key("clocks.sm"));
    }
}
