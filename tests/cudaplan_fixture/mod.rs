//! Shared by the cudaplan integration tests: a fake algorithm chooser (so plans can be
//! built and compared without a GPU), seeded inputs and the error measure.
#![allow(dead_code)]

use adasval::cudaplan::ir::{BuildDevice, Candidate, ConvChoice, ConvEngine};
use adasval::cudaplan::{tactic, AlgoChooser, ChooseError, ConvProblem};

pub const ALGOS: [(&str, i32); 4] = [
    ("CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM", 0),
    ("CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM", 1),
    ("CUDNN_CONVOLUTION_FWD_ALGO_GEMM", 2),
    ("CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD_NONFUSED", 7),
];

/// Picks an algorithm from a hash of (layer name, variant): the same variant always
/// makes the same choices, another variant makes different ones for some layers. The
/// measured time changes with every call, as real measurements do.
pub struct FakeChooser {
    pub variant: u64,
    pub device: &'static str,
    pub calls: usize,
    pub problems: Vec<ConvProblem>,
    /// Also "time" the direct kernel's variants (fake times from the same hash) and let
    /// the library's tactic decision pick the engine, as the GPU chooser does.
    pub direct: bool,
}

impl FakeChooser {
    pub fn new(variant: u64) -> Self {
        Self {
            variant,
            device: "Fake GPU",
            calls: 0,
            problems: vec![],
            direct: false,
        }
    }
}

fn fnv(s: &str, seed: u64) -> u64 {
    let mut h = 0xcbf29ce484222325u64 ^ seed.wrapping_mul(0x9E3779B97F4A7C15);
    for b in s.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    h
}

impl AlgoChooser for FakeChooser {
    fn device(&self) -> Option<BuildDevice> {
        Some(BuildDevice {
            name: self.device.into(),
            compute_capability: [9, 0],
            sm_count: 132,
            memory_bytes: 80 << 30,
            driver: "0.0".into(),
            cuda: "13.0".into(),
            cudnn: "9.10.0".into(),
            cublas: "13.0.0".into(),
        })
    }

    fn choose(&mut self, p: &ConvProblem) -> Result<ConvChoice, ChooseError> {
        self.calls += 1;
        self.problems.push(p.clone());
        let (algo, id) = ALGOS[(fnv(&p.layer, self.variant) % 4) as usize];
        let ws = if id == 7 { 4096 * (p.weight[0] + 1) } else { 0 };
        let t = 0.01 + self.calls as f32 * 1e-4;
        let mut choice = ConvChoice {
            algo: algo.into(),
            algo_id: id,
            math_type: "CUDNN_DEFAULT_MATH".into(),
            workspace_bytes: ws,
            deterministic: true,
            measured_ms: Some(t),
            candidates: vec![Candidate {
                algo: algo.into(),
                time_ms: Some(t),
                workspace_bytes: ws,
                status: "CUDNN_STATUS_SUCCESS".into(),
            }],
            engine: ConvEngine::Cudnn,
            direct: None,
            tactics: vec![],
        };
        if self.direct {
            let mut timed = vec![tactic::Timed {
                tactic: format!("cudnn {algo} + bias_act"),
                engine: ConvEngine::Cudnn,
                direct: None,
                time_ms: Some(t + 0.002),
                error: None,
            }];
            for (i, v) in tactic::direct_variants(p).into_iter().enumerate() {
                let h = fnv(&format!("{}#{i}", p.layer), self.variant);
                timed.push(tactic::Timed {
                    tactic: v.label([p.weight[2], p.weight[3]]),
                    engine: ConvEngine::Direct,
                    direct: Some(v),
                    time_ms: Some(0.008 + (h % 1000) as f32 * 1e-4),
                    error: None,
                });
            }
            let d = tactic::decide(p.policy, &timed, None, None);
            choice.engine = d.engine;
            choice.direct = d.direct;
            choice.tactics = d.tactics;
        }
        Ok(choice)
    }
}

/// Uniform values in [lo, hi), seeded.
pub fn seeded(seed: u64, n: usize, lo: f32, hi: f32) -> Vec<f32> {
    let mut r = adasval::rng::SplitMix64::new(seed);
    (0..n)
        .map(|_| lo + (hi - lo) * ((r.next_u64() >> 40) as f32 / 16_777_216.0))
        .collect()
}

/// ||a - b|| / ||b||
pub fn rel_l2(a: &[f32], b: &[f32]) -> f64 {
    assert_eq!(a.len(), b.len(), "length mismatch");
    let num: f64 = a.iter().zip(b).map(|(x, y)| ((x - y) as f64).powi(2)).sum();
    let den: f64 = b.iter().map(|y| (*y as f64).powi(2)).sum();
    (num / den.max(1e-30)).sqrt()
}

/// How many nodes of `op` the ONNX file holds, read with tract's protobuf parser (not the
/// importer under test), so the counts follow the committed model when it is retrained.
pub fn onnx_op_count(model: &std::path::Path, op: &str) -> usize {
    use tract_onnx::prelude::Framework;
    let proto = tract_onnx::onnx()
        .proto_model_for_path(model)
        .expect("parse ONNX");
    proto
        .graph
        .expect("graph")
        .node
        .iter()
        .filter(|n| n.op_type == op)
        .count()
}
