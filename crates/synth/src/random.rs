//! Random scenes for training and held-out test sets: every choice (layout,
//! actors, looks, lighting, weather, sensor effects) is drawn from the stream of
//! `(seed, index)`, so any frame can be regenerated alone.

use super::actors::{
    Actor, Body, CarLook, CyclistLook, ObstacleKind, ObstacleLook, PedLook, Rgb, TruckLook,
};
use super::geom::{mix, Camera};
use super::rng::Rng;
use super::scene::{render_scene, Effects, Environment, Line, RenderOutput, Road, Scene};
use super::scenery::Prop;
use super::{Frame, Lighting, Weather};
use core::f32::consts::{FRAC_PI_2, PI, TAU};

const SKIN: [Rgb; 7] = [
    [0.96, 0.8, 0.69],
    [0.92, 0.74, 0.6],
    [0.84, 0.64, 0.5],
    [0.74, 0.54, 0.4],
    [0.6, 0.42, 0.3],
    [0.45, 0.31, 0.22],
    [0.32, 0.22, 0.16],
];
const HAIR: [Rgb; 6] = [
    [0.05, 0.04, 0.04],
    [0.16, 0.1, 0.06],
    [0.3, 0.2, 0.12],
    [0.72, 0.6, 0.38],
    [0.6, 0.6, 0.6],
    [0.5, 0.25, 0.1],
];
const CLOTH: [Rgb; 16] = [
    [0.08, 0.08, 0.09],
    [0.12, 0.14, 0.25],
    [0.3, 0.3, 0.32],
    [0.55, 0.55, 0.56],
    [0.85, 0.85, 0.83],
    [0.6, 0.1, 0.1],
    [0.15, 0.3, 0.6],
    [0.2, 0.4, 0.2],
    [0.75, 0.6, 0.35],
    [0.45, 0.3, 0.2],
    [0.9, 0.75, 0.2],
    [0.5, 0.2, 0.5],
    [0.25, 0.45, 0.75],
    [0.9, 0.45, 0.15],
    [0.7, 0.3, 0.4],
    [0.35, 0.38, 0.22],
];
const PAINT: [Rgb; 12] = [
    [0.9, 0.9, 0.9],
    [0.92, 0.92, 0.9],
    [0.06, 0.06, 0.07],
    [0.1, 0.1, 0.12],
    [0.6, 0.62, 0.65],
    [0.4, 0.42, 0.45],
    [0.12, 0.16, 0.35],
    [0.6, 0.08, 0.08],
    [0.2, 0.35, 0.65],
    [0.15, 0.3, 0.2],
    [0.7, 0.65, 0.55],
    [0.85, 0.7, 0.1],
];

fn pick_jit(rng: &mut Rng, items: &[Rgb], amount: f32) -> Rgb {
    let c = rng.pick(items);
    jitter(rng, c, amount)
}

fn jitter(rng: &mut Rng, c: Rgb, amount: f32) -> Rgb {
    let k = 1.0 + rng.range(-amount, amount);
    [
        (c[0] * k).min(1.0),
        (c[1] * k).min(1.0),
        (c[2] * k).min(1.0),
    ]
}

/// A random pedestrian look; `child` picks a child's height.
pub fn pedestrian_look(rng: &mut Rng, child: bool) -> PedLook {
    let height = if child {
        rng.range(1.0, 1.42)
    } else {
        rng.range(1.52, 1.95)
    };
    let skin = rng.pick(&SKIN);
    let top = pick_jit(rng, &CLOTH, 0.1);
    let bottom = if rng.chance(0.6) {
        pick_jit(rng, &CLOTH[..4], 0.1)
    } else {
        pick_jit(rng, &CLOTH, 0.1)
    };
    PedLook {
        height,
        build: rng.range(0.85, 1.2),
        skin,
        hair: rng.pick(&HAIR),
        top,
        bottom,
        shoes: pick_jit(rng, &CLOTH[..5], 0.1),
        shorts: rng.chance(0.15),
        coat: rng.chance(0.2),
        bag: if rng.chance(0.3) {
            Some(rng.pick(&CLOTH))
        } else {
            None
        },
        hat: if rng.chance(0.15) {
            Some(rng.pick(&CLOTH))
        } else {
            None
        },
    }
}

