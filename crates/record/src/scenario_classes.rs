//! How a detector's classes map onto the scenario vocabulary (`core::types::SCENARIO_CLASSES`:
//! pedestrian, cyclist, car, truck, obstacle), declared once in its adapter so every bundled
//! scenario runs with it unedited.
//!
//! `scenario_classes: {pedestrian: person, car: car, truck: [truck, bus]}` says which model
//! classes count as each scenario class. With such a map the run is judged in the scenario
//! vocabulary: a decoded detection takes the scenario class its model class maps onto (one
//! of no mapped class is dropped, it answers no requirement), golden labels are mapped onto
//! the scenario classes, and a scenario class the map leaves out is one this engine
//! **cannot detect**: its golden objects become ignore regions (a detection on one is
//! neither a true nor a false positive) and every requirement on that class is "not
//! applicable" to the engine, a verdict of its own that the requirements file's
//! `not_applicable` policy turns into a pass or a fail at the gate.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use adasval_core::types::SCENARIO_CLASSES;

/// The model class (or classes) one scenario class stands for.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum ModelClasses {
    One(String),
    Many(Vec<String>),
}

impl ModelClasses {
    pub fn names(&self) -> &[String] {
        match self {
            Self::One(s) => std::slice::from_ref(s),
            Self::Many(v) => v,
        }
    }
}

/// `scenario_classes` as written in an adapter: scenario class → model class(es).
pub type ScenarioClassMap = BTreeMap<String, ModelClasses>;

/// Check a map against the scenario vocabulary and the adapter's `classes`; on a problem,
/// the message (the field is `scenario_classes`).
pub fn check(map: &ScenarioClassMap, model: &[String]) -> Result<(), String> {
    if map.is_empty() {
        return Err(format!(
            "maps no class; map at least one of the scenario classes ({}) or leave the field out",
            SCENARIO_CLASSES.join(", ")
        ));
    }
    let mut taken: BTreeMap<&str, &str> = BTreeMap::new();
    for (scenario, to) in map {
        if !SCENARIO_CLASSES.contains(&scenario.as_str()) {
            let valid: Vec<String> = SCENARIO_CLASSES.iter().map(|s| s.to_string()).collect();
            return Err(format!(
                "`{scenario}` is not a scenario class; the valid ones are {}.{}",
                SCENARIO_CLASSES.join(", "),
                adasval_core::suggest::closest(scenario, &valid)
                    .first()
                    .map(|n| format!(" Did you mean `{n}`?"))
                    .unwrap_or_default()
            ));
        }
        if to.names().is_empty() {
            return Err(format!(
                "`{scenario}` maps onto no model class (leave it out if the model cannot detect it)"
            ));
        }
        for m in to.names() {
            if !model.contains(m) {
                return Err(format!(
                    "`{scenario}: {m}`: `{m}` is not one of the adapter's classes.{}",
                    adasval_core::suggest::hint(m, model)
                ));
            }
            if let Some(first) = taken.insert(m, scenario) {
                return Err(format!(
                    "model class `{m}` is mapped onto both `{first}` and `{scenario}`; a detection has one class"
                ));
            }
        }
    }
    Ok(())
}

/// The judged class id of model class `model` under `map`: its scenario class's place among
/// the mapped scenario classes in vocabulary order (`None`: mapped onto nothing). Allocates
/// nothing, so the decoder can relabel each detection with it inside the timed loop.
pub fn judged_id(map: &ScenarioClassMap, model: &str) -> Option<u32> {
    SCENARIO_CLASSES
        .iter()
        .filter_map(|c| map.get(*c))
        .position(|m| m.names().iter().any(|n| n == model))
        .map(|i| i as u32)
}

/// The classes a run judges an engine in, derived from its adapter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JudgedClasses {
    /// Class names detections and golden objects index (`class_id`).
    pub classes: Vec<String>,
    /// Those whose misses are safety-relevant.
    pub safety_critical: Vec<String>,
    /// Scenario classes the engine cannot detect (its adapter maps nothing onto them).
    pub not_detectable: Vec<String>,
    /// Model class id → judged class id (`None`: the detection is dropped); `None` when the
    /// engine is judged in its own classes.
    pub relabel: Option<Vec<Option<u32>>>,
    /// The adapter's map, as `{pedestrian: person, truck: [truck, bus]}`, for messages.
    pub map: Option<String>,
}

