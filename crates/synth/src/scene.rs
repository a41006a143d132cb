//! One scene at one instant and its rendering: sky, distant skyline, ground plane
//! with road markings, shadows, then scenery and actors far to near, then the labels
//! from the instance mask, then colour-only post-effects.
//!
//! Random scenes ([`super::random`]) and scenario sequences ([`super::sequence`])
//! both build a [`Scene`] and call [`render_scene`].

use super::actors::{Actor, Ctx, Rgb};
use super::effects;
use super::geom::{mix, scale, Camera};
use super::raster::{Canvas, Extent, Mask, Rect, Surface};
use super::rng::{lattice, value_noise, Rng};
use super::scenery::Prop;
use super::{Condition, Frame, LabeledObject, Lighting, Weather};
use serde::{Deserialize, Serialize};

/// Lane line styles.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Line {
    Solid,
    Dashed,
    Yellow,
}

/// Kind of surface beside the road.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Environment {
    Urban,
    Suburban,
    Rural,
    Highway,
}

#[derive(Clone, Debug)]
pub struct Road {
    /// Road edges, lateral metres relative to the camera.
    pub left: f32,
    pub right: f32,
    pub lines: Vec<(f32, Line)>,
    /// Sidewalk width beyond each edge (0 for none: gravel shoulder).
    pub sidewalk: f32,
    pub asphalt: Rgb,
    pub verge: Rgb,
    /// World z where a zebra crossing starts.
    pub crosswalk: Option<f32>,
}

#[derive(Clone, Debug)]
pub struct Effects {
    /// Sensor noise standard deviation (0..1 scale).
    pub noise: f32,
    /// Horizontal motion blur length in pixels (0 or 1: none).
    pub motion_blur: u32,
    /// Optical softening, 0..1.
    pub soften: f32,
    /// Meteorological visibility in metres; 0 means no fog.
    pub fog_visibility: f32,
    /// Rain streak density 0..1.
    pub rain: f32,
    pub exposure: f32,
    pub tint: Rgb,
    pub vignette: f32,
    /// Streak slant (pixels across per pixel down).
    pub wind: f32,
}

