//! Scenario sequences: actors with keyframed trajectories over time, rendered frame
//! by frame with stable track ids. A scenario YAML holds a [`SequenceSpec`] under
//! `frames: { generate: ... }`; the replay renders every frame before timing and
//! takes the golden labels from the same render.
//!
//! Coordinates are world metres: `x` lateral (right positive, 0 = the ego camera's
//! starting line), `z` along the road from the ego camera's starting point. The
//! ego camera moves forward at `ego_speed`, so a static actor approaches.

use super::actors::{Actor, Body, ObstacleKind};
use super::geom::Camera;
use super::random::{
    car_look, cyclist_look, effects_for, obstacle_look, pedestrian_look, road_for, scenery_for,
    truck_look,
};
use super::rng::Rng;
use super::scene::{render_scene, Environment, Line, RenderOutput, Road, Scene};
use super::scenery::Prop;
use super::{check_size, Frame, Lighting, SynthError, Weather};
use serde::{Deserialize, Serialize};

fn default_width() -> u32 {
    512
}
fn default_height() -> u32 {
    288
}
fn default_fps() -> f32 {
    10.0
}
fn default_true() -> bool {
    true
}
fn default_lighting() -> Lighting {
    Lighting::Day
}
fn default_env() -> Environment {
    Environment::Urban
}

/// A generated scenario sequence.
#[derive(Serialize, Deserialize, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub struct SequenceSpec {
    /// Seed for looks, scenery, textures and sensor noise.
    pub seed: u64,
    #[serde(default = "default_width")]
    pub width: u32,
    #[serde(default = "default_height")]
    pub height: u32,
    /// Number of frames.
    pub frames: u32,
    /// Frame rate: frame n is rendered at t = n / fps seconds.
    #[serde(default = "default_fps")]
    pub fps: f32,
    #[serde(default = "default_lighting")]
    pub lighting: Lighting,
    #[serde(default)]
    pub weather: Weather,
    #[serde(default = "default_env")]
    pub environment: Environment,
    /// Ego (camera) speed along the road in m/s.
    #[serde(default)]
    pub ego_speed: f32,
    #[serde(default)]
    pub camera: CameraSpec,
    #[serde(default)]
    pub road: RoadSpec,
    #[serde(default)]
    pub effects: EffectsSpec,
    /// Roadside clutter drawn from the seed for the environment.
    #[serde(default = "default_true")]
    pub scenery: bool,
    pub actors: Vec<ActorSpec>,
    /// Generated class name → model class name (e.g. `pedestrian: person`). The renderer
    /// ignores it; the scenario loader maps the golden labels with it, exactly as for
    /// file-based frames, so one scene description serves detectors of any vocabulary.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub class_map: std::collections::BTreeMap<String, String>,
    /// Generated classes dropped from the golden labels (neither rewarded nor penalised).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignore_classes: Vec<String>,
}

/// Camera overrides; unset fields take defaults.
#[derive(Serialize, Deserialize, Clone, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct CameraSpec {
    /// Mounting height in metres (default 1.4).
    pub height: Option<f32>,
    /// Focal length as a fraction of the image width (default 0.9).
    pub focal: Option<f32>,
    /// Horizon row as a fraction of the image height (default 0.45).
    pub horizon: Option<f32>,
    /// Road curvature, lateral metres per metre squared (default 0).
    pub curve: Option<f32>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct RoadSpec {
    /// Lane count (default 2).
    pub lanes: Option<u32>,
    /// Lane width in metres (default 3.5).
    pub lane_width: Option<f32>,
    /// Lane of the ego camera counted from the left, 0-based (default: the right-most).
    pub ego_lane: Option<u32>,
    /// Sidewalk width (default from the environment).
    pub sidewalk: Option<f32>,
    /// World z where a zebra crossing starts.
    pub crosswalk: Option<f32>,
    /// One-way road (all lane lines dashed).
    #[serde(default)]
    pub one_way: bool,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct EffectsSpec {
    /// Sensor noise standard deviation on a 0..1 scale.
    pub noise: Option<f32>,
    /// Horizontal motion blur in pixels.
    pub motion_blur: Option<u32>,
    /// Fog visibility in metres (weather fog; default 60).
    pub fog_visibility: Option<f32>,
    /// Rain streak density 0..1 (weather rain; default 0.7).
    pub rain: Option<f32>,
    pub exposure: Option<f32>,
}

/// One actor of a sequence.
#[derive(Serialize, Deserialize, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub struct ActorSpec {
    /// Track id, stable across frames and unique in the sequence.
    pub id: u64,
    /// adult, child, cyclist, sedan, hatchback, suv, van, truck, bus, cone, box,
    /// barrel, tyre, rock or debris.
    pub kind: String,
    /// Seed of the look (clothes, paint); default derived from the sequence seed and id.
    pub look_seed: Option<u64>,
    /// Main colour override (clothing top or paint), RGB 0..1.
    pub colour: Option<[f32; 3]>,
    /// Body height in metres (pedestrians, cyclists' riders).
    pub height: Option<f32>,
    /// Obstacle size in metres (cone height, box width, ...).
    pub size: Option<f32>,
    /// Vehicle lamps on at dusk, night, fog and rain (default: on when it moves).
    pub lights: Option<bool>,
    /// Gait: 0 standing, 1 walking, 2 running (default from speed).
    pub gait: Option<f32>,
    /// Brake lights lit.
    #[serde(default)]
    pub braking: bool,
    /// Time (s) the actor appears and leaves; absent outside.
    pub appear: Option<f32>,
    pub disappear: Option<f32>,
    /// Positions over time, linearly interpolated; held before the first and after the last.
    pub keyframes: Vec<Keyframe>,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug)]