impl JudgedClasses {
    /// An engine judged in its own classes.
    pub fn own(classes: &[String], safety_critical: &[String]) -> Self {
        Self {
            classes: classes.to_vec(),
            safety_critical: safety_critical.to_vec(),
            not_detectable: Vec::new(),
            relabel: None,
            map: None,
        }
    }

    /// An engine judged in the scenario vocabulary through `map` (already [`check`]ed): the
    /// mapped scenario classes in vocabulary order; a scenario class is safety-critical when
    /// one of its model classes is.
    pub fn through(map: &ScenarioClassMap, model: &[String], safety_critical: &[String]) -> Self {
        let mapped: Vec<&str> = SCENARIO_CLASSES
            .iter()
            .copied()
            .filter(|c| map.contains_key(*c))
            .collect();
        let relabel = model.iter().map(|m| judged_id(map, m)).collect();
        Self {
            classes: mapped.iter().map(|s| s.to_string()).collect(),
            safety_critical: mapped
                .iter()
                .filter(|s| map[**s].names().iter().any(|m| safety_critical.contains(m)))
                .map(|s| s.to_string())
                .collect(),
            not_detectable: SCENARIO_CLASSES
                .iter()
                .filter(|c| !map.contains_key(**c))
                .map(|s| s.to_string())
                .collect(),
            relabel: Some(relabel),
            map: Some(describe(map)),
        }
    }
}

/// The map as one line, in vocabulary order.
pub fn describe(map: &ScenarioClassMap) -> String {
    let pairs: Vec<String> = SCENARIO_CLASSES
        .iter()
        .filter_map(|s| {
            map.get(*s).map(|to| match to {
                ModelClasses::One(m) => format!("{s}: {m}"),
                ModelClasses::Many(v) => format!("{s}: [{}]", v.join(", ")),
            })
        })
        .collect();
    format!("{{{}}}", pairs.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn coco() -> Vec<String> {
        ["person", "bicycle", "car", "bus", "truck", "chair"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    fn map(yaml: &str) -> ScenarioClassMap {
        serde_saphyr::from_str(yaml).unwrap()
    }

    #[test]
    fn a_map_judges_in_the_scenario_vocabulary() {
        let m = map("{truck: [truck, bus], pedestrian: person, car: car}");
        check(&m, &coco()).unwrap();
        let j = JudgedClasses::through(&m, &coco(), &["person".into(), "bus".into()]);
        assert_eq!(j.classes, ["pedestrian", "car", "truck"]);
        assert_eq!(j.safety_critical, ["pedestrian", "truck"]);
        assert_eq!(j.not_detectable, ["cyclist", "obstacle"]);
        // person, bicycle, car, bus, truck, chair
        assert_eq!(
            j.relabel,
            Some(vec![Some(0), None, Some(1), Some(2), Some(2), None])
        );
        assert_eq!(
            j.map.as_deref(),
            Some("{pedestrian: person, car: car, truck: [truck, bus]}")
        );
    }

    #[test]
    fn a_malformed_map_says_what_is_wrong() {
        let e = check(&map("{pedestrain: person}"), &coco()).unwrap_err();
        assert!(
            e.contains("`pedestrain`")
                && e.contains("pedestrian, cyclist, car, truck, obstacle")
                && e.contains("Did you mean `pedestrian`"),
            "{e}"
        );
        let e = check(&map("{pedestrian: persn}"), &coco()).unwrap_err();
        assert!(
            e.contains("`persn`") && e.contains("Did you mean `person`"),
            "{e}"
        );
        let e = check(&map("{car: car, truck: [truck, car]}"), &coco()).unwrap_err();
        assert!(e.contains("`car` is mapped onto both"), "{e}");
        assert!(check(&map("{}"), &coco()).is_err());
        assert!(check(&map("{truck: []}"), &coco()).is_err());
    }
}
