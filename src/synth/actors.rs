//! Labelled actors: articulated pedestrians, cyclists, cars, trucks and static
//! obstacles, drawn through the camera in world coordinates so that their size
//! follows their distance. Each actor draws its parts far to near itself.

use super::geom::{fill3, mix, scale, Camera, Face, Frame3, Hexa, Side, V3};
use super::raster::{capsule, ellipse, round_n, Glow, Paint, Surface, P};
use super::rng::Rng;
use serde::{Deserialize, Serialize};

pub type Rgb = [f32; 3];

/// Drawing context shared by every actor of a frame.
pub struct Ctx<'a> {
    pub cam: &'a Camera,
    /// Vehicle lights and lamps are switched on (dusk, night, fog, rain).
    pub lights_on: bool,
    /// Dusk or night: windows and street lamps are lit.
    pub dark: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PedLook {
    pub height: f32,
    pub build: f32,
    pub skin: Rgb,
    pub hair: Rgb,
    pub top: Rgb,
    pub bottom: Rgb,
    pub shoes: Rgb,
    pub shorts: bool,
    pub coat: bool,
    pub bag: Option<Rgb>,
    pub hat: Option<Rgb>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CyclistLook {
    pub rider: PedLook,
    pub frame: Rgb,
    pub helmet: Option<Rgb>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CarLook {
    pub length: f32,
    pub width: f32,
    pub height: f32,
    pub paint: Rgb,
    /// 0 sedan, 1 hatchback, 2 SUV, 3 van.
    pub style: u8,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TruckLook {
    pub length: f32,
    pub height: f32,
    pub cab: Rgb,
    pub cargo: Rgb,
    pub bus: bool,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ObstacleKind {
    Cone,
    Box,
    Barrel,
    Tyre,
    Rock,
    Debris,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ObstacleLook {
    pub kind: ObstacleKind,
    pub size: f32,
    pub colour: Rgb,
    pub shape_seed: u32,
}

#[derive(Clone, Debug)]
pub enum Body {
    Pedestrian(PedLook),
    Cyclist(CyclistLook),
    Car(CarLook),
    Truck(TruckLook),
    Obstacle(ObstacleLook),
}

/// One actor at one instant.
#[derive(Clone, Debug)]
pub struct Actor {
    pub track_id: u64,
    /// Road-relative position of the actor's ground centre (metres).
    pub x: f32,
    pub z: f32,
    /// Heading: 0 away from the camera, +pi/2 to the right.
    pub yaw: f32,
    /// Gait or pedalling phase in radians.
    pub phase: f32,
    /// 0 standing, 1 walking, 2 running.
    pub gait: f32,
    /// Brake lights lit (vehicles).
    pub braking: bool,
    /// Head and tail lamps switched on when the conditions call for them (parked
    /// vehicles keep them off).
    pub lights: bool,
    pub body: Body,
}

impl Actor {
    pub fn class_id(&self) -> u32 {
        match self.body {
            Body::Pedestrian(_) => 0,
            Body::Cyclist(_) => 1,
            Body::Car(_) => 2,
            Body::Truck(_) => 3,
            Body::Obstacle(_) => 4,
        }
    }

    pub fn kind(&self) -> String {
        match &self.body {
            Body::Pedestrian(p) => if p.height < 1.45 { "child" } else { "adult" }.into(),
            Body::Cyclist(_) => "cyclist".into(),
            Body::Car(c) => ["sedan", "hatchback", "suv", "van"][c.style.min(3) as usize].into(),
            Body::Truck(t) => if t.bus { "bus" } else { "truck" }.into(),
            Body::Obstacle(o) => match o.kind {
                ObstacleKind::Cone => "cone",
                ObstacleKind::Box => "box",
                ObstacleKind::Barrel => "barrel",
                ObstacleKind::Tyre => "tyre",
                ObstacleKind::Rock => "rock",
                ObstacleKind::Debris => "debris",
            }
            .into(),
        }
    }

    /// Rough footprint radius, for placement and depth sorting.
    pub fn radius(&self) -> f32 {
        match &self.body {
            Body::Pedestrian(_) => 0.3,
            Body::Cyclist(_) => 0.9,
            Body::Car(c) => c.length * 0.5,
            Body::Truck(t) => t.length * 0.5,
            Body::Obstacle(o) => o.size * 0.5,
        }
    }

    /// Camera-relative distance used by the painter's sort.
    pub fn sort_key(&self, cam: &Camera) -> f32 {
        let xb = cam.bend(self.x, self.z);
        libm::sqrtf(xb * xb + self.z * self.z)
    }

    /// Depth that fog and lighting use for this actor.
    pub fn depth(&self) -> f32 {
        self.z
    }

    /// Shadow footprint on the road (drawn before every upright object).
    pub fn shadow(&self, cam: &Camera) -> Option<Vec<P>> {
        let (hw, hl) = match &self.body {
            Body::Pedestrian(p) => (0.25 * p.build, 0.25),
            Body::Cyclist(_) => (0.3, 0.9),
            Body::Car(c) => (c.width * 0.55, c.length * 0.52),
            Body::Truck(t) => (1.35, t.length * 0.52),
            Body::Obstacle(o) => (o.size * 0.6, o.size * 0.6),
        };
        let fr = Frame3::new(self.x, self.z, self.yaw);
        let pts: Vec<V3> = (0..12)
            .map(|i| {
                let a = core::f32::consts::TAU * i as f32 / 12.0;
                fr.at(hw * libm::cosf(a), 0.0, hl * libm::sinf(a))
            })
            .collect();
        cam.polygon(&pts)
    }

    pub fn draw(&self, s: &mut dyn Surface, ctx: &Ctx) {
        if self.z < 1.0 {
            return;
        }
        match &self.body {
            Body::Pedestrian(p) => draw_pedestrian(s, ctx, self, p),
            Body::Cyclist(c) => draw_cyclist(s, ctx, self, c),
            Body::Car(c) => draw_car(s, ctx, self, c),
            Body::Truck(t) => draw_truck(s, ctx, self, t),
            Body::Obstacle(o) => draw_obstacle(s, ctx, self, o),
        }
    }
}

/// Angle between the actor's heading and the line of sight (0: seen from behind).
fn view_angle(cam: &Camera, a: &Actor) -> f32 {
    let bearing = libm::atan2f(cam.bend(a.x, a.z), a.z);
    a.yaw - bearing
}

// ---------------------------------------------------------------- pedestrians

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

fn pr(cam: &Camera, p: V3) -> Option<P> {
    cam.project(p)
}

fn limb(s: &mut dyn Surface, cam: &Camera, a: V3, b: V3, ra: f32, rb: f32, paint: Paint) {
    if let (Some(pa), Some(pb)) = (pr(cam, a), pr(cam, b)) {
        let ka = cam.scale(a[2]);
        let kb = cam.scale(b[2]);
        s.fill(
            &[capsule(pa, pb, (ra * ka).max(0.35), (rb * kb).max(0.35))],
            paint,
        );
    }
}

fn sq(v: f32) -> f32 {
    v * v
}

fn dist2(p: V3) -> f32 {
    p[0] * p[0] + p[2] * p[2]
}

fn draw_pedestrian(s: &mut dyn Surface, ctx: &Ctx, a: &Actor, p: &PedLook) {
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

fn draw_cyclist(s: &mut dyn Surface, ctx: &Ctx, a: &Actor, c: &CyclistLook) {
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

// ---------------------------------------------------------------- vehicles

fn face_paint(side: Side, base: Rgb) -> Paint {
    match side {
        Side::Top => Paint::solid(scale(base, 1.12)),
        Side::Left | Side::Right => Paint::grad(scale(base, 0.86), scale(base, 0.66)),
        Side::Rear | Side::Front => Paint::grad(scale(base, 0.98), scale(base, 0.8)),
    }
}

fn glass(side: Side) -> Paint {
    match side {
        Side::Top => Paint::solid([0.2, 0.22, 0.25]),
        _ => Paint::grad([0.32, 0.36, 0.42], [0.08, 0.09, 0.11]),
    }
}

fn draw_hexa(s: &mut dyn Surface, cam: &Camera, hx: &Hexa, base: Rgb) -> Vec<Side> {
    let vis = hx.visible(cam);
    for &side in &vis {
        let f = hx.face(side);
        fill3(s, cam, &f.c, face_paint(side, base));
    }
    vis
}

fn face_rect(s: &mut dyn Surface, cam: &Camera, f: &Face, r: [f32; 4], paint: Paint) {
    fill3(s, cam, &f.rect(r[0], r[1], r[2], r[3]), paint);
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

fn draw_car(s: &mut dyn Surface, ctx: &Ctx, a: &Actor, c: &CarLook) {
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

fn draw_truck(s: &mut dyn Surface, ctx: &Ctx, a: &Actor, t: &TruckLook) {
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

// ---------------------------------------------------------------- obstacles

fn draw_obstacle(s: &mut dyn Surface, ctx: &Ctx, a: &Actor, o: &ObstacleLook) {
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
