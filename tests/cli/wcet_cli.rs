//! `adasval wcet` end to end: input formats, run directories, exit codes, error locations.

use crate::common;

use adasval::wcet::gev::Gev;
use adasval::wcet::rng::Rng;
use serde_json::Value;
use std::io::Write;

fn frames(n: usize, seed: u64) -> Vec<f64> {
    let g = Gev {
        shape: -0.15,
        location: 4.0,
        scale: 0.25,
    };
    let mut r = Rng::new(seed);
    (0..n).map(|_| g.sample(r.uniform())).collect()
}

fn run(args: &[&str]) -> (i32, Value, String) {
    let out = common::adasval()
        .arg("wcet")
        .args(args)
        .output()
        .expect("run adasval");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let v = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    (
        out.status.code().unwrap_or(-1),
        v,
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

const FAST: [&str; 4] = ["--resamples", "100", "--gof-resamples", "50"];

#[test]
fn plain_csv_gives_the_item_7_fields() {
    let dir = tempfile::tempdir().expect("tmp");
    let p = dir.path().join("x.csv");
    let mut f = std::fs::File::create(&p).expect("create");
    for v in frames(3000, 1) {
        writeln!(f, "{v}").expect("write");
    }
    let plots = dir.path().join("plots");
    let mut args = vec![
        "--samples",
        p.to_str().unwrap_or_default(),
        "--unit",
        "us",
        "--plots",
        plots.to_str().unwrap_or_default(),
    ];
    args.extend(FAST);
    let (code, v, err) = run(&args);
    assert_eq!(code, 0, "{err}");
    for k in [
        "n",
        "max",
        "unit",
        "stage",
        "iid",
        "models",
        "pwcet",
        "selected",
        "verdict",
        "hwm",
        "hwm_margin",
        "convergence",
    ] {
        assert!(v.get(k).is_some(), "missing {k}");
    }
    assert_eq!(v["unit"], "us");
    assert_eq!(v["n"], 3000);
    let names: Vec<&str> = v["iid"]
        .as_array()
        .expect("iid")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert_eq!(names, ["ljung-box", "runs", "ks-halves", "kpss"]);
    for m in v["models"].as_array().expect("models") {
        assert!(m["method"] == "gev-bm" || m["method"] == "gpd-pot");
        assert!(m["gof"].as_array().is_some_and(|g| g.len() == 2));
    }
    let svg = std::fs::read_to_string(plots.join("exceedance.svg")).expect("svg");
    assert!(svg.starts_with("<svg") && svg.contains("empirical"));
    assert!(std::fs::read_to_string(plots.join("convergence.svg"))
        .expect("svg")
        .contains("<svg"));
}

#[test]
fn trtexec_json_old_and_new_keys() {
    let Some(shared) = common::shared_dir() else {
        return;
    };
    let real = shared.join("formats/trtexec/mobilenet.qat.onnx.engine.timing.json");
    let mut args = vec![
        "--samples",
        real.to_str().unwrap_or_default(),
        "--field",
        "computeMs",
    ];
    args.extend(FAST);
    let (code, v, err) = run(&args);
    assert_eq!(code, 0, "{err}");
    assert_eq!(v["n"], 8945);
    assert_eq!(v["unit"], "ms");
    assert!(v["verdict"].is_string());
    // Old TensorRT key names: read under the current names; `endToEndMs` is its own
    // field (it includes waits between the stages), never a stand-in for `latencyMs`.
    let dir = tempfile::tempdir().expect("tmp");
    let p = dir.path().join("old.json");
    let recs: Vec<Value> = frames(2000, 2)
        .iter()
        .map(|x| {
            serde_json::json!({"startInMs": 0.0, "inMs": 0.01, "computeMs": x, "outMs": 0.01,
                               "latencyMs": x + 0.02, "endToEndMs": x + 0.5})
        })
        .collect();
    std::fs::write(&p, serde_json::to_string(&recs).unwrap_or_default()).expect("write");
    let max = frames(2000, 2).iter().copied().fold(f64::MIN, f64::max);
    for (field, want) in [
        (None, max + 0.02),
        (Some("endToEndMs"), max + 0.5),
        (Some("computeMs"), max),
        (Some("inMs"), 0.01),
        (Some("h2dMs"), 0.01),
    ] {
        let mut args = vec!["--samples", p.to_str().unwrap_or_default()];
        if let Some(f) = field {
            args.extend(["--field", f]);
        }
        args.extend(FAST);
        let (code, v, err) = run(&args);
        assert_eq!(code, 0, "{field:?}: {err}");
        assert_eq!(v["n"], 2000);
        assert_eq!(v["max"].as_f64(), Some(want), "{field:?}");
    }
    // A field the export does not have is refused, naming it.
    let mut args = vec![
        "--samples",
        p.to_str().unwrap_or_default(),
        "--field",
        "startEnqMs",
    ];
    args.extend(FAST);
    let (code, _, err) = run(&args);
    assert_eq!(code, 2);
    assert!(
        err.contains("startEnqMs") && err.contains("record 0"),
        "{err}"
    );
}

#[test]
fn unreadable_input_exits_2_naming_file_and_line() {
    let dir = tempfile::tempdir().expect("tmp");
    let p = dir.path().join("bad.csv");
    std::fs::write(&p, "1.0\n2.0\nabc\n").expect("write");
    let (code, _, err) = run(&["--samples", p.to_str().unwrap_or_default()]);
    assert_eq!(code, 2);
    assert!(err.contains("bad.csv:3") && err.contains("abc"), "{err}");
    let (code, _, err) = run(&["--samples", "/nonexistent/x.csv"]);
    assert_eq!(code, 2, "{err}");
    let p = dir.path().join("t.csv");
    std::fs::write(&p, "a,b\n1,2\n").expect("write");
    let (code, _, err) = run(&["--samples", p.to_str().unwrap_or_default(), "--column", "c"]);
    assert_eq!(code, 2);
    assert!(err.contains("column `c`"), "{err}");
}

#[test]
fn run_directory_gives_one_analysis_per_engine_and_scenario() {
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::write(
        dir.path().join("run.json"),
        r#"{"platform": {"name": "orin"}, "engines": [{"name": "e1", "sha256": "ab12"}, {"name": "e2", "sha256": "cd34"}]}"#,
    )
    .expect("write");
    let mut csv = String::from("scenario,engine,frame,rep,pre_ns,infer_ns,post_ns,total_ns\n");
    let a = frames(1600, 3);
    let b = frames(1600, 4);
    for i in 0..1600 {
        for (eng, xs) in [("e1", &a), ("e2", &b)] {
            let inf = (xs[i] * 1e6).round();
            csv.push_str(&format!("s1,{eng},{i},0,1000,{inf},500,{}\n", inf + 1500.0));
        }
    }
    // a short scenario for e1
    for i in 0..100 {
        csv.push_str(&format!("s2,e1,{i},0,1000,{},500,9\n", 4_000_000 + i));
    }
    std::fs::write(dir.path().join("latencies.csv"), csv).expect("write");
    let mut args = vec![dir.path().to_str().unwrap_or_default()];
    args.extend(FAST);
    let (code, v, err) = run(&args);
    assert_eq!(code, 0, "{err}");
    let an = v["analyses"].as_array().expect("analyses");
    assert_eq!(an.len(), 3);
    assert_eq!(an[0]["engine"], "e1");
    assert_eq!(an[0]["engine_sha256"], "ab12");
    assert_eq!(an[0]["platform"], "orin");
    assert_eq!(an[0]["stage"], "infer");
    // Nanoseconds in the file, milliseconds in every figure reported.
    assert_eq!(an[0]["unit"], "ms");
    assert_eq!(an[0]["n"], 1600);
    assert_eq!(an[1]["engine"], "e2");
    assert_eq!(an[2]["scenario"], "s2");
    assert_eq!(an[2]["verdict"], "too_few_samples");
    let want = a.iter().map(|x| (x * 1e6).round()).fold(f64::MIN, f64::max);
    assert_eq!(an[0]["max"].as_f64(), Some(want / 1e6));
    let (code, v, _) = run(&[
        dir.path().to_str().unwrap_or_default(),
        "--stage",
        "total",
        "--resamples",
        "50",
        "--gof-resamples",
        "20",
    ]);
    assert_eq!(code, 0);
    assert_eq!(
        v["analyses"][0]["max"].as_f64(),
        Some((want + 1500.0) / 1e6)
    );
}

#[test]
fn pinned_model_is_the_selected_one_or_the_verdict_says_why() {
    let dir = tempfile::tempdir().expect("tmp");
    let p = dir.path().join("x.csv");
    let body: String = frames(4000, 5).iter().map(|v| format!("{v}\n")).collect();
    std::fs::write(&p, body).expect("write");
    let mut args = vec![
        "--samples",
        p.to_str().unwrap_or_default(),
        "--method",
        "gpd-pot",
        "--estimator",
        "pwm",
        "--probability",
        "1e-9",
        "--per-hour",
        "1e-7",
        "--fps",
        "30",
    ];
    args.extend(FAST);
    let (code, v, err) = run(&args);
    assert_eq!(code, 0, "{err}");
    let probs: Vec<f64> = v["settings"]["probabilities"]
        .as_array()
        .expect("p")
        .iter()
        .filter_map(|x| x.as_f64())
        .collect();
    assert_eq!(probs.len(), 2);
    match v["verdict"].as_str() {
        Some("pwcet") => {
            assert_eq!(v["selected"]["method"], "gpd-pot");
            assert_eq!(v["selected"]["estimator"], "pwm");
        }
        Some("no_acceptable_fit") => assert!(v["selected"].is_null()),
        other => panic!("verdict {other:?}"),
    }
}

fn write_csv(dir: &std::path::Path, name: &str, xs: &[f64]) -> std::path::PathBuf {
    let p = dir.join(name);
    let body: String = xs.iter().map(|v| format!("{v}\n")).collect();
    std::fs::write(&p, body).expect("write");
    p
}

fn schema_check(py: &str, doc: &Value, dir: &std::path::Path) -> (bool, String) {
    let path = dir.join("doc.json");
    std::fs::write(&path, doc.to_string()).expect("write");
    let o = std::process::Command::new(py)
        .arg(common::repo_root().join("tests/py/validate_schema.py"))
        .arg(common::repo_root().join("docs/schema/wcet.schema.json"))
        .arg(&path)
        .output()
        .expect("run python");
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
    )
}

#[test]
fn a_level_shift_is_refused_as_not_stationary_with_its_frame() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut xs = frames(6000, 8);
    for v in xs.iter_mut().skip(4000) {
        *v += 0.2;
    }
    let p = write_csv(dir.path(), "x.csv", &xs);
    let mut args = vec!["--samples", p.to_str().unwrap_or_default()];
    args.extend(FAST);
    let (code, v, err) = run(&args);
    assert_eq!(code, 0, "{err}");
    assert_eq!(v["verdict"], "not_stationary", "{v}");
    let frame = v["changepoint"]["frame"].as_u64().expect("frame");
    assert!((3900..=4100).contains(&frame), "change found at {frame}");
    assert!(v["reasons"][0]
        .as_str()
        .is_some_and(|r| r.contains(&format!("frame {frame}"))));
    let advice = v["advice"][0].as_str().unwrap_or_default();
    assert!(
        advice.contains("each regime") && advice.contains("lock"),
        "{advice}"
    );
    assert!(v["pwcet"].as_array().is_some_and(|a| a.is_empty()));
}

