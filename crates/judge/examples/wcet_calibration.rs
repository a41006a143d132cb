//! Calibration suite of `adasval wcet` (docs/WCET.md, "Calibration"): analyses simulated
//! traces with known marginal quantiles and prints the share of runs whose printed upper
//! bound lies below the truth. Usage (see bench/wcet_calibration.sh):
//!   wcet_calibration [--seeds 400 | --seed-range 201..400] --n 10000 [--n 100000]
//!                    [--only NAME]... [--jobs N] [--extrapolate] [--no-shape-floor]
//!                    [--runs FILE.jsonl] [--json FILE]
//!   wcet_calibration --merge FILE.jsonl... [--json FILE]
//! `--only` keeps the processes whose name contains NAME; `--jobs` sets the worker threads
//! (default: all cores); results do not depend on it (every trace and every resample has
//! its own seeded stream). `--runs` writes one JSON line per analysed trace, sorted, so that
//! partial runs (seed ranges, families, trace lengths) merge with `--merge` into one table.

use adasval_judge::wcet::calibration::{
    markdown, merge_records, run_one, summarise, Process, RunRecord,
};
use adasval_judge::wcet::WcetSettings;
use rayon::prelude::*;
use std::io::Write;
use std::time::Instant;

fn fail(msg: String) -> ! {
    eprintln!("wcet_calibration: {msg}");
    std::process::exit(2)
}

struct Options {
    seeds: (u64, u64),
    ns: Vec<usize>,
    only: Vec<String>,
    jobs: Option<usize>,
    extrapolate: bool,
    shape_floor: bool,
    runs: Option<String>,
    json: Option<String>,
    merge: Vec<String>,
}

fn parse(args: &[String]) -> Options {
    let mut o = Options {
        seeds: (1, 100),
        ns: vec![],
        only: vec![],
        jobs: None,
        extrapolate: false,
        shape_floor: true,
        runs: None,
        json: None,
        merge: vec![],
    };
    let num = |v: &str| -> u64 {
        v.parse()
            .unwrap_or_else(|_| fail(format!("`{v}` is not a count")))
    };
    let mut i = 0;
    while i < args.len() {
        let flag = args[i].as_str();
        match flag {
            "--extrapolate" => o.extrapolate = true,
            "--no-shape-floor" => o.shape_floor = false,
            "--merge" => {
                // every following argument up to the next flag is a runs file
                while i + 1 < args.len() && !args[i + 1].starts_with("--") {
                    o.merge.push(args[i + 1].clone());
                    i += 1;
                }
                if o.merge.is_empty() {
                    fail("--merge needs at least one runs file".into())
                }
            }
            _ => {
                let Some(v) = args.get(i + 1) else {
                    fail(format!("{flag} needs a value"))
                };
                match flag {
                    "--seeds" => o.seeds = (1, num(v)),
                    "--seed-range" => {
                        let Some((a, b)) = v.split_once("..") else {
                            fail(format!(
                                "--seed-range `{v}`: expected FIRST..LAST, e.g. 201..400"
                            ))
                        };
                        o.seeds = (num(a), num(b));
                        if o.seeds.0 == 0 || o.seeds.0 > o.seeds.1 {
                            fail(format!(
                                "--seed-range `{v}`: seeds start at 1 and FIRST <= LAST"
                            ))
                        }
                    }
                    "--n" => o.ns.push(num(v) as usize),
                    "--only" => o.only.push(v.clone()),
                    "--jobs" => o.jobs = Some(num(v).max(1) as usize),
                    "--runs" => o.runs = Some(v.clone()),
                    "--json" => o.json = Some(v.clone()),
                    other => fail(format!("unknown argument `{other}`")),
                }
                i += 1;
            }
        }
        i += 1;
    }
    if o.ns.is_empty() {
        o.ns.push(10_000);
    }
    o
}

