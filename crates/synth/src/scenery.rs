//! Unlabelled roadside scenery: buildings, trees, bushes, poles and street lamps,
//! signs, guard rails and barriers. It occludes actors like any other shape but
//! leaves the instance mask at 0 (background).

use super::actors::{Ctx, Rgb};
use super::geom::{fill3, scale, Frame3, Hexa, Side};
use super::raster::{capsule, ellipse, round_n, Glow, Paint, Surface};

#[derive(Clone, Debug)]
pub enum Prop {
    /// Near facade at lateral `x` (sign = side of the road), spanning `z0..z1`.
    Building {
        x: f32,
        z0: f32,
        z1: f32,
        depth: f32,
        height: f32,
        wall: Rgb,
        window: Rgb,
        floors: u32,
        lit_seed: u32,
    },
    Tree {
        x: f32,
        z: f32,
        height: f32,
        crown: f32,
        leaf: Rgb,
        trunk: Rgb,
        seed: u32,
    },
    Bush {
        x: f32,
        z: f32,
        size: f32,
        leaf: Rgb,
    },
    Pole {
        x: f32,
        z: f32,
        height: f32,
        lamp: bool,
        colour: Rgb,
    },
    Sign {
        x: f32,
        z: f32,
        height: f32,
        shape: u8,
        colour: Rgb,
    },
    /// Guard rail segment along the road edge.
    Rail { x: f32, z0: f32, z1: f32 },
    /// Concrete barrier block.
    Barrier {
        x: f32,
        z: f32,
        length: f32,
        colour: Rgb,
    },
    /// Fence or wall segment parallel to the road.
    Wall {
        x: f32,
        z0: f32,
        z1: f32,
        height: f32,
        colour: Rgb,
    },
}

impl Prop {
    /// Representative (x, z) for lighting, fog and the painter's sort.
    pub fn anchor(&self) -> (f32, f32) {
        match *self {
            Prop::Building {
                x, z0, z1, depth, ..
            } => (x + x.signum() * depth * 0.5, (z0 + z1) * 0.5),
            Prop::Tree { x, z, .. }
            | Prop::Bush { x, z, .. }
            | Prop::Pole { x, z, .. }
            | Prop::Sign { x, z, .. } => (x, z),
            Prop::Rail { x, z0, z1 } | Prop::Wall { x, z0, z1, .. } => (x, (z0 + z1) * 0.5),
            Prop::Barrier { x, z, .. } => (x, z),
        }
    }

    /// Largest depth extent, so that long props sort by their middle.
    pub fn near_z(&self) -> f32 {
        match *self {
            Prop::Building { z0, .. } | Prop::Rail { z0, .. } | Prop::Wall { z0, .. } => z0,
            _ => self.anchor().1,
        }
    }

