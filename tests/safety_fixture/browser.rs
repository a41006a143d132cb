//! Headless-Chromium harness for report pages: loads a local HTML file, returns the DOM
//! after scripts ran and every console message, and keeps a screenshot as a test artefact
//! under `$CARGO_TARGET_TMPDIR/browser/`. Skips (returns `None`) where Chromium is absent,
//! and panics instead when `CI=true`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The Chromium binary (`ADASVAL_CHROMIUM`, else `chromium` on PATH).
pub fn chromium() -> Option<PathBuf> {
    let bin = std::env::var_os("ADASVAL_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("chromium"));
    let ok = Command::new(&bin)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if ok {
        return Some(bin);
    }
    let msg = format!(
        "Chromium not runnable as {} (Debian package `chromium`; set ADASVAL_CHROMIUM)",
        bin.display()
    );
    if crate::common::ci() {
        panic!("{msg}: required when CI=true");
    }
    eprintln!("SKIP: {msg}");
    None
}

pub struct PageCheck {
    /// Serialised DOM after load and scripts.
    pub dom: String,
    /// Console messages (any level: Chromium's log does not tell them apart).
    pub console: Vec<String>,
    pub screenshot: PathBuf,
}

/// Flags that work on a machine without network or display (no sandbox as root, no
/// background connections that the closed network would refuse).
fn base_command(bin: &Path, profile: &Path) -> Command {
    let mut c = Command::new(bin);
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    c
}

fn run_with_timeout(mut cmd: Command, limit: Duration) -> std::process::Output {
    use std::io::Read;
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start chromium");
    // Both pipes are drained while Chromium runs: a DOM dump larger than the pipe's buffer
    // (64 KiB) otherwise blocks Chromium on its write while we wait for it to exit.
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = r.read_to_end(&mut buf);
            buf
        })
    };
    let out = drain(Box::new(child.stdout.take().expect("stdout piped")));
    let err = drain(Box::new(child.stderr.take().expect("stderr piped")));
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait chromium") {
            return std::process::Output {
                status,
                stdout: out.join().expect("stdout reader"),
                stderr: err.join().expect("stderr reader"),
            };
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("chromium did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Load `html` (a local file) and screenshot it as `<name>.png`.
pub fn check_page(bin: &Path, html: &Path, name: &str, window: (u32, u32)) -> PageCheck {
    let html = std::fs::canonicalize(html).expect("html path");
    let url = format!("file://{}", html.display());
    let profile = tempfile::tempdir().expect("profile dir");

    let mut dump = base_command(bin, profile.path());
    dump.args(["--enable-logging=stderr", "--v=0", "--dump-dom"])
        .arg(&url);
    let out = run_with_timeout(dump, Duration::from_secs(120));
    assert!(
        out.status.success(),
        "chromium --dump-dom failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let console = String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| l.contains(":CONSOLE"))
        .map(str::to_string)
        .collect();

    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("browser");
    std::fs::create_dir_all(&dir).expect("artefact dir");
    let screenshot = dir.join(format!("{name}.png"));
    let _ = std::fs::remove_file(&screenshot);
    let mut shot = base_command(bin, profile.path());
    shot.arg(format!("--screenshot={}", screenshot.display()))
        .arg(format!("--window-size={},{}", window.0, window.1))
        .arg(&url);
    let s = run_with_timeout(shot, Duration::from_secs(120));
    assert!(
        s.status.success(),
        "chromium --screenshot failed: {}",
        String::from_utf8_lossy(&s.stderr)
    );
    PageCheck {
        dom: String::from_utf8_lossy(&out.stdout).into_owned(),
        console,
        screenshot,
    }
}

/// `src=`/`href=`/`url(` references that leave the page (network or other files), which a
/// self-contained report must not have. The SVG namespace declaration is not a reference.
pub fn external_references(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    for attr in ["src=\"", "href=\"", "url(", "@import"] {
        for (i, _) in html.match_indices(attr) {
            let rest = &html[i + attr.len()..];
            let target: String = rest.chars().take_while(|c| !"\")' ".contains(*c)).collect();
            let internal = target.starts_with('#') || target.starts_with("data:");
            if !internal {
                out.push(format!("{attr}{target}"));
            }
        }
    }
    out
}

/// PNG dimensions from the IHDR chunk (for "the screenshot is a real image" checks).
pub fn png_size(path: &Path) -> (u32, u32) {
    let b = std::fs::read(path).expect("read png");
    assert!(
        b.len() > 24 && &b[..8] == b"\x89PNG\r\n\x1a\n",
        "not a PNG: {}",
        path.display()
    );
    let be = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
    (be(16), be(20))
}