#[serde(deny_unknown_fields)]
pub struct Keyframe {
    /// Time in seconds.
    pub t: f32,
    /// Lateral metres (right positive).
    pub x: f32,
    /// Metres along the road from the ego camera's start.
    pub z: f32,
    /// Heading in degrees: 0 away from the camera, 90 to the right, 180 toward it.
    /// Default: the direction of motion (0 when still).
    pub heading: Option<f32>,
}

const KINDS: [&str; 15] = [
    "adult",
    "child",
    "cyclist",
    "sedan",
    "hatchback",
    "suv",
    "van",
    "truck",
    "bus",
    "cone",
    "box",
    "barrel",
    "tyre",
    "rock",
    "debris",
];

fn invalid(field: impl Into<String>, message: impl Into<String>) -> SynthError {
    SynthError::InvalidSpec {
        field: field.into(),
        message: message.into(),
    }
}

fn finite(field: &str, v: f32) -> Result<(), SynthError> {
    if v.is_finite() {
        Ok(())
    } else {
        Err(invalid(field, "must be a finite number"))
    }
}

impl SequenceSpec {
    /// Parse a bare sequence from YAML.
    pub fn from_yaml(text: &str) -> Result<Self, SynthError> {
        let s: Self = serde_saphyr::from_str(text).map_err(|e| SynthError::Parse(e.to_string()))?;
        s.validate()?;
        Ok(s)
    }

