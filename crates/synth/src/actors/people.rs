//! Pedestrians (an articulated walking skeleton drawn as capsules) and cyclists (a rider
//! on a bicycle, legs by two-bone inverse kinematics).

use super::*;

struct Skeleton {
    head: V3,
    neck: V3,
    shoulder: V3,
    waist: V3,
    hip: V3,
    /// Per side (0 left, 1 right): shoulder, elbow, wrist, hip, knee, ankle, toe.
    limbs: [[V3; 7]; 2],
}

fn walk_pose(fr: &Frame3, h: f32, phase: f32, gait: f32, lean: f32) -> Skeleton {
    let amp = 0.42 * gait.min(2.0);
    let sp = libm::sinf(phase);
    let cp = libm::cosf(phase);
    let thigh = 0.245 * h;
    let shin = 0.245 * h;
    let uarm = 0.17 * h;
    let farm = 0.165 * h;
    let hip_y = 0.53 * h;
    let mut legs = [[0.0f32; 4]; 2]; // knee fwd, knee up, ankle fwd, ankle up
    let mut min_ankle = f32::INFINITY;
    for (side, leg) in legs.iter_mut().enumerate() {
        let sign = if side == 0 { 1.0 } else { -1.0 };
        let th = amp * sp * sign;
        let bend = 0.1 + 1.1 * amp * (cp * sign).max(0.0);
        let kf = thigh * libm::sinf(th);
        let ku = hip_y - thigh * libm::cosf(th);
        let sa = th - bend;
        let af = kf + shin * libm::sinf(sa);
        let au = ku - shin * libm::cosf(sa);
        *leg = [kf, ku, af, au];
        min_ankle = min_ankle.min(au);
    }
    // Plant the lower foot on the ground.
    let lift = 0.045 * h - min_ankle;
    let bob = lift;
    let lean_f = lean * h * 0.12;
    let shoulder_y = 0.815 * h + bob;
    let hip = fr.at(0.0, hip_y + bob, 0.0);
    let shoulder = fr.at(0.0, shoulder_y, lean_f);
    let waist = fr.at(0.0, 0.64 * h + bob, lean_f * 0.45);
    let neck = fr.at(0.0, 0.865 * h + bob, lean_f * 1.1);
    let head = fr.at(0.0, 0.935 * h + bob, lean_f * 1.25);
    let mut limbs = [[[0.0; 3]; 7]; 2];
    for side in 0..2 {
        let sign = if side == 0 { 1.0 } else { -1.0 };
        let lat = -sign; // left is negative right
        let sh = fr.at(lat * 0.118 * h, shoulder_y - 0.01 * h, lean_f);
        let al = -0.8 * amp * sp * sign;
        let el_f = lean_f + uarm * libm::sinf(al);
        let el_u = shoulder_y - uarm * libm::cosf(al);
        let fa = al + 0.25 + 0.35 * gait.min(2.0);
        let wr_f = el_f + farm * libm::sinf(fa);
        let wr_u = el_u - farm * libm::cosf(fa);
        let [kf, ku, af, au] = legs[side];
        let hip_l = lat * 0.055 * h;
        limbs[side] = [
            sh,
            fr.at(lat * 0.13 * h, el_u, el_f),
            fr.at(lat * 0.125 * h, wr_u, wr_f),
            fr.at(hip_l, hip_y + bob, 0.0),
            fr.at(hip_l, ku + bob, kf),
            fr.at(hip_l, au + bob, af),
            fr.at(hip_l, au + bob - 0.02 * h, af + 0.075 * h),
        ];
    }
    Skeleton {
        head,
        neck,
        shoulder,
        waist,
        hip,
        limbs,
    }
}

