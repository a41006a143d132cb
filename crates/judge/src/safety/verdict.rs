//! Verdicts: each requirement evaluated against a run's [`EvidenceSet`], per scope instance
//! (scenario × engine × platform, and class where the requirement names one). A requirement
//! whose scope matches no evidence fails as "no evidence"; nothing passes by default. A
//! requirement on a class an engine cannot detect is "not applicable" to that engine, a
//! verdict of its own: the requirement's `not_applicable` policy (default `fail`) decides
//! whether the gate accepts it, and it is never shown as a pass.

use super::requirements::{
    Check, Comparison, Deadline, Over, Requirement, RequirementKind, Scope, SLICE_DEFAULT_IOU,
};
use super::waivers::Waiver;
use crate::evidence::{ArtefactRef, Counterpart, EvidenceItem, EvidenceSet, IntegrityCheck};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Pass,
    Fail,
    NoEvidence,
    /// The requirement names a class the engine cannot detect.
    NotApplicable,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Fail => "fail",
            Self::NoEvidence => "no evidence",
            Self::NotApplicable => "not applicable",
        }
    }
    pub fn passed(self) -> bool {
        self == Self::Pass
    }
}

/// The verdict for one scope instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstanceVerdict {
    /// Scenario id; `-` for integrity checks, which are not per scenario.
    pub scenario: String,
    pub engine: String,
    pub engine_sha256: String,
    pub platform: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compared_with: Option<Counterpart>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    pub verdict: Verdict,
    /// The figure compared with `limit` (for `hwm_margin`: high-water mark × margin).
    pub measured: Option<f64>,
    /// Threshold or deadline.
    pub limit: Option<f64>,
    pub comparison: Comparison,
    /// One line a reviewer can read: what was compared and how it came out.
    pub detail: String,
    pub artefacts: Vec<ArtefactRef>,
}

impl InstanceVerdict {
    /// Short label of the scope instance, e.g. `city-01 / yolox@1a2b3c4d / jetson [person]`.
    pub fn label(&self) -> String {
        let mut s = format!(
            "{} / {}@{} / {}",
            self.scenario,
            self.engine,
            short_hash(&self.engine_sha256),
            self.platform
        );
        if let Some(c) = &self.compared_with {
            s.push_str(&format!(
                " vs {}@{} / {}",
                c.engine,
                short_hash(&c.engine_sha256),
                c.platform
            ));
        }
        if let Some(class) = &self.class {
            s.push_str(&format!(" [{class}]"));
        }
        s
    }
}

/// First 12 hex digits of a hash, for display.
pub fn short_hash(h: &str) -> &str {
    h.get(..12).unwrap_or(h)
}

/// The verdict for one requirement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequirementVerdict {
    pub id: String,
    pub text: String,
    pub kind: RequirementKind,
    pub metric: String,
    pub verdict: Verdict,
    pub instances: Vec<InstanceVerdict>,
    /// What the gate makes of a `not_applicable` verdict (the requirement's policy);
    /// absent for any other verdict.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_applicable: Option<super::requirements::NotApplicablePolicy>,
    /// The valid waiver accepting this failure; the verdict stays `fail`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiver: Option<Waiver>,
    /// The slice the figures were taken on and its rule for unmatched detections outside
    /// it, in words (requirements that name a `slice:`), printed beside every figure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slice: Option<String>,
}

impl RequirementVerdict {
    /// Failed, and accepted by a waiver that has not expired.
    pub fn waived(&self) -> bool {
        self.verdict == Verdict::Fail && self.waiver.is_some()
    }
    /// Passed, failed and validly waived, or not applicable under a `pass` policy.
    pub fn accepted(&self) -> bool {
        self.verdict.passed()
            || self.waived()
            || (self.verdict == Verdict::NotApplicable
                && self.not_applicable == Some(super::requirements::NotApplicablePolicy::Pass))
    }
    pub fn count(&self, v: Verdict) -> usize {
        self.instances.iter().filter(|i| i.verdict == v).count()
    }
    /// The verdict as every output shows it: `fail (waived)`, `not applicable (gate: fail)`.
    pub fn shown(&self) -> String {
        match (self.verdict, self.not_applicable) {
            (Verdict::Fail, _) if self.waived() => "fail (waived)".into(),
            (Verdict::NotApplicable, Some(p)) => format!("not applicable (gate: {})", p.as_str()),
            (v, _) => v.as_str().into(),
        }
    }
    /// The instance furthest on the wrong side of its limit (or closest to it when all pass;
    /// a not-applicable one ranks below every pass and above every failure).
    pub fn worst(&self) -> Option<&InstanceVerdict> {
        self.instances
            .iter()
            .filter(|i| {
                i.measured.is_some() || matches!(i.verdict, Verdict::Fail | Verdict::NotApplicable)
            })
            .min_by(|a, b| slack(a).total_cmp(&slack(b)))
    }
}

