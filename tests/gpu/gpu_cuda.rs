//! The CUDA backend. Without a GPU (this development machine, CI) every GPU test prints
//! `SKIP: ...` and returns, and the one test that needs the absence of a GPU checks that
//! `--backend cuda` exits 4 with a clear message. On a GPU machine (scripts/gpu_tests.sh)
//! the executor is compared with independent references: a naive CPU interpreter written
//! here for hand-built plans that cover every operator, the plan builder's reference
//! interpreter and the tract CPU backend for real models.

use crate::common;
use common::*;

use adasval::backend::cuda::{self, CudaPrepared, Gpu, HostPath};
use adasval::backend::{Prepared, Session};
use adasval::cudaplan::ir::*;
use adasval::cudaplan::{AlgoChooser, ConvProblem};
use adasval::tensor::Tensor;

/// The GPU, or `None` with a printed reason.
fn gpu_or_skip(test: &str) -> Option<std::sync::Arc<Gpu>> {
    match Gpu::open() {
        Ok(g) => Some(g),
        Err(e) => {
            eprintln!("SKIP {test}: no usable GPU: {e}");
            None
        }
    }
}

/// SplitMix64 → uniform in [-1, 1): seeded test data.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> f32 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        ((z >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
    fn vec(&mut self, n: usize) -> Vec<f32> {
        (0..n).map(|_| self.next()).collect()
    }
}

fn rel_l2(a: &[f32], b: &[f32]) -> f64 {
    assert_eq!(a.len(), b.len(), "length mismatch");
    let mut num = 0.0f64;
    let mut den = 0.0f64;
    for (x, y) in a.iter().zip(b) {
        assert!(x.is_finite(), "non-finite GPU output {x}");
        num += (*x as f64 - *y as f64).powi(2);
        den += (*y as f64).powi(2);
    }
    (num / den.max(1e-30)).sqrt()
}

// ---------------------------------------------------------------------------------------
// A hand-built plan with every operator the executor supports.

struct Builder {
    plan: Plan,
    blob: Vec<f32>,
    rng: Rng,
}

impl Builder {
    fn new(precision: Precision, policy: TacticPolicy) -> Builder {
        Builder {
            plan: Plan {
                format_version: FORMAT_VERSION,
                name: "every-op".into(),
                source_model: "hand-built".into(),
                source_sha256: String::new(),
                precision,
                tf32: false,
                tactics: policy,
                built_on: None,
                builder: "tests/gpu_cuda.rs".into(),
                built_at: String::new(),
                tensors: vec![],
                weights: vec![],
                inputs: vec![],
                outputs: vec![],
                layers: vec![],
                memory: MemoryPlan {
                    arena_bytes: 0,
                    offsets: vec![],
                    workspace_bytes: 0,
                },
            },
            blob: vec![],
            rng: Rng(7),
        }
    }
    fn tensor(&mut self, name: &str, shape: &[usize]) -> TensorId {
        self.plan.tensors.push(TensorInfo {
            name: name.into(),
            shape: shape.to_vec(),
        });
        // Own slot for every tensor (4 bytes per element is enough for both precisions).
        let off = self.plan.memory.arena_bytes;
        self.plan.memory.offsets.push(off);
        let bytes: usize = shape.iter().product::<usize>() * 4;
        self.plan.memory.arena_bytes = (off + bytes).next_multiple_of(256);
        self.plan.tensors.len() - 1
    }
    fn weight(&mut self, name: &str, shape: &[usize], scale: f32) -> WeightId {
        let n: usize = shape.iter().product();
        self.plan.weights.push(WeightInfo {
            name: name.into(),
            shape: shape.to_vec(),
            offset: self.blob.len(),
        });
        let v: Vec<f32> = self.rng.vec(n).into_iter().map(|x| x * scale).collect();
        self.blob.extend(v);
        self.plan.weights.len() - 1
    }
    fn layer(&mut self, name: &str, op: Op, inputs: &[TensorId], outputs: &[TensorId]) {
        self.plan.layers.push(Layer {
            name: name.into(),
            op,
            inputs: inputs.to_vec(),
            outputs: outputs.to_vec(),
            choice: None,
            fused: vec![],
        });
    }
    #[allow(clippy::too_many_arguments)]
    fn conv(
        &mut self,
        name: &str,
        x: TensorId,
        k: usize,
        kernel: usize,
        stride: usize,
        pad: usize,
        group: usize,
        bias: bool,
        activation: Option<Activation>,
    ) -> TensorId {
        let s = self.plan.tensors[x].shape.clone();
        let c = s[1];
        let oh = (s[2] + 2 * pad - kernel) / stride + 1;
        let ow = (s[3] + 2 * pad - kernel) / stride + 1;
        let fan_in = (c / group * kernel * kernel) as f32;
        let w = self.weight(
            &format!("{name}.w"),
            &[k, c / group, kernel, kernel],
            1.0 / fan_in.sqrt(),
        );
        let b = bias.then(|| self.weight(&format!("{name}.b"), &[k], 0.5));
        let y = self.tensor(&format!("{name}.y"), &[s[0], k, oh, ow]);
        self.layer(
            name,
            Op::Conv {
                weight: w,
                bias: b,
                kernel: [kernel, kernel],
                stride: [stride, stride],
                pads: [pad; 4],
                dilation: [1, 1],
                group,
                activation,
                residual: None,
            },
            &[x],
            &[y],
        );
        y
    }

    /// A convolution with a residual input added in its epilogue (the fusion pass's form).
    #[allow(clippy::too_many_arguments)]
    fn conv_res(
        &mut self,
        name: &str,
        x: TensorId,
        r: TensorId,
        kernel: usize,
        bias: bool,
        activation: Option<Activation>,
        residual: Residual,
    ) -> TensorId {
        let k = self.plan.tensors[r].shape[1];
        let y = self.conv(name, x, k, kernel, 1, kernel / 2, 1, bias, activation);
        let l = self.plan.layers.last_mut().unwrap();
        l.inputs.push(r);
        if let Op::Conv { residual: res, .. } = &mut l.op {
            *res = Some(residual);
        }
        y
    }

    /// What the fusion pass produces: convolutions with a residual before and after the
    /// activation (with and without bias, ReLU for cuDNN's fused call with z, SiLU for the
    /// epilogue kernel) and a generated elementwise chain (nearest resize, same-shape add,
    /// ReLU, broadcast multiply, sigmoid). Two outputs.
    fn fused_ops(precision: Precision, policy: TacticPolicy) -> Builder {
        let mut b = Builder::new(precision, policy);
        b.plan.name = "fused-ops".into();
        let x = b.tensor("images", &[1, 3, 16, 16]);
        b.plan.inputs = vec![x];
        let c1 = b.conv("conv1", x, 8, 3, 1, 1, 1, true, Some(Activation::Relu));
        let c2 = b.conv_res(
            "res_relu",
            c1,
            c1,
            3,
            true,
            Some(Activation::Relu),
            Residual::BeforeActivation,
        );
        let c3 = b.conv_res(
            "res_silu",
            c2,
            c2,
            1,
            true,
            Some(Activation::Silu),
            Residual::AfterActivation,
        );
        let c4 = b.conv_res(
            "res_plain",
            c3,
            c1,
            3,
            false,
            None,
            Residual::BeforeActivation,
        );
        let p = b.tensor("pool.y", &[1, 8, 8, 8]);
        b.layer(
            "pool",
            Op::MaxPool {
                kernel: [2, 2],
                stride: [2, 2],
                pads: [0; 4],
            },
            &[c4],
            &[p],
        );
        let s = b.tensor("s.y", &[1, 8, 1, 1]);
        b.layer(
            "s",
            Op::Slice {
                axes: vec![2, 3],
                starts: vec![1, 2],
                ends: vec![2, 3],
                steps: vec![1, 1],
            },
            &[c2],
            &[s],
        );
        let e = b.tensor("output", &[1, 8, 16, 16]);
        b.layer(
            "chain",
            Op::Elementwise {
                resize: Some([2, 2]),
                steps: vec![
                    EwStep::Add(1),
                    EwStep::Relu,
                    EwStep::Mul(2),
                    EwStep::Sigmoid,
                ],
            },
            &[p, c3, s],
            &[e],
        );
        b.plan.outputs = vec![e, c4];
        b
    }

