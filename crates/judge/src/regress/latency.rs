//! The latency checks of `diff`: each run (or interleaved block) is one unit that gives
//! one p50, one p99 and one pWCET; the equivalence test compares the units, never the
//! pooled frames.

use super::equivalence::{self, PriorVariance, Verdict};
use super::{pwcet_ucb, Check, Decision, Design, Margin, Thresholds, Units};
use adasval_record::record::LatencyRow;

/// One engine of one run, as a source of units.
pub(crate) struct Source {
    pub engine: String,
    pub rows: Vec<LatencyRow>,
    pub wcet: serde_json::Value,
    /// Interleaved sessions: per scenario, the (first sample, samples) of each block of
    /// this engine's trace.
    pub blocks: Option<Vec<(String, usize, usize)>>,
}

impl Source {
    fn samples(&self, scenario: &str) -> Vec<f64> {
        self.rows
            .iter()
            .filter(|r| r.scenario == scenario && r.engine == self.engine)
            .map(|r| r.sample.infer_ns as f64 / 1e6)
            .collect()
    }

    /// The units of a scenario: the whole trace, or its blocks when `split`.
    fn units(&self, scenario: &str, split: bool) -> Vec<Vec<f64>> {
        if split {
            self.blocks_of(scenario)
        } else {
            vec![self.samples(scenario)]
        }
        .into_iter()
        .filter(|u| !u.is_empty())
        .collect()
    }

    /// The blocks of a scenario in schedule order, empty ones kept so that the k-th block
    /// of one engine stays beside the k-th of the other; the whole trace as one block when
    /// the run has no schedule.
    fn blocks_of(&self, scenario: &str) -> Vec<Vec<f64>> {
        let all = self.samples(scenario);
        match &self.blocks {
            None => vec![all],
            Some(blocks) => blocks
                .iter()
                .filter(|(s, _, _)| s == scenario)
                .map(|&(_, first, n)| all.get(first..first + n).map_or(vec![], <[f64]>::to_vec))
                .collect(),
        }
    }

    fn pwcet(&self, scenario: &str) -> Option<f64> {
        pwcet_ucb(&self.wcet, &self.engine, scenario, 1e-6)
    }
}

fn quantile(unit: &[f64], q: f64) -> f64 {
    let mut s = unit.to_vec();
    s.sort_by(f64::total_cmp);
    adasval_core::timing::percentile_sorted(&s, q * 100.0)
}

/// Earlier runs, grouped by engine (SHA-256): the spread of each group's unit statistics
/// around its own mean is run-to-run variation, whatever the engine.
pub(crate) struct History {
    pub groups: Vec<Vec<Source>>,
}

impl History {
    fn prior(&self, stat: impl Fn(&Source) -> Option<f64>) -> PriorVariance {
        self.groups
            .iter()
            .map(|g| PriorVariance::of_group(&g.iter().filter_map(&stat).collect::<Vec<_>>()))
            .fold(PriorVariance::default(), |a, b| a + b)
    }
}