/// How far on the passing side of its limit an instance is (negative: failing).
fn slack(i: &InstanceVerdict) -> f64 {
    match (i.measured, i.limit) {
        (Some(m), Some(l)) => match i.comparison {
            Comparison::AtLeast => m - l,
            Comparison::AtMost => l - m,
        },
        _ if i.verdict == Verdict::Fail => f64::NEG_INFINITY,
        // Not a pass, and not as bad as a failure.
        _ if i.verdict == Verdict::NotApplicable => -f64::MIN_POSITIVE,
        _ => f64::INFINITY,
    }
}

/// All verdicts of one evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    pub run_complete: bool,
    pub integrity_verified: bool,
    pub requirements: Vec<RequirementVerdict>,
    /// Every waiver the evaluation was given, with what became of it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub waivers: Vec<WaiverUse>,
}

/// What a waiver did in one evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WaiverStatus {
    /// It accepted a failed requirement.
    Applied,
    /// Past its expiry date: it accepts nothing and fails the gate.
    Expired,
    /// Its requirement did not fail (passed, or had no evidence, which no waiver accepts).
    Unused,
}

impl WaiverStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Applied => "applied",
            Self::Expired => "expired",
            Self::Unused => "unused",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaiverUse {
    #[serde(flatten)]
    pub waiver: Waiver,
    pub status: WaiverStatus,
}

impl Evaluation {
    /// True when every requirement passed or failed under a valid waiver, the run is
    /// complete and no waiver has expired.
    pub fn passed(&self) -> bool {
        self.run_complete
            && self.requirements.iter().all(RequirementVerdict::accepted)
            && self.expired_waivers().next().is_none()
    }
    pub fn count(&self, v: Verdict) -> usize {
        self.requirements.iter().filter(|r| r.verdict == v).count()
    }
    /// Failed requirements accepted by a valid waiver.
    pub fn waived(&self) -> usize {
        self.requirements.iter().filter(|r| r.waived()).count()
    }
    pub fn expired_waivers(&self) -> impl Iterator<Item = &Waiver> {
        self.waivers_with(WaiverStatus::Expired)
    }
    pub fn waivers_with(&self, status: WaiverStatus) -> impl Iterator<Item = &Waiver> {
        self.waivers
            .iter()
            .filter(move |w| w.status == status)
            .map(|w| &w.waiver)
    }
}

/// Evaluate every requirement against `evidence`, then apply `waivers` as of `today`
/// (UTC, `YYYY-MM-DD`). Waivers only mark verdicts; verdicts and figures are unchanged.
pub fn evaluate_waived(
    requirements: &[Requirement],
    evidence: &EvidenceSet,
    waivers: &[Waiver],
    today: &str,
) -> Evaluation {
    let mut e = evaluate(requirements, evidence);
    for w in waivers {
        let target = e.requirements.iter_mut().find(|r| r.id == w.requirement);
        let status = match target {
            Some(r) if r.verdict == Verdict::Fail => {
                if w.expired_on(today) {
                    WaiverStatus::Expired
                } else {
                    r.waiver = Some(w.clone());
                    WaiverStatus::Applied
                }
            }
            _ if w.expired_on(today) => WaiverStatus::Expired,
            _ => WaiverStatus::Unused,
        };
        e.waivers.push(WaiverUse {
            waiver: w.clone(),
            status,
        });
    }
    e
}

/// Evaluate every requirement against `evidence`.
pub fn evaluate(requirements: &[Requirement], evidence: &EvidenceSet) -> Evaluation {
    Evaluation {
        run_complete: evidence.run.complete,
        integrity_verified: evidence.integrity.verified,
        requirements: requirements
            .iter()
            .map(|r| evaluate_one(r, evidence))
            .collect(),
        waivers: Vec::new(),
    }
}

