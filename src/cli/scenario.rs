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
    /// `full` also checks the Euro NCAP catalogue (scenarios/catalogue/).
    #[arg(long, value_enum, default_value_t = super::validate::ProfileArg::Default)]
    pub profile: super::validate::ProfileArg,
    /// Check sweeps that expand beyond the default limit of instances.
    #[arg(long)]
    pub allow_large: bool,
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
    let profile: scenario::Profile = a.profile.into();
    let all = scenario::load_all_with(
        &a.root,
        &profile.dirs(&a.root),
        scenario::sweep::ExpandLimits {
            allow_large: a.allow_large,
            ..Default::default()
        },
    )
    .map_err(Failure::classified)?;
    let lock = LockFile::load(&a.root).map_err(Failure::classified)?;
    // Labels must map onto every frozen engine's classes.
    let mut class_lists: Vec<(String, scenario::JudgedClasses)> = Vec::new();
    for e in &lock.engines {
        // The lock is user input: its paths go through the same inside-the-project check as
        // every other project file, before anything is read.
        let p = adasval::paths::resolve_inside(&a.root, &a.root, &e.adapter.path)
            .map_err(Failure::classified)?;
        let ad = adasval::adapter::Adapter::load(&p).map_err(Failure::classified)?;
        class_lists.push((e.name.clone(), ad.judged_classes()));
    }
    if class_lists.is_empty() {
        class_lists.push((
            "(generator classes)".into(),
            scenario::JudgedClasses::own(
                &adasval::synth::CLASS_NAMES
                    .iter()
                    .map(|s| s.to_string())
                    .collect::<Vec<_>>(),
                &[],
            ),
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

#[derive(clap::Args, Debug)]
pub struct ListArgs {
    #[arg(long, default_value = ".")]
    pub root: PathBuf,
    /// One line per instance of every swept family (default: one line per file).
    #[arg(long)]
    pub expand: bool,
    /// `full` also lists the Euro NCAP catalogue (scenarios/catalogue/).
    #[arg(long, value_enum, default_value_t = super::validate::ProfileArg::Default)]
    pub profile: super::validate::ProfileArg,
    /// Most instances one swept file may expand to before it is refused.
    #[arg(long, default_value_t = scenario::sweep::DEFAULT_MAX_INSTANCES)]
    pub max_instances: usize,
    /// List sweeps that expand beyond `--max-instances`.
    #[arg(long)]
    pub allow_large: bool,
    #[arg(long, value_enum, default_value_t = super::Format::Text)]
    pub format: super::Format,
}

/// One listed scenario or instance, as `--format json` prints it.
#[derive(serde::Serialize)]
struct Listed {
    id: String,
    path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    family: Option<String>,
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    parameters: std::collections::BTreeMap<String, String>,
    /// Instances of a family file (in the unexpanded listing).
    instances: usize,
    tags: Vec<String>,
}

pub fn list(a: ListArgs) -> CliResult {
    let profile: scenario::Profile = a.profile.into();
    let all = scenario::load_all_with(
        &a.root,
        &profile.dirs(&a.root),
        scenario::sweep::ExpandLimits {
            max_instances: a.max_instances,
            allow_large: a.allow_large,
        },
    )
    .map_err(Failure::classified)?;
    let mut rows: Vec<Listed> = Vec::new();
    for ls in &all {
        let s = &ls.scenario;
        let path = adasval::paths::relative_to(&a.root, &ls.path);
        if a.expand || s.family.is_none() {
            rows.push(Listed {
                id: s.id.clone(),
                path,
                family: s.family.clone(),
                parameters: s.parameters.clone(),
                instances: 1,
                tags: s.tags.clone(),
            });
        } else if let Some(row) = rows
            .iter_mut()
            .find(|r| r.family.is_some() && r.family == s.family && r.path == path)
        {
            row.instances += 1;
        } else {
            rows.push(Listed {
                id: s.family.clone().unwrap_or_default(),
                path,
                family: s.family.clone(),
                parameters: Default::default(),
                instances: 1,
                tags: Vec::new(),
            });
        }
    }
    match a.format {
        super::Format::Text => {
            for r in &rows {
                let what = if !a.expand && r.family.is_some() {
                    format!("family, {} instances", r.instances)
                } else {
                    r.parameters
                        .iter()
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect::<Vec<_>>()
                        .join(" ")
                };
                outln!("{:<40} {:<44} {}", r.id, r.path, what);
            }
        }
        super::Format::Json => {
            let v = serde_json::json!({ "scenarios": rows, "instances": all.len() });
            outln!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        }
    }
    eprintln!("{} scenario(s) in {} row(s)", all.len(), rows.len());
    Ok(Status::Pass)
}
