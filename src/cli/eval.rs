//! `adasval eval`: COCO evaluation of user-supplied detections (pycocotools-equivalent).

use super::{CliResult, Failure};
use adasval::exit::Status;
use adasval::metrics::coco::evaluate_files;
use std::path::PathBuf;

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// pycocotools' summary lines, then AP and AP50 per class.
    Text,
    /// JSON: AP, AP50, AP75, APs, APm, APl, AR1, AR10, AR100, ARs, ARm, ARl and `per_class`.
    Json,
}

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Ground truth: a COCO instances JSON file (images, annotations with bbox/area/iscrowd,
    /// categories).
    #[arg(long)]
    pub gt: PathBuf,
    /// Detections: a COCO results JSON file (a list of {image_id, category_id, bbox, score}).
    #[arg(long)]
    pub dt: PathBuf,
    /// Output format on stdout (−1 marks an undefined number, as pycocotools prints it).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

pub fn run(args: Args) -> CliResult {
    let report = evaluate_files(&args.gt, &args.dt).map_err(Failure::classified)?;
    for w in &report.warnings {
        eprintln!("warning: {w}");
    }
    match args.format {
        Format::Json => {
            let text = serde_json::to_string_pretty(&report)
                .map_err(|e| Failure::new(Status::BadInput, e))?;
            outln!("{text}");
        }
        Format::Text => {
            out!("{}", report.summary_text());
            outln!();
            outln!(
                "{:>12}  {:<24} {:>7} {:>7}",
                "category_id",
                "name",
                "AP",
                "AP50"
            );
            for c in &report.per_class {
                outln!(
                    "{:>12}  {:<24} {:>7.3} {:>7.3}",
                    c.category_id,
                    c.name,
                    c.ap,
                    c.ap50
                );
            }
        }
    }
    Ok(Status::Pass)
}