fn evaluate_one(req: &Requirement, evidence: &EvidenceSet) -> RequirementVerdict {
    let instances: Vec<InstanceVerdict> = match &req.check {
        Check::Integrity => evidence
            .integrity
            .checks
            .iter()
            .filter(|c| any_glob(&req.scope.engines, &c.engine))
            .map(integrity_instance)
            .collect(),
        Check::DetectByTtc {
            min_ttc_s,
            min_share,
            ..
        } => {
            let items: Vec<&EvidenceItem> = evidence
                .items
                .iter()
                .filter(|it| item_matches(req, it))
                .collect();
            ttc_instances(&items, *min_ttc_s, *min_share)
        }
        Check::Threshold {
            over: Over::AllScenarios,
            metric,
            comparison,
            threshold,
            ..
        } => {
            // Every figure of the slice in scope, whatever its metric: each carries the
            // slice's counts for its scenario, so the pooled counts are the same for a
            // recall and a precision requirement on the same slice.
            let items: Vec<&EvidenceItem> = evidence
                .items
                .iter()
                .filter(|it| item_matches_metric(req, it, false))
                .collect();
            pooled_instances(&items, metric, *comparison, *threshold)
        }
        _ => evidence
            .items
            .iter()
            .filter(|it| item_matches(req, it))
            .map(|it| item_instance(req, it))
            .collect(),
    };
    let mut instances = instances;
    instances.extend(not_applicable_instances(req, evidence));
    // A failure anywhere fails; otherwise an engine that cannot be judged on the class keeps
    // the requirement from passing, whatever the other engines showed.
    let verdict = if instances.is_empty() {
        Verdict::NoEvidence
    } else if instances.iter().any(|i| i.verdict == Verdict::Fail) {
        Verdict::Fail
    } else if instances
        .iter()
        .any(|i| i.verdict == Verdict::NotApplicable)
    {
        Verdict::NotApplicable
    } else {
        Verdict::Pass
    };
    RequirementVerdict {
        id: req.id.clone(),
        text: req.text.clone(),
        kind: req.kind,
        metric: req.metric.clone(),
        verdict,
        not_applicable: (verdict == Verdict::NotApplicable).then_some(req.not_applicable),
        instances,
        waiver: None,
        slice: slice_words(req),
    }
}

/// One "not applicable" instance per engine (and platform) in scope that cannot detect the
/// class the requirement names, listing the run's scenarios in its scope.
fn not_applicable_instances(req: &Requirement, evidence: &EvidenceSet) -> Vec<InstanceVerdict> {
    let Some(class) = req.class() else {
        return Vec::new();
    };
    evidence
        .not_detectable
        .iter()
        .filter(|n| {
            n.class == class
                && any_glob(&req.scope.engines, &n.engine)
                && any_glob(&req.scope.platforms, &n.platform)
        })
        .map(|n| {
            let mut scenarios: Vec<&str> = Vec::new();
            for it in evidence.items.iter().filter(|it| {
                it.engine == n.engine
                    && it.platform == n.platform
                    && it.compared_with.is_none()
                    && scope_matches(&req.scope, it)
            }) {
                if !scenarios.contains(&it.scenario.as_str()) {
                    scenarios.push(&it.scenario);
                }
            }
            let in_scope = if scenarios.is_empty() {
                "no scenario of the run is in its scope".to_string()
            } else {
                format!("scenarios in scope: {}", scenarios.join(", "))
            };
            InstanceVerdict {
                scenario: format!("{} scenario(s) in scope", scenarios.len()),
                engine: n.engine.clone(),
                engine_sha256: n.engine_sha256.clone(),
                platform: n.platform.clone(),
                compared_with: None,
                class: Some(class.to_string()),
                verdict: Verdict::NotApplicable,
                measured: None,
                limit: None,
                comparison: Comparison::AtLeast,
                detail: format!(
                    "not applicable to this engine: it cannot detect `{class}` (its adapter's scenario_classes {} map nothing onto it); the gate counts this as {} (`not_applicable: {}`); {in_scope}",
                    n.scenario_classes,
                    if req.not_applicable.is_fail() { "a failure" } else { "a pass" },
                    req.not_applicable.as_str(),
                ),
                artefacts: vec![ArtefactRef {
                    path: adasval_record::record::RUN_FILE.into(),
                    sha256: None,
                }],
            }
        })
        .collect()
}

/// The slice of a requirement and how its figure is taken, in words.
fn slice_words(req: &Requirement) -> Option<String> {
    let Check::Threshold {
        slice: Some(s),
        over,
        ..
    } = &req.check
    else {
        return None;
    };
    Some(match over {
        Over::Scenario => format!("{} (per scenario)", s.describe()),
        Over::AllScenarios => format!("{} (pooled over every scenario in scope)", s.describe()),
    })
}

