//! Detection per scenario family and per swept parameter value: the instances of a swept
//! scenario file (`sweep:`, e.g. the Euro NCAP catalogue) pooled by family, and within a
//! family by each value of each parameter (ego speed 10, 15, …; day / night), so that a
//! safety engineer reads "CPNA-25 at night: recall 0.91 [0.85, 0.95]" instead of forty
//! instance rows. Counts are summed over instances (micro average) and the recall interval
//! is Clopper–Pearson on the pooled counts.
//!
//! Reads the judged golden comparison; returns data, renders nothing. Corruption rungs are
//! left out: their robustness is judged per severity (`robustness`).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use adasval_record::record::RunRecord;

use crate::detection::DetectionResults;
use crate::metrics::stats::{clopper_pearson, Interval};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Families {
    /// The IoU threshold of the pooled counts (the first of the metric settings).
    pub iou_threshold: f64,
    pub confidence: f64,
    /// Per (family, engine): the whole family first, then one group per parameter value.
    pub groups: Vec<Group>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Group {
    pub family: String,
    pub engine: String,
    /// `None`: all instances of the family.
    pub parameter: Option<String>,
    pub value: Option<String>,
    pub instances: usize,
    pub frames: usize,
    pub classes: Vec<ClassRecall>,
    /// Runs of consecutive missed frames of safety-critical objects, summed.
    pub critical_misses: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassRecall {
    pub class: String,
    pub tp: u64,
    #[serde(rename = "fn")]
    pub fn_: u64,
    pub recall: f64,
    pub recall_ci: Option<Interval>,
}

#[derive(Default)]
struct Tally {
    instances: usize,
    frames: usize,
    critical_misses: usize,
    /// class → (tp, fn)
    classes: BTreeMap<String, (u64, u64)>,
}

/// `None` when no scenario of the run belongs to a family.
pub fn analyse(record: &RunRecord, det: &DetectionResults) -> Option<Families> {
    let iou_index = 0;
    let iou_threshold = *det.metric_settings.iou_thresholds.first()?;
    let confidence = det.metric_settings.confidence;
    // (family, engine, parameter, value) → tally; ("", "") is the whole family.
    let mut tallies: BTreeMap<(String, String, String, String), Tally> = BTreeMap::new();
    for tr in &det.traces {
        let Some(sc) = record.scenarios.iter().find(|s| s.id == tr.scenario) else {
            continue;
        };
        let Some(family) = sc.family.clone() else {
            continue;
        };
        if sc.corruption.is_some() {
            continue;
        }
        let whole = (String::new(), String::new());
        for (parameter, value) in
            std::iter::once(whole).chain(sc.parameters.iter().map(|(k, v)| (k.clone(), v.clone())))
        {
            let t = tallies
                .entry((family.clone(), tr.engine.clone(), parameter, value))
                .or_default();
            t.instances += 1;
            t.frames += tr.detection.frames;
            t.critical_misses += tr.critical_misses.len();
            for c in &tr.detection.per_class {
                let Some(at) = c.at.get(iou_index) else {
                    continue;
                };
                let e = t.classes.entry(c.class.clone()).or_default();
                e.0 += at.tp;
                e.1 += at.fn_;
            }
        }
    }
    if tallies.is_empty() {
        return None;
    }
    let groups = tallies
        .into_iter()
        .map(|((family, engine, parameter, value), t)| Group {
            family,
            engine,
            parameter: (!parameter.is_empty()).then_some(parameter),
            value: (!value.is_empty()).then_some(value),
            instances: t.instances,
            frames: t.frames,
            critical_misses: t.critical_misses,
            classes: t
                .classes
                .into_iter()
                // A class the family never shows says nothing about it.
                .filter(|(_, (tp, fn_))| tp + fn_ > 0)
                .map(|(class, (tp, fn_))| ClassRecall {
                    class,
                    tp,
                    fn_,
                    recall: tp as f64 / (tp + fn_) as f64,
                    recall_ci: clopper_pearson(tp, tp + fn_, confidence),
                })
                .collect(),
        })
        .collect::<Vec<_>>();
    let mut groups = groups;
    // Values in their numeric order where they are numbers (ego speed 5 before 10).
    groups.sort_by(|a, b| {
        let num = |g: &Group| g.value.as_deref().and_then(|v| v.parse::<f64>().ok());
        (&a.family, &a.engine, &a.parameter)
            .cmp(&(&b.family, &b.engine, &b.parameter))
            .then_with(|| match (num(a), num(b)) {
                (Some(x), Some(y)) => x.total_cmp(&y),
                _ => a.value.cmp(&b.value),
            })
    });
    Some(Families {
        iou_threshold,
        confidence,
        groups,
    })
}
