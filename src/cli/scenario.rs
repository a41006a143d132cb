//! `adasval scenario check`: validate every scenario and every file it references.

use std::path::PathBuf;

use adasval::exit::Status;
use adasval::lock::LockFile;
use adasval::scenario::{self, DataRoot};

use super::{CliResult, Failure};

#[derive(clap::Args, Debug)]
pub struct CheckArgs {
    #[arg(long, default_value = ".")]
    pub root: PathBuf,
    /// Root that image and label paths may not leave (default: the project root).
    #[arg(long)]
    pub data_root: Option<PathBuf>,
    /// Also render generated sequences and decode every image (slower, complete).
    #[arg(long)]
    pub deep: bool,
    /// What to print on stdout: one `ok`/`FAIL` line per scenario (text), or the same as one
    /// JSON object (`scenarios[]` with id, path, ok and problems).
    #[arg(long, value_enum, default_value_t = super::Format::Text)]
    pub format: super::Format,
}

/// One scenario's check, as `--format json` prints it.
#[derive(serde::Serialize)]
struct Checked {
    id: String,
    path: PathBuf,
    ok: bool,
    problems: Vec<String>,
}

pub fn check(a: CheckArgs) -> CliResult {
    let all = scenario::load_all(&a.root).map_err(Failure::classified)?;
    let lock = LockFile::load(&a.root).map_err(Failure::classified)?;
    // Labels must map onto every frozen engine's classes.
    let mut class_lists: Vec<(String, Vec<String>)> = Vec::new();
    for e in &lock.engines {
        // The lock is user input: its paths go through the same inside-the-project check as
        // every other project file, before anything is read.
        let p = adasval::paths::resolve_inside(&a.root, &a.root, &e.adapter.path)
            .map_err(Failure::classified)?;
        let ad = adasval::adapter::Adapter::load(&p).map_err(Failure::classified)?;
        class_lists.push((e.name.clone(), ad.classes));
    }
    if class_lists.is_empty() {
        class_lists.push((
            "(generator classes)".into(),
            adasval::synth::CLASS_NAMES
                .iter()
                .map(|s| s.to_string())
                .collect(),
        ));
    }
    let data = DataRoot {
        root: a.data_root.clone().unwrap_or_else(|| a.root.clone()),
    };
    let mut checked = Vec::new();
    for ls in &all {
        let s = &ls.scenario;
        let mut problems = Vec::new();
        for (engine, classes) in &class_lists {
            let max = if a.deep { None } else { Some(2) };
            match scenario::load_frames(ls, classes, &data, max) {
                Ok(_) => {}
                Err(e) => problems.push(format!("with engine `{engine}`: {e}")),
            }
        }
        if let scenario::FramesSpec::Files(f) = &s.frames {
            match scenario::resolve_files(&s.id, f, &data) {
                Ok(files) => {
                    for (rel, p) in files {
                        if !p.is_file() {
                            problems.push(format!("missing image {rel}"));
                        }
                    }
                }
                Err(e) => problems.push(e.to_string()),
            }
        }
        checked.push(Checked {
            id: s.id.clone(),
            path: ls.path.clone(),
            ok: problems.is_empty(),
            problems,
        });
    }
    let failures = checked.iter().filter(|c| !c.ok).count();
    match a.format {
        super::Format::Text => {
            for c in &checked {
                let mark = if c.ok { "ok  " } else { "FAIL" };
                outln!("{mark}  {:<40} {}", c.id, c.path.display());
                for p in &c.problems {
                    outln!("      {p}");
                }
            }
        }
        super::Format::Json => {
            let v = serde_json::json!({
                "scenarios": checked,
                "failures": failures,
                "exit_code": if failures > 0 { Status::BadInput.code() } else { Status::Pass.code() },
            });
            outln!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        }
    }
    if failures > 0 {
        return Err(Failure::bad_input(anyhow::anyhow!(
            "{failures} of {} scenario(s) have problems",
            all.len()
        )));
    }
    eprintln!("{} scenario(s) checked", all.len());
    Ok(Status::Pass)
}