/// One verdict per (engine, platform, class) over every scenario in scope: the slice's
/// counts summed over the scenarios, the figure computed from the sums (Clopper–Pearson at
/// 95%, as the per-scenario figures), so pooling is exact.
fn pooled_instances(
    items: &[&EvidenceItem],
    metric: &str,
    comparison: Comparison,
    threshold: f64,
) -> Vec<InstanceVerdict> {
    type Key = (String, String, String, Option<String>);
    let mut groups: std::collections::BTreeMap<Key, Vec<&EvidenceItem>> = Default::default();
    for it in items.iter().filter(|it| it.slice.is_some()) {
        groups
            .entry((
                it.engine.clone(),
                it.engine_sha256.clone(),
                it.platform.clone(),
                it.class.clone(),
            ))
            .or_default()
            .push(it);
    }
    groups
        .into_iter()
        .map(|((engine, engine_sha256, platform, class), its)| {
            // One count per scenario (each of its figures carries the same counts).
            let mut seen: Vec<&str> = Vec::new();
            let its: Vec<&EvidenceItem> = its
                .into_iter()
                .filter(|it| {
                    let new = !seen.contains(&it.scenario.as_str());
                    if new {
                        seen.push(it.scenario.as_str());
                    }
                    new
                })
                .collect();
            let slices: Vec<&crate::evidence::SliceItem> =
                its.iter().filter_map(|it| it.slice.as_ref()).collect();
            let sum = |f: fn(&crate::evidence::SliceItem) -> u64| slices.iter().map(|s| f(s)).sum();
            let (tp, fp, fn_): (u64, u64, u64) = (sum(|s| s.tp), sum(|s| s.fp), sum(|s| s.fn_));
            let (objects, frames): (u64, u64) = (sum(|s| s.objects), sum(|s| s.frames as u64));
            let ratio = |k: u64, n: u64| (n > 0).then(|| k as f64 / n as f64);
            let lower = |k: u64, n: u64| {
                crate::metrics::stats::clopper_pearson(k, n, 0.95).map(|i| i.lower)
            };
            let value = match metric {
                "recall" => ratio(tp, tp + fn_),
                "precision" => ratio(tp, tp + fp),
                "recall_lcb" => lower(tp, tp + fn_),
                "precision_lcb" => lower(tp, tp + fp),
                "critical_misses" => Some(
                    slices
                        .iter()
                        .map(|s| s.critical_misses.unwrap_or(0) as f64)
                        .sum(),
                ),
                _ => None,
            };
            let rule = slices.first().map(|s| s.rule.clone()).unwrap_or_default();
            // The scenarios with frames in the slice (a night scenario has none by day).
            let scenarios: Vec<&str> = its
                .iter()
                .filter(|it| it.slice.as_ref().is_some_and(|s| s.frames > 0))
                .map(|it| it.scenario.as_str())
                .collect();
            let counts = format!(
                "tp {tp}, fp {fp}, fn {fn_} over {objects} objects in {frames} frames of {} scenario(s): {}",
                scenarios.len(),
                scenarios.join(", ")
            );
            let (verdict, detail) = match value {
                Some(v) => {
                    let ok = comparison.holds(v, threshold);
                    (
                        if ok { Verdict::Pass } else { Verdict::Fail },
                        format!(
                            "{metric} {} {} {} pooled ({counts}); slice: {rule}",
                            fmt_num(v),
                            if ok {
                                comparison.symbol()
                            } else {
                                negated(comparison)
                            },
                            fmt_num(threshold)
                        ),
                    )
                }
                None => (
                    Verdict::Fail,
                    format!("no pooled {metric}: nothing to count ({counts}); slice: {rule}"),
                ),
            };
            let mut artefacts: Vec<ArtefactRef> = Vec::new();
            for it in &its {
                for a in &it.artefacts {
                    if !artefacts.contains(a) {
                        artefacts.push(a.clone());
                    }
                }
            }
            InstanceVerdict {
                scenario: format!("{} scenarios pooled", scenarios.len()),
                engine,
                engine_sha256,
                platform,
                compared_with: None,
                class,
                verdict,
                measured: value,
                limit: Some(threshold),
                comparison,
                detail,
                artefacts,
            }
        })
        .collect()
}

fn any_glob(patterns: &[String], value: &str) -> bool {
    patterns.is_empty()
        || patterns.iter().any(|p| {
            glob::Pattern::new(p)
                .map(|g| g.matches(value))
                .unwrap_or(p == value)
        })
}

fn scope_matches(scope: &Scope, it: &EvidenceItem) -> bool {
    let engine_ok = any_glob(&scope.engines, &it.engine)
        || it
            .compared_with
            .as_ref()
            .is_some_and(|c| !scope.engines.is_empty() && any_glob(&scope.engines, &c.engine));
    let platform_ok = any_glob(&scope.platforms, &it.platform)
        || it.compared_with.as_ref().is_some_and(|c| {
            !scope.platforms.is_empty() && any_glob(&scope.platforms, &c.platform)
        });
    let tags_ok = scope.scenario_tags.is_empty()
        || scope
            .scenario_tags
            .iter()
            .any(|t| it.scenario_tags.iter().any(|u| u == t));
    engine_ok && platform_ok && tags_ok && any_glob(&scope.scenarios, &it.scenario)
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1e-300)
}