fn read_runs(paths: &[String]) -> Vec<RunRecord> {
    let mut out = Vec::new();
    for path in paths {
        let text = std::fs::read_to_string(path)
            .unwrap_or_else(|e| fail(format!("cannot read {path}: {e}")));
        for (k, line) in text.lines().enumerate().filter(|l| !l.1.trim().is_empty()) {
            out.push(
                serde_json::from_str(line)
                    .unwrap_or_else(|e| fail(format!("{path}:{}: not a run record: {e}", k + 1))),
            );
        }
    }
    out
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let o = parse(&args);
    if let Some(j) = o.jobs {
        rayon::ThreadPoolBuilder::new()
            .num_threads(j)
            .build_global()
            .unwrap_or_else(|e| fail(format!("cannot start {j} threads: {e}")));
    }
    let records = if o.merge.is_empty() {
        let settings = WcetSettings {
            extrapolate: o.extrapolate,
            shape_floor: o.shape_floor,
            ..WcetSettings::default()
        };
        let processes: Vec<Process> = Process::all()
            .into_iter()
            .filter(|p| o.only.is_empty() || o.only.iter().any(|s| p.name().contains(s.as_str())))
            .collect();
        if processes.is_empty() {
            fail(format!("no process name contains {:?}", o.only))
        }
        // one flat list of traces, so that all workers stay busy to the end
        let jobs: Vec<(Process, usize, u64)> =
            o.ns.iter()
                .flat_map(|&n| processes.iter().map(move |&p| (p, n)))
                .flat_map(|(p, n)| (o.seeds.0..=o.seeds.1).map(move |s| (p, n, s)))
                .collect();
        let t = Instant::now();
        let done: Vec<(RunRecord, f64)> = jobs
            .par_iter()
            .map(|&(p, n, seed)| {
                let t = Instant::now();
                let outcome = run_one(p, n, seed, &settings);
                let rec = RunRecord {
                    process: p.name(),
                    n,
                    extrapolate: o.extrapolate,
                    shape_floor: o.shape_floor,
                    outcome,
                };
                (rec, t.elapsed().as_secs_f64())
            })
            .collect();
        let wall = t.elapsed().as_secs_f64();
        for &n in &o.ns {
            for p in &processes {
                let secs: Vec<f64> = done
                    .iter()
                    .filter(|(r, _)| r.n == n && r.process == p.name())
                    .map(|d| d.1)
                    .collect();
                // with one thread this is the CPU cost of a trace; with more, a trace's
                // wall time also holds work stolen from other traces (nested rayon)
                eprintln!(
                    "{} n={n}: {} runs, {:.3} s wall per trace ({} threads)",
                    p.name(),
                    secs.len(),
                    secs.iter().sum::<f64>() / secs.len().max(1) as f64,
                    rayon::current_num_threads()
                );
            }
        }
        eprintln!("{} traces in {wall:.1} s wall", done.len());
        let records: Vec<RunRecord> = done.into_iter().map(|d| d.0).collect();
        if let Some(path) = &o.runs {
            let mut f = std::fs::File::create(path)
                .map(std::io::BufWriter::new)
                .unwrap_or_else(|e| fail(format!("cannot write {path}: {e}")));
            for r in &records {
                let line = serde_json::to_string(r).expect("run records serialise");
                writeln!(f, "{line}").unwrap_or_else(|e| fail(format!("cannot write {path}: {e}")));
            }
            f.flush()
                .unwrap_or_else(|e| fail(format!("cannot write {path}: {e}")));
        }
        records
    } else {
        read_runs(&o.merge)
    };
    let cases = merge_records(&records).unwrap_or_else(|e| fail(e));
    let summaries: Vec<_> = cases
        .iter()
        .map(|(p, n, runs)| {
            let seeds = runs.iter().map(|r| r.seed);
            eprintln!(
                "{} n={n}: {} runs, seeds {}..{}",
                p.name(),
                runs.len(),
                seeds.clone().min().unwrap_or(0),
                seeds.max().unwrap_or(0)
            );
            summarise(*p, *n, runs)
        })
        .collect();
    print!("{}", markdown(&summaries));
    if let Some(path) = o.json {
        let text = serde_json::to_string_pretty(&summaries).expect("summaries serialise");
        std::fs::write(&path, text).unwrap_or_else(|e| fail(format!("cannot write {path}: {e}")));
    }
}
