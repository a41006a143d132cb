//! Property tests: the sequence parser never panics on mutated YAML, and random
//! frames render without panicking for arbitrary seeds and small sizes.

use adasval::synth::{render_random, SequenceSpec};
use proptest::prelude::*;

const BASE: &str = "seed: 5\nwidth: 64\nheight: 48\nframes: 3\nfps: 10\nlighting: night\nweather: rain\nego_speed: 4\nroad: { lanes: 3, ego_lane: 1 }\neffects: { noise: 0.02, motion_blur: 3 }\nactors:\n  - id: 1\n    kind: adult\n    keyframes:\n      - { t: 0, x: 2, z: 10 }\n      - { t: 1, x: -1, z: 11, heading: 90 }\n  - id: 2\n    kind: truck\n    keyframes: [ { t: 0, x: -3.5, z: 30 } ]\n";

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn mutated_yaml_never_panics(pos in 0usize..BASE.len(), len in 0usize..8, ins in "[ -~\n]{0,8}") {
        let mut s: Vec<u8> = BASE.as_bytes().to_vec();
        let end = (pos + len).min(s.len());
        s.splice(pos..end, ins.bytes());
        if let Ok(text) = String::from_utf8(s) {
            if let Ok(spec) = SequenceSpec::from_yaml(&text) {
                // Whatever validates must render its first frame.
                let _ = spec.render(0);
            }
        }
    }

    #[test]
    fn render_random_never_panics(seed in any::<u64>(), index in any::<u64>(), w in 16u32..80, h in 16u32..64) {
        let f = render_random(seed, index, w, h);
        prop_assert_eq!(f.rgb.len(), (w * h * 3) as usize);
        for o in &f.objects {
            prop_assert!(o.bbox[2] >= 1.0 && o.bbox[3] >= 1.0);
            prop_assert!((0.0..=1.0).contains(&o.truncation));
        }
    }
}

#[test]
fn validation_rejects_bad_specs() {
    for (yaml, field) in [
        ("seed: 1\nframes: 0\nactors: []\n", "frames"),
        ("seed: 1\nframes: 2\nfps: 0\nactors: []\n", "fps"),
        ("seed: 1\nframes: 2\nactors: [ { id: 1, kind: unicorn, keyframes: [ { t: 0, x: 0, z: 5 } ] } ]\n", "kind"),
        ("seed: 1\nframes: 2\nactors: [ { id: 1, kind: adult, keyframes: [] } ]\n", "keyframes"),
        ("seed: 1\nframes: 2\nactors: [ { id: 1, kind: adult, keyframes: [ { t: 1, x: 0, z: 5 }, { t: 1, x: 0, z: 6 } ] } ]\n", "keyframes[1]"),
        ("seed: 1\nframes: 2\nactors: [ { id: 1, kind: adult, keyframes: [ { t: 0, x: 0, z: 5 } ] }, { id: 1, kind: cone, keyframes: [ { t: 0, x: 0, z: 5 } ] } ]\n", "id"),
        ("seed: 1\nframes: 2\nroad: { lanes: 2, ego_lane: 2 }\nactors: []\n", "ego_lane"),
        ("seed: 1\nframes: 2\nwidth: 8\nactors: []\n", "size"),
    ] {
        let e = SequenceSpec::from_yaml(yaml).expect_err(yaml).to_string();
        assert!(e.contains(field), "{yaml}: {e}");
    }
    let e = SequenceSpec::from_yaml("seed: 1\nframes: 2\nactors: []\ncolour: red\n")
        .expect_err("unknown field")
        .to_string();
    assert!(e.contains("colour"), "{e}");
}
