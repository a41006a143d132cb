//! The automotive corruptions against the physics they model (docs/CORRUPTIONS.md): there
//! is no reference package, so each is checked by properties its model implies and a
//! wrong model breaks: added light never darkens and falls off away from the sun; drops
//! leave everything outside them alone and show the scene inverted; rolling shutter
//! shifts each row by the documented skew; night noise has the mean and variance of
//! Poisson photo-electrons plus Gaussian read noise. Each grows with severity.

use adasval_corrupt::{self as corrupt, Corruption, RgbImage, Severity};

const W: u32 = 512;
const H: u32 = 288;

fn severities() -> impl Iterator<Item = Severity> {
    (1..=5).map(|l| Severity::new(l).unwrap())
}

fn image(f: impl Fn(usize, usize) -> [u8; 3]) -> RgbImage {
    let mut data = Vec::with_capacity((W * H * 3) as usize);
    for y in 0..H as usize {
        for x in 0..W as usize {
            data.extend_from_slice(&f(x, y));
        }
    }
    RgbImage {
        width: W,
        height: H,
        data,
    }
}

/// A scene with gradients, edges and texture in every channel, and a white patch.
fn textured() -> RgbImage {
    image(|x, y| {
        if (300..340).contains(&x) && (200..240).contains(&y) {
            return [255; 3];
        }
        let t = ((x / 9 + y / 7) % 2) as u8;
        [
            (x * 200 / W as usize) as u8 + 20 * t,
            (y * 180 / H as usize) as u8 + 30 * t,
            (((x * 7 + y * 13) % 97) * 2) as u8,
        ]
    })
}

fn linear(b: u8) -> f64 {
    let c = f64::from(b) / 255.0;
    if c <= 0.04045 {
        c / 12.92
    } else {
        ((c + 0.055) / 1.055).powf(2.4)
    }
}

fn px(img: &RgbImage, x: usize, y: usize) -> [u8; 3] {
    let i = (y * img.width as usize + x) * 3;
    [img.data[i], img.data[i + 1], img.data[i + 2]]
}

fn changed_share(a: &RgbImage, b: &RgbImage) -> f64 {
    let n = a
        .data
        .chunks_exact(3)
        .zip(b.data.chunks_exact(3))
        .filter(|(p, q)| p != q)
        .count();
    n as f64 / (a.data.len() / 3) as f64
}

#[test]
fn glare_adds_light_falling_off_from_the_sun_and_lowers_contrast() {
    let scene = textured();
    let sun = (150.0, 60.0);
    let grey = image(|_, _| [90, 90, 90]);
    // A checkerboard in the corner far from the sun: its contrast in linear light.
    let checker = image(|x, y| {
        if (x / 8 + y / 8) % 2 == 0 {
            [40; 3]
        } else {
            [120; 3]
        }
    });
    let michelson = |img: &RgbImage| {
        let (mut lo, mut hi) = (f64::INFINITY, 0.0f64);
        for y in 250..280 {
            for x in 470..505 {
                let l = linear(px(img, x, y)[0]);
                lo = lo.min(l);
                hi = hi.max(l);
            }
        }
        (hi - lo) / (hi + lo)
    };
    let mut last_contrast = michelson(&checker);
    let mut last_mean = 0.0;
    for s in severities() {
        let out = corrupt::glare_at(&scene, s, sun);
        assert!(
            out.data.iter().zip(&scene.data).all(|(o, i)| o >= i),
            "severity {}: glare darkened a pixel",
            s.level()
        );
        // On a uniform frame the added light never grows moving away from the sun.
        let g = corrupt::glare_at(&grey, s, sun);
        let along: Vec<u8> = (150..W as usize).map(|x| px(&g, x, 60)[0]).collect();
        assert!(
            along.windows(2).all(|p| p[0] >= p[1]),
            "severity {}: glare grows away from the sun",
            s.level()
        );
        assert!(
            along[0] > along[along.len() - 1] + 10,
            "no halo around the sun"
        );
        let contrast = michelson(&corrupt::glare_at(&checker, s, sun));
        assert!(
            contrast < last_contrast,
            "severity {}: contrast {contrast:.4} not below {last_contrast:.4}",
            s.level()
        );
        last_contrast = contrast;
        let mean = out.data.iter().map(|&b| f64::from(b)).sum::<f64>() / out.data.len() as f64;
        assert!(mean > last_mean, "severity {}: no brighter", s.level());
        last_mean = mean;
    }
}

#[test]
fn glare_and_drops_stay_put_across_frames_and_move_with_the_seed() {
    let scene = textured();
    let s = Severity::new(3).unwrap();
    for c in [Corruption::LowSunGlare, Corruption::LensWaterDrops] {
        let a = corrupt::apply(&scene, c, s, 11, 0).unwrap();
        let b = corrupt::apply(&scene, c, s, 11, 9).unwrap();
        let other = corrupt::apply(&scene, c, s, 12, 0).unwrap();
        assert_eq!(a.data, b.data, "{c}: moved between frames");
        assert_ne!(a.data, other.data, "{c}: the seed changed nothing");
    }
}

