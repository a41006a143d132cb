//! Safety requirements (`safety-case/requirements.yaml`): what a run's evidence must show.
//! Parsed and checked here, evaluated against an [`EvidenceSet`](crate::evidence::EvidenceSet)
//! by [`super::verdict`]. Schema: docs/EVIDENCE.md.

use super::yaml::{self, YamlLocation};
use super::SafetyError;
use crate::metrics::slice::{Outside, Slice};
use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Current `schema_version` of requirements files.
pub const REQUIREMENTS_SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequirementKind {
    Detection,
    Timing,
    Consistency,
    Integrity,
}

impl RequirementKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Detection => "detection",
            Self::Timing => "timing",
            Self::Consistency => "consistency",
            Self::Integrity => "integrity",
        }
    }
}

/// What the gate makes of a requirement that is not applicable to an engine (it names a
/// class the engine cannot detect: its adapter's `scenario_classes` maps nothing onto it).
///
/// The default is `fail`: a release gate passes what was shown, and nothing was shown about
/// a class the engine cannot see. A project whose function does not rely on this engine
/// for that class says so once, in the reviewed requirements file (`not_applicable: pass`,
/// for the whole file or one requirement); the verdict stays "not applicable" in every
/// output either way.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotApplicablePolicy {
    #[default]
    Fail,
    Pass,
}

impl NotApplicablePolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Fail => "fail",
            Self::Pass => "pass",
        }
    }
    pub fn is_fail(&self) -> bool {
        *self == Self::Fail
    }
}

/// Which evidence a requirement applies to. Every list is optional; an empty list means
/// "any". `scenarios`, `engines` and `platforms` take glob patterns (`city-*`); an item
/// matches `scenario_tags` when it carries at least one of the listed tags.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scope {
    #[serde(default)]
    pub scenario_tags: Vec<String>,
    #[serde(default)]
    pub scenarios: Vec<String>,
    #[serde(default)]
    pub engines: Vec<String>,
    #[serde(default)]
    pub platforms: Vec<String>,
}

/// Which side of the limit passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Comparison {
    /// measured ≥ limit
    AtLeast,
    /// measured ≤ limit
    AtMost,
}

impl Comparison {
    pub fn holds(self, measured: f64, limit: f64) -> bool {
        match self {
            Self::AtLeast => measured >= limit,
            Self::AtMost => measured <= limit,
        }
    }
    pub fn symbol(self) -> &'static str {
        match self {
            Self::AtLeast => "≥",
            Self::AtMost => "≤",
        }
    }
}

/// Where a timing requirement's deadline comes from.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Deadline {
    /// The `deadline_ms` of each scenario (carried by the evidence item).
    Scenario,
    Ms(f64),
}

/// Over which evidence a requirement that names a slice takes its figure.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Over {
    /// One figure, and one verdict, per scenario (as every detection requirement).
    #[default]
    Scenario,
    /// One figure per engine and platform, pooled over every scenario in scope: the counts
    /// (true and false positives, misses, critical misses) are summed and the figure is
    /// computed from the sums, so a headline figure over a set of scenarios is one verdict.
    AllScenarios,
}

impl Over {
    pub fn is_scenario(&self) -> bool {
        *self == Over::Scenario
    }
}

/// Metrics that pool over scenarios from their counts (`over: all_scenarios`); AP and the
/// miss rate need every ranked detection and do not.
pub const POOLED_METRICS: &[&str] = &[
    "recall",
    "precision",
    "recall_lcb",
    "precision_lcb",
    "critical_misses",
];

/// What is compared with what, per requirement kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "check", rename_all = "snake_case")]
pub enum Check {
    /// A detection or consistency metric against a fixed threshold.
    Threshold {
        metric: String,
        comparison: Comparison,
        threshold: f64,
        #[serde(skip_serializing_if = "Option::is_none")]
        class: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        iou: Option<f64>,
        /// The slice of objects the figure is taken on, with its rule for unmatched
        /// detections outside it (detection requirements only).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        slice: Option<Slice>,
        #[serde(default, skip_serializing_if = "Over::is_scenario")]
        over: Over,
    },
    /// pWCET upper confidence bound at exceedance probability `probability` per frame
    /// ≤ deadline.
    Pwcet {
        probability: f64,
        deadline: Deadline,
    },
    /// Measured high-water mark × `margin` ≤ deadline.
    HwmMargin { margin: f64, deadline: Deadline },
    /// Every engine and adapter in scope matches its lock entry.
    Integrity,
    /// Per family, the share of targets whose time to collision left at their first
    /// stable detection (latency included) is at least `min_ttc_s`: its 95% Clopper–Pearson
    /// lower bound ≥ `min_share`.
    DetectByTtc {
        min_ttc_s: f64,
        rule: crate::metrics::ttc::StableRule,
        min_share: f64,
        #[serde(skip_serializing_if = "Option::is_none")]
        class: Option<String>,
    },
}

