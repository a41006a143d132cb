//! CPTA, the turning ego: the ego turns right (a near-side turn) into a side road on a
//! quarter circle and an adult crosses that side road from the ego's near side.
//!
//! Source: Euro NCAP Test Protocol – AEB/LSS VRU systems, v4.5.1 (February 2024), CPTA:
//! adult target at 5 km/h crossing the road the ego turns into, impact at 50%, ego at
//! 10–20 km/h. The protocol's text was not reachable from this project's sources beyond its
//! title and version, so two figures here are assumptions, not protocol values, and
//! docs/SCENARIOS.md says so: the turn radius (9.0 m at 10 km/h, 11.75 m at 15 km/h,
//! 14.5 m at 20 km/h, linear in between: the radii of Euro NCAP's car-to-car turn-across-path
//! scenarios) and where the pedestrian crosses the side road ([`CROSSING_AFTER_TURN_M`]
//! past the end of the turn, measured to the bumper).
//!
//! The renderer has no camera yaw, so the instance is drawn in the ego's own frame: at every
//! frame the target is placed where the turning ego's camera sees it (its lateral and
//! forward offsets from the camera, and its heading relative to the camera), on the
//! renderer's straight road scrolling at the ego speed. What that does not draw: the side
//! road and the sweep of the scenery during the turn (docs/SCENARIOS.md).
//!
//! World frame of the turn (not the renderer's): `x` right and `z` forward of the ego at the
//! start of the turn, the turn's centre at `(R, 0)`. The ego's camera follows the path by arc
//! length `s`: straight along `z` for `s < 0`, the quarter circle for `0 ≤ s ≤ πR/2`, then
//! straight along `x`.

/// Distance (m) from the end of the turn to the pedestrian's path, measured to the bumper.
pub const CROSSING_AFTER_TURN_M: f32 = 5.0;

/// The turn radius (m) at ego speed `kmh` (an assumption: see the module doc).
pub fn turn_radius_m(kmh: f32) -> f32 {
    9.0 + 0.55 * (kmh - 10.0)
}

/// Position `(x, z)` and unit heading `(hx, hz)` of a point on the ego's path.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pose {
    pub x: f32,
    pub z: f32,
    pub hx: f32,
    pub hz: f32,
}

impl Pose {
    /// The unit vector to the ego's right.
    pub fn right(&self) -> (f32, f32) {
        (self.hz, -self.hx)
    }
    /// A world point in this pose's camera frame: (lateral to the right, forward).
    pub fn to_camera(&self, px: f32, pz: f32) -> (f32, f32) {
        let (dx, dz) = (px - self.x, pz - self.z);
        let (rx, rz) = self.right();
        (dx * rx + dz * rz, dx * self.hx + dz * self.hz)
    }
}

/// The turn of one CPTA instance.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Turn {
    pub radius: f32,
    /// Ego speed along its path (m/s).
    pub ego_mps: f32,
    /// Target speed (m/s).
    pub target_mps: f32,
    /// Collision time `T` (s after the first frame).
    pub collision_s: f32,
    /// Bumper ahead of the camera (m).
    pub bumper_offset: f32,
    /// Impact point: lateral offset from the vehicle's centre line, to the right (m).
    pub impact_lateral: f32,
}

impl Turn {
    /// Camera arc length at the collision.
    fn s_collision(&self) -> f32 {
        std::f32::consts::FRAC_PI_2 * self.radius + CROSSING_AFTER_TURN_M - self.bumper_offset
    }

    /// The camera's pose at time `t` (s).
    pub fn ego_at(&self, t: f32) -> Pose {
        let s = self.s_collision() - self.ego_mps * (self.collision_s - t);
        let r = self.radius;
        let quarter = std::f32::consts::FRAC_PI_2 * r;
        if s < 0.0 {
            Pose {
                x: 0.0,
                z: s,
                hx: 0.0,
                hz: 1.0,
            }
        } else if s <= quarter {
            let th = s / r;
            let (sin, cos) = (libm::sinf(th), libm::cosf(th));
            Pose {
                x: r * (1.0 - cos),
                z: r * sin,
                hx: sin,
                hz: cos,
            }
        } else {
            Pose {
                x: r + (s - quarter),
                z: r,
                hx: 1.0,
                hz: 0.0,
            }
        }
    }

    /// The impact point on the bumper at the collision (world).
    pub fn impact_point(&self) -> (f32, f32) {
        let p = self.ego_at(self.collision_s);
        let (rx, rz) = p.right();
        (
            p.x + self.bumper_offset * p.hx + self.impact_lateral * rx,
            p.z + self.bumper_offset * p.hz + self.impact_lateral * rz,
        )
    }

    /// The target's walking direction (world): from the ego's right at the collision to its
    /// left, across the side road.
    pub fn target_direction(&self) -> (f32, f32) {
        let (rx, rz) = self.ego_at(self.collision_s).right();
        (-rx, -rz)
    }

    /// The target's reference point at time `t` (world), at constant speed.
    pub fn target_at(&self, t: f32) -> (f32, f32) {
        let (ix, iz) = self.impact_point();
        let (wx, wz) = self.target_direction();
        let back = self.target_mps * (self.collision_s - t);
        (ix - wx * back, iz - wz * back)
    }

    /// The target in the camera frame at `t`: lateral (right), forward, and its heading
    /// relative to the camera (radians, 0 walking away, +π/2 walking to the right).
    pub fn target_in_camera(&self, t: f32) -> (f32, f32, f32) {
        let pose = self.ego_at(t);
        let (px, pz) = self.target_at(t);
        let (x, z) = pose.to_camera(px, pz);
        let (wx, wz) = self.target_direction();
        let (rx, rz) = pose.right();
        let yaw = libm::atan2f(wx * rx + wz * rz, wx * pose.hx + wz * pose.hz);
        (x, z, yaw)
    }

    /// Distance (m) from the bumper line to the target along the ego's heading at `t`.
    pub fn distance_at(&self, t: f32) -> f32 {
        self.target_in_camera(t).1 - self.bumper_offset
    }
}
