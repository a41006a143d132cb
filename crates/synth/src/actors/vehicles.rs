//! Cars and trucks: boxes of faces seen from the camera, with glass, lamps and wheels.

use super::*;

fn glass(side: Side) -> Paint {
    match side {
        Side::Top => Paint::solid([0.2, 0.22, 0.25]),
        _ => Paint::grad([0.32, 0.36, 0.42], [0.08, 0.09, 0.11]),
    }
}

// Lamps and wheels are placed on a face by several independent numbers; a struct
// for each call would only rename them.
#[allow(clippy::too_many_arguments)]
fn lamp(
    s: &mut dyn Surface,
    ctx: &Ctx,
    f: &Face,
    r: [f32; 4],
    on: Rgb,
    off: Rgb,
    lit: bool,
    glow_r: f32,
) {
    let cam = ctx.cam;
    if lit {
        face_rect(s, cam, f, r, Paint::glow(on));
        let c = f.point((r[0] + r[2]) * 0.5, (r[1] + r[3]) * 0.5);
        if let Some(p) = cam.project(c) {
            let k = cam.scale(c[2]);
            s.glow(Glow {
                x: p.0,
                y: p.1,
                radius: (glow_r * k).max(2.0),
                colour: on,
                depth: 0.0,
            });
        }
    } else {
        face_rect(s, cam, f, r, Paint::solid(off));
    }
}

#[allow(clippy::too_many_arguments)]
fn wheels_side(
    s: &mut dyn Surface,
    cam: &Camera,
    f: &Face,
    len: f32,
    r: f32,
    body_y0: f32,
    body_h: f32,
    at: &[f32],
) {
    for &pos in at {
        let uc = pos / len;
        let vc = (r - body_y0) / body_h;
        let pts = f.ellipse(uc, vc, r / len, r / body_h, 16);
        fill3(s, cam, &pts, Paint::solid([0.05, 0.05, 0.06]));
        if s.wants_detail() {
            let hub = f.ellipse(uc, vc, 0.55 * r / len, 0.55 * r / body_h, 12);
            fill3(s, cam, &hub, Paint::solid([0.45, 0.46, 0.48]));
        }
    }
}