pub(crate) fn checks(
    scenario: &str,
    design: Design,
    baseline: &[Source],
    candidate: &[Source],
    history: &History,
    th: &Thresholds,
) -> Vec<Check> {
    let mut out = Vec::new();
    let split = design == Design::Interleaved;
    let units = |side: &[Source]| -> Vec<Vec<f64>> {
        side.iter().flat_map(|s| s.units(scenario, split)).collect()
    };
    let (ub, uc) = (units(baseline), units(candidate));
    let kind = match design {
        Design::Interleaved => "blocks",
        Design::Sessions => "sessions",
        Design::Runs | Design::SingleRuns => "runs",
    };
    for (q, name, margin) in [(0.5, "p50", th.p50), (0.99, "p99", th.p99)] {
        let xb: Vec<f64> = ub.iter().map(|u| quantile(u, q)).collect();
        let xc: Vec<f64> = uc.iter().map(|u| quantile(u, q)).collect();
        // Sessions: the p50's change from blocks matched in time, where every session has one.
        let matched = (design == Design::Sessions && q == 0.5)
            .then(|| matched_p50_ratios(baseline, candidate, scenario))
            .flatten()
            .filter(|r| r.len() == xb.len() && xc.len() == xb.len());
        let xc_judged: Vec<f64> = match &matched {
            Some(r) => xb.iter().zip(r).map(|(b, r)| b * r).collect(),
            None => xc.clone(),
        };
        // Paired units carry their own variance; earlier runs add nothing to that.
        let prior = if design.paired() {
            PriorVariance::default()
        } else {
            history.prior(|s| {
                let u = s.samples(scenario);
                (!u.is_empty()).then(|| quantile(&u, q))
            })
        };
        if let Some(mut c) = check(
            scenario,
            &format!("infer latency {name} (ms)"),
            &xb,
            &xc_judged,
            prior,
            margin,
            design.paired(),
            kind,
            th,
        ) {
            if matched.is_some() {
                // The candidate's own p50, not the baseline plus the matched change.
                c.candidate = Some(equivalence::mean(&xc));
                let plain = equivalence::mean(&xc) - equivalence::mean(&xb);
                let how = format!(
                    "change from time-matched blocks: each session's median, over its adjacent baseline/candidate block pairs, of the ratio of the blocks' p50s, times the session's baseline p50 (the sessions' own p50s differ by {plain:+.4} ms on average)"
                );
                c.note = Some(match c.note.take() {
                    Some(n) => format!("{n}; {how}"),
                    None => how,
                });
            }
            if let Some(thin) = thin_tail(&ub, &uc, q, kind) {
                // A "p99" of units with two samples beyond it is their maxima: whatever
                // the interval says, it says nothing about the p99 (docs/REGRESSION.md).
                let was = c.decision;
                c.decision = Decision::Inconclusive;
                c.runs_needed = None;
                c.note = Some(match (was, c.note.take()) {
                    (Decision::Inconclusive, Some(n)) => format!("{n}; {thin}"),
                    (Decision::Inconclusive, None) => thin,
                    (was, _) => format!(
                        "{thin}; the interval alone would have said {}",
                        was.as_str()
                    ),
                });
            }
            out.push(c);
        }
    }
    // pWCET: one bound per run (per session and engine when sessions are paired).
    let bounds =
        |side: &[Source]| -> Vec<Option<f64>> { side.iter().map(|s| s.pwcet(scenario)).collect() };
    let (ob, oc) = (bounds(baseline), bounds(candidate));
    let what = "pWCET UCB at 1e-6 (ms)";
    let (pb, pc): (Vec<f64>, Vec<f64>) = if design == Design::Sessions {
        ob.iter()
            .zip(&oc)
            .filter_map(|(b, c)| Some(((*b)?, (*c)?)))
            .unzip()
    } else {
        (
            ob.iter().flatten().copied().collect(),
            oc.iter().flatten().copied().collect(),
        )
    };
    // A session whose baseline has a bound and whose candidate has none.
    let lost = if design == Design::Sessions {
        ob.iter().zip(&oc).any(|(b, c)| b.is_some() && c.is_none())
    } else {
        !ob.iter().all(Option::is_none) && oc.iter().all(Option::is_none)
    };
    if lost {
        // Losing a bound the baseline had is a regression.
        let with: Vec<f64> = ob.iter().flatten().copied().collect();
        out.push(Check {
            scenario: scenario.to_string(),
            what: what.into(),
            baseline: Some(equivalence::mean(&with)),
            candidate: None,
            delta: None,
            ci: None,
            p_value: None,
            margin: None,
            units: None,
            runs_needed: None,
            limit: "the candidate keeps a pWCET bound".into(),
            decision: Decision::Regressed,
            note: Some(if design == Design::Sessions {
                "in a session where the baseline has a pWCET bound the candidate has none".into()
            } else {
                "the baseline has a pWCET bound and the candidate none".into()
            }),
        });
    } else if !pb.is_empty() {
        let (prior, paired, kind) = if design == Design::Sessions {
            (PriorVariance::default(), true, "sessions")
        } else {
            (history.prior(|s| s.pwcet(scenario)), false, "runs")
        };
        if let Some(c) = check(scenario, what, &pb, &pc, prior, th.pwcet, paired, kind, th) {
            out.push(c);
        }
    }
    out
}

