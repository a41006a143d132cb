//! Criterion benchmark of `wcet::analyse` (issue 5 performance target; the 10^6-sample
//! figure comes from bench/wcet_bench.sh, which runs the release binary). Issue 20: the
//! dependent route (AR(1) φ = 0.7 frames, stationary bootstrap of the raw trace) beside the
//! i.i.d. one; bench/wcet_speed.sh times both against the code before issue 20 in one run.

use adasval::wcet::gev::Gev;
use adasval::wcet::rng::Rng;
use adasval::wcet::{analyse, WcetSettings};
use criterion::{criterion_group, criterion_main, Criterion};

fn frames(n: usize) -> Vec<f64> {
    let g = Gev {
        shape: -0.1,
        location: 4.0,
        scale: 0.25,
    };
    let mut r = Rng::new(2026);
    (0..n).map(|_| g.sample(r.uniform())).collect()
}

fn ar_frames(n: usize) -> Vec<f64> {
    let mut r = Rng::new(2027);
    let mut z = 0.0;
    (0..n)
        .map(|_| {
            z = 0.7 * z + r.normal();
            10.0 + 0.2 * z
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("wcet");
    group.sample_size(10);
    for n in [100_000usize, 1_000_000] {
        let x = frames(n);
        let s = WcetSettings::default();
        group.bench_function(format!("analyse_{n}"), |b| b.iter(|| analyse(&x, &s)));
        let y = ar_frames(n);
        group.bench_function(format!("analyse_dependent_{n}"), |b| {
            b.iter(|| analyse(&y, &s))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
