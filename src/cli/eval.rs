//! `adasval eval`: COCO evaluation of user-supplied detections (pycocotools-equivalent), or
//! with `--kitti` the KITTI devkit's 2-D evaluation of a label folder and a result folder.

use super::{CliResult, Failure};
use adasval::exit::Status;
use adasval::metrics::coco::{evaluate_files, fmt_stat, UNDEFINED_MEANS};
use adasval::metrics::kitti;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Ground truth: a COCO instances JSON file (images, annotations with bbox/area/iscrowd,
    /// categories); with --kitti a folder of KITTI `label_2` files.
    #[arg(long)]
    pub gt: PathBuf,
    /// Detections: a COCO results JSON file (a list of {image_id, category_id, bbox, score});
    /// with --kitti a folder of KITTI result files of the same names (16 fields, score last).
    #[arg(long)]
    pub dt: PathBuf,
    /// Evaluate as the KITTI devkit does: 2-D AP at 11 and 40 recall points per class and
    /// difficulty (Easy/Moderate/Hard), DontCare regions, neighbouring classes ignored.
    #[arg(long)]
    pub kitti: bool,
    /// With --kitti: a class to evaluate (repeatable; default Car, Pedestrian, Cyclist).
    #[arg(long = "class", value_name = "CLASS", requires = "kitti")]
    pub classes: Vec<String>,
    /// Output on stdout: pycocotools' summary lines then AP and AP50 per class (text), or
    /// AP, AP50, AP75, APs, APm, APl, AR1, AR10, AR100, ARs, ARm, ARl and `per_class` (json).
    /// An undefined number (pycocotools' −1) is `n/a` in text and `null` in JSON.
    #[arg(long, value_enum, default_value_t = super::Format::Text)]
    pub format: super::Format,
}

pub fn run(args: Args) -> CliResult {
    if args.kitti {
        return run_kitti(&args);
    }
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

fn run_kitti(args: &Args) -> CliResult {
    let names: Vec<&str> = if args.classes.is_empty() {
        kitti::DEFAULT_CLASSES.to_vec()
    } else {
        args.classes.iter().map(String::as_str).collect()
    };
    let classes = names
        .iter()
        .map(|n| kitti::class_by_name(n))
        .collect::<Result<Vec<_>, _>>()
        .map_err(Failure::classified)?;
    let report = kitti::evaluate_dirs(&args.gt, &args.dt, &classes).map_err(Failure::classified)?;
    for w in &report.warnings {
        eprintln!("warning: {w}");
    }
    match args.format {
        super::Format::Json => {
            let mut v =
                serde_json::to_value(&report).map_err(|e| Failure::new(Status::BadInput, e))?;
            if let Some(o) = v.as_object_mut() {
                o.insert("rules".into(), kitti::RULES.into());
                o.insert("null_means".into(), kitti::UNDEFINED_MEANS.into());
            }
            let text =
                serde_json::to_string_pretty(&v).map_err(|e| Failure::new(Status::BadInput, e))?;
            outln!("{text}");
        }
        super::Format::Text => {
            outln!("KITTI 2-D evaluation of {} frames", report.frames);
            outln!("rules: {}", kitti::RULES);
            outln!("counts: over every detection; n/a: no object of the class counts at that level (the devkit prints 0)");
            outln!();
            outln!(
                "{:<15} {:>5}  {:<9} {:>7} {:>7} {:>7} {:>6} {:>6} {:>6} {:>8} {:>9}",
                "class",
                "IoU>",
                "level",
                "objects",
                "AP|R11",
                "AP|R40",
                "tp",
                "fp",
                "fn",
                "ignored",
                "DontCare"
            );
            let ap = |v: Option<f64>| v.map_or("n/a".to_string(), |x| format!("{x:.4}"));
            for c in &report.classes {
                for l in &c.levels {
                    outln!(
                        "{:<15} {:>5}  {:<9} {:>7} {:>7} {:>7} {:>6} {:>6} {:>6} {:>8} {:>9}",
                        c.class,
                        c.min_overlap,
                        l.difficulty.name(),
                        l.objects,
                        ap(l.ap11),
                        ap(l.ap40),
                        l.counts.tp,
                        l.counts.fp,
                        l.counts.fn_,
                        l.counts.ignored_matches,
                        l.counts.in_dont_care
                    );
                }
            }
        }
    }
    Ok(Status::Pass)
}
