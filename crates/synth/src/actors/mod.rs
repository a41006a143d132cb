//! Labelled actors: articulated pedestrians, cyclists, cars, trucks and static
//! obstacles, drawn through the camera in world coordinates so that their size
//! follows their distance. Each actor draws its parts far to near itself.

use super::geom::{fill3, mix, scale, Camera, Face, Frame3, Hexa, Side, V3};
use super::raster::{capsule, ellipse, round_n, Glow, Paint, Surface, P};
use super::rng::Rng;
use serde::{Deserialize, Serialize};

mod obstacles;
mod people;
mod vehicles;

use obstacles::draw_obstacle;
use people::{draw_cyclist, draw_pedestrian};
use vehicles::{draw_car, draw_truck};

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

fn face_paint(side: Side, base: Rgb) -> Paint {
    match side {
        Side::Top => Paint::solid(scale(base, 1.12)),
        Side::Left | Side::Right => Paint::grad(scale(base, 0.86), scale(base, 0.66)),
        Side::Rear | Side::Front => Paint::grad(scale(base, 0.98), scale(base, 0.8)),
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
