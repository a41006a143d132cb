//! The Euro NCAP AEB VRU scenario families as parameterised generated sequences.
//!
//! Source: Euro NCAP Test Protocol – AEB/LSS VRU systems, version 4.5.1 (February 2024),
//! the car-to-pedestrian (CP…) and car-to-bicyclist (CB…) scenarios: target type, path,
//! target speed, impact point as a share of the vehicle width, and ego speed range. What
//! the generator does **not** reproduce from the protocol, and why, is in docs/SCENARIOS.md:
//! the protocol's acceleration phases (every instance here runs at constant speeds and
//! starts at a fixed time to collision), and the turning ego of CPTA, drawn in the ego's
//! own frame on a straight road ([`crate::ncap_turn`]). Night instances are lit by the
//! street lamps of the urban scene and the ego's headlight cone (its low beam).
//!
//! Geometry, in the sequence's world frame (`x` right, `z` forward, ego camera at
//! `x = 0`, `z = ego_speed · t`): the ego's front bumper is `bumper_offset` ahead of the
//! camera (the rear bumper behind the rear camera for the reversing families, which are
//! drawn through the rear camera: reversing at `v` is, for that camera, driving forward at
//! `v`). The collision time `T` is `start_ttc_s`; the target's reference point (the
//! actor's position) is at the impact point on the bumper line at `T`. Without braking
//! the time to collision at time `t` is `T − t`, and the longitudinal distance from the
//! bumper to the target is `(v_ego − v_target,z) · (T − t)`.

use super::ncap_turn::{self, Turn};
use super::sequence::{ActorSpec, CameraSpec, EffectsSpec, Keyframe, RoadSpec, SequenceSpec};
use super::{Lighting, SynthError, Weather};
use crate::scene::Environment;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Width of the ego vehicle (m): the impact point is a share of it.
pub const VEHICLE_WIDTH_M: f32 = 1.8;
/// Front bumper ahead of the windscreen camera (m).
pub const FRONT_BUMPER_OFFSET_M: f32 = 2.0;
/// Rear bumper behind the rear camera (m).
pub const REAR_BUMPER_OFFSET_M: f32 = 0.2;
/// Track id of the target in every instance (the one `detect_by_ttc` follows).
pub const TARGET_TRACK: u64 = 1;
/// Euro NCAP's adult and child pedestrian targets (EPTa 1.8 m, EPTc 1.154 m).
const ADULT_HEIGHT_M: f32 = 1.8;
const CHILD_HEIGHT_M: f32 = 1.154;

/// How the target moves relative to the ego.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetPath {
    /// Crossing from the near (right) side, right to left.
    NearSide,
    /// Crossing from the far (left) side, left to right.
    FarSide,
    /// Ahead in the ego lane, same direction (longitudinal).
    Ahead,
    /// Not moving, in the ego's path.
    Stationary,
    /// Crossing, from the near side, the road the ego turns into ([`crate::ncap_turn`]).
    Turning,
}

/// One family of the catalogue, as the protocol defines it.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Family {
    /// Protocol name, e.g. `CPNA-25`.
    pub name: &'static str,
    /// The generator's target kind: adult, child, cyclist, debris, box, sedan.
    pub target: &'static str,
    pub path: TargetPath,
    /// Target speed (km/h) in the protocol; 0 for stationary targets.
    pub target_speed_kmh: f32,
    /// Impact point, % of the vehicle width from the side the target comes from (from
    /// the right for longitudinal and stationary targets).
    pub impact_percent: f32,
    /// Ego speeds (km/h): from, to, step.
    pub ego_kmh: [f32; 3],
    /// The protocol also runs the family at night (street lighting, low beam).
    pub night: bool,
    /// Parked vehicles on the near side hide the target until it steps out.
    pub obstructed: bool,
    /// The ego reverses (drawn through the rear camera).
    pub reverse: bool,
}

const fn fam(
    name: &'static str,
    target: &'static str,
    path: TargetPath,
    target_speed_kmh: f32,
    impact_percent: f32,
    ego_kmh: [f32; 3],
    night: bool,
) -> Family {
    Family {
        name,
        target,
        path,
        target_speed_kmh,
        impact_percent,
        ego_kmh,
        night,
        obstructed: false,
        reverse: false,
    }
}

