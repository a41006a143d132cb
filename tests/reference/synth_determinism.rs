//! Determinism of the scene generator: same seed, same bytes; the raw-pixel hash
//! of a small frame is pinned so a change of platform maths shows up here.

use adasval::synth::{frame_pixel_hash, render_random, SequenceSpec};

/// SHA-256 of the raw RGB of `render_random(7, 0, 64, 48)`. Computed once with the
/// renderer at the commit that introduced it; any change of pixels (renderer edit or
/// non-deterministic maths) changes it. Update deliberately, never to make CI pass.
const PINNED_64X48_SEED7: &str = "b3f9c7a3262200b7bc1e51055af1c5b12fb8348ca3098c8b7a803d48d03db7c7";

/// SHA-256 over the raw RGB of frames 0..12 of seed 7 at 96x64: together they cover
/// every lighting, weather and actor class, so more of the renderer is guarded.
const PINNED_96X64_SEED7_FRAMES_0_12: &str =
    "3c24e46a7713fe49d579202634913c656e5038cd2a263c2c8c1ee1a9da5c83cb";

#[test]
fn pinned_pixel_hash_many_frames() {
    let mut h = adasval::hash::Hasher::new();
    let mut classes = std::collections::BTreeSet::new();
    let mut conditions = std::collections::BTreeSet::new();
    for i in 0..12 {
        let f = render_random(7, i, 96, 64);
        h.update(&f.rgb);
        classes.extend(f.objects.iter().map(|o| o.class_id));
        conditions.insert((f.lighting.name(), f.weather.name()));
    }
    assert!(classes.len() >= 4, "frames cover classes {classes:?}");
    assert!(
        conditions.len() >= 4,
        "frames cover conditions {conditions:?}"
    );
    assert_eq!(h.finish_hex(), PINNED_96X64_SEED7_FRAMES_0_12);
}

#[test]
fn same_seed_same_bytes() {
    for index in 0..6 {
        let a = render_random(11, index, 160, 96);
        let b = render_random(11, index, 160, 96);
        assert_eq!(a.rgb, b.rgb, "frame {index}");
        assert_eq!(a.objects, b.objects, "frame {index}");
    }
}

#[test]
fn different_seeds_differ() {
    let a = render_random(1, 0, 128, 72);
    let b = render_random(2, 0, 128, 72);
    let c = render_random(1, 1, 128, 72);
    assert_ne!(a.rgb, b.rgb);
    assert_ne!(a.rgb, c.rgb);
}

#[test]
fn pinned_pixel_hash() {
    let f = render_random(7, 0, 64, 48);
    assert_eq!(f.rgb.len(), 64 * 48 * 3);
    assert_eq!(frame_pixel_hash(&f), PINNED_64X48_SEED7);
}

#[test]
fn parallel_and_serial_renders_agree() {
    use rayon::prelude::*;
    let par: Vec<String> = (0..8u64)
        .into_par_iter()
        .map(|i| frame_pixel_hash(&render_random(5, i, 96, 64)))
        .collect();
    let ser: Vec<String> = (0..8u64)
        .map(|i| frame_pixel_hash(&render_random(5, i, 96, 64)))
        .collect();
    assert_eq!(par, ser);
}

#[test]
fn sequence_frames_are_reproducible_with_stable_tracks() {
    let spec = SequenceSpec::from_yaml(
        "seed: 3\nwidth: 160\nheight: 96\nframes: 5\nego_speed: 5\nactors:\n  - id: 42\n    kind: adult\n    keyframes:\n      - { t: 0, x: 2, z: 12 }\n      - { t: 1, x: 0, z: 12 }\n",
    )
    .expect("valid spec");
    for f in 0..5 {
        let a = spec.render(f).expect("render");
        let b = spec.render(f).expect("render");
        assert_eq!(a.rgb, b.rgb);
        assert_eq!(a.objects.len(), 1, "frame {f}");
        assert_eq!(a.objects[0].track_id, 42);
    }
    assert!(spec.render(5).is_err());
}
