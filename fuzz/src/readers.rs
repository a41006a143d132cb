//! One function per parser and reader of adasval, each feeding it arbitrary bytes the way
//! the program reads that file or stream. The fuzz targets (fuzz/fuzz_targets) call these;
//! the root crate's `tests/props/fuzz_regressions.rs` includes this file too and replays
//! every committed crash input (fuzz/regressions/<target>/) through the same function, so a
//! fixed crash stays fixed under a plain `cargo test`. Results are dropped: only a panic,
//! an overflow, a hang or an allocation past the fuzzer's limit is a finding.

use adasval_judge::safety::Requirements;
use std::path::Path;
use std::sync::OnceLock;

/// A reader fed arbitrary bytes.
pub type Reader = fn(&[u8]);

/// Every reader by its fuzz target's name.
pub const TARGETS: &[(&str, Reader)] = &[
    ("adapter_yaml", adapter_yaml),
    ("bdd100k_labels", bdd100k_labels),
    ("coco_instances", coco_instances),
    ("coco_results", coco_results),
    ("cudaplan", cudaplan),
    ("gsn_yaml", gsn_yaml),
    ("kitti_labels", kitti_labels),
    ("latencies_csv", latencies_csv),
    ("lock_yaml", lock_yaml),
    ("manifest", manifest),
    ("requirements_yaml", requirements_yaml),
    ("run_json", run_json),
    ("runner_frames", runner_frames),
    ("scenario_yaml", scenario_yaml),
    ("signature", signature),
    ("trtexec_exports", trtexec_exports),
    ("trtexec_log", trtexec_log),
    ("voc_xml", voc_xml),
    ("waivers_yaml", waivers_yaml),
];

/// The project's own requirements (`safety-case/requirements.yaml`), which waivers and GSN
/// files are checked against.
pub fn project_requirements() -> &'static Requirements {
    static REQS: OnceLock<Requirements> = OnceLock::new();
    REQS.get_or_init(|| {
        let text = include_str!("../../safety-case/requirements.yaml");
        Requirements::parse(Path::new("requirements.yaml"), text)
            .expect("the project's requirements parse")
    })
}

/// Model adapter YAML: `adasval_record::adapter::Adapter::parse`.
pub fn adapter_yaml(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = adasval_record::adapter::Adapter::parse(Path::new("fuzz.adapter.yaml"), text);
    }
}

/// BDD100K (Scalabel) 2-D labels: `adasval_record::bdd100k::read`.
pub fn bdd100k_labels(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = adasval_record::bdd100k::read(text, "labels.json");
    }
}

/// COCO instances (golden labels): `adasval_record::coco::read_instances`.
pub fn coco_instances(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = adasval_record::coco::read_instances(text, "instances.json");
    }
}

/// COCO results (detections): `adasval_record::coco::read_results`.
pub fn coco_results(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = adasval_record::coco::read_results(text, "results.json");
    }
}

/// `.cudaplan` files (magic, header length, JSON plan, weights; then the structural checks): `adasval_plan::format::PlanFile::from_bytes`.
pub fn cudaplan(data: &[u8]) {
    let _ = adasval_plan::format::PlanFile::from_bytes(data);
}

/// GSN safety case YAML: `adasval_judge::safety::Gsn::parse`, then the requirement links.
pub fn gsn_yaml(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(gsn) = adasval_judge::safety::Gsn::parse(Path::new("gsn.yaml"), text) {
            let _ = gsn.roots();
            let _ = gsn.check_requirements(project_requirements());
        }
    }
}

/// KITTI `label_2` text: `adasval_scenario::labels::parse_kitti`.
pub fn kitti_labels(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = adasval_scenario::labels::parse_kitti("fuzz.txt", text);
    }
}

/// `latencies.csv` (8, 11 and 12 columns): `adasval_record::record::parse_latencies_csv_streams`.
pub fn latencies_csv(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = adasval_record::record::parse_latencies_csv_streams("latencies.csv", text);
    }
}

/// The lock file (`engines/engines.lock.yaml`): `adasval_record::lock::LockFile::parse`.
pub fn lock_yaml(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = adasval_record::lock::LockFile::parse(Path::new("engines.lock.yaml"), text);
    }
}

/// `MANIFEST.sha256` (raw bytes, as `evidence verify` reads them): `adasval_judge::evidence::manifest::parse_manifest`.
pub fn manifest(data: &[u8]) {
    let _ = adasval_judge::evidence::manifest::parse_manifest(Path::new("MANIFEST.sha256"), data);
}

/// Requirements YAML: `adasval_judge::safety::Requirements::parse`.
pub fn requirements_yaml(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = adasval_judge::safety::Requirements::parse(Path::new("requirements.yaml"), text);
    }
}

/// `run.json`, whole record and header view: `adasval_record::record::{parse_run, parse_run_header}`.
pub fn run_json(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = adasval_record::record::parse_run("run.json", text);
        if let Ok(h) = adasval_record::record::parse_run_header("run.json", text) {
            let _ = h.is_complete();
        }
    }
}

/// External-runner protocol frames, read one after another from a byte stream as the `runner` backend does: `adasval_run::runner_protocol::read_message`, then `to_f32`.
pub fn runner_frames(data: &[u8]) {
    use adasval_run::runner_protocol as proto;
    let mut r = data;
    while let Ok(m) = proto::read_message(&mut r) {
        let _ = m.kind();
        for (d, b) in &m.tensors {
            let _ = proto::to_f32(d, b);
        }
    }
}

/// Scenario YAML (`scenarios/*.yaml`): `adasval_scenario::Scenario::parse`.
pub fn scenario_yaml(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = adasval_scenario::Scenario::parse(Path::new("fuzz.yaml"), text);
    }
}

/// `MANIFEST.sha256.sig` and public-key files: `adasval_judge::evidence::keys::{parse_signature, parse_verifying_key}`.
pub fn signature(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        use adasval_judge::evidence::keys;
        let _ = keys::parse_signature(Path::new("MANIFEST.sha256.sig"), text);
        let _ = keys::parse_verifying_key(Path::new("signer.pub"), text);
    }
}

/// trtexec `--exportTimes`, `--exportProfile`, `--exportLayerInfo`: `adasval_record::trtexec_export`.
pub fn trtexec_exports(data: &[u8]) {
    use adasval_record::trtexec_export as tx;
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let path = Path::new("export.json");
    let _ = tx::parse_times(path, &v);
    let profile = tx::parse_profile(path, &v).ok();
    let graph = tx::parse_layer_info(path, &v)
        .ok()
        .map(|(layers, _)| layers);
    let _ = tx::join_layers(graph, profile.as_ref());
}

/// trtexec's log and `--exportOutput`: `adasval_run::trtexec::{tensorrt_version, inference_options, parse_exported_outputs}`.
pub fn trtexec_log(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        use adasval_run::trtexec as t;
        let _ = t::tensorrt_version(text);
        let _ = t::inference_options(text);
        let _ = t::parse_exported_outputs(Path::new("outputs.json"), text);
    }
}

/// PASCAL VOC XML labels: `adasval_scenario::labels::parse_voc`.
pub fn voc_xml(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = adasval_scenario::labels::parse_voc("fuzz.xml", text);
    }
}

/// Waivers YAML against the project's own requirements: `adasval_judge::safety::Waivers::parse`.
pub fn waivers_yaml(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let reqs = project_requirements();
        let _ = adasval_judge::safety::Waivers::parse(Path::new("waivers.yaml"), text, reqs);
    }
}