impl Default for Effects {
    fn default() -> Self {
        Self {
            noise: 0.015,
            motion_blur: 0,
            soften: 0.3,
            fog_visibility: 0.0,
            rain: 0.0,
            exposure: 1.0,
            tint: [1.0; 3],
            vignette: 0.15,
            wind: 0.1,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Scene {
    pub width: u32,
    pub height: u32,
    pub cam: Camera,
    pub lighting: Lighting,
    pub weather: Weather,
    pub env: Environment,
    pub road: Road,
    /// Distance the ego vehicle has travelled: scrolls the road texture and markings.
    pub ego_z: f32,
    pub props: Vec<Prop>,
    pub actors: Vec<Actor>,
    pub fx: Effects,
    /// Daylight brightness.
    pub sun: f32,
    /// Street lamps lighting the road at night (x, z).
    pub lamps: Vec<(f32, f32)>,
    /// 0 none, 1 city skyline, 2 tree line, 3 hills.
    pub skyline: u8,
    /// Seed of the static textures (sky, ground).
    pub seed: u64,
    /// Seed of the per-frame sensor noise and rain.
    pub noise_seed: u64,
}

/// Rendered frame plus the instance mask the labels came from.
pub struct RenderOutput {
    pub frame: Frame,
    /// Per pixel: 0 background, else 1 + index into `frame.objects`.
    pub mask: Vec<u32>,
}

impl Scene {
    pub fn with_noise_seed(mut self, s: u64) -> Self {
        self.noise_seed = s;
        self
    }

    pub fn condition(&self) -> Condition {
        Condition::from_parts(self.lighting, self.weather)
    }

    fn lights_on(&self) -> bool {
        self.lighting != Lighting::Day || self.weather != Weather::Clear
    }

    /// Light falling on a point of the road plane (multiplier on base colours).
    pub fn light_at(&self, x: f32, z: f32) -> Rgb {
        let base = match self.lighting {
            Lighting::Day => scale([1.0, 0.99, 0.96], self.sun),
            Lighting::Dusk => scale([0.62, 0.5, 0.46], self.sun),
            Lighting::Night => [0.05, 0.055, 0.08],
        };
        let overcast = match self.weather {
            Weather::Clear => 1.0,
            Weather::Fog => 0.85,
            Weather::Rain => 0.72,
        };
        let mut l = scale(base, overcast);
        let head = match self.lighting {
            Lighting::Day => 0.0,
            Lighting::Dusk => 0.35,
            Lighting::Night => 1.5,
        };
        if head > 0.0 && z > 0.5 {
            let a = x / z;
            let cone = libm::expf(-(a * a) / (0.3 * 0.3));
            let fall = 1.0 / (1.0 + (z / 17.0) * (z / 17.0));
            let near = (z / 4.0).min(1.0);
            let i = head * cone * fall * near;
            l = [l[0] + i, l[1] + i * 0.97, l[2] + i * 0.88];
        }
        if self.lighting == Lighting::Night {
            for &(lx, lz) in &self.lamps {
                let d2 = (x - lx) * (x - lx) + (z - lz) * (z - lz);
                if d2 < 400.0 {
                    let i = 0.4 * libm::expf(-d2 / 30.0);
                    l = [l[0] + i, l[1] + i * 0.82, l[2] + i * 0.55];
                }
            }
        }
        l
    }

    fn sky_colours(&self) -> (Rgb, Rgb) {
        let (mut top, mut hor) = match self.lighting {
            Lighting::Day => ([0.32, 0.52, 0.86], [0.78, 0.85, 0.93]),
            Lighting::Dusk => ([0.22, 0.22, 0.42], [0.98, 0.62, 0.36]),
            Lighting::Night => ([0.01, 0.012, 0.03], [0.07, 0.065, 0.09]),
        };
        if self.weather != Weather::Clear {
            let grey = match self.lighting {
                Lighting::Day => [0.62, 0.64, 0.67],
                Lighting::Dusk => [0.45, 0.42, 0.44],
                Lighting::Night => [0.05, 0.05, 0.06],
            };
            top = mix(top, grey, 0.85);
            hor = mix(hor, scale(grey, 1.15), 0.85);
        }
        (scale(top, self.sun.min(1.2)), scale(hor, self.sun.min(1.2)))
    }
}

fn draw_sky(sc: &Scene, cv: &mut Canvas) {
    let (top, hor) = sc.sky_colours();
    let hz = sc.cam.horizon;
    let salt = sc.seed as u32;
    let clouds = sc.lighting != Lighting::Night;
    let cloud_c = match sc.lighting {
        Lighting::Day => [0.95, 0.95, 0.96],
        _ => [0.85, 0.55, 0.45],
    };
    let cover = 0.35 + 0.4 * lattice(3, 5, salt);
    let w = cv.w;
    let rows = (hz.ceil().max(0.0) as usize).min(cv.h);
    for y in 0..rows {
        let t = ((y as f32 + 0.5) / hz.max(1.0)).clamp(0.0, 1.0);
        let t2 = t * t;
        let c = mix(top, hor, t2);
        for x in 0..w {
            let mut px = c;
            if clouds {
                // Clouds flatten toward the horizon.
                let sy = (hz - y as f32).max(1.0);
                let n = value_noise(
                    x as f32 * 0.012 + 3.1,
                    40.0 / sy * 6.0 + (y as f32) * 0.01,
                    salt,
                ) * 0.65
                    + value_noise(x as f32 * 0.05, y as f32 * 0.09, salt ^ 77) * 0.35;
                let a = ((n - (1.0 - cover)) * 2.5).clamp(0.0, 0.85);
                px = mix(px, scale(cloud_c, 0.9 + 0.1 * t), a);
            }
            let i = (y * w + x) * 3;
            cv.rgb[i..i + 3].copy_from_slice(&px);
        }
    }
}

/// Distant skyline band just above the horizon (city blocks, tree line or hills).
fn draw_skyline(sc: &Scene, cv: &mut Canvas) {
    if sc.skyline == 0 {
        return;
    }
    let hz = sc.cam.horizon;
    let (_, hor) = sc.sky_colours();
    let salt = (sc.seed as u32) ^ 0x5151;
    let h = cv.h as f32;
    let col = match sc.skyline {
        1 => mix([0.45, 0.47, 0.52], hor, 0.45),
        2 => mix([0.16, 0.26, 0.14], hor, 0.35),
        _ => mix([0.3, 0.38, 0.3], hor, 0.55),
    };
    let light = match sc.lighting {
        Lighting::Day => 1.0,
        Lighting::Dusk => 0.55,
        Lighting::Night => 0.25,
    };
    let col = scale(col, light);
    let shift = sc.cam.curve * 2000.0;
    for x in 0..cv.w {
        let u = x as f32 + shift;
        let height = match sc.skyline {
            1 => {
                let block = libm::floorf(u / (h * 0.045)) as i32;
                let v = lattice(block, 0, salt);
                if v < 0.25 {
                    0.01
                } else {
                    0.02 + 0.1 * v * v
                }
            }
            2 => {
                0.025
                    + 0.03 * value_noise(u * 0.08, 0.5, salt)
                    + 0.012 * value_noise(u * 0.4, 1.5, salt)
            }
            _ => 0.02 + 0.07 * value_noise(u * 0.006, 0.5, salt),
        } * h;
        let y0 = (hz - height).max(0.0);
        let ys = (y0 - 0.5).ceil().max(0.0) as usize;
        let ye = ((hz + 0.5).ceil().max(0.0) as usize).min(cv.h);
        for y in ys..ye {
            let i = y * cv.w + x;
            cv.rgb[i * 3..i * 3 + 3].copy_from_slice(&col);
            cv.depth[i] = 400.0;
        }
    }
}

fn draw_ground(sc: &Scene, cv: &mut Canvas) {
    let cam = &sc.cam;
    let road = &sc.road;
    let salt = sc.seed as u32 ^ 0xA5A5;
    let (_, hor) = sc.sky_colours();
    let wet = sc.weather == Weather::Rain;
    let start = ((cam.horizon - 0.5).ceil().max(0.0) as usize).min(cv.h);
    let far_haze = mix(hor, road.verge, 0.4);
    for y in start..cv.h {
        let dv = y as f32 + 0.5 - cam.horizon;
        if dv <= 0.0 {
            continue;
        }
        let z = cam.f * cam.height / dv;
        let zw = z + sc.ego_z;
        let px = z / cam.f; // metres per pixel across
        let pz = z * z / (cam.f * cam.height); // metres per pixel along
        let bend = cam.curve * z * z;
        let dashed_on = if pz > 2.5 {
            0.33
        } else if (zw.rem_euclid(9.0)) < 3.0 {
            1.0
        } else {
            0.0
        };
        let cross_on = road
            .crosswalk
            .map(|c| zw >= c && zw < c + 4.0)
            .unwrap_or(false);
        let haze = ((z - 150.0) / 300.0).clamp(0.0, 1.0);
        for x in 0..cv.w {
            let xr = (x as f32 + 0.5 - cam.cx) * px - bend;
            let grain = lattice(x as i32, y as i32, salt) - 0.5;
            let mut c;
            if xr >= road.left && xr <= road.right {
                let n = value_noise(xr * 1.7, zw * 0.9, salt);
                c = scale(road.asphalt, 0.88 + 0.24 * n + 0.06 * grain);
                // Lane lines: coverage-weighted so thin far lines fade instead of aliasing.
                let hw: f32 = 0.07;
                for &(lx, style) in &road.lines {
                    let d = (xr - lx).abs();
                    let half = hw.max(px * 0.5);
                    if d < half {
                        let on = match style {
                            Line::Dashed => dashed_on,
                            _ => 1.0,
                        };
                        let a = on * (hw / half).min(1.0) * 0.9;
                        let paint = if style == Line::Yellow {
                            [0.85, 0.7, 0.2]
                        } else {
                            [0.88, 0.88, 0.86]
                        };
                        c = mix(c, paint, a);
                    }
                }
                for edge in [road.left + 0.25, road.right - 0.25] {
                    let half = hw.max(px * 0.5);
                    if (xr - edge).abs() < half {
                        c = mix(c, [0.85, 0.85, 0.83], (hw / half).min(1.0) * 0.85);
                    }
                }
                if cross_on
                    && libm::floorf(xr * 1.6) as i32 % 2 == 0
                    && xr > road.left + 0.5
                    && xr < road.right - 0.5
                {
                    c = mix(c, [0.85, 0.85, 0.83], 0.85);
                }
                if wet {
                    // Wet asphalt: darker, with a sheen that brightens toward the horizon.
                    c = mix(
                        scale(c, 0.7),
                        hor,
                        0.18 * (1.0 - (z / 60.0).min(1.0)) + 0.08,
                    );
                }
            } else {
                let d = if xr < road.left {
                    road.left - xr
                } else {
                    xr - road.right
                };
                if road.sidewalk > 0.0 && d < 0.25 {
                    c = scale([0.62, 0.62, 0.6], 0.95 + 0.1 * grain);
                } else if road.sidewalk > 0.0 && d < road.sidewalk {
                    let n = value_noise(xr * 2.0, zw * 2.0, salt ^ 9);
                    let tile = pz < 0.3
                        && px < 0.1
                        && (zw.rem_euclid(1.2) < 0.06 || (d - 0.25).rem_euclid(1.2) < 0.06);
                    c = scale([0.56, 0.54, 0.51], 0.9 + 0.15 * n + 0.05 * grain);
                    if tile {
                        c = scale(c, 0.8);
                    }
                } else if road.sidewalk <= 0.0 && d < 0.8 {
                    c = scale(
                        [0.45, 0.42, 0.38],
                        0.85 + 0.3 * value_noise(xr * 4.0, zw * 4.0, salt ^ 3) + 0.1 * grain,
                    );
                } else {
                    let n = value_noise(xr * 0.6, zw * 0.6, salt ^ 5);
                    let n2 = value_noise(xr * 3.0, zw * 3.0, salt ^ 6);
                    c = scale(road.verge, 0.75 + 0.35 * n + 0.15 * n2 + 0.08 * grain);
                }
                if wet {
                    c = scale(c, 0.8);
                }
            }
            let l = sc.light_at(cam.bend(xr, z), z);
            let mut c = [c[0] * l[0], c[1] * l[1], c[2] * l[2]];
            if haze > 0.0 {
                c = mix(c, far_haze, haze * 0.5);
            }
            let i = y * cv.w + x;
            cv.rgb[i * 3..i * 3 + 3].copy_from_slice(&c);
            cv.depth[i] = z;
        }
    }
}

/// Shadows darken the ground only; they are not part of any object.
fn darken(cv: &mut Canvas, pts: Vec<(f32, f32)>, k: f32) {
    let clip = cv.clip();
    let w = cv.w;
    let mut xs = Vec::new();
    let rgb = &mut cv.rgb;
    super::raster::spans(&[pts], clip, &mut xs, |y, xa, xb| {
        for x in xa..xb {
            let i = (y as usize * w + x as usize) * 3;
            rgb[i] *= k;
            rgb[i + 1] *= k;
            rgb[i + 2] *= k;
        }
    });
}

enum Drawable<'a> {
    Prop(&'a Prop),
    Actor(usize, &'a Actor),
}

/// Render the scene: colour frame, instance mask and exact labels.
pub fn render_scene(sc: &Scene) -> RenderOutput {
    let (w, h) = (sc.width as usize, sc.height as usize);
    let mut cv = Canvas::new(w, h);
    draw_sky(sc, &mut cv);
    draw_skyline(sc, &mut cv);
    draw_ground(sc, &mut cv);
    let cam = &sc.cam;
    let shadow_k = match (sc.lighting, sc.weather) {
        (Lighting::Day, Weather::Clear) => 0.5,
        (Lighting::Night, _) => 0.8,
        _ => 0.7,
    };
    for a in &sc.actors {
        if a.z > 1.0 {
            if let Some(p) = a.shadow(cam) {
                darken(&mut cv, p, shadow_k);
            }
        }
    }
    let ctx = Ctx {
        cam,
        lights_on: sc.lights_on(),
        dark: sc.lighting != Lighting::Day,
    };
    let mut items: Vec<(f32, Drawable)> = Vec::with_capacity(sc.props.len() + sc.actors.len());
    for p in &sc.props {
        let (x, z) = p.anchor();
        if z + 30.0 < 0.0 {
            continue;
        }
        let xb = cam.bend(x, z);
        items.push((libm::sqrtf(xb * xb + z * z), Drawable::Prop(p)));
    }
    for (i, a) in sc.actors.iter().enumerate() {
        items.push((a.sort_key(cam), Drawable::Actor(i, a)));
    }
    // Far to near; ties broken by insertion order so the sort is deterministic.
    items.sort_by(|a, b| b.0.total_cmp(&a.0));
    for (_, d) in &items {
        match d {
            Drawable::Prop(p) => {
                let (x, z) = p.anchor();
                let zl = p.near_z().max(1.0).max(z.min(60.0));
                cv.set_object(
                    0,
                    zl.max(0.5),
                    sc.light_at(cam.bend(x, zl), zl.min(z.max(1.0))),
                );
                p.draw(&mut cv, &ctx);
            }
            Drawable::Actor(i, a) => {
                cv.set_object(*i as u32 + 1, a.depth(), object_light(sc, a));
                a.draw(&mut cv, &ctx);
            }
        }
    }
    let (objects, mask) = labels(sc, &cv, &ctx);
    let mut rng = Rng::new(sc.noise_seed, 0xEFFEC7);
    let rgb = effects::apply(sc, &mut cv, &mut rng);
    RenderOutput {
        frame: Frame {
            width: sc.width,
            height: sc.height,
            rgb,
            condition: sc.condition(),
            lighting: sc.lighting,
            weather: sc.weather,
            environment: sc.env,
            objects,
        },
        mask,
    }
}

fn object_light(sc: &Scene, a: &Actor) -> Rgb {
    let xb = sc.cam.bend(a.x, a.z);
    let mut l = sc.light_at(xb, a.z);
    if sc.lighting == Lighting::Day && sc.weather == Weather::Clear {
        // Upright surfaces catch less sun than the road.
        l = scale(l, 0.95);
    }
    l
}

/// Objects whose contrast drops below this share (dense fog, unlit at night) are
/// kept in the labels but marked ignore: no detector can be required to see them.
pub const MIN_VISIBILITY: f32 = 0.1;

/// Share of an object's contrast that reaches the camera: fog transmission times a
/// darkness factor (vehicles with their lights on count as lit).
fn visibility(sc: &Scene, a: &Actor) -> f32 {
    let fog = if sc.fx.fog_visibility > 0.0 {
        libm::expf(-3.0 * a.z.max(0.0) / sc.fx.fog_visibility)
    } else {
        1.0
    };
    let self_lit = sc.lights_on()
        && matches!(
            a.body,
            super::actors::Body::Car(_) | super::actors::Body::Truck(_)
        );
    let l = object_light(sc, a);
    let lum = 0.3 * l[0] + 0.59 * l[1] + 0.11 * l[2];
    let dark = if self_lit { 1.0 } else { (lum / 0.3).min(1.0) };
    fog * dark
}

/// Per actor: visible pixels from the scene mask, full coverage from a render alone.
fn labels(sc: &Scene, cv: &Canvas, ctx: &Ctx) -> (Vec<LabeledObject>, Vec<u32>) {
    let n = sc.actors.len();
    let (w, h) = (cv.w as i32, cv.h as i32);
    let mut count = vec![0u64; n + 1];
    let mut bb = vec![[i32::MAX, i32::MAX, i32::MIN, i32::MIN]; n + 1];
    for y in 0..h {
        for x in 0..w {
            let id = cv.id[(y * w + x) as usize] as usize;
            if id == 0 || id > n {
                continue;
            }
            count[id] += 1;
            let b = &mut bb[id];
            b[0] = b[0].min(x);
            b[1] = b[1].min(y);
            b[2] = b[2].max(x);
            b[3] = b[3].max(y);
        }
    }
    let image = Rect {
        x0: 0,
        y0: 0,
        x1: w,
        y1: h,
    };
    let mut objects = Vec::new();
    let mut remap = vec![0u32; n + 1];
    for (i, a) in sc.actors.iter().enumerate() {
        let id = i + 1;
        if count[id] == 0 {
            continue;
        }
        let mut ext = Extent::new();
        a.draw(&mut ext as &mut dyn Surface, ctx);
        // Window around the full extent; capped so a huge near object stays cheap.
        let x0 = (ext.b[0].floor() as i32).saturating_sub(1).max(-2 * w);
        let y0 = (ext.b[1].floor() as i32).saturating_sub(1).max(-2 * h);
        let x1 = (ext.b[2].ceil() as i32).saturating_add(1).min(3 * w);
        let y1 = (ext.b[3].ceil() as i32).saturating_add(1).min(3 * h);
        let mut m = Mask::new(Rect { x0, y0, x1, y1 });
        a.draw(&mut m, ctx);
        let (total, inside, fb) = m.count(image);
        let Some(fb) = fb else { continue };
        let visible = count[id];
        let b = bb[id];
        let occlusion = if inside > 0 {
            1.0 - visible as f64 / inside as f64
        } else {
            1.0
        };
        let truncation = if total > 0 {
            1.0 - inside as f64 / total as f64
        } else {
            1.0
        };
        let vis_h = b[3] - b[1] + 1;
        let visibility = visibility(sc, a);
        let ignore = vis_h < 6 || occlusion > 0.9 || visibility < MIN_VISIBILITY;
        objects.push(LabeledObject {
            class_id: a.class_id(),
            kind: a.kind(),
            bbox: [
                b[0] as f32,
                b[1] as f32,
                (b[2] - b[0] + 1) as f32,
                vis_h as f32,
            ],
            full_bbox: [
                fb[0] as f32,
                fb[1] as f32,
                (fb[2] - fb[0] + 1) as f32,
                (fb[3] - fb[1] + 1) as f32,
            ],
            visible_pixels: visible as u32,
            full_pixels: inside as u32,
            full_pixels_unclipped: total.min(u32::MAX as u64) as u32,
            occlusion: occlusion.clamp(0.0, 1.0) as f32,
            truncation: truncation.clamp(0.0, 1.0) as f32,
            track_id: a.track_id,
            ignore,
            distance_m: a.z,
            visibility,
        });
        remap[id] = objects.len() as u32;
    }
    let mask = cv
        .id
        .iter()
        .map(|&v| remap.get(v as usize).copied().unwrap_or(0))
        .collect();
    (objects, mask)
}