pub fn cyclist_look(rng: &mut Rng) -> CyclistLook {
    let mut rider = {
        let c = rng.chance(0.1);
        pedestrian_look(rng, c)
    };
    rider.coat = false;
    CyclistLook {
        rider,
        frame: rng.pick(&PAINT),
        helmet: if rng.chance(0.6) {
            Some(rng.pick(&CLOTH))
        } else {
            None
        },
    }
}

pub fn car_look(rng: &mut Rng) -> CarLook {
    let style = rng.weighted(&[0.4, 0.25, 0.25, 0.1]) as u8;
    let (l, w, h) = match style {
        0 => (
            rng.range(4.4, 4.9),
            rng.range(1.75, 1.85),
            rng.range(1.4, 1.5),
        ),
        1 => (
            rng.range(3.8, 4.3),
            rng.range(1.68, 1.8),
            rng.range(1.45, 1.55),
        ),
        2 => (
            rng.range(4.4, 4.9),
            rng.range(1.85, 1.95),
            rng.range(1.65, 1.8),
        ),
        _ => (
            rng.range(4.8, 5.3),
            rng.range(1.9, 2.0),
            rng.range(1.9, 2.2),
        ),
    };
    CarLook {
        length: l,
        width: w,
        height: h,
        paint: pick_jit(rng, &PAINT, 0.08),
        style,
    }
}

pub fn truck_look(rng: &mut Rng) -> TruckLook {
    let bus = rng.chance(0.25);
    TruckLook {
        length: if bus {
            rng.range(10.0, 12.0)
        } else {
            rng.range(6.5, 9.5)
        },
        height: if bus {
            rng.range(2.9, 3.2)
        } else {
            rng.range(3.2, 3.9)
        },
        cab: pick_jit(rng, &PAINT, 0.08),
        cargo: pick_jit(
            rng,
            &[
                [0.9, 0.9, 0.88],
                [0.75, 0.76, 0.78],
                [0.2, 0.3, 0.55],
                [0.6, 0.15, 0.1],
            ],
            0.05,
        ),
        bus,
    }
}

pub fn obstacle_look(rng: &mut Rng, kind: ObstacleKind) -> ObstacleLook {
    let (size, colour) = match kind {
        ObstacleKind::Cone => (rng.range(0.5, 0.75), [0.95, 0.4, 0.08]),
        ObstacleKind::Box => (
            rng.range(0.4, 0.9),
            rng.pick(&[
                [0.65, 0.5, 0.32],
                [0.55, 0.42, 0.28],
                [0.3, 0.32, 0.35],
                [0.7, 0.7, 0.68],
            ]),
        ),
        ObstacleKind::Barrel => (rng.range(0.5, 0.6), [0.9, 0.35, 0.08]),
        ObstacleKind::Tyre => (rng.range(0.6, 0.9), [0.06, 0.06, 0.06]),
        ObstacleKind::Rock => (
            rng.range(0.4, 1.0),
            rng.pick(&[[0.45, 0.43, 0.4], [0.5, 0.45, 0.38], [0.35, 0.34, 0.33]]),
        ),
        ObstacleKind::Debris => (
            rng.range(0.6, 1.4),
            rng.pick(&[[0.45, 0.35, 0.25], [0.3, 0.3, 0.3], [0.55, 0.5, 0.4]]),
        ),
    };
    ObstacleLook {
        kind,
        size,
        colour: jitter(rng, colour, 0.1),
        shape_seed: rng.next_u64() as u32,
    }
}

