//! External-runner backend: the engine runs in a child process that speaks the runner
//! protocol ([`crate::runner_protocol`], docs/RUNNER_PROTOCOL.md) on stdin/stdout. This is
//! how engines whose runtime adasval does not link (TensorRT on a Jetson, onnxruntime)
//! are replayed; the harness still owns frames, timing, decoding and the record.
//!
//! One child per prepared engine. `prepare` sends the verified engine bytes with their
//! SHA-256; the runner re-hashes them and refuses a mismatch, and the hash it answers with
//! is checked again here. The harness times each `infer` round trip itself; the runner's
//! own H2D / compute / D2H timings come back as [`DeviceTimings`].

use std::io::{BufReader, BufWriter, Read};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{Backend, BackendError, BackendInfo, DeviceTimings, InferOutput, Prepared, Session};
use crate::runner_protocol::{self as proto, Message, TensorDesc, PROTOCOL_VERSION};
use adasval_core::tensor::Tensor;
use adasval_record::lock::VerifiedEngine;

const NAME: &str = "runner";
/// Bytes of the runner's stderr kept for error messages.
const STDERR_TAIL: usize = 4096;

/// Split a command line on whitespace, honouring single and double quotes (no shell).
pub fn split_command(cmd: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut started = false;
    for c in cmd.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => cur.push(c),
            None if c == '"' || c == '\'' => {
                quote = Some(c);
                started = true;
            }
            None if c.is_whitespace() => {
                if started {
                    out.push(std::mem::take(&mut cur));
                    started = false;
                }
            }
            None => {
                cur.push(c);
                started = true;
            }
        }
    }
    if started {
        out.push(cur);
    }
    out
}

pub struct RunnerBackend {
    command: Vec<String>,
    /// What the last started runner said about itself (hello + load settings).
    seen: Mutex<Option<BackendInfo>>,
}

impl RunnerBackend {
    pub fn new(command: &str) -> Result<Self, BackendError> {
        let command = split_command(command);
        if command.is_empty() {
            return Err(BackendError::Unavailable {
                backend: NAME.into(),
                reason: "no runner command (pass --runner \"python3 runners/ort_runner.py\")"
                    .into(),
            });
        }
        Ok(Self {
            command,
            seen: Mutex::new(None),
        })
    }
}

fn unavailable(reason: String) -> BackendError {
    BackendError::Unavailable {
        backend: NAME.into(),
        reason,
    }
}

/// A running child and its channel.
struct Process {
    child: Child,
    stdin: BufWriter<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    stderr_tail: Arc<Mutex<String>>,
    seq: u64,
    closed: bool,
}

