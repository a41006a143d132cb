//! The builder's whole-layer tactic decision for one convolution: cuDNN (best algorithm plus
//! its bias/activation epilogue) against the variants of adasval's direct convolution
//! kernel (convolution, bias and activation in one launch). The GPU side times the
//! candidates; what is eligible, what each policy decides from the times and what the plan
//! records is decided here, so it can be tested without a GPU.

use super::ir::{ConvEngine, ConvTile, DirectConv, TacticPolicy, TacticTime};
use super::ConvProblem;

/// Channel blocks the kernel source instantiates (output channels per thread).
pub const CHANNEL_BLOCKS: [u32; 5] = [1, 2, 4, 8, 16];
/// Threads per block the chooser tries.
pub const BLOCKS: [u32; 3] = [64, 128, 256];
/// The launch grid's y dimension (batch × channel blocks) is limited by CUDA.
const MAX_GRID_Y: usize = 65_535;

/// Why the direct kernel cannot run `p`, or `None` when it can.
pub fn direct_unsupported(p: &ConvProblem) -> Option<String> {
    let [n, c, h, w] = p.input;
    let [k, cg, kh, kw] = p.weight;
    let [_, _, oh, ow] = p.output;
    if p.dilation != [1, 1] {
        return Some(format!(
            "dilation {:?} (the direct kernel has none)",
            p.dilation
        ));
    }
    if p.group == 0 || c != cg * p.group || k % p.group != 0 {
        return Some(format!(
            "{c} input / {k} output channels in {} groups",
            p.group
        ));
    }
    let fits = |v: usize| i32::try_from(v).is_ok();
    let biggest = [n * c * h * w, n * k * oh * ow, k * cg * kh * kw];
    if !biggest.iter().all(|&v| fits(v)) {
        return Some("tensor too large for 32-bit indexing".into());
    }
    if n * k > MAX_GRID_Y {
        return Some(format!("{n} × {k} channel blocks exceed the launch grid"));
    }
    None
}

/// The direct kernel variants that can run `p`: a channel block must divide the output
/// channels of one group (every channel of a thread reads the same inputs).
pub fn direct_variants(p: &ConvProblem) -> Vec<DirectConv> {
    if direct_unsupported(p).is_some() {
        return vec![];
    }
    let per_group = p.weight[0] / p.group;
    CHANNEL_BLOCKS
        .iter()
        .filter(|&&cb| per_group.is_multiple_of(cb as usize))
        .flat_map(|&cb| {
            BLOCKS.iter().map(move |&block| DirectConv {
                channels_per_thread: cb,
                block,
                tile: None,
            })
        })
        .chain(
            tiled_variants()
                .into_iter()
                .filter(|v| tile_unsupported(p, v).is_none()),
        )
        .collect()
}

/// The tiled kernel's variants, per stride (1 and 2): (rows, cols, output channels per
/// block, channels per thread, rows per thread). Small tiles give the small maps of a
/// batch-1 detector enough blocks to fill the chip; large ones reuse more of each load.
pub const TILE_SHAPES: [(u32, u32, u32, u32, u32); 7] = [
    (4, 16, 16, 4, 2),
    (2, 32, 8, 4, 1),
    (4, 32, 16, 4, 2),
    (8, 16, 16, 4, 4),
    (4, 16, 8, 2, 2),
    (8, 32, 8, 4, 4),
    (2, 16, 16, 4, 1),
];
/// Strides the tiled kernel is instantiated for.
pub const TILE_STRIDES: [u32; 2] = [1, 2];

/// Every tiled variant the kernel source instantiates.
pub fn tiled_variants() -> Vec<DirectConv> {
    TILE_STRIDES
        .iter()
        .flat_map(|&stride| {
            TILE_SHAPES
                .iter()
                .map(move |&(rows, cols, channels, cpt, rpt)| {
                    let tile = ConvTile {
                        stride,
                        rows,
                        cols,
                        channels,
                        rows_per_thread: rpt,
                    };
                    DirectConv {
                        channels_per_thread: cpt,
                        block: tile_threads(&tile, cpt),
                        tile: Some(tile),
                    }
                })
        })
        .collect()
}

