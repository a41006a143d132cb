//! Static obstacles: cones, boxes, barrels, tyres, rocks and debris.

use super::*;

pub(super) fn draw_obstacle(s: &mut dyn Surface, ctx: &Ctx, a: &Actor, o: &ObstacleLook) {
    let cam = ctx.cam;
    let fr = Frame3::new(a.x, a.z, a.yaw);
    let sz = o.size;
    match o.kind {
        ObstacleKind::Cone => {
            let base = Hexa::boxed(&fr, sz * 0.5, -sz * 0.5, sz * 0.5, 0.0, 0.035 * sz / 0.7);
            draw_hexa(s, cam, &base, scale(o.colour, 0.7));
            let h = sz * 1.05;
            let k = cam.scale(a.z);
            if let (Some(b), Some(t)) =
                (pr(cam, fr.at(0.0, 0.03, 0.0)), pr(cam, fr.at(0.0, h, 0.0)))
            {
                let rb = 0.19 * sz * k;
                let rt = 0.035 * sz * k;
                let at = |f: f32| {
                    (
                        b.0 + (t.0 - b.0) * f,
                        b.1 + (t.1 - b.1) * f,
                        rb + (rt - rb) * f,
                    )
                };
                let trap = |f0: f32, f1: f32| {
                    let (x0, y0, r0) = at(f0);
                    let (x1, y1, r1) = at(f1);
                    vec![(x0 - r0, y0), (x0 + r0, y0), (x1 + r1, y1), (x1 - r1, y1)]
                };
                s.fill(
                    &[trap(0.0, 1.0)],
                    Paint::grad(o.colour, scale(o.colour, 0.8)),
                );
                if s.wants_detail() {
                    s.fill(&[trap(0.42, 0.62)], Paint::solid([0.92, 0.92, 0.9]));
                }
            }
        }
        ObstacleKind::Box => {
            let hx = Hexa::boxed(&fr, sz * 0.5, -sz * 0.4, sz * 0.4, 0.0, sz * 0.7);
            for side in draw_hexa(s, cam, &hx, o.colour) {
                if s.wants_detail() && side == Side::Top {
                    let f = hx.face(side);
                    face_rect(
                        s,
                        cam,
                        &f,
                        [0.45, 0.0, 0.55, 1.0],
                        Paint::solid(scale(o.colour, 1.25)),
                    );
                }
            }
        }
        ObstacleKind::Barrel => {
            let h = sz * 1.6;
            let k = cam.scale(a.z);
            if let (Some(b), Some(t)) = (pr(cam, fr.at(0.0, 0.0, 0.0)), pr(cam, fr.at(0.0, h, 0.0)))
            {
                let r = 0.5 * sz * k;
                let body = vec![
                    (b.0 - r, b.1),
                    (b.0 + r, b.1),
                    (t.0 + r * 0.92, t.1),
                    (t.0 - r * 0.92, t.1),
                ];
                s.fill(&[body], Paint::grad(o.colour, scale(o.colour, 0.75)));
                if s.wants_detail() {
                    for f in [0.25f32, 0.6] {
                        let y0 = b.1 + (t.1 - b.1) * f;
                        let y1 = b.1 + (t.1 - b.1) * (f + 0.15);
                        s.fill(
                            &[vec![
                                (b.0 - r, y0),
                                (b.0 + r, y0),
                                (b.0 + r, y1),
                                (b.0 - r, y1),
                            ]],
                            Paint::solid([0.92, 0.92, 0.9]),
                        );
                    }
                }
            }
        }
        ObstacleKind::Tyre => {
            // A tyre lying on the road: a flat dark ring seen obliquely.
            let r = sz * 0.5;
            let ring = |rr: f32, y: f32| -> Vec<V3> {
                (0..20)
                    .map(|i| {
                        let a2 = core::f32::consts::TAU * i as f32 / 20.0;
                        fr.at(rr * libm::cosf(a2), y, rr * libm::sinf(a2))
                    })
                    .collect()
            };
            let side_h = 0.22 * sz;
            if let (Some(top), Some(bot)) =
                (cam.polygon(&ring(r, side_h)), cam.polygon(&ring(r, 0.0)))
            {
                // Side wall: hull of the two ellipses, approximated by their union plus band.
                s.fill(std::slice::from_ref(&bot), Paint::solid([0.05, 0.05, 0.05]));
                let mut band = Vec::new();
                let (lt, rt) = extremes(&top);
                let (lb, rb) = extremes(&bot);
                band.extend([lt, rt, rb, lb]);
                s.fill(&[band], Paint::solid([0.06, 0.06, 0.06]));
                let inner = cam.polygon(&ring(r * 0.55, side_h));
                match inner {
                    Some(inner) if s.wants_detail() => {
                        s.fill(&[top, inner], Paint::solid([0.13, 0.13, 0.14]));
                    }
                    _ => s.fill(&[top], Paint::solid([0.13, 0.13, 0.14])),
                }
            }
        }
        ObstacleKind::Rock | ObstacleKind::Debris => {
            // An irregular low mound (rock) or a heap of planks (debris).
            let mut rng = Rng::new(o.shape_seed as u64, 99);
            let h = if o.kind == ObstacleKind::Rock {
                sz * 0.55
            } else {
                sz * 0.35
            };
            let n = 9;
            let mut pts: Vec<V3> = Vec::with_capacity(n + 2);
            for i in 0..=n {
                let t = i as f32 / n as f32;
                let ang = core::f32::consts::PI * t;
                let rr = rng.range(0.75, 1.1);
                pts.push(fr.at(
                    -libm::cosf(ang) * sz * 0.5 * rr,
                    libm::sinf(ang) * h * rng.range(0.7, 1.15),
                    0.0,
                ));
            }
            fill3(
                s,
                cam,
                &pts,
                Paint::grad(scale(o.colour, 1.1), scale(o.colour, 0.6)),
            );
            if o.kind == ObstacleKind::Debris && s.wants_detail() {
                for j in 0..3 {
                    let y = h * (0.2 + 0.25 * j as f32);
                    let plank = [
                        fr.at(-sz * 0.55, y, 0.0),
                        fr.at(sz * 0.5, y + 0.05, 0.0),
                        fr.at(sz * 0.5, y + 0.1, 0.0),
                        fr.at(-sz * 0.55, y + 0.05, 0.0),
                    ];
                    fill3(
                        s,
                        cam,
                        &plank,
                        Paint::solid(mix(o.colour, [0.55, 0.4, 0.25], 0.6)),
                    );
                }
            }
        }
    }
}

fn extremes(pts: &[P]) -> (P, P) {
    let mut l = pts[0];
    let mut r = pts[0];
    for &p in pts {
        if p.0 < l.0 {
            l = p;
        }
        if p.0 > r.0 {
            r = p;
        }
    }
    (l, r)
}