pub(super) fn draw_car(s: &mut dyn Surface, ctx: &Ctx, a: &Actor, c: &CarLook) {
    let cam = ctx.cam;
    let fr = Frame3::new(a.x, a.z, a.yaw);
    let (l, w, h) = (c.length, c.width, c.height);
    let hw = w * 0.5;
    let hl = l * 0.5;
    let wheel_r = 0.32 + 0.04 * (c.style >= 2) as u8 as f32;
    // Underbody and tyres seen from the rear or front.
    let under = Hexa::boxed(&fr, hw - 0.05, -hl + 0.35, hl - 0.35, 0.0, 0.4);
    draw_hexa(s, cam, &under, [0.04, 0.04, 0.05]);
    let belt = match c.style {
        2 => 0.55 * h + 0.15,
        3 => 0.5 * h,
        _ => 0.6 * h,
    };
    let body_y0 = 0.28;
    let body = Hexa::boxed(&fr, hw, -hl, hl, body_y0, belt);
    let vis = draw_hexa(s, cam, &body, c.paint);
    let lit = ctx.lights_on && a.lights;
    for &side in &vis {
        let f = body.face(side);
        match side {
            Side::Left | Side::Right => {
                if s.wants_detail() {
                    // Door seam and sill.
                    face_rect(
                        s,
                        cam,
                        &f,
                        [0.0, 0.0, 1.0, 0.12],
                        Paint::solid(scale(c.paint, 0.45)),
                    );
                }
                let (p0, p1) = (0.78, l - 0.78);
                let at = if side == Side::Left {
                    [l - p0, l - p1]
                } else {
                    [p0, p1]
                };
                wheels_side(s, cam, &f, l, wheel_r, body_y0, belt - body_y0, &at);
            }
            Side::Rear => {
                face_rect(
                    s,
                    cam,
                    &f,
                    [0.0, 0.0, 1.0, 0.22],
                    Paint::solid(scale(c.paint, 0.55)),
                );
                let red = if a.braking {
                    [1.0, 0.15, 0.1]
                } else {
                    [0.85, 0.08, 0.06]
                };
                lamp(
                    s,
                    ctx,
                    &f,
                    [0.04, 0.55, 0.2, 0.85],
                    red,
                    [0.55, 0.05, 0.04],
                    lit || a.braking,
                    0.35,
                );
                lamp(
                    s,
                    ctx,
                    &f,
                    [0.8, 0.55, 0.96, 0.85],
                    red,
                    [0.55, 0.05, 0.04],
                    lit || a.braking,
                    0.35,
                );
                if s.wants_detail() {
                    face_rect(
                        s,
                        cam,
                        &f,
                        [0.38, 0.28, 0.62, 0.5],
                        Paint::solid([0.85, 0.85, 0.8]),
                    );
                }
            }
            Side::Front => {
                face_rect(
                    s,
                    cam,
                    &f,
                    [0.0, 0.0, 1.0, 0.22],
                    Paint::solid(scale(c.paint, 0.55)),
                );
                if s.wants_detail() {
                    face_rect(
                        s,
                        cam,
                        &f,
                        [0.3, 0.35, 0.7, 0.7],
                        Paint::solid([0.08, 0.08, 0.09]),
                    );
                }
                let white = [1.0, 0.97, 0.85];
                lamp(
                    s,
                    ctx,
                    &f,
                    [0.05, 0.55, 0.24, 0.82],
                    white,
                    [0.75, 0.75, 0.72],
                    lit,
                    1.2,
                );
                lamp(
                    s,
                    ctx,
                    &f,
                    [0.76, 0.55, 0.95, 0.82],
                    white,
                    [0.75, 0.75, 0.72],
                    lit,
                    1.2,
                );
            }
            Side::Top => {}
        }
    }
    // Cabin: a tapered glasshouse.
    let (cr, cf) = match c.style {
        0 => ((-hl + 0.9, hl - 1.35), (-hl + 1.3, hl - 1.9)),
        1 => ((-hl + 0.3, hl - 1.3), (-hl + 0.5, hl - 1.9)),
        2 => ((-hl + 0.3, hl - 1.2), (-hl + 0.4, hl - 1.6)),
        _ => ((-hl + 0.15, hl - 0.9), (-hl + 0.2, hl - 1.3)),
    };
    let cabin = Hexa::tapered(
        &fr,
        (hw - 0.06, cr.0, cr.1),
        (hw - 0.16, cf.0, cf.1),
        belt,
        h,
    );
    let cvis = cabin.visible(cam);
    for &side in &cvis {
        let f = cabin.face(side);
        fill3(s, cam, &f.c, face_paint(side, c.paint));
        match side {
            Side::Top => {}
            Side::Left | Side::Right => {
                face_rect(s, cam, &f, [0.06, 0.08, 0.47, 0.9], glass(side));
                face_rect(s, cam, &f, [0.53, 0.08, 0.94, 0.9], glass(side));
            }
            _ => face_rect(s, cam, &f, [0.07, 0.08, 0.93, 0.92], glass(side)),
        }
    }
}