/// The committed catalogue (docs/SCENARIOS.md has the same table; a test compares them).
pub const FAMILIES: &[Family] = &[
    fam(
        "CPFA-50",
        "adult",
        TargetPath::FarSide,
        8.0,
        50.0,
        [10.0, 60.0, 5.0],
        true,
    ),
    fam(
        "CPNA-25",
        "adult",
        TargetPath::NearSide,
        5.0,
        25.0,
        [10.0, 60.0, 5.0],
        true,
    ),
    fam(
        "CPNA-75",
        "adult",
        TargetPath::NearSide,
        5.0,
        75.0,
        [10.0, 60.0, 5.0],
        true,
    ),
    Family {
        obstructed: true,
        ..fam(
            "CPNCO-50",
            "child",
            TargetPath::NearSide,
            5.0,
            50.0,
            [10.0, 60.0, 5.0],
            true,
        )
    },
    fam(
        "CPLA-25",
        "adult",
        TargetPath::Ahead,
        5.0,
        25.0,
        [20.0, 60.0, 5.0],
        true,
    ),
    fam(
        "CPLA-50",
        "adult",
        TargetPath::Ahead,
        5.0,
        50.0,
        [20.0, 60.0, 5.0],
        true,
    ),
    fam(
        "CPTA",
        "adult",
        TargetPath::Turning,
        5.0,
        50.0,
        [10.0, 20.0, 5.0],
        true,
    ),
    Family {
        reverse: true,
        ..fam(
            "CPRA",
            "adult",
            TargetPath::Stationary,
            0.0,
            50.0,
            [4.0, 8.0, 2.0],
            false,
        )
    },
    // CPRC: the child crosses behind the reversing ego (the issue's table: "stationary or
    // crossing"; CPRA is the stationary adult).
    Family {
        reverse: true,
        ..fam(
            "CPRC",
            "child",
            TargetPath::NearSide,
            5.0,
            50.0,
            [4.0, 8.0, 2.0],
            false,
        )
    },
    fam(
        "CBNA-50",
        "cyclist",
        TargetPath::NearSide,
        15.0,
        50.0,
        [10.0, 60.0, 5.0],
        false,
    ),
    Family {
        obstructed: true,
        ..fam(
            "CBNAO-50",
            "cyclist",
            TargetPath::NearSide,
            15.0,
            50.0,
            [10.0, 60.0, 5.0],
            false,
        )
    },
    fam(
        "CBFA-50",
        "cyclist",
        TargetPath::FarSide,
        15.0,
        50.0,
        [10.0, 60.0, 5.0],
        false,
    ),
    fam(
        "CBLA-25",
        "cyclist",
        TargetPath::Ahead,
        15.0,
        25.0,
        [25.0, 60.0, 5.0],
        false,
    ),
    fam(
        "CBLA-50",
        "cyclist",
        TargetPath::Ahead,
        15.0,
        50.0,
        [25.0, 60.0, 5.0],
        false,
    ),
    // Obstacles (not in the VRU protocol): debris and lost cargo in the lane, and a
    // stationary vehicle ahead.
    fam(
        "OBST-DEBRIS",
        "debris",
        TargetPath::Stationary,
        0.0,
        50.0,
        [30.0, 90.0, 10.0],
        false,
    ),
    fam(
        "OBST-CARGO",
        "box",
        TargetPath::Stationary,
        0.0,
        50.0,
        [30.0, 90.0, 10.0],
        false,
    ),
    fam(
        "OBST-VEHICLE",
        "sedan",
        TargetPath::Stationary,
        0.0,
        50.0,
        [30.0, 90.0, 10.0],
        false,
    ),
];

/// Parameters a scenario file may set (and sweep) on an NCAP instance.
pub const PARAMETERS: &[&str] = &[
    "ego_speed_kmh",
    "target_speed_kmh",
    "impact_point",
    "lighting",
    "weather",
    "occluder_distance_m",
    "target",
];

fn default_start_ttc() -> f32 {
    4.0
}
fn default_fps() -> f32 {
    10.0
}
fn default_lighting() -> Lighting {
    Lighting::Day
}
fn default_occluder() -> f32 {
    1.0
}