fn item_matches(req: &Requirement, it: &EvidenceItem) -> bool {
    item_matches_metric(req, it, true)
}

/// [`item_matches`], with the item's metric checked or not.
fn item_matches_metric(req: &Requirement, it: &EvidenceItem, metric: bool) -> bool {
    let kind_ok = matches!(
        (req.kind, it.kind),
        (
            RequirementKind::Detection,
            crate::evidence::EvidenceKind::Detection
        ) | (
            RequirementKind::Timing,
            crate::evidence::EvidenceKind::Timing
        ) | (
            RequirementKind::Consistency,
            crate::evidence::EvidenceKind::Consistency
        )
    );
    if !kind_ok || (metric && it.metric != req.evidence_metric()) || !scope_matches(&req.scope, it)
    {
        return false;
    }
    match &req.check {
        Check::Threshold {
            class, iou, slice, ..
        } => {
            let class_ok = class.as_ref().is_none_or(|c| it.class.as_ref() == Some(c));
            // A slice requirement reads only the figures of its own slice and rule; a
            // requirement without one never reads a slice's figures.
            match slice {
                None => {
                    class_ok
                        && it.slice.is_none()
                        && iou.is_none_or(|q| it.iou.is_some_and(|v| close(v, q)))
                }
                Some(s) => {
                    let q = iou.unwrap_or(SLICE_DEFAULT_IOU);
                    class_ok
                        && it.slice.as_ref().is_some_and(|x| x.slice == *s)
                        && it.iou.is_some_and(|v| close(v, q))
                }
            }
        }
        Check::Pwcet { probability, .. } => it.probability.is_some_and(|p| close(p, *probability)),
        Check::HwmMargin { .. } => true,
        Check::Integrity => false,
        Check::DetectByTtc { rule, class, .. } => {
            class.as_ref().is_none_or(|c| it.class.as_ref() == Some(c))
                && it.ttc.as_ref().is_some_and(|t| t.rule == rule.id())
        }
    }
}

/// One verdict per (family, engine, platform, class): the share of targets whose time to
/// collision at stable detection reaches `min_ttc_s`, judged on its 95% Clopper–Pearson
/// lower bound. A target never stably detected, or without a figure, does not meet it.
fn ttc_instances(items: &[&EvidenceItem], min_ttc_s: f64, min_share: f64) -> Vec<InstanceVerdict> {
    type Key = (String, String, String, String, Option<String>);
    let mut groups: std::collections::BTreeMap<Key, Vec<&EvidenceItem>> = Default::default();
    for it in items {
        let family = it
            .ttc
            .as_ref()
            .map(|t| t.family.clone())
            .unwrap_or_else(|| it.scenario.clone());
        groups
            .entry((
                family,
                it.engine.clone(),
                it.engine_sha256.clone(),
                it.platform.clone(),
                it.class.clone(),
            ))
            .or_default()
            .push(it);
    }
    groups
        .into_iter()
        .map(|((family, engine, engine_sha256, platform, class), its)| {
            let met = its
                .iter()
                .filter(|it| it.value.is_some_and(|v| v >= min_ttc_s))
                .count() as u64;
            let n = its.len() as u64;
            let lcb = crate::metrics::stats::clopper_pearson(met, n, 0.95).map(|i| i.lower);
            let verdict = match lcb {
                Some(l) if l >= min_share => Verdict::Pass,
                _ => Verdict::Fail,
            };
            let worst = its
                .iter()
                .filter(|it| !it.value.is_some_and(|v| v >= min_ttc_s))
                .map(|it| match it.value {
                    Some(v) => format!("{} ({} s)", it.scenario, fmt_num(v)),
                    None => format!("{} (never stably detected)", it.scenario),
                })
                .take(3)
                .collect::<Vec<_>>();
            let detail = format!(
                "{met} of {n} targets detected with TTC ≥ {} s (latency included); share {} , 95% lower bound {} {} {}{}",
                fmt_num(min_ttc_s),
                fmt_num(met as f64 / n.max(1) as f64),
                lcb.map(fmt_num).unwrap_or_else(|| "not computable".into()),
                if verdict == Verdict::Pass { "≥" } else { "<" },
                fmt_num(min_share),
                if worst.is_empty() {
                    String::new()
                } else {
                    format!("; not met: {}", worst.join(", "))
                }
            );
            let mut artefacts: Vec<ArtefactRef> = Vec::new();
            for it in &its {
                for a in &it.artefacts {
                    if !artefacts.contains(a) {
                        artefacts.push(a.clone());
                    }
                }
            }
            InstanceVerdict {
                scenario: family,
                engine,
                engine_sha256,
                platform,
                compared_with: None,
                class,
                verdict,
                measured: lcb,
                limit: Some(min_share),
                comparison: Comparison::AtLeast,
                detail,
                artefacts,
            }
        })
        .collect()
}

