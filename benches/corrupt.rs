//! Time to corrupt one 512×288 frame, per corruption (severity 3), single-threaded: every
//! frame of a ladder rung is corrupted before timing, twice per run (pre-flight and
//! replay), so this bounds what a ladder adds to `validate`. Results in docs/BENCH.md.

use adasval::corrupt::{apply, Corruption, RgbImage, Severity};
use criterion::{criterion_group, criterion_main, Criterion};

fn bench(c: &mut Criterion) {
    let f = adasval::synth::render_random(42, 3, 512, 288);
    let img = RgbImage {
        width: f.width,
        height: f.height,
        data: f.rgb,
    };
    let s = Severity::new(3).expect("3 is a severity");
    let mut g = c.benchmark_group("corrupt_512x288_severity3");
    g.sample_size(10);
    g.measurement_time(std::time::Duration::from_secs(2));
    g.warm_up_time(std::time::Duration::from_millis(300));
    for k in Corruption::ALL {
        let mut frame = 0u64;
        g.bench_function(k.name(), |b| {
            b.iter(|| {
                frame += 1;
                std::hint::black_box(apply(&img, k, s, 26, frame).expect("valid frame"))
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