/// Each session's candidate/baseline ratio of the p50 with its two engines under the same
/// conditions: the median over adjacent block pairs of ln(candidate block p50 / baseline
/// block p50), exponentiated; the check applies it to the session's baseline p50. A host's
/// slow phase lasts many blocks, so it falls on both blocks of most pairs; the sessions' own
/// p50s move with the share of slow blocks each engine happened to get (docs/REGRESSION.md,
/// "Time-matched blocks"). Sessions without samples of the scenario are left out, as their
/// units are; None when a session has no pair with two positive p50s.
fn matched_p50_ratios(
    baseline: &[Source],
    candidate: &[Source],
    scenario: &str,
) -> Option<Vec<f64>> {
    baseline
        .iter()
        .zip(candidate)
        .map(|(b, c)| (b.blocks_of(scenario), c.blocks_of(scenario)))
        .filter(|(bb, _)| bb.iter().any(|x| !x.is_empty()))
        .map(|(bb, cb)| {
            let mut r: Vec<f64> = bb
                .iter()
                .zip(&cb)
                .filter(|(x, y)| !x.is_empty() && !y.is_empty())
                .map(|(x, y)| (quantile(x, 0.5), quantile(y, 0.5)))
                .filter(|&(x, y)| x > 0.0 && y > 0.0)
                .map(|(x, y)| (y / x).ln())
                .collect();
            if r.is_empty() {
                return None;
            }
            r.sort_by(f64::total_cmp);
            Some(adasval_core::timing::percentile_sorted(&r, 50.0).exp())
        })
        .collect()
}

/// Units beyond their quantile by fewer than this many samples give a quantile whose
/// spread across units is that of a handful of order statistics.
const TAIL_SAMPLES: f64 = 10.0;

/// Why a tail check cannot decide however many units are replayed: each unit holds too few
/// samples beyond the quantile, so its quantile is one of its few largest samples.
fn thin_tail(ub: &[Vec<f64>], uc: &[Vec<f64>], q: f64, kind: &str) -> Option<String> {
    // The centre of a unit rests on many samples whatever its size.
    if q <= 0.5 {
        return None;
    }
    let fewest = ub.iter().chain(uc).map(Vec::len).min()?;
    let beyond = fewest as f64 * (1.0 - q);
    (beyond < TAIL_SAMPLES).then(|| {
        format!(
            "the smallest of these {kind} has {fewest} samples, {beyond:.1} of them beyond the p{:.0}: about {} samples per unit (more repetitions) would steady it",
            q * 100.0,
            (TAIL_SAMPLES / (1.0 - q)).ceil()
        )
    })
}

#[allow(clippy::too_many_arguments)]
fn check(
    scenario: &str,
    what: &str,
    xb: &[f64],
    xc: &[f64],
    prior: PriorVariance,
    margin: Margin,
    paired: bool,
    kind: &'static str,
    th: &Thresholds,
) -> Option<Check> {
    if xb.is_empty() || xc.is_empty() {
        return None;
    }
    let base = equivalence::mean(xb);
    let m = margin.of(base);
    let eq = if paired {
        equivalence::paired(xb, xc, m, th.alpha)?
    } else {
        equivalence::independent(xb, xc, prior, m, th.alpha)?
    };
    let single = xb.len() == 1 && xc.len() == 1;
    let mut note = None;
    let mut decision = match eq.verdict {
        Verdict::Improved => Decision::Improved,
        Verdict::Equivalent => Decision::Equivalent,
        Verdict::Regressed => Decision::Regressed,
        Verdict::Inconclusive => Decision::Inconclusive,
    };
    if single && matches!(decision, Decision::Regressed | Decision::Improved) {
        // One unit per side: a shift beyond the margin may be one unusual run.
        decision = Decision::Inconclusive;
        note = Some(format!(
            "one {} per side: only equivalence can be shown; the change is outside the margin, replay more runs to decide",
            &kind[..kind.len() - 1]
        ));
    }
    let estimated = eq.se.is_finite() && eq.df >= 1.0;
    let mut runs_needed = None;
    if decision == Decision::Inconclusive && note.is_none() {
        if !estimated {
            note = Some(
                "no estimate of run-to-run variation: replay at least 3 runs per side, or keep earlier sealed runs of these engines beside the baseline (or name them with --history)"
                    .into(),
            );
        } else if paired && kind == "sessions" {
            let sd = eq.se * (xb.len() as f64).sqrt();
            runs_needed = equivalence::sessions_needed(sd, eq.delta, m, th.alpha);
            note = Some(match runs_needed {
                Some(n) => format!("the interval crosses the margin: about {n} sessions would decide at this spread and change"),
                None => "the interval crosses the margin and the change is too close to it to decide with up to 50 sessions".into(),
            });
        } else if paired {
            note = Some("the interval crosses the margin: replay more blocks (repetitions)".into());
        } else {
            let (nb, nc) = (xb.len() as f64, xc.len() as f64);
            let sd = eq.se / (1.0 / nb + 1.0 / nc).sqrt();
            runs_needed = equivalence::runs_needed(sd, eq.delta, m, th.alpha);
            note = Some(match runs_needed {
                Some(n) => format!("the interval crosses the margin: about {n} runs per side would decide at this spread and change"),
                None => "the interval crosses the margin and the change is too close to it to decide with up to 50 runs per side".into(),
            });
        }
    }
    let level = (1.0 - 2.0 * th.alpha) * 100.0;
    Some(Check {
        scenario: scenario.to_string(),
        what: what.to_string(),
        baseline: Some(base),
        candidate: Some(equivalence::mean(xc)),
        delta: Some(eq.delta),
        ci: estimated.then_some(eq.ci),
        p_value: estimated.then_some(eq.p_equivalence),
        margin: Some(m),
        units: Some(Units {
            kind,
            baseline: xb.len(),
            candidate: xc.len(),
            prior_df: prior.df,
            df: eq.df,
        }),
        runs_needed,
        limit: format!(
            "{level:.0}% CI of the change inside ±{m:.4} ms (max of {:.0}% of baseline, {} ms)",
            margin.relative * 100.0,
            margin.absolute_ms
        ),
        decision,
        note,
    })
}

