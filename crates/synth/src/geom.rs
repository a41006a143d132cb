//! Pinhole camera over a flat ground plane, and 3-D primitives projected through it.
//!
//! World coordinates are road-relative metres: x to the right, y up from the road
//! surface, z forward from the camera. A road curve bends everything laterally by
//! `curve * z^2`, so actors placed in road coordinates follow the lanes.

use super::raster::{Paint, Surface, P};

pub type V3 = [f32; 3];

/// Nearest depth that is projected; geometry in front of it is clipped.
pub const NEAR: f32 = 0.5;

#[derive(Clone, Copy, Debug)]
pub struct Camera {
    /// Focal length in pixels.
    pub f: f32,
    /// Principal point column.
    pub cx: f32,
    /// Horizon row (the principal point row for a level camera).
    pub horizon: f32,
    /// Camera height above the road in metres.
    pub height: f32,
    /// Road curvature: lateral offset `curve * z^2` metres at depth z.
    pub curve: f32,
}

impl Camera {
    /// Lateral camera-frame x of a road-relative point.
    pub fn bend(&self, x: f32, z: f32) -> f32 {
        x + self.curve * z * z
    }

    /// Image position of a world point, `None` when in front of the near plane.
    pub fn project(&self, p: V3) -> Option<P> {
        if p[2] < NEAR {
            return None;
        }
        Some(self.project_unchecked(p))
    }

    fn project_unchecked(&self, p: V3) -> P {
        let x = self.bend(p[0], p[2]);
        (
            self.cx + self.f * x / p[2],
            self.horizon + self.f * (self.height - p[1]) / p[2],
        )
    }

    /// Pixels per metre at depth z.
    pub fn scale(&self, z: f32) -> f32 {
        self.f / z.max(NEAR)
    }

    /// Project a planar polygon, clipping it against the near plane.
    pub fn polygon(&self, pts: &[V3]) -> Option<Vec<P>> {
        if pts.iter().all(|p| p[2] >= NEAR) {
            return Some(pts.iter().map(|&p| self.project_unchecked(p)).collect());
        }
        let mut out: Vec<V3> = Vec::with_capacity(pts.len() + 2);
        let n = pts.len();
        for i in 0..n {
            let a = pts[i];
            let b = pts[(i + 1) % n];
            let ain = a[2] >= NEAR;
            let bin = b[2] >= NEAR;
            if ain {
                out.push(a);
            }
            if ain != bin {
                let t = (NEAR - a[2]) / (b[2] - a[2]);
                out.push([a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1]), NEAR]);
            }
        }
        if out.len() < 3 {
            return None;
        }
        Some(out.iter().map(|&p| self.project_unchecked(p)).collect())
    }
}

pub fn add(a: V3, b: V3) -> V3 {
    [a[0] + b[0], a[1] + b[1], a[2] + b[2]]
}
pub fn sub(a: V3, b: V3) -> V3 {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}
pub fn mul(a: V3, s: f32) -> V3 {
    [a[0] * s, a[1] * s, a[2] * s]
}
pub fn dot(a: V3, b: V3) -> f32 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}
pub fn cross(a: V3, b: V3) -> V3 {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

/// A local frame on the ground: origin, forward and right unit vectors (yaw about y).
/// Yaw 0 faces away from the camera (+z); yaw +pi/2 faces right (+x).
#[derive(Clone, Copy, Debug)]
pub struct Frame3 {
    pub origin: V3,
    pub fwd: V3,
    pub right: V3,
}

impl Frame3 {
    pub fn new(x: f32, z: f32, yaw: f32) -> Self {
        let (s, c) = (libm::sinf(yaw), libm::cosf(yaw));
        Self {
            origin: [x, 0.0, z],
            fwd: [s, 0.0, c],
            right: [c, 0.0, -s],
        }
    }
    /// World point at (right, up, forward) in the local frame.
    pub fn at(&self, r: f32, u: f32, f: f32) -> V3 {
        [
            self.origin[0] + self.right[0] * r + self.fwd[0] * f,
            u,
            self.origin[2] + self.right[2] * r + self.fwd[2] * f,
        ]
    }
}

/// One face of a hexahedron, addressable in its own (u, v) unit square.
#[derive(Clone, Copy, Debug)]
pub struct Face {
    /// Corners: (0,0), (1,0), (1,1), (0,1) in (u, v); v goes up for side faces.
    pub c: [V3; 4],
}

impl Face {
    pub fn point(&self, u: f32, v: f32) -> V3 {
        let a = add(
            mul(self.c[0], (1.0 - u) * (1.0 - v)),
            mul(self.c[1], u * (1.0 - v)),
        );
        let b = add(mul(self.c[2], u * v), mul(self.c[3], (1.0 - u) * v));
        add(a, b)
    }
    pub fn rect(&self, u0: f32, v0: f32, u1: f32, v1: f32) -> [V3; 4] {
        [
            self.point(u0, v0),
            self.point(u1, v0),
            self.point(u1, v1),
            self.point(u0, v1),
        ]
    }
    pub fn ellipse(&self, uc: f32, vc: f32, ru: f32, rv: f32, n: usize) -> Vec<V3> {
        (0..n)
            .map(|i| {
                let a = core::f32::consts::TAU * i as f32 / n as f32;
                self.point(uc + ru * libm::cosf(a), vc + rv * libm::sinf(a))
            })
            .collect()
    }
}

/// Hexahedron faces in a fixed order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Rear,
    Front,
    Left,
    Right,
    Top,
}