#[test]
fn bounds_beyond_the_extrapolation_limit_need_extrapolate_and_are_marked() {
    let dir = tempfile::tempdir().expect("tmp");
    // 3,000 samples: 1e-3 is inside the data, 1e-5 moderate (>= 1e-2/n), 1e-6 beyond
    let p = write_csv(dir.path(), "x.csv", &frames(3000, 1));
    let base = [
        "--samples",
        p.to_str().unwrap_or_default(),
        "--probability",
        "1e-3",
        "--probability",
        "1e-5",
        "--probability",
        "1e-6",
    ];
    let class_of = |v: &Value, p: f64| -> (String, bool) {
        let row = v["pwcet"]
            .as_array()
            .expect("pwcet")
            .iter()
            .find(|r| {
                r["method"] == v["selected"]["method"]
                    && r["estimator"] == v["selected"]["estimator"]
                    && r["exceedance_probability"].as_f64() == Some(p)
            })
            .cloned()
            .expect("row");
        (
            row["extrapolation"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            row["ci_high"].is_number() && row["value"].is_number(),
        )
    };
    let mut args = base.to_vec();
    args.extend(FAST);
    let (code, v, err) = run(&args);
    assert_eq!(code, 0, "{err}");
    assert_eq!(v["verdict"], "pwcet", "{v}");
    assert_eq!(class_of(&v, 1e-3), ("inside_data".into(), true));
    assert_eq!(class_of(&v, 1e-5), ("moderate".into(), true));
    assert_eq!(class_of(&v, 1e-6), ("beyond_limit".into(), false));
    assert!(v["advice"].as_array().is_some_and(|a| a
        .iter()
        .any(|s| s.as_str().is_some_and(|s| s.contains("--extrapolate")))));
    args.push("--extrapolate");
    let (code, v, err) = run(&args);
    assert_eq!(code, 0, "{err}");
    assert_eq!(class_of(&v, 1e-6), ("beyond_limit".into(), true));
    assert_eq!(v["settings"]["extrapolate"], true);
}

#[test]
fn outputs_match_the_wcet_schema() {
    let Some(py) = common::python_with(&["jsonschema"]) else {
        return;
    };
    let dir = tempfile::tempdir().expect("tmp");
    // an i.i.d. trace (bound), an AR(1) trace (dependent route), a level shift (refused)
    // and a short one (too_few_samples)
    let mut r = Rng::new(4);
    let mut z = 0.0;
    let ar: Vec<f64> = (0..12_000)
        .map(|_| {
            z = 0.7 * z + r.normal();
            10.0 + 0.2 * z
        })
        .collect();
    let mut shifted = frames(5000, 2);
    for v in shifted.iter_mut().skip(2500) {
        *v += 0.3;
    }
    let mut verdicts = Vec::new();
    for (name, xs) in [
        ("iid", frames(4000, 1)),
        ("ar", ar),
        ("shift", shifted),
        ("short", frames(200, 3)),
    ] {
        let p = write_csv(dir.path(), &format!("{name}.csv"), &xs);
        let mut args = vec![
            "--samples",
            p.to_str().unwrap_or_default(),
            "--trace-resamples",
            "50",
        ];
        args.extend(FAST);
        let (code, v, err) = run(&args);
        assert_eq!(code, 0, "{err}");
        let (ok, msg) = schema_check(&py, &v, dir.path());
        assert!(ok, "{name}: {msg}");
        verdicts.push(v["verdict"].as_str().unwrap_or_default().to_string());
        if name == "iid" {
            // the schema can fail: an unknown verdict, a missing extrapolation class
            let mut bad = v.clone();
            bad["verdict"] = serde_json::json!("maybe");
            assert!(!schema_check(&py, &bad, dir.path()).0);
            let mut bad = v.clone();
            if let Some(row) = bad["pwcet"][0].as_object_mut() {
                row.remove("extrapolation");
            }
            assert!(!schema_check(&py, &bad, dir.path()).0);
        }
    }
    assert_eq!(verdicts[0], "pwcet");
    assert_eq!(verdicts[2], "not_stationary");
    assert_eq!(verdicts[3], "too_few_samples");
}

#[test]
fn text_format_reads_as_the_json_says() {
    let dir = tempfile::tempdir().expect("tmp");
    // 10^4 samples: 1e-6 is a moderate extrapolation, 1e-9 beyond the limit.
    let p = write_csv(dir.path(), "x.csv", &frames(10_000, 11));
    let path = p.to_str().unwrap();
    let (code, json, err) = run(&[&["--samples", path][..], &FAST].concat());
    assert_eq!(code, 0, "{err}");
    assert_eq!(json["verdict"], "pwcet", "{json}");
    let out = common::adasval()
        .arg("wcet")
        .args([&["--samples", path, "--format", "text"][..], &FAST].concat())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("10000 samples") && text.contains("verdict: pWCET bound"),
        "{text}"
    );
    // The selected model's row at 1e-6, with the JSON's value and its extrapolation class.
    let sel = &json["selected"];
    let row = json["pwcet"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| {
            r["method"] == sel["method"]
                && r["estimator"] == sel["estimator"]
                && r["exceedance_probability"].as_f64() == Some(1e-6)
        })
        .expect("a 1e-6 row");
    let line = text
        .lines()
        .find(|l| l.starts_with("| 1e-6 |"))
        .unwrap_or_else(|| panic!("no 1e-6 row: {text}"));
    let value = format!("{:.3} ms", row["value"].as_f64().unwrap());
    assert!(line.contains(&value), "{line} vs {row}");
    assert!(line.contains("moderate extrapolation"), "{line}");
    // Beyond the limit the value is withheld and says why.
    let line = text.lines().find(|l| l.starts_with("| 1e-9 |")).unwrap();
    assert!(
        line.contains("withheld") && line.contains("beyond"),
        "{line}"
    );
    // Too few samples: the reason and what to change, no bound.
    let q = write_csv(dir.path(), "few.csv", &frames(40, 3));
    let out = common::adasval()
        .args(["wcet", "--samples", q.to_str().unwrap(), "--format", "text"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("no bound: too few samples") && text.contains("What to change:"),
        "{text}"
    );
    assert!(!text.contains("| 1e-6 |"), "{text}");
}