/// Road layout for an environment; the camera sits in the middle of its lane.
pub fn road_for(rng: &mut Rng, env: Environment) -> Road {
    let lw = rng.range(3.0, 3.7);
    let (lanes, oneway) = match env {
        Environment::Highway => (3 + rng.below(2), true),
        Environment::Urban => (if rng.chance(0.6) { 2 } else { 4 }, false),
        _ => (2, false),
    };
    let ego = if oneway {
        rng.below(lanes)
    } else {
        lanes / 2 + rng.below(lanes / 2)
    };
    let left = -(ego as f32 + 0.5) * lw;
    let right = (lanes as f32 - ego as f32 - 0.5) * lw;
    let yellow = rng.chance(0.2);
    let mut lines = Vec::new();
    for k in 1..lanes {
        let x = left + k as f32 * lw;
        let centre = !oneway && k == lanes / 2;
        let style = if centre {
            if yellow {
                Line::Yellow
            } else if lanes > 2 {
                Line::Solid
            } else {
                Line::Dashed
            }
        } else {
            Line::Dashed
        };
        lines.push((x, style));
    }
    let (sidewalk, verge) = match env {
        Environment::Urban => (rng.range(2.5, 4.5), [0.5, 0.49, 0.47]),
        Environment::Suburban => (rng.range(1.5, 2.5), [0.26, 0.42, 0.16]),
        Environment::Rural => (
            0.0,
            if rng.chance(0.7) {
                [0.28, 0.4, 0.15]
            } else {
                [0.5, 0.42, 0.3]
            },
        ),
        Environment::Highway => (0.0, [0.3, 0.42, 0.18]),
    };
    let a = rng.range(0.25, 0.4);
    Road {
        left,
        right,
        lines,
        sidewalk,
        asphalt: [a, a, a * 1.03],
        verge: jitter(rng, verge, 0.1),
        crosswalk: None,
    }
}