    /// Every operator at least once; two outputs.
    fn every_op(precision: Precision, policy: TacticPolicy) -> Builder {
        let mut b = Builder::new(precision, policy);
        let x = b.tensor("images", &[1, 3, 16, 16]);
        b.plan.inputs = vec![x];
        let c1 = b.conv("conv1", x, 8, 3, 1, 1, 1, true, Some(Activation::Relu));
        let c2 = b.conv("dw2", c1, 8, 3, 2, 1, 8, true, Some(Activation::Sigmoid));
        let c3 = b.conv("pw3", c2, 8, 1, 1, 0, 1, false, None);
        let c4 = b.conv(
            "conv4_silu",
            c3,
            8,
            3,
            1,
            1,
            2,
            true,
            Some(Activation::Silu),
        );
        let mp = b.tensor("pool.y", &[1, 8, 8, 8]);
        b.layer(
            "pool",
            Op::MaxPool {
                kernel: [3, 3],
                stride: [1, 1],
                pads: [1, 1, 1, 1],
            },
            &[c4],
            &[mp],
        );
        let r = b.tensor("relu.y", &[1, 8, 8, 8]);
        b.layer("relu", Op::Relu, &[c3], &[r]);
        let sg = b.tensor("sig.y", &[1, 8, 8, 8]);
        b.layer("sig", Op::Sigmoid, &[mp], &[sg]);
        // [1,8,1,1] and [1,1,8,8] slices to broadcast.
        let s1 = b.tensor("s1.y", &[1, 8, 1, 1]);
        b.layer(
            "s1",
            Op::Slice {
                axes: vec![2, 3],
                starts: vec![1, 2],
                ends: vec![2, 3],
                steps: vec![1, 1],
            },
            &[c2],
            &[s1],
        );
        let s2 = b.tensor("s2.y", &[1, 1, 8, 8]);
        b.layer(
            "s2",
            Op::Slice {
                axes: vec![1],
                starts: vec![3],
                ends: vec![4],
                steps: vec![1],
            },
            &[r],
            &[s2],
        );
        let add = b.tensor("add.y", &[1, 8, 8, 8]);
        b.layer("add", Op::Add, &[sg, s1], &[add]);
        let mul = b.tensor("mul.y", &[1, 8, 8, 8]);
        b.layer("mul", Op::Mul, &[add, s2], &[mul]);
        let cat = b.tensor("cat.y", &[1, 16, 8, 8]);
        b.layer("cat", Op::Concat { axis: 1 }, &[mul, r], &[cat]);
        let sl = b.tensor("stepped.y", &[1, 8, 8, 4]);
        b.layer(
            "stepped",
            Op::Slice {
                axes: vec![1, 3],
                starts: vec![1, 1],
                ends: vec![16, 8],
                steps: vec![2, 2],
            },
            &[cat],
            &[sl],
        );
        let up = b.tensor("up.y", &[1, 8, 16, 8]);
        b.layer("up", Op::ResizeNearest { scales: [2, 2] }, &[sl], &[up]);
        let rs = b.tensor("flat.y", &[1, 8, 128]);
        b.layer("flat", Op::Reshape, &[up], &[rs]);
        // Reshape output aliases its input, as the builder's memory planner does.
        b.plan.memory.offsets[rs] = b.plan.memory.offsets[up];
        let tr = b.tensor("output", &[1, 128, 8]);
        b.layer(
            "transpose",
            Op::Transpose {
                perm: vec![0, 2, 1],
            },
            &[rs],
            &[tr],
        );
        b.plan.outputs = vec![tr, mp];
        b
    }

    /// Ask the cuDNN chooser for every convolution, as the builder does.
    fn choose(&mut self, chooser: &mut dyn AlgoChooser) {
        let policy = self.plan.tactics;
        let precision = self.plan.precision;
        let mut ws = 0;
        for i in 0..self.plan.layers.len() {
            let l = &self.plan.layers[i];
            let Op::Conv {
                weight,
                stride,
                pads,
                dilation,
                group,
                bias,
                activation,
                residual,
                ..
            } = &l.op
            else {
                continue;
            };
            let sh =
                |t: usize| -> [usize; 4] { self.plan.tensors[t].shape.clone().try_into().unwrap() };
            let p = ConvProblem {
                layer: l.name.clone(),
                input: sh(l.inputs[0]),
                weight: self.plan.weights[*weight].shape.clone().try_into().unwrap(),
                output: sh(l.outputs[0]),
                stride: *stride,
                pads: *pads,
                dilation: *dilation,
                group: *group,
                bias: bias.is_some(),
                activation: *activation,
                residual: *residual,
                precision,
                policy,
            };
            let c = chooser.choose(&p).unwrap();
            if c.engine == ConvEngine::Cudnn {
                ws = ws.max(c.workspace_bytes);
            }
            self.plan.layers[i].choice = Some(c);
        }
        self.plan.memory.workspace_bytes = ws;
        self.plan.built_on = chooser.device();
    }
}

// ---------------------------------------------------------------------------------------
// Naive CPU interpreter of plans (independent of the executor and of the builder's).