impl Process {
    fn spawn(command: &[String]) -> Result<Self, BackendError> {
        let mut child = Command::new(&command[0])
            .args(&command[1..])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| unavailable(format!("cannot start `{}`: {e}", command.join(" "))))?;
        let (Some(stdin), Some(stdout), Some(mut stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(unavailable("runner pipes could not be opened".into()));
        };
        let stderr_tail = Arc::new(Mutex::new(String::new()));
        {
            let tail = stderr_tail.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 1024];
                while let Ok(n) = stderr.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    if let Ok(mut t) = tail.lock() {
                        t.push_str(&String::from_utf8_lossy(&buf[..n]));
                        if t.len() > STDERR_TAIL {
                            let cut = t.len() - STDERR_TAIL;
                            let cut = (cut..t.len())
                                .find(|i| t.is_char_boundary(*i))
                                .unwrap_or(t.len());
                            t.drain(..cut);
                        }
                    }
                }
            });
        }
        Ok(Self {
            child,
            stdin: BufWriter::new(stdin),
            stdout: BufReader::new(stdout),
            stderr_tail,
            seq: 0,
            closed: false,
        })
    }

    fn stderr(&self) -> String {
        // Give the reader thread a moment to collect a dying runner's last words.
        std::thread::sleep(Duration::from_millis(50));
        self.stderr_tail
            .lock()
            .map(|t| t.trim().to_string())
            .unwrap_or_default()
    }

    /// Send one request and read its reply; an `error` reply becomes `Err(message)`.
    fn request(
        &mut self,
        header: serde_json::Value,
        tensors: &[(TensorDesc, &[u8])],
    ) -> Result<Message, String> {
        self.seq += 1;
        let mut header = header;
        if let Some(o) = header.as_object_mut() {
            o.insert("seq".into(), self.seq.into());
        }
        let io = |p: &mut Self, e: proto::ProtocolError| {
            let tail = p.stderr();
            let status = p
                .child
                .try_wait()
                .ok()
                .flatten()
                .map(|s| format!(" (runner exited: {s})"))
                .unwrap_or_default();
            if tail.is_empty() {
                format!("{e}{status}")
            } else {
                format!("{e}{status}; runner stderr: {tail}")
            }
        };
        if let Err(e) = proto::write_message(&mut self.stdin, &header, tensors) {
            return Err(io(self, e));
        }
        let reply = match proto::read_message(&mut self.stdout) {
            Ok(m) => m,
            Err(e) => return Err(io(self, e)),
        };
        if reply.kind() == "error" {
            let code = reply.header["code"].as_str().unwrap_or("error");
            let msg = reply.header["message"].as_str().unwrap_or("(no message)");
            return Err(format!("runner error `{code}`: {msg}"));
        }
        if let Some(s) = reply.header.get("seq").and_then(|s| s.as_u64()) {
            if s != self.seq {
                return Err(format!(
                    "reply to request {s} arrived for request {}",
                    self.seq
                ));
            }
        }
        Ok(reply)
    }

    fn expect(reply: Message, kind: &str) -> Result<Message, String> {
        if reply.kind() == kind {
            Ok(reply)
        } else {
            Err(format!("expected a `{kind}` reply, got `{}`", reply.kind()))
        }
    }

    fn hello(&mut self) -> Result<BackendInfo, String> {
        let r = self.request(
            serde_json::json!({"type": "hello", "protocol": PROTOCOL_VERSION}),
            &[],
        )?;
        let r = Self::expect(r, "hello")?;
        let v = r.header["protocol"].as_u64();
        if v != Some(PROTOCOL_VERSION as u64) {
            return Err(format!(
                "runner speaks protocol {v:?}; this adasval speaks {PROTOCOL_VERSION}"
            ));
        }
        let runner = r.header["runner"].as_str().unwrap_or("unknown");
        let version = r.header["version"].as_str().unwrap_or("unknown");
        let mut libraries = vec![format!("{runner} {version}")];
        libraries.extend(
            r.header["libraries"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|l| l.as_str().map(str::to_string)),
        );
        Ok(BackendInfo {
            name: NAME.into(),
            libraries,
            settings: settings_of(&r.header["settings"]),
        })
    }

    fn close(&mut self) {
        if self.closed {
            return;
        }
        self.closed = true;
        let _ = self.request(serde_json::json!({"type": "close"}), &[]);
        let deadline = Instant::now() + Duration::from_secs(2);
        loop {
            match self.child.try_wait() {
                Ok(Some(_)) => return,
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10))
                }
                _ => break,
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.close();
    }
}

