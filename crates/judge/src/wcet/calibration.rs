//! Calibration suite of the pWCET analysis: simulated traces whose marginal quantiles are
//! known, analysed many times, to measure how often the printed upper bound lies below the
//! truth. Used by `examples/wcet_calibration.rs` (the bench, `bench/wcet_calibration.sh`)
//! and by a reduced test. Truths are analytic (closed form, or a one-dimensional root or
//! quadrature of a closed-form survival function) except where a process says otherwise
//! ([`Truth::Simulated`]), which then holds only down to 100 expected exceedances.

use super::gev::Gev;
use super::rng::Rng;
use super::special::{normal_quantile, normal_sf};
use super::{analyse, Verdict, WcetSettings};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Probabilities the suite reports.
pub const PROBABILITIES: [f64; 3] = [1e-3, 1e-6, 1e-9];

/// Everything positive: latencies are non-negative, so each process sits well above 0.
const LOC: f64 = 50.0;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Process {
    IidGumbel,
    /// GEV xi = -0.2: a bounded (reversed-Weibull) tail.
    IidWeibullBounded,
    IidGevHeavy,
    IidLognormal,
    IidShiftedExp,
    /// The marginal of AR(1) phi = 0.7 drawn independently (the comparison row).
    IidGaussian,
    /// Gaussian AR(1) with this phi, stationary start; marginal N(LOC, 1 / (1 - phi^2)).
    ArGauss(f64),
    /// AR(1) with Lomax (GPD xi = 0.25) innovations: heavy right tail, no closed form.
    ArHeavy(f64),
    /// Two persistent states N(LOC, 1) and N(LOC + 3, 1), switch probability 1e-3 per frame.
    MarkovSwitch,
    /// LOC + 2 sin(2 pi t / 100 + random phase) + N(0, 1).
    Periodic,
    /// N(LOC, 1) then N(LOC + 2, 1) from the middle of the trace (should be refused; the
    /// truth is the later, slower regime).
    LevelShift,
    /// N(LOC, 1) then N(LOC + 0.5, 1) from 60% of the trace: a small shift, the kind the
    /// block-maxima tests missed (the truth is again the later regime).
    LevelShiftSmall,
    /// Max-autoregressive X_t = max(a X_{t-1}, (1 - a) Z_t), Z unit Frechet, a = 0.5:
    /// unit-Frechet margins, extremal index 1 - a.
    ArmaxFrechet,
    /// The same on the log scale: standard Gumbel margins (shifted by LOC), theta = 0.5.
    ArmaxGumbel,
}

/// How the truth of a process is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Truth {
    Analytic,
    /// From one long simulation; valid only down to 100 expected exceedances.
    Simulated,
}

fn gumbel_isf(p: f64) -> f64 {
    LOC - (-(-p).ln_1p()).ln()
}