/// One instance of a family, as written under `frames: { ncap: ... }`.
#[derive(Serialize, Deserialize, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub struct NcapSpec {
    /// Protocol name of the family (`CPNA-25`, case-insensitive).
    pub family: String,
    pub seed: u64,
    pub ego_speed_kmh: f32,
    /// Default: the family's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_speed_kmh: Option<f32>,
    /// Impact point in % of the vehicle width; default: the family's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub impact_point: Option<f32>,
    #[serde(default = "default_lighting")]
    pub lighting: Lighting,
    #[serde(default)]
    pub weather: Weather,
    /// Longitudinal gap (m) between the target's path and the nearest parked vehicle of
    /// an obstructed family.
    #[serde(default = "default_occluder")]
    pub occluder_distance_m: f32,
    /// Target kind override (adult, child, cyclist, ...); default: the family's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Time to collision at the first frame (s).
    #[serde(default = "default_start_ttc")]
    pub start_ttc_s: f32,
    #[serde(default = "default_fps")]
    pub fps: f32,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub class_map: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignore_classes: Vec<String>,
}

fn invalid(field: &str, message: impl Into<String>) -> SynthError {
    SynthError::InvalidSpec {
        field: format!("ncap.{field}"),
        message: message.into(),
    }
}

/// Where the target is at the collision time, and how it gets there.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Geometry {
    /// Collision time `T` (s after the first frame).
    pub collision_s: f32,
    /// Ego speed along its direction of travel (m/s).
    pub ego_mps: f32,
    /// Target velocity (m/s) in the camera's world frame.
    pub target_vx: f32,
    pub target_vz: f32,
    /// Impact point at `T` (world metres).
    pub impact_x: f32,
    pub impact_z: f32,
    pub bumper_offset: f32,
}

impl Geometry {
    /// Time to collision at time `t` (s), without braking.
    pub fn ttc_at(&self, t: f32) -> f32 {
        self.collision_s - t
    }
    /// Longitudinal distance (m) from the bumper to the target's reference point at `t`.
    pub fn distance_at(&self, t: f32) -> f32 {
        (self.ego_mps - self.target_vz) * (self.collision_s - t)
    }
    /// The target's reference point at `t` (world metres), from its constant velocity.
    pub fn target_at(&self, t: f32) -> (f32, f32) {
        let dt = self.collision_s - t;
        (
            self.impact_x - self.target_vx * dt,
            self.impact_z - self.target_vz * dt,
        )
    }
}

pub fn family(name: &str) -> Result<&'static Family, SynthError> {
    FAMILIES
        .iter()
        .find(|f| f.name.eq_ignore_ascii_case(name))
        .ok_or_else(|| {
            let names: Vec<&str> = FAMILIES.iter().map(|f| f.name).collect();
            invalid(
                "family",
                format!("unknown family `{name}` (known: {})", names.join(", ")),
            )
        })
}