pub(super) fn draw_pedestrian(s: &mut dyn Surface, ctx: &Ctx, a: &Actor, p: &PedLook) {
    let cam = ctx.cam;
    let h = p.height;
    let fr = Frame3::new(a.x, a.z, a.yaw);
    let lean = (a.gait - 1.0).max(0.0);
    let sk = walk_pose(&fr, h, a.phase, a.gait, lean);
    let w = p.build * h / 1.75;
    let vrel = view_angle(cam, a);
    let (vs, vc) = (libm::sinf(vrel).abs(), libm::cosf(vrel));
    // Far side first.
    let far = if dist2(sk.limbs[0][3]) > dist2(sk.limbs[1][3]) {
        0
    } else {
        1
    };
    let near = 1 - far;
    let dark = |c: Rgb| scale(c, 0.78);
    let sleeve = p.top;
    let fore = if p.coat { p.top } else { p.skin };
    let thigh_c = p.bottom;
    let shin_c = if p.shorts { p.skin } else { p.bottom };
    let draw_arm = |s: &mut dyn Surface, l: &[V3; 7], d: bool| {
        let f = |c: Rgb| if d { dark(c) } else { c };
        limb(
            s,
            cam,
            l[0],
            l[1],
            0.048 * w,
            0.042 * w,
            Paint::solid(f(sleeve)),
        );
        limb(
            s,
            cam,
            l[1],
            l[2],
            0.04 * w,
            0.032 * w,
            Paint::solid(f(fore)),
        );
        {
            let k = cam.scale(l[2][2]);
            if let Some(c) = pr(cam, l[2]) {
                s.fill(
                    &[ellipse(c.0, c.1, 0.045 * w * k, 0.05 * w * k, 8)],
                    Paint::solid(f(p.skin)),
                );
            }
        }
    };
    let draw_leg = |s: &mut dyn Surface, l: &[V3; 7], d: bool| {
        let f = |c: Rgb| if d { dark(c) } else { c };
        limb(
            s,
            cam,
            l[3],
            l[4],
            0.078 * w,
            0.058 * w,
            Paint::solid(f(thigh_c)),
        );
        limb(
            s,
            cam,
            l[4],
            l[5],
            0.055 * w,
            0.042 * w,
            Paint::solid(f(shin_c)),
        );
        limb(
            s,
            cam,
            l[5],
            l[6],
            0.045 * w,
            0.04 * w,
            Paint::solid(f(p.shoes)),
        );
    };
    draw_arm(s, &sk.limbs[far], true);
    draw_leg(s, &sk.limbs[far], true);
    draw_leg(s, &sk.limbs[near], false);
    // Torso: an elliptic cross-section seen from the side shows its depth.
    let k = cam.scale(a.z);
    let half = |lat: f32, dep: f32| libm::sqrtf(sq(lat * vc) + sq(dep * vs)) * w * k;
    if let (Some(sh), Some(wa), Some(hp), Some(nk)) = (
        pr(cam, sk.shoulder),
        pr(cam, sk.waist),
        pr(cam, sk.hip),
        pr(cam, sk.neck),
    ) {
        let hs = half(0.2, 0.12);
        let hw = half(0.15, 0.11);
        let hh = half(0.165, 0.115);
        let bottom_y = if p.coat {
            pr(cam, sk.limbs[0][4]).map(|q| q.1).unwrap_or(hp.1)
        } else {
            hp.1 + 0.02 * h * k
        };
        let bottom_w = if p.coat { hh * 1.15 } else { hh };
        let torso = vec![
            (nk.0 - hs * 0.45, nk.1),
            (nk.0 + hs * 0.45, nk.1),
            (sh.0 + hs, sh.1 + 0.02 * h * k),
            (wa.0 + hw, wa.1),
            (hp.0 + bottom_w, bottom_y),
            (hp.0 - bottom_w, bottom_y),
            (wa.0 - hw, wa.1),
            (sh.0 - hs, sh.1 + 0.02 * h * k),
        ];
        s.fill(&[torso], Paint::grad(p.top, scale(p.top, 0.8)));
        if !p.coat && s.wants_detail() {
            // Waistband where the shirt meets the trousers.
            let band = vec![
                (hp.0 - hh, hp.1 - 0.03 * h * k),
                (hp.0 + hh, hp.1 - 0.03 * h * k),
                (hp.0 + hh, hp.1 + 0.02 * h * k),
                (hp.0 - hh, hp.1 + 0.02 * h * k),
            ];
            s.fill(&[band], Paint::solid(p.bottom));
        }
        if let Some(bag) = p.bag {
            // A backpack is visible when the back faces the camera or in profile.
            if vc > -0.3 {
                let off = libm::sinf(vrel) * 0.12 * w * k;
                let bw = half(0.14, 0.09);
                let top_y = sh.1 + 0.04 * h * k;
                let bag_pts = vec![
                    (sh.0 - bw - off, top_y),
                    (sh.0 + bw - off, top_y),
                    (wa.0 + bw * 1.05 - off, wa.1 + 0.08 * h * k),
                    (wa.0 - bw * 1.05 - off, wa.1 + 0.08 * h * k),
                ];
                s.fill(&[bag_pts], Paint::solid(bag));
            }
        }
    }
    // Head: hair, then the face when it turns toward the camera.
    let hk = cam.scale(sk.head[2]);
    let child = h < 1.45;
    let hr = if child { 0.085 } else { 0.078 } * libm::sqrtf((h / 1.75).max(0.75)) * hk;
    if let (Some(hc), Some(nk)) = (pr(cam, sk.head), pr(cam, sk.neck)) {
        let neck_top = (nk.0, nk.1 - 0.03 * h * hk);
        s.fill(
            &[capsule(nk, neck_top, 0.04 * w * hk, 0.04 * w * hk)],
            Paint::solid(p.skin),
        );
        let rx = hr * 0.92;
        let ry = hr * 1.22;
        let n = round_n(ry);
        s.fill(&[ellipse(hc.0, hc.1, rx, ry, n)], Paint::solid(p.hair));
        if vc < 0.55 && s.wants_detail() {
            let shift = libm::sinf(vrel) * rx * 0.3;
            s.fill(
                &[ellipse(
                    hc.0 + shift,
                    hc.1 + ry * 0.18,
                    rx * 0.82,
                    ry * 0.78,
                    n,
                )],
                Paint::solid(p.skin),
            );
        }
        if let Some(hat) = p.hat {
            s.fill(
                &[ellipse(hc.0, hc.1 - ry * 0.45, rx * 1.12, ry * 0.6, n)],
                Paint::solid(hat),
            );
        }
    }
    draw_arm(s, &sk.limbs[near], false);
}

