//! `trtexec` backend: replays single frames through TensorRT's `trtexec` for users
//! without the Python bindings. Each frame is one `trtexec --loadEngine --loadInputs
//! --exportOutput --exportTimes` process, so the harness's `infer` time includes process
//! start and engine deserialization; the per-inference GPU times come from
//! `--exportTimes` as [`DeviceTimings`] and are the numbers to analyse.
//!
//! The engine file trtexec loads is written from the verified bytes (never the project
//! path), and the settings that took effect are read from trtexec's own
//! `=== Inference Options ===` block, since defaults moved between TensorRT versions.

use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, Mutex};

use super::{Backend, BackendError, BackendInfo, DeviceTimings, InferOutput, Prepared, Session};
use crate::trtexec as tx;
use adasval_core::tensor::Tensor;
use adasval_record::lock::{EngineFormat, VerifiedEngine};

const NAME: &str = "trtexec";

pub struct TrtexecBackend {
    command: Vec<String>,
    seen: Mutex<Option<BackendInfo>>,
}

impl TrtexecBackend {
    /// `command`: the trtexec program and any extra flags (e.g. `trtexec --useCudaGraph`).
    pub fn new(command: &str) -> Self {
        let mut command = super::runner::split_command(command);
        if command.is_empty() {
            command.push("trtexec".into());
        }
        Self {
            command,
            seen: Mutex::new(None),
        }
    }
}

fn unavailable(reason: String) -> BackendError {
    BackendError::Unavailable {
        backend: NAME.into(),
        reason,
    }
}

/// A private working directory, removed on drop: created exclusively under a random name
/// with mode 0700, so no other user can plant or swap the engine copy trtexec loads.
struct WorkDir(tempfile::TempDir);

impl WorkDir {
    fn new() -> std::io::Result<Self> {
        use std::os::unix::fs::PermissionsExt;
        tempfile::Builder::new()
            .prefix("adasval-trtexec-")
            .permissions(std::fs::Permissions::from_mode(0o700))
            .tempdir()
            .map(Self)
    }

    fn path(&self) -> &std::path::Path {
        self.0.path()
    }
}

impl Backend for TrtexecBackend {
    fn name(&self) -> &'static str {
        NAME
    }

    fn info(&self) -> Result<BackendInfo, BackendError> {
        if let Some(seen) = self.seen.lock().ok().and_then(|s| s.clone()) {
            return Ok(seen);
        }
        // trtexec has no --version; its banner names the version on any invocation.
        let out = Command::new(&self.command[0])
            .arg("--help")
            .output()
            .map_err(|e| unavailable(format!("cannot run `{}`: {e}", self.command[0])))?;
        let log = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(BackendInfo {
            name: NAME.into(),
            libraries: tx::tensorrt_version(&log)
                .map(|v| vec![format!("TensorRT {v} (trtexec)")])
                .unwrap_or_default(),
            settings: vec![("command".into(), self.command.join(" "))],
        })
    }

    fn prepare(&self, engine: &VerifiedEngine) -> Result<Box<dyn Prepared>, BackendError> {
        if engine.entry.format != EngineFormat::Trt {
            return Err(BackendError::UnsupportedFormat {
                backend: NAME.into(),
                engine: engine.entry.name.clone(),
                format: engine.entry.format.as_str().into(),
            });
        }
        let prep_err = |message: String| BackendError::Prepare {
            backend: NAME.into(),
            engine: engine.entry.name.clone(),
            message,
        };
        let dir = WorkDir::new().map_err(|e| prep_err(format!("work directory: {e}")))?;
        let engine_path = dir.path().join("engine.plan");
        std::fs::write(&engine_path, engine.bytes.as_slice())
            .map_err(|e| prep_err(format!("cannot write the engine copy: {e}")))?;
        let prepared = TrtexecPrepared {
            command: self.command.clone(),
            input_name: engine.adapter.input.tensor.clone(),
            engine_path,
            engine_sha256: engine.entry.sha256.clone(),
            dir: Arc::new(dir),
        };
        // One untimed probe inference: learns the version and the options as they took
        // effect, and fails here (not mid-trace) when trtexec cannot load the engine.
        let spec = &engine.adapter.input;
        let shape = match spec.layout {
            adasval_record::adapter::Layout::Nchw => {
                vec![1, 3, spec.height as usize, spec.width as usize]
            }
            adasval_record::adapter::Layout::Nhwc => {
                vec![1, spec.height as usize, spec.width as usize, 3]
            }
        };
        let n: usize = shape.iter().product();
        let probe = Tensor::new(spec.tensor.clone(), shape, vec![0.0; n]);
        let (_, log) = prepared.infer(&probe, "probe").map_err(prep_err)?;
        let mut settings = vec![("command".to_string(), self.command.join(" "))];
        settings.extend(tx::inference_options(&log));
        let info = BackendInfo {
            name: NAME.into(),
            libraries: tx::tensorrt_version(&log)
                .map(|v| vec![format!("TensorRT {v} (trtexec)")])
                .unwrap_or_default(),
            settings,
        };
        if let Ok(mut s) = self.seen.lock() {
            *s = Some(info);
        }
        Ok(Box::new(prepared))
    }
}