#[test]
fn drops_change_only_what_they_cover_and_show_the_scene_inverted() {
    let scene = textured();
    let mut last_share = 0.0;
    for s in severities() {
        let drops = corrupt::water_drops(
            &scene,
            s,
            &mut corrupt::scenario_stream(5, Corruption::LensWaterDrops),
        );
        let out = corrupt::water_drops_with(&scene, s, &drops);
        let inside = |x: usize, y: usize| {
            drops.iter().any(|d| {
                let (dx, dy) = (x as f64 + 0.5 - d.x, y as f64 + 0.5 - d.y);
                dx * dx + dy * dy < d.r * d.r
            })
        };
        let (mut covered, mut covered_changed) = (0usize, 0usize);
        for y in 0..H as usize {
            for x in 0..W as usize {
                let changed = px(&out, x, y) != px(&scene, x, y);
                if inside(x, y) {
                    covered += 1;
                    covered_changed += usize::from(changed);
                } else {
                    assert!(
                        !changed,
                        "severity {}: ({x}, {y}) outside every drop changed",
                        s.level()
                    );
                }
            }
        }
        assert!(
            covered_changed as f64 > 0.9 * covered as f64,
            "severity {}: only {covered_changed} of {covered} covered pixels changed",
            s.level()
        );
        // The drops of a severity are the first of the next's: coverage only grows.
        let share = changed_share(&scene, &out);
        assert!(
            share > last_share,
            "severity {}: coverage {share} not above {last_share}",
            s.level()
        );
        last_share = share;
    }
    // A drop is a lens: the top of a drop shows what lies below its centre. On a frame
    // bright at the bottom and dark at the top, each drop's upper half is the brighter.
    let ramp = image(|_, y| [(y * 255 / H as usize) as u8; 3]);
    let s = Severity::new(5).unwrap();
    let drops = corrupt::water_drops(
        &ramp,
        s,
        &mut corrupt::scenario_stream(5, Corruption::LensWaterDrops),
    );
    let out = corrupt::water_drops_with(&ramp, s, &drops);
    let mut checked = 0;
    for (i, d) in drops.iter().enumerate() {
        let alone = drops
            .iter()
            .enumerate()
            .all(|(j, e)| i == j || (d.x - e.x).hypot(d.y - e.y) > d.r + e.r);
        let framed = d.y - d.r > 0.0
            && d.y + d.r < f64::from(H)
            && d.x - d.r > 0.0
            && d.x + d.r < f64::from(W);
        if !(alone && framed) {
            continue;
        }
        let half = |upper: bool| {
            let dy = if upper { -d.r / 2.0 } else { d.r / 2.0 };
            f64::from(px(&out, d.x as usize, (d.y + dy) as usize)[0])
        };
        assert!(
            half(true) > half(false),
            "drop at ({:.0}, {:.0}) is not inverted",
            d.x,
            d.y
        );
        checked += 1;
    }
    assert!(checked >= 3, "only {checked} drops stood alone to check");
}

#[test]
fn rolling_shutter_shifts_each_row_by_the_documented_skew() {
    // A vertical edge at x = 256: dark left, bright right.
    let edge = image(|x, _| if x < 256 { [0; 3] } else { [250; 3] });
    let mut last = 0.0;
    for s in severities() {
        let out = corrupt::rolling_shutter(&edge, s);
        let skew = corrupt::ROLLING_SHUTTER_SKEW[usize::from(s.level() - 1)];
        let mut worst = 0.0f64;
        for y in 0..H as usize {
            // Where the edge stands, from how much of the row is bright: the row's sum is
            // 250 per pixel right of the edge (the linear ramp across it sums to its share),
            // so the edge is at w − ½ − sum / 250 (255.5 unshifted).
            let bright: f64 = (0..W as usize).map(|x| f64::from(px(&out, x, y)[0])).sum();
            let crossing = f64::from(W) - 0.5 - bright / 250.0;
            let expected = 255.5 + skew * f64::from(W) * (y as f64 / f64::from(H - 1) - 0.5);
            worst = worst.max((crossing - expected).abs());
        }
        // Bytes are rounded, so the crossing is known to 1/250 of a pixel or so.
        assert!(
            worst < 0.02,
            "severity {}: edge off the skew by {worst:.3} px",
            s.level()
        );
        let change = changed_share(&edge, &out);
        assert!(change > last, "severity {}: no more skew", s.level());
        last = change;
    }
}

#[test]
fn night_noise_has_the_statistics_of_photo_electrons_and_read_noise() {
    // White (linear 1), so the noise is far from both clipping limits at every severity.
    let white = image(|_, _| [255; 3]);
    let mut last_snr = f64::INFINITY;
    for s in severities() {
        let (electrons, read, brightness) = corrupt::NIGHT_SENSOR[usize::from(s.level() - 1)];
        let out = corrupt::apply(&white, Corruption::NightSensorNoise, s, 3, 0).unwrap();
        let v: Vec<f64> = out.data.iter().map(|&b| linear(b)).collect();
        let n = v.len() as f64;
        let mean = v.iter().sum::<f64>() / n;
        let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
        // Poisson(e) + N(0, σr²) electrons, scaled by brightness / e.
        let want_var = (brightness / electrons).powi(2) * (electrons + read * read);
        assert!(
            (mean - brightness).abs() < 0.01 * brightness,
            "severity {}: mean {mean:.4}, model {brightness}",
            s.level()
        );
        assert!(
            (var - want_var).abs() < 0.03 * want_var,
            "severity {}: variance {var:.3e}, model {want_var:.3e}",
            s.level()
        );
        let snr = mean / var.sqrt();
        assert!(
            snr < last_snr,
            "severity {}: SNR {snr:.2} not below {last_snr:.2}",
            s.level()
        );
        last_snr = snr;
        let again = corrupt::apply(&white, Corruption::NightSensorNoise, s, 3, 1).unwrap();
        assert_ne!(out.data, again.data, "the next frame drew the same noise");
    }
}
