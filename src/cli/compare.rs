//! `adasval compare`: consistency across sealed runs of the same scenarios.

use std::path::PathBuf;

use adasval::compare;
use adasval::exit::Status;
use adasval::metrics::consistency::Tolerances;

use super::{CliResult, Failure};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Sealed run directories (two or more engines in total).
    #[arg(required = true)]
    pub runs: Vec<PathBuf>,
    /// Output directory (default: reports/compare-<time>); sealed when written.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Raw-output tolerances YAML: `default: {atol, rtol}`, `per_output: {name: {atol, rtol}}`, `quantile`.
    #[arg(long)]
    pub tolerances: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = super::Format::Text)]
    pub format: super::Format,
}

pub fn run(a: Args) -> CliResult {
    let tolerances: Tolerances = match &a.tolerances {
        Some(p) => adasval::yamlfile::load(p).map_err(Failure::classified)?,
        None => Tolerances::default(),
    };
    let c = compare::compare(&a.runs, &tolerances).map_err(Failure::classified)?;
    let out = a.out.unwrap_or_else(|| {
        let t = humantime::format_rfc3339_seconds(std::time::SystemTime::now())
            .to_string()
            .replace([':', '-'], "");
        PathBuf::from("reports").join(format!("compare-{}", t.trim_end_matches('Z')))
    });
    std::fs::create_dir_all(&out).map_err(Failure::bad_input)?;
    let json = serde_json::to_string_pretty(&c).map_err(Failure::bad_input)?;
    let md = adasval::report::compare::markdown(&c);
    for (name, bytes) in [
        ("compare.json", json.as_bytes()),
        ("compare.md", md.as_bytes()),
    ] {
        adasval::evidence::write_atomic(&out.join(name), bytes).map_err(Failure::classified)?;
    }
    adasval::evidence::seal(&out, None).map_err(Failure::classified)?;
    if a.format == super::Format::Json {
        outln!("{json}");
    } else {
        outln!("{md}");
    }
    eprintln!("written to {}", out.display());
    Ok(Status::Pass)
}