pub(super) fn draw_truck(s: &mut dyn Surface, ctx: &Ctx, a: &Actor, t: &TruckLook) {
    let cam = ctx.cam;
    let fr = Frame3::new(a.x, a.z, a.yaw);
    let hw = 1.25;
    let hl = t.length * 0.5;
    let lit = ctx.lights_on && a.lights;
    let under = Hexa::boxed(&fr, hw - 0.1, -hl + 0.4, hl - 0.3, 0.0, 1.0);
    draw_hexa(s, cam, &under, [0.05, 0.05, 0.05]);
    let wheel_r = 0.5;
    if t.bus {
        let body = Hexa::boxed(&fr, hw, -hl, hl, 0.35, t.height);
        for side in draw_hexa(s, cam, &body, t.cab) {
            let f = body.face(side);
            match side {
                Side::Left | Side::Right => {
                    face_rect(s, cam, &f, [0.03, 0.5, 0.97, 0.88], glass(side));
                    let at = if side == Side::Left {
                        [t.length - 1.6, 2.2]
                    } else {
                        [1.6, t.length - 2.2]
                    };
                    wheels_side(s, cam, &f, t.length, wheel_r, 0.35, t.height - 0.35, &at);
                }
                Side::Rear => {
                    face_rect(s, cam, &f, [0.08, 0.55, 0.92, 0.85], glass(side));
                    lamp(
                        s,
                        ctx,
                        &f,
                        [0.03, 0.15, 0.12, 0.3],
                        [0.9, 0.1, 0.05],
                        [0.5, 0.05, 0.04],
                        lit || a.braking,
                        0.4,
                    );
                    lamp(
                        s,
                        ctx,
                        &f,
                        [0.88, 0.15, 0.97, 0.3],
                        [0.9, 0.1, 0.05],
                        [0.5, 0.05, 0.04],
                        lit || a.braking,
                        0.4,
                    );
                }
                Side::Front => {
                    face_rect(s, cam, &f, [0.05, 0.45, 0.95, 0.92], glass(side));
                    lamp(
                        s,
                        ctx,
                        &f,
                        [0.05, 0.1, 0.2, 0.2],
                        [1.0, 0.97, 0.85],
                        [0.8, 0.8, 0.75],
                        lit,
                        1.2,
                    );
                    lamp(
                        s,
                        ctx,
                        &f,
                        [0.8, 0.1, 0.95, 0.2],
                        [1.0, 0.97, 0.85],
                        [0.8, 0.8, 0.75],
                        lit,
                        1.2,
                    );
                }
                Side::Top => {}
            }
        }
        return;
    }
    // Cargo box behind the cab; the cab sits at the front.
    let cab_len = 2.2;
    let cab = Hexa::tapered(
        &fr,
        (hw, hl - cab_len, hl),
        (hw - 0.05, hl - cab_len, hl - 0.25),
        0.6,
        t.height * 0.8,
    );
    let cargo = Hexa::boxed(&fr, hw + 0.05, -hl, hl - cab_len - 0.1, 1.0, t.height);
    let draw_cab = |s: &mut dyn Surface| {
        for side in draw_hexa(s, cam, &cab, t.cab) {
            let f = cab.face(side);
            match side {
                Side::Front => {
                    face_rect(s, cam, &f, [0.06, 0.5, 0.94, 0.92], glass(side));
                    if s.wants_detail() {
                        face_rect(
                            s,
                            cam,
                            &f,
                            [0.25, 0.15, 0.75, 0.4],
                            Paint::solid([0.1, 0.1, 0.1]),
                        );
                    }
                    lamp(
                        s,
                        ctx,
                        &f,
                        [0.04, 0.05, 0.2, 0.15],
                        [1.0, 0.97, 0.85],
                        [0.8, 0.8, 0.75],
                        lit,
                        1.3,
                    );
                    lamp(
                        s,
                        ctx,
                        &f,
                        [0.8, 0.05, 0.96, 0.15],
                        [1.0, 0.97, 0.85],
                        [0.8, 0.8, 0.75],
                        lit,
                        1.3,
                    );
                }
                Side::Left | Side::Right => {
                    let u = if side == Side::Left {
                        [0.1, 0.5, 0.55, 0.9]
                    } else {
                        [0.45, 0.5, 0.9, 0.9]
                    };
                    face_rect(s, cam, &f, u, glass(side));
                }
                _ => {}
            }
        }
    };
    let cab_front_visible = cab.visible(cam).contains(&Side::Front);
    if !cab_front_visible {
        draw_cab(s);
    }
    for side in draw_hexa(s, cam, &cargo, t.cargo) {
        let f = cargo.face(side);
        match side {
            Side::Rear => {
                if s.wants_detail() {
                    face_rect(
                        s,
                        cam,
                        &f,
                        [0.495, 0.02, 0.505, 0.98],
                        Paint::solid(scale(t.cargo, 0.4)),
                    );
                    face_rect(
                        s,
                        cam,
                        &f,
                        [0.0, 0.0, 1.0, 0.04],
                        Paint::solid(scale(t.cargo, 0.5)),
                    );
                }
                lamp(
                    s,
                    ctx,
                    &f,
                    [0.02, 0.02, 0.1, 0.1],
                    [0.9, 0.1, 0.05],
                    [0.5, 0.05, 0.04],
                    lit || a.braking,
                    0.4,
                );
                lamp(
                    s,
                    ctx,
                    &f,
                    [0.9, 0.02, 0.98, 0.1],
                    [0.9, 0.1, 0.05],
                    [0.5, 0.05, 0.04],
                    lit || a.braking,
                    0.4,
                );
            }
            Side::Left | Side::Right => {
                let len = t.length - cab_len - 0.1;
                let at = if side == Side::Left {
                    [len - 0.9, len - 2.0]
                } else {
                    [0.9, 2.0]
                };
                wheels_side(s, cam, &f, len, wheel_r, 1.0, t.height - 1.0, &at);
            }
            _ => {}
        }
    }
    if cab_front_visible {
        draw_cab(s);
    }
    // Underrun guard at the rear.
    let bar = Hexa::boxed(&fr, hw - 0.05, -hl, -hl + 0.08, 0.45, 0.6);
    draw_hexa(s, cam, &bar, [0.15, 0.15, 0.15]);
}