/// Roadside scenery for `z_from..z_to`, deterministic in `rng`.
pub fn scenery_for(
    rng: &mut Rng,
    env: Environment,
    road: &Road,
    z_from: f32,
    z_to: f32,
) -> (Vec<Prop>, Vec<(f32, f32)>) {
    let mut props = Vec::new();
    let mut lamps = Vec::new();
    for side in [-1.0f32, 1.0] {
        let edge = if side < 0.0 { road.left } else { road.right };
        let outer = edge + side * road.sidewalk;
        match env {
            Environment::Urban => {
                let mut z = z_from + rng.range(-5.0, 5.0);
                while z < z_to {
                    let len = rng.range(8.0, 24.0);
                    let wall = rng.pick(&[
                        [0.7, 0.65, 0.58],
                        [0.6, 0.45, 0.38],
                        [0.78, 0.76, 0.72],
                        [0.5, 0.5, 0.52],
                        [0.65, 0.55, 0.45],
                        [0.42, 0.38, 0.36],
                    ]);
                    props.push(Prop::Building {
                        x: outer + side * rng.range(0.2, 2.0),
                        z0: z,
                        z1: z + len,
                        depth: rng.range(8.0, 15.0),
                        height: rng.range(6.0, 24.0),
                        wall: jitter(rng, wall, 0.1),
                        window: rng.pick(&[
                            [0.25, 0.3, 0.38],
                            [0.35, 0.4, 0.45],
                            [0.18, 0.2, 0.24],
                        ]),
                        floors: 2 + rng.below(6),
                        lit_seed: rng.next_u64() as u32,
                    });
                    z += len
                        + if rng.chance(0.3) {
                            rng.range(3.0, 10.0)
                        } else {
                            0.3
                        };
                }
                let mut z = z_from + rng.range(0.0, 20.0);
                while z < z_to.min(120.0) {
                    props.push(Prop::Pole {
                        x: edge + side * 0.6,
                        z,
                        height: rng.range(6.0, 8.0),
                        lamp: true,
                        colour: [0.4, 0.41, 0.43],
                    });
                    lamps.push((edge - side * 1.0, z));
                    if rng.chance(0.4) {
                        props.push(Prop::Tree {
                            x: edge + side * rng.range(1.0, road.sidewalk.max(1.2)),
                            z: z + rng.range(4.0, 10.0),
                            height: rng.range(4.0, 7.0),
                            crown: rng.range(1.2, 2.2),
                            leaf: jitter(rng, [0.2, 0.38, 0.15], 0.2),
                            trunk: [0.3, 0.22, 0.15],
                            seed: rng.next_u64() as u32,
                        });
                    }
                    if rng.chance(0.25) {
                        props.push(Prop::Sign {
                            x: edge + side * 0.4,
                            z: z + rng.range(5.0, 12.0),
                            height: rng.range(2.0, 2.6),
                            shape: rng.below(3) as u8,
                            colour: rng.pick(&[[0.8, 0.1, 0.1], [0.1, 0.3, 0.7], [0.9, 0.8, 0.1]]),
                        });
                    }
                    z += rng.range(18.0, 30.0);
                }
            }
            Environment::Suburban => {
                let mut z = z_from + rng.range(0.0, 10.0);
                while z < z_to {
                    let len = rng.range(8.0, 14.0);
                    props.push(Prop::Building {
                        x: outer + side * rng.range(5.0, 12.0),
                        z0: z,
                        z1: z + len,
                        depth: rng.range(7.0, 10.0),
                        height: rng.range(4.5, 8.0),
                        wall: pick_jit(
                            rng,
                            &[
                                [0.85, 0.82, 0.75],
                                [0.75, 0.6, 0.5],
                                [0.6, 0.65, 0.7],
                                [0.9, 0.88, 0.85],
                            ],
                            0.08,
                        ),
                        window: [0.25, 0.3, 0.35],
                        floors: 1 + rng.below(2),
                        lit_seed: rng.next_u64() as u32,
                    });
                    if rng.chance(0.6) {
                        props.push(Prop::Wall {
                            x: outer + side * 0.4,
                            z0: z,
                            z1: z + len * 0.8,
                            height: rng.range(0.6, 1.4),
                            colour: jitter(rng, [0.55, 0.5, 0.45], 0.2),
                        });
                    }
                    for _ in 0..rng.below(3) {
                        props.push(Prop::Tree {
                            x: outer + side * rng.range(1.0, 6.0),
                            z: z + rng.range(0.0, len),
                            height: rng.range(4.0, 9.0),
                            crown: rng.range(1.5, 3.0),
                            leaf: jitter(rng, [0.22, 0.4, 0.16], 0.25),
                            trunk: [0.32, 0.24, 0.16],
                            seed: rng.next_u64() as u32,
                        });
                    }
                    if rng.chance(0.5) {
                        props.push(Prop::Bush {
                            x: outer + side * rng.range(0.5, 3.0),
                            z: z + rng.range(0.0, len),
                            size: rng.range(0.8, 1.6),
                            leaf: jitter(rng, [0.2, 0.35, 0.14], 0.2),
                        });
                    }
                    z += len + rng.range(4.0, 12.0);
                }
                let mut z = z_from + rng.range(5.0, 30.0);
                while z < z_to.min(120.0) {
                    props.push(Prop::Pole {
                        x: edge + side * 0.5,
                        z,
                        height: rng.range(6.0, 7.5),
                        lamp: rng.chance(0.6),
                        colour: [0.42, 0.42, 0.4],
                    });
                    lamps.push((edge - side * 1.0, z));
                    z += rng.range(25.0, 40.0);
                }
            }
            Environment::Rural | Environment::Highway => {
                if env == Environment::Highway {
                    props.push(Prop::Rail {
                        x: edge + side * 0.8,
                        z0: z_from.max(0.6),
                        z1: z_to,
                    });
                }
                let mut z = z_from + rng.range(0.0, 10.0);
                while z < z_to {
                    let x = edge + side * rng.range(3.0, 18.0);
                    if rng.chance(0.7) {
                        props.push(Prop::Tree {
                            x,
                            z,
                            height: rng.range(5.0, 12.0),
                            crown: rng.range(1.8, 3.5),
                            leaf: jitter(rng, [0.2, 0.36, 0.14], 0.25),
                            trunk: [0.3, 0.22, 0.15],
                            seed: rng.next_u64() as u32,
                        });
                    } else {
                        props.push(Prop::Bush {
                            x,
                            z,
                            size: rng.range(0.8, 2.0),
                            leaf: jitter(rng, [0.22, 0.36, 0.15], 0.2),
                        });
                    }
                    z += rng.range(4.0, 15.0);
                }
                let mut z = z_from + rng.range(10.0, 40.0);
                while z < z_to.min(150.0) {
                    if env == Environment::Highway {
                        props.push(Prop::Pole {
                            x: edge + side * 1.5,
                            z,
                            height: 9.0,
                            lamp: true,
                            colour: [0.5, 0.5, 0.52],
                        });
                        lamps.push((edge - side * 1.5, z));
                    } else {
                        props.push(Prop::Pole {
                            x: edge + side * rng.range(1.5, 3.0),
                            z,
                            height: rng.range(6.0, 8.0),
                            lamp: false,
                            colour: [0.35, 0.27, 0.2],
                        });
                    }
                    if rng.chance(0.3) {
                        props.push(Prop::Sign {
                            x: edge + side * 1.0,
                            z: z + 6.0,
                            height: 2.2,
                            shape: rng.below(3) as u8,
                            colour: rng.pick(&[[0.8, 0.1, 0.1], [0.1, 0.3, 0.7], [0.9, 0.8, 0.1]]),
                        });
                    }
                    z += rng.range(30.0, 50.0);
                }
            }
        }
    }
    (props, lamps)
}