impl NcapSpec {
    pub fn family(&self) -> Result<&'static Family, SynthError> {
        family(&self.family)
    }

    pub fn frames(&self) -> u32 {
        // Frames at t = 0, 1/fps, … strictly before the collision.
        (self.start_ttc_s * self.fps).ceil().max(1.0) as u32
    }

    pub fn validate(&self) -> Result<(), SynthError> {
        let fam = self.family()?;
        let in_range = |field: &str, v: f32, lo: f32, hi: f32| {
            if v.is_finite() && (lo..=hi).contains(&v) {
                Ok(())
            } else {
                Err(invalid(field, format!("{v} is outside {lo}..{hi}")))
            }
        };
        if fam.path == TargetPath::Turning {
            // The turn radius grows with the speed; below 5 km/h it would be under 6.2 m.
            in_range("ego_speed_kmh", self.ego_speed_kmh, 5.0, 40.0)?;
        }
        in_range("ego_speed_kmh", self.ego_speed_kmh, 1.0, 200.0)?;
        in_range("start_ttc_s", self.start_ttc_s, 0.5, 20.0)?;
        in_range("fps", self.fps, 1.0, 120.0)?;
        in_range("occluder_distance_m", self.occluder_distance_m, 0.0, 20.0)?;
        if let Some(v) = self.target_speed_kmh {
            in_range("target_speed_kmh", v, 0.0, 60.0)?;
        }
        if let Some(p) = self.impact_point {
            in_range("impact_point", p, 0.0, 100.0)?;
        }
        if fam.path == TargetPath::Ahead && self.target_kmh(fam) >= self.ego_speed_kmh {
            return Err(invalid(
                "ego_speed_kmh",
                format!(
                    "{} km/h does not close on a target ahead at {} km/h",
                    self.ego_speed_kmh,
                    self.target_kmh(fam)
                ),
            ));
        }
        self.to_sequence()?.validate()
    }

    fn target_kmh(&self, fam: &Family) -> f32 {
        self.target_speed_kmh.unwrap_or(fam.target_speed_kmh)
    }

    pub fn geometry(&self) -> Result<Geometry, SynthError> {
        let fam = self.family()?;
        let ego = self.ego_speed_kmh / 3.6;
        let vt = self.target_kmh(fam) / 3.6;
        let share = self.impact_point.unwrap_or(fam.impact_percent) / 100.0;
        let half = VEHICLE_WIDTH_M / 2.0;
        let offset = if fam.reverse {
            REAR_BUMPER_OFFSET_M
        } else {
            FRONT_BUMPER_OFFSET_M
        };
        let collision_s = self.start_ttc_s;
        let impact_z = ego * collision_s + offset;
        let (impact_x, vx, vz) = match fam.path {
            // From the right, walking left: the share is measured from the right side.
            TargetPath::NearSide => (half - share * VEHICLE_WIDTH_M, -vt, 0.0),
            TargetPath::FarSide => (-half + share * VEHICLE_WIDTH_M, vt, 0.0),
            TargetPath::Ahead => (half - share * VEHICLE_WIDTH_M, 0.0, vt),
            TargetPath::Stationary | TargetPath::Turning => {
                // A stationary family given a target speed crosses from the near side
                // (the protocol's moving variant of CPRA).
                (half - share * VEHICLE_WIDTH_M, -vt, 0.0)
            }
        };
        Ok(Geometry {
            collision_s,
            ego_mps: ego,
            target_vx: vx,
            target_vz: vz,
            impact_x,
            impact_z,
            bumper_offset: offset,
        })
    }

    /// The turn of a turning family's instance (`None` for the others).
    pub fn turn(&self) -> Result<Option<Turn>, SynthError> {
        let fam = self.family()?;
        if fam.path != TargetPath::Turning {
            return Ok(None);
        }
        let g = self.geometry()?;
        Ok(Some(Turn {
            radius: ncap_turn::turn_radius_m(self.ego_speed_kmh),
            ego_mps: g.ego_mps,
            target_mps: self.target_kmh(fam) / 3.6,
            collision_s: g.collision_s,
            bumper_offset: g.bumper_offset,
            impact_lateral: g.impact_x,
        }))
    }

    /// The target's keyframes: two for a straight path at constant velocity; for a turning
    /// ego, one per frame and one at the collision, where the ego's camera sees the target
    /// (renderer frame: the camera at `x = 0`, `z = ego speed · t`).
    fn target_keyframes(&self, g: &Geometry) -> Result<Vec<Keyframe>, SynthError> {
        if let Some(turn) = self.turn()? {
            let frames = self.frames();
            let times = (0..frames)
                .map(|i| i as f32 / self.fps)
                .chain(std::iter::once(g.collision_s));
            return Ok(times
                .map(|t| {
                    let (x, z, yaw) = turn.target_in_camera(t);
                    Keyframe {
                        t,
                        x,
                        z: g.ego_mps * t + z,
                        heading: Some(yaw.to_degrees()),
                    }
                })
                .collect());
        }
        let (x0, z0) = g.target_at(0.0);
        let moving = g.target_vx != 0.0 || g.target_vz != 0.0;
        let heading = if g.target_vx < 0.0 {
            -90.0
        } else if g.target_vx > 0.0 {
            90.0
        } else {
            0.0
        };
        let mut keyframes = vec![Keyframe {
            t: 0.0,
            x: x0,
            z: z0,
            heading: Some(heading),
        }];
        if moving {
            keyframes.push(Keyframe {
                t: g.collision_s,
                x: g.impact_x,
                z: g.impact_z,
                heading: Some(heading),
            });
        }
        Ok(keyframes)
    }

    /// The generated sequence of this instance (the target is track [`TARGET_TRACK`]).
    pub fn to_sequence(&self) -> Result<SequenceSpec, SynthError> {
        let fam = self.family()?;
        let g = self.geometry()?;
        let kind = self
            .target
            .clone()
            .unwrap_or_else(|| fam.target.to_string());
        let keyframes = self.target_keyframes(&g)?;
        // A turning target's keyframes move with the camera, so its speed between them is
        // not its walking speed: the gait is set instead of derived.
        let gait = (fam.path == TargetPath::Turning).then_some(1.0);
        let height = match kind.as_str() {
            "adult" => Some(ADULT_HEIGHT_M),
            "child" => Some(CHILD_HEIGHT_M),
            _ => None,
        };
        let mut actors = vec![ActorSpec {
            id: TARGET_TRACK,
            kind,
            look_seed: None,
            colour: None,
            height,
            size: None,
            lights: Some(false),
            gait,
            braking: false,
            appear: None,
            disappear: None,
            keyframes,
        }];
        if fam.obstructed {
            // Two parked cars 1 m beside the ego's near side, the nearer one ending
            // `occluder_distance_m` before the target's path.
            let x = VEHICLE_WIDTH_M / 2.0 + 1.0 + 0.9;
            let near_end = g.impact_z - self.occluder_distance_m;
            for (i, (kind, len)) in [("suv", 4.6f32), ("hatchback", 4.0)].iter().enumerate() {
                let gap = if i == 0 { 0.0 } else { 4.6 + 1.0 };
                actors.push(ActorSpec {
                    id: 10 + i as u64,
                    kind: kind.to_string(),
                    look_seed: None,
                    colour: None,
                    height: None,
                    size: None,
                    lights: Some(false),
                    gait: None,
                    braking: false,
                    appear: None,
                    disappear: None,
                    keyframes: vec![Keyframe {
                        t: 0.0,
                        x,
                        z: near_end - gap - len / 2.0,
                        heading: Some(0.0),
                    }],
                });
            }
        }
        Ok(SequenceSpec {
            seed: self.seed,
            width: 512,
            height: 288,
            frames: self.frames(),
            fps: self.fps,
            lighting: self.lighting,
            weather: self.weather,
            environment: Environment::Urban,
            ego_speed: g.ego_mps,
            camera: CameraSpec::default(),
            road: RoadSpec {
                lanes: Some(2),
                ..RoadSpec::default()
            },
            effects: EffectsSpec::default(),
            scenery: true,
            actors,
            class_map: self.class_map.clone(),
            ignore_classes: self.ignore_classes.clone(),
        })
    }

    /// Time to collision and bumper distance at frame `frame`.
    pub fn ttc_distance(&self, frame: u32) -> Result<(f32, f32), SynthError> {
        let g = self.geometry()?;
        let t = frame as f32 / self.fps;
        let distance = match self.turn()? {
            Some(turn) => turn.distance_at(t),
            None => g.distance_at(t),
        };
        Ok((g.ttc_at(t), distance))
    }
}

