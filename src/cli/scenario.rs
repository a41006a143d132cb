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
    let mut failures = 0;
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
        if problems.is_empty() {
            outln!("ok    {:<40} {}", s.id, ls.path.display());
        } else {
            failures += 1;
            outln!("FAIL  {:<40} {}", s.id, ls.path.display());
            for p in problems {
                outln!("      {p}");
            }
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
