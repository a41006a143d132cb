//! Wall time of the full default analysis on 10^6 samples: an i.i.d. GEV trace (the i.i.d.
//! route), an AR(1) φ = 0.7 trace and an ARMAX trace (the dependent route). bench/wcet_speed.sh builds this
//! same file against the code before issue 20 and runs both back to back.
//! Usage: `wcet_time [N] [NAME...]` (NAME: iid, ar1-0.7, armax-gumbel; default all three).

use adasval_judge::wcet::gev::Gev;
use adasval_judge::wcet::rng::Rng;
use adasval_judge::wcet::{analyse, WcetSettings};
use std::time::Instant;

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let g = Gev {
        shape: -0.1,
        location: 4.0,
        scale: 0.25,
    };
    let mut r = Rng::new(2026);
    let iid: Vec<f64> = (0..n).map(|_| g.sample(r.uniform())).collect();
    let mut z = 0.0;
    let ar: Vec<f64> = (0..n)
        .map(|_| {
            z = 0.7 * z + r.normal();
            10.0 + 0.2 * z
        })
        .collect();
    // max-autoregressive, Gumbel margins, extremal index 0.5: its maxima are GEV at every
    // block size, so the dependent route gets a bound and its bootstrap runs
    let a: f64 = 0.5;
    let mut m = -1.0 / r.uniform().ln();
    let armax: Vec<f64> = (0..n)
        .map(|_| {
            let v = m;
            m = (a * m).max((1.0 - a) * (-1.0 / r.uniform().ln()));
            50.0 + v.ln()
        })
        .collect();
    let only: Vec<String> = std::env::args().skip(2).collect();
    for (name, x) in [("iid", &iid), ("ar1-0.7", &ar), ("armax-gumbel", &armax)] {
        if !only.is_empty() && !only.iter().any(|o| o == name) {
            continue;
        }
        let t = Instant::now();
        let c = cpu_seconds();
        let a = analyse(x, &WcetSettings::default());
        let cpu = cpu_seconds().zip(c).map(|(b, a)| b - a);
        let verdict = a
            .map(|a| format!("{:?}", a.verdict))
            .unwrap_or_else(|e| e.to_string());
        println!(
            "{name} n={n}: {:.2} s wall, {} CPU, verdict {verdict}",
            t.elapsed().as_secs_f64(),
            cpu.map_or("unknown".into(), |c| format!("{c:.2} s"))
        );
    }
}

/// User + system CPU time of this process (all threads) from /proc/self/stat, in seconds;
/// the stable figure on a shared machine, where wall times vary with the load.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // fields after the parenthesised command name; utime and stime are fields 14 and 15
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}
