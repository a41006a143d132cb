//! Scenario families: a scenario file's `sweep:` expands it into instances, one per
//! combination of parameter values, each with a stable id made of the safe name
//! characters (`cpna-25_ego30_night`) and a record of its parameters.
//!
//! The expansion is deterministic: parameters vary in the fixed order of
//! [`ncap::PARAMETERS`] (or [`GENERATE_PARAMETERS`]), whatever order the file writes them
//! in, the last one fastest; values in the order written.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::{FramesSpec, Scenario};
use adasval_synth::ncap;
use adasval_synth::{Lighting, Weather};

/// Parameters a `sweep:` may vary on `frames: { generate: ... }` scenarios.
pub const GENERATE_PARAMETERS: &[&str] = &["ego_speed", "lighting", "weather"];

/// Instances one file may expand to without `--allow-large`.
pub const DEFAULT_MAX_INSTANCES: usize = 256;

/// One value of a swept parameter, as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SweepValue {
    Number(f64),
    Text(String),
}

/// A parameter's values: a list, or an arithmetic range (ends included).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SweepValues {
    List(Vec<SweepValue>),
    Range(RangeSpec),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RangeSpec {
    pub from: f64,
    pub to: f64,
    pub step: f64,
}

/// How far a sweep may expand.
#[derive(Debug, Clone, Copy)]
pub struct ExpandLimits {
    pub max_instances: usize,
    pub allow_large: bool,
}

impl Default for ExpandLimits {
    fn default() -> Self {
        Self {
            max_instances: DEFAULT_MAX_INSTANCES,
            allow_large: false,
        }
    }
}

/// Why a sweep cannot expand (the caller adds the file and scenario).
#[derive(Debug, Clone, PartialEq)]
pub enum SweepProblem {
    UnknownParameter {
        name: String,
        valid: Vec<&'static str>,
    },
    NotSweepable(&'static str),
    BadValue {
        name: String,
        message: String,
    },
    TooLarge {
        instances: usize,
        limit: usize,
    },
}

impl std::fmt::Display for SweepProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::UnknownParameter { name, valid } => {
                let known: Vec<String> = valid.iter().map(|v| v.to_string()).collect();
                write!(
                    f,
                    "unknown parameter `{name}`.{}",
                    adasval_core::suggest::hint(name, &known)
                )
            }
            Self::NotSweepable(why) => write!(f, "{why}"),
            Self::BadValue { name, message } => write!(f, "`{name}`: {message}"),
            Self::TooLarge { instances, limit } => write!(
                f,
                "expands to {instances} instances, more than the limit of {limit}; \
                 pass --allow-large to run them, or narrow the sweep"
            ),
        }
    }
}

impl SweepValues {
    fn values(&self, name: &str) -> Result<Vec<SweepValue>, SweepProblem> {
        match self {
            Self::List(v) if v.is_empty() => Err(SweepProblem::BadValue {
                name: name.into(),
                message: "an empty list of values".into(),
            }),
            Self::List(v) => Ok(v.clone()),
            Self::Range(r) => {
                let ok = r.from.is_finite()
                    && r.to.is_finite()
                    && r.step.is_finite()
                    && r.step > 0.0
                    && r.to >= r.from;
                let n = ((r.to - r.from) / r.step + 1e-9).floor();
                if !ok || n > 100_000.0 {
                    return Err(SweepProblem::BadValue {
                        name: name.into(),
                        message: format!(
                            "range from {} to {} step {} is not a finite increasing range of at most 100000 steps",
                            r.from, r.to, r.step
                        ),
                    });
                }
                Ok((0..=n as usize)
                    .map(|i| SweepValue::Number(r.from + r.step * i as f64))
                    .collect())
            }
        }
    }
}

/// The id fragment of one value: numbers without a trailing `.0`, a decimal point as
/// `p` (`2p5`), text lower-cased; only name-safe characters survive.
fn fragment(v: &SweepValue) -> String {
    let raw = match v {
        SweepValue::Number(x) if x.fract() == 0.0 && x.abs() < 1e15 => format!("{}", *x as i64),
        SweepValue::Number(x) => format!("{x}").replace('.', "p"),
        SweepValue::Text(s) => s.to_ascii_lowercase(),
    };
    raw.chars()
        .map(|c| match c {
            'a'..='z' | '0'..='9' | '-' => c,
            _ => '-',
        })
        .collect()
}

fn prefix(name: &str) -> &'static str {
    match name {
        "ego_speed_kmh" | "ego_speed" => "ego",
        "target_speed_kmh" => "tgt",
        "impact_point" => "imp",
        "occluder_distance_m" => "occ",
        _ => "",
    }
}

fn number(name: &str, v: &SweepValue) -> Result<f32, SweepProblem> {
    match v {
        SweepValue::Number(x) if x.is_finite() => Ok(*x as f32),
        other => Err(SweepProblem::BadValue {
            name: name.into(),
            message: format!("expected a number, got {other:?}"),
        }),
    }
}

