//! The lock-file and scenario parsers never panic: start from valid files, mutate them,
//! and require either a parse or an error that names the file (and the line when the
//! YAML parser located the fault).

use adasval::lock::LockFile;
use adasval::scenario::Scenario;
use proptest::prelude::*;
use std::path::Path;

const LOCK: &str = "schema_version: 1
engines:
- name: demo
  path: engines/demo/detector.onnx
  format: onnx
  sha256: 695e750a5d5754bb5a8d5325643b59282191a7e7a564e435a415fd3c578eab14
  size: 1234
  frozen_at: 2026-11-26T08:00:00Z
  adapter:
    path: engines/demo/adapter.yaml
    sha256: cc744f86869c31d380076c7a5467f2ad4d92cb7ebb9709a1f2c4d5f5d07bf461
";

const SCENARIO: &str = "schema_version: 1
id: two-frames
title: Two frames
category: pedestrian
tags: [day, urban]
fps: 10
deadline_ms: 100
requirements: [REQ-1]
frames:
  files:
    glob: data/*.png
    labels: { format: coco, path: golden/labels.json }
    class_map: { person: pedestrian }
timing: { repetitions: 3 }
";

#[derive(Debug, Clone)]
enum Edit {
    Delete(usize, usize),
    Insert(usize, String),
    Replace(usize, u8),
}

fn edits() -> impl Strategy<Value = Vec<Edit>> {
    prop::collection::vec(
        prop_oneof![
            (any::<usize>(), 1usize..8).prop_map(|(a, n)| Edit::Delete(a, n)),
            (
                any::<usize>(),
                prop::sample::select(vec![
                    ":".to_string(),
                    " ".into(),
                    "\n".into(),
                    "- ".into(),
                    "[".into(),
                    "{".into(),
                    "\"".into(),
                    "-1".into(),
                    "1e309".into(),
                    "~".into(),
                    "&a".into(),
                    "*a".into(),
                    "\t".into(),
                    "!!binary".into(),
                    "ü".into(),
                    "9999999999999999999999".into(),
                ])
            )
                .prop_map(|(a, s)| Edit::Insert(a, s)),
            (any::<usize>(), any::<u8>()).prop_map(|(a, b)| Edit::Replace(a, b)),
        ],
        1..6,
    )
}

fn apply(text: &str, edits: &[Edit]) -> String {
    let mut b = text.as_bytes().to_vec();
    for e in edits {
        match e {
            Edit::Delete(at, n) if !b.is_empty() => {
                let at = at % b.len();
                let end = (at + n).min(b.len());
                b.drain(at..end);
            }
            Edit::Insert(at, s) => {
                let at = at % (b.len() + 1);
                b.splice(at..at, s.bytes());
            }
            Edit::Replace(at, v) if !b.is_empty() => {
                let at = at % b.len();
                b[at] = *v;
            }
            _ => {}
        }
    }
    String::from_utf8_lossy(&b).into_owned()
}

#[test]
fn the_unmutated_files_parse() {
    LockFile::parse(Path::new("engines/engines.lock.yaml"), LOCK).unwrap();
    Scenario::parse(Path::new("scenarios/two-frames.yaml"), SCENARIO).unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn lock_parser_never_panics(e in edits()) {
        let text = apply(LOCK, &e);
        if let Err(err) = LockFile::parse(Path::new("engines/engines.lock.yaml"), &text) {
            let msg = err.to_string();
            prop_assert!(msg.contains("engines/engines.lock.yaml"), "{msg}");
        }
    }

    #[test]
    fn scenario_parser_never_panics(e in edits()) {
        let text = apply(SCENARIO, &e);
        if let Err(err) = Scenario::parse(Path::new("scenarios/two-frames.yaml"), &text) {
            let msg = err.to_string();
            prop_assert!(msg.contains("scenarios/two-frames.yaml") || msg.contains("scenario `"), "{msg}");
        }
    }

    /// A value of the wrong type on a known line is reported with that line and key.
    #[test]
    fn wrong_type_names_line_and_field(line in 5usize..8) {
        let lines: Vec<&str> = SCENARIO.lines().collect();
        let key = lines[line - 1].split(':').next().unwrap().to_string();
        let mut mutated: Vec<String> = lines.iter().map(|s| s.to_string()).collect();
        mutated[line - 1] = format!("{key}: {{ not: a scalar }}");
        let text = mutated.join("\n");
        let err = Scenario::parse(Path::new("scenarios/two-frames.yaml"), &text).unwrap_err();
        let msg = err.to_string();
        prop_assert!(msg.contains(&format!("two-frames.yaml:{line}")), "{msg}");
        prop_assert!(msg.contains(&format!("`{key}`")), "{msg}");
    }
}