    pub fn validate(&self) -> Result<(), SynthError> {
        check_size(self.width, self.height)?;
        if self.frames == 0 || self.frames > 100_000 {
            return Err(invalid("frames", "must be between 1 and 100000"));
        }
        if !(self.fps.is_finite() && self.fps > 0.0 && self.fps <= 1000.0) {
            return Err(invalid("fps", "must be in (0, 1000]"));
        }
        if !(self.ego_speed.is_finite() && self.ego_speed.abs() <= 100.0) {
            return Err(invalid("ego_speed", "must be within -100..100 m/s"));
        }
        for (name, v, lo, hi) in [
            ("camera.height", self.camera.height, 0.3, 5.0),
            ("camera.focal", self.camera.focal, 0.2, 5.0),
            ("camera.horizon", self.camera.horizon, 0.05, 0.95),
            ("camera.curve", self.camera.curve, -0.01, 0.01),
            ("road.lane_width", self.road.lane_width, 2.0, 6.0),
            ("road.sidewalk", self.road.sidewalk, 0.0, 20.0),
            ("road.crosswalk", self.road.crosswalk, -1e5, 1e5),
            ("effects.noise", self.effects.noise, 0.0, 0.5),
            (
                "effects.fog_visibility",
                self.effects.fog_visibility,
                5.0,
                10_000.0,
            ),
            ("effects.rain", self.effects.rain, 0.0, 1.0),
            ("effects.exposure", self.effects.exposure, 0.1, 10.0),
        ] {
            if let Some(v) = v {
                if !(v.is_finite() && v >= lo && v <= hi) {
                    return Err(invalid(name, format!("{v} is outside {lo}..{hi}")));
                }
            }
        }
        let lanes = self.road.lanes.unwrap_or(2);
        if !(1..=8).contains(&lanes) {
            return Err(invalid("road.lanes", "must be between 1 and 8"));
        }
        if let Some(e) = self.road.ego_lane {
            if e >= lanes {
                return Err(invalid(
                    "road.ego_lane",
                    format!("{e} is not below lanes ({lanes})"),
                ));
            }
        }
        if self.effects.motion_blur.unwrap_or(0) > 64 {
            return Err(invalid("effects.motion_blur", "must be at most 64 pixels"));
        }
        if self.actors.len() > 256 {
            return Err(invalid("actors", "at most 256 actors"));
        }
        let mut ids = std::collections::BTreeSet::new();
        for (i, a) in self.actors.iter().enumerate() {
            let f = |n: &str| format!("actors[{i}].{n}");
            if !ids.insert(a.id) {
                return Err(invalid(f("id"), format!("duplicate id {}", a.id)));
            }
            if !KINDS.contains(&a.kind.as_str()) {
                return Err(invalid(
                    f("kind"),
                    format!(
                        "unknown kind `{}` (expected one of {})",
                        a.kind,
                        KINDS.join(", ")
                    ),
                ));
            }
            if a.keyframes.is_empty() {
                return Err(invalid(f("keyframes"), "needs at least one keyframe"));
            }
            let mut last = f32::NEG_INFINITY;
            for (k, kf) in a.keyframes.iter().enumerate() {
                let g = format!("actors[{i}].keyframes[{k}]");
                finite(&g, kf.t)?;
                finite(&g, kf.x)?;
                finite(&g, kf.z)?;
                if kf.x.abs() > 1e4 || kf.z.abs() > 1e5 {
                    return Err(invalid(g, "position out of range"));
                }
                if let Some(h) = kf.heading {
                    finite(&g, h)?;
                }
                if kf.t <= last {
                    return Err(invalid(g, "times must increase strictly"));
                }
                last = kf.t;
            }
            if let Some(c) = a.colour {
                if c.iter()
                    .any(|v| !(v.is_finite() && (0.0..=1.0).contains(v)))
                {
                    return Err(invalid(f("colour"), "components must be in 0..1"));
                }
            }
            if let Some(h) = a.height {
                if !(h.is_finite() && (0.5..=2.3).contains(&h)) {
                    return Err(invalid(f("height"), "must be in 0.5..2.3 m"));
                }
            }
            if let Some(sz) = a.size {
                if !(sz.is_finite() && (0.1..=5.0).contains(&sz)) {
                    return Err(invalid(f("size"), "must be in 0.1..5 m"));
                }
            }
            if let Some(g) = a.gait {
                if !(g.is_finite() && (0.0..=2.0).contains(&g)) {
                    return Err(invalid(f("gait"), "must be in 0..2"));
                }
            }
            for (n, v) in [("appear", a.appear), ("disappear", a.disappear)] {
                if let Some(v) = v {
                    finite(&f(n), v)?;
                }
            }
        }
        Ok(())
    }

    /// Position `(x, z)` of actor `id` at time `t` (world metres), from its keyframes.
    pub fn actor_position(&self, id: u64, t: f32) -> Option<(f32, f32)> {
        let a = self.actors.iter().find(|a| a.id == id)?;
        let (x, z, ..) = sample(&a.keyframes, t);
        Some((x, z))
    }

    /// Duration in seconds covered by the frames.
    pub fn duration(&self) -> f32 {
        self.frames as f32 / self.fps
    }

    fn camera(&self) -> Camera {
        let w = self.width as f32;
        let h = self.height as f32;
        Camera {
            f: w * self.camera.focal.unwrap_or(0.9),
            cx: w * 0.5,
            horizon: h * self.camera.horizon.unwrap_or(0.45),
            height: self.camera.height.unwrap_or(1.4),
            curve: self.camera.curve.unwrap_or(0.0),
        }
    }

    fn road(&self, rng: &mut Rng) -> Road {
        let mut road = road_for(rng, self.environment);
        let lanes = self.road.lanes.unwrap_or(2);
        let lw = self.road.lane_width.unwrap_or(3.5);
        let ego = self.road.ego_lane.unwrap_or(lanes - 1).min(lanes - 1);
        road.left = -(ego as f32 + 0.5) * lw;
        road.right = (lanes as f32 - ego as f32 - 0.5) * lw;
        road.lines = (1..lanes)
            .map(|k| {
                let style = if !self.road.one_way && k == lanes / 2 && lanes > 2 {
                    Line::Solid
                } else {
                    Line::Dashed
                };
                (road.left + k as f32 * lw, style)
            })
            .collect();
        if let Some(s) = self.road.sidewalk {
            road.sidewalk = s;
        }
        road.crosswalk = self.road.crosswalk;
        road
    }

