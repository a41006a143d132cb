//! One scenario library, any vocabulary: a generated scene maps its golden classes onto a
//! detector's with `class_map` / `ignore_classes`, as file-based frames do.

use crate::common;
use common::*;

fn generated(extra: &str) -> String {
    let base = std::fs::read_to_string(repo_root().join("scenarios/dusk-pedestrian-group.yaml"))
        .unwrap()
        .replace("id: dusk-pedestrian-group", "id: child-coco");
    // Indented under `frames.generate`, beside the scene description.
    base.replace("    seed: 808\n", &format!("    seed: 808\n{extra}"))
}

#[test]
fn a_generated_scene_runs_with_a_coco_detector_through_its_class_map() {
    let Some(shared) = shared_dir() else { return };
    let d = yolox_project(&shared, "yolox", "voc", "data/voc100/images/2007_0000*.jpg");
    let p = d.path();
    let scenario = p.join("scenarios/child-coco.yaml");
    let check = || {
        run(adasval()
            .current_dir(p)
            .args([
                "scenario",
                "check",
                "--deep",
                "--format",
                "json",
                "--data-root",
            ])
            .arg(&shared))
    };
    // Without a map the generator's `pedestrian` is not a COCO class.
    std::fs::write(&scenario, generated("")).unwrap();
    let (code, out, err) = check();
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        out.contains("unknown classes in golden labels") && out.contains("class_map in force: {}"),
        "{out}"
    );
    // A key the generator never draws is a typo, named with the valid ones.
    std::fs::write(
        &scenario,
        generated("    class_map: { pedestrain: person }\n"),
    )
    .unwrap();
    let (code, _o, err) = run(adasval().current_dir(p).args(["scenario", "check"]));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("frames.generate.class_map")
            && err.contains("`pedestrain`")
            && err.contains("pedestrian, cyclist"),
        "{err}"
    );
    // With the map (and obstacles, which COCO has no class for, dropped) it checks and runs.
    std::fs::write(
        &scenario,
        generated("    class_map: { pedestrian: person, cyclist: bicycle }\n    ignore_classes: [obstacle]\n"),
    )
    .unwrap();
    let (code, out, err) = check();
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = run(adasval()
        .current_dir(p)
        .args([
            "validate",
            "--scenario",
            "child-coco",
            "--repetitions",
            "1",
            "--warmup",
            "0",
            "--data-root",
        ])
        .arg(&shared));
    assert!(code == 0 || code == 1, "{out}{err}");
    let golden = std::fs::read_to_string(p.join(out.trim()).join("golden.jsonl")).unwrap();
    let classes: std::collections::BTreeSet<u64> = golden
        .lines()
        .flat_map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["objects"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(|o| o["class_id"].as_u64().unwrap())
        })
        .collect();
    // COCO ids: person 0, car 2, truck 7 (vans and sedans are `car` in both vocabularies).
    assert!(
        classes.contains(&0),
        "the pedestrians are COCO persons: {golden}"
    );
    assert!(
        classes.iter().all(|c| [0, 1, 2, 7].contains(c)),
        "{classes:?}"
    );
}