/// `detect_by_ttc: {min_ttc_s: 2.0, k: 3, n: 4}` as written.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTtc {
    min_ttc_s: f64,
    k: usize,
    n: usize,
    #[serde(default = "default_latency_percentile")]
    latency_percentile: f64,
}

fn default_latency_percentile() -> f64 {
    99.0
}

/// The distinct (slice, IoU) pairs `requirements` name: the judge computes each slice's
/// figures on every trace (IoU 0.5 where the requirement names none).
pub fn slice_rules(requirements: &[Requirement]) -> Vec<(Slice, f64)> {
    let mut out: Vec<(Slice, f64)> = Vec::new();
    for r in requirements {
        if let Check::Threshold {
            slice: Some(s),
            iou,
            ..
        } = &r.check
        {
            let key = (s.clone(), iou.unwrap_or(SLICE_DEFAULT_IOU));
            if !out.contains(&key) {
                out.push(key);
            }
        }
    }
    out
}

/// The IoU of a slice requirement that names none.
pub const SLICE_DEFAULT_IOU: f64 = 0.5;

/// The distinct stable-detection rules `requirements` name (the judge computes each).
pub fn ttc_rules(requirements: &[Requirement]) -> Vec<crate::metrics::ttc::StableRule> {
    let mut out: Vec<crate::metrics::ttc::StableRule> = Vec::new();
    for r in requirements {
        if let Check::DetectByTtc { rule, .. } = &r.check {
            if !out.contains(rule) {
                out.push(*rule);
            }
        }
    }
    out
}

/// One checked requirement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Requirement {
    pub id: String,
    pub text: String,
    pub kind: RequirementKind,
    /// The metric name as written in the requirements file.
    pub metric: String,
    pub scope: Scope,
    pub check: Check,
    /// Line of the requirement's `id` in its file.
    pub line: u64,
    /// What the gate makes of this requirement where it is not applicable (the file's
    /// `not_applicable`, unless the requirement sets its own).
    #[serde(default, skip_serializing_if = "NotApplicablePolicy::is_fail")]
    pub not_applicable: NotApplicablePolicy,
}

impl Requirement {
    /// The evidence-item metric this requirement reads.
    pub fn evidence_metric(&self) -> &str {
        match &self.check {
            Check::Threshold { metric, .. } => metric,
            Check::Pwcet { .. } => "pwcet_ucb_ms",
            Check::HwmMargin { .. } => "hwm_ms",
            Check::Integrity => "verified",
            Check::DetectByTtc { .. } => "detection_ttc_s",
        }
    }

    /// The object class this requirement is about, if it names one (directly or through
    /// its slice).
    pub fn class(&self) -> Option<&str> {
        match &self.check {
            Check::Threshold { class: Some(c), .. } | Check::DetectByTtc { class: Some(c), .. } => {
                Some(c)
            }
            Check::Threshold { slice: Some(s), .. } => s.class.as_deref(),
            _ => None,
        }
    }
}

/// A parsed requirements file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Requirements {
    pub file: PathBuf,
    pub requirements: Vec<Requirement>,
    /// Margins and levels of `adasval diff` (the file's optional `regression:` section).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regression: Option<crate::regress::Thresholds>,
    /// The file's `not_applicable` policy (default `fail`).
    #[serde(default)]
    pub not_applicable: NotApplicablePolicy,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    schema_version: Spanned<u32>,
    #[serde(default)]
    not_applicable: Option<NotApplicablePolicy>,
    requirements: Vec<RawRequirement>,
    #[serde(default)]
    regression: Option<Spanned<crate::regress::Thresholds>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRequirement {
    id: Spanned<String>,
    text: String,
    kind: RequirementKind,
    #[serde(default)]
    scope: Scope,
    #[serde(default)]
    metric: Option<Spanned<String>>,
    #[serde(default)]
    threshold: Option<Spanned<f64>>,
    #[serde(default)]
    class: Option<String>,
    #[serde(default)]
    iou: Option<Spanned<f64>>,
    #[serde(default)]
    probability: Option<Spanned<f64>>,
    #[serde(default)]
    deadline_ms: Option<Spanned<f64>>,
    #[serde(default)]
    margin: Option<Spanned<f64>>,
    #[serde(default)]
    detect_by_ttc: Option<Spanned<RawTtc>>,
    #[serde(default)]
    slice: Option<Spanned<Slice>>,
    #[serde(default)]
    outside_slice: Option<Spanned<Outside>>,
    #[serde(default)]
    over: Option<Spanned<Over>>,
    #[serde(default)]
    not_applicable: Option<NotApplicablePolicy>,
}

