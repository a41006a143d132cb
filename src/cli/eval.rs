//! `adasval eval`: COCO evaluation of user-supplied detections (pycocotools-equivalent), or
//! with `--kitti` the KITTI devkit's 2-D evaluation of a label folder and a result folder,
//! or with `--run` precision / recall and COCO AP of a stored run, per slice.

use super::{CliResult, Failure};
use adasval::exit::Status;
use adasval::metrics::coco::{evaluate_files, fmt_stat, UNDEFINED_MEANS};
use adasval::metrics::kitti;
use adasval::metrics::slice::{self, Slice};
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Ground truth: a COCO instances JSON file (images, annotations with bbox/area/iscrowd,
    /// categories); with --kitti a folder of KITTI `label_2` files.
    #[arg(long, required_unless_present = "run")]
    pub gt: Option<PathBuf>,
    /// Detections: a COCO results JSON file (a list of {image_id, category_id, bbox, score});
    /// with --kitti a folder of KITTI result files of the same names (16 fields, score last).
    #[arg(long, required_unless_present = "run")]
    pub dt: Option<PathBuf>,
    /// Evaluate as the KITTI devkit does: 2-D AP at 11 and 40 recall points per class and
    /// difficulty (Easy/Moderate/Hard), DontCare regions, neighbouring classes ignored.
    #[arg(long)]
    pub kitti: bool,
    /// A run directory (`reports/<run-id>`): precision and recall of its stored detections
    /// (those above the adapter's score threshold) with Clopper-Pearson intervals, and COCO
    /// AP, per engine over all scenarios (corruption rungs left out, as requirements are
    /// judged) and per scenario, for each --slice.
    #[arg(long, conflicts_with_all = ["gt", "dt", "kitti"])]
    pub run: Option<PathBuf>,
    /// With --run: a slice as a YAML mapping, e.g. `{class: pedestrian, min_height: 40,
    /// condition: day}` (fields: class, min_height, max_height, max_occlusion,
    /// min_visibility, max_visibility, max_truncation, difficulty: easy|moderate|hard,
    /// min_distance, max_distance (m), condition, outside: ignored|counted). Repeatable;
    /// default: everything.
    #[arg(long = "slice", value_name = "YAML", requires = "run")]
    pub slices: Vec<String>,
    /// With --run: the pedestrian subsets as CityPersons evaluates them (Reasonable: at
    /// least 50 px tall and 0.65 visible; small: 50 to 75 px; heavy occlusion: 0.2 to 0.65
    /// visible; all: at least 20 px and 0.2 visible), ignore regions and crowd boxes matched
    /// by the share of the detection inside them, and the log-average miss rate of each.
    #[arg(long, requires = "run", conflicts_with = "eurocity")]
    pub citypersons: bool,
    /// With --run: the pedestrian subsets as EuroCity Persons evaluates them (reasonable: at
    /// least 40 px tall, occlusion and truncation below 40%; small: 30 to 60 px; occluded:
    /// 40 to 80% occlusion; all: at least 20 px, occlusion and truncation below 80%), with
    /// riders enforced (the benchmark server's setting) and tolerated, ignore regions and
    /// crowd boxes matched by the share of the detection inside them, and the log-average
    /// miss rate of each.
    #[arg(long, requires = "run")]
    pub eurocity: bool,
    /// With --run: the IoU a detection needs to match an object.
    #[arg(long, default_value_t = 0.5, requires = "run")]
    pub iou: f64,
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
    if let Some(dir) = &args.run {
        return run_dir(dir, &args);
    }
    let (Some(gt), Some(dt)) = (&args.gt, &args.dt) else {
        return Err(Failure::bad_input(anyhow::anyhow!(
            "give --gt and --dt, or --run"
        )));
    };
    if args.kitti {
        return run_kitti(gt, dt, &args);
    }
    let report = evaluate_files(gt, dt).map_err(Failure::classified)?;
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

fn run_kitti(gt: &std::path::Path, dt: &std::path::Path, args: &Args) -> CliResult {
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
    let report = kitti::evaluate_dirs(gt, dt, &classes).map_err(Failure::classified)?;
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

fn run_dir(dir: &std::path::Path, args: &Args) -> CliResult {
    if !(args.iou > 0.0 && args.iou <= 1.0) {
        return Err(Failure::bad_input(anyhow::anyhow!(
            "--iou must be in (0, 1], got {}",
            args.iou
        )));
    }
    let slices = if args.slices.is_empty() {
        vec![Slice::default()]
    } else {
        args.slices
            .iter()
            .map(|s| Slice::parse(s))
            .collect::<Result<Vec<_>, _>>()
            .map_err(Failure::classified)?
    };
    let run = adasval::stored::StoredRun::load(dir).map_err(Failure::classified)?;
    if args.citypersons {
        return citypersons(&run, args);
    }
    if args.eurocity {
        return eurocity(&run, args);
    }
    let report = slice::evaluate_run(&run, &slices, args.iou, 0.95).map_err(Failure::classified)?;
    match args.format {
        super::Format::Json => {
            let text = serde_json::to_string_pretty(&report)
                .map_err(|e| Failure::new(Status::BadInput, e))?;
            outln!("{text}");
        }
        super::Format::Text => {
            outln!(
                "run {}: detections as stored (above each adapter's score threshold), IoU >= {}, {}% Clopper-Pearson intervals",
                report.run_id,
                report.iou_threshold,
                report.confidence * 100.0
            );
            for e in &report.engines {
                outln!();
                outln!(
                    "engine {} (score threshold {})",
                    e.engine,
                    e.score_threshold
                );
                for s in &e.slices {
                    outln!("  slice: {}", s.all_scenarios.slice);
                    outln!(
                        "  {:<32} {:>6} {:>7} {:>6} {:>6} {:>6} {:>22} {:>22} {:>6} {:>6} {:>6}",
                        "scenario",
                        "frames",
                        "objects",
                        "tp",
                        "fp",
                        "fn",
                        "precision [95% CI]",
                        "recall [95% CI]",
                        "AP",
                        "AP50",
                        "LAMR"
                    );
                    let row = |name: &str, f: &slice::SliceFigures| {
                        let c = &f.counts;
                        let rate =
                            |v: Option<f64>, ci: &Option<adasval::metrics::stats::Interval>| match (
                                v, ci,
                            ) {
                                (Some(v), Some(ci)) => {
                                    format!("{v:.3} [{:.3}, {:.3}]", ci.lower, ci.upper)
                                }
                                _ => "n/a".to_string(),
                            };
                        let ap =
                            |v: Option<f64>| v.map_or("n/a".to_string(), |v| format!("{v:.3}"));
                        outln!(
                            "  {:<32} {:>6} {:>7} {:>6} {:>6} {:>6} {:>22} {:>22} {:>6} {:>6} {:>6}",
                            name,
                            f.frames,
                            f.objects,
                            c.tp,
                            c.fp,
                            c.fn_,
                            rate(c.precision, &c.precision_ci),
                            rate(c.recall, &c.recall_ci),
                            ap(f.ap),
                            ap(f.ap50),
                            ap(f.lamr)
                        );
                        if f.frames_without_condition > 0 {
                            outln!(
                                "  {:<32} {} frame(s) of unknown condition left out",
                                "",
                                f.frames_without_condition
                            );
                        }
                    };
                    row("(all scenarios, no rungs)", &s.all_scenarios);
                    for p in &s.per_scenario {
                        row(&p.scenario, &p.figures);
                    }
                }
            }
        }
    }
    Ok(Status::Pass)
}

fn citypersons(run: &adasval::stored::StoredRun, args: &Args) -> CliResult {
    let engines = adasval::metrics::citypersons::evaluate_run(run, args.iou);
    match args.format {
        super::Format::Json => {
            let v = serde_json::json!({
                "run_id": run.record.run_id,
                "iou_threshold": args.iou,
                "rules": adasval::metrics::citypersons::RULES,
                "engines": engines,
            });
            let text =
                serde_json::to_string_pretty(&v).map_err(|e| Failure::new(Status::BadInput, e))?;
            outln!("{text}");
        }
        super::Format::Text => {
            outln!(
                "run {}: CityPersons subsets, IoU >= {}, detections as stored",
                run.record.run_id,
                args.iou
            );
            outln!("rules: {}", adasval::metrics::citypersons::RULES);
            for e in &engines {
                outln!();
                let Some(class) = &e.class else {
                    outln!(
                        "engine {}: no `pedestrian` or `person` class, nothing evaluated",
                        e.engine
                    );
                    continue;
                };
                outln!(
                    "engine {} (class {class}, {} frames, corruption rungs left out)",
                    e.engine,
                    e.frames
                );
                outln!(
                    "  {:<22} {:>10} {:>11} {:>7} {:>6} {:>6} {:>8} {:>9} {:>7}",
                    "subset",
                    "height",
                    "visibility",
                    "objects",
                    "tp",
                    "fp",
                    "ignored",
                    "filtered",
                    "LAMR"
                );
                let range = |(lo, hi): (f64, Option<f64>)| match hi {
                    Some(h) => format!("{lo}-{h}"),
                    None => format!(">= {lo}"),
                };
                for s in &e.subsets {
                    outln!(
                        "  {:<22} {:>10} {:>11} {:>7} {:>6} {:>6} {:>8} {:>9} {:>7}",
                        s.name,
                        range(s.subset.height()),
                        range(s.subset.visibility()),
                        s.objects,
                        s.tp,
                        s.fp,
                        s.ignored,
                        s.filtered_out,
                        s.lamr
                            .map_or("n/a".to_string(), |v| format!("{:.2}%", v * 100.0))
                    );
                }
            }
        }
    }
    Ok(Status::Pass)
}

fn eurocity(run: &adasval::stored::StoredRun, args: &Args) -> CliResult {
    use adasval::metrics::eurocity;
    let engines = eurocity::evaluate_run(run, args.iou);
    match args.format {
        super::Format::Json => {
            let v = serde_json::json!({
                "run_id": run.record.run_id,
                "iou_threshold": args.iou,
                "rules": eurocity::RULES,
                "engines": engines,
            });
            let text =
                serde_json::to_string_pretty(&v).map_err(|e| Failure::new(Status::BadInput, e))?;
            outln!("{text}");
        }
        super::Format::Text => {
            outln!(
                "run {}: EuroCity Persons subsets, IoU >= {}, detections as stored",
                run.record.run_id,
                args.iou
            );
            outln!("rules: {}", eurocity::RULES);
            for e in &engines {
                outln!();
                let Some(class) = &e.class else {
                    outln!(
                        "engine {}: no `pedestrian` or `person` class, nothing evaluated",
                        e.engine
                    );
                    continue;
                };
                outln!(
                    "engine {} (class {class}, riders: {}, {} frames, corruption rungs left out)",
                    e.engine,
                    e.rider_class
                        .as_deref()
                        .unwrap_or("none (no `cyclist` or `rider` class)"),
                    e.frames
                );
                outln!(
                    "  {:<11} {:<10} {:>7} {:>10} {:>7} {:>7} {:>6} {:>6} {:>8} {:>9} {:>7}",
                    "subset",
                    "riders",
                    "height",
                    "occlusion",
                    "objects",
                    "unknown",
                    "tp",
                    "fp",
                    "ignored",
                    "filtered",
                    "LAMR"
                );
                for s in &e.subsets {
                    let (lo, hi) = s.subset.height();
                    let height = match hi {
                        Some(h) => format!("{lo}-{h}"),
                        None => format!(">= {lo}"),
                    };
                    let (olo, olim) = s.subset.occlusion_levels();
                    outln!(
                        "  {:<11} {:<10} {:>7} {:>10} {:>7} {:>7} {:>6} {:>6} {:>8} {:>9} {:>7}",
                        s.name,
                        if s.riders_tolerated {
                            "tolerated"
                        } else {
                            "enforced"
                        },
                        height,
                        if olo == 0 {
                            format!("< {olim}%")
                        } else {
                            format!("{olo}-{olim}%")
                        },
                        s.objects,
                        s.unknown_occlusion_or_truncation,
                        s.tp,
                        s.fp,
                        s.ignored,
                        s.filtered_out,
                        s.lamr
                            .map_or("n/a".to_string(), |v| format!("{:.2}%", v * 100.0))
                    );
                }
            }
        }
    }
    Ok(Status::Pass)
}
