//! `adasval wcet`: pWCET bounds from measured latencies (see docs/WCET.md).

use super::{CliResult, Failure};
use adasval::exit::Status;
use adasval::report;
use adasval::report::wcet_plot as plot;
use adasval::wcet::models::{Estimator, Method};
use adasval::wcet::pwcet::per_hour_to_frame;
use adasval::wcet::{self, SampleSource, WcetSettings};
use anyhow::anyhow;
use std::path::{Path, PathBuf};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Run directory written by replay (`latencies.csv` + `run.json`); one analysis per
    /// (engine, scenario). Give either this or --samples.
    pub run_dir: Option<PathBuf>,
    /// One trace: CSV (one value per line, or --column for a headed CSV) or a trtexec
    /// --exportTimes JSON, in acquisition order.
    #[arg(long, conflicts_with = "run_dir")]
    pub samples: Option<PathBuf>,
    /// Column of a headed CSV (e.g. `infer_ns` of latencies.csv).
    #[arg(long)]
    pub column: Option<String>,
    /// Field of trtexec --exportTimes records (default latencyMs; old key names accepted).
    #[arg(long)]
    pub field: Option<String>,
    /// Unit of CSV values (trtexec JSON is always ms; run directories are read in ns and
    /// reported in ms).
    #[arg(long, value_parser = ["ns", "us", "ms"], default_value = "ms")]
    pub unit: String,
    /// Stage of a run directory to analyse (pre | infer | post | total); for --samples,
    /// the label reported (default: the column or field name).
    #[arg(long, value_parser = ["pre", "infer", "post", "total"])]
    pub stage: Option<String>,
    /// Family-wise level of the four precondition tests (Bonferroni), and level of each GOF test.
    #[arg(long, default_value_t = 0.05)]
    pub alpha: f64,
    /// Ljung–Box lags.
    #[arg(long, default_value_t = 20)]
    pub lags: usize,
    /// Frames per block for block maxima (consecutive, trailing partial block dropped).
    #[arg(long, default_value_t = 50)]
    pub block_size: usize,
    /// Quantile of the raw samples used as POT threshold.
    #[arg(long, default_value_t = 0.95)]
    pub threshold_quantile: f64,
    /// Margin applied to the high-water mark (reported beside the pWCET).
    #[arg(long, default_value_t = 1.2)]
    pub margin: f64,
    /// Per-frame exceedance probability (repeatable; default 1e-3 .. 1e-12 by decades).
    #[arg(long = "probability")]
    pub probabilities: Vec<f64>,
    /// Add the per-frame probability equivalent to this per-hour probability (needs --fps).
    #[arg(long, requires = "fps")]
    pub per_hour: Option<f64>,
    /// Frames per second for --per-hour.
    #[arg(long)]
    pub fps: Option<f64>,
    /// Pin the model gates use.
    #[arg(long, value_parser = ["gev-bm", "gpd-pot"])]
    pub method: Option<String>,
    /// Pin the estimator gates use.
    #[arg(long, value_parser = ["pwm", "mle"])]
    pub estimator: Option<String>,
    /// Seed of all bootstrap streams.
    #[arg(long, default_value_t = 0x5EED)]
    pub seed: u64,
    /// Bootstrap resamples for the interval of the selected model.
    #[arg(long, default_value_t = 1000)]
    pub resamples: usize,
    /// Parametric-bootstrap resamples per goodness-of-fit p-value.
    #[arg(long, default_value_t = 200)]
    pub gof_resamples: usize,
    /// Confidence level of the bootstrap interval.
    #[arg(long, default_value_t = 0.95)]
    pub confidence: f64,
    /// Minimum number of block maxima and of threshold excesses (sets the minimum sample count).
    #[arg(long, default_value_t = 30)]
    pub min_blocks: usize,
    /// Print bounds beyond the extrapolation limit (p < 1e-2/n), marked `beyond_limit`;
    /// without it those rows carry no figures.
    #[arg(long)]
    pub extrapolate: bool,
    /// Keep a bounded (xi < 0) fitted tail's own upper bounds instead of raising them to its
    /// xi = 0 counterpart's (the shape floor, docs/WCET.md); for comparisons only.
    #[arg(long)]
    pub no_shape_floor: bool,
    /// Stationary-bootstrap replicates of the raw trace for the interval of dependent traces.
    #[arg(long, default_value_t = 200)]
    pub trace_resamples: usize,
    /// Level of the change-point test on the raw trace (run before any route).
    #[arg(long, default_value_t = 0.01)]
    pub change_alpha: f64,
    /// Write exceedance and convergence SVG figures into this directory.
    #[arg(long)]
    pub plots: Option<PathBuf>,
    /// What to print: the whole analysis as JSON (the default, the same as a run's
    /// `wcet.json`), or per trace the verdict, the reasons and the selected model's pWCET
    /// table (text).
    #[arg(long, value_enum, default_value_t = super::Format::Json)]
    pub format: super::Format,
}

fn check(ok: bool, what: &str) -> Result<(), Failure> {
    if ok {
        Ok(())
    } else {
        Err(Failure::bad_input(anyhow!("{what}")))
    }
}