/// A hexahedron from a local frame: bottom rectangle and a (possibly smaller,
/// shifted) top rectangle, for car cabins, boxes, buildings.
#[derive(Clone, Copy, Debug)]
pub struct Hexa {
    pub corners: [V3; 8],
}

impl Hexa {
    /// Axis-aligned box in `fr`: half width `hw`, from `f0` to `f1` along forward, `y0..y1` up.
    pub fn boxed(fr: &Frame3, hw: f32, f0: f32, f1: f32, y0: f32, y1: f32) -> Self {
        Self::tapered(fr, (hw, f0, f1), (hw, f0, f1), y0, y1)
    }

    /// Bottom (half width, rear, front) and top (half width, rear, front).
    pub fn tapered(
        fr: &Frame3,
        bot: (f32, f32, f32),
        top: (f32, f32, f32),
        y0: f32,
        y1: f32,
    ) -> Self {
        Self {
            corners: [
                fr.at(-bot.0, y0, bot.1),
                fr.at(bot.0, y0, bot.1),
                fr.at(bot.0, y0, bot.2),
                fr.at(-bot.0, y0, bot.2),
                fr.at(-top.0, y1, top.1),
                fr.at(top.0, y1, top.1),
                fr.at(top.0, y1, top.2),
                fr.at(-top.0, y1, top.2),
            ],
        }
    }

    pub fn face(&self, s: Side) -> Face {
        let c = &self.corners;
        let idx = match s {
            Side::Rear => [0, 1, 5, 4],
            Side::Front => [2, 3, 7, 6],
            Side::Left => [3, 0, 4, 7],
            Side::Right => [1, 2, 6, 5],
            Side::Top => [4, 5, 6, 7],
        };
        Face {
            c: [c[idx[0]], c[idx[1]], c[idx[2]], c[idx[3]]],
        }
    }

    fn centroid(&self) -> V3 {
        let mut s = [0.0; 3];
        for c in &self.corners {
            s = add(s, *c);
        }
        mul(s, 1.0 / 8.0)
    }

    /// Faces the camera (at height `cam_h`) can see, in drawing order.
    pub fn visible(&self, cam: &Camera) -> Vec<Side> {
        let eye = [0.0, cam.height, 0.0];
        let cen = self.centroid();
        let mut out = Vec::with_capacity(3);
        for s in [Side::Rear, Side::Front, Side::Left, Side::Right, Side::Top] {
            let f = self.face(s);
            let fc = mul(add(add(f.c[0], f.c[1]), add(f.c[2], f.c[3])), 0.25);
            let mut n = cross(sub(f.c[1], f.c[0]), sub(f.c[3], f.c[0]));
            if dot(n, sub(fc, cen)) < 0.0 {
                n = mul(n, -1.0);
            }
            // Curvature shifts x with depth: test against the bent position.
            let fcb = [cam.bend(fc[0], fc[2]), fc[1], fc[2]];
            if dot(n, sub(eye, fcb)) > 1e-6 {
                out.push(s);
            }
        }
        out
    }
}

/// Fill a projected 3-D polygon.
pub fn fill3(s: &mut dyn Surface, cam: &Camera, pts: &[V3], paint: Paint) {
    if let Some(p) = cam.polygon(pts) {
        s.fill(&[p], paint);
    }
}

/// Multiply a colour.
pub fn scale(c: [f32; 3], k: f32) -> [f32; 3] {
    [c[0] * k, c[1] * k, c[2] * k]
}

/// Blend two colours.
pub fn mix(a: [f32; 3], b: [f32; 3], t: f32) -> [f32; 3] {
    [
        a[0] + (b[0] - a[0]) * t,
        a[1] + (b[1] - a[1]) * t,
        a[2] + (b[2] - a[2]) * t,
    ]
}
