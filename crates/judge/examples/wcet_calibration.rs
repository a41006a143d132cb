//! Calibration suite of `adasval wcet` (docs/WCET.md, "Calibration"): analyses simulated
//! traces with known marginal quantiles and prints the share of runs whose printed upper
//! bound lies below the truth. Usage (see bench/wcet_calibration.sh):
//!   wcet_calibration --seeds 400 --n 10000 [--n 100000] [--only NAME] [--extrapolate]
//!                    [--json FILE]

use adasval_judge::wcet::calibration::{markdown, run_case, summarise, Process};
use adasval_judge::wcet::WcetSettings;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut seeds = 100u64;
    let mut ns: Vec<usize> = vec![];
    let mut only: Vec<String> = vec![];
    let mut json: Option<String> = None;
    let mut extrapolate = false;
    let mut i = 0;
    while i < args.len() {
        let val = || {
            args.get(i + 1).cloned().unwrap_or_else(|| {
                eprintln!("{} needs a value", args[i]);
                std::process::exit(2)
            })
        };
        let num = |v: String| -> u64 {
            v.parse().unwrap_or_else(|_| {
                eprintln!("`{v}` is not a count");
                std::process::exit(2)
            })
        };
        match args[i].as_str() {
            "--seeds" => seeds = num(val()),
            "--n" => ns.push(num(val()) as usize),
            "--only" => only.push(val()),
            "--json" => json = Some(val()),
            "--extrapolate" => {
                extrapolate = true;
                i += 1;
                continue;
            }
            other => {
                eprintln!("unknown argument `{other}`");
                std::process::exit(2)
            }
        }
        i += 2;
    }
    if ns.is_empty() {
        ns.push(10_000);
    }
    let settings = WcetSettings {
        extrapolate,
        ..WcetSettings::default()
    };
    let mut cases = Vec::new();
    for &n in &ns {
        for p in Process::all() {
            if !only.is_empty() && !only.iter().any(|o| p.name().contains(o.as_str())) {
                continue;
            }
            let t = Instant::now();
            let runs = run_case(p, n, seeds, &settings);
            let c = summarise(p, n, &runs);
            eprintln!(
                "{} n={n}: {} runs in {:.1} s",
                p.name(),
                runs.len(),
                t.elapsed().as_secs_f64()
            );
            cases.push(c);
        }
    }
    print!("{}", markdown(&cases));
    if let Some(path) = json {
        let text = serde_json::to_string_pretty(&cases).expect("summaries serialise");
        if let Err(e) = std::fs::write(&path, text) {
            eprintln!("cannot write {path}: {e}");
            std::process::exit(2)
        }
    }
}
