//! `adasval eval`: COCO evaluation of user-supplied detections (pycocotools-equivalent).

use super::{CliResult, Failure};
use adasval::exit::Status;
use adasval::metrics::coco::{evaluate_files, fmt_stat, UNDEFINED_MEANS};
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Ground truth: a COCO instances JSON file (images, annotations with bbox/area/iscrowd,
    /// categories).
    #[arg(long)]
    pub gt: PathBuf,
    /// Detections: a COCO results JSON file (a list of {image_id, category_id, bbox, score}).
    #[arg(long)]
    pub dt: PathBuf,
    /// Output on stdout: pycocotools' summary lines then AP and AP50 per class (text), or
    /// AP, AP50, AP75, APs, APm, APl, AR1, AR10, AR100, ARs, ARm, ARl and `per_class` (json).
    /// An undefined number (pycocotools' −1) is `n/a` in text and `null` in JSON.
    #[arg(long, value_enum, default_value_t = super::Format::Text)]
    pub format: super::Format,
}

pub fn run(args: Args) -> CliResult {
    let report = evaluate_files(&args.gt, &args.dt).map_err(Failure::classified)?;
    for w in &report.warnings {
        eprintln!("warning: {w}");
    }
    match args.format {
        super::Format::Json => {
            let mut v =
                serde_json::to_value(&report).map_err(|e| Failure::new(Status::BadInput, e))?;
            if let Some(o) = v.as_object_mut() {
                o.insert("null_means".into(), UNDEFINED_MEANS.into());
            }
            let text =
                serde_json::to_string_pretty(&v).map_err(|e| Failure::new(Status::BadInput, e))?;
            outln!("{text}");
        }
        super::Format::Text => {
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
                    "{:>12}  {:<24} {:>7} {:>7}",
                    c.category_id,
                    c.name,
                    fmt_stat(c.ap),
                    fmt_stat(c.ap50)
                );
            }
        }
    }
    Ok(Status::Pass)
}
