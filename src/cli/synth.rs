//! `adasval scenario synth`: render a deterministic synthetic dataset (PNG images and
//! a COCO instances JSON with exact labels from the renderer's instance mask), or
//! the frames of one generated scenario for inspection.

use super::{CliResult, Failure};
use adasval::exit::Status;
use adasval::scenario::{FramesSpec, Scenario};
use adasval::synth::{write_dataset, write_sequence, DatasetSummary};
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Seed: the same seed always gives the same pixels and labels.
    #[arg(long, required_unless_present = "scenario")]
    pub seed: Option<u64>,
    /// Number of random frames to render (frame indices 0..count).
    #[arg(long, required_unless_present = "scenario")]
    pub count: Option<u32>,
    /// Output directory: receives images/NNNNNN.png and instances.json.
    #[arg(long)]
    pub out: PathBuf,
    /// Frame width in pixels (random scenes).
    #[arg(long, default_value_t = 512)]
    pub width: u32,
    /// Frame height in pixels (random scenes).
    #[arg(long, default_value_t = 288)]
    pub height: u32,
    /// Render the generated sequence of this scenario file instead of random scenes
    /// (size, seed and frame count come from the file).
    #[arg(long, conflicts_with_all = ["seed", "count"])]
    pub scenario: Option<PathBuf>,
    /// With `--scenario` naming a family (a file with `sweep:`): the instance to render
    /// (ids as `adasval scenario list --expand` prints them).
    #[arg(long, requires = "scenario")]
    pub instance: Option<String>,
}

pub fn run(args: Args) -> CliResult {
    let start = std::time::Instant::now();
    let (s, what) = match &args.scenario {
        Some(path) => {
            let file = adasval::scenario::load_one(path).map_err(Failure::classified)?;
            let unlimited = adasval::scenario::sweep::ExpandLimits {
                max_instances: usize::MAX,
                allow_large: true,
            };
            let instances = adasval::scenario::sweep::expand(&file.scenario, unlimited)
                .map_err(|e| Failure::bad_input(anyhow::anyhow!("{}: {e}", path.display())))?;
            let n = instances.len();
            let sc: Scenario = match (&args.instance, instances.first()) {
                (None, Some(only)) if n == 1 => only.clone(),
                (None, _) => {
                    let ids: Vec<&str> = instances.iter().take(5).map(|i| i.id.as_str()).collect();
                    return Err(Failure::bad_input(anyhow::anyhow!(
                        "{}: a family of {n} instances; name one with --instance (e.g. {})",
                        path.display(),
                        ids.join(", ")
                    )));
                }
                (Some(id), _) => {
                    let known: Vec<String> = instances.iter().map(|i| i.id.clone()).collect();
                    match instances.into_iter().find(|i| &i.id == id) {
                        Some(i) => i,
                        None => {
                            return Err(Failure::bad_input(anyhow::anyhow!(
                                "{}: no instance `{id}`.{}",
                                path.display(),
                                adasval::suggest::hint(id, &known)
                            )))
                        }
                    }
                }
            };
            let owned;
            let spec = match &sc.frames {
                FramesSpec::Generate(g) => g,
                FramesSpec::Ncap(n) => {
                    owned = n.to_sequence().map_err(Failure::classified)?;
                    &owned
                }
                FramesSpec::Files(_) => {
                    return Err(Failure::bad_input(anyhow::anyhow!(
                        "{}: scenario `{}` lists image files, it has no generated sequence",
                        path.display(),
                        sc.id
                    )))
                }
            };
            let s = write_sequence(spec, &args.out).map_err(Failure::classified)?;
            (
                s,
                format!(
                    "scenario {} ({}x{} seed {})",
                    sc.id, spec.width, spec.height, spec.seed
                ),
            )
        }
        None => {
            let (Some(seed), Some(count)) = (args.seed, args.count) else {
                return Err(Failure::bad_input(anyhow::anyhow!(
                    "give --seed and --count, or --scenario"
                )));
            };
            let s = write_dataset(seed, count, args.width, args.height, &args.out)
                .map_err(Failure::classified)?;
            (s, format!("{}x{} seed {}", args.width, args.height, seed))
        }
    };
    print_summary(&s, &what, start.elapsed().as_secs_f64());
    Ok(Status::Pass)
}

fn print_summary(s: &DatasetSummary, what: &str, secs: f64) {
    let classes: Vec<String> = s
        .per_class
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    let conds: Vec<String> = s
        .per_condition
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    outln!(
        "synth: {} images, {} objects ({} ignored; {}), conditions: {}; {} -> {} in {:.1} s",
        s.images,
        s.annotations,
        s.ignored,
        classes.join(", "),
        conds.join(", "),
        what,
        s.out.join("instances.json").display(),
        secs
    );
}