fn naive(plan: &Plan, blob: &[f32], input: &[f32]) -> Vec<Vec<f32>> {
    let mut vals: Vec<Option<Vec<f32>>> = vec![None; plan.tensors.len()];
    vals[plan.inputs[0]] = Some(input.to_vec());
    let shape = |t: usize| plan.tensors[t].shape.clone();
    let wt = |w: usize| {
        let i = &plan.weights[w];
        blob[i.offset..i.offset + i.elements()].to_vec()
    };
    for l in &plan.layers {
        let get = |k: usize| vals[l.inputs[k]].clone().unwrap();
        let out_shape = shape(l.outputs[0]);
        let n_out: usize = out_shape.iter().product();
        let out: Vec<f32> = match &l.op {
            Op::Conv {
                weight,
                bias,
                stride,
                pads,
                dilation,
                group,
                activation,
                residual,
                ..
            } => {
                let x = get(0);
                let res = residual.map(|_| get(1));
                let s = shape(l.inputs[0]);
                let (c, h, w) = (s[1], s[2], s[3]);
                let ws = plan.weights[*weight].shape.clone();
                let (k, cg, kh, kw) = (ws[0], ws[1], ws[2], ws[3]);
                let (oh, ow) = (out_shape[2], out_shape[3]);
                let wv = wt(*weight);
                let bv = bias.map(wt);
                let kg = k / group;
                let mut y = vec![0f32; n_out];
                for o in 0..k {
                    let g = o / kg;
                    for oy in 0..oh {
                        for ox in 0..ow {
                            let mut acc = 0f64;
                            for ci in 0..cg {
                                let cin = g * cg + ci;
                                for ky in 0..kh {
                                    for kx in 0..kw {
                                        let iy = (oy * stride[0] + ky * dilation[0]) as isize
                                            - pads[0] as isize;
                                        let ix = (ox * stride[1] + kx * dilation[1]) as isize
                                            - pads[1] as isize;
                                        if iy < 0 || ix < 0 || iy >= h as isize || ix >= w as isize
                                        {
                                            continue;
                                        }
                                        acc += x[(cin * h + iy as usize) * w + ix as usize] as f64
                                            * wv[((o * cg + ci) * kh + ky) * kw + kx] as f64;
                                    }
                                }
                            }
                            let at = (o * oh + oy) * ow + ox;
                            let r = res.as_ref().map_or(0.0, |r| r[at]);
                            let mut v = acc as f32 + bv.as_ref().map_or(0.0, |b| b[o]);
                            if *residual == Some(Residual::BeforeActivation) {
                                v += r;
                            }
                            v = naive_act(*activation, v);
                            if *residual == Some(Residual::AfterActivation) {
                                v += r;
                            }
                            y[at] = v;
                        }
                    }
                }
                let _ = c;
                y
            }
            Op::Relu => get(0).iter().map(|v| v.max(0.0)).collect(),
            Op::Sigmoid => get(0).iter().map(|v| 1.0 / (1.0 + (-v).exp())).collect(),
            Op::Elementwise { resize, steps } => {
                // Coordinates of output element i, then each input's element by numpy
                // broadcasting (input 0 nearest-resized first when `resize`).
                let coords = |i: usize| -> Vec<usize> {
                    let mut c = vec![0; out_shape.len()];
                    let mut r = i;
                    for d in (0..out_shape.len()).rev() {
                        c[d] = r % out_shape[d];
                        r /= out_shape[d];
                    }
                    c
                };
                let read = |k: usize, i: usize, scale: Option<[usize; 2]>| -> f32 {
                    let s = shape(l.inputs[k]);
                    let mut c = coords(i);
                    if let Some([sh, sw]) = scale {
                        c[2] /= sh;
                        c[3] /= sw;
                    }
                    let lead = c.len() - s.len();
                    let off = s.iter().enumerate().fold(0, |acc, (d, &dim)| {
                        acc * dim + if dim == 1 { 0 } else { c[d + lead] }
                    });
                    vals[l.inputs[k]].as_ref().unwrap()[off]
                };
                (0..n_out)
                    .map(|i| {
                        let mut v = read(0, i, *resize);
                        for st in steps {
                            v = match st {
                                EwStep::Add(k) => v + read(*k, i, None),
                                EwStep::Mul(k) => v * read(*k, i, None),
                                EwStep::Relu => naive_act(Some(Activation::Relu), v),
                                EwStep::Sigmoid => naive_act(Some(Activation::Sigmoid), v),
                            };
                        }
                        v
                    })
                    .collect()
            }
            Op::Add | Op::Mul => {
                let (a, b) = (get(0), get(1));
                let (sa, sb) = (shape(l.inputs[0]), shape(l.inputs[1]));
                let idx = |s: &[usize], i: usize| -> usize {
                    // i in out_shape → index into s (right-aligned broadcast).
                    let mut r = i;
                    let mut coords = vec![0; out_shape.len()];
                    for d in (0..out_shape.len()).rev() {
                        coords[d] = r % out_shape[d];
                        r /= out_shape[d];
                    }
                    let lead = out_shape.len() - s.len();
                    let mut off = 0;
                    for (k, &dim) in s.iter().enumerate() {
                        let cidx = if dim == 1 { 0 } else { coords[k + lead] };
                        off = off * dim + cidx;
                    }
                    off
                };
                (0..n_out)
                    .map(|i| {
                        let (x, y) = (a[idx(&sa, i)], b[idx(&sb, i)]);
                        if matches!(l.op, Op::Add) {
                            x + y
                        } else {
                            x * y
                        }
                    })
                    .collect()
            }
            Op::Concat { axis } => {
                let outer: usize = out_shape[..*axis].iter().product();
                let mut y = Vec::with_capacity(n_out);
                for o in 0..outer {
                    for (k, &t) in l.inputs.iter().enumerate() {
                        let s = shape(t);
                        let chunk: usize = s[*axis..].iter().product();
                        let v = vals[l.inputs[k]].as_ref().unwrap();
                        y.extend_from_slice(&v[o * chunk..(o + 1) * chunk]);
                    }
                }
                y
            }
            Op::Slice {
                axes,
                starts,
                steps,
                ..
            } => {
                let x = get(0);
                let s = shape(l.inputs[0]);
                (0..n_out)
                    .map(|i| {
                        let mut r = i;
                        let mut coords = vec![0; s.len()];
                        for d in (0..s.len()).rev() {
                            coords[d] = r % out_shape[d];
                            r /= out_shape[d];
                        }
                        for (k, &a) in axes.iter().enumerate() {
                            coords[a] = starts[k] + coords[a] * steps[k];
                        }
                        coords.iter().zip(&s).fold(0, |acc, (c, d)| acc * d + c)
                    })
                    .map(|j| x[j])
                    .collect()
            }
            Op::MaxPool {
                kernel,
                stride,
                pads,
            } => {
                let x = get(0);
                let s = shape(l.inputs[0]);
                let (h, w) = (s[2], s[3]);
                let (oh, ow) = (out_shape[2], out_shape[3]);
                let mut y = vec![0f32; n_out];
                for p in 0..s[0] * s[1] {
                    for oy in 0..oh {
                        for ox in 0..ow {
                            let mut m = f32::NEG_INFINITY;
                            for ky in 0..kernel[0] {
                                for kx in 0..kernel[1] {
                                    let iy = (oy * stride[0] + ky) as isize - pads[0] as isize;
                                    let ix = (ox * stride[1] + kx) as isize - pads[1] as isize;
                                    if iy >= 0 && ix >= 0 && iy < h as isize && ix < w as isize {
                                        m = m.max(x[(p * h + iy as usize) * w + ix as usize]);
                                    }
                                }
                            }
                            y[(p * oh + oy) * ow + ox] = m;
                        }
                    }
                }
                y
            }
            Op::ResizeNearest { scales } => {
                let x = get(0);
                let s = shape(l.inputs[0]);
                let (h, w) = (s[2], s[3]);
                let (oh, ow) = (h * scales[0], w * scales[1]);
                (0..n_out)
                    .map(|i| {
                        let ox = i % ow;
                        let oy = (i / ow) % oh;
                        let p = i / (ow * oh);
                        x[(p * h + oy / scales[0]) * w + ox / scales[1]]
                    })
                    .collect()
            }
            Op::Reshape => get(0),
            Op::Transpose { perm } => {
                let x = get(0);
                let s = shape(l.inputs[0]);
                (0..n_out)
                    .map(|i| {
                        let mut r = i;
                        let mut oc = vec![0; s.len()];
                        for d in (0..s.len()).rev() {
                            oc[d] = r % out_shape[d];
                            r /= out_shape[d];
                        }
                        let mut ic = vec![0; s.len()];
                        for (d, &p) in perm.iter().enumerate() {
                            ic[p] = oc[d];
                        }
                        ic.iter().zip(&s).fold(0, |acc, (c, d)| acc * d + c)
                    })
                    .map(|j| x[j])
                    .collect()
            }
        };
        assert_eq!(out.len(), n_out, "naive {} produced a wrong size", l.name);
        vals[l.outputs[0]] = Some(out);
    }
    plan.outputs
        .iter()
        .map(|&o| vals[o].clone().unwrap())
        .collect()
}

fn naive_act(a: Option<Activation>, v: f32) -> f32 {
    match a {
        None => v,
        Some(Activation::Relu) => v.max(0.0),
        Some(Activation::Sigmoid) => 1.0 / (1.0 + (-v).exp()),
        Some(Activation::Silu) => v / (1.0 + (-v).exp()),
    }
}

fn run_gpu(
    plan: &Plan,
    blob: &[f32],
    input: &[f32],
    profile: bool,
) -> (CudaPrepared, Vec<Tensor>, adasval::backend::DeviceTimings) {
    let prepared = CudaPrepared::from_plan(&plan.name, plan, blob, profile).unwrap();
    let mut s = prepared.session().unwrap();
    let x = Tensor::new(
        plan.tensors[plan.inputs[0]].name.clone(),
        plan.tensors[plan.inputs[0]].shape.clone(),
        input.to_vec(),
    );
    let out = s.run(&x).unwrap();
    (prepared, out.outputs, out.device)
}

#[test]
fn without_a_gpu_backend_cuda_exits_4_with_a_clear_message() {
    if let Ok(g) = Gpu::open() {
        eprintln!(
            "SKIP without_a_gpu_backend_cuda_exits_4_with_a_clear_message: a GPU is present ({})",
            g.info.name
        );
        return;
    }
    let dir = noop_project();
    let (code, out, err) =
        run(adasval()
            .current_dir(dir.path())
            .args(["validate", "--backend", "cuda"]));
    assert_eq!(code, 4, "expected exit 4: {out}{err}");
    assert!(
        err.contains("backend `cuda` is not available"),
        "unclear message: {err}"
    );
    eprintln!("--backend cuda without a GPU says: {}", err.trim());
    // The builder's chooser is unavailable the same way (no panic), and so is the build.
    assert!(cuda::algo_chooser().is_err());
    let model = repo_root().join("engines/demo/detector.onnx");
    let (code, out, err) = run(adasval().current_dir(dir.path()).args([
        "engine",
        "build",
        "--backend",
        "cuda",
        model.to_str().unwrap(),
        "--name",
        "demo-cuda",
    ]));
    assert_eq!(
        code, 4,
        "engine build --backend cuda: expected exit 4: {out}{err}"
    );
    assert!(err.contains("libcuda"), "unclear message: {err}");
}