/// Threads of one block of a tiled variant: one per column × row group × channel group.
pub fn tile_threads(t: &ConvTile, channels_per_thread: u32) -> u32 {
    t.cols * (t.rows / t.rows_per_thread.max(1)) * (t.channels / channels_per_thread.max(1))
}

/// Input channels one shared-memory chunk holds (at most 16, within 40 KiB of fp32 input
/// tile with halo plus weights). The kernel source computes the same from its parameters.
pub fn tile_chunk(t: &ConvTile) -> u32 {
    let (ih, iw) = tile_input(t);
    (40_960 / (4 * (ih * iw + 9 * t.channels))).min(16)
}

/// The input tile (with halo) one block reads per input channel: rows × columns.
pub fn tile_input(t: &ConvTile) -> (u32, u32) {
    ((t.rows - 1) * t.stride + 3, (t.cols - 1) * t.stride + 3)
}

/// The launch grid of a tiled variant for an NCHW output: (spatial tiles, output-channel
/// blocks, batch); the last tiles of a row / column and the last channel block may be
/// partial (the kernel masks them).
pub fn tile_grid(t: &ConvTile, output: [usize; 4]) -> [usize; 3] {
    let [n, k, oh, ow] = output;
    [
        oh.div_ceil(t.rows as usize) * ow.div_ceil(t.cols as usize),
        k.div_ceil(t.channels as usize),
        n,
    ]
}

/// Why the tiled variant `v` cannot run `p`, or `None` when it can: 3×3 kernels, one group,
/// the variant's stride both ways, a grid within CUDA's limits.
pub fn tile_unsupported(p: &ConvProblem, v: &DirectConv) -> Option<String> {
    let t = v.tile?;
    if let Some(why) = direct_unsupported(p) {
        return Some(why);
    }
    if p.group != 1 {
        return Some(format!("{} groups (the tiled kernel has one)", p.group));
    }
    if [p.weight[2], p.weight[3]] != [3, 3] {
        return Some(format!(
            "{}×{} kernel (the tiled kernel is 3×3)",
            p.weight[2], p.weight[3]
        ));
    }
    let s = t.stride as usize;
    if p.stride != [s, s] {
        return Some(format!("stride {:?} (this variant: {s})", p.stride));
    }
    let shape_ok = t.rows > 0
        && t.cols > 0
        && t.rows_per_thread > 0
        && t.rows.is_multiple_of(t.rows_per_thread)
        && v.channels_per_thread > 0
        && t.channels.is_multiple_of(v.channels_per_thread)
        && v.block == tile_threads(&t, v.channels_per_thread)
        && (32..=256).contains(&v.block)
        && tile_chunk(&t) > 0;
    if !shape_ok {
        return Some(format!("tile {t:?} with {} threads is malformed", v.block));
    }
    let [x, y, z] = tile_grid(&t, p.output);
    if x == 0 || x > i32::MAX as usize || y > MAX_GRID_Y || z > MAX_GRID_Y {
        return Some(format!("launch grid {x} × {y} × {z}"));
    }
    None
}

/// Multiply-accumulates of the layer.
pub fn macs(p: &ConvProblem) -> usize {
    let [n, k, oh, ow] = p.output;
    let [_, cg, kh, kw] = p.weight;
    n * k * oh * ow * cg * kh * kw
}

/// Above this many multiply-accumulates the heuristic policy leaves a layer to cuDNN.
pub const HEURISTIC_MAX_MACS: usize = 1 << 22;