fn settings(a: &Args) -> Result<WcetSettings, Failure> {
    let open = |v: f64| v > 0.0 && v < 1.0;
    check(open(a.alpha), "--alpha must lie in (0, 1)")?;
    check(
        open(a.threshold_quantile),
        "--threshold-quantile must lie in (0, 1)",
    )?;
    check(open(a.confidence), "--confidence must lie in (0, 1)")?;
    check(open(a.change_alpha), "--change-alpha must lie in (0, 1)")?;
    check(
        a.block_size >= 1 && a.lags >= 1 && a.min_blocks >= 3,
        "--block-size and --lags must be >= 1, --min-blocks >= 3",
    )?;
    check(a.margin > 0.0, "--margin must be positive")?;
    check(
        a.gof_resamples >= 19,
        "--gof-resamples must be at least 19 (p-values resolve alpha = 0.05)",
    )?;
    check(
        a.probabilities.iter().all(|&p| open(p)),
        "--probability must lie in (0, 1)",
    )?;
    let mut probs = if a.probabilities.is_empty() {
        wcet::default_probabilities()
    } else {
        a.probabilities.clone()
    };
    if let (Some(ph), Some(fps)) = (a.per_hour, a.fps) {
        check(
            open(ph) && fps > 0.0,
            "--per-hour must lie in (0, 1) and --fps be positive",
        )?;
        probs.push(per_hour_to_frame(ph, fps));
    }
    Ok(WcetSettings {
        alpha: a.alpha,
        lags: a.lags,
        block_size: a.block_size,
        threshold_quantile: a.threshold_quantile,
        margin: a.margin,
        probabilities: probs,
        seed: a.seed,
        resamples: a.resamples.max(1),
        gof_resamples: a.gof_resamples,
        confidence: a.confidence,
        method: a
            .method
            .as_deref()
            .map(|m| m.parse::<Method>())
            .transpose()
            .map_err(|e| Failure::bad_input(anyhow!(e)))?,
        estimator: a
            .estimator
            .as_deref()
            .map(|m| m.parse::<Estimator>())
            .transpose()
            .map_err(|e| Failure::bad_input(anyhow!(e)))?,
        min_blocks: a.min_blocks,
        min_exceedances: a.min_blocks,
        extrapolate: a.extrapolate,
        shape_floor: !a.no_shape_floor,
        trace_resamples: a.trace_resamples.max(1),
        change_alpha: a.change_alpha,
        unit: a.unit.clone(),
        stage: a.stage.clone().unwrap_or_else(|| "total".into()),
        ..WcetSettings::default()
    })
}

fn write_plots(dir: &Path, stem: &str, samples: &[f64], a: &wcet::Analysis) -> Result<(), Failure> {
    std::fs::create_dir_all(dir)
        .map_err(|e| Failure::bad_input(anyhow!("{}: {e}", dir.display())))?;
    for (name, svg) in [
        ("exceedance", plot::exceedance_svg(samples, a)),
        ("convergence", plot::convergence_svg(a)),
    ] {
        let p = dir.join(format!("{stem}{name}.svg"));
        std::fs::write(&p, svg).map_err(|e| Failure::bad_input(anyhow!("{}: {e}", p.display())))?;
    }
    Ok(())
}

pub fn run(args: Args) -> CliResult {
    let mut s = settings(&args)?;
    let json = if let Some(path) = &args.samples {
        let src = SampleSource {
            path: path.clone(),
            column: args.column.clone(),
            field: args.field.clone(),
        };
        let is_json = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"));
        if is_json {
            s.unit = "ms".into();
        }
        if args.stage.is_none() {
            s.stage = args
                .column
                .clone()
                .or_else(|| args.field.clone())
                .unwrap_or_else(|| {
                    if is_json {
                        "latencyMs".into()
                    } else {
                        "total".into()
                    }
                });
        }
        let samples = wcet::read_samples(&src).map_err(Failure::classified)?;
        let a = wcet::analyse(&samples, &s).map_err(Failure::classified)?;
        if let Some(dir) = &args.plots {
            write_plots(dir, "", &samples, &a)?;
        }
        match args.format {
            super::Format::Json => serde_json::to_string_pretty(&a),
            super::Format::Text => Ok(report::markdown::section(&report::wcet_text::section(
                &path.display().to_string(),
                &a,
            ))),
        }
    } else if let Some(dir) = &args.run_dir {
        if args.stage.is_none() {
            s.stage = "infer".into();
        }
        let r = wcet::analyse_run_dir(dir, &s).map_err(Failure::classified)?;
        if let Some(pdir) = &args.plots {
            let traces = wcet::input::read_run_dir(dir, &s.stage).map_err(Failure::classified)?;
            for (t, a) in traces.iter().zip(&r.analyses) {
                let stem = adasval::names::file_name(
                    "",
                    &[("engine", &t.engine), ("scenario", &t.scenario)],
                    "_",
                    "_",
                )
                .map_err(Failure::classified)?;
                write_plots(pdir, &stem, &t.samples, &a.analysis)?;
            }
        }
        match args.format {
            super::Format::Json => serde_json::to_string_pretty(&r),
            super::Format::Text => Ok(r
                .analyses
                .iter()
                .map(|t| {
                    let mut sec = report::wcet_text::section(
                        &format!("{} × {} ({})", t.engine, t.scenario, t.platform),
                        &t.analysis,
                    );
                    sec.push(report::doc::Block::text(&adasval::units::describe(
                        &t.units,
                        t.pooling.as_ref(),
                    )));
                    report::markdown::section(&sec)
                })
                .collect::<Vec<_>>()
                .join("\n")),
        }
    } else {
        return Err(Failure::bad_input(anyhow!(
            "give a run directory or --samples FILE"
        )));
    };
    let json = json.map_err(|e| Failure::new(Status::BadInput, e))?;
    outln!("{json}");
    Ok(Status::Pass)
}