#[test]
fn every_operator_matches_a_naive_cpu_interpreter() {
    let Some(_gpu) = gpu_or_skip("every_operator_matches_a_naive_cpu_interpreter") else {
        return;
    };
    let mut chooser = cuda::algo_chooser().unwrap();
    for (precision, tolerance) in [(Precision::Fp32, 1e-5), (Precision::Fp16, 2e-2)] {
        for policy in [
            TacticPolicy::Measured,
            TacticPolicy::Heuristic,
            TacticPolicy::Deterministic,
        ] {
            let mut b = Builder::every_op(precision, policy);
            b.choose(chooser.as_mut());
            let input = Rng(99).vec(3 * 16 * 16);
            let want = naive(&b.plan, &b.blob, &input);
            let (_p, got, t) = run_gpu(&b.plan, &b.blob, &input, false);
            assert_eq!(got.len(), want.len());
            for (g, w) in got.iter().zip(&want) {
                let e = rel_l2(&g.data, w);
                eprintln!(
                    "{precision:?} {policy:?} output `{}`: relative L2 {e:.3e} (h2d {:?} ns, compute {:?} ns, d2h {:?} ns)",
                    g.name, t.h2d_ns, t.compute_ns, t.d2h_ns
                );
                assert!(e <= tolerance, "{precision:?} {policy:?} `{}`: {e}", g.name);
            }
            for l in &b.plan.layers {
                if let Some(c) = &l.choice {
                    eprintln!(
                        "  {precision:?} {policy:?} {}: {} {} ws {} B, {} candidates",
                        l.name,
                        c.algo,
                        c.math_type,
                        c.workspace_bytes,
                        c.candidates.len()
                    );
                    if precision == Precision::Fp32 {
                        assert_eq!(c.math_type, "CUDNN_FMA_MATH");
                    }
                    if policy == TacticPolicy::Deterministic {
                        assert!(c.deterministic);
                    }
                    if policy == TacticPolicy::Heuristic {
                        assert!(c.measured_ms.is_none());
                    } else {
                        assert!(c.measured_ms.is_some());
                    }
                }
            }
        }
    }
}

/// The fusion pass's layers on every engine (the measured choice, every convolution forced
/// onto cuDNN: its fused call with z for the residual before ReLU and the epilogue kernel
/// otherwise, and forced onto the direct kernels) against the naive interpreter.
#[test]
fn fused_layers_match_a_naive_cpu_interpreter() {
    let Some(_gpu) = gpu_or_skip("fused_layers_match_a_naive_cpu_interpreter") else {
        return;
    };
    for forced in [None, Some(ConvEngine::Cudnn), Some(ConvEngine::Direct)] {
        let mut chooser = cuda::algo_chooser_with(forced).unwrap();
        for (precision, tolerance) in [(Precision::Fp32, 1e-5), (Precision::Fp16, 2e-2)] {
            let mut b = Builder::fused_ops(precision, TacticPolicy::Measured);
            b.choose(chooser.as_mut());
            let input = Rng(5).vec(3 * 16 * 16);
            let want = naive(&b.plan, &b.blob, &input);
            for graphs in [true, false] {
                let p = CudaPrepared::from_plan_with(&b.plan.name, &b.plan, &b.blob, false, graphs)
                    .unwrap();
                let x = Tensor::new("images", vec![1, 3, 16, 16], input.clone());
                let got = p.session().unwrap().run(&x).unwrap().outputs;
                for (g, w) in got.iter().zip(&want) {
                    let e = rel_l2(&g.data, w);
                    eprintln!(
                        "fused ops {precision:?} forced {forced:?} graphs {graphs} `{}`: relative L2 {e:.3e} ({})",
                        g.name,
                        p.summary()
                    );
                    assert!(e <= tolerance, "{precision:?} {forced:?} `{}`: {e}", g.name);
                }
            }
            for l in &b.plan.layers {
                if let Some(c) = &l.choice {
                    eprintln!(
                        "  {precision:?} {forced:?} {}: {:?} {:?}",
                        l.name, c.engine, c.direct
                    );
                    if let Some(f) = forced {
                        assert_eq!(c.engine, f, "{}", l.name);
                    }
                }
            }
        }
    }
}

/// fp16 frames staged on the host (converted there) against the device's conversion (the
/// copy path): a plan that only reshapes its input shows the converted values themselves,
/// edge cases included (subnormals, overflow to infinity, ties, NaN), and a full plan gives
/// the same output bits either way.
#[test]
fn fp16_frames_staged_on_the_host_match_the_device_conversion() {
    let Some(_gpu) = gpu_or_skip("fp16_frames_staged_on_the_host_match_the_device_conversion")
    else {
        return;
    };
    let p = |e: i32| 2f32.powi(e);
    let mut edge = vec![
        0.0,
        -0.0,
        1.0,
        65504.0,
        65519.0,
        65520.0,
        -70000.0,
        f32::INFINITY,
        f32::NAN,
        -f32::NAN,
        f32::from_bits(0x7F80_0001),
        p(-14),
        p(-24),
        p(-25),
        -p(-25),
        p(-25) * 1.000_001,
        3.0 * p(-25),
        p(-30),
        1.0 + p(-11),
        1.0 + 3.0 * p(-11),
        2049.0,
        0.1,
    ];
    edge.extend(Rng(3).vec(64 - edge.len()).iter().map(|v| v * 3.0));
    let mut b = Builder::new(Precision::Fp16, TacticPolicy::Heuristic);
    let x = b.tensor("images", &[1, 1, 8, 8]);
    let y = b.tensor("output", &[1, 64]);
    b.layer("flat", Op::Reshape, &[x], &[y]);
    b.plan.inputs = vec![x];
    b.plan.outputs = vec![y];
    let frame = Tensor::new("images", vec![1, 1, 8, 8], edge.clone());
    let bits = |t: &[Tensor]| -> Vec<Vec<u32>> {
        t.iter()
            .map(|t| t.data.iter().map(|v| v.to_bits()).collect())
            .collect()
    };
    let run = |plan: &Plan, blob: &[f32], frame: &Tensor| -> (Vec<Vec<u32>>, Vec<Vec<u32>>) {
        let copy =
            CudaPrepared::from_plan_host(&plan.name, plan, blob, false, true, HostPath::Copy)
                .unwrap();
        let direct =
            CudaPrepared::from_plan_host(&plan.name, plan, blob, false, true, HostPath::Direct)
                .unwrap();
        let by_device = bits(&copy.session().unwrap().run(frame).unwrap().outputs);
        let guard = direct.stage_inputs(&[frame]).unwrap();
        let note = guard.describe().unwrap();
        assert!(note.contains("fp16: converted on the host"), "{note}");
        let mut s = direct.session().unwrap();
        let lent = s.run_lent(frame).unwrap();
        assert!(lent.is_borrowed());
        let by_host = bits(lent.outputs());
        drop(lent);
        drop(guard);
        (by_device, by_host)
    };
    let (dev, host) = run(&b.plan, &b.blob, &frame);
    for (i, v) in edge.iter().enumerate() {
        let h = cuda::hostmem::f32_to_f16_bits(*v);
        eprintln!(
            "fp16 conversion {v:e} ({:#010x}): host {h:#06x}; output via device {:#010x}, via host {:#010x}",
            v.to_bits(),
            dev[0][i],
            host[0][i]
        );
        if !v.is_nan() {
            let want = half::f16::from_bits(h).to_f32().to_bits();
            assert_eq!(dev[0][i], want, "device conversion of {v:e}");
        }
    }
    assert_eq!(dev, host, "staged fp16 differs from the device conversion");
    // A whole plan: the same output bits with the frame converted on the host or the device.
    let mut chooser = cuda::algo_chooser().unwrap();
    let mut full = Builder::every_op(Precision::Fp16, TacticPolicy::Measured);
    full.choose(chooser.as_mut());
    let mut data = Rng(11).vec(3 * 16 * 16);
    data[..edge.len()].iter_mut().zip(&edge).for_each(|(d, e)| {
        *d = if e.is_finite() && e.abs() < 60000.0 {
            *e
        } else {
            1.5
        }
    });
    let frame = Tensor::new("images", vec![1, 3, 16, 16], data);
    let (dev, host) = run(&full.plan, &full.blob, &frame);
    assert_eq!(
        dev, host,
        "every-op fp16: staged differs from the copy path"
    );
    eprintln!("fp16 staging: host conversion bit-identical to the device's");
}