/// The heuristic policy's choice (nothing timed): the direct kernel for small layers, where
/// a separate epilogue launch costs as much as the convolution, and for depthwise layers;
/// cuDNN for the rest. The variant: the largest channel block that still leaves at least
/// `min_threads` threads (the GPU chooser asks for 256 per SM), 128 threads per block.
pub fn heuristic_direct(p: &ConvProblem, min_threads: usize) -> Option<DirectConv> {
    if direct_unsupported(p).is_some() {
        return None;
    }
    let depthwise = p.weight[1] == 1 && p.group > 1;
    if !depthwise && macs(p) > HEURISTIC_MAX_MACS {
        return None;
    }
    let per_group = p.weight[0] / p.group;
    let [n, k, oh, ow] = p.output;
    let cb = CHANNEL_BLOCKS
        .iter()
        .rev()
        .copied()
        .filter(|&cb| per_group.is_multiple_of(cb as usize))
        .find(|&cb| n * k * oh * ow / cb as usize >= min_threads)
        .unwrap_or(1);
    Some(DirectConv {
        channels_per_thread: cb,
        block: 128,
        tile: None,
    })
}

/// A timed (or untimed) candidate handed to [`decide`].
#[derive(Debug, Clone, PartialEq)]
pub struct Timed {
    pub tactic: String,
    pub engine: ConvEngine,
    pub direct: Option<DirectConv>,
    /// None: untimed, or the timing run failed (`error`).
    pub time_ms: Option<f32>,
    pub error: Option<String>,
}

/// The decision and the record of every candidate.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub engine: ConvEngine,
    pub direct: Option<DirectConv>,
    pub tactics: Vec<TacticTime>,
}

