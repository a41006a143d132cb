//! Labels agree with the instance mask: each box is tight around the visible pixels,
//! the visible count is the mask count, occlusion and truncation are consistent.

use adasval::synth::{render_random_with_mask, RenderOutput, SequenceSpec, CLASS_NAMES};

fn check(out: &RenderOutput, what: &str) -> usize {
    let f = &out.frame;
    let (w, h) = (f.width as usize, f.height as usize);
    assert_eq!(out.mask.len(), w * h, "{what}");
    assert_eq!(f.rgb.len(), w * h * 3, "{what}");
    let n = f.objects.len();
    let mut count = vec![0u32; n];
    let mut bb = vec![[usize::MAX, usize::MAX, 0usize, 0usize]; n];
    for y in 0..h {
        for x in 0..w {
            let m = out.mask[y * w + x] as usize;
            if m == 0 {
                continue;
            }
            assert!(m <= n, "{what}: mask id {m} with {n} objects");
            let i = m - 1;
            count[i] += 1;
            let b = &mut bb[i];
            b[0] = b[0].min(x);
            b[1] = b[1].min(y);
            b[2] = b[2].max(x);
            b[3] = b[3].max(y);
        }
    }
    for (i, o) in f.objects.iter().enumerate() {
        let ctx = format!("{what} object {i} ({})", o.kind);
        assert!((o.class_id as usize) < CLASS_NAMES.len(), "{ctx}");
        assert_eq!(o.visible_pixels, count[i], "{ctx}: visible_pixels vs mask");
        assert!(count[i] > 0, "{ctx}: listed objects are visible");
        let b = bb[i];
        let tight = [
            b[0] as f32,
            b[1] as f32,
            (b[2] - b[0] + 1) as f32,
            (b[3] - b[1] + 1) as f32,
        ];
        assert_eq!(
            o.bbox, tight,
            "{ctx}: bbox must be tight around the visible pixels"
        );
        assert!(o.full_pixels >= o.visible_pixels, "{ctx}");
        assert!(o.full_pixels_unclipped >= o.full_pixels, "{ctx}");
        let occ = 1.0 - o.visible_pixels as f64 / o.full_pixels as f64;
        assert!(
            (o.occlusion as f64 - occ).abs() < 1e-6,
            "{ctx}: occlusion {} vs {occ}",
            o.occlusion
        );
        let tr = 1.0 - o.full_pixels as f64 / o.full_pixels_unclipped as f64;
        assert!((o.truncation as f64 - tr).abs() < 1e-6, "{ctx}");
        assert!((0.0..=1.0).contains(&o.truncation), "{ctx}");
        assert!((0.0..=1.0).contains(&o.occlusion), "{ctx}");
        // The visible box lies inside the full (unoccluded) box and inside the image.
        let fb = o.full_bbox;
        assert!(o.bbox[0] >= fb[0] && o.bbox[1] >= fb[1], "{ctx}");
        assert!(
            o.bbox[0] + o.bbox[2] <= fb[0] + fb[2] && o.bbox[1] + o.bbox[3] <= fb[1] + fb[3],
            "{ctx}"
        );
        assert!(
            o.bbox[0] + o.bbox[2] <= w as f32 && o.bbox[1] + o.bbox[3] <= h as f32,
            "{ctx}"
        );
        let truncated_box =
            fb[0] < 0.0 || fb[1] < 0.0 || fb[0] + fb[2] > w as f32 || fb[1] + fb[3] > h as f32;
        assert_eq!(
            truncated_box,
            o.truncation > 0.0,
            "{ctx}: truncation iff the full box leaves the image"
        );
        let expect_ignore = o.bbox[3] < 6.0
            || o.occlusion > 0.9
            || o.visibility < adasval::synth::scene::MIN_VISIBILITY;
        assert!((0.0..=1.0).contains(&o.visibility), "{ctx}");
        assert_eq!(o.ignore, expect_ignore, "{ctx}");
    }
    n
}

#[test]
fn random_frames_labels_match_mask() {
    let mut objects = 0;
    let mut occluded = 0;
    let mut truncated = 0;
    for i in 0..40 {
        let out = render_random_with_mask(2024, i, 256, 144);
        objects += check(&out, &format!("frame {i}"));
        occluded += out
            .frame
            .objects
            .iter()
            .filter(|o| o.occlusion > 0.05)
            .count();
        truncated += out
            .frame
            .objects
            .iter()
            .filter(|o| o.truncation > 0.05)
            .count();
    }
    // The generator must actually exercise occlusion and truncation.
    assert!(objects > 100, "{objects} objects");
    assert!(occluded > 5, "{occluded} occluded");
    assert!(truncated > 2, "{truncated} truncated");
}

#[test]
fn occluder_in_front_hides_pedestrian() {
    // A van directly in front of a pedestrian hides it partly; moving the van away
    // must give the same full area and zero occlusion.
    let yaml = |van_x: f32| {
        format!(
            "seed: 9\nwidth: 320\nheight: 180\nframes: 1\nscenery: false\nactors:\n  - {{ id: 1, kind: adult, height: 1.8, keyframes: [ {{ t: 0, x: 0.5, z: 16 }} ] }}\n  - {{ id: 2, kind: van, keyframes: [ {{ t: 0, x: {van_x}, z: 10 }} ] }}\n"
        )
    };
    let hidden = SequenceSpec::from_yaml(&yaml(0.8))
        .expect("spec")
        .render_with_mask(0)
        .expect("render");
    let clear = SequenceSpec::from_yaml(&yaml(-9.0))
        .expect("spec")
        .render_with_mask(0)
        .expect("render");
    check(&hidden, "hidden");
    check(&clear, "clear");
    let ped = |o: &RenderOutput| o.frame.objects.iter().find(|x| x.track_id == 1).cloned();
    let c = ped(&clear).expect("pedestrian visible without the van");
    assert_eq!(c.occlusion, 0.0);
    assert_eq!(c.visible_pixels, c.full_pixels);
    if let Some(hd) = ped(&hidden) {
        assert_eq!(
            hd.full_pixels, c.full_pixels,
            "full area does not depend on occluders"
        );
        assert!(hd.occlusion > 0.3, "occlusion {}", hd.occlusion);
    }
}