/// Random sensor and weather effects for the given conditions.
pub fn effects_for(rng: &mut Rng, lighting: Lighting, weather: Weather) -> Effects {
    let noise = match lighting {
        Lighting::Day => rng.range(0.004, 0.025),
        Lighting::Dusk => rng.range(0.01, 0.04),
        Lighting::Night => rng.range(0.02, 0.06),
    };
    Effects {
        noise,
        motion_blur: if rng.chance(0.25) {
            2 + rng.below(7)
        } else {
            0
        },
        soften: rng.range(0.0, 0.9),
        fog_visibility: if weather == Weather::Fog {
            rng.range(25.0, 120.0)
        } else {
            0.0
        },
        rain: if weather == Weather::Rain {
            rng.range(0.3, 1.0)
        } else {
            0.0
        },
        exposure: match lighting {
            Lighting::Night => rng.range(0.9, 1.4),
            _ => rng.range(0.85, 1.15),
        },
        tint: [
            rng.range(0.95, 1.05),
            rng.range(0.97, 1.03),
            rng.range(0.95, 1.05),
        ],
        vignette: rng.range(0.0, 0.35),
        wind: rng.range(-0.3, 0.3),
    }
}

/// A camera with a plausible dashcam field of view for `width` x `height`.
pub fn camera_for(rng: &mut Rng, width: u32, height: u32) -> Camera {
    let w = width as f32;
    let h = height as f32;
    Camera {
        f: w * rng.range(0.75, 1.05),
        cx: w * (0.5 + rng.range(-0.02, 0.02)),
        horizon: h * rng.range(0.36, 0.5),
        height: rng.range(1.2, 1.7),
        curve: if rng.chance(0.5) {
            rng.range(-0.0015, 0.0015)
        } else {
            0.0
        },
    }
}

struct Placer {
    spots: Vec<(f32, f32, f32)>,
}

impl Placer {
    fn free(&self, x: f32, z: f32, r: f32) -> bool {
        self.spots.iter().all(|&(sx, sz, sr)| {
            let dx = sx - x;
            let dz = sz - z;
            dx * dx + dz * dz > (sr + r) * (sr + r)
        })
    }
}

/// Build a random scene for frame `index` of `seed`.
pub fn random_scene(seed: u64, index: u64, width: u32, height: u32) -> Scene {
    let mut rng = Rng::new(seed, index);
    let lighting = [Lighting::Day, Lighting::Dusk, Lighting::Night][rng.weighted(&[0.5, 0.2, 0.3])];
    let weather = [Weather::Clear, Weather::Rain, Weather::Fog][rng.weighted(&[0.6, 0.2, 0.2])];
    let env = [
        Environment::Urban,
        Environment::Suburban,
        Environment::Rural,
        Environment::Highway,
    ][rng.weighted(&[0.38, 0.3, 0.18, 0.14])];
    let cam = camera_for(&mut rng, width, height);
    let mut road = road_for(&mut rng, env);
    let ego_z = rng.range(0.0, 1000.0);
    if env == Environment::Urban && rng.chance(0.35) {
        road.crosswalk = Some(ego_z + rng.range(8.0, 40.0));
    }
    let mut srng = rng.fork(1);
    let (props, lamps) = scenery_for(&mut srng, env, &road, -10.0, 160.0);
    let mut arng = rng.fork(2);
    let actors = random_actors(&mut arng, env, &road, &cam, width);
    let fx = effects_for(&mut rng, lighting, weather);
    Scene {
        width,
        height,
        cam,
        lighting,
        weather,
        env,
        road,
        ego_z,
        props,
        actors,
        fx,
        sun: rng.range(0.85, 1.15),
        lamps,
        skyline: match env {
            Environment::Urban => 1,
            Environment::Suburban => 2,
            _ => {
                if rng.chance(0.5) {
                    2
                } else {
                    3
                }
            }
        },
        seed: rng.next_u64(),
        noise_seed: rng.next_u64(),
    }
}

