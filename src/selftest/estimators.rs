//! The estimators the self-test runs, one per case `kind`, through a table: each takes a
//! case's `input` and returns the values it obtained by name. The self-test only ever
//! calls adasval's own code through this table, so a test can swap one entry for a
//! deliberately broken estimator and see the self-test name the cases it breaks, without
//! touching any expected value.

use super::{behaviour, decoders, detection, plan};
use crate::metrics::stats::clopper_pearson;
use crate::regress::stats::{mann_whitney, newcomb_diff};
use crate::wcet::iid;
use crate::wcet::models::{self, Dist};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Values obtained by one estimator, by the names the case's `expected` uses.
pub type Obtained = BTreeMap<String, Value>;

/// What an estimator may use besides its input.
pub struct Context {
    /// An empty directory of its own.
    pub scratch: PathBuf,
    /// The adasval executable, for cases that run it as a user would (the replay).
    pub exe: Option<PathBuf>,
}

pub type Estimator = fn(&Value, &Context) -> Result<Obtained, String>;

/// What a kind needs of the machine (a GPU): `Err(why)` when it is not there, and the
/// cases of that kind are reported as not run here, never as passed.
pub type Need = fn() -> Result<(), String>;

/// The table of estimators by case kind.
#[derive(Clone)]
pub struct Estimators {
    table: BTreeMap<&'static str, Estimator>,
    needs: BTreeMap<&'static str, Need>,
}

impl Estimators {
    /// adasval's own implementation of every kind.
    pub fn adasval() -> Self {
        let table: [(&'static str, Estimator); 23] = [
            ("gev_pwm", gev_pwm),
            ("gev_mle", gev_mle),
            ("gpd_pwm", gpd_pwm),
            ("gpd_mle", gpd_mle),
            ("iid", iid_tests),
            ("pwcet_block_maxima", pwcet_block_maxima),
            ("clopper_pearson", clopper_pearson_case),
            ("mann_whitney", mann_whitney_case),
            ("kruskal_wallis", kruskal_wallis_case),
            ("newcomb", newcomb_case),
            ("latency_summary", latency_summary),
            ("coco_bbox", coco_bbox),
            ("sha256", sha256),
            ("ed25519", ed25519),
            ("lock_round_trip", behaviour::lock_round_trip),
            ("tamper_detection", behaviour::tamper_detection),
            ("replay_fault", behaviour::replay_fault),
            ("match_lamr", detection::match_lamr),
            ("kitti_ap", detection::kitti_ap),
            ("critical_misses", detection::critical_misses),
            ("plan_reference", plan::plan_reference),
            ("decode", decoders::decode),
            ("plan_cuda", plan::plan_cuda),
        ];
        Self {
            table: table.into_iter().collect(),
            needs: [("plan_cuda", plan::gpu_present as Need)]
                .into_iter()
                .collect(),
        }
    }

    /// This table with the cases of `kind` needing what `need` checks.
    pub fn require(mut self, kind: &'static str, need: Need) -> Self {
        self.needs.insert(kind, need);
        self
    }

    /// Why the cases of `kind` cannot run on this machine, if they cannot.
    pub fn unmet_need(&self, kind: &str) -> Option<String> {
        self.needs.get(kind).and_then(|need| need().err())
    }

    /// This table with `kind` computed by `f` instead.
    pub fn replace(mut self, kind: &'static str, f: Estimator) -> Self {
        self.table.insert(kind, f);
        self
    }

    pub fn get(&self, kind: &str) -> Option<Estimator> {
        self.table.get(kind).copied()
    }
}

pub(super) fn field<'a>(input: &'a Value, name: &str) -> Result<&'a Value, String> {
    input
        .get(name)
        .ok_or_else(|| format!("input has no `{name}`"))
}

pub(super) fn nums(v: &Value, name: &str) -> Result<Vec<f64>, String> {
    field(v, name)?
        .as_array()
        .ok_or_else(|| format!("input `{name}` is not a list"))?
        .iter()
        .enumerate()
        .map(|(i, x)| {
            x.as_f64()
                .ok_or_else(|| format!("input `{name}[{i}]` is not a number"))
        })
        .collect()
}

pub(super) fn num(v: &Value, name: &str) -> Result<f64, String> {
    field(v, name)?
        .as_f64()
        .ok_or_else(|| format!("input `{name}` is not a number"))
}

pub(super) fn count(v: &Value, name: &str) -> Result<u64, String> {
    field(v, name)?
        .as_u64()
        .ok_or_else(|| format!("input `{name}` is not a non-negative integer"))
}

