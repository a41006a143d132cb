//! WCET bounds from measured latencies (measurement-based probabilistic timing analysis).
//!
//! Sits after replay and timing in the pipeline: it reads latency traces (a run record's
//! `latencies.csv`, a trtexec `--exportTimes` file or a plain CSV) and never calls a
//! backend. For one trace in acquisition order, [`analyse`]:
//! 1. checks the preconditions ([`iid`]: Ljung–Box, runs, KS between halves, KPSS, with a
//!    Bonferroni split of alpha); dependent frames are routed through block maxima with
//!    blocks long enough that the maxima pass the same tests, or refused (`not_iid`);
//! 2. fits GEV to block maxima and GPD to threshold excesses, each by PWM and MLE
//!    ([`models`]), with AD and CvM parametric-bootstrap goodness of fit ([`gof`]);
//! 3. selects the model gates use (see [`select`]) and turns it into per-frame pWCET
//!    values with bootstrap intervals ([`pwcet`]);
//! 4. studies how the bound moves with the sample count ([`convergence`]).
//!
//! Conventions: shape xi as in Coles (xi > 0 heavy tail); scipy's genextreme has c = -xi,
//! genpareto c = xi. The method is written up in docs/WCET.md.

pub mod calibration;
pub mod changepoint;
pub mod convergence;
pub mod gev;
pub mod gof;
pub mod gpd;
pub mod homogeneity;
pub mod iid;
pub mod input;
pub mod lmoments;
pub mod mle;
pub mod models;
pub mod pwcet;
pub mod rng;
pub mod shape_floor;
pub mod special;
pub mod tail_info;
pub mod trace_bootstrap;

use changepoint::ChangePoint;
use convergence::Convergence;
use gof::GofResult;
use iid::TestResult;
pub use input::{
    analyse_run_dir, read_samples, RunAnalyses, SampleSource, TraceAnalysis, WcetError,
};
use models::{Dist, Estimator, Fit, Method, TailData};
use serde::Serialize;
use shape_floor::ShapeFloorInfo;
use special::{quantile_sorted, sorted_copy};
use tail_info::{ExtremalIndex, ThresholdInfo};

/// Effective settings of one analysis (every field resolved; recorded in the output).
#[derive(Debug, Clone, Serialize)]
pub struct WcetSettings {
    /// Family-wise level of the precondition tests; also the level of each GOF test.
    pub alpha: f64,
    /// Ljung–Box lags.
    pub lags: usize,
    pub block_size: usize,
    pub threshold_quantile: f64,
    /// Multiplier applied to the high-water mark for the `hwm_margin` figure.
    pub margin: f64,
    /// Per-frame exceedance probabilities.
    pub probabilities: Vec<f64>,
    pub seed: u64,
    /// Bootstrap resamples for the interval of the selected model.
    pub resamples: usize,
    /// Parametric-bootstrap resamples for each GOF p-value.
    pub gof_resamples: usize,
    /// Confidence level of the bootstrap interval.
    pub confidence: f64,
    /// Pin the model gates use.
    pub method: Option<Method>,
    pub estimator: Option<Estimator>,
    /// Minimum number of block maxima and of threshold excesses.
    pub min_blocks: usize,
    pub min_exceedances: usize,
    /// Relative spread of the last convergence points accepted as converged.
    pub convergence_tolerance: f64,
    /// Level of the change-point test run on the raw trace before any route.
    pub change_alpha: f64,
    /// Stationary-bootstrap replicates of the raw trace for the dependent route's interval.
    pub trace_resamples: usize,
    /// Dependent route: smallest AR(1) effective sample size n (1 - ρ) / (1 + ρ), with ρ the
    /// lag-1 autocorrelation of the raw trace, for which a bound is attempted
    /// ([`effective_samples`]).
    pub min_effective_samples: usize,
    /// Print bounds beyond the extrapolation limit (marked `beyond_limit`).
    pub extrapolate: bool,
    /// i.i.d. route: raise the upper bounds of a bounded (ξ < 0) selected tail to those of
    /// its ξ = 0 counterpart ([`shape_floor`]). Off only to measure what the floor does.
    pub shape_floor: bool,
    pub unit: String,
    pub stage: String,
}

impl Default for WcetSettings {
    fn default() -> Self {
        Self {
            alpha: 0.05,
            lags: 20,
            block_size: 50,
            threshold_quantile: 0.95,
            margin: 1.2,
            probabilities: default_probabilities(),
            seed: 0x5EED,
            resamples: 1000,
            gof_resamples: 200,
            confidence: 0.95,
            method: None,
            estimator: None,
            min_blocks: 30,
            min_exceedances: 30,
            convergence_tolerance: 0.05,
            change_alpha: 0.01,
            trace_resamples: 200,
            min_effective_samples: 1000,
            extrapolate: false,
            shape_floor: true,
            unit: "ms".into(),
            stage: "total".into(),
        }
    }
}

/// 1e-3 .. 1e-12 by decades.
pub fn default_probabilities() -> Vec<f64> {
    (3..=12).map(|e| 10f64.powi(-e)).collect()
}