#[derive(Clone)]
struct TrtexecPrepared {
    command: Vec<String>,
    input_name: String,
    engine_path: PathBuf,
    /// The verified engine's hash: the copy is re-hashed before every trtexec process.
    engine_sha256: String,
    dir: Arc<WorkDir>,
}

impl TrtexecPrepared {
    /// Run one frame; returns the outputs and trtexec's console log.
    fn infer(&self, input: &Tensor, tag: &str) -> Result<(InferOutput, String), String> {
        let d = self.dir.path();
        let copy = std::fs::read(&self.engine_path).map_err(|e| {
            format!(
                "cannot read the engine copy {}: {e}",
                self.engine_path.display()
            )
        })?;
        let actual = adasval_core::hash::sha256_hex(&copy);
        if actual != self.engine_sha256 {
            return Err(format!(
                "the engine copy {} changed before trtexec loaded it: expected sha256 {}, actual {actual}",
                self.engine_path.display(),
                self.engine_sha256
            ));
        }
        let inp = d.join(format!("{tag}.input.bin"));
        let outp = d.join(format!("{tag}.output.json"));
        let times = d.join(format!("{tag}.times.json"));
        std::fs::write(&inp, crate::runner_protocol::f32_bytes(&input.data))
            .map_err(|e| format!("cannot write the input: {e}"))?;
        let _ = std::fs::remove_file(&outp);
        let _ = std::fs::remove_file(&times);
        let out = Command::new(&self.command[0])
            .args(&self.command[1..])
            .arg(format!("--loadEngine={}", self.engine_path.display()))
            .arg(format!(
                "--loadInputs={}:{}",
                self.input_name,
                inp.display()
            ))
            .arg(format!("--exportOutput={}", outp.display()))
            .arg(format!("--exportTimes={}", times.display()))
            // One inference per process: no warm-up, no duration-driven repetitions.
            .args([
                "--iterations=1",
                "--warmUp=0",
                "--duration=0",
                "--avgRuns=1",
            ])
            .output()
            .map_err(|e| format!("cannot run `{}`: {e}", self.command[0]))?;
        let log = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        if !out.status.success() {
            let tail: String = log
                .lines()
                .rev()
                .take(15)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect::<Vec<_>>()
                .join("\n");
            return Err(format!("trtexec exited with {}: {tail}", out.status));
        }
        let text = std::fs::read_to_string(&outp)
            .map_err(|e| format!("trtexec wrote no --exportOutput file: {e}"))?;
        let outputs = tx::parse_exported_outputs(&outp, &text)
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|o| Tensor::new(o.name, o.shape, o.values))
            .collect();
        let device = match std::fs::read(&times)
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .and_then(|v| tx::parse_times(&times, &v).ok())
            .and_then(|t| t.samples.last().cloned())
        {
            Some(s) => {
                let ns = |ms: f64| Some((ms * 1e6).round() as u64);
                DeviceTimings {
                    h2d_ns: ns(s.h2d_ms),
                    compute_ns: ns(s.compute_ms),
                    d2h_ns: ns(s.d2h_ms),
                }
            }
            None => DeviceTimings::default(),
        };
        Ok((InferOutput { outputs, device }, log))
    }
}

impl Prepared for TrtexecPrepared {
    fn session(&self) -> Result<Box<dyn Session>, BackendError> {
        Ok(Box::new(TrtexecSession(self.clone())))
    }
}

struct TrtexecSession(TrtexecPrepared);

impl Session for TrtexecSession {
    fn run(&mut self, input: &Tensor) -> Result<InferOutput, BackendError> {
        self.0
            .infer(input, "frame")
            .map(|(o, _)| o)
            .map_err(|message| BackendError::Run {
                backend: NAME.into(),
                message,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn work_directories_are_private_and_fresh() {
        use std::os::unix::fs::PermissionsExt;
        let a = WorkDir::new().unwrap();
        let b = WorkDir::new().unwrap();
        assert_ne!(a.path(), b.path());
        for d in [&a, &b] {
            let mode = std::fs::metadata(d.path()).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o700, "{}", d.path().display());
        }
        let engine_path = a.path().join("engine.plan");
        std::fs::write(&engine_path, b"verified bytes").unwrap();
        let p = TrtexecPrepared {
            command: vec!["/nonexistent/trtexec".into()],
            input_name: "images".into(),
            engine_path: engine_path.clone(),
            engine_sha256: adasval_core::hash::sha256_hex(b"verified bytes"),
            dir: Arc::new(a),
        };
        std::fs::write(&engine_path, b"swapped bytes").unwrap();
        let err = match p.infer(&Tensor::new("images", vec![1], vec![0.0]), "t") {
            Ok(_) => panic!("a swapped engine copy ran"),
            Err(e) => e,
        };
        assert!(
            err.contains("changed") && err.contains("expected sha256"),
            "{err}"
        );
    }
}