fn random_actors(
    rng: &mut Rng,
    env: Environment,
    road: &Road,
    cam: &Camera,
    width: u32,
) -> Vec<Actor> {
    let mut placer = Placer { spots: Vec::new() };
    let mut actors = Vec::new();
    let n = 1 + rng.below(11);
    let ped_w = if env == Environment::Highway {
        0.15
    } else {
        0.45
    };
    let mut next_id = 1u64;
    // Half-width of the view at depth z, in metres, for placing actors near the edges.
    let view = |z: f32| z * (width as f32 * 0.5) / cam.f;
    for _ in 0..n {
        let class = rng.weighted(&[ped_w, 0.1, 0.28, 0.07, 0.12]);
        for _attempt in 0..8 {
            let z = 3.5 + 70.0 * libm::powf(rng.f32(), 1.6);
            let mut group = Vec::new();
            let actor = match class {
                0 => {
                    let region = rng.weighted(&[0.45, 0.3, 0.15, 0.1]);
                    let (x, yaw) = match region {
                        0 => {
                            let side = if rng.chance(0.5) { -1.0 } else { 1.0 };
                            let edge = if side < 0.0 { road.left } else { road.right };
                            let wdt = road.sidewalk.max(1.5);
                            (
                                edge + side * rng.range(0.4, wdt),
                                if rng.chance(0.5) { 0.0 } else { PI } + rng.range(-0.3, 0.3),
                            )
                        }
                        1 => (
                            rng.range(road.left, road.right),
                            if rng.chance(0.5) {
                                FRAC_PI_2
                            } else {
                                -FRAC_PI_2
                            } + rng.range(-0.3, 0.3),
                        ),
                        2 => {
                            // Near an image edge, often truncated.
                            let side = if rng.chance(0.5) { -1.0 } else { 1.0 };
                            (side * view(z) * rng.range(0.85, 1.1), rng.range(-PI, PI))
                        }
                        _ => (
                            rng.range(road.left - 4.0, road.right + 4.0),
                            rng.range(-PI, PI),
                        ),
                    };
                    let child = rng.chance(0.2);
                    let gait = match rng.weighted(&[0.25, 0.6, 0.15]) {
                        0 => 0.0,
                        1 => rng.range(0.6, 1.2),
                        _ => rng.range(1.5, 2.0),
                    };
                    if rng.chance(0.25) {
                        for _ in 0..1 + rng.below(3) {
                            group.push((x + rng.range(-1.2, 1.2), z + rng.range(-1.5, 2.5)));
                        }
                    }
                    Actor {
                        track_id: 0,
                        x,
                        z,
                        yaw,
                        phase: rng.range(0.0, TAU),
                        gait,
                        braking: false,
                        lights: true,
                        body: Body::Pedestrian(pedestrian_look(rng, child)),
                    }
                }
                1 => {
                    let crossing = rng.chance(0.2);
                    let x = if crossing {
                        rng.range(road.left, road.right)
                    } else {
                        road.right - rng.range(0.6, 1.5) * if rng.chance(0.7) { 1.0 } else { -2.0 }
                    };
                    let yaw = if crossing {
                        if rng.chance(0.5) {
                            FRAC_PI_2
                        } else {
                            -FRAC_PI_2
                        }
                    } else if rng.chance(0.8) {
                        0.0
                    } else {
                        PI
                    };
                    Actor {
                        track_id: 0,
                        x,
                        z: z + 2.0,
                        yaw: yaw + rng.range(-0.1, 0.1),
                        phase: rng.range(0.0, TAU),
                        gait: 1.0,
                        braking: false,
                        lights: true,
                        body: Body::Cyclist(cyclist_look(rng)),
                    }
                }
                2 | 3 => {
                    let lanes = ((road.right - road.left) / 3.3).round().max(1.0) as i32;
                    let lw = (road.right - road.left) / lanes as f32;
                    let parked = class == 2 && env != Environment::Highway && rng.chance(0.3);
                    let x = if parked {
                        if rng.chance(0.6) {
                            road.right - 1.0
                        } else {
                            road.left + 1.0
                        }
                    } else {
                        road.left
                            + lw * (rng.below(lanes as u32) as f32 + 0.5)
                            + rng.range(-0.3, 0.3)
                    };
                    let oncoming = env != Environment::Highway && x < 0.0 && !parked;
                    let yaw = if oncoming || (parked && rng.chance(0.3)) {
                        PI
                    } else {
                        0.0
                    } + if rng.chance(0.15) {
                        rng.range(-0.25, 0.25)
                    } else {
                        rng.range(-0.03, 0.03)
                    };
                    let body = if class == 2 {
                        Body::Car(car_look(rng))
                    } else {
                        Body::Truck(truck_look(rng))
                    };
                    let extra = if class == 3 { 6.0 } else { 3.0 };
                    Actor {
                        track_id: 0,
                        x,
                        z: z + extra,
                        yaw,
                        phase: 0.0,
                        gait: 0.0,
                        braking: !oncoming && !parked && rng.chance(0.2),
                        lights: !parked,
                        body,
                    }
                }
                _ => {
                    let kind = [
                        ObstacleKind::Cone,
                        ObstacleKind::Box,
                        ObstacleKind::Barrel,
                        ObstacleKind::Tyre,
                        ObstacleKind::Rock,
                        ObstacleKind::Debris,
                    ][rng.weighted(&[0.35, 0.2, 0.1, 0.12, 0.1, 0.13])];
                    let x = rng.range(road.left + 0.3, road.right - 0.3);
                    if kind == ObstacleKind::Cone && rng.chance(0.4) {
                        for k in 1..3 + rng.below(3) {
                            group.push((
                                x + rng.range(-0.2, 0.2)
                                    + 0.6 * k as f32 * if x > 0.0 { -1.0 } else { 1.0 },
                                z + 2.5 * k as f32,
                            ));
                        }
                    }
                    Actor {
                        track_id: 0,
                        x,
                        z: z.min(50.0),
                        yaw: rng.range(-PI, PI),
                        phase: 0.0,
                        gait: 0.0,
                        braking: false,
                        lights: true,
                        body: Body::Obstacle(obstacle_look(rng, kind)),
                    }
                }
            };
            let r = actor.radius();
            if !placer.free(actor.x, actor.z, r) {
                continue;
            }
            placer.spots.push((actor.x, actor.z, r));
            let template = actor.clone();
            let mut a = actor;
            a.track_id = next_id;
            next_id += 1;
            actors.push(a);
            for (gx, gz) in group {
                if !placer.free(gx, gz, r * 0.8) || gz < 2.5 {
                    continue;
                }
                placer.spots.push((gx, gz, r * 0.8));
                let mut g = template.clone();
                g.x = gx;
                g.z = gz;
                g.track_id = next_id;
                next_id += 1;
                g.phase = rng.range(0.0, TAU);
                g.body = match &template.body {
                    Body::Pedestrian(_) => Body::Pedestrian({
                        let c = rng.chance(0.3);
                        pedestrian_look(rng, c)
                    }),
                    Body::Obstacle(o) => Body::Obstacle(ObstacleLook {
                        shape_seed: rng.next_u64() as u32,
                        ..o.clone()
                    }),
                    b => b.clone(),
                };
                actors.push(g);
            }
            break;
        }
    }
    let _ = mix;
    actors
}

/// Render random frame `index` of `seed`.
pub fn render_random(seed: u64, index: u64, width: u32, height: u32) -> Frame {
    render_random_with_mask(seed, index, width, height).frame
}

/// Render random frame `index` of `seed` and keep the instance mask.
pub fn render_random_with_mask(seed: u64, index: u64, width: u32, height: u32) -> RenderOutput {
    render_scene(&random_scene(seed, index, width, height))
}