fn item_instance(req: &Requirement, it: &EvidenceItem) -> InstanceVerdict {
    let Some(value) = it.value else {
        // No figure: the instance fails with the reason, never with a stand-in number.
        let (limit, comparison) = match &req.check {
            Check::Threshold {
                comparison,
                threshold,
                ..
            } => (Some(*threshold), *comparison),
            Check::Pwcet { deadline, .. } | Check::HwmMargin { deadline, .. } => {
                (deadline_for(*deadline, it), Comparison::AtMost)
            }
            Check::Integrity => (None, Comparison::AtMost),
            Check::DetectByTtc { min_share, .. } => (Some(*min_share), Comparison::AtLeast),
        };
        let detail = it
            .no_value
            .clone()
            .unwrap_or_else(|| "no figure was recorded".into());
        return instance(it, Verdict::Fail, None, limit, comparison, detail);
    };
    let (measured, limit, comparison, detail) = match &req.check {
        Check::Threshold {
            metric,
            comparison,
            threshold,
            ..
        } => {
            let ok = comparison.holds(value, *threshold);
            let mut detail = format!(
                "{metric} {} {} {}",
                fmt_num(value),
                if ok {
                    comparison.symbol()
                } else {
                    negated(*comparison)
                },
                fmt_num(*threshold)
            );
            if let Some(s) = &it.slice {
                detail.push_str(&format!(" ({}); slice: {}", s.counts(), s.rule));
            }
            (Some(value), Some(*threshold), *comparison, detail)
        }
        Check::Pwcet {
            probability,
            deadline,
        } => timing(
            value,
            deadline_for(*deadline, it),
            format!("pWCET UCB at p={probability:e}/frame {} ms", fmt_num(value)),
        ),
        Check::HwmMargin { margin, deadline } => timing(
            value * margin,
            deadline_for(*deadline, it),
            format!(
                "high-water mark {} ms × margin {} = {} ms",
                fmt_num(value),
                fmt_num(*margin),
                fmt_num(value * margin)
            ),
        ),
        Check::Integrity | Check::DetectByTtc { .. } => unreachable_grouped(),
    };
    let verdict = match (measured, limit) {
        (Some(m), Some(l)) if comparison.holds(m, l) => Verdict::Pass,
        _ => Verdict::Fail,
    };
    instance(it, verdict, measured, limit, comparison, detail)
}

fn instance(
    it: &EvidenceItem,
    verdict: Verdict,
    measured: Option<f64>,
    limit: Option<f64>,
    comparison: Comparison,
    detail: String,
) -> InstanceVerdict {
    InstanceVerdict {
        scenario: it.scenario.clone(),
        engine: it.engine.clone(),
        engine_sha256: it.engine_sha256.clone(),
        platform: it.platform.clone(),
        compared_with: it.compared_with.clone(),
        class: it.class.clone(),
        verdict,
        measured,
        limit,
        comparison,
        detail,
        artefacts: it.artefacts.clone(),
    }
}

// Integrity requirements never reach `item_instance` (see `evaluate_one`); keep a total
// function rather than panicking.
/// Integrity and `detect_by_ttc` are judged over groups, never one item at a time.
fn unreachable_grouped() -> (Option<f64>, Option<f64>, Comparison, String) {
    (
        None,
        None,
        Comparison::AtMost,
        "judged over a group of items, not one item".into(),
    )
}

fn deadline_for(d: Deadline, it: &EvidenceItem) -> Option<f64> {
    match d {
        Deadline::Ms(ms) => Some(ms),
        Deadline::Scenario => it.deadline_ms,
    }
}

fn timing(
    measured: f64,
    deadline: Option<f64>,
    what: String,
) -> (Option<f64>, Option<f64>, Comparison, String) {
    let detail = match deadline {
        Some(d) => format!(
            "{what} {} deadline {} ms",
            if measured <= d { "≤" } else { ">" },
            fmt_num(d)
        ),
        None => format!("{what}; no deadline (neither the requirement nor the scenario gives one)"),
    };
    (Some(measured), deadline, Comparison::AtMost, detail)
}

fn negated(c: Comparison) -> &'static str {
    match c {
        Comparison::AtLeast => "<",
        Comparison::AtMost => ">",
    }
}

