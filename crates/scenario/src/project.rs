//! Finding and loading the scenario files of a project: which directories a profile reads,
//! families expanded into instances, ladders into rungs, ids checked unique.

use super::*;

/// Where the bundled Euro NCAP catalogue lives; only `--profile full` loads it.
pub const CATALOGUE_DIR: &str = "scenarios/catalogue";

/// Which scenario files a run loads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Profile {
    /// `scenarios/*.yaml`.
    #[default]
    Default,
    /// Also the catalogue, `scenarios/catalogue/*.yaml`.
    Full,
}

impl Profile {
    /// The project-relative directories this profile loads (the catalogue only where the
    /// project has one).
    pub fn dirs(self, root: &Path) -> Vec<&'static str> {
        let mut d = vec!["scenarios"];
        if self == Profile::Full && root.join(CATALOGUE_DIR).is_dir() {
            d.push(CATALOGUE_DIR);
        }
        d
    }
}

/// Load every `scenarios/*.yaml`, sorted by id, families expanded with the default limit.
pub fn load_all(root: &Path) -> Result<Vec<LoadedScenario>, ScenarioError> {
    load_all_with(root, &["scenarios"], sweep::ExpandLimits::default())
}

/// Load every `*.yaml` of the project-relative directories `dirs`, sorted by id, each
/// family (a file with `sweep:`) expanded into its instances.
pub fn load_all_with(
    root: &Path,
    dirs: &[&str],
    limits: sweep::ExpandLimits,
) -> Result<Vec<LoadedScenario>, ScenarioError> {
    let mut out = Vec::new();
    for d in dirs {
        out.extend(load_dir(root, d, limits)?);
    }
    out.sort_by(|a, b| a.scenario.id.cmp(&b.scenario.id));
    for w in out.windows(2) {
        if w[0].scenario.id == w[1].scenario.id {
            return Err(ScenarioError::Invalid {
                scenario: w[1].scenario.id.clone(),
                path: w[1].path.display().to_string(),
                field: "id",
                message: format!("duplicate id, also in {}", w[0].path.display()),
            });
        }
    }
    Ok(out)
}

fn load_dir(
    root: &Path,
    rel: &str,
    limits: sweep::ExpandLimits,
) -> Result<Vec<LoadedScenario>, ScenarioError> {
    let dir = resolve_inside(root, root, rel).map_err(|source| ScenarioError::Path {
        scenario: rel.to_string(),
        source,
    })?;
    let entries = std::fs::read_dir(&dir).map_err(|e| ScenarioError::Io {
        path: dir.display().to_string(),
        message: e.to_string(),
    })?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    paths.sort();
    let mut out = Vec::new();
    for p in paths {
        // A scenario file may be a symbolic link, but not to a file outside the project:
        // its hash would be recorded as the project's own.
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        resolve_inside(root, &dir, &name).map_err(|source| ScenarioError::Path {
            scenario: format!("{rel}/{name}"),
            source,
        })?;
        let one = load_one(&p)?;
        let instances =
            sweep::expand(&one.scenario, limits).map_err(|e| ScenarioError::Invalid {
                scenario: one.scenario.id.clone(),
                path: p.display().to_string(),
                field: "sweep",
                message: e.to_string(),
            })?;
        for scenario in instances {
            // Each instance's corruption ladder, if the file has one.
            let rungs = scenario.rungs(&one.path)?;
            out.extend(rungs.into_iter().map(|scenario| LoadedScenario {
                scenario,
                path: one.path.clone(),
                sha256: one.sha256.clone(),
            }));
            out.push(LoadedScenario {
                scenario,
                path: one.path.clone(),
                sha256: one.sha256.clone(),
            });
        }
    }
    Ok(out)
}

pub fn load_one(path: &Path) -> Result<LoadedScenario, ScenarioError> {
    let bytes = std::fs::read(path).map_err(|e| ScenarioError::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    let text = String::from_utf8_lossy(&bytes);
    let scenario = Scenario::parse(path, &text)?;
    Ok(LoadedScenario {
        scenario,
        path: path.to_path_buf(),
        sha256: adasval_core::hash::sha256_hex(&bytes),
    })
}