/// `probabilities`: the name of each bound and its exceedance probability per frame.
fn probabilities(v: &Value) -> Result<Vec<(String, f64)>, String> {
    field(v, "probabilities")?
        .as_object()
        .ok_or("input `probabilities` is not a map of name to probability")?
        .iter()
        .map(|(k, p)| {
            p.as_f64()
                .map(|p| (k.clone(), p))
                .ok_or_else(|| format!("input `probabilities.{k}` is not a number"))
        })
        .collect()
}

fn sorted(mut x: Vec<f64>) -> Vec<f64> {
    x.sort_by(f64::total_cmp);
    x
}

fn obtained<const N: usize>(pairs: [(&str, Value); N]) -> Obtained {
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

fn gev_pwm(input: &Value, _: &Context) -> Result<Obtained, String> {
    let g = models::gev_pwm(&sorted(nums(input, "data")?)).ok_or("no PWM fit")?;
    Ok(obtained([
        ("xi", json!(g.shape)),
        ("loc", json!(g.location)),
        ("scale", json!(g.scale)),
    ]))
}

fn gev_mle(input: &Value, _: &Context) -> Result<Obtained, String> {
    let x = sorted(nums(input, "data")?);
    let block_size = count(input, "block_size")? as usize;
    let (gev, _) = models::gev_mle(&x).ok_or("no MLE fit")?;
    let dist = Dist::Gev {
        gev,
        block_size,
        theta: 1.0,
    };
    let mut out = obtained([("loglik", json!(models::gev_loglik(&gev, &x)))]);
    for (name, p) in probabilities(input)? {
        out.insert(name, json!(dist.pwcet(p)));
    }
    Ok(out)
}

fn gpd_pwm(input: &Value, _: &Context) -> Result<Obtained, String> {
    let g = models::gpd_pwm(&sorted(nums(input, "data")?)).ok_or("no PWM fit")?;
    Ok(obtained([
        ("xi", json!(g.shape)),
        ("scale", json!(g.scale)),
    ]))
}

fn gpd_mle(input: &Value, _: &Context) -> Result<Obtained, String> {
    let y = sorted(nums(input, "data")?);
    let (gpd, _) = models::gpd_mle(&y).ok_or("no MLE fit")?;
    // Excesses over a threshold of 0: the bound is the excess itself.
    let dist = Dist::Gpd {
        gpd,
        threshold: 0.0,
        rate: num(input, "rate")?,
    };
    let mut out = obtained([("loglik", json!(models::gpd_loglik(&gpd, &y)))]);
    for (name, p) in probabilities(input)? {
        out.insert(name, json!(dist.pwcet(p)));
    }
    Ok(out)
}

fn iid_tests(input: &Value, _: &Context) -> Result<Obtained, String> {
    let x = nums(input, "data")?;
    let lags = count(input, "lags")? as usize;
    let (q, pq) = iid::ljung_box(&x, lags);
    let (z, pz) = iid::runs_test(&x);
    let h = x.len() / 2;
    let ks = iid::ks_two_sample(&x[..h], &x[h..]);
    let (k, pk, kl) = iid::kpss(&x);
    Ok(obtained([
        ("ljung_box", json!(q)),
        ("ljung_box_p", json!(pq)),
        ("runs_z", json!(z)),
        ("runs_p", json!(pz)),
        ("ks", json!(ks.statistic)),
        ("ks_p", json!(ks.p_value)),
        ("kpss", json!(k)),
        ("kpss_p", json!(pk)),
        ("kpss_lags", json!(kl)),
    ]))
}

fn pwcet_block_maxima(input: &Value, _: &Context) -> Result<Obtained, String> {
    let trace = nums(input, "trace_ms")?;
    let block_size = count(input, "block_size")? as usize;
    let maxima = sorted(models::block_maxima(&trace, block_size));
    let (gev, _) = models::gev_mle(&maxima).ok_or("no MLE fit of the block maxima")?;
    let dist = Dist::Gev {
        gev,
        block_size,
        theta: 1.0,
    };
    probabilities(input)?
        .into_iter()
        .map(|(name, p)| Ok((name, json!(dist.pwcet(p)))))
        .collect()
}

fn clopper_pearson_case(input: &Value, _: &Context) -> Result<Obtained, String> {
    let i = clopper_pearson(
        count(input, "successes")?,
        count(input, "trials")?,
        num(input, "confidence")?,
    )
    .ok_or("no interval")?;
    Ok(obtained([
        ("lower", json!(i.lower)),
        ("upper", json!(i.upper)),
    ]))
}

fn mann_whitney_case(input: &Value, _: &Context) -> Result<Obtained, String> {
    let m = mann_whitney(&nums(input, "x")?, &nums(input, "y")?).ok_or("no test")?;
    Ok(obtained([("u", json!(m.u)), ("p", json!(m.p_value))]))
}

fn kruskal_wallis_case(input: &Value, _: &Context) -> Result<Obtained, String> {
    let groups = field(input, "groups")?
        .as_array()
        .ok_or("input `groups` is not a list")?
        .iter()
        .map(|g| nums(&json!({ "g": g }), "g"))
        .collect::<Result<Vec<_>, _>>()?;
    let k = crate::sweep::kruskal_wallis(&groups).ok_or("no test")?;
    Ok(obtained([("h", json!(k.h)), ("p", json!(k.p_value))]))
}

fn latency_summary(input: &Value, _: &Context) -> Result<Obtained, String> {
    let samples: Vec<u64> = field(input, "samples_ns")?
        .as_array()
        .ok_or("input `samples_ns` is not a list")?
        .iter()
        .enumerate()
        .map(|(i, v)| {
            v.as_u64()
                .ok_or_else(|| format!("input `samples_ns[{i}]` is not a non-negative integer"))
        })
        .collect::<Result<_, _>>()?;
    let s = crate::timing::summarize(&samples);
    Ok(obtained([
        ("p50", json!(s.p50)),
        ("p90", json!(s.p90)),
        ("p99", json!(s.p99)),
        ("p99.9", json!(s.p999)),
        ("min", json!(s.min)),
        ("max", json!(s.max)),
        ("mean", json!(s.mean)),
        ("stddev", json!(s.stddev)),
    ]))
}

fn newcomb_case(input: &Value, _: &Context) -> Result<Obtained, String> {
    let (lo, hi) = newcomb_diff(
        count(input, "k1")?,
        count(input, "n1")?,
        count(input, "k2")?,
        count(input, "n2")?,
        num(input, "confidence")?,
    )
    .ok_or("no interval")?;
    Ok(obtained([("lower", json!(lo)), ("upper", json!(hi))]))
}

fn coco_bbox(input: &Value, _: &Context) -> Result<Obtained, String> {
    let gt = field(input, "ground_truth")?.to_string();
    let dt = field(input, "detections")?.to_string();
    let r = crate::metrics::coco::evaluate_texts(&gt, "ground_truth", &dt, "detections")
        .map_err(|e| e.to_string())?;
    const NAMES: [&str; 12] = [
        "AP",
        "AP50",
        "AP75",
        "AP_small",
        "AP_medium",
        "AP_large",
        "AR1",
        "AR10",
        "AR100",
        "AR_small",
        "AR_medium",
        "AR_large",
    ];
    let mut out: Obtained = NAMES
        .iter()
        .zip(r.stats())
        .map(|(n, v)| (n.to_string(), json!(v)))
        .collect();
    for c in &r.per_class {
        out.insert(format!("class{}_AP", c.category_id), json!(c.ap));
        out.insert(format!("class{}_AP50", c.category_id), json!(c.ap50));
    }
    Ok(out)
}

pub(super) fn hex(v: &Value, name: &str) -> Result<Vec<u8>, String> {
    let s = field(v, name)?
        .as_str()
        .ok_or_else(|| format!("input `{name}` is not a string"))?;
    if s.len() % 2 != 0 {
        return Err(format!("input `{name}` has an odd number of hex digits"));
    }
    (0..s.len())
        .step_by(2)
        .map(|i| {
            u8::from_str_radix(&s[i..i + 2], 16)
                .map_err(|_| format!("input `{name}` is not hexadecimal"))
        })
        .collect()
}

fn to_hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn sha256(input: &Value, _: &Context) -> Result<Obtained, String> {
    let msg = hex(input, "message_hex")?;
    Ok(obtained([(
        "digest",
        json!(adasval_core::hash::sha256_hex(&msg)),
    )]))
}

fn ed25519(input: &Value, _: &Context) -> Result<Obtained, String> {
    use ed25519_dalek::{Signer, SigningKey, Verifier};
    let sk: [u8; 32] = hex(input, "secret_key_hex")?
        .try_into()
        .map_err(|_| "the secret key is not 32 bytes".to_string())?;
    let msg = hex(input, "message_hex")?;
    let key = SigningKey::from_bytes(&sk);
    let sig = key.sign(&msg);
    let public = key.verifying_key();
    let mut tampered = msg.clone();
    tampered.push(0);
    Ok(obtained([
        ("public_key", json!(to_hex(public.as_bytes()))),
        ("signature", json!(to_hex(&sig.to_bytes()))),
        ("verifies", json!(public.verify(&msg, &sig).is_ok())),
        (
            "tampered_verifies",
            json!(public.verify(&tampered, &sig).is_ok()),
        ),
    ]))
}