impl WcetSettings {
    /// Smallest sample count for which an analysis is attempted.
    pub fn min_samples(&self) -> usize {
        let by_blocks = self.min_blocks * self.block_size;
        let by_excess =
            (self.min_exceedances as f64 / (1.0 - self.threshold_quantile)).ceil() as usize;
        by_blocks.max(by_excess)
    }
    /// The probability gates look at: the smallest requested.
    pub fn reference_probability(&self) -> f64 {
        self.probabilities
            .iter()
            .copied()
            .fold(f64::INFINITY, f64::min)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Pwcet,
    NotIid,
    /// A change point (level shift, regime switch) in the raw trace: no single marginal.
    NotStationary,
    TooFewSamples,
    NoAcceptableFit,
}

#[derive(Debug, Clone, Serialize)]
pub struct ModelReport {
    pub method: Method,
    pub estimator: Estimator,
    pub shape: f64,
    /// "bounded" (xi < -0.02), "exponential" (|xi| <= 0.02) or "heavy" (xi > 0.02).
    pub tail: String,
    /// GEV mu; for the GPD, the threshold (its location).
    pub location: f64,
    pub scale: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub block_size: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    /// Number of maxima or excesses fitted.
    pub n_fitted: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upper_endpoint: Option<f64>,
    pub log_likelihood: f64,
    pub gof: Vec<GofResult>,
    /// Fit converged, every GOF p-value >= alpha, every pWCET finite.
    pub acceptable: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct PwcetRow {
    pub method: Method,
    pub estimator: Estimator,
    pub exceedance_probability: f64,
    pub value: Option<f64>,
    /// How far this probability lies from the data (see [`extrapolation_class`]).
    pub extrapolation: Extrapolation,
    /// Bootstrap interval, for the selected model only.
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
}

/// Where a probability lies relative to the n samples analysed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Extrapolation {
    /// p >= 1/n: the data contain such frames; the model only smooths.
    InsideData,
    /// 1/n > p >= EXTRAPOLATION_LIMIT/n: rests on the tail model, within the calibrated range.
    Moderate,
    /// Below the limit: values only with `--extrapolate`, marked in every output.
    BeyondLimit,
}

/// How far below 1/n a bound is printed without `--extrapolate`: two decades, so that
/// 10^4 samples reach 1e-6 (the demo's REQ-TIM-001). The calibration suite (docs/WCET.md)
/// measured the bounds down to this point; 1e-9 with 10^4 samples is five decades out.
pub const EXTRAPOLATION_LIMIT: f64 = 1e-2;

pub fn extrapolation_class(p: f64, n: usize) -> Extrapolation {
    let n = n.max(1) as f64;
    // relative tolerance so that p = 1e-6 with n = 1e4 is not lost to rounding
    if p * n >= 1.0 - 1e-9 {
        Extrapolation::InsideData
    } else if p * n >= EXTRAPOLATION_LIMIT * (1.0 - 1e-9) {
        Extrapolation::Moderate
    } else {
        Extrapolation::BeyondLimit
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Selected {
    pub method: Method,
    pub estimator: Estimator,
    pub reference_probability: f64,
    pub rule: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct BlockMaximaInfo {
    pub block_size: usize,
    pub n_blocks: usize,
    pub dropped: usize,
    /// The raw frames failed the preconditions and the maxima of these blocks passed.
    pub routed: bool,
    /// Extremal index used in the block-to-frame conversion (1 when frames are i.i.d.).
    pub theta: f64,
    pub iid: Vec<TestResult>,
    /// Block sizes tried when routing, with whether their maxima passed.
    pub tried: Vec<(usize, bool)>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BandPoint {
    pub exceedance_probability: f64,
    pub value: f64,
    pub ci_low: f64,
    pub ci_high: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct BootstrapInfo {
    pub resamples: usize,
    pub failed: usize,
    pub confidence: f64,
    pub method: String,
    /// Dependent route: mean run length of the stationary bootstrap of the raw trace.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mean_run: Option<f64>,
    /// Dependent route: block sizes the replicates chose, with counts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub block_sizes: Option<Vec<(usize, usize)>>,
    /// Dependent route: 2.5%, 50%, 97.5% points of the replicates' extremal index.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub theta_range: Option<(f64, f64, f64)>,
    /// Fitted tail and interval on a probability grid (for the exceedance plot).
    pub band: Vec<BandPoint>,
}

/// Result of one trace's analysis (the `analyses[]` entries of `wcet.json`, with diagnostics).
#[derive(Debug, Clone, Serialize)]
pub struct Analysis {
    pub n: usize,
    pub max: f64,
    pub unit: String,
    pub stage: String,
    pub iid: Vec<TestResult>,
    /// Change-point test on the raw trace (run before any route).
    pub changepoint: Option<ChangePoint>,
    pub models: Vec<ModelReport>,
    pub pwcet: Vec<PwcetRow>,
    pub selected: Option<Selected>,
    pub verdict: Verdict,
    /// High-water mark (largest observation) and HWM x margin.
    pub hwm: f64,
    pub hwm_margin: f64,
    pub margin: f64,
    pub min_samples: usize,
    pub block_maxima: Option<BlockMaximaInfo>,
    pub extremal_index: Option<ExtremalIndex>,
    pub threshold: Option<ThresholdInfo>,
    pub bootstrap: Option<BootstrapInfo>,
    /// i.i.d. route with a bounded (ξ < 0) selected tail: the upper bounds carry the ξ = 0
    /// floor ([`shape_floor`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shape_floor: Option<ShapeFloorInfo>,
    pub convergence: Option<Convergence>,
    pub reasons: Vec<String>,
    pub advice: Vec<String>,
    pub settings: WcetSettings,
}

fn tail_kind(xi: f64) -> &'static str {
    if xi < -0.02 {
        "bounded"
    } else if xi > 0.02 {
        "heavy"
    } else {
        "exponential"
    }
}

fn lags_for(lags: usize, m: usize) -> usize {
    lags.min((m / 5).max(1))
}

/// Builds the model input for block size `b` and extremal index `theta`.
pub fn tail_data(x: &[f64], sorted: &[f64], b: usize, theta: f64, q: f64) -> TailData {
    let maxima = models::block_maxima(x, b);
    let maxima_sorted = sorted_copy(&maxima);
    let u = quantile_sorted(sorted, q);
    TailData {
        n: x.len(),
        block_size: b,
        maxima,
        maxima_sorted,
        theta,
        threshold: u,
        threshold_quantile: q,
        excesses_sorted: models::excesses(sorted, u),
    }
}

/// The reason every route that gives up on the raw trace states first.
fn raw_failures(tests: &[TestResult]) -> String {
    format!("raw samples fail: {}", failed_names(tests).join("; "))
}

fn failed_names(tests: &[TestResult]) -> Vec<String> {
    tests
        .iter()
        .filter(|t| !t.passed)
        .map(|t| {
            format!(
                "{} (statistic {:.4e}, p {:.3e} < {:.4})",
                t.name, t.statistic, t.p_value, t.alpha
            )
        })
        .collect()
}

/// Measurement changes suggested by the failing tests.
fn not_iid_advice(
    tests: &[TestResult],
    tried: &[(usize, bool)],
    s: &WcetSettings,
    n: usize,
) -> Vec<String> {
    let failed = |name: &str| tests.iter().any(|t| t.name == name && !t.passed);
    let mut a = Vec::new();
    if failed("ljung-box") || failed("runs") {
        a.push(
            "serial dependence: shuffle the order of inputs and scenarios between repetitions, reset state (caches, \
             allocator, CUDA graphs) or insert idle gaps so consecutive frames do not share history"
                .to_string(),
        );
    }
    if failed("ks-halves") || failed("kpss") {
        a.push(
            "non-stationarity (drift between the halves): lock GPU/memory/CPU clocks (e.g. `nvidia-smi -lgc/-lmc`, \
             performance governor), disable DVFS and thermal throttling, discard the warm-up, keep co-running load constant"
                .to_string(),
        );
    }
    let largest = tried.last().map(|t| t.0).unwrap_or(s.block_size);
    a.push(format!(
        "longer blocks: maxima of blocks up to {largest} frames still failed; collect at least {} frames so that blocks of {} give {} maxima",
        4 * largest * s.min_blocks,
        4 * largest,
        s.min_blocks
    ));
    a.push(format!("more samples: {n} frames were analysed; the route through block maxima needs enough blocks"));
    a
}

/// The documented selection rule: among acceptable fits (and those the flags pin), the
/// one with the largest pWCET at the reference probability; ties go to the earlier in
/// the order gev-bm/mle, gpd-pot/mle, gev-bm/pwm, gpd-pot/pwm.
pub const SELECTION_RULE: &str = "largest point pWCET at the reference probability among acceptable fits \
(converged, AD and CvM bootstrap p >= alpha, finite values), restricted by --method/--estimator; ties: \
gev-bm/mle, gpd-pot/mle, gev-bm/pwm, gpd-pot/pwm";

pub fn select(fits: &[(Fit, ModelReport)], s: &WcetSettings) -> Option<usize> {
    let order = |f: &Fit| match (f.method, f.estimator) {
        (Method::GevBm, Estimator::Mle) => 0,
        (Method::GpdPot, Estimator::Mle) => 1,
        (Method::GevBm, Estimator::Pwm) => 2,
        (Method::GpdPot, Estimator::Pwm) => 3,
    };
    let p = s.reference_probability();
    let mut best: Option<(usize, f64, i32)> = None;
    for (i, (f, r)) in fits.iter().enumerate() {
        if !r.acceptable
            || s.method.is_some_and(|m| m != f.method)
            || s.estimator.is_some_and(|e| e != f.estimator)
        {
            continue;
        }
        let Some(v) = f.dist.pwcet(p) else { continue };
        let better = match best {
            None => true,
            Some((_, bv, bo)) => v > bv || (v == bv && order(f) < bo),
        };
        if better {
            best = Some((i, v, order(f)));
        }
    }
    best.map(|b| b.0)
}

/// Probability-weighted-moment (L-moment) fits are used only for ξ < 1/2: their estimators
/// are asymptotically normal only there (Hosking, Wallis & Wood 1985 for the GEV; Hosking &
/// Wallis 1987 for the GPD), since beyond it the frames' second moment is infinite. Above it
/// the PWM shape is biased low and its bootstrap too narrow: in the calibration suite (ARMAX,
/// unit-Fréchet margins, ξ = 1) a selected PWM fit put the bound below the true 1e-6 quantile
/// in 9 of 15 traces.
pub const PWM_MAX_SHAPE: f64 = 0.5;

fn pwm_beyond_range(fit: &Fit) -> bool {
    fit.estimator == Estimator::Pwm && fit.dist.shape() >= PWM_MAX_SHAPE
}

fn report(
    fit: &Fit,
    data: &TailData,
    gof: Vec<GofResult>,
    alpha: f64,
    probs: &[f64],
) -> ModelReport {
    let (location, scale, block_size, threshold, n_fitted, upper) = match fit.dist {
        Dist::Gev {
            gev, block_size, ..
        } => (
            gev.location,
            gev.scale,
            Some(block_size),
            None,
            data.maxima.len(),
            (gev.shape < 0.0).then(|| gev.upper_endpoint()),
        ),
        Dist::Gpd { gpd, threshold, .. } => (
            threshold,
            gpd.scale,
            None,
            Some(threshold),
            data.excesses_sorted.len(),
            (gpd.shape < 0.0).then(|| threshold - gpd.scale / gpd.shape),
        ),
    };
    let finite = probs
        .iter()
        .all(|&p| fit.dist.pwcet(p).is_some_and(f64::is_finite));
    let acceptable = finite
        && fit.log_likelihood.is_finite()
        && gof.iter().all(|g| g.p_value >= alpha)
        && !pwm_beyond_range(fit);
    ModelReport {
        method: fit.method,
        estimator: fit.estimator,
        shape: fit.dist.shape(),
        tail: tail_kind(fit.dist.shape()).into(),
        location,
        scale,
        block_size,
        threshold,
        n_fitted,
        upper_endpoint: upper,
        log_likelihood: fit.log_likelihood,
        gof,
        acceptable,
    }
}

/// Probability grid of the exceedance plot: 4 points per decade from 1e-1 down to the
/// smallest requested probability.
fn band_grid(pmin: f64) -> Vec<f64> {
    let lo = pmin.log10().floor() as i32;
    let mut g = Vec::new();
    let mut e = -1.0f64;
    while e >= lo as f64 - 1e-9 {
        g.push(10f64.powf(e));
        e -= 0.25;
    }
    g
}

/// The next block size 2b, 4b, … (at least `min_blocks` maxima) whose maxima pass the
/// preconditions, recording each try in the block-maxima report.
fn longer_passing_block(
    x: &[f64],
    b: usize,
    s: &WcetSettings,
    a: &mut Analysis,
) -> Option<(usize, Vec<TestResult>)> {
    let mut nb = b * 2;
    while x.len() / nb >= s.min_blocks {
        let maxima = models::block_maxima(x, nb);
        let tests = iid::preconditions(&maxima, lags_for(s.lags, maxima.len()), s.alpha);
        let ok = tests.iter().all(|t| t.passed);
        if let Some(bm) = a.block_maxima.as_mut() {
            bm.tried.push((nb, ok));
        }
        if ok {
            return Some((nb, tests));
        }
        nb *= 2;
    }
    None
}

/// Without `--extrapolate`, rows beyond the extrapolation limit keep their probability and
/// class but no figures; with it, they keep them and the class marks them.
fn hide_beyond_limit(a: &mut Analysis, s: &WcetSettings) {
    let beyond: Vec<f64> = s
        .probabilities
        .iter()
        .copied()
        .filter(|&p| extrapolation_class(p, a.n) == Extrapolation::BeyondLimit)
        .collect();
    if beyond.is_empty() {
        return;
    }
    let list = beyond
        .iter()
        .map(|p| format!("{p:e}"))
        .collect::<Vec<_>>()
        .join(", ");
    let limit = EXTRAPOLATION_LIMIT / a.n as f64;
    if s.extrapolate {
        a.advice.push(format!(
            "bounds at {list} lie beyond the extrapolation limit ({limit:.1e} = 1e-2/n for n = {}) and are \
             printed only because of --extrapolate (marked `beyond_limit`): they rest on the tail model alone",
            a.n
        ));
        return;
    }
    for r in a
        .pwcet
        .iter_mut()
        .filter(|r| r.extrapolation == Extrapolation::BeyondLimit)
    {
        r.value = None;
        r.ci_low = None;
        r.ci_high = None;
    }
    a.advice.push(format!(
        "no bound at {list}: beyond the extrapolation limit ({limit:.1e} = 1e-2/n for n = {}); collect \
         more frames (a probability p needs n >= {}/p) or pass --extrapolate to print model-only bounds",
        a.n, EXTRAPOLATION_LIMIT
    ));
}

/// Raises the selected model's upper limits to those of its ξ = 0 counterpart where these
/// are higher (the shape floor of the i.i.d. route, [`shape_floor`]); `probs` are the requested
/// probabilities followed by the band grid.
fn raise_to_counterpart(
    fit: &Fit,
    data: &TailData,
    probs: &[f64],
    intervals: &mut [(f64, f64)],
    s: &WcetSettings,
) -> Option<ShapeFloorInfo> {
    let (point, floor) =
        pwcet::counterpart_bootstrap(fit, data, probs, s.resamples, s.confidence, s.seed)?;
    let mut raised = Vec::new();
    for (k, (iv, fl)) in intervals.iter_mut().zip(&floor).enumerate() {
        if fl.1.is_finite() && (iv.1.is_nan() || iv.1 < fl.1) {
            iv.1 = fl.1;
            // the requested probabilities whose bound is printed (not the plot grid)
            let printed = s.extrapolate
                || extrapolation_class(probs[k], data.n) != Extrapolation::BeyondLimit;
            if k < s.probabilities.len() && printed {
                raised.push(probs[k]);
            }
        }
    }
    let (counterpart, location, scale) = match point {
        Dist::Gev { gev, .. } => ("gumbel", gev.location, gev.scale),
        Dist::Gpd { gpd, threshold, .. } => ("exponential", threshold, gpd.scale),
    };
    Some(ShapeFloorInfo {
        applied: true,
        selected_shape: fit.dist.shape(),
        counterpart: counterpart.into(),
        location,
        scale,
        raised,
    })
}

/// Lag-1 autocorrelation ρ of a trace and its AR(1) effective sample size n (1 - ρ) / (1 + ρ)
/// (Bayley & Hammersley 1946; Zwiers & von Storch 1995), n itself when ρ <= 0. The dependent
/// route's block maxima and extremal index rest on the number of nearly independent
/// stretches in the trace, not on n: above the 1e-3 quantile, n p θ clusters (Coles 2001,
/// ch. 5), about 1.4 for 10^4 frames of AR(1) φ = 0.95, too few for any interval to cover.
/// ρ is estimated to about ±0.01 at 10^4 frames, so, unlike θ, a rule keyed on it does not
/// keep the traces whose estimate came out favourable.
pub fn effective_samples(samples: &[f64]) -> Option<(f64, f64)> {
    let rho = iid::lag1_autocorrelation(samples)?;
    let n = samples.len() as f64;
    let n_eff = if rho <= 0.0 {
        n
    } else {
        n * (1.0 - rho) / (1.0 + rho)
    };
    Some((rho, n_eff))
}

/// Analyses one trace given in acquisition order.
pub fn analyse(samples: &[f64], s: &WcetSettings) -> Result<Analysis, WcetError> {
    if samples.is_empty() {
        return Err(WcetError::Empty);
    }
    if let Some(i) = samples.iter().position(|v| !v.is_finite() || *v < 0.0) {
        return Err(WcetError::NonFinite { index: i });
    }
    let n = samples.len();
    let sorted = sorted_copy(samples);
    let hwm = sorted[n - 1];
    let min_n = s.min_samples();
    let iid = iid::preconditions(samples, s.lags, s.alpha);
    let mut a = Analysis {
        n,
        max: hwm,
        unit: s.unit.clone(),
        stage: s.stage.clone(),
        iid,
        changepoint: None,
        models: vec![],
        pwcet: vec![],
        selected: None,
        verdict: Verdict::TooFewSamples,
        hwm,
        hwm_margin: hwm * s.margin,
        margin: s.margin,
        min_samples: min_n,
        block_maxima: None,
        extremal_index: None,
        threshold: None,
        bootstrap: None,
        shape_floor: None,
        convergence: None,
        reasons: vec![],
        advice: vec![],
        settings: s.clone(),
    };
    if n < min_n {
        a.reasons.push(format!(
            "{n} samples < minimum {min_n} (at least {} block maxima of {} frames and {} excesses over the {} quantile)",
            s.min_blocks, s.block_size, s.min_exceedances, s.threshold_quantile
        ));
        a.advice.push(format!(
            "collect at least {min_n} frames; only the high-water mark is reported"
        ));
        return Ok(a);
    }
    a.changepoint = changepoint::cusum_ranks(samples, s.change_alpha);
    if let Some(c) = a.changepoint.as_ref().filter(|c| !c.passed) {
        a.verdict = Verdict::NotStationary;
        a.reasons.push(format!(
            "change point at frame {} (0-based, acquisition order): {} statistic {:.3}, p {:.3e} < {}; \
             mean {:.4} before, {:.4} from there on",
            c.frame, c.name, c.statistic, c.p_value, c.alpha, c.mean_before, c.mean_after
        ));
        a.advice.push(format!(
            "the trace has (at least) two regimes, split near frame {}: measure each regime apart and \
             analyse each trace on its own, or remove the cause: lock GPU/memory/CPU clocks (e.g. \
             `nvidia-smi -lgc/-lmc`, performance governor), prevent thermal throttling, discard the \
             warm-up, keep co-running load constant",
            c.frame
        ));
        return Ok(a);
    }
    a.threshold = Some(tail_info::threshold_info(&sorted, s.threshold_quantile));
    a.extremal_index =
        tail_info::extremal_index(samples, quantile_sorted(&sorted, s.threshold_quantile));
    let raw_iid = a.iid.iter().all(|t| t.passed);
    if !raw_iid {
        if let Some((rho, n_eff)) =
            effective_samples(samples).filter(|&(_, n_eff)| n_eff < s.min_effective_samples as f64)
        {
            let need = s.min_effective_samples as f64 * (1.0 + rho) / (1.0 - rho).max(f64::EPSILON);
            a.reasons.push(raw_failures(&a.iid));
            a.reasons.push(format!(
                "dependent frames: lag-1 autocorrelation {rho:.4} makes the {n} frames worth about {n_eff:.0} \
                 independent ones (AR(1) effective sample size n (1 - rho) / (1 + rho)), fewer than the minimum {}; \
                 block maxima and extremal index of so few independent stretches do not support a bound",
                s.min_effective_samples
            ));
            a.advice.push(format!(
                "collect at least {:.0} frames with this dependence (rho = {rho:.4}), or make consecutive frames \
                 less dependent (a pause between frames, shuffled inputs, state reset between frames) so that \
                 fewer frames reach {} effectively independent ones",
                need.ceil(),
                s.min_effective_samples
            ));
            return Ok(a);
        }
    }

    // route: raw frames i.i.d., or blocks long enough that their maxima are
    let mut tried = Vec::new();
    let mut route: Option<(usize, Vec<TestResult>)> = None;
    let mut b = s.block_size;
    while n / b >= s.min_blocks {
        let maxima = models::block_maxima(samples, b);
        let tests = iid::preconditions(&maxima, lags_for(s.lags, maxima.len()), s.alpha);
        let ok = tests.iter().all(|t| t.passed);
        tried.push((b, ok));
        if raw_iid || ok {
            route = Some((b, tests));
            break;
        }
        b *= 2;
    }
    let Some((b, bm_tests)) = route else {
        a.verdict = Verdict::NotIid;
        a.reasons.push(raw_failures(&a.iid));
        a.reasons.push(format!(
            "block maxima fail for every block size tried ({}) with at least {} blocks",
            tried
                .iter()
                .map(|t| t.0.to_string())
                .collect::<Vec<_>>()
                .join(", "),
            s.min_blocks
        ));
        a.advice = not_iid_advice(&a.iid, &tried, s, n);
        a.block_maxima = tried.last().map(|&(bb, _)| {
            let maxima = models::block_maxima(samples, bb);
            BlockMaximaInfo {
                block_size: bb,
                n_blocks: maxima.len(),
                dropped: n % bb,
                routed: false,
                theta: 1.0,
                iid: iid::preconditions(&maxima, lags_for(s.lags, maxima.len()), s.alpha),
                tried: tried.clone(),
            }
        });
        return Ok(a);
    };
    let theta = if raw_iid {
        1.0
    } else {
        a.extremal_index
            .as_ref()
            .map_or(1.0, |e| e.estimate.clamp(1e-3, 1.0))
    };
    if !raw_iid {
        a.reasons.push(raw_failures(&a.iid));
        a.reasons.push(format!(
            "routed through block maxima: maxima of {b}-frame blocks pass the preconditions; gpd-pot is not used \
             (excesses of dependent frames cluster); per-frame probabilities use the extremal index {theta:.3}"
        ));
    }
    a.block_maxima = Some(BlockMaximaInfo {
        block_size: b,
        n_blocks: n / b,
        dropped: n % b,
        routed: !raw_iid,
        theta,
        iid: bm_tests,
        tried,
    });
    let mut b = b;
    let mut gof_forced = false;
    let (data, fits, chosen) = loop {
        let data = tail_data(samples, &sorted, b, theta, s.threshold_quantile);
        let methods: &[Method] = if raw_iid {
            &[Method::GevBm, Method::GpdPot]
        } else {
            &[Method::GevBm]
        };
        let mut fits: Vec<(Fit, ModelReport)> = Vec::new();
        let mut stream = 100u64;
        for &m in methods {
            for e in [Estimator::Pwm, Estimator::Mle] {
                stream += 1;
                let Some(fit) = models::fit(&data, m, e) else {
                    a.reasons.push(format!("{m}/{e}: the fit failed"));
                    continue;
                };
                let input = match m {
                    Method::GevBm => &data.maxima_sorted,
                    Method::GpdPot => &data.excesses_sorted,
                };
                let gof = gof::goodness_of_fit(&fit, input, s.gof_resamples, s.seed, stream);
                let r = report(&fit, &data, gof, s.alpha, &s.probabilities);
                if pwm_beyond_range(&fit) {
                    a.reasons.push(format!(
                        "{m}/{e} not acceptable: xi = {:.3} >= {PWM_MAX_SHAPE}, where probability-weighted \
                         moments are not asymptotically normal (Hosking, Wallis & Wood 1985): a heavy tail \
                         needs the maximum-likelihood fit",
                        fit.dist.shape()
                    ));
                } else if !r.acceptable {
                    a.reasons.push(format!(
                        "{m}/{e} not acceptable: {}",
                        r.gof
                            .iter()
                            .map(|g| format!("{} p={:.3}", g.name, g.p_value))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                }
                fits.push((fit, r));
            }
        }
        let chosen = select(&fits, s);
        // Dependent route: when no GEV fit is acceptable, longer blocks (whose maxima are
        // closer to their GEV limit) while enough remain and their maxima pass the tests.
        if chosen.is_none() && !raw_iid && s.method != Some(Method::GpdPot) {
            if let Some((nb, tests)) = longer_passing_block(samples, b, s, &mut a) {
                a.reasons.push(format!(
                    "no GEV fit acceptable for {b}-frame blocks: refitted on {nb}-frame blocks"
                ));
                if let Some(bm) = a.block_maxima.as_mut() {
                    bm.block_size = nb;
                    bm.n_blocks = n / nb;
                    bm.dropped = n % nb;
                    bm.iid = tests;
                }
                b = nb;
                gof_forced = true;
                continue;
            }
        }
        break (data, fits, chosen);
    };
    let pref = s.reference_probability();
    for (f, _) in &fits {
        for &p in &s.probabilities {
            a.pwcet.push(PwcetRow {
                method: f.method,
                estimator: f.estimator,
                exceedance_probability: p,
                value: f.dist.pwcet(p),
                extrapolation: extrapolation_class(p, n),
                ci_low: None,
                ci_high: None,
            });
        }
    }
    a.models = fits.iter().map(|f| f.1.clone()).collect();
    let Some(ci) = chosen else {
        hide_beyond_limit(&mut a, s);
        a.verdict = Verdict::NoAcceptableFit;
        if s.method == Some(Method::GpdPot) && !raw_iid {
            a.reasons
                .push("gpd-pot was pinned but the frames are dependent".into());
        }
        a.reasons
            .push("no fit passes the goodness-of-fit tests (or the pinned model does not)".into());
        a.advice.push(
            "try other block sizes or threshold quantiles (--block-size, --threshold-quantile), or collect more samples".into(),
        );
        return Ok(a);
    };
    let fit = &fits[ci].0;
    a.selected = Some(Selected {
        method: fit.method,
        estimator: fit.estimator,
        reference_probability: pref,
        rule: SELECTION_RULE.into(),
    });
    let grid = band_grid(pref);
    let mut probs = s.probabilities.clone();
    probs.extend_from_slice(&grid);
    let (intervals, boot_info) = if raw_iid {
        let boot = pwcet::bootstrap(fit, &data, &probs, s.resamples, s.confidence, s.seed);
        let info = BootstrapInfo {
            resamples: boot.resamples,
            failed: boot.failed,
            confidence: s.confidence,
            method: match fit.method {
                Method::GevBm => "BCa (grouped-jackknife acceleration); block maxima resampled with replacement".into(),
                Method::GpdPot => "BCa (grouped-jackknife acceleration); Binomial(n, rate) excesses resampled over the fixed threshold".into(),
            },
            mean_run: None,
            block_sizes: None,
            theta_range: None,
            band: vec![],
        };
        let mut intervals = boot.intervals;
        if s.shape_floor && shape_floor::applies(&fit.dist) {
            a.shape_floor = raise_to_counterpart(fit, &data, &probs, &mut intervals, s);
            if let Some(f) = a.shape_floor.as_ref().filter(|f| !f.raised.is_empty()) {
                a.reasons.push(format!(
                    "bounded tail fitted (xi = {:.3}): the upper bounds at {} are those of the {} (xi = 0) \
                     fit of the same data, which are higher; a fitted xi < 0 of light-tailed frames is \
                     usually pre-asymptotic and extrapolates too low (shape floor, docs/WCET.md)",
                    f.selected_shape,
                    f.raised
                        .iter()
                        .map(|p| format!("{p:e}"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    f.counterpart
                ));
            }
        }
        (intervals, info)
    } else {
        let rule = trace_bootstrap::RouteRule {
            // replicates start at the block size the goodness of fit needed, if it did
            first_block: if gof_forced { b } else { s.block_size },
            min_blocks: s.min_blocks,
            lags: s.lags,
            alpha: s.alpha,
            threshold_quantile: s.threshold_quantile,
        };
        let boot = trace_bootstrap::bootstrap(
            samples,
            fit,
            &rule,
            b as f64,
            &probs,
            s.trace_resamples,
            s.confidence,
            s.seed,
        );
        let info = BootstrapInfo {
            resamples: boot.resamples,
            failed: boot.failed,
            confidence: s.confidence,
            method: format!(
                "percentile; stationary bootstrap of the raw trace (Politis & Romano 1994, mean run {b} frames), \
                 re-running block-size choice, extremal index and fit per replicate"
            ),
            mean_run: Some(boot.mean_run),
            block_sizes: Some(boot.block_sizes.clone()),
            theta_range: Some(boot.theta_range),
            band: vec![],
        };
        (boot.intervals, info)
    };
    let failed = boot_info.failed;
    let total = boot_info.resamples;
    for row in a
        .pwcet
        .iter_mut()
        .filter(|r| r.method == fit.method && r.estimator == fit.estimator)
    {
        if let Some(j) = s
            .probabilities
            .iter()
            .position(|&p| p == row.exceedance_probability)
        {
            let (lo, hi) = intervals[j];
            row.ci_low = lo.is_finite().then_some(lo);
            row.ci_high = hi.is_finite().then_some(hi);
        }
    }
    let np = s.probabilities.len();
    a.bootstrap = Some(BootstrapInfo {
        band: grid
            .iter()
            .enumerate()
            .filter_map(|(k, &p)| {
                let v = fit.dist.pwcet(p)?;
                let (lo, hi) = intervals[np + k];
                Some(BandPoint {
                    exceedance_probability: p,
                    value: v,
                    ci_low: lo,
                    ci_high: hi,
                })
            })
            .collect(),
        ..boot_info
    });
    a.convergence = Some(convergence::study(samples, fit, s, b, theta));
    if let Some(c) = &a.convergence {
        if !c.converged {
            a.advice.push(format!(
                "the bound at {pref:e} has not converged (spread {:.1}% over the last points > {:.0}%): run more frames",
                100.0 * c.relative_spread,
                100.0 * s.convergence_tolerance
            ));
        }
    }
    if a.pwcet.iter().any(|r| r.ci_high.is_some_and(|h| h < hwm)) {
        a.advice.push(format!(
            "some upper bounds lie below the observed high-water mark {hwm}: a gate should use max(bound, HWM)"
        ));
    }
    let xi = fit.dist.shape();
    if xi > 0.02 {
        a.advice.push(format!(
            "heavy tail (xi = {xi:.3}): the bound grows quickly as the probability shrinks; look for rare \
             disturbances (preemption, page faults, clock changes) in the slowest frames"
        ));
    }
    if xi < -0.5 && fit.estimator == Estimator::Mle {
        a.advice.push(format!(
            "xi = {xi:.3} < -0.5: maximum likelihood is non-regular there (Smith 1985); compare with the PWM fit"
        ));
    }
    if failed > 0 {
        a.advice.push(format!(
            "{failed} of {total} bootstrap resamples failed to refit"
        ));
    }
    hide_beyond_limit(&mut a, s);
    a.verdict = Verdict::Pwcet;
    Ok(a)
}

#[cfg(test)]
mod tests {
    use super::calibration::Process;
    use super::*;

    fn quick() -> WcetSettings {
        WcetSettings {
            resamples: 20,
            gof_resamples: 19,
            trace_resamples: 20,
            ..WcetSettings::default()
        }
    }

    #[test]
    fn strongly_dependent_short_trace_is_refused_with_the_frames_needed() {
        let s = quick();
        let x = Process::ArGauss(0.95).simulate(1, 10_000);
        let (rho, n_eff) = effective_samples(&x).unwrap();
        assert!(
            n_eff < s.min_effective_samples as f64,
            "rho {rho}, n_eff {n_eff}"
        );
        let a = analyse(&x, &s).unwrap();
        assert_eq!(a.verdict, Verdict::TooFewSamples, "{:?}", a.reasons);
        assert!(a.iid.iter().any(|t| !t.passed));
        let need = (s.min_effective_samples as f64 * (1.0 + rho) / (1.0 - rho)).ceil();
        assert!(need > x.len() as f64);
        assert!(
            a.advice
                .iter()
                .any(|m| m.contains(&format!("at least {need:.0} frames"))),
            "{:?}",
            a.advice
        );
        assert!(a.reasons.iter().any(|m| m.contains(&format!("{n_eff:.0}"))));
        assert!(a.pwcet.is_empty());
    }

    #[test]
    fn the_same_process_with_ten_times_the_frames_passes_the_rule() {
        let s = quick();
        let x = Process::ArGauss(0.95).simulate(1, 100_000);
        let (_, n_eff) = effective_samples(&x).unwrap();
        assert!(n_eff >= s.min_effective_samples as f64, "n_eff {n_eff}");
        let a = analyse(&x, &s).unwrap();
        assert!(a.iid.iter().any(|t| !t.passed));
        assert_ne!(a.verdict, Verdict::TooFewSamples, "{:?}", a.reasons);
        assert!(a.block_maxima.as_ref().is_some_and(|b| b.routed));
    }

    #[test]
    fn effective_samples_of_independent_and_constant_traces() {
        // a negative lag-1 autocorrelation leaves n unchanged; a constant trace has none
        let alt: Vec<f64> = (0..1000).map(|i| (i % 2) as f64).collect();
        let (rho, n_eff) = effective_samples(&alt).unwrap();
        assert!(rho < -0.9);
        assert_eq!(n_eff, 1000.0);
        assert!(effective_samples(&[3.0; 100]).is_none());
    }
}