    /// Render frame `frame` (0-based).
    pub fn render(&self, frame: u32) -> Result<Frame, SynthError> {
        Ok(self.render_with_mask(frame)?.frame)
    }

    pub fn render_with_mask(&self, frame: u32) -> Result<RenderOutput, SynthError> {
        self.validate()?;
        if frame >= self.frames {
            return Err(SynthError::FrameOutOfRange {
                frame,
                frames: self.frames,
            });
        }
        Ok(render_scene(&self.scene(frame)))
    }

    /// Render every frame (frames are independent; rendered in order here).
    pub fn render_all(&self) -> Result<Vec<Frame>, SynthError> {
        self.validate()?;
        Ok((0..self.frames)
            .map(|f| render_scene(&self.scene(f)).frame)
            .collect())
    }

    /// The scene at `frame`; the static parts are the same for every frame.
    pub fn scene(&self, frame: u32) -> Scene {
        let t = frame as f32 / self.fps;
        let ego_z = self.ego_speed * t;
        let mut rng = Rng::new(self.seed, 0x5E9);
        let road = self.road(&mut rng);
        let mut srng = rng.fork(1);
        let (props, lamps) = if self.scenery {
            let far = self.ego_speed.max(0.0) * self.duration() + 160.0;
            let near = self.ego_speed.min(0.0) * self.duration() - 10.0;
            scenery_for(&mut srng, self.environment, &road, near, far)
        } else {
            (Vec::new(), Vec::new())
        };
        let mut fxr = rng.fork(2);
        let mut fx = effects_for(&mut fxr, self.lighting, self.weather);
        fx.motion_blur = self.effects.motion_blur.unwrap_or(0);
        fx.soften = 0.35;
        fx.tint = [1.0; 3];
        fx.vignette = 0.15;
        fx.exposure = self
            .effects
            .exposure
            .unwrap_or(if self.lighting == Lighting::Night {
                1.15
            } else {
                1.0
            });
        fx.noise = self.effects.noise.unwrap_or(match self.lighting {
            Lighting::Day => 0.012,
            Lighting::Dusk => 0.025,
            Lighting::Night => 0.04,
        });
        fx.fog_visibility = if self.weather == Weather::Fog {
            self.effects.fog_visibility.unwrap_or(60.0)
        } else {
            0.0
        };
        fx.rain = if self.weather == Weather::Rain {
            self.effects.rain.unwrap_or(0.7)
        } else {
            0.0
        };
        let props = props.iter().map(|p| shift_prop(p, -ego_z)).collect();
        let lamps = lamps.iter().map(|&(x, z)| (x, z - ego_z)).collect();
        let actors = self
            .actors
            .iter()
            .filter_map(|a| self.actor_at(a, t, ego_z))
            .collect();
        let mut road = road;
        // The ground texture is keyed on world z: scrolling it is ego motion.
        road.crosswalk = self.road.crosswalk;
        Scene {
            width: self.width,
            height: self.height,
            cam: self.camera(),
            lighting: self.lighting,
            weather: self.weather,
            env: self.environment,
            road,
            ego_z,
            props,
            actors,
            fx,
            sun: 1.0,
            lamps,
            skyline: match self.environment {
                Environment::Urban => 1,
                Environment::Suburban => 2,
                _ => 3,
            },
            seed: self.seed,
            noise_seed: 0,
        }
        .with_noise_seed(self.seed ^ (frame as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15))
    }