fn integrity_instance(c: &IntegrityCheck) -> InstanceVerdict {
    let what = match c.artefact {
        crate::evidence::IntegrityArtefact::Engine => "engine",
        crate::evidence::IntegrityArtefact::Adapter => "adapter",
    };
    let detail = match &c.actual_sha256 {
        Some(a) if c.ok() => format!(
            "{what} {} sha256 {} matches its lock entry",
            c.path,
            short_hash(a)
        ),
        Some(a) => format!(
            "{what} {} sha256 {} ≠ locked {}",
            c.path,
            short_hash(a),
            short_hash(&c.expected_sha256)
        ),
        None => format!("{what} {} could not be read", c.path),
    };
    InstanceVerdict {
        scenario: "-".into(),
        engine: c.engine.clone(),
        engine_sha256: c.expected_sha256.clone(),
        platform: "-".into(),
        compared_with: None,
        class: Some(what.into()),
        verdict: if c.ok() { Verdict::Pass } else { Verdict::Fail },
        measured: None,
        limit: None,
        comparison: Comparison::AtMost,
        detail,
        artefacts: vec![ArtefactRef {
            path: c.path.clone(),
            sha256: c.actual_sha256.clone(),
        }],
    }
}

/// Numbers as reviewers read them: up to 4 significant decimals, no trailing zeros.
pub fn fmt_num(v: f64) -> String {
    if v == v.trunc() && v.abs() < 1e15 {
        return format!("{v:.0}");
    }
    if v.abs() >= 1e-3 && v.abs() < 1e6 {
        let s = format!("{v:.4}");
        return s.trim_end_matches('0').trim_end_matches('.').to_string();
    }
    format!("{v:.3e}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_naturally() {
        assert_eq!(fmt_num(0.0), "0");
        assert_eq!(fmt_num(3.0), "3");
        assert_eq!(fmt_num(0.8), "0.8");
        assert_eq!(fmt_num(33.333333), "33.3333");
        assert_eq!(fmt_num(1e-6), "1.000e-6");
        assert_eq!(fmt_num(-0.25), "-0.25");
    }

    fn slice_item(scenario: &str, tp: u64, fp: u64, fn_: u64, rule: &str) -> EvidenceItem {
        let slice = crate::metrics::slice::Slice {
            class: Some("pedestrian".into()),
            min_height: Some(40.0),
            outside: Some(crate::metrics::slice::Outside::Ignored),
            ..Default::default()
        };
        EvidenceItem {
            kind: crate::evidence::EvidenceKind::Detection,
            metric: "recall_lcb".into(),
            scenario: scenario.into(),
            scenario_tags: vec!["pedestrian".into()],
            engine: "det".into(),
            engine_sha256: "ab".repeat(32),
            platform: "cpu".into(),
            compared_with: None,
            class: Some("pedestrian".into()),
            iou: Some(0.5),
            probability: None,
            // The per-scenario figure is not what pooling reads: the counts are.
            value: Some(0.0),
            no_value: None,
            deadline_ms: None,
            artefacts: Vec::new(),
            ttc: None,
            slice: Some(crate::evidence::SliceItem {
                slice,
                rule: rule.into(),
                frames: 10,
                objects: tp + fn_,
                tp,
                fp,
                fn_,
                critical_misses: Some(1),
            }),
        }
    }

    fn evidence(items: Vec<EvidenceItem>) -> EvidenceSet {
        EvidenceSet {
            schema_version: crate::evidence::EVIDENCE_SCHEMA_VERSION,
            run_id: None,
            run: crate::evidence::RunStatus {
                complete: true,
                reason: None,
            },
            integrity: crate::evidence::IntegrityStatus::from_checks(Vec::new()),
            items,
            not_detectable: Vec::new(),
            tool: None,
        }
    }

    fn requirement(metric: &str, threshold: f64, over: &str) -> Requirement {
        let text = format!(
            "schema_version: 1\nrequirements:\n  - id: R\n    text: t\n    kind: detection\n    metric: {metric}\n    threshold: {threshold}\n    slice: {{class: pedestrian, min_height: 40}}\n    over: {over}\n"
        );
        super::super::Requirements::parse(std::path::Path::new("r.yaml"), &text)
            .unwrap()
            .requirements
            .remove(0)
    }

    #[test]
    fn pooled_slice_figures_come_from_the_summed_counts() {
        // 18 of 20 and 27 of 30 found: pooled 45 of 50, whose 95% Clopper-Pearson lower
        // bound is not any scenario's own.
        let ev = evidence(vec![
            slice_item("a", 18, 3, 2, "the rule"),
            slice_item("b", 27, 1, 3, "the rule"),
        ]);
        let e = evaluate(&[requirement("recall_lcb", 0.75, "all_scenarios")], &ev);
        let r = &e.requirements[0];
        assert_eq!(r.instances.len(), 1, "{r:?}");
        let i = &r.instances[0];
        let expected = crate::metrics::stats::clopper_pearson(45, 50, 0.95)
            .unwrap()
            .lower;
        assert_eq!(i.measured, Some(expected));
        assert_eq!(i.verdict, Verdict::Pass);
        assert!(
            i.detail
                .contains("tp 45, fp 4, fn 5 over 50 objects in 20 frames of 2 scenario(s): a, b")
                && i.detail.contains("slice: the rule"),
            "{}",
            i.detail
        );
        assert!(r
            .slice
            .as_deref()
            .unwrap()
            .contains("pooled over every scenario"));
        // Critical misses pool as a sum.
        let e = evaluate(
            &[requirement("critical_misses", 1.0, "all_scenarios")],
            &evidence(vec![
                EvidenceItem {
                    metric: "critical_misses".into(),
                    ..slice_item("a", 1, 0, 0, "r")
                },
                EvidenceItem {
                    metric: "critical_misses".into(),
                    ..slice_item("b", 1, 0, 0, "r")
                },
            ]),
        );
        assert_eq!(e.requirements[0].instances[0].measured, Some(2.0));
        assert_eq!(e.requirements[0].verdict, Verdict::Fail);
    }

    #[test]
    fn an_engine_that_cannot_detect_the_class_keeps_the_requirement_from_passing() {
        let parse = |extra: &str| {
            let text = format!(
                "schema_version: 1\n{extra}requirements:\n  - id: R\n    text: t\n    kind: detection\n    metric: recall_lcb\n    class: pedestrian\n    iou: 0.5\n    threshold: 0.5\n"
            );
            super::super::Requirements::parse(std::path::Path::new("r.yaml"), &text).unwrap()
        };
        // Engine `det` passes on pedestrians; engine `coco` cannot detect them.
        let mut passing = slice_item("a", 9, 0, 1, "r");
        passing.slice = None;
        passing.value = Some(0.9);
        let mut ev = evidence(vec![passing]);
        ev.not_detectable.push(crate::evidence::NotDetectable {
            engine: "coco".into(),
            engine_sha256: "cd".repeat(32),
            platform: "cpu".into(),
            class: "pedestrian".into(),
            scenario_classes: "{car: car}".into(),
        });
        let e = evaluate(&parse("").requirements, &ev);
        let r = &e.requirements[0];
        assert_eq!(r.verdict, Verdict::NotApplicable, "{r:?}");
        assert_eq!(r.count(Verdict::Pass), 1);
        assert_eq!(r.count(Verdict::NotApplicable), 1);
        assert!(!r.accepted() && !e.passed(), "the default policy fails it");
        assert_eq!(r.shown(), "not applicable (gate: fail)");
        assert_eq!(r.worst().map(|w| w.engine.as_str()), Some("coco"));
        let e = evaluate(&parse("not_applicable: pass\n").requirements, &ev);
        assert!(e.requirements[0].accepted() && e.passed());
        assert_eq!(e.requirements[0].verdict, Verdict::NotApplicable);
        // A failure elsewhere still fails it, whatever the policy.
        let mut failing = ev.clone();
        failing.items[0].value = Some(0.1);
        let e = evaluate(&parse("not_applicable: pass\n").requirements, &failing);
        assert_eq!(e.requirements[0].verdict, Verdict::Fail);
        // An engine outside the requirement's scope is not judged on it at all.
        let mut scoped = parse("").requirements;
        scoped[0].scope.engines = vec!["det".into()];
        assert_eq!(
            evaluate(&scoped, &ev).requirements[0].verdict,
            Verdict::Pass
        );
    }

    #[test]
    fn slice_requirements_read_only_their_own_slice() {
        // Per scenario: one instance each; an item of another slice (or none) is not read.
        let mut other = slice_item("c", 1, 0, 0, "r");
        if let Some(s) = other.slice.as_mut() {
            s.slice.min_height = Some(50.0);
        }
        let plain = EvidenceItem {
            slice: None,
            ..slice_item("d", 1, 0, 0, "r")
        };
        let ev = evidence(vec![slice_item("a", 1, 0, 0, "r"), other, plain]);
        let e = evaluate(&[requirement("recall_lcb", 0.0, "scenario")], &ev);
        let scenarios: Vec<&str> = e.requirements[0]
            .instances
            .iter()
            .map(|i| i.scenario.as_str())
            .collect();
        assert_eq!(scenarios, ["a"]);
    }
}