    pub fn draw(&self, s: &mut dyn Surface, ctx: &Ctx) {
        let cam = ctx.cam;
        match *self {
            Prop::Building {
                x,
                z0,
                z1,
                depth,
                height,
                wall,
                window,
                floors,
                lit_seed,
            } => {
                let side = x.signum();
                let fr = Frame3::new(x + side * depth * 0.5, 0.0, 0.0);
                let hx = Hexa::boxed(&fr, depth * 0.5, z0, z1, 0.0, height);
                let vis = hx.visible(cam);
                for &sd in &vis {
                    let f = hx.face(sd);
                    let paint = match sd {
                        Side::Top => Paint::solid(scale(wall, 0.7)),
                        Side::Left | Side::Right => {
                            Paint::grad(scale(wall, 0.95), scale(wall, 0.75))
                        }
                        _ => Paint::grad(scale(wall, 0.8), scale(wall, 0.6)),
                    };
                    fill3(s, cam, &f.c, paint);
                    if sd == Side::Top {
                        continue;
                    }
                    // Window grid, some lit at night.
                    let along = if matches!(sd, Side::Left | Side::Right) {
                        z1 - z0
                    } else {
                        depth
                    };
                    let cols = ((along / 3.2) as u32).clamp(1, 12);
                    let rows = floors.clamp(1, 10);
                    let near =
                        f.c.iter()
                            .map(|c| c[2])
                            .fold(f32::INFINITY, f32::min)
                            .max(0.5);
                    if cam.scale(near) * 1.2 < 1.5 {
                        continue;
                    }
                    for r in 0..rows {
                        for c in 0..cols {
                            let u0 = (c as f32 + 0.25) / cols as f32;
                            let u1 = (c as f32 + 0.75) / cols as f32;
                            let v0 = (r as f32 + 0.3) / rows as f32;
                            let v1 = (r as f32 + 0.75) / rows as f32;
                            let h = super::rng::hash2(r as i32, c as i32, lit_seed ^ sd as u32);
                            let paint = if ctx.dark && h % 5 < 2 {
                                Paint::glow([0.95, 0.8, 0.45])
                            } else {
                                Paint::grad(window, scale(window, 0.6))
                            };
                            fill3(s, cam, &f.rect(u0, v0, u1, v1), paint);
                        }
                    }
                }
            }
            Prop::Tree {
                x,
                z,
                height,
                crown,
                leaf,
                trunk,
                seed,
            } => {
                let fr = Frame3::new(x, z, 0.0);
                let trunk_top = height - crown * 1.2;
                if let (Some(b), Some(t)) = (
                    cam.project(fr.at(0.0, 0.0, 0.0)),
                    cam.project(fr.at(0.0, trunk_top + crown * 0.5, 0.0)),
                ) {
                    let k = cam.scale(z);
                    s.fill(&[capsule(b, t, 0.14 * k, 0.09 * k)], Paint::solid(trunk));
                }
                for i in 0..5u32 {
                    let h = super::rng::hash2(seed as i32, i as i32, 17);
                    let dx = ((h & 255) as f32 / 255.0 - 0.5) * crown * 0.9;
                    let dy = (((h >> 8) & 255) as f32 / 255.0 - 0.5) * crown * 0.7;
                    let r = crown * (0.55 + ((h >> 16) & 255) as f32 / 255.0 * 0.35);
                    if let Some(c) = cam.project(fr.at(dx, height - crown + dy, 0.0)) {
                        let k = cam.scale(z);
                        let shade = 0.75 + 0.1 * i as f32;
                        s.fill(
                            &[ellipse(c.0, c.1, r * k, r * k * 0.9, round_n(r * k))],
                            Paint::grad(scale(leaf, shade * 1.1), scale(leaf, shade * 0.75)),
                        );
                    }
                }
            }
            Prop::Bush { x, z, size, leaf } => {
                let fr = Frame3::new(x, z, 0.0);
                if let Some(c) = cam.project(fr.at(0.0, size * 0.45, 0.0)) {
                    let k = cam.scale(z);
                    let (rx, ry) = (size * 0.8 * k, size * 0.5 * k);
                    s.fill(
                        &[ellipse(c.0, c.1, rx, ry, round_n(rx))],
                        Paint::grad(scale(leaf, 1.05), scale(leaf, 0.6)),
                    );
                }
            }
            Prop::Pole {
                x,
                z,
                height,
                lamp,
                colour,
            } => {
                let fr = Frame3::new(x, z, 0.0);
                let k = cam.scale(z);
                if let (Some(b), Some(t)) = (
                    cam.project(fr.at(0.0, 0.0, 0.0)),
                    cam.project(fr.at(0.0, height, 0.0)),
                ) {
                    s.fill(
                        &[capsule(b, t, (0.09 * k).max(0.5), (0.06 * k).max(0.5))],
                        Paint::grad(colour, scale(colour, 0.7)),
                    );
                    if lamp {
                        let arm = -x.signum() * 1.6;
                        if let Some(e) = cam.project(fr.at(arm, height, 0.0)) {
                            s.fill(
                                &[capsule(t, e, (0.05 * k).max(0.4), (0.05 * k).max(0.4))],
                                Paint::solid(colour),
                            );
                            let head = ellipse(e.0, e.1 + 0.06 * k, 0.3 * k, 0.09 * k, 10);
                            if ctx.dark {
                                s.fill(&[head], Paint::glow([1.0, 0.85, 0.55]));
                                s.glow(Glow {
                                    x: e.0,
                                    y: e.1 + 0.1 * k,
                                    radius: (2.2 * k).max(3.0),
                                    colour: [1.0, 0.8, 0.5],
                                    depth: 0.0,
                                });
                            } else {
                                s.fill(&[head], Paint::solid([0.7, 0.7, 0.68]));
                            }
                        }
                    }
                }
            }
            Prop::Sign {
                x,
                z,
                height,
                shape,
                colour,
            } => {
                let fr = Frame3::new(x, z, 0.0);
                let k = cam.scale(z);
                if let (Some(b), Some(t)) = (
                    cam.project(fr.at(0.0, 0.0, 0.0)),
                    cam.project(fr.at(0.0, height, 0.0)),
                ) {
                    s.fill(
                        &[capsule(b, t, (0.04 * k).max(0.4), (0.04 * k).max(0.4))],
                        Paint::solid([0.55, 0.56, 0.58]),
                    );
                    let r = 0.35 * k;
                    let c = (t.0, t.1 - r * 0.6);
                    let pts = match shape % 3 {
                        0 => ellipse(c.0, c.1, r, r, round_n(r)),
                        1 => vec![
                            (c.0, c.1 - r),
                            (c.0 + r, c.1 + r * 0.8),
                            (c.0 - r, c.1 + r * 0.8),
                        ],
                        _ => vec![
                            (c.0 - r, c.1 - r * 0.7),
                            (c.0 + r, c.1 - r * 0.7),
                            (c.0 + r, c.1 + r * 0.7),
                            (c.0 - r, c.1 + r * 0.7),
                        ],
                    };
                    s.fill(&[pts], Paint::solid(colour));
                    if shape % 3 == 0 {
                        s.fill(
                            &[ellipse(c.0, c.1, r * 0.7, r * 0.7, round_n(r))],
                            Paint::solid([0.92, 0.92, 0.92]),
                        );
                    }
                }
            }
            Prop::Rail { x, z0, z1 } => {
                let side = x.signum();
                let _ = side;
                let rail = [[x, 0.55, z0], [x, 0.55, z1], [x, 0.8, z1], [x, 0.8, z0]];
                fill3(
                    s,
                    cam,
                    &rail,
                    Paint::grad([0.72, 0.73, 0.75], [0.5, 0.5, 0.52]),
                );
                let mut zp = (z0 / 4.0).ceil() * 4.0;
                while zp < z1 {
                    let post = [
                        [x, 0.0, zp],
                        [x, 0.0, zp + 0.12],
                        [x, 0.56, zp + 0.12],
                        [x, 0.56, zp],
                    ];
                    fill3(s, cam, &post, Paint::solid([0.45, 0.45, 0.47]));
                    let fr = Frame3::new(x, zp, 0.0);
                    let hx = Hexa::boxed(&fr, 0.06, 0.0, 0.1, 0.0, 0.56);
                    for sd in hx.visible(cam) {
                        fill3(s, cam, &hx.face(sd).c, Paint::solid([0.42, 0.42, 0.44]));
                    }
                    zp += 4.0;
                }
            }
            Prop::Barrier {
                x,
                z,
                length,
                colour,
            } => {
                let fr = Frame3::new(x, z, 0.0);
                let hx = Hexa::tapered(
                    &fr,
                    (0.3, -length * 0.5, length * 0.5),
                    (0.1, -length * 0.5, length * 0.5),
                    0.0,
                    0.8,
                );
                for sd in hx.visible(cam) {
                    let f = hx.face(sd);
                    let paint = if sd == Side::Top {
                        Paint::solid(scale(colour, 1.1))
                    } else {
                        Paint::grad(colour, scale(colour, 0.7))
                    };
                    fill3(s, cam, &f.c, paint);
                }
            }
            Prop::Wall {
                x,
                z0,
                z1,
                height,
                colour,
            } => {
                let pts = [[x, 0.0, z0], [x, 0.0, z1], [x, height, z1], [x, height, z0]];
                fill3(s, cam, &pts, Paint::grad(colour, scale(colour, 0.7)));
            }
        }
    }
}