/// Detection metrics and the side of the threshold that passes.
const DETECTION_METRICS: &[(&str, Comparison)] = &[
    ("recall_lcb", Comparison::AtLeast),
    ("precision_lcb", Comparison::AtLeast),
    ("recall", Comparison::AtLeast),
    ("precision", Comparison::AtLeast),
    ("ap", Comparison::AtLeast),
    ("critical_misses", Comparison::AtMost),
    ("lamr", Comparison::AtMost),
    ("detect_by_ttc", Comparison::AtLeast),
];
const TIMING_METRICS: &[&str] = &["pwcet_ucb", "hwm_margin"];
const CONSISTENCY_METRICS: &[&str] = &["decision_flips"];

impl Requirements {
    /// Read and check a requirements file.
    pub fn load(path: &Path) -> Result<Self, SafetyError> {
        let text = std::fs::read_to_string(path).map_err(|source| SafetyError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(path, &text)
    }

    /// Parse requirements from `text`; `file` is used in error messages.
    pub fn parse(file: &Path, text: &str) -> Result<Self, SafetyError> {
        let raw: RawFile =
            yaml::parse(file, text).map_err(|(at, message)| SafetyError::Yaml { at, message })?;
        let at = |line: u64, column: u64, field: &str| YamlLocation {
            file: file.to_path_buf(),
            line,
            column,
            field: Some(field.to_string()),
        };
        let loc = |s: &serde_saphyr::Location, field: &str| at(s.line(), s.column(), field);
        if raw.schema_version.value != REQUIREMENTS_SCHEMA_VERSION {
            return Err(SafetyError::Invalid {
                at: loc(&raw.schema_version.referenced, "schema_version"),
                message: format!(
                    "schema_version {} (this adasval reads {REQUIREMENTS_SCHEMA_VERSION})",
                    raw.schema_version.value
                ),
            });
        }
        let file_policy = raw.not_applicable.unwrap_or_default();
        let mut seen: HashMap<String, u64> = HashMap::new();
        let mut out = Vec::with_capacity(raw.requirements.len());
        for r in raw.requirements {
            let id_loc = r.id.referenced;
            let invalid =
                |field: &str, spanned: Option<&serde_saphyr::Location>, message: String| {
                    SafetyError::Invalid {
                        at: loc(spanned.unwrap_or(&id_loc), field),
                        message: format!("requirement {}: {message}", r.id.value),
                    }
                };
            let id = r.id.value.trim().to_string();
            if id.is_empty() {
                return Err(invalid("id", None, "empty id".into()));
            }
            if let Some(prev) = seen.insert(id.clone(), id_loc.line()) {
                return Err(invalid(
                    "id",
                    None,
                    format!("duplicate id (first at line {prev})"),
                ));
            }
            for (name, list) in [
                ("scope.scenarios", &r.scope.scenarios),
                ("scope.engines", &r.scope.engines),
                ("scope.platforms", &r.scope.platforms),
            ] {
                for p in list {
                    glob::Pattern::new(p)
                        .map_err(|e| invalid(name, None, format!("bad pattern `{p}`: {e}")))?;
                }
            }
            let metric = r.metric.as_ref().map(|m| m.value.clone());
            let metric_loc = r.metric.as_ref().map(|m| m.referenced);
            let need_metric = |known: &[&str]| -> Result<String, SafetyError> {
                match &metric {
                    None => Err(invalid(
                        "metric",
                        None,
                        format!("missing `metric` (one of {})", known.join(", ")),
                    )),
                    Some(m) if known.contains(&m.as_str()) => Ok(m.clone()),
                    Some(m) => Err(invalid(
                        "metric",
                        metric_loc.as_ref(),
                        format!(
                            "unknown {} metric `{m}` (one of {})",
                            r.kind.as_str(),
                            known.join(", ")
                        ),
                    )),
                }
            };
            let forbid = |field: &str, present: Option<&serde_saphyr::Location>| match present {
                Some(l) => Err(invalid(
                    field,
                    Some(l),
                    format!(
                        "`{field}` does not apply to this {} requirement",
                        r.kind.as_str()
                    ),
                )),
                None => Ok(()),
            };
            let unit = |field: &str, v: &Spanned<f64>, lo_open: bool| {
                let ok = v.value <= 1.0
                    && if lo_open {
                        v.value > 0.0
                    } else {
                        v.value >= 0.0
                    };
                if ok {
                    Ok(v.value)
                } else {
                    Err(invalid(
                        field,
                        Some(&v.referenced),
                        format!(
                            "`{field}` must be in {}, 1]",
                            if lo_open { "(0" } else { "[0" }
                        ),
                    ))
                }
            };
            let deadline = |d: &Option<Spanned<f64>>| match d {
                None => Ok(Deadline::Scenario),
                Some(v) if v.value > 0.0 && v.value.is_finite() => Ok(Deadline::Ms(v.value)),
                Some(v) => Err(invalid(
                    "deadline_ms",
                    Some(&v.referenced),
                    "`deadline_ms` must be a positive number of milliseconds".into(),
                )),
            };
            let threshold = |non_negative: bool| match &r.threshold {
                None => Err(invalid("threshold", None, "missing `threshold`".into())),
                Some(t) if !t.value.is_finite() || (non_negative && t.value < 0.0) => Err(invalid(
                    "threshold",
                    Some(&t.referenced),
                    "`threshold` must be a finite, non-negative number".into(),
                )),
                Some(t) => Ok(t.value),
            };

            let forbid_slice = || {
                forbid("slice", r.slice.as_ref().map(|v| &v.referenced))?;
                forbid(
                    "outside_slice",
                    r.outside_slice.as_ref().map(|v| &v.referenced),
                )?;
                forbid("over", r.over.as_ref().map(|v| &v.referenced))
            };
            // The slice as evaluated: the requirement's class is the slice's, the rule for
            // unmatched detections outside it is always explicit (`ignored` by default), so
            // the evidence item and every output carry the rule in force.
            let slice_of = |metric: &str| -> Result<(Option<Slice>, Over), SafetyError> {
                let Some(sp) = &r.slice else {
                    if metric == "lamr" {
                        return Err(invalid(
                            "metric",
                            metric_loc.as_ref(),
                            "`lamr` is computed per slice: add `slice: {class: ...}`".into(),
                        ));
                    }
                    forbid(
                        "outside_slice",
                        r.outside_slice.as_ref().map(|v| &v.referenced),
                    )?;
                    forbid("over", r.over.as_ref().map(|v| &v.referenced))?;
                    return Ok((None, Over::Scenario));
                };
                let at = Some(&sp.referenced);
                let mut s = sp.value.clone();
                s.check()
                    .map_err(|m| invalid("slice", at, format!("slice: {m}")))?;
                match (&s.class, &r.class) {
                    (Some(a), Some(b)) if a != b => {
                        return Err(invalid(
                            "slice.class",
                            at,
                            format!("slice class `{a}` differs from the requirement's class `{b}`"),
                        ))
                    }
                    (None, Some(b)) => s.class = Some(b.clone()),
                    _ => {}
                }
                match (&s.outside, &r.outside_slice) {
                    (Some(_), Some(o)) => return Err(invalid(
                        "outside_slice",
                        Some(&o.referenced),
                        "the rule is given twice (`slice.outside` and `outside_slice`): keep one"
                            .into(),
                    )),
                    (None, Some(o)) => s.outside = Some(o.value),
                    (None, None) => s.outside = Some(Outside::Ignored),
                    (Some(_), None) => {}
                }
                let over = r.over.as_ref().map(|o| o.value).unwrap_or_default();
                if over == Over::AllScenarios && !POOLED_METRICS.contains(&metric) {
                    return Err(invalid(
                        "over",
                        r.over.as_ref().map(|o| &o.referenced),
                        format!(
                            "`{metric}` is not pooled over scenarios (it needs every ranked \
                             detection); `over: all_scenarios` takes {}",
                            POOLED_METRICS.join(", ")
                        ),
                    ));
                }
                Ok((Some(s), over))
            };
            let (metric_name, check) = match r.kind {
                RequirementKind::Detection => {
                    let names: Vec<&str> = DETECTION_METRICS.iter().map(|(n, _)| *n).collect();
                    let m = need_metric(&names)?;
                    if m == "detect_by_ttc" {
                        let spec = r.detect_by_ttc.as_ref().ok_or_else(|| {
                            invalid(
                                "detect_by_ttc",
                                metric_loc.as_ref(),
                                "missing `detect_by_ttc: {min_ttc_s, k, n}`".into(),
                            )
                        })?;
                        let at = Some(&spec.referenced);
                        let t = &spec.value;
                        if !(t.min_ttc_s.is_finite() && t.min_ttc_s >= 0.0) {
                            return Err(invalid(
                                "detect_by_ttc.min_ttc_s",
                                at,
                                "must be a finite number of seconds ≥ 0".into(),
                            ));
                        }
                        if !(1..=t.n).contains(&t.k) || t.n > 1000 {
                            return Err(invalid(
                                "detect_by_ttc.k",
                                at,
                                format!("k = {} of n = {}: need 1 ≤ k ≤ n ≤ 1000", t.k, t.n),
                            ));
                        }
                        if !(t.latency_percentile > 0.0 && t.latency_percentile <= 100.0) {
                            return Err(invalid(
                                "detect_by_ttc.latency_percentile",
                                at,
                                "must be in (0, 100]".into(),
                            ));
                        }
                        let share = threshold(true)?;
                        if share > 1.0 {
                            let l = r.threshold.as_ref().map(|t| t.referenced);
                            return Err(invalid(
                                "threshold",
                                l.as_ref(),
                                "`detect_by_ttc` compares a share: threshold must be ≤ 1".into(),
                            ));
                        }
                        let iou = r.iou.as_ref().map(|v| unit("iou", v, true)).transpose()?;
                        forbid("probability", r.probability.as_ref().map(|v| &v.referenced))?;
                        forbid("deadline_ms", r.deadline_ms.as_ref().map(|v| &v.referenced))?;
                        forbid("margin", r.margin.as_ref().map(|v| &v.referenced))?;
                        forbid_slice()?;
                        (
                            m,
                            Check::DetectByTtc {
                                min_ttc_s: t.min_ttc_s,
                                rule: crate::metrics::ttc::StableRule {
                                    k: t.k,
                                    n: t.n,
                                    latency_percentile: t.latency_percentile,
                                    iou_threshold: iou.unwrap_or(0.5),
                                },
                                min_share: share,
                                class: r.class.clone(),
                            },
                        )
                    } else {
                        forbid(
                            "detect_by_ttc",
                            r.detect_by_ttc.as_ref().map(|v| &v.referenced),
                        )?;
                        let comparison = DETECTION_METRICS
                            .iter()
                            .find(|(n, _)| *n == m)
                            .map(|(_, c)| *c)
                            .unwrap_or(Comparison::AtLeast);
                        let t = threshold(true)?;
                        if comparison == Comparison::AtLeast && t > 1.0 {
                            let l = r.threshold.as_ref().map(|t| t.referenced);
                            return Err(invalid(
                                "threshold",
                                l.as_ref(),
                                format!("`{m}` is a fraction: threshold must be ≤ 1"),
                            ));
                        }
                        let iou = r.iou.as_ref().map(|v| unit("iou", v, true)).transpose()?;
                        forbid("probability", r.probability.as_ref().map(|v| &v.referenced))?;
                        forbid("deadline_ms", r.deadline_ms.as_ref().map(|v| &v.referenced))?;
                        forbid("margin", r.margin.as_ref().map(|v| &v.referenced))?;
                        let (slice, over) = slice_of(&m)?;
                        let class = r
                            .class
                            .clone()
                            .or_else(|| slice.as_ref().and_then(|s| s.class.clone()));
                        (
                            m.clone(),
                            Check::Threshold {
                                metric: m,
                                comparison,
                                threshold: t,
                                class,
                                iou,
                                slice,
                                over,
                            },
                        )
                    }
                }
                RequirementKind::Timing => {
                    forbid_slice()?;
                    forbid(
                        "detect_by_ttc",
                        r.detect_by_ttc.as_ref().map(|v| &v.referenced),
                    )?;
                    let m = need_metric(TIMING_METRICS)?;
                    if r.class.is_some() {
                        return Err(invalid(
                            "class",
                            None,
                            "`class` does not apply to a timing requirement".into(),
                        ));
                    }
                    forbid("threshold", r.threshold.as_ref().map(|v| &v.referenced))?;
                    forbid("iou", r.iou.as_ref().map(|v| &v.referenced))?;
                    let dl = deadline(&r.deadline_ms)?;
                    let check = if m == "pwcet_ucb" {
                        forbid("margin", r.margin.as_ref().map(|v| &v.referenced))?;
                        let p = r.probability.as_ref().ok_or_else(|| {
                            invalid(
                                "probability",
                                None,
                                "missing `probability` (per frame)".into(),
                            )
                        })?;
                        let p = unit("probability", p, true)?;
                        Check::Pwcet {
                            probability: p,
                            deadline: dl,
                        }
                    } else {
                        forbid("probability", r.probability.as_ref().map(|v| &v.referenced))?;
                        let mg = r
                            .margin
                            .as_ref()
                            .ok_or_else(|| invalid("margin", None, "missing `margin`".into()))?;
                        if !(mg.value >= 1.0 && mg.value.is_finite()) {
                            return Err(invalid(
                                "margin",
                                Some(&mg.referenced),
                                "`margin` must be a finite factor ≥ 1".into(),
                            ));
                        }
                        Check::HwmMargin {
                            margin: mg.value,
                            deadline: dl,
                        }
                    };
                    (m, check)
                }
                RequirementKind::Consistency => {
                    forbid_slice()?;
                    forbid(
                        "detect_by_ttc",
                        r.detect_by_ttc.as_ref().map(|v| &v.referenced),
                    )?;
                    let m = need_metric(CONSISTENCY_METRICS)?;
                    let t = threshold(true)?;
                    forbid("probability", r.probability.as_ref().map(|v| &v.referenced))?;
                    forbid("deadline_ms", r.deadline_ms.as_ref().map(|v| &v.referenced))?;
                    forbid("margin", r.margin.as_ref().map(|v| &v.referenced))?;
                    (
                        m.clone(),
                        Check::Threshold {
                            metric: m,
                            comparison: Comparison::AtMost,
                            threshold: t,
                            class: r.class.clone(),
                            iou: r.iou.as_ref().map(|v| unit("iou", v, true)).transpose()?,
                            slice: None,
                            over: Over::Scenario,
                        },
                    )
                }
                RequirementKind::Integrity => {
                    forbid_slice()?;
                    if r.class.is_some() {
                        return Err(invalid(
                            "class",
                            None,
                            "`class` does not apply to an integrity requirement".into(),
                        ));
                    }
                    if let Some(m) = &metric {
                        if m != "verified" {
                            return Err(invalid(
                                "metric",
                                metric_loc.as_ref(),
                                format!("unknown integrity metric `{m}` (only `verified`)"),
                            ));
                        }
                    }
                    for (f, l) in [
                        ("threshold", r.threshold.as_ref().map(|v| &v.referenced)),
                        ("iou", r.iou.as_ref().map(|v| &v.referenced)),
                        ("probability", r.probability.as_ref().map(|v| &v.referenced)),
                        ("deadline_ms", r.deadline_ms.as_ref().map(|v| &v.referenced)),
                        ("margin", r.margin.as_ref().map(|v| &v.referenced)),
                        (
                            "detect_by_ttc",
                            r.detect_by_ttc.as_ref().map(|v| &v.referenced),
                        ),
                    ] {
                        forbid(f, l)?;
                    }
                    ("verified".to_string(), Check::Integrity)
                }
            };
            out.push(Requirement {
                id,
                text: r.text.trim().to_string(),
                kind: r.kind,
                metric: metric_name,
                scope: r.scope,
                check,
                line: id_loc.line(),
                not_applicable: r.not_applicable.unwrap_or(file_policy),
            });
        }
        let regression = match raw.regression {
            Some(r) => {
                r.value.validate().map_err(|message| SafetyError::Invalid {
                    at: loc(&r.referenced, "regression"),
                    message: format!("regression: {message}"),
                })?;
                Some(r.value)
            }
            None => None,
        };
        Ok(Self {
            file: file.to_path_buf(),
            requirements: out,
            regression,
            not_applicable: file_policy,
        })
    }
}
