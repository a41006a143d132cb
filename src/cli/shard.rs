//! `adasval shard list|plan`: what a shard of the work list runs, without running it, and
//! a cost-balanced plan from an earlier run's timings (docs/FARM.md).

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::{CliResult, Failure};
use adasval::exit::Status;
use adasval::farm::shard::ShardPlan;
use adasval::validate::{self, ValidateRequest};

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Print the work items the K-th of N shards runs (nothing is run or hashed).
    List(ListArgs),
    /// Write a cost-balanced plan for `validate --shard K/N --shard-plan FILE` from the
    /// per-trace times of an earlier run (largest item first onto the least loaded shard).
    Plan(PlanArgs),
}

/// The work-list selection `validate` takes.
#[derive(clap::Args, Debug)]
pub struct Selection {
    /// Project root.
    #[arg(long, default_value = ".")]
    root: PathBuf,
    /// Only these scenario ids, or the ids of swept files (all their instances) (repeatable, or comma-separated).
    #[arg(long = "scenario", value_delimiter = ',')]
    scenarios: Vec<String>,
    /// Only scenarios carrying any of these tags.
    #[arg(long = "tags", alias = "tag", value_delimiter = ',')]
    tags: Vec<String>,
    /// Only these engines from the lock.
    #[arg(long = "engine", value_delimiter = ',')]
    engines: Vec<String>,
}

impl Selection {
    fn work_list(&self) -> Result<adasval::farm::shard::WorkList, Failure> {
        let req = ValidateRequest {
            root: self.root.clone(),
            scenarios: self.scenarios.clone(),
            tags: self.tags.clone(),
            engines: self.engines.clone(),
            ..Default::default()
        };
        Ok(validate::select(&req)
            .map_err(Failure::classified)?
            .work_list())
    }
}

#[derive(clap::Args, Debug)]
pub struct ListArgs {
    #[command(flatten)]
    selection: Selection,
    /// `K/N` or `hash:K/N`.
    #[arg(long, value_name = "K/N")]
    shard: String,
    /// Take the items from this plan instead of the hash.
    #[arg(long, value_name = "FILE")]
    shard_plan: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = super::Format::Text)]
    format: super::Format,
}

#[derive(clap::Args, Debug)]
pub struct PlanArgs {
    #[command(flatten)]
    selection: Selection,
    /// A run directory whose run.json gives each item's time.
    run_dir: PathBuf,
    /// Number of shards.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    shards: u32,
    /// Where to write the plan (JSON).
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
}

pub fn run(c: Command) -> CliResult {
    match c {
        Command::List(a) => list(a),
        Command::Plan(a) => plan(a),
    }
}

fn list(a: ListArgs) -> CliResult {
    let sel = super::validate::shard_selection(Some(&a.shard), a.shard_plan.as_deref())?
        .ok_or_else(|| Failure::bad_input(anyhow::anyhow!("--shard is required")))?;
    let list = a.selection.work_list()?;
    let items = sel.select(&list).map_err(Failure::classified)?;
    match a.format {
        super::Format::Text => {
            for i in &items {
                outln!("{}", i.id());
            }
            if !super::quiet() {
                eprintln!(
                    "shard {} ({}): {} of {} work items (work list {})",
                    sel.spec,
                    sel.strategy(),
                    items.len(),
                    list.items.len(),
                    &list.sha256()[..12]
                );
            }
        }
        super::Format::Json => {
            let v = serde_json::json!({
                "shard": sel.spec,
                "strategy": sel.strategy(),
                "work_list_sha256": list.sha256(),
                "work_list_items": list.items.len(),
                "items": items,
            });
            outln!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        }
    }
    Ok(Status::Pass)
}

fn plan(a: PlanArgs) -> CliResult {
    let list = a.selection.work_list()?;
    let run = adasval::record::read_run(&a.run_dir).map_err(Failure::classified)?;
    let mut measured = BTreeMap::new();
    for t in &run.traces {
        let ns = t.latency_ns.total.mean * t.samples as f64;
        if ns.is_finite() && ns > 0.0 {
            measured.insert(format!("{}/{}", t.engine, t.scenario), ns as u64);
        }
    }
    let unknown = list
        .items
        .iter()
        .filter(|i| !measured.contains_key(&i.id()))
        .count();
    let plan = ShardPlan::balance(&list, a.shards, &measured, a.run_dir.display().to_string());
    adasval::atomic::write_atomic(
        &a.out,
        serde_json::to_string_pretty(&plan)
            .unwrap_or_default()
            .as_bytes(),
    )
    .map_err(|e| Failure::unavailable(anyhow::anyhow!("cannot write {}: {e}", a.out.display())))?;
    outln!("{}", a.out.display());
    if !super::quiet() {
        for (k, c) in plan.shard_cost_ns.iter().enumerate() {
            eprintln!(
                "shard {}/{}: {:.1} s expected",
                k + 1,
                a.shards,
                *c as f64 / 1e9
            );
        }
        if unknown > 0 {
            eprintln!(
                "{unknown} of {} items were not in {} and count at the median measured cost",
                list.items.len(),
                a.run_dir.display()
            );
        }
    }
    Ok(Status::Pass)
}
