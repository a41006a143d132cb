//! Harness overhead per frame with the no-op backend, and YOLOX decode + NMS per frame.
//! Targets (issue 2): overhead ≤ 1 µs median per frame; decode + NMS ≤ 0.5 ms per frame.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use std::sync::atomic::AtomicBool;

use adasval::adapter::*;
use adasval::backend::noop::NoopPrepared;
use adasval::backend::Prepared;
use adasval::preprocess::Transform;
use adasval::replay::{run_trace, NoProgress, Order, PreparedFrame, TraceSettings};
use adasval::rng::SplitMix64;
use adasval::tensor::Tensor;

fn adapter(output: OutputSpec, w: u32, h: u32, classes: usize) -> Adapter {
    Adapter {
        schema_version: 1,
        name: "bench".into(),
        input: InputSpec {
            tensor: "images".into(),
            layout: Layout::Nchw,
            width: w,
            height: h,
            channel_order: ChannelOrder::Bgr,
            scale: 1.0,
            mean: [0.0; 3],
            std: [1.0; 3],
            resize: Resize::Letterbox {
                pad_value: 114,
                placement: Placement::TopLeft,
            },
        },
        output,
        classes: (0..classes).map(|i| format!("c{i}")).collect(),
        safety_critical: vec![],
        score_threshold: 0.3,
        nms_iou: 0.45,
        max_detections: 100,
        nms_class_agnostic: false,
        top_k: None,
        clip_to_input: false,
        scenario_classes: None,
    }
}

fn identity(w: u32, h: u32) -> Transform {
    Transform {
        scale_x: 1.0,
        scale_y: 1.0,
        offset_x: 0.0,
        offset_y: 0.0,
        orig_width: w,
        orig_height: h,
    }
}

fn harness_overhead(c: &mut Criterion) {
    let a = adapter(
        OutputSpec::BoxesScoresClasses {
            boxes: "boxes".into(),
            scores: "scores".into(),
            classes: "classes".into(),
            box_format: BoxFormat::Xyxy,
            normalized: false,
            apply_nms: false,
        },
        64,
        32,
        2,
    );
    let prepared = NoopPrepared(vec![
        Tensor::new("boxes", vec![1, 0, 4], vec![]),
        Tensor::new("scores", vec![1, 0], vec![]),
        Tensor::new("classes", vec![1, 0], vec![]),
    ]);
    let frames: Vec<PreparedFrame> = (0..1000)
        .map(|i| PreparedFrame {
            index: i,
            input: Tensor::new("images", vec![1, 3, 1, 1], vec![0.0; 3]),
            transform: identity(64, 32),
            pre_ns: 0,
        })
        .collect();
    let stop = AtomicBool::new(false);
    let mut g = c.benchmark_group("harness");
    // 1000 timed inferences either way: every frame once (each output hashed with SHA-256
    // for the record), or 100 frames x 10 shuffled repetitions (the timing-scenario shape).
    for (name, n, reps, order) in [
        ("noop_1000_frames_x1", 1000usize, 1u32, Order::Sequential),
        ("noop_100_frames_x10_shuffled", 100, 10, Order::Shuffled),
    ] {
        let settings = TraceSettings {
            repetitions: reps,
            warmup: 0,
            order,
            seed: 1,
            pace_fps: None,
            bounds: Default::default(),
        };
        g.throughput(Throughput::Elements(1000));
        g.bench_function(name, |b| {
            b.iter_batched(
                || prepared.session().unwrap(),
                |mut s| {
                    run_trace(
                        s.as_mut(),
                        &a,
                        &frames[..n],
                        &settings,
                        false,
                        &stop,
                        &NoProgress,
                    )
                },
                BatchSize::SmallInput,
            )
        });
    }
    g.finish();
}

/// A YOLOX-Nano-shaped output (3549 anchors, 80 classes) with a realistic scatter of
/// confident anchors clustered around a few objects.
fn yolox_output(seed: u64) -> Tensor {
    let row = 85;
    let n = 3549;
    let mut r = SplitMix64::new(seed);
    let mut u = || (r.next_u64() >> 11) as f32 / (1u64 << 53) as f32;
    let mut data = vec![0f32; n * row];
    for a in 0..n {
        let d = &mut data[a * row..(a + 1) * row];
        d[0] = u();
        d[1] = u();
        d[2] = u() * 2.0;
        d[3] = u() * 2.0;
        // ~6% of anchors confident, as around a handful of objects.
        d[4] = if u() < 0.06 {
            0.5 + 0.5 * u()
        } else {
            0.05 * u()
        };
        for c in 0..80 {
            d[5 + c] = 0.02 * u();
        }
        let cls = (u() * 4.0) as usize;
        d[5 + cls] = 0.7 + 0.3 * u();
    }
    Tensor::new("output", vec![1, n, row], data)
}

fn yolox_decode(c: &mut Criterion) {
    let a = adapter(
        OutputSpec::Yolox {
            tensor: "output".into(),
            strides: vec![8, 16, 32],
        },
        416,
        416,
        80,
    );
    let outs = vec![yolox_output(7)];
    let t = identity(416, 416);
    c.bench_function("yolox_decode_nms_per_frame", |b| {
        b.iter(|| adasval::decode::decode(&a, &outs, &t).unwrap())
    });
}

criterion_group!(benches, harness_overhead, yolox_decode);
criterion_main!(benches);
