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
}

pub fn run(args: Args) -> CliResult {
    let start = std::time::Instant::now();
    let (s, what) = match &args.scenario {
        Some(path) => {
            let sc: Scenario = adasval::yamlfile::load(path).map_err(Failure::classified)?;
            let FramesSpec::Generate(spec) = &sc.frames else {
                return Err(Failure::bad_input(anyhow::anyhow!(
                    "{}: scenario `{}` lists image files, it has no generated sequence",
                    path.display(),
                    sc.id
                )));
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