#[test]
fn repeated_frames_are_bit_identical_and_profiles_name_every_layer() {
    let Some(_gpu) = gpu_or_skip("repeated_frames_are_bit_identical_and_profiles_name_every_layer")
    else {
        return;
    };
    let mut chooser = cuda::algo_chooser().unwrap();
    let mut b = Builder::every_op(Precision::Fp32, TacticPolicy::Deterministic);
    b.choose(chooser.as_mut());
    let prepared = CudaPrepared::from_plan("every-op", &b.plan, &b.blob, true).unwrap();
    assert!(prepared.load_ns().is_some_and(|n| n > 0));
    let mut s = prepared.session().unwrap();
    let mut rng = Rng(5);
    let x = Tensor::new("images", vec![1, 3, 16, 16], rng.vec(768));
    let first = s.run(&x).unwrap().outputs;
    for _ in 0..5 {
        assert_eq!(s.run(&x).unwrap().outputs, first);
    }
    // A different input gives a different output (nothing stale in the arena).
    let y = Tensor::new("images", vec![1, 3, 16, 16], rng.vec(768));
    assert_ne!(s.run(&y).unwrap().outputs, first);
    // A wrong-size frame is an error, and the session keeps working afterwards.
    let bad = Tensor::new("images", vec![1, 3, 4, 4], vec![0.0; 48]);
    assert!(s.run(&bad).is_err());
    assert_eq!(s.run(&x).unwrap().outputs, first);
    let p = prepared.layer_profile().expect("profile on");
    let layers = p["layers"].as_array().unwrap();
    assert_eq!(layers.len(), b.plan.layers.len());
    assert_eq!(p["profile_iterations"], 8); // 1 + 5 + 1 + 1 frames that ran
    for (l, pl) in b.plan.layers.iter().zip(layers) {
        assert_eq!(pl["name"], l.name.as_str());
        assert!(pl["median_ms"].as_f64().is_some());
        if let Some(c) = &l.choice {
            // The kernel that ran: the cuDNN algorithm, or the direct kernel's variant.
            let want = match (c.engine, c.direct, &l.op) {
                (ConvEngine::Direct, Some(v), Op::Conv { kernel, .. }) => v.label(*kernel),
                _ => c.algo.clone(),
            };
            assert_eq!(pl["tactic"], want.as_str());
        }
    }
}

#[test]
fn a_plan_for_another_compute_capability_is_refused_unless_forced() {
    let Some(gpu) = gpu_or_skip("a_plan_for_another_compute_capability_is_refused_unless_forced")
    else {
        return;
    };
    let mut chooser = cuda::algo_chooser().unwrap();
    let mut b = Builder::every_op(Precision::Fp32, TacticPolicy::Heuristic);
    b.choose(chooser.as_mut());
    assert!(cuda::compatibility(&b.plan, &gpu.info).is_none());
    if let Some(d) = b.plan.built_on.as_mut() {
        d.compute_capability = [d.compute_capability[0] + 1, 0];
    }
    let why = cuda::compatibility(&b.plan, &gpu.info).expect("refused");
    assert!(why.contains("--force"), "{why}");
}

#[test]
fn gpu_fingerprint_has_identity_and_state() {
    let Some(_gpu) = gpu_or_skip("gpu_fingerprint_has_identity_and_state") else {
        return;
    };
    let mut r = cuda::fingerprint::probe();
    cuda::fingerprint::finish(&mut r);
    let d = r.device.as_ref().expect("device identity");
    eprintln!("{}", serde_json::to_string_pretty(&r).unwrap());
    assert!(!d.name.is_empty());
    assert!(d.compute_capability[0] >= 3);
    assert!(d.sm_count > 0 && d.memory_bytes > 0);
    assert!(!d.cudnn.is_empty() && !d.nvrtc.is_empty());
    assert!(r.after.is_some());
    // Every field nvidia-smi could not give says why.
    let b = &r.before;
    if b.temperature_c.is_none() {
        assert!(b.missing.contains_key("temperature.gpu"));
    }
}

// ---------------------------------------------------------------------------------------
// Real models: the builder's plans on the GPU against tract and the builder's reference.

/// The repository (ADASVAL_REPO on a GPU machine where the checkout lives elsewhere).
fn repo() -> std::path::PathBuf {
    std::env::var_os("ADASVAL_REPO")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(repo_root)
}

/// tract's outputs for one NCHW input (the CPU backend's engine, without a lock).
fn tract_outputs(model: &std::path::Path, input: &Tensor) -> Vec<Vec<f32>> {
    use tract_onnx::prelude::*;
    let m = tract_onnx::onnx()
        .model_for_path(model)
        .unwrap()
        .with_input_fact(
            0,
            InferenceFact::dt_shape(f32::datum_type(), input.shape.clone()),
        )
        .unwrap()
        .into_optimized()
        .unwrap()
        .into_runnable()
        .unwrap();
    let t = tract_onnx::prelude::Tensor::from_shape(&input.shape, &input.data).unwrap();
    m.run(tvec!(t.into()))
        .unwrap()
        .iter()
        .map(|v| {
            v.to_plain_array_view::<f32>()
                .unwrap()
                .iter()
                .copied()
                .collect()
        })
        .collect()
}

/// A generated street scene, preprocessed as the model's adapter says.
fn scene_input(adapter: &std::path::Path, index: u64) -> Tensor {
    let a = adasval::adapter::Adapter::load(adapter).unwrap();
    let f = adasval::synth::render_random(777_001, index, 640, 360);
    let img = adasval::preprocess::RgbImage {
        width: f.width,
        height: f.height,
        data: f.rgb,
    };
    adasval::preprocess::preprocess(&a, &img).0
}

/// Build fp32 and fp16 plans of `model`, run them on the GPU on two scenes, and compare
/// with tract and with the builder's reference interpreter.
fn model_on_gpu(test: &str, model: &std::path::Path, adapter: &std::path::Path) {
    use adasval::cudaplan::build::{build, BuildOptions};
    let mut chooser = cuda::algo_chooser().unwrap();
    for precision in [Precision::Fp32, Precision::Fp16] {
        let t0 = std::time::Instant::now();
        let file = build(
            model,
            &BuildOptions {
                name: format!("{test}-{precision:?}"),
                precision,
                tactics: TacticPolicy::Measured,
                fuse_elementwise: true,
            },
            chooser.as_mut(),
        )
        .unwrap();
        let convs: Vec<&ConvChoice> = file
            .plan
            .layers
            .iter()
            .filter_map(|l| l.choice.as_ref())
            .collect();
        let direct = convs
            .iter()
            .filter(|c| c.engine == ConvEngine::Direct)
            .count();
        eprintln!(
            "{test} {precision:?}: built {} layers in {:.2} s; DIRECT {direct} of {} convolutions run the direct kernel",
            file.plan.layers.len(),
            t0.elapsed().as_secs_f64(),
            convs.len()
        );
        // Every measured choice compared whole layers and kept every candidate's time.
        for c in &convs {
            assert!(c.tactics.iter().any(|t| t.engine == ConvEngine::Cudnn));
            assert_eq!(
                c.tactics
                    .iter()
                    .filter(|t| t.status.starts_with("chosen"))
                    .count(),
                1
            );
        }
        // The executor reads the serialized form, as the backend does.
        let bytes = file.to_bytes().unwrap();
        let (plan, blob) = cuda::decode_plan(&bytes).unwrap();
        let prepared = CudaPrepared::from_plan(&plan.name, &plan, &blob, false).unwrap();
        let mut s = prepared.session().unwrap();
        for index in 0..2 {
            let x = scene_input(adapter, index);
            let gpu = s.run(&x).unwrap();
            let cpu = tract_outputs(model, &x);
            let reference =
                adasval::cudaplan::reference::run_reference(&file, std::slice::from_ref(&x))
                    .unwrap();
            assert_eq!(gpu.outputs.len(), cpu.len());
            for ((g, c), r) in gpu.outputs.iter().zip(&cpu).zip(&reference) {
                let vs_tract = rel_l2(&g.data, c);
                let vs_ref = rel_l2(&g.data, &r.data);
                eprintln!(
                    "{test} {precision:?} scene {index} `{}`: relative L2 vs tract {vs_tract:.3e}, vs reference {vs_ref:.3e}; h2d {:?} compute {:?} d2h {:?} ns; upload {:?} ns",
                    g.name, gpu.device.h2d_ns, gpu.device.compute_ns, gpu.device.d2h_ns, prepared.load_ns()
                );
                match precision {
                    Precision::Fp32 => {
                        assert!(vs_tract <= 1e-3, "{test} fp32 vs tract: {vs_tract}");
                        assert!(vs_ref <= 1e-3, "{test} fp32 vs reference: {vs_ref}");
                    }
                    // Measured and reported; bounded only against gross errors.
                    Precision::Fp16 => {
                        assert!(vs_tract <= 5e-2, "{test} fp16 vs tract: {vs_tract}")
                    }
                }
            }
        }
        fused_against_unfused(test, model, adapter, chooser.as_mut(), &plan, &blob);
        sessions_and_graphs(test, &plan, &blob, adapter);
        host_paths(test, &plan, &blob, adapter);
        // Reported, not asserted (targets belong to benches): per-frame medians over 200
        // frames after 20 warm-up frames.
        let x = scene_input(adapter, 7);
        for _ in 0..20 {
            s.run(&x).unwrap();
        }
        let mut rows: Vec<[u64; 4]> = (0..200)
            .map(|_| {
                let t = std::time::Instant::now();
                let o = s.run(&x).unwrap();
                let wall = t.elapsed().as_nanos() as u64;
                let d = o.device;
                [
                    d.h2d_ns.unwrap(),
                    d.compute_ns.unwrap(),
                    d.d2h_ns.unwrap(),
                    wall,
                ]
            })
            .collect();
        let mut median = |k: usize| {
            rows.sort_by_key(|r| r[k]);
            rows[rows.len() / 2][k] as f64 / 1e6
        };
        let (h2d, compute, d2h, wall) = (median(0), median(1), median(2), median(3));
        // The harness's path: the frame staged, the outputs lent.
        let guard = prepared.stage_inputs(&[&x]).unwrap();
        let lent: Vec<u64> = (0..200)
            .map(|_| {
                let t = std::time::Instant::now();
                let o = s.run_lent(&x).unwrap();
                let wall = t.elapsed().as_nanos() as u64;
                assert!(!o.outputs().is_empty());
                wall
            })
            .collect();
        drop(guard);
        eprintln!(
            "LATENCY {test} {precision:?}: median over 200 frames: h2d {h2d:.4} ms, compute {compute:.4} ms, d2h {d2h:.4} ms, Session::run wall {wall:.4} ms, staged Session::run_lent wall {:.4} ms; weights upload {:.4} ms",
            median_ms(lent),
            prepared.load_ns().unwrap_or(0) as f64 / 1e6
        );
    }
}

