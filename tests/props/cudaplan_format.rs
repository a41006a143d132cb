//! The `.cudaplan` file format: round trip, deterministic bytes, and a clear error for
//! every kind of damage (bad magic, other version, truncation, tampered header, ids and
//! weight offsets out of range).

use crate::common;
use crate::cudaplan_fixture;

use adasval::cudaplan::build::{build, BuildOptions};
use adasval::cudaplan::format::{FormatError, PlanFile};
use adasval::cudaplan::ir::{Precision, TacticPolicy};
use common::*;
use cudaplan_fixture::*;

fn demo_plan(variant: u64) -> PlanFile {
    build(
        &repo_root().join("engines/demo/detector.onnx"),
        &BuildOptions {
            name: "demo".into(),
            precision: Precision::Fp16,
            tactics: TacticPolicy::Measured,
            fuse_elementwise: true,
        },
        &mut FakeChooser::new(variant),
    )
    .unwrap()
}

#[test]
fn round_trip_is_exact() {
    let p = demo_plan(0);
    let bytes = p.to_bytes().unwrap();
    assert!(bytes.starts_with(b"ADASVAL-CUDAPLAN 1\n"));
    let back = PlanFile::from_bytes(&bytes).unwrap();
    assert_eq!(back, p);
    assert_eq!(back.to_bytes().unwrap(), bytes);
    // The blob holds every weight value once: 16 convolutions, weights and biases.
    let n: usize = p.plan.weights.iter().map(|w| w.elements()).sum();
    assert_eq!(p.weights.len(), n);
}

#[test]
fn rebuilds_are_byte_identical_except_the_build_time() {
    let mut a = demo_plan(0);
    let mut b = demo_plan(0);
    a.plan.built_at = String::new();
    b.plan.built_at = String::new();
    assert_eq!(a.to_bytes().unwrap(), b.to_bytes().unwrap());
    // Another variant of the fake chooser decides differently: different bytes.
    let mut c = demo_plan(1);
    c.plan.built_at = String::new();
    assert_ne!(a.to_bytes().unwrap(), c.to_bytes().unwrap());
}

#[test]
fn bad_magic_and_other_versions_are_refused() {
    let bytes = demo_plan(0).to_bytes().unwrap();
    let e = PlanFile::from_bytes(b"PK\x03\x04 this is a zip file\n").unwrap_err();
    assert!(matches!(e, FormatError::BadMagic), "{e}");
    let e = PlanFile::from_bytes(&[]).unwrap_err();
    assert!(matches!(e, FormatError::BadMagic), "{e}");
    let mut v2 = bytes.clone();
    v2[17] = b'2';
    let e = PlanFile::from_bytes(&v2).unwrap_err();
    assert!(matches!(e, FormatError::Version { .. }), "{e}");
    assert!(e.to_string().contains("version 2"), "{e}");
    // A header claiming another format version under the right magic line.
    let mut p = demo_plan(0);
    p.plan.format_version = 99;
    let e = PlanFile::from_bytes(&p.to_bytes().unwrap()).unwrap_err();
    assert!(matches!(e, FormatError::Version { .. }), "{e}");
}

#[test]
fn truncation_anywhere_is_an_error() {
    let bytes = demo_plan(0).to_bytes().unwrap();
    let header_len = u64::from_le_bytes(bytes[19..27].try_into().unwrap()) as usize;
    let blob_start = 27 + header_len;
    for cut in [
        10,
        19,
        23,
        27,
        27 + header_len / 2,
        blob_start - 1,
        blob_start + 2,
        bytes.len() - 1,
        bytes.len() - 4,
    ] {
        let e = PlanFile::from_bytes(&bytes[..cut]);
        assert!(e.is_err(), "cut at {cut} of {} was accepted", bytes.len());
        let msg = e.unwrap_err().to_string();
        assert!(
            msg.contains("truncated")
                || msg.contains("outside the blob")
                || msg.contains("not a CUDA plan")
                || msg.contains("header"),
            "cut at {cut}: {msg}"
        );
    }
    // Whole values missing from the end of the blob: the last weight no longer fits.
    let e = PlanFile::from_bytes(&bytes[..bytes.len() - 4]).unwrap_err();
    assert!(e.to_string().contains("outside the blob"), "{e}");
}