fn text<'a>(name: &str, v: &'a SweepValue) -> Result<&'a str, SweepProblem> {
    match v {
        SweepValue::Text(s) => Ok(s),
        other => Err(SweepProblem::BadValue {
            name: name.into(),
            message: format!("expected a name, got {other:?}"),
        }),
    }
}

fn lighting(name: &str, v: &SweepValue) -> Result<Lighting, SweepProblem> {
    match text(name, v)? {
        "day" => Ok(Lighting::Day),
        "dusk" => Ok(Lighting::Dusk),
        "night" => Ok(Lighting::Night),
        other => Err(SweepProblem::BadValue {
            name: name.into(),
            message: format!("`{other}` is not day, dusk or night"),
        }),
    }
}

fn weather(name: &str, v: &SweepValue) -> Result<Weather, SweepProblem> {
    match text(name, v)? {
        "clear" => Ok(Weather::Clear),
        "fog" => Ok(Weather::Fog),
        "rain" => Ok(Weather::Rain),
        other => Err(SweepProblem::BadValue {
            name: name.into(),
            message: format!("`{other}` is not clear, fog or rain"),
        }),
    }
}

fn apply(frames: &mut FramesSpec, name: &str, v: &SweepValue) -> Result<(), SweepProblem> {
    match frames {
        FramesSpec::Ncap(n) => match name {
            "ego_speed_kmh" => n.ego_speed_kmh = number(name, v)?,
            "target_speed_kmh" => n.target_speed_kmh = Some(number(name, v)?),
            "impact_point" => n.impact_point = Some(number(name, v)?),
            "occluder_distance_m" => n.occluder_distance_m = number(name, v)?,
            "lighting" => n.lighting = lighting(name, v)?,
            "weather" => n.weather = weather(name, v)?,
            "target" => n.target = Some(text(name, v)?.to_string()),
            _ => unreachable!("parameter names are checked before values are applied"),
        },
        FramesSpec::Generate(g) => match name {
            "ego_speed" => g.ego_speed = number(name, v)?,
            "lighting" => g.lighting = lighting(name, v)?,
            "weather" => g.weather = weather(name, v)?,
            _ => unreachable!("parameter names are checked before values are applied"),
        },
        FramesSpec::Files(_) => {}
    }
    Ok(())
}

/// Expand a scenario with a `sweep:` into its instances (a scenario without one is
/// returned as it is). Instances carry `family` (the file's id) and `parameters`.
pub fn expand(s: &Scenario, limits: ExpandLimits) -> Result<Vec<Scenario>, SweepProblem> {
    let Some(sweep) = &s.sweep else {
        return Ok(vec![s.clone()]);
    };
    let valid: &[&'static str] = match &s.frames {
        FramesSpec::Ncap(_) => ncap::PARAMETERS,
        FramesSpec::Generate(_) => GENERATE_PARAMETERS,
        FramesSpec::Files(_) => {
            return Err(SweepProblem::NotSweepable(
                "a sweep needs generated frames (`generate:` or `ncap:`); recorded files have no parameters to vary",
            ))
        }
    };
    if let Some(name) = sweep.keys().find(|k| !valid.contains(&k.as_str())) {
        return Err(SweepProblem::UnknownParameter {
            name: name.clone(),
            valid: valid.to_vec(),
        });
    }
    let mut axes: Vec<(&str, Vec<SweepValue>)> = Vec::new();
    for name in valid {
        if let Some(values) = sweep.get(*name) {
            axes.push((name, values.values(name)?));
        }
    }
    let total = axes
        .iter()
        .try_fold(1usize, |acc, (_, v)| acc.checked_mul(v.len()))
        .unwrap_or(usize::MAX);
    if total > limits.max_instances && !limits.allow_large {
        return Err(SweepProblem::TooLarge {
            instances: total,
            limit: limits.max_instances,
        });
    }
    let mut out = Vec::with_capacity(total);
    let mut index = vec![0usize; axes.len()];
    for _ in 0..total {
        let mut inst = s.clone();
        inst.sweep = None;
        inst.family = Some(s.id.clone());
        let mut id = s.id.clone();
        for (axis, &i) in axes.iter().zip(&index) {
            let (name, values) = axis;
            let v = &values[i];
            apply(&mut inst.frames, name, v)?;
            let frag = fragment(v);
            id.push('_');
            id.push_str(prefix(name));
            id.push_str(&frag);
            inst.parameters.insert(name.to_string(), value_text(v));
            if matches!(v, SweepValue::Text(_)) && !inst.tags.contains(&frag) {
                inst.tags.push(frag);
            }
        }
        if !inst.tags.contains(&s.id) {
            inst.tags.push(s.id.clone());
        }
        inst.id = id;
        out.push(inst);
        // Odometer: the last axis turns fastest.
        for k in (0..index.len()).rev() {
            index[k] += 1;
            if index[k] < axes[k].1.len() {
                break;
            }
            index[k] = 0;
        }
    }
    Ok(out)
}

fn value_text(v: &SweepValue) -> String {
    match v {
        SweepValue::Number(x) => format!("{x}"),
        SweepValue::Text(s) => s.clone(),
    }
}

/// Parameters as a sorted map (for records and reports).
pub type Parameters = BTreeMap<String, String>;