/// Decide from the candidates. `measured` and `deterministic` (the direct kernel is
/// deterministic: fixed summation order, no atomics) take the fastest timed candidate,
/// cuDNN on a tie; `heuristic` takes `heuristic` (from [`heuristic_direct`]) when given,
/// else cuDNN. `forced` (a test and benchmark switch) overrides the policy: cuDNN, or the
/// fastest direct variant (the heuristic one when nothing was timed).
pub fn decide(
    policy: TacticPolicy,
    candidates: &[Timed],
    heuristic: Option<DirectConv>,
    forced: Option<ConvEngine>,
) -> Decision {
    let fastest = |only: Option<ConvEngine>| -> Option<usize> {
        candidates
            .iter()
            .enumerate()
            .filter(|(_, c)| only.is_none_or(|e| c.engine == e))
            .filter_map(|(i, c)| c.time_ms.map(|t| (i, t, c.engine)))
            // cuDNN wins ties: it was the plan's engine before the direct kernel existed.
            .min_by(|a, b| {
                a.1.total_cmp(&b.1)
                    .then((a.2 != ConvEngine::Cudnn).cmp(&(b.2 != ConvEngine::Cudnn)))
            })
            .map(|(i, _, _)| i)
    };
    let by_variant = |v: DirectConv| candidates.iter().position(|c| c.direct == Some(v));
    let cudnn = candidates
        .iter()
        .position(|c| c.engine == ConvEngine::Cudnn);
    let chosen: Option<usize> = match forced {
        Some(ConvEngine::Cudnn) => cudnn,
        Some(ConvEngine::Direct) => fastest(Some(ConvEngine::Direct))
            .or_else(|| heuristic.and_then(by_variant))
            .or_else(|| {
                candidates
                    .iter()
                    .position(|c| c.engine == ConvEngine::Direct)
            }),
        None => match policy {
            TacticPolicy::Heuristic => heuristic.and_then(by_variant).or(cudnn),
            TacticPolicy::Measured | TacticPolicy::Deterministic => fastest(None).or(cudnn),
        },
    };
    let tactics = candidates
        .iter()
        .enumerate()
        .map(|(i, c)| TacticTime {
            tactic: c.tactic.clone(),
            engine: c.engine,
            direct: c.direct,
            time_ms: c.time_ms,
            status: match (&c.error, Some(i) == chosen) {
                (Some(e), _) => format!("failed: {e}"),
                (None, true) if forced.is_some() => "chosen (forced)".into(),
                (None, true) => "chosen".into(),
                (None, false) if c.time_ms.is_some() => "timed".into(),
                (None, false) => "untimed".into(),
            },
        })
        .collect();
    let (engine, direct) = match chosen.map(|i| &candidates[i]) {
        Some(c) => (c.engine, c.direct),
        None => (ConvEngine::Cudnn, None),
    };
    Decision {
        engine,
        direct,
        tactics,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{Activation, Precision};

    fn problem(c: usize, k: usize, group: usize, kernel: usize, hw: usize) -> ConvProblem {
        ConvProblem {
            layer: "l".into(),
            input: [1, c, hw, hw],
            weight: [k, c / group, kernel, kernel],
            output: [1, k, hw, hw],
            stride: [1, 1],
            pads: [kernel / 2; 4],
            dilation: [1, 1],
            group,
            bias: true,
            activation: Some(Activation::Silu),
            residual: None,
            precision: Precision::Fp32,
            policy: TacticPolicy::Measured,
        }
    }

    fn cand(engine: ConvEngine, cb: u32, t: Option<f32>) -> Timed {
        let direct = (engine == ConvEngine::Direct).then_some(DirectConv {
            channels_per_thread: cb,
            block: 128,
            tile: None,
        });
        Timed {
            tactic: format!("{engine:?} {cb}"),
            engine,
            direct,
            time_ms: t,
            error: None,
        }
    }

    #[test]
    fn variants_respect_groups_and_refuse_dilation() {
        // Depthwise: one output channel per group, so only single-channel blocks.
        let dw = direct_variants(&problem(32, 32, 32, 3, 16));
        assert!(!dw.is_empty());
        assert!(dw.iter().all(|v| v.channels_per_thread == 1));
        // 24 output channels per group: blocks 1, 2, 4, 8 (not 16).
        let g = direct_variants(&problem(24, 24, 1, 1, 8));
        let cbs: std::collections::BTreeSet<u32> =
            g.iter().map(|v| v.channels_per_thread).collect();
        assert_eq!(cbs.into_iter().collect::<Vec<_>>(), vec![1, 2, 4, 8]);
        assert_eq!(g.len(), 4 * BLOCKS.len());
        let mut dil = problem(8, 8, 1, 3, 8);
        dil.dilation = [2, 2];
        assert!(direct_unsupported(&dil).unwrap().contains("dilation"));
        assert!(direct_variants(&dil).is_empty());
    }

    fn tiled(p: &ConvProblem) -> Vec<DirectConv> {
        direct_variants(p)
            .into_iter()
            .filter(|v| v.tile.is_some())
            .collect()
    }

    #[test]
    fn tiled_variants_take_3x3_single_group_layers_of_their_stride() {
        let all = tiled_variants();
        assert_eq!(all.len(), TILE_SHAPES.len() * TILE_STRIDES.len());
        // Names are unique (one NVRTC entry each) and say the stride.
        let names: std::collections::BTreeSet<String> =
            all.iter().map(|v| v.kernel_name([3, 3])).collect();
        assert_eq!(names.len(), all.len());
        assert!(names.iter().any(|n| n.starts_with("conv_tile_s2_")));
        let p = problem(32, 32, 1, 3, 36);
        let s1 = tiled(&p);
        assert_eq!(s1.len(), TILE_SHAPES.len());
        assert!(s1.iter().all(|v| v.tile.unwrap().stride == 1));
        // Output channels need not be a multiple of a block's (the last block is masked),
        // nor input channels of the chunk.
        assert_eq!(tiled(&problem(3, 6, 1, 3, 9)).len(), TILE_SHAPES.len());
        let mut s2 = problem(32, 80, 1, 3, 36);
        s2.stride = [2, 2];
        s2.output = [1, 80, 18, 18];
        assert!(tiled(&s2).iter().all(|v| v.tile.unwrap().stride == 2));
        assert_eq!(tiled(&s2).len(), TILE_SHAPES.len());
        // Refused: groups, other kernel sizes, mixed strides, dilation.
        assert!(tiled(&problem(32, 32, 2, 3, 16)).is_empty());
        assert!(tiled(&problem(32, 32, 32, 3, 16)).is_empty());
        assert!(tiled(&problem(16, 16, 1, 5, 16)).is_empty());
        assert!(tiled(&problem(16, 16, 1, 1, 16)).is_empty());
        let mut mixed = problem(16, 16, 1, 3, 16);
        mixed.stride = [1, 2];
        assert!(tiled(&mixed).is_empty());
        assert!(tile_unsupported(&mixed, &all[0])
            .unwrap()
            .contains("stride"));
        let mut dil = problem(16, 16, 1, 3, 16);
        dil.dilation = [2, 2];
        assert!(tile_unsupported(&dil, &all[0])
            .unwrap()
            .contains("dilation"));
        // A variant whose thread count does not match its tile is refused, not launched.
        let mut bad = all[0];
        bad.block += 32;
        assert!(tile_unsupported(&p, &bad).unwrap().contains("malformed"));
        // The one-pixel kernel is not a tiled variant.
        assert!(tile_unsupported(&p, &direct_variants(&problem(8, 8, 1, 1, 8))[0]).is_none());
    }

    #[test]
    fn plans_record_the_tile_and_older_plans_read_as_one_pixel_variants() {
        let old: DirectConv =
            serde_json::from_str(r#"{"channels_per_thread": 4, "block": 128}"#).unwrap();
        assert_eq!(old.tile, None);
        assert_eq!(old.kernel_name([3, 3]), "conv_direct_k3_c4");
        assert!(!serde_json::to_string(&old).unwrap().contains("tile"));
        for v in tiled_variants() {
            let json = serde_json::to_string(&v).unwrap();
            assert_eq!(serde_json::from_str::<DirectConv>(&json).unwrap(), v);
        }
        let v = tiled_variants()[1];
        assert_eq!(v.kernel_name([3, 3]), "conv_tile_s1_2x32_k8_c4_r1");
        assert_eq!(v.label([3, 3]), "conv_tile_s1_2x32_k8_c4_r1 b128");
    }

    #[test]
    fn tile_geometry_covers_every_output_once() {
        for v in tiled_variants() {
            let t = v.tile.unwrap();
            let threads = tile_threads(&t, v.channels_per_thread);
            assert_eq!(threads, v.block);
            assert!(
                threads.is_multiple_of(32) && (32..=256).contains(&threads),
                "{t:?}"
            );
            // Every thread owns rows_per_thread × channels_per_thread outputs of the tile.
            assert_eq!(
                threads * t.rows_per_thread * v.channels_per_thread,
                t.rows * t.cols * t.channels
            );
            // Shared memory (fp32 input tile with halo + weights of one chunk) stays in the
            // 48 KiB a block may declare statically.
            let (ih, iw) = tile_input(&t);
            let cc = tile_chunk(&t);
            assert!(
                cc >= 1 && 4 * cc * (ih * iw + 9 * t.channels) <= 40_960,
                "{t:?}"
            );
            // Odd map sizes and partial channel blocks round up: the grid covers everything.
            for output in [
                [1, 32, 36, 64],
                [1, 80, 9, 16],
                [2, 6, 7, 13],
                [1, 17, 1, 1],
            ] {
                let [x, y, z] = tile_grid(&t, output);
                let [n, k, oh, ow] = output;
                assert_eq!(z, n);
                assert!(y * t.channels as usize >= k && (y - 1) * (t.channels as usize) < k);
                let (ty, tx) = (oh.div_ceil(t.rows as usize), ow.div_ceil(t.cols as usize));
                assert_eq!(x, ty * tx);
                assert!(ty * t.rows as usize >= oh && tx * t.cols as usize >= ow);
            }
        }
        // One worked example: 36×64 in 4×16 tiles of 16 channels, 32 channels: 9 × 4 tiles,
        // 2 channel blocks; 4 × 16 / 2 × 16 / 4 = 128 threads.
        let t = ConvTile {
            stride: 1,
            rows: 4,
            cols: 16,
            channels: 16,
            rows_per_thread: 2,
        };
        assert_eq!(tile_grid(&t, [1, 32, 36, 64]), [36, 2, 1]);
        assert_eq!(tile_threads(&t, 4), 128);
        assert_eq!(tile_input(&t), (6, 18));
        let s2 = ConvTile { stride: 2, ..t };
        assert_eq!(tile_input(&s2), (9, 33));
    }

    #[test]
    fn measured_takes_the_fastest_whole_layer_and_cudnn_on_ties() {
        let c = [
            cand(ConvEngine::Cudnn, 0, Some(0.010)),
            cand(ConvEngine::Direct, 1, Some(0.012)),
            cand(ConvEngine::Direct, 4, Some(0.007)),
        ];
        let d = decide(TacticPolicy::Measured, &c, None, None);
        assert_eq!(d.engine, ConvEngine::Direct);
        assert_eq!(d.direct.unwrap().channels_per_thread, 4);
        let statuses: Vec<&str> = d.tactics.iter().map(|t| t.status.as_str()).collect();
        assert_eq!(statuses, ["timed", "timed", "chosen"]);
        // Every candidate's time is kept.
        assert_eq!(d.tactics[1].time_ms, Some(0.012));

        let tie = [
            cand(ConvEngine::Direct, 2, Some(0.010)),
            cand(ConvEngine::Cudnn, 0, Some(0.010)),
        ];
        let d = decide(TacticPolicy::Deterministic, &tie, None, None);
        assert_eq!((d.engine, d.direct), (ConvEngine::Cudnn, None));
    }

    #[test]
    fn failed_or_untimed_candidates_never_win_a_measured_choice() {
        let mut bad = cand(ConvEngine::Direct, 1, None);
        bad.error = Some("launch failed".into());
        let c = [bad, cand(ConvEngine::Cudnn, 0, Some(0.5))];
        let d = decide(TacticPolicy::Measured, &c, None, None);
        assert_eq!(d.engine, ConvEngine::Cudnn);
        assert!(d.tactics[0].status.starts_with("failed: launch failed"));
    }

    #[test]
    fn heuristic_follows_the_rule_and_forcing_overrides_the_policy() {
        let small = problem(16, 16, 1, 3, 8);
        let big = problem(128, 128, 1, 3, 64);
        let v = heuristic_direct(&small, 1).unwrap();
        assert_eq!(v.channels_per_thread, 16);
        // Enough threads wanted: the channel block shrinks.
        assert_eq!(
            heuristic_direct(&small, 16 * 64)
                .unwrap()
                .channels_per_thread,
            1
        );
        assert!(macs(&big) > HEURISTIC_MAX_MACS);
        assert!(heuristic_direct(&big, 1).is_none());
        // Depthwise goes direct whatever its size.
        assert!(heuristic_direct(&problem(256, 256, 256, 3, 64), 1).is_some());

        let c = [
            cand(ConvEngine::Cudnn, 0, None),
            cand(ConvEngine::Direct, 16, None),
        ];
        let d = decide(TacticPolicy::Heuristic, &c, Some(v), None);
        assert_eq!(d.engine, ConvEngine::Direct);
        let d = decide(TacticPolicy::Heuristic, &c, None, None);
        assert_eq!(d.engine, ConvEngine::Cudnn);
        assert_eq!(d.tactics[1].status, "untimed");

        let timed = [
            cand(ConvEngine::Cudnn, 0, Some(0.001)),
            cand(ConvEngine::Direct, 1, Some(0.009)),
            cand(ConvEngine::Direct, 2, Some(0.004)),
        ];
        let d = decide(
            TacticPolicy::Measured,
            &timed,
            None,
            Some(ConvEngine::Direct),
        );
        assert_eq!(d.direct.unwrap().channels_per_thread, 2);
        assert_eq!(d.tactics[2].status, "chosen (forced)");
        let d = decide(
            TacticPolicy::Measured,
            &timed[1..],
            None,
            Some(ConvEngine::Cudnn),
        );
        // Forcing cuDNN where there is no cuDNN candidate leaves the default.
        assert_eq!((d.engine, d.direct), (ConvEngine::Cudnn, None));
    }
}
