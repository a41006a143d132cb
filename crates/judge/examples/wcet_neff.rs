//! Which calibration traces the dependent route's effective-sample-size rule refuses
//! (docs/WCET.md, "Effective sample size"): for every process and seed, in the order of
//! `analyse` (change point, then the four i.i.d. preconditions, then n_eff), the AR(1)
//! effective sample size of the trace and whether the rule fires.
//! Usage: wcet_neff [SEEDS (default 400)]; one line per process and trace length.

use adasval_judge::wcet::calibration::Process;
use adasval_judge::wcet::{changepoint, effective_samples, iid, WcetSettings};
use rayon::prelude::*;

struct Trace {
    seed: u64,
    stationary: bool,
    raw_iid: bool,
    n_eff: Option<f64>,
}

fn figure(v: Option<f64>) -> String {
    v.map_or_else(|| "none".into(), |x| format!("{x:.0}"))
}

fn main() {
    let seeds: u64 = match std::env::args().nth(1) {
        None => 400,
        Some(v) => v.parse().unwrap_or_else(|_| {
            eprintln!("wcet_neff: `{v}` is not a seed count");
            std::process::exit(2)
        }),
    };
    let s = WcetSettings::default();
    let min = s.min_effective_samples as f64;
    println!("n\tprocess\tdependent\trule fires\tn_eff min / median / max\tlargest refused\tsmallest kept (dependent route)");
    for n in [10_000usize, 100_000] {
        for p in Process::all() {
            let rows: Vec<Trace> = (1..=seeds)
                .into_par_iter()
                .map(|seed| {
                    let x = p.simulate(seed, n);
                    Trace {
                        seed,
                        stationary: changepoint::cusum_ranks(&x, s.change_alpha)
                            .is_none_or(|c| c.passed),
                        raw_iid: iid::preconditions(&x, s.lags, s.alpha)
                            .iter()
                            .all(|t| t.passed),
                        n_eff: effective_samples(&x).map(|e| e.1),
                    }
                })
                .collect();
            let routed = |r: &&Trace| r.stationary && !r.raw_iid && r.n_eff.is_some();
            let fired: Vec<&Trace> = rows
                .iter()
                .filter(routed)
                .filter(|r| r.n_eff.is_some_and(|v| v < min))
                .collect();
            let kept = rows
                .iter()
                .filter(routed)
                .filter_map(|r| r.n_eff.filter(|&v| v >= min))
                .reduce(f64::min);
            let largest_refused = fired.iter().filter_map(|r| r.n_eff).reduce(f64::max);
            let mut all: Vec<f64> = rows.iter().filter_map(|r| r.n_eff).collect();
            all.sort_by(f64::total_cmp);
            let spread = if all.is_empty() {
                "none".to_string()
            } else {
                format!(
                    "{:.0} / {:.0} / {:.0}",
                    all[0],
                    all[all.len() / 2],
                    all[all.len() - 1]
                )
            };
            println!(
                "{n}\t{}\t{}\t{}/{seeds}\t{spread}\t{}\t{}",
                p.name(),
                rows.iter().filter(|r| !r.raw_iid).count(),
                fired.len(),
                figure(largest_refused),
                figure(kept)
            );
            if !fired.is_empty() && fired.len() < 40 {
                let ids: Vec<u64> = fired.iter().map(|r| r.seed).collect();
                println!("\tseeds refused: {ids:?}");
            }
        }
    }
}