/// The same model built without the elementwise fusion pass gives the fused plan's outputs
/// within the tolerances above (its convolutions on cuDNN's heuristic choices, so the
/// comparison also spans other kernels; timing the two is bench work: .gpu scripts).
fn fused_against_unfused(
    test: &str,
    model: &std::path::Path,
    adapter: &std::path::Path,
    chooser: &mut dyn AlgoChooser,
    plan: &Plan,
    blob: &[f32],
) {
    use adasval::cudaplan::build::{build, BuildOptions};
    let unfused = build(
        model,
        &BuildOptions {
            name: format!("{}-unfused", plan.name),
            precision: plan.precision,
            tactics: TacticPolicy::Heuristic,
            fuse_elementwise: false,
        },
        chooser,
    )
    .unwrap();
    let fusions = adasval::cudaplan::inspect::fusion_summary(plan);
    eprintln!("FUSION {test} {:?}: {fusions}", plan.precision);
    assert!(
        unfused.plan.layers.len() > plan.layers.len(),
        "{test}: nothing fused ({fusions})"
    );
    let bound = match plan.precision {
        Precision::Fp32 => 1e-3,
        Precision::Fp16 => 5e-2,
    };
    let a = CudaPrepared::from_plan(&plan.name, plan, blob, false).unwrap();
    let b = CudaPrepared::from_plan(&unfused.plan.name, &unfused.plan, &unfused.weights, false)
        .unwrap();
    let (mut sa, mut sb) = (a.session().unwrap(), b.session().unwrap());
    for index in 0..2 {
        let x = scene_input(adapter, index);
        let (ga, gb) = (sa.run(&x).unwrap(), sb.run(&x).unwrap());
        for (p, q) in ga.outputs.iter().zip(&gb.outputs) {
            let e = rel_l2(&p.data, &q.data);
            eprintln!(
                "{test} {:?} scene {index} `{}`: fused ({} layers) vs unfused ({} layers) relative L2 {e:.3e}",
                plan.precision,
                p.name,
                plan.layers.len(),
                unfused.plan.layers.len()
            );
            assert!(
                e <= bound,
                "{test} {:?} fused vs unfused: {e}",
                plan.precision
            );
        }
    }
}

/// Median of a sample (ms from ns).
fn median_ms(mut v: Vec<u64>) -> f64 {
    v.sort_unstable();
    v[v.len() / 2] as f64 / 1e6
}