// ---------------------------------------------------------------- cyclists

/// Knee position by two-bone inverse kinematics in the (forward, up) plane, knee forward.
fn knee_ik(hip: (f32, f32), foot: (f32, f32), l1: f32, l2: f32) -> (f32, f32) {
    let dx = foot.0 - hip.0;
    let dy = foot.1 - hip.1;
    let d = libm::sqrtf(dx * dx + dy * dy).clamp(0.05, l1 + l2 - 1e-3);
    let a = libm::acosf(((l1 * l1 + d * d - l2 * l2) / (2.0 * l1 * d)).clamp(-1.0, 1.0));
    let base = libm::atan2f(dy, dx);
    // Two solutions; the knee points forward.
    let k1 = (
        hip.0 + l1 * libm::cosf(base + a),
        hip.1 + l1 * libm::sinf(base + a),
    );
    let k2 = (
        hip.0 + l1 * libm::cosf(base - a),
        hip.1 + l1 * libm::sinf(base - a),
    );
    if k1.0 > k2.0 {
        k1
    } else {
        k2
    }
}

fn draw_wheel(s: &mut dyn Surface, cam: &Camera, c: V3, r: f32, vs: f32, tyre: Rgb) {
    if let Some(pc) = pr(cam, c) {
        let k = cam.scale(c[2]);
        let b = r * k;
        let t = (0.045 * k).max(0.6);
        let a = (r * k * vs).max(t * 0.6);
        let n = round_n(b);
        let outer = ellipse(pc.0, pc.1, a, b, n);
        if a - t > 0.5 && b - t > 0.5 {
            let inner = ellipse(pc.0, pc.1, a - t, b - t, n);
            s.fill(&[outer, inner], Paint::solid(tyre));
            if s.wants_detail() {
                let hub = ellipse(pc.0, pc.1, (a * 0.12).max(0.5), (b * 0.12).max(0.5), 8);
                s.fill(&[hub], Paint::solid(scale(tyre, 2.5)));
            }
        } else {
            s.fill(&[outer], Paint::solid(tyre));
        }
    }
}