/// Root of a decreasing survival function by bisection (exact to f64 resolution).
fn solve_sf(sf: impl Fn(f64) -> f64, p: f64, mut lo: f64, mut hi: f64) -> f64 {
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if sf(mid) > p {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

fn lomax(r: &mut Rng) -> f64 {
    // GPD xi = 0.25, scale 1: heavy right tail, all moments below 4 finite
    ((1.0 - r.uniform()).ln() * -0.25).exp_m1() / 0.25
}

/// Simulated-truth sample size: 10^7 frames give >= 100 exceedances down to 1e-5.
const TRUTH_N: usize = 10_000_000;

impl Process {
    pub fn all() -> Vec<Process> {
        use Process::*;
        vec![
            IidGumbel,
            IidWeibullBounded,
            IidGevHeavy,
            IidLognormal,
            IidShiftedExp,
            IidGaussian,
            ArGauss(0.3),
            ArGauss(0.7),
            ArGauss(0.95),
            ArHeavy(0.3),
            ArHeavy(0.7),
            ArHeavy(0.95),
            MarkovSwitch,
            Periodic,
            LevelShift,
            LevelShiftSmall,
            ArmaxFrechet,
            ArmaxGumbel,
        ]
    }

    pub fn name(&self) -> String {
        use Process::*;
        match self {
            IidGumbel => "iid Gumbel".into(),
            IidWeibullBounded => "iid Weibull-bounded (GEV xi=-0.2)".into(),
            IidGevHeavy => "iid GEV xi=0.2".into(),
            IidLognormal => "iid lognormal".into(),
            IidShiftedExp => "iid shifted exponential".into(),
            IidGaussian => "iid Gaussian (AR 0.7 marginal)".into(),
            ArGauss(phi) => format!("AR(1) phi={phi} Gaussian"),
            ArHeavy(phi) => format!("AR(1) phi={phi} Lomax innov."),
            MarkovSwitch => "Markov-switching 2-state".into(),
            Periodic => "periodic + noise".into(),
            LevelShift => "level shift at n/2".into(),
            LevelShiftSmall => "small level shift (0.5 sd at 0.6 n)".into(),
            ArmaxFrechet => "ARMAX Frechet theta=0.5".into(),
            ArmaxGumbel => "ARMAX Gumbel theta=0.5".into(),
        }
    }

    /// The process whose [`Process::name`] is `name`.
    pub fn from_name(name: &str) -> Option<Process> {
        Process::all().into_iter().find(|p| p.name() == name)
    }

    pub fn is_iid(&self) -> bool {
        use Process::*;
        matches!(
            self,
            IidGumbel
                | IidWeibullBounded
                | IidGevHeavy
                | IidLognormal
                | IidShiftedExp
                | IidGaussian
        )
    }

    /// Whether the right answer is a refusal (the trace is not stationary).
    pub fn should_refuse(&self) -> bool {
        matches!(self, Process::LevelShift | Process::LevelShiftSmall)
    }

    pub fn truth_kind(&self) -> Truth {
        match self {
            Process::ArHeavy(_) => Truth::Simulated,
            _ => Truth::Analytic,
        }
    }

    /// One trace of `n` frames in acquisition order.
    pub fn simulate(&self, seed: u64, n: usize) -> Vec<f64> {
        use Process::*;
        let mut r = Rng::stream(seed, 0xCA11, n as u64);
        let heavy = Gev {
            shape: 0.2,
            location: LOC,
            scale: 1.0,
        };
        let bounded = Gev {
            shape: -0.2,
            location: LOC,
            scale: 1.0,
        };
        match *self {
            IidGumbel => (0..n).map(|_| LOC - (-r.uniform().ln()).ln()).collect(),
            IidWeibullBounded => (0..n).map(|_| bounded.sample(r.uniform())).collect(),
            IidGevHeavy => (0..n).map(|_| heavy.sample(r.uniform())).collect(),
            IidLognormal => (0..n).map(|_| (3.0 + 0.25 * r.normal()).exp()).collect(),
            IidShiftedExp => (0..n).map(|_| LOC - r.uniform().ln()).collect(),
            IidGaussian => {
                let sd = 1.0 / (1.0f64 - 0.49).sqrt();
                (0..n).map(|_| LOC + sd * r.normal()).collect()
            }
            ArGauss(phi) => {
                let mut x = r.normal() / (1.0 - phi * phi).sqrt();
                (0..n)
                    .map(|_| {
                        let v = x;
                        x = phi * x + r.normal();
                        LOC + v
                    })
                    .collect()
            }
            ArHeavy(phi) => {
                // burn-in long enough for phi^k to vanish
                let mut x = 0.0;
                for _ in 0..2000 {
                    x = phi * x + lomax(&mut r);
                }
                (0..n)
                    .map(|_| {
                        let v = x;
                        x = phi * x + lomax(&mut r);
                        LOC + v
                    })
                    .collect()
            }
            MarkovSwitch => {
                let mut state = r.uniform() < 0.5;
                (0..n)
                    .map(|_| {
                        let v = LOC + if state { 3.0 } else { 0.0 } + r.normal();
                        if r.uniform() < 1e-3 {
                            state = !state;
                        }
                        v
                    })
                    .collect()
            }
            Periodic => {
                let phase = std::f64::consts::TAU * r.uniform();
                (0..n)
                    .map(|t| {
                        LOC + 2.0 * (std::f64::consts::TAU * t as f64 / 100.0 + phase).sin()
                            + r.normal()
                    })
                    .collect()
            }
            LevelShift => (0..n)
                .map(|t| LOC + if t >= n / 2 { 2.0 } else { 0.0 } + r.normal())
                .collect(),
            LevelShiftSmall => (0..n)
                .map(|t| LOC + if t >= 6 * n / 10 { 0.5 } else { 0.0 } + r.normal())
                .collect(),
            ArmaxFrechet | ArmaxGumbel => {
                let a: f64 = 0.5;
                let frechet = |r: &mut Rng| -1.0 / r.uniform().ln();
                let mut x = frechet(&mut r);
                let v: Vec<f64> = (0..n)
                    .map(|_| {
                        let v = x;
                        x = (a * x).max((1.0 - a) * frechet(&mut r));
                        v
                    })
                    .collect();
                if *self == ArmaxGumbel {
                    v.into_iter().map(|x| LOC + x.ln()).collect()
                } else {
                    v
                }
            }
        }
    }

    /// Marginal value exceeded with probability `p` per frame (None when the truth does
    /// not reach `p`: simulated truths below 100 expected exceedances).
    pub fn truth(&self, p: f64) -> Option<f64> {
        use Process::*;
        Some(match *self {
            IidGumbel | ArmaxGumbel => gumbel_isf(p),
            IidWeibullBounded => Gev {
                shape: -0.2,
                location: LOC,
                scale: 1.0,
            }
            .isf(p),
            IidGevHeavy => Gev {
                shape: 0.2,
                location: LOC,
                scale: 1.0,
            }
            .isf(p),
            IidLognormal => (3.0 - 0.25 * normal_quantile(p)).exp(),
            IidShiftedExp => LOC - p.ln(),
            IidGaussian => LOC - normal_quantile(p) / (1.0f64 - 0.49).sqrt(),
            ArGauss(phi) => LOC - normal_quantile(p) / (1.0 - phi * phi).sqrt(),
            ArHeavy(phi) => {
                if p * (TRUTH_N as f64) < 100.0 {
                    return None;
                }
                let mut x = self.simulate(0x7EE7 ^ phi.to_bits(), TRUTH_N);
                let k = ((1.0 - p) * TRUTH_N as f64).floor() as usize;
                let (_, v, _) = x.select_nth_unstable_by(k.min(TRUTH_N - 1), f64::total_cmp);
                *v
            }
            MarkovSwitch => solve_sf(
                |x| 0.5 * normal_sf(x - LOC) + 0.5 * normal_sf(x - LOC - 3.0),
                p,
                LOC - 10.0,
                LOC + 20.0,
            ),
            Periodic => {
                // marginal over the uniform phase: periodic trapezoid rule, exact to
                // rounding for this smooth integrand
                let k = 4096;
                let sf = |x: f64| {
                    (0..k)
                        .map(|j| {
                            let u = std::f64::consts::TAU * j as f64 / k as f64;
                            normal_sf(x - LOC - 2.0 * u.sin())
                        })
                        .sum::<f64>()
                        / k as f64
                };
                solve_sf(sf, p, LOC - 10.0, LOC + 20.0)
            }
            LevelShift => LOC + 2.0 - normal_quantile(p),
            LevelShiftSmall => LOC + 0.5 - normal_quantile(p),
            ArmaxFrechet => -1.0 / (-p).ln_1p(),
        })
    }
}

/// Outcome of one analysed trace at the suite's probabilities.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunOutcome {
    pub seed: u64,
    pub verdict: Verdict,
    /// The printed upper bound (`ci_high` of the selected model) per probability.
    pub bounds: Vec<Option<f64>>,
}

pub fn run_one(process: Process, n: usize, seed: u64, s: &WcetSettings) -> RunOutcome {
    let x = process.simulate(seed, n);
    let s = WcetSettings {
        probabilities: PROBABILITIES.to_vec(),
        ..s.clone()
    };
    match analyse(&x, &s) {
        Ok(a) => {
            let bounds = PROBABILITIES
                .iter()
                .map(|&p| {
                    if a.verdict != Verdict::Pwcet {
                        return None;
                    }
                    crate::timing::selected_at(&a, p).1
                })
                .collect();
            RunOutcome {
                seed,
                verdict: a.verdict,
                bounds,
            }
        }
        Err(_) => RunOutcome {
            seed,
            verdict: Verdict::TooFewSamples,
            bounds: vec![None; PROBABILITIES.len()],
        },
    }
}

/// Binomial(n, q) distribution function at k.
fn binom_cdf(k: usize, n: usize, q: f64) -> f64 {
    if q <= 0.0 {
        return 1.0;
    }
    if q >= 1.0 {
        return if k >= n { 1.0 } else { 0.0 };
    }
    let mut ln_c = 0.0f64; // ln C(n, i)
    let mut sum = 0.0;
    for i in 0..=k.min(n) {
        if i > 0 {
            ln_c += ((n - i + 1) as f64).ln() - (i as f64).ln();
        }
        sum += (ln_c + i as f64 * q.ln() + (n - i) as f64 * (-q).ln_1p()).exp();
    }
    sum.min(1.0)
}

/// One-sided upper Clopper–Pearson limit at `level` for k successes in n trials.
pub fn clopper_pearson_upper(k: usize, n: usize, level: f64) -> f64 {
    if n == 0 || k >= n {
        return 1.0;
    }
    let (mut lo, mut hi) = (k as f64 / n as f64, 1.0);
    for _ in 0..100 {
        let mid = 0.5 * (lo + hi);
        if binom_cdf(k, n, mid) > 1.0 - level {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    hi
}

fn pct(sorted: &[f64], q: f64) -> f64 {
    super::special::quantile_sorted(sorted, q)
}

/// Summary at one probability.
#[derive(Debug, Clone, Serialize)]
pub struct ProbSummary {
    pub probability: f64,
    pub truth: Option<f64>,
    /// Runs with a printed bound.
    pub printed: usize,
    pub below: usize,
    pub below_share: Option<f64>,
    /// One-sided 95% Clopper–Pearson upper limit of the below-truth share.
    pub below_cp95: Option<f64>,
    pub ratio_median: Option<f64>,
    pub ratio_p90: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CaseSummary {
    pub process: String,
    pub n: usize,
    pub runs: usize,
    pub refused: usize,
    /// Refusals by verdict (not_stationary, not_iid, no_acceptable_fit, too_few_samples).
    pub refusals: Vec<(Verdict, usize)>,
    pub truth: Truth,
    pub probs: Vec<ProbSummary>,
}

pub fn summarise(process: Process, n: usize, runs: &[RunOutcome]) -> CaseSummary {
    let probs = PROBABILITIES
        .iter()
        .enumerate()
        .map(|(j, &p)| {
            let truth = process.truth(p);
            let printed: Vec<f64> = runs.iter().filter_map(|r| r.bounds[j]).collect();
            let (below, ratios) = match truth {
                Some(t) => {
                    let below = printed.iter().filter(|&&b| b < t).count();
                    let mut r: Vec<f64> = printed.iter().map(|b| b / t).collect();
                    r.sort_by(f64::total_cmp);
                    (Some(below), r)
                }
                None => (None, vec![]),
            };
            ProbSummary {
                probability: p,
                truth,
                printed: printed.len(),
                below: below.unwrap_or(0),
                below_share: below
                    .filter(|_| !printed.is_empty())
                    .map(|b| b as f64 / printed.len() as f64),
                below_cp95: below
                    .filter(|_| !printed.is_empty())
                    .map(|b| clopper_pearson_upper(b, printed.len(), 0.95)),
                ratio_median: (!ratios.is_empty()).then(|| pct(&ratios, 0.5)),
                ratio_p90: (!ratios.is_empty()).then(|| pct(&ratios, 0.9)),
            }
        })
        .collect();
    CaseSummary {
        process: process.name(),
        n,
        runs: runs.len(),
        refused: runs.iter().filter(|r| r.verdict != Verdict::Pwcet).count(),
        refusals: [
            Verdict::NotStationary,
            Verdict::NotIid,
            Verdict::NoAcceptableFit,
            Verdict::TooFewSamples,
        ]
        .iter()
        .map(|&v| (v, runs.iter().filter(|r| r.verdict == v).count()))
        .filter(|e| e.1 > 0)
        .collect(),
        truth: process.truth_kind(),
        probs,
    }
}

/// Runs `seeds` traces of `process` with `n` frames (seeds 1..=seeds), in parallel.
pub fn run_case(process: Process, n: usize, seeds: u64, s: &WcetSettings) -> Vec<RunOutcome> {
    (1..=seeds)
        .into_par_iter()
        .map(|seed| run_one(process, n, seed, s))
        .collect()
}

/// One line of a calibration runs file (JSON lines): what a partial run of the bench
/// writes and `--merge` reads back, so that seed ranges run apart (on several machines or
/// in several sessions) summarise as one. `extrapolate` and `shape_floor` are the settings
/// that change the outcome; runs made with different ones do not merge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub process: String,
    pub n: usize,
    pub extrapolate: bool,
    pub shape_floor: bool,
    #[serde(flatten)]
    pub outcome: RunOutcome,
}

/// Groups run records into cases (in the order of [`Process::all`], then n), checking that
/// they share their settings and that a seed repeated across files has the same outcome.
pub fn merge_records(
    records: &[RunRecord],
) -> Result<Vec<(Process, usize, Vec<RunOutcome>)>, String> {
    if let Some(r) = records.iter().find(|r| {
        r.extrapolate != records[0].extrapolate || r.shape_floor != records[0].shape_floor
    }) {
        return Err(format!(
            "runs made with different settings: {} n={} seed {} has extrapolate={} shape_floor={}, the first \
             record extrapolate={} shape_floor={}",
            r.process, r.n, r.outcome.seed, r.extrapolate, r.shape_floor, records[0].extrapolate, records[0].shape_floor
        ));
    }
    let mut cases: Vec<(usize, Process, usize, Vec<RunOutcome>)> = Vec::new();
    for r in records {
        let Some(p) = Process::from_name(&r.process) else {
            return Err(format!("unknown process `{}`", r.process));
        };
        let order = Process::all()
            .iter()
            .position(|q| *q == p)
            .unwrap_or(usize::MAX);
        let case = match cases.iter_mut().find(|c| c.1 == p && c.2 == r.n) {
            Some(c) => c,
            None => {
                cases.push((order, p, r.n, Vec::new()));
                cases.last_mut().ok_or("no case")?
            }
        };
        match case.3.iter().find(|o| o.seed == r.outcome.seed) {
            Some(o) if *o != r.outcome => {
                return Err(format!(
                    "{} n={} seed {}: two different outcomes ({:?} and {:?})",
                    r.process, r.n, r.outcome.seed, o, r.outcome
                ))
            }
            Some(_) => {}
            None => case.3.push(r.outcome.clone()),
        }
    }
    cases.sort_by_key(|c| (c.2, c.0));
    Ok(cases
        .into_iter()
        .map(|(_, p, n, mut runs)| {
            runs.sort_by_key(|o| o.seed);
            (p, n, runs)
        })
        .collect())
}

fn fmt_opt(v: Option<f64>, digits: usize) -> String {
    v.map_or("—".into(), |x| format!("{x:.digits$}"))
}

/// Refused share, with the verdicts behind it.
fn refused_cell(c: &CaseSummary) -> String {
    let share = format!("{:.1}%", 100.0 * c.refused as f64 / c.runs.max(1) as f64);
    if c.refusals.is_empty() {
        return share;
    }
    let parts: Vec<String> = c
        .refusals
        .iter()
        .map(|(v, k)| {
            let name = serde_json::to_value(v)
                .ok()
                .and_then(|j| j.as_str().map(str::to_string))
                .unwrap_or_default();
            format!("{name} {k}")
        })
        .collect();
    format!("{share} ({})", parts.join(", "))
}

/// Markdown table of case summaries (one row per case).
pub fn markdown(cases: &[CaseSummary]) -> String {
    let mut t = String::from(
        "| process | n | runs | refused | below truth 1e-3 (CP95) | 1e-6 (CP95) | 1e-9 (CP95) | bound/truth 1e-3 med / p90 | 1e-6 med / p90 | 1e-9 med / p90 |\n|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for c in cases {
        let below: Vec<String> = c
            .probs
            .iter()
            .map(|p| match (p.below_share, p.below_cp95) {
                (Some(s), Some(u)) => {
                    format!(
                        "{}/{} = {:.1}% ({:.1}%)",
                        p.below,
                        p.printed,
                        100.0 * s,
                        100.0 * u
                    )
                }
                _ if p.truth.is_none() => "no truth".into(),
                _ => "0 printed".to_string(),
            })
            .collect();
        let ratio: Vec<String> = c
            .probs
            .iter()
            .map(|p| {
                format!(
                    "{} / {}",
                    fmt_opt(p.ratio_median, 3),
                    fmt_opt(p.ratio_p90, 3)
                )
            })
            .collect();
        t.push_str(&format!(
            "| {}{} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            c.process,
            if c.truth == Truth::Simulated {
                " (simulated truth)"
            } else {
                ""
            },
            c.n,
            c.runs,
            refused_cell(c),
            below[0],
            below[1],
            below[2],
            ratio[0],
            ratio[1],
            ratio[2]
        ));
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clopper_pearson_matches_known_values() {
        // scipy.stats.beta.ppf(0.95, 1, 100) = 0.0295130; beta.ppf(0.95, 6, 95) = 0.1022534
        assert!((clopper_pearson_upper(0, 100, 0.95) - 0.0295130).abs() < 1e-6);
        assert!((clopper_pearson_upper(5, 100, 0.95) - 0.1022534).abs() < 1e-6);
    }

    #[test]
    fn analytic_truths_match_their_survival_functions() {
        assert!(
            (Process::IidShiftedExp.truth(1e-6).unwrap() - (LOC + 6.0 * 10f64.ln())).abs() < 1e-9
        );
        // ARMAX Frechet: P(X > x) = 1 - exp(-1/x)
        let x = Process::ArmaxFrechet.truth(1e-6).unwrap();
        assert!(((-(-1.0 / x).exp_m1()) / 1e-6 - 1.0).abs() < 1e-9);
        let m = Process::MarkovSwitch.truth(1e-6).unwrap();
        let sf = 0.5 * normal_sf(m - LOC) + 0.5 * normal_sf(m - LOC - 3.0);
        assert!((sf / 1e-6 - 1.0).abs() < 1e-6);
        assert!(Process::ArHeavy(0.7).truth(1e-6).is_none());
    }

    #[test]
    fn simulated_marginals_match_the_truth_at_1e_2() {
        // the empirical 0.99 quantile of a long trace lies near the analytic one
        for p in [
            Process::IidLognormal,
            Process::ArGauss(0.7),
            Process::ArmaxGumbel,
            Process::MarkovSwitch,
            Process::Periodic,
        ] {
            let mut x = p.simulate(9, 400_000);
            let k = (0.99 * x.len() as f64) as usize;
            let (_, v, _) = x.select_nth_unstable_by(k, f64::total_cmp);
            let t = p.truth(1e-2).unwrap();
            assert!((*v - t).abs() / t < 0.01, "{}: {v} vs {t}", p.name());
        }
    }
}