    fn actor_at(&self, a: &ActorSpec, t: f32, ego_z: f32) -> Option<Actor> {
        if a.appear.is_some_and(|ta| t < ta) || a.disappear.is_some_and(|td| t >= td) {
            return None;
        }
        let (x, z, heading, speed, dist) = sample(&a.keyframes, t);
        let mut rng = Rng::new(
            a.look_seed
                .unwrap_or(self.seed ^ a.id.wrapping_mul(0xA076_1D64_78BD_642F)),
            0x100,
        );
        let yaw = heading.to_radians();
        let kind = a.kind.as_str();
        let body = match kind {
            "adult" | "child" => {
                let mut look = pedestrian_look(&mut rng, kind == "child");
                if let Some(h) = a.height {
                    look.height = h;
                }
                if let Some(c) = a.colour {
                    look.top = c;
                }
                Body::Pedestrian(look)
            }
            "cyclist" => {
                let mut look = cyclist_look(&mut rng);
                if let Some(h) = a.height {
                    look.rider.height = h;
                }
                if let Some(c) = a.colour {
                    look.rider.top = c;
                }
                Body::Cyclist(look)
            }
            "sedan" | "hatchback" | "suv" | "van" => {
                let mut look = loop {
                    let l = car_look(&mut rng);
                    if ["sedan", "hatchback", "suv", "van"][l.style as usize] == kind {
                        break l;
                    }
                };
                if let Some(c) = a.colour {
                    look.paint = c;
                }
                Body::Car(look)
            }
            "truck" | "bus" => {
                let mut look = loop {
                    let l = truck_look(&mut rng);
                    if l.bus == (kind == "bus") {
                        break l;
                    }
                };
                if let Some(c) = a.colour {
                    look.cab = c;
                }
                Body::Truck(look)
            }
            other => {
                let k = match other {
                    "cone" => ObstacleKind::Cone,
                    "box" => ObstacleKind::Box,
                    "barrel" => ObstacleKind::Barrel,
                    "tyre" => ObstacleKind::Tyre,
                    "rock" => ObstacleKind::Rock,
                    _ => ObstacleKind::Debris,
                };
                let mut look = obstacle_look(&mut rng, k);
                if let Some(sz) = a.size {
                    look.size = sz;
                }
                if let Some(c) = a.colour {
                    look.colour = c;
                }
                Body::Obstacle(look)
            }
        };
        let (gait, phase) = match &body {
            Body::Pedestrian(p) => {
                let g = a.gait.unwrap_or((speed / 1.4).clamp(0.0, 2.0));
                let cycle = 0.8 * p.height * (1.0 + 0.35 * (g - 1.0).max(0.0));
                (g, core::f32::consts::TAU * dist / cycle.max(0.3))
            }
            Body::Cyclist(_) => (1.0, core::f32::consts::TAU * dist / 5.3),
            _ => (0.0, 0.0),
        };
        Some(Actor {
            track_id: a.id,
            x,
            z: z - ego_z,
            yaw,
            phase,
            gait,
            braking: a.braking,
            lights: a.lights.unwrap_or_else(|| moves(&a.keyframes)),
            body,
        })
    }
}

/// Position, heading (degrees), speed and path length travelled at time t.
fn sample(kf: &[Keyframe], t: f32) -> (f32, f32, f32, f32, f32) {
    let first = kf[0];
    if kf.len() == 1 || t < first.t {
        let heading = first
            .heading
            .unwrap_or_else(|| kf.get(1).map(|b| motion_heading(&first, b)).unwrap_or(0.0));
        return (first.x, first.z, heading, 0.0, 0.0);
    }
    let mut dist = 0.0;
    for w in kf.windows(2) {
        let (a, b) = (w[0], w[1]);
        let len = libm::hypotf(b.x - a.x, b.z - a.z);
        if t < b.t {
            let u = (t - a.t) / (b.t - a.t);
            let x = a.x + (b.x - a.x) * u;
            let z = a.z + (b.z - a.z) * u;
            let heading = match (a.heading, b.heading) {
                (Some(ha), Some(hb)) => ha + (hb - ha) * u,
                (Some(h), None) | (None, Some(h)) if len < 1e-4 => h,
                (Some(ha), None) => ha,
                _ => motion_heading(&a, &b),
            };
            return (x, z, heading, len / (b.t - a.t), dist + len * u);
        }
        dist += len;
    }
    let last = kf[kf.len() - 1];
    let prev = kf[kf.len() - 2];
    let heading = last.heading.unwrap_or_else(|| motion_heading(&prev, &last));
    (last.x, last.z, heading, 0.0, dist)
}

fn moves(kf: &[Keyframe]) -> bool {
    kf.windows(2).any(|w| w[0].x != w[1].x || w[0].z != w[1].z)
}

fn motion_heading(a: &Keyframe, b: &Keyframe) -> f32 {
    let dx = b.x - a.x;
    let dz = b.z - a.z;
    if dx * dx + dz * dz < 1e-8 {
        a.heading.unwrap_or(0.0)
    } else {
        libm::atan2f(dx, dz).to_degrees()
    }
}

fn shift_prop(p: &Prop, dz: f32) -> Prop {
    let mut p = p.clone();
    match &mut p {
        Prop::Building { z0, z1, .. } | Prop::Rail { z0, z1, .. } | Prop::Wall { z0, z1, .. } => {
            *z0 += dz;
            *z1 += dz;
        }
        Prop::Tree { z, .. }
        | Prop::Bush { z, .. }
        | Prop::Pole { z, .. }
        | Prop::Sign { z, .. }
        | Prop::Barrier { z, .. } => {
            *z += dz;
        }
    }
    p
}