/// Per-session resources and CUDA graphs change nothing in the outputs: N sessions on N
/// threads, each running several scenes, give bit-identical outputs to one session, and the
/// graph replay gives bit-identical outputs to the launch-by-launch run. Also reports the
/// per-frame compute with and without graphs and the per-layer event sum (`--layer-profile`).
fn sessions_and_graphs(test: &str, plan: &Plan, blob: &[f32], adapter: &std::path::Path) {
    let scenes: Vec<Tensor> = (0..3).map(|i| scene_input(adapter, i)).collect();
    let graphs = CudaPrepared::from_plan_with(&plan.name, plan, blob, false, true).unwrap();
    let eager = CudaPrepared::from_plan_with(&plan.name, plan, blob, false, false).unwrap();
    eprintln!(
        "{test} {:?}: graphs on: {}",
        plan.precision,
        graphs.summary()
    );
    eprintln!(
        "{test} {:?}: graphs off: {}",
        plan.precision,
        eager.summary()
    );
    let mut one = graphs.session().unwrap();
    let expected: Vec<Vec<Tensor>> = scenes.iter().map(|x| one.run(x).unwrap().outputs).collect();
    let mut e = eager.session().unwrap();
    for (x, want) in scenes.iter().zip(&expected) {
        assert_eq!(
            &e.run(x).unwrap().outputs,
            want,
            "{test}: graph replay differs from eager"
        );
    }
    const N: usize = 4;
    let sessions: Vec<_> = (0..N).map(|_| graphs.session().unwrap()).collect();
    std::thread::scope(|sc| {
        let handles: Vec<_> = sessions
            .into_iter()
            .enumerate()
            .map(|(k, mut s)| {
                let (scenes, expected) = (&scenes, &expected);
                sc.spawn(move || {
                    for round in 0..10 {
                        let i = (k + round) % scenes.len();
                        assert_eq!(
                            s.run(&scenes[i]).unwrap().outputs,
                            expected[i],
                            "session {k} round {round} differs from one session"
                        );
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
    });
    eprintln!(
        "{test} {:?}: {N} sessions on {N} threads: outputs identical to one session",
        plan.precision
    );
    let x = &scenes[0];
    let compute = |s: &mut Box<dyn adasval::backend::Session>| -> (f64, f64) {
        for _ in 0..20 {
            s.run(x).unwrap();
        }
        let (mut c, mut w) = (vec![], vec![]);
        for _ in 0..200 {
            let t = std::time::Instant::now();
            let o = s.run(x).unwrap();
            w.push(t.elapsed().as_nanos() as u64);
            c.push(o.device.compute_ns.unwrap());
        }
        (median_ms(c), median_ms(w))
    };
    let (gc, gw) = compute(&mut one);
    let (ec, ew) = compute(&mut e);
    let profiled = CudaPrepared::from_plan_with(&plan.name, plan, blob, true, false).unwrap();
    let mut ps = profiled.session().unwrap();
    for _ in 0..50 {
        ps.run(x).unwrap();
    }
    let p = profiled.layer_profile().unwrap();
    let layer_sum: f64 = p["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["median_ms"].as_f64().unwrap_or(0.0))
        .sum();
    eprintln!(
        "GRAPHS {test} {:?}: compute median graphs on {gc:.4} ms (Session::run wall {gw:.4} ms), graphs off {ec:.4} ms (wall {ew:.4} ms); sum of per-layer event medians (--layer-profile) {layer_sum:.4} ms over {} layers",
        plan.precision,
        plan.layers.len()
    );
    if std::env::var("ADASVAL_CUDA_GRAPHS").is_err() {
        assert!(
            graphs.summary().contains("CUDA graph per session"),
            "{test}: graph capture failed: {}",
            graphs.summary()
        );
    }
}

/// A plan with every convolution forced onto the direct kernel (`algo_chooser_with`, the
/// library form of `ADASVAL_CONV_ENGINE=direct`) still matches tract.
fn forced_direct_on_gpu(test: &str, model: &std::path::Path, adapter: &std::path::Path) {
    use adasval::cudaplan::build::{build, BuildOptions};
    let mut chooser = cuda::algo_chooser_with(Some(ConvEngine::Direct)).unwrap();
    for precision in [Precision::Fp32, Precision::Fp16] {
        let file = build(
            model,
            &BuildOptions {
                name: format!("{test}-direct-{precision:?}"),
                precision,
                tactics: TacticPolicy::Measured,
                fuse_elementwise: true,
            },
            chooser.as_mut(),
        )
        .unwrap();
        for l in &file.plan.layers {
            if let Some(c) = &l.choice {
                assert_eq!(
                    c.engine,
                    ConvEngine::Direct,
                    "{test}: `{}` not direct",
                    l.name
                );
            }
        }
        let bytes = file.to_bytes().unwrap();
        let (plan, blob) = cuda::decode_plan(&bytes).unwrap();
        let prepared = CudaPrepared::from_plan(&plan.name, &plan, &blob, false).unwrap();
        let mut s = prepared.session().unwrap();
        for index in 0..2 {
            let x = scene_input(adapter, index);
            let gpu = s.run(&x).unwrap();
            let cpu = tract_outputs(model, &x);
            for (g, c) in gpu.outputs.iter().zip(&cpu) {
                let e = rel_l2(&g.data, c);
                eprintln!(
                    "{test} all-direct {precision:?} scene {index} `{}`: relative L2 vs tract {e:.3e}; compute {:?} ns ({})",
                    g.name,
                    gpu.device.compute_ns,
                    prepared.summary()
                );
                let bound = match precision {
                    Precision::Fp32 => 1e-3,
                    Precision::Fp16 => 5e-2,
                };
                assert!(e <= bound, "{test} all-direct {precision:?} vs tract: {e}");
            }
        }
    }
}

/// Every variant of the direct kernel (each channel block, the block sizes in turn) on
/// convolutions of every kind (grouped, depthwise, 1×1, 3×3, 5×5 and 2×2 kernels, strides,
/// padding, with and without bias, each activation), fp32 and fp16, against the naive CPU
/// interpreter, within the tolerances of `every_operator_matches_a_naive_cpu_interpreter`.
#[test]
fn every_direct_kernel_variant_matches_a_naive_cpu_interpreter() {
    let Some(_gpu) = gpu_or_skip("every_direct_kernel_variant_matches_a_naive_cpu_interpreter")
    else {
        return;
    };
    let mut chooser = cuda::algo_chooser_with(Some(ConvEngine::Cudnn)).unwrap();
    for (precision, tolerance) in [(Precision::Fp32, 1e-5), (Precision::Fp16, 2e-2)] {
        let mut b = Builder::every_op(precision, TacticPolicy::Measured);
        let x = b.plan.inputs[0];
        let c5 = b.conv("g5", x, 32, 5, 2, 2, 1, true, Some(Activation::Silu));
        let d3 = b.conv("dw3", c5, 32, 3, 1, 1, 32, false, Some(Activation::Relu));
        let g1 = b.conv("g1x1", d3, 32, 1, 1, 0, 2, true, Some(Activation::Sigmoid));
        let k2 = b.conv("k2", g1, 16, 2, 2, 0, 1, true, None);
        b.plan.outputs.push(k2);
        b.choose(chooser.as_mut());
        let input = Rng(5).vec(3 * 16 * 16);
        let want = naive(&b.plan, &b.blob, &input);
        for (i, &cb) in adasval::cudaplan::tactic::CHANNEL_BLOCKS.iter().enumerate() {
            let block = adasval::cudaplan::tactic::BLOCKS[i % 3];
            let mut plan = b.plan.clone();
            let mut direct = 0;
            for l in 0..plan.layers.len() {
                let Some(p) = adasval::cudaplan::build::conv_problem(&plan, l) else {
                    continue;
                };
                let v = DirectConv {
                    channels_per_thread: cb,
                    block,
                    tile: None,
                };
                if adasval::cudaplan::tactic::direct_variants(&p).contains(&v) {
                    let c = plan.layers[l].choice.as_mut().unwrap();
                    c.engine = ConvEngine::Direct;
                    c.direct = Some(v);
                    direct += 1;
                }
            }
            assert!(direct > 0, "channel block {cb}: no layer can use it");
            let (_p, got, _t) = run_gpu(&plan, &b.blob, &input, false);
            for (g, w) in got.iter().zip(&want) {
                let e = rel_l2(&g.data, w);
                eprintln!(
                    "direct c{cb} b{block} {precision:?} ({direct} layers) `{}`: relative L2 {e:.3e}",
                    g.name
                );
                assert!(
                    e <= tolerance,
                    "direct c{cb} b{block} {precision:?} `{}`: {e}",
                    g.name
                );
            }
        }
    }
}

/// Every tiled variant of the direct kernel on the 3×3 layers it takes: odd map sizes (tiles
/// cut by the borders), strides 1 and 2, with and without padding, output channels that are
/// no multiple of a block's, input channels over several shared-memory chunks, every
/// activation; fp32 and fp16 against the naive CPU interpreter. Each round gives each
/// layer another variant of its stride, so every variant runs on at least two layers.
#[test]
fn every_tiled_direct_variant_matches_a_naive_cpu_interpreter() {
    use adasval::cudaplan::tactic::{tile_unsupported, tiled_variants, TILE_SHAPES};
    let Some(_gpu) = gpu_or_skip("every_tiled_direct_variant_matches_a_naive_cpu_interpreter")
    else {
        return;
    };
    let mut chooser = cuda::algo_chooser_with(Some(ConvEngine::Cudnn)).unwrap();
    for (precision, tolerance) in [(Precision::Fp32, 1e-5), (Precision::Fp16, 2e-2)] {
        let mut b = Builder::new(precision, TacticPolicy::Measured);
        let x = b.tensor("images", &[1, 5, 37, 41]);
        b.plan.inputs = vec![x];
        let t1 = b.conv("t1", x, 24, 3, 1, 1, 1, true, Some(Activation::Silu));
        let t2 = b.conv("t2", t1, 40, 3, 2, 1, 1, false, Some(Activation::Relu));
        let t3 = b.conv("t3", t2, 6, 3, 1, 0, 1, true, Some(Activation::Sigmoid));
        let t4 = b.conv("t4", t2, 17, 3, 2, 0, 1, true, None);
        b.plan.outputs = vec![t3, t4];
        b.choose(chooser.as_mut());
        let input = Rng(11).vec(5 * 37 * 41);
        let want = naive(&b.plan, &b.blob, &input);
        let all = tiled_variants();
        let mut used = std::collections::BTreeSet::new();
        for round in 0..TILE_SHAPES.len() {
            let mut plan = b.plan.clone();
            let mut names = vec![];
            for l in 0..plan.layers.len() {
                let Some(p) = adasval::cudaplan::build::conv_problem(&plan, l) else {
                    continue;
                };
                let eligible: Vec<DirectConv> = all
                    .iter()
                    .copied()
                    .filter(|v| tile_unsupported(&p, v).is_none())
                    .collect();
                assert_eq!(eligible.len(), TILE_SHAPES.len(), "layer {l}");
                let v = eligible[(round + l) % eligible.len()];
                assert!(adasval::cudaplan::tactic::direct_variants(&p).contains(&v));
                let c = plan.layers[l].choice.as_mut().unwrap();
                c.engine = ConvEngine::Direct;
                c.direct = Some(v);
                names.push(v.kernel_name([3, 3]));
                used.insert(v.kernel_name([3, 3]));
            }
            let (_p, got, _t) = run_gpu(&plan, &b.blob, &input, false);
            for (g, w) in got.iter().zip(&want) {
                let e = rel_l2(&g.data, w);
                eprintln!(
                    "tiled round {round} {precision:?} {names:?} `{}`: relative L2 {e:.3e}",
                    g.name
                );
                assert!(
                    e <= tolerance,
                    "tiled {names:?} {precision:?} `{}`: {e}",
                    g.name
                );
            }
        }
        assert_eq!(used.len(), all.len(), "every tiled variant ran");
    }
}

#[test]
fn demo_detector_on_the_gpu_matches_tract() {
    let Some(_gpu) = gpu_or_skip("demo_detector_on_the_gpu_matches_tract") else {
        return;
    };
    let r = repo();
    model_on_gpu(
        "demo",
        &r.join("engines/demo/detector.onnx"),
        &r.join("engines/demo/adapter.yaml"),
    );
    forced_direct_on_gpu(
        "demo",
        &r.join("engines/demo/detector.onnx"),
        &r.join("engines/demo/adapter.yaml"),
    );
}

#[test]
fn yolox_nano_on_the_gpu_matches_tract() {
    let Some(_gpu) = gpu_or_skip("yolox_nano_on_the_gpu_matches_tract") else {
        return;
    };
    let Some(shared) = shared_dir() else { return };
    model_on_gpu(
        "yolox",
        &shared.join("models/yolox_nano/yolox_nano.onnx"),
        &repo().join("tests/fixtures/yolox_nano.adapter.yaml"),
    );
    forced_direct_on_gpu(
        "yolox",
        &shared.join("models/yolox_nano/yolox_nano.onnx"),
        &repo().join("tests/fixtures/yolox_nano.adapter.yaml"),
    );
}

// ---------------------------------------------------------------------------------------
// Host path: frames staged in page-locked memory and outputs DMA'd into the
// session's page-locked tensors must give exactly what the copy path gives.

/// A generated scene as the harness prepares it.
fn scene_frame(adapter: &adasval::adapter::Adapter, index: u64) -> adasval::replay::PreparedFrame {
    let f = adasval::synth::render_random(777_001, index, 640, 360);
    let img = adasval::preprocess::RgbImage {
        width: f.width,
        height: f.height,
        data: f.rgb,
    };
    let (input, transform) = adasval::preprocess::preprocess(adapter, &img);
    adasval::replay::PreparedFrame {
        index: index as usize,
        input,
        transform,
        pre_ns: 0,
    }
}

/// Staged + lent (direct) against copy in, copy out: bit-identical outputs frame by frame,
/// through `run`, `run_lent` and the harness (one stream and three), with and without the
/// staging guard; the guard's drop unstages.
fn host_paths(test: &str, plan: &Plan, blob: &[f32], adapter_path: &std::path::Path) {
    use adasval::replay::{self, NoProgress, Order, TraceSettings};
    use std::sync::atomic::AtomicBool;
    let adapter = adasval::adapter::Adapter::load(adapter_path).unwrap();
    let frames: Vec<_> = (0..4).map(|i| scene_frame(&adapter, 20 + i)).collect();
    let direct =
        CudaPrepared::from_plan_host(&plan.name, plan, blob, false, true, HostPath::Direct)
            .unwrap();
    let copy =
        CudaPrepared::from_plan_host(&plan.name, plan, blob, false, true, HostPath::Copy).unwrap();
    eprintln!("{test} {:?}: direct: {}", plan.precision, direct.summary());
    assert!(
        direct.summary().contains("page-locked output tensors"),
        "{test}: outputs not locked in place: {}",
        direct.summary()
    );
    assert!(copy.summary().contains("ADASVAL_CUDA_STAGING=0"));
    let mut c = copy.session().unwrap();
    let want: Vec<Vec<Tensor>> = frames
        .iter()
        .map(|f| c.run(&f.input).unwrap().outputs)
        .collect();
    // The copy path stages nothing and lends nothing.
    let (g, note) = replay::stage(&copy, &frames);
    assert!(note.unwrap().contains("ADASVAL_CUDA_STAGING=0"));
    assert!(!c.run_lent(&frames[0].input).unwrap().is_borrowed());
    drop(g);
    let mut d = direct.session().unwrap();
    let check = |d: &mut Box<dyn Session>, what: &str| {
        for (i, (f, w)) in frames.iter().zip(&want).enumerate() {
            let lent = d.run_lent(&f.input).unwrap();
            assert!(lent.is_borrowed(), "{test} {what}: not lent");
            assert_eq!(
                lent.outputs(),
                w.as_slice(),
                "{test} {what}: frame {i} (lent)"
            );
            assert_eq!(
                &d.run(&f.input).unwrap().outputs,
                w,
                "{test} {what}: frame {i} (run)"
            );
        }
    };
    check(&mut d, "unstaged");
    {
        let (guard, note) = replay::stage(&direct, &frames);
        let note = note.unwrap();
        eprintln!("{test} {:?}: staging: {note}", plan.precision);
        assert!(note.starts_with("4 frames page-locked"), "{note}");
        assert_eq!(direct.staged_frames(), 4);
        check(&mut d, "staged");
        // A copy of a staged frame is not staged, and gives the same outputs.
        let copy_of = frames[1].input.clone();
        assert_eq!(d.run_lent(&copy_of).unwrap().outputs(), want[1].as_slice());
        // The harness: one stream, then three, on the staged frames.
        let settings = TraceSettings {
            repetitions: 3,
            warmup: 2,
            order: Order::Shuffled,
            seed: 3,
            pace_fps: None,
            bounds: Default::default(),
        };
        let stop = AtomicBool::new(false);
        let r = replay::run_trace(
            d.as_mut(),
            &adapter,
            &frames,
            &settings,
            true,
            &stop,
            &NoProgress,
        );
        assert!(r.complete(), "{test}: {:?}", r.error);
        assert_eq!(r.nondeterministic, 0);
        let mut ref_session = copy.session().unwrap();
        let reference = replay::run_trace(
            ref_session.as_mut(),
            &adapter,
            &frames,
            &settings,
            true,
            &stop,
            &NoProgress,
        );
        assert_eq!(
            r.output_sha256, reference.output_sha256,
            "{test}: harness, staged vs copy"
        );
        assert_eq!(r.detections, reference.detections);
        for (i, w) in want.iter().enumerate() {
            assert_eq!(
                r.raw_outputs[i].as_ref(),
                Some(w),
                "{test}: raw outputs frame {i}"
            );
        }
        let s3 = adasval::streams::run_streams(
            &direct,
            &adapter,
            &frames,
            &settings,
            true,
            &stop,
            &NoProgress,
            3,
        )
        .unwrap();
        assert!(s3.complete(), "{test}: {:?}", s3.error);
        assert_eq!(s3.nondeterministic, 0, "{test}: three staged streams");
        assert_eq!(s3.output_sha256, reference.output_sha256);
        drop(guard);
    }
    assert_eq!(direct.staged_frames(), 0, "dropping the guard unstages");
    check(&mut d, "after unstaging");
    eprintln!(
        "{test} {:?}: host paths: staged/lent outputs identical to copy in/copy out",
        plan.precision
    );
}

#[test]
fn staging_refuses_wrong_sizes_and_respects_other_guards() {
    let Some(_gpu) = gpu_or_skip("staging_refuses_wrong_sizes_and_respects_other_guards") else {
        return;
    };
    let mut chooser = cuda::algo_chooser().unwrap();
    let mut b = Builder::every_op(Precision::Fp32, TacticPolicy::Deterministic);
    b.choose(chooser.as_mut());
    let p =
        CudaPrepared::from_plan_host("every-op", &b.plan, &b.blob, false, true, HostPath::Direct)
            .unwrap();
    let mut rng = Rng(17);
    let good = Tensor::new("images", vec![1, 3, 16, 16], rng.vec(768));
    let other = Tensor::new("images", vec![1, 3, 16, 16], rng.vec(768));
    let small = Tensor::new("images", vec![1, 3, 4, 4], rng.vec(48));
    let mut s = p.session().unwrap();
    let want = s.run(&good).unwrap().outputs;
    let first = p.stage_inputs(&[&good, &small, &good]).unwrap();
    let note = first.describe().unwrap();
    assert!(note.starts_with("1 frames page-locked"), "{note}");
    assert!(note.contains("1 of another size"), "{note}");
    assert_eq!(p.staged_frames(), 1);
    {
        // A second guard leaves the first one's frame alone and stages only the new one.
        let second = p.stage_inputs(&[&good, &other]).unwrap();
        assert!(second.describe().unwrap().contains("1 already staged"));
        assert_eq!(p.staged_frames(), 2);
    }
    assert_eq!(
        p.staged_frames(),
        1,
        "the second guard removed only its own frame"
    );
    assert_eq!(s.run_lent(&good).unwrap().outputs(), want.as_slice());
    assert!(
        s.run_lent(&small).is_err(),
        "a wrong-size frame is still refused"
    );
    drop(first);
    assert_eq!(p.staged_frames(), 0);
    assert_eq!(s.run_lent(&good).unwrap().outputs(), want.as_slice());
}
