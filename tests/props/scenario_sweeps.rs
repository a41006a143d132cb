//! Sweep expansion (issue #25): every combination once, in a fixed order, with stable ids
//! that are safe names; the expansion does not depend on the order the file writes the
//! parameters in; a sweep larger than the limit is refused with its size.

use adasval::scenario::sweep::{expand, ExpandLimits, SweepProblem};
use adasval::scenario::Scenario;
use proptest::prelude::*;
use std::path::Path;

fn family_yaml(params: &[(&str, String)]) -> String {
    let mut sweep = String::new();
    for (k, v) in params {
        sweep.push_str(&format!("  {k}: {v}\n"));
    }
    format!(
        "schema_version: 1\nid: cpna-25\ntitle: t\ncategory: pedestrian\nfps: 10\ndeadline_ms: 50\n\
         sweep:\n{sweep}frames:\n  ncap:\n    family: CPNA-25\n    seed: 1\n    ego_speed_kmh: 30\n"
    )
}

fn unlimited() -> ExpandLimits {
    ExpandLimits {
        max_instances: usize::MAX,
        allow_large: true,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn expansion_is_a_product_with_unique_safe_ids(
        speeds in prop::collection::btree_set(10u32..=60, 1..6),
        impacts in prop::collection::btree_set(0u32..=40, 1..4),
        lights in prop::sample::subsequence(vec!["day", "dusk", "night"], 1..=3),
        reverse_keys in any::<bool>(),
    ) {
        let speeds: Vec<String> = speeds.iter().map(|s| s.to_string()).collect();
        let impacts: Vec<String> = impacts.iter().map(|i| format!("{}.5", i)).collect();
        let mut params = vec![
            ("ego_speed_kmh", format!("[{}]", speeds.join(", "))),
            ("impact_point", format!("[{}]", impacts.join(", "))),
            ("lighting", format!("[{}]", lights.join(", "))),
        ];
        if reverse_keys {
            params.reverse();
        }
        let s = Scenario::parse(Path::new("f.yaml"), &family_yaml(&params)).unwrap();
        let a = expand(&s, unlimited()).unwrap();
        prop_assert_eq!(a.len(), speeds.len() * impacts.len() * lights.len());
        let mut ids: Vec<&str> = a.iter().map(|i| i.scenario_id()).collect();
        for id in &ids {
            prop_assert!(adasval::names::check("scenario", id).is_ok(), "{}", id);
            prop_assert!(id.starts_with("cpna-25_ego"), "{}", id);
        }
        // The first parameter of the fixed order turns slowest, whatever the file's order.
        prop_assert_eq!(a[0].parameters.get("ego_speed_kmh").cloned(), Some(speeds[0].clone()));
        prop_assert_eq!(
            a.last().unwrap().parameters.get("ego_speed_kmh").cloned(),
            Some(speeds.last().unwrap().clone())
        );
        ids.sort_unstable();
        ids.dedup();
        prop_assert_eq!(ids.len(), a.len());
        // Deterministic: the same file expands to the same instances.
        let b = expand(&s, unlimited()).unwrap();
        prop_assert_eq!(
            a.iter().map(|i| i.id.clone()).collect::<Vec<_>>(),
            b.iter().map(|i| i.id.clone()).collect::<Vec<_>>()
        );
        for i in &a {
            prop_assert_eq!(i.family.as_deref(), Some("cpna-25"));
            prop_assert!(i.sweep.is_none());
        }
    }
}

trait Id {
    fn scenario_id(&self) -> &str;
}
impl Id for Scenario {
    fn scenario_id(&self) -> &str {
        &self.id
    }
}

#[test]
fn ids_read_as_the_issue_writes_them() {
    let s = Scenario::parse(
        Path::new("f.yaml"),
        &family_yaml(&[
            ("ego_speed_kmh", "[30, 42.5]".into()),
            ("lighting", "[night]".into()),
        ]),
    )
    .unwrap();
    let ids: Vec<String> = expand(&s, unlimited())
        .unwrap()
        .into_iter()
        .map(|i| i.id)
        .collect();
    assert_eq!(ids, ["cpna-25_ego30_night", "cpna-25_ego42p5_night"]);
}

#[test]
fn a_large_sweep_says_how_large_and_is_refused() {
    let s = Scenario::parse(
        Path::new("f.yaml"),
        &family_yaml(&[
            ("ego_speed_kmh", "{from: 10, to: 60, step: 1}".into()),
            ("impact_point", "{from: 0, to: 100, step: 10}".into()),
        ]),
    )
    .unwrap();
    let limits = ExpandLimits {
        max_instances: 100,
        allow_large: false,
    };
    match expand(&s, limits) {
        Err(SweepProblem::TooLarge { instances, limit }) => {
            assert_eq!((instances, limit), (51 * 11, 100));
            let msg = SweepProblem::TooLarge { instances, limit }.to_string();
            assert!(
                msg.contains("561") && msg.contains("--allow-large"),
                "{msg}"
            );
        }
        other => panic!("expected TooLarge, got {other:?}"),
    }
    let allowed = ExpandLimits {
        allow_large: true,
        ..limits
    };
    assert_eq!(expand(&s, allowed).unwrap().len(), 561);
}

#[test]
fn an_unknown_parameter_lists_the_valid_ones() {
    let err = Scenario::parse(
        Path::new("fam.yaml"),
        &family_yaml(&[("ego_speed", "[30]".into())]),
    )
    .unwrap_err()
    .to_string();
    for want in [
        "fam.yaml",
        "sweep",
        "unknown parameter `ego_speed`",
        "ego_speed_kmh",
        "occluder_distance_m",
    ] {
        assert!(err.contains(want), "missing {want:?} in: {err}");
    }
}