pub(super) fn draw_cyclist(s: &mut dyn Surface, ctx: &Ctx, a: &Actor, c: &CyclistLook) {
    let cam = ctx.cam;
    let fr = Frame3::new(a.x, a.z, a.yaw);
    let vrel = view_angle(cam, a);
    let vs = libm::sinf(vrel).abs();
    let r = 0.34;
    let hsc = c.rider.height / 1.75;
    let rear = fr.at(0.0, r, -0.52);
    let front = fr.at(0.0, r, 0.52);
    let bb = fr.at(0.0, 0.29, -0.02);
    let seat = fr.at(0.0, 0.93 * hsc.max(0.8), -0.24);
    let head_top = fr.at(0.0, 0.93, 0.38);
    let head_bot = fr.at(0.0, 0.72, 0.42);
    let bar = fr.at(0.0, 1.0 * hsc.max(0.8), 0.36);
    let tube = Paint::solid(c.frame);
    let tyre = [0.06, 0.06, 0.07];
    // Pedals and legs.
    let crank = 0.17;
    let hip_f = -0.22;
    let hip_u = seat[1] + 0.06;
    let l1 = 0.25 * c.rider.height;
    let l2 = 0.26 * c.rider.height;
    let mut legs = [[[0.0f32; 3]; 4]; 2];
    for (side, leg) in legs.iter_mut().enumerate() {
        let ph = a.phase
            + if side == 0 {
                0.0
            } else {
                core::f32::consts::PI
            };
        let pf = -0.02 + crank * libm::cosf(ph);
        let pu = 0.29 + crank * libm::sinf(ph);
        let lat = if side == 0 { -0.1 } else { 0.1 };
        let (kf, ku) = knee_ik((hip_f, hip_u), (pf, pu), l1, l2);
        *leg = [
            fr.at(lat, hip_u, hip_f),
            fr.at(lat, ku, kf),
            fr.at(lat, pu, pf),
            fr.at(lat, pu - 0.02, pf + 0.09),
        ];
    }
    let far = if dist2(legs[0][0]) > dist2(legs[1][0]) {
        0
    } else {
        1
    };
    let p = &c.rider;
    let w = p.build * hsc;
    let leg = |s: &mut dyn Surface, l: &[V3; 4], d: f32| {
        limb(
            s,
            cam,
            l[0],
            l[1],
            0.075 * w,
            0.056 * w,
            Paint::solid(scale(p.bottom, d)),
        );
        limb(
            s,
            cam,
            l[1],
            l[2],
            0.052 * w,
            0.04 * w,
            Paint::solid(scale(if p.shorts { p.skin } else { p.bottom }, d)),
        );
        limb(
            s,
            cam,
            l[2],
            l[3],
            0.04 * w,
            0.035 * w,
            Paint::solid(scale(p.shoes, d)),
        );
    };
    leg(s, &legs[far], 0.78);
    draw_wheel(s, cam, rear, r, vs, tyre);
    draw_wheel(s, cam, front, r, vs, tyre);
    for (x, y) in [
        (rear, bb),
        (rear, seat),
        (seat, bb),
        (bb, head_bot),
        (seat, head_top),
        (head_bot, front),
        (head_top, bar),
    ] {
        limb(s, cam, x, y, 0.022, 0.022, tube);
    }
    // Handlebar across.
    limb(
        s,
        cam,
        fr.at(-0.25, bar[1], 0.36),
        fr.at(0.25, bar[1], 0.36),
        0.018,
        0.018,
        Paint::solid([0.1, 0.1, 0.1]),
    );
    // Rider torso leaning to the bar.
    let sh_u = hip_u + 0.3 * p.height * 1.0;
    let shoulder = fr.at(0.0, sh_u, 0.12);
    let hipc = fr.at(0.0, hip_u, hip_f);
    let k = cam.scale(a.z);
    let vc = libm::cosf(vrel);
    let half = |lat: f32, dep: f32| libm::sqrtf(sq(lat * vc) + sq(dep * vs)) * w * k;
    if let (Some(sh), Some(hp)) = (pr(cam, shoulder), pr(cam, hipc)) {
        let hs = half(0.2, 0.12);
        let hh = half(0.16, 0.12);
        let torso = vec![
            (sh.0 - hs, sh.1),
            (sh.0 + hs, sh.1),
            (hp.0 + hh, hp.1),
            (hp.0 - hh, hp.1),
        ];
        s.fill(&[torso], Paint::grad(p.top, scale(p.top, 0.8)));
        if let Some(bag) = p.bag {
            if vc > 0.3 {
                let bw = hs * 0.7;
                s.fill(
                    &[vec![
                        (sh.0 - bw, sh.1 + 2.0),
                        (sh.0 + bw, sh.1 + 2.0),
                        (hp.0 + bw, (sh.1 + hp.1) * 0.5 + 2.0),
                        (hp.0 - bw, (sh.1 + hp.1) * 0.5 + 2.0),
                    ]],
                    Paint::solid(bag),
                );
            }
        }
    }
    leg(s, &legs[1 - far], 1.0);
    for lat in [-0.18f32, 0.18] {
        let shl = fr.at(lat, sh_u - 0.02, 0.12);
        let hand = fr.at(lat * 1.2, bar[1], 0.34);
        let elbow = fr.at(lat * 1.1, (sh_u + bar[1]) * 0.5 - 0.04, 0.26);
        limb(s, cam, shl, elbow, 0.045 * w, 0.04 * w, Paint::solid(p.top));
        limb(
            s,
            cam,
            elbow,
            hand,
            0.038 * w,
            0.03 * w,
            Paint::solid(if p.coat { p.top } else { p.skin }),
        );
    }
    let head = fr.at(0.0, sh_u + 0.16 * hsc, 0.2);
    if let Some(hc) = pr(cam, head) {
        let hk = cam.scale(head[2]);
        let rx = 0.085 * hk * hsc.max(0.8);
        let ry = 0.11 * hk * hsc.max(0.8);
        let n = round_n(ry);
        s.fill(
            &[ellipse(hc.0, hc.1, rx, ry, n)],
            Paint::solid(if vc < 0.55 { p.skin } else { p.hair }),
        );
        if let Some(hel) = c.helmet {
            s.fill(
                &[ellipse(hc.0, hc.1 - ry * 0.35, rx * 1.15, ry * 0.72, n)],
                Paint::solid(hel),
            );
        } else if vc < 0.55 {
            s.fill(
                &[ellipse(hc.0, hc.1 - ry * 0.4, rx * 1.02, ry * 0.62, n)],
                Paint::solid(p.hair),
            );
        }
    }
}