/// `regressed` and `improved` over several latency checks. The overall decision is
/// `regressed` when any one check is, so with K latency checks each at one-sided level
/// alpha, identical engines would be called regressed in up to K·alpha of comparisons (the
/// issue-21 A/A target is alpha). Each check's shift therefore has to hold at alpha / K
/// (Bonferroni over the latency checks that have an interval); one that holds only at
/// alpha becomes `inconclusive`, saying so. `equivalent` needs every check to be
/// equivalent, an intersection–union test (Berger 1982) that keeps its level alpha without
/// adjustment, so equivalence is untouched.
pub(crate) fn family_wise(checks: &mut [Check], th: &Thresholds) {
    let k = checks
        .iter()
        .filter(|c| c.units.is_some() && c.ci.is_some())
        .count();
    if k < 2 {
        return;
    }
    let level = th.alpha / k as f64;
    for c in checks.iter_mut() {
        let (Some(u), Some((lo, hi)), Some(delta)) = (&c.units, c.ci, c.delta) else {
            continue;
        };
        let shifted = match c.decision {
            Decision::Regressed => "slower",
            Decision::Improved => "faster",
            _ => continue,
        };
        // The reported interval is delta ± t(1 − alpha, df)·se; the same se at alpha / K.
        let se = (hi - lo) / (2.0 * equivalence::t_quantile(1.0 - th.alpha, u.df));
        let h = equivalence::t_quantile(1.0 - level, u.df) * se;
        let holds = if c.decision == Decision::Regressed {
            delta - h > 0.0
        } else {
            delta + h < 0.0
        };
        if !holds {
            c.decision = Decision::Inconclusive;
            c.note = Some(format!(
                "{shifted} by more than the margin at one-sided level {:.3}, but not at {level:.4} = {:.3} / {k}, the level each of this comparison's {k} latency checks must reach so that identical engines are called regressed or improved in at most {:.0}% of comparisons (Bonferroni): more units would decide",
                th.alpha, th.alpha, th.alpha * 100.0
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use adasval_record::trace::Sample;

    /// A latency check with the interval `delta ± t(0.95, 4)·se` and `decision`.
    fn decided(delta: f64, se: f64, decision: Decision) -> Check {
        let h = equivalence::t_quantile(0.95, 4.0) * se;
        Check {
            scenario: "s".into(),
            what: "infer latency p50 (ms)".into(),
            baseline: Some(10.0),
            candidate: Some(10.0 + delta),
            delta: Some(delta),
            ci: Some((delta - h, delta + h)),
            p_value: None,
            margin: Some(0.5),
            units: Some(Units {
                kind: "runs",
                baseline: 3,
                candidate: 3,
                prior_df: 0.0,
                df: 4.0,
            }),
            runs_needed: None,
            limit: String::new(),
            decision,
            note: None,
        }
    }

    /// With three latency checks each shift must hold at alpha / 3: t(0.95, 4) = 2.132 and
    /// t(1 − 0.05/3, 4) = 3.186 (scipy.stats.t.ppf), so a change 2.5 standard errors from 0
    /// is a shift alone and inconclusive among three checks, and one 3.5 standard errors
    /// away stays a shift; equivalence is left alone.
    #[test]
    fn shifts_must_hold_at_the_family_wise_level() {
        let th = Thresholds::default();
        assert!((equivalence::t_quantile(1.0 - 0.05 / 3.0, 4.0) - 3.1863155).abs() < 1e-6);
        let mut one = vec![decided(1.0, 0.4, Decision::Regressed)];
        family_wise(&mut one, &th);
        assert_eq!(one[0].decision, Decision::Regressed, "one check: alpha");
        let mut two = vec![
            decided(1.0, 0.4, Decision::Regressed),
            decided(-1.4, 0.4, Decision::Improved),
            decided(0.0, 0.1, Decision::Equivalent),
        ];
        family_wise(&mut two, &th);
        assert_eq!(two[0].decision, Decision::Inconclusive);
        assert!(
            two[0].note.as_deref().unwrap_or("").contains("/ 3"),
            "{:?}",
            two[0].note
        );
        assert_eq!(
            two[1].decision,
            Decision::Improved,
            "3.5 se from 0 holds at alpha / 3"
        );
        assert_eq!(two[2].decision, Decision::Equivalent);
    }

    /// One inference of scenario `s` that took `ns` in all.
    fn row(engine: &str, frame: u32, rep: u32, ns: u64) -> LatencyRow {
        LatencyRow {
            scenario: "s".into(),
            engine: engine.into(),
            sample: Sample {
                frame,
                rep,
                pre_ns: 0,
                infer_ns: ns,
                post_ns: 0,
                total_ns: ns,
                device_h2d_ns: None,
                device_compute_ns: None,
                device_d2h_ns: None,
            },
        }
    }

    /// One run's trace: `n` exponential-tailed latencies (ms) times `scale`, from a fixed
    /// generator, so every decision below is the same on every machine.
    fn run(seed: u64, n: usize, scale: f64) -> Source {
        let mut state = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let rows = (0..n)
            .map(|i| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let u = ((state >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
                let ms = scale * (1.0 - 0.1 * (1.0 - u).ln());
                row("e", i as u32, 0, (ms * 1e6) as u64)
            })
            .collect();
        Source {
            engine: "e".into(),
            rows,
            wcet: serde_json::Value::Null,
            blocks: None,
        }
    }

    fn p99_check(n: usize, scale: f64) -> Check {
        let base: Vec<Source> = (0..3).map(|k| run(k, n, 1.0)).collect();
        let cand: Vec<Source> = (10..13).map(|k| run(k, n, scale)).collect();
        let history = History { groups: vec![] };
        checks(
            "s",
            Design::Runs,
            &base,
            &cand,
            &history,
            &Thresholds::default(),
        )
        .into_iter()
        .find(|c| c.what.contains("p99"))
        .expect("a p99 check")
    }

    /// A `wcet.json` with one pWCET bound at 1e-6 (or none) for engine `e` on `s`.
    fn with_bound(mut src: Source, bound: Option<f64>) -> Source {
        src.wcet = match bound {
            Some(ucb) => serde_json::json!({"analyses": [{
                "engine": "e", "scenario": "s", "verdict": "pwcet",
                "selected": {"method": "pot", "estimator": "mle"},
                "pwcet": [{"method": "pot", "estimator": "mle",
                           "exceedance_probability": 1e-6, "ci_high": ucb}]}]}),
            None => serde_json::json!({"analyses": [{
                "engine": "e", "scenario": "s", "verdict": "too_few_samples"}]}),
        };
        src
    }

    /// Sessions pair the two engines' pWCET bounds too: bounds that differ by 20% from
    /// session to session but by at most 0.2% inside a session are equivalent; as
    /// independent runs the same six bounds are not; a session where the candidate lost its
    /// bound is a regression.
    #[test]
    fn sessions_pair_the_pwcet_bounds() {
        let th = Thresholds::default();
        let base = [20.0, 24.0, 28.0];
        let cand = [20.02, 23.99, 28.05];
        let side = |b: &[f64]| -> Vec<Source> {
            b.iter()
                .enumerate()
                .map(|(k, &x)| with_bound(run(k as u64, 50, 1.0), Some(x)))
                .collect()
        };
        let none = History { groups: vec![] };
        let pwcet = |design, b: &[Source], c: &[Source]| {
            checks("s", design, b, c, &none, &th)
                .into_iter()
                .find(|c| c.what.starts_with("pWCET"))
                .expect("a pWCET check")
        };
        let paired = pwcet(Design::Sessions, &side(&base), &side(&cand));
        assert_eq!(paired.decision, Decision::Equivalent, "{paired:?}");
        assert_eq!(
            paired.units.map(|u| (u.kind, u.df)),
            Some(("sessions", 2.0))
        );
        let apart = pwcet(Design::Runs, &side(&base), &side(&cand));
        assert_eq!(apart.decision, Decision::Inconclusive, "{apart:?}");
        let mut lost = side(&cand);
        lost[1] = with_bound(run(1, 50, 1.0), None);
        let c = pwcet(Design::Sessions, &side(&base), &lost);
        assert_eq!(c.decision, Decision::Regressed, "{c:?}");
        assert!(c.note.unwrap_or_default().contains("in a session"));
    }

    /// One interleaved session of 50 block pairs of 20 samples, scheduled B0 C0 B1 C1 ...:
    /// the host is 1.6 times slower in the schedule's blocks `slow`, and the candidate
    /// `scale` times the baseline. Without its schedule when `schedule` is false.
    fn session(
        seed: u64,
        slow: std::ops::Range<usize>,
        scale: f64,
        schedule: bool,
    ) -> (Source, Source) {
        let mut state = seed.wrapping_add(1442695040888963407);
        let mut side = |engine: &str, parity: usize, factor: f64| -> Source {
            let mut rows = Vec::new();
            let mut blocks = Vec::new();
            for k in 0..50 {
                let phase = if slow.contains(&(2 * k + parity)) {
                    1.6
                } else {
                    1.0
                };
                blocks.push(("s".to_string(), 20 * k, 20));
                for i in 0..20 {
                    state = state
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    let u = (state >> 11) as f64 / (1u64 << 53) as f64;
                    let ns = (phase * factor * (10.0 + 0.5 * u) * 1e6) as u64;
                    rows.push(row(engine, i, k as u32, ns));
                }
            }
            Source {
                engine: engine.into(),
                rows,
                wcet: serde_json::Value::Null,
                blocks: schedule.then_some(blocks),
            }
        };
        let b = side("b", 0, 1.0);
        (b, side("c", 1, scale))
    }

    /// A slow phase of the host that ends one block later for one engine than for the other
    /// moves a session's median from one mode to the other (10 ms or 16 ms): the sessions'
    /// own p50s then differ by +6, −6 and +6 ms although the engines are the same, and only the
    /// time-matched blocks see that they are. A candidate 30% slower in every block is
    /// regressed either way.
    #[test]
    fn sessions_match_blocks_in_time_for_the_p50() {
        let th = Thresholds::default();
        let none = History { groups: vec![] };
        let p50 = |scale: f64, schedule: bool| {
            // Slow blocks: candidate 26 of 50 and baseline 25; baseline 26 and candidate
            // 25; candidate 26 and baseline 25 again.
            let (b, c): (Vec<Source>, Vec<Source>) = [(1, 1..52), (2, 0..51), (3, 1..52)]
                .into_iter()
                .map(|(seed, slow)| session(seed, slow, scale, schedule))
                .unzip();
            checks("s", Design::Sessions, &b, &c, &none, &th)
                .into_iter()
                .find(|c| c.what.contains("p50"))
                .expect("a p50 check")
        };
        let unmatched = p50(1.0, false);
        assert_eq!(unmatched.decision, Decision::Inconclusive, "{unmatched:?}");
        let matched = p50(1.0, true);
        assert_eq!(matched.decision, Decision::Equivalent, "{matched:?}");
        let note = matched.note.clone().unwrap_or_default();
        assert!(note.contains("time-matched"), "{note}");
        // The report keeps the candidate's own p50s, whose mean is a mode apart from the
        // baseline's in two of three sessions.
        let (base, cand) = (matched.baseline.unwrap(), matched.candidate.unwrap());
        assert!(
            (cand - base).abs() > 1.0 && matched.delta.unwrap().abs() < 0.1,
            "{matched:?}"
        );
        assert_eq!(p50(1.3, true).decision, Decision::Regressed);
        assert_eq!(p50(1.3, false).decision, Decision::Inconclusive);
    }

    #[test]
    fn a_p99_of_runs_with_few_samples_beyond_it_is_not_decided() {
        let c = p99_check(200, 1.3);
        assert_eq!(c.decision, Decision::Inconclusive, "{c:?}");
        let note = c.note.unwrap_or_default();
        assert!(note.contains("2.0 of them beyond the p99"), "{note}");
        assert!(note.contains("would have said regressed"), "{note}");
    }

    #[test]
    fn a_p99_of_runs_with_enough_samples_beyond_it_is_decided() {
        assert_eq!(p99_check(2000, 1.3).decision, Decision::Regressed);
        assert_eq!(p99_check(2000, 1.0).decision, Decision::Equivalent);
    }
}