/// The ego speeds of a family's protocol range (km/h).
pub fn ego_speeds(f: &Family) -> Vec<f32> {
    let [from, to, step] = f.ego_kmh;
    let n = ((to - from) / step).round() as usize;
    (0..=n).map(|i| from + step * i as f32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(family: &str, ego: f32) -> NcapSpec {
        NcapSpec {
            family: family.into(),
            seed: 7,
            ego_speed_kmh: ego,
            target_speed_kmh: None,
            impact_point: None,
            lighting: Lighting::Day,
            weather: Weather::Clear,
            occluder_distance_m: 1.0,
            target: None,
            start_ttc_s: 4.0,
            fps: 10.0,
            class_map: BTreeMap::new(),
            ignore_classes: Vec::new(),
        }
    }

    #[test]
    fn turning_family_refuses_a_speed_too_low_for_its_turn() {
        spec("CPTA", 15.0).validate().unwrap();
        let e = spec("CPTA", 3.0).validate().unwrap_err().to_string();
        assert!(e.contains("ego_speed_kmh") && e.contains("5..40"), "{e}");
    }

    #[test]
    fn unknown_family_lists_the_known_ones() {
        let e = spec("CPXX", 15.0).validate().unwrap_err().to_string();
        assert!(e.contains("CPNA-25") && e.contains("CBLA-50"), "{e}");
    }
}