#[test]
fn tampered_headers_are_caught() {
    let base = demo_plan(0);
    let bytes = base.to_bytes().unwrap();
    // One flipped byte inside the JSON.
    let mut flipped = bytes.clone();
    flipped[40] = b'\x01';
    let e = PlanFile::from_bytes(&flipped).unwrap_err();
    assert!(matches!(e, FormatError::Header(_)), "{e}");
    // A header length pointing past the end.
    let mut long = bytes.clone();
    long[19..27].copy_from_slice(&(u64::MAX / 2).to_le_bytes());
    assert!(matches!(
        PlanFile::from_bytes(&long).unwrap_err(),
        FormatError::Truncated { .. }
    ));

    let check = |edit: &dyn Fn(&mut PlanFile), needle: &str| {
        let mut p = base.clone();
        edit(&mut p);
        let e = PlanFile::from_bytes(&p.to_bytes().unwrap()).unwrap_err();
        assert!(matches!(e, FormatError::Invalid(_)), "{e}");
        assert!(e.to_string().contains(needle), "{e} (wanted `{needle}`)");
    };
    check(
        &|p| p.plan.layers[3].inputs[0] = 10_000,
        "tensor id 10000 out of range",
    );
    check(&|p| p.plan.outputs[0] = 777, "tensor id 777 out of range");
    check(
        &|p| p.plan.weights[2].offset = p.weights.len(),
        "outside the blob",
    );
    check(
        &|p| p.plan.weights[0].offset = usize::MAX,
        "outside the blob",
    );
    check(
        &|p| {
            if let adasval::cudaplan::ir::Op::Conv { weight, .. } = &mut p.plan.layers[0].op {
                *weight = 5000;
            }
        },
        "weight id 5000 out of range",
    );
    check(
        &|p| {
            p.plan.memory.offsets.pop();
        },
        "memory plan",
    );
    check(&|p| p.plan.weights[0].shape[1] = 7, "does not fit");
    // Semantic tampering: shapes and parameters that no longer fit together.
    check(
        &|p| {
            let t = p.plan.layers[10].outputs[0];
            p.plan.tensors[t].shape[3] += 1;
        },
        "inputs give",
    );
    check(
        &|p| {
            if let Some(l) = p.plan.layers.iter_mut().find(|l| l.op.kind() == "Concat") {
                l.op = adasval::cudaplan::ir::Op::Concat { axis: 7 };
            }
        },
        "axis 7 out of range",
    );
    check(
        &|p| {
            if let Some(l) = p
                .plan
                .layers
                .iter_mut()
                .find(|l| l.op.kind() == "Transpose")
            {
                l.op = adasval::cudaplan::ir::Op::Transpose {
                    perm: vec![0, 0, 1],
                };
            }
        },
        "not a permutation",
    );
    check(&|p| p.plan.layers.swap(3, 4), "before any layer writes it");
    check(
        &|p| p.plan.layers[5].outputs = p.plan.layers[4].outputs.clone(),
        "second time",
    );
    check(&|p| p.plan.memory.arena_bytes /= 2, "outside the arena");
    check(&|p| p.plan.memory.offsets[1] += 8, "misaligned");
}

mod mutations {
    use super::*;
    use adasval::cudaplan::reference::run_reference;
    use adasval::tensor::Tensor;
    use proptest::prelude::*;
    use std::sync::OnceLock;