fn settings_of(v: &serde_json::Value) -> Vec<(String, String)> {
    v.as_object()
        .map(|o| {
            o.iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        v.as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| v.to_string()),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

impl Backend for RunnerBackend {
    fn name(&self) -> &'static str {
        NAME
    }

    fn info(&self) -> Result<BackendInfo, BackendError> {
        if let Some(seen) = self.seen.lock().ok().and_then(|s| s.clone()) {
            return Ok(seen);
        }
        let mut p = Process::spawn(&self.command)?;
        let info = p.hello().map_err(|m| unavailable(format!("hello: {m}")))?;
        let mut info = info;
        info.settings
            .insert(0, ("command".into(), self.command.join(" ")));
        Ok(info)
    }

    fn prepare(&self, engine: &VerifiedEngine) -> Result<Box<dyn Prepared>, BackendError> {
        let mut p = Process::spawn(&self.command)?;
        let name = engine.entry.name.clone();
        let prep_err = |message: String| BackendError::Prepare {
            backend: NAME.into(),
            engine: name.clone(),
            message,
        };
        let mut info = p.hello().map_err(|m| unavailable(format!("hello: {m}")))?;
        let spec = &engine.adapter.input;
        let (w, h) = (spec.width as usize, spec.height as usize);
        let shape = match spec.layout {
            adasval_record::adapter::Layout::Nchw => vec![1, 3, h, w],
            adasval_record::adapter::Layout::Nhwc => vec![1, h, w, 3],
        };
        let t0 = Instant::now();
        let reply = p
            .request(
                serde_json::json!({
                    "type": "load",
                    "engine": {
                        "name": engine.entry.name,
                        "format": engine.entry.format.as_str(),
                        "path": engine.entry.path,
                        "sha256": engine.entry.sha256,
                        "size": engine.bytes.len(),
                    },
                    "input": {"name": spec.tensor, "shape": shape},
                }),
                &[(
                    TensorDesc::bytes("engine", engine.bytes.len()),
                    engine.bytes.as_slice(),
                )],
            )
            .and_then(|r| Process::expect(r, "loaded"))
            .map_err(prep_err)?;
        let load_ns = reply.header["load_ns"]
            .as_u64()
            .unwrap_or(t0.elapsed().as_nanos() as u64);
        let echoed = reply.header["sha256"].as_str().unwrap_or("");
        if echoed != engine.entry.sha256 {
            return Err(BackendError::Integrity {
                backend: NAME.into(),
                engine: engine.entry.name.clone(),
                expected: engine.entry.sha256.clone(),
                actual: echoed.to_string(),
            });
        }
        info.settings.extend(settings_of(&reply.header["settings"]));
        info.settings
            .insert(0, ("command".into(), self.command.join(" ")));
        if let Ok(mut seen) = self.seen.lock() {
            *seen = Some(info);
        }
        Ok(Box::new(RunnerPrepared {
            process: Arc::new(Mutex::new(p)),
            load_ns,
        }))
    }
}

struct RunnerPrepared {
    process: Arc<Mutex<Process>>,
    load_ns: u64,
}

impl Prepared for RunnerPrepared {
    fn session(&self) -> Result<Box<dyn Session>, BackendError> {
        Ok(Box::new(RunnerSession {
            process: self.process.clone(),
        }))
    }
    fn load_ns(&self) -> Option<u64> {
        Some(self.load_ns)
    }
}

struct RunnerSession {
    process: Arc<Mutex<Process>>,
}

impl Session for RunnerSession {
    fn run(&mut self, input: &Tensor) -> Result<InferOutput, BackendError> {
        let run_err = |message: String| BackendError::Run {
            backend: NAME.into(),
            message,
        };
        let mut p = self
            .process
            .lock()
            .map_err(|_| run_err("runner channel poisoned by an earlier failure".into()))?;
        let bytes = proto::f32_bytes(&input.data);
        let reply = p
            .request(
                serde_json::json!({"type": "infer"}),
                &[(TensorDesc::f32(&input.name, &input.shape), &bytes)],
            )
            .and_then(|r| Process::expect(r, "result"))
            .map_err(run_err)?;
        let outputs = reply
            .tensors
            .iter()
            .map(|(d, b)| Tensor::new(d.name.clone(), d.shape.clone(), proto::to_f32(d, b)))
            .collect();
        let t = &reply.header["timings_ns"];
        Ok(InferOutput {
            outputs,
            device: DeviceTimings {
                h2d_ns: t["h2d"].as_u64(),
                compute_ns: t["compute"].as_u64(),
                d2h_ns: t["d2h"].as_u64(),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::split_command;

    #[test]
    fn command_splitting() {
        assert_eq!(
            split_command("python3  runners/ort_runner.py --threads 2"),
            ["python3", "runners/ort_runner.py", "--threads", "2"]
        );
        assert_eq!(
            split_command(r#"python3 "my runners/x.py" '' -v"#),
            ["python3", "my runners/x.py", "", "-v"]
        );
        assert!(split_command("   ").is_empty());
    }
}
