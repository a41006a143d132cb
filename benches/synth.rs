//! Render time of one 512x288 random frame (the replay renders every scenario frame
//! before timing and the trainer renders ~20,000 frames, so this must stay well
//! under 20 ms on one core).

use adasval::synth::render_random;
use criterion::{criterion_group, criterion_main, Criterion};

fn bench(c: &mut Criterion) {
    let mut i = 0u64;
    c.bench_function("synth_render_512x288", |b| {
        b.iter(|| {
            i += 1;
            std::hint::black_box(render_random(42, i % 64, 512, 288))
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