    fn base() -> &'static (Vec<u8>, usize) {
        static B: OnceLock<(Vec<u8>, usize)> = OnceLock::new();
        B.get_or_init(|| {
            let bytes = demo_plan(0).to_bytes().unwrap();
            let header_len = u64::from_le_bytes(bytes[19..27].try_into().unwrap()) as usize;
            (bytes, 27 + header_len)
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
        /// A damaged header is refused or, if it still describes a consistent plan, that
        /// plan runs: nothing in loading or interpreting panics on what a file says.
        #[test]
        fn damaged_headers_never_panic(pos in 0usize..1_000_000, digit in 0u8..10, flip in any::<bool>()) {
            let (bytes, header_end) = base();
            let mut b = bytes.clone();
            let i = 27 + pos % (header_end - 27);
            if flip {
                b[i] ^= 0x5a;
            } else if b[i].is_ascii_digit() {
                b[i] = b'0' + digit;
            }
            if let Ok(p) = PlanFile::from_bytes(&b) {
                let info = &p.plan.tensors[p.plan.inputs[0]];
                if info.elements() == 3 * 288 * 512 {
                    let x = Tensor::new(info.name.clone(), info.shape.clone(), vec![0.5; info.elements()]);
                    let _ = run_reference(&p, &[x]);
                }
            }
        }
    }
}

/// A plan whose fake chooser let the tactic decision put some convolutions on the direct
/// kernel: the engine, the variant and every candidate's time survive the round trip.
#[test]
fn direct_kernel_choices_round_trip() {
    use adasval::cudaplan::ir::ConvEngine;
    let mut chooser = FakeChooser::new(3);
    chooser.direct = true;
    let p = build(
        &repo_root().join("engines/demo/detector.onnx"),
        &BuildOptions {
            name: "demo".into(),
            precision: Precision::Fp32,
            tactics: TacticPolicy::Measured,
            fuse_elementwise: true,
        },
        &mut chooser,
    )
    .unwrap();
    let choices: Vec<_> = p
        .plan
        .layers
        .iter()
        .filter_map(|l| l.choice.as_ref())
        .collect();
    let direct = choices
        .iter()
        .filter(|c| c.engine == ConvEngine::Direct)
        .count();
    assert!(
        direct > 0 && direct < choices.len(),
        "{direct} of {}",
        choices.len()
    );
    for c in &choices {
        assert_eq!(c.direct.is_some(), c.engine == ConvEngine::Direct);
        assert!(c.tactics.len() > 1);
        // The chosen tactic is the fastest one recorded.
        let best = c
            .tactics
            .iter()
            .filter_map(|t| t.time_ms)
            .fold(f32::INFINITY, f32::min);
        let chosen = c.tactics.iter().find(|t| t.status == "chosen").unwrap();
        assert_eq!(chosen.time_ms, Some(best));
        assert_eq!(chosen.engine, c.engine);
    }
    // No workspace is reserved for direct layers.
    let ws = choices
        .iter()
        .filter(|c| c.engine == ConvEngine::Cudnn)
        .map(|c| c.workspace_bytes)
        .max()
        .unwrap_or(0);
    assert_eq!(p.plan.memory.workspace_bytes, ws);
    let bytes = p.to_bytes().unwrap();
    let back = PlanFile::from_bytes(&bytes).unwrap();
    assert_eq!(back, p);
    let header = String::from_utf8_lossy(&bytes);
    assert!(header.contains(r#""engine":"direct""#));
    assert!(header.contains(r#""channels_per_thread":"#));
}

/// A plan written before the direct kernel existed (no `engine`, `direct`, `tactics` in its
/// choices) still loads, as cuDNN choices, under the same format version.
#[test]
fn plans_without_engine_fields_load_as_cudnn() {
    use adasval::cudaplan::ir::ConvEngine;
    let p = demo_plan(0);
    let bytes = p.to_bytes().unwrap();
    let magic = b"ADASVAL-CUDAPLAN 1\n".len();
    let n = u64::from_le_bytes(bytes[magic..magic + 8].try_into().unwrap()) as usize;
    let mut header: serde_json::Value =
        serde_json::from_slice(&bytes[magic + 8..magic + 8 + n]).unwrap();
    let mut stripped = 0;
    for l in header["layers"].as_array_mut().unwrap() {
        if let Some(c) = l["choice"].as_object_mut() {
            assert!(c.remove("engine").is_some());
            c.remove("direct");
            c.remove("tactics");
            stripped += 1;
        }
    }
    assert!(stripped > 0);
    let json = serde_json::to_vec(&header).unwrap();
    let mut old = bytes[..magic].to_vec();
    old.extend((json.len() as u64).to_le_bytes());
    old.extend(&json);
    old.extend(&bytes[magic + 8 + n..]);
    let back = PlanFile::from_bytes(&old).unwrap();
    for l in &back.plan.layers {
        if let Some(c) = &l.choice {
            assert_eq!(c.engine, ConvEngine::Cudnn);
            assert!(c.direct.is_none() && c.tactics.is_empty());
        }
    }
    assert_eq!(back, p);
}
