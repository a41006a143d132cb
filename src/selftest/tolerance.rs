//! How an obtained value is compared with a reference value: exactly (hashes, flags,
//! counts), or within an absolute and/or relative tolerance, or one-sided for an
//! optimiser's objective (adasval's optimum must be at least as good as the reference's).

use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Tolerance {
    /// `"exact"`: equal JSON values (numbers compared as numbers).
    Exact(ExactWord),
    /// `|obtained − expected| ≤ max(abs, rel · max(|obtained|, |expected|))`; with
    /// `at_least_rel` instead: `obtained ≥ expected − at_least_rel · max(|expected|, 1)`.
    Bounds {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        abs: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rel: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        at_least_rel: Option<f64>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExactWord {
    Exact,
}

impl Tolerance {
    /// Whether `obtained` agrees with `expected`.
    pub fn accepts(&self, expected: &Value, obtained: &Value) -> bool {
        match self {
            Tolerance::Exact(_) => match (expected.as_f64(), obtained.as_f64()) {
                (Some(e), Some(o)) => e == o,
                _ => expected == obtained,
            },
            Tolerance::Bounds {
                abs,
                rel,
                at_least_rel,
            } => {
                let (Some(e), Some(o)) = (expected.as_f64(), obtained.as_f64()) else {
                    return false;
                };
                if !o.is_finite() {
                    return false;
                }
                if let Some(r) = at_least_rel {
                    return o >= e - r * e.abs().max(1.0);
                }
                let allowed = abs
                    .unwrap_or(0.0)
                    .max(rel.unwrap_or(0.0) * e.abs().max(o.abs()));
                (o - e).abs() <= allowed
            }
        }
    }

    /// For people: `exact`, `±1e-9`, `rel 1e-6`, `≥ expected − 1e-6 rel`.
    pub fn describe(&self) -> String {
        match self {
            Tolerance::Exact(_) => "exact".into(),
            Tolerance::Bounds {
                at_least_rel: Some(r),
                ..
            } => format!("at least expected − {r:e} rel"),
            Tolerance::Bounds { abs, rel, .. } => {
                let mut parts = Vec::new();
                if let Some(r) = rel {
                    parts.push(format!("rel {r:e}"));
                }
                if let Some(a) = abs {
                    parts.push(format!("abs {a:e}"));
                }
                if parts.is_empty() {
                    "exact".into()
                } else {
                    parts.join(" or ")
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn t(v: Value) -> Tolerance {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn tolerances_accept_and_refuse() {
        let rel = t(json!({"rel": 1e-3}));
        assert!(rel.accepts(&json!(100.0), &json!(100.09)));
        assert!(!rel.accepts(&json!(100.0), &json!(100.2)));
        assert!(!rel.accepts(&json!(100.0), &json!(f64::NAN.to_string())));
        let abs = t(json!({"abs": 1e-9, "rel": 1e-9}));
        assert!(abs.accepts(&json!(0.0), &json!(1e-10)));
        assert!(!abs.accepts(&json!(0.0), &json!(1e-8)));
        let least = t(json!({"at_least_rel": 1e-6}));
        assert!(least.accepts(&json!(-100.0), &json!(-99.0)));
        assert!(!least.accepts(&json!(-100.0), &json!(-100.01)));
        let exact = t(json!("exact"));
        assert!(exact.accepts(&json!(5), &json!(5.0)));
        assert!(exact.accepts(&json!("ab"), &json!("ab")));
        assert!(!exact.accepts(&json!(true), &json!(false)));
        assert!(serde_json::from_value::<Tolerance>(json!("roughly")).is_err());
    }
}
