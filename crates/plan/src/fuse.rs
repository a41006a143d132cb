//! The builder's elementwise fusion pass: runs on the imported graph, after
//! import has folded BatchNorm and each convolution's own activation, and before the
//! algorithm choice (so every convolution is timed with the epilogue it will run).
//!
//! Two rewrites, each only where the intermediate tensor has a single reader and is not a
//! plan output, so nothing else can observe that it is gone:
//!
//! 1. **Residual into the convolution.** `Add(conv(x), r)` becomes the convolution with a
//!    second input `r` added in its epilogue: after its activation when it has one
//!    (`r + silu(conv)`, YOLOX), else before an activation taken from a following Relu or
//!    Sigmoid (`relu(conv + r)`, a ResNet block) or with none.
//! 2. **Elementwise chains.** A run of Add, Mul, Relu and Sigmoid layers, optionally
//!    starting with a nearest Resize (the top-down path's "upsample ×2, add"), each reading
//!    the previous one's output, becomes one [`Op::Elementwise`] layer that the executor
//!    runs as one generated NVRTC kernel. A lone layer stays as it is.
//!
//! A fused layer takes the first node's name and lists the others in `Layer::fused`; it
//! sits where the chain's last layer was (every operand is computed by then). Tensors
//! that no layer produces or reads any more are dropped and ids renumbered.

use super::import::ImportedGraph;
use super::ir::{Activation, EwStep, Layer, Op, Residual, TensorId};

/// Most inputs one fused chain reads (the generated kernel's argument holds this many).
pub const MAX_CHAIN_INPUTS: usize = 8;

/// What the pass did, for logs and tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FuseReport {
    /// (convolution layer, fused node names) per residual folded into a convolution.
    pub residuals: Vec<(String, Vec<String>)>,
    /// (first layer, fused node names) per elementwise chain.
    pub chains: Vec<(String, Vec<String>)>,
}

/// Readers and producer of every tensor of `layers` (slots may be empty).
struct Uses {
    readers: Vec<Vec<usize>>,
    producer: Vec<Option<usize>>,
}

fn uses(layers: &[Option<Layer>], tensors: usize) -> Uses {
    let mut u = Uses {
        readers: vec![vec![]; tensors],
        producer: vec![None; tensors],
    };
    for (i, l) in layers.iter().enumerate() {
        let Some(l) = l else { continue };
        for &t in &l.inputs {
            if !u.readers[t].contains(&i) {
                u.readers[t].push(i);
            }
        }
        for &t in &l.outputs {
            u.producer[t] = Some(i);
        }
    }
    u
}

/// Run both rewrites on `g`.
pub fn fuse(g: &mut ImportedGraph) -> FuseReport {
    let mut report = FuseReport::default();
    let mut layers: Vec<Option<Layer>> = std::mem::take(&mut g.layers)
        .into_iter()
        .map(Some)
        .collect();
    let is_output = |t: TensorId, g: &ImportedGraph| g.outputs.contains(&t);
    // 1. Residuals, one at a time (each rewrite changes who reads what).
    loop {
        let u = uses(&layers, g.tensors.len());
        let sole = |t: TensorId, reader: usize| u.readers[t] == [reader] && !is_output(t, g);
        let mut found = None;
        for (i, l) in layers.iter().enumerate() {
            let Some(l) = l else { continue };
            if !matches!(l.op, Op::Add) || l.inputs.len() != 2 {
                continue;
            }
            let out = l.outputs[0];
            let shape = &g.tensors[out].shape;
            if l.inputs.iter().any(|t| &g.tensors[*t].shape != shape) || l.inputs[0] == l.inputs[1]
            {
                continue;
            }
            // The later convolution, when both sides qualify.
            let conv = (0..2)
                .filter_map(|side| {
                    let t = l.inputs[side];
                    let p = u.producer[t]?;
                    let pl = layers[p].as_ref()?;
                    let ok = matches!(pl.op, Op::Conv { residual: None, .. })
                        && pl.inputs.len() == 1
                        && sole(t, i);
                    ok.then_some((p, side))
                })
                .max_by_key(|(p, _)| *p);
            if let Some((p, side)) = conv {
                found = Some((i, p, l.inputs[1 - side]));
                break;
            }
        }
        let Some((add, conv, r)) = found else { break };
        let add_layer = layers[add].take().unwrap_or_else(|| unreachable!());
        let mut c = layers[conv].take().unwrap_or_else(|| unreachable!());
        let mut fused = vec![add_layer.name.clone()];
        fused.extend(add_layer.fused.iter().cloned());
        let mut out = add_layer.outputs[0];
        let mut slot = add;
        let Op::Conv {
            activation,
            residual,
            ..
        } = &mut c.op
        else {
            unreachable!()
        };
        if activation.is_some() {
            *residual = Some(Residual::AfterActivation);
        } else {
            *residual = Some(Residual::BeforeActivation);
            // A following Relu or Sigmoid becomes the activation after the residual.
            let act = match u.readers[out].as_slice() {
                [j] if !is_output(out, g) => layers[*j].as_ref().and_then(|l| match l.op {
                    Op::Relu => Some((*j, Activation::Relu)),
                    Op::Sigmoid => Some((*j, Activation::Sigmoid)),
                    _ => None,
                }),
                _ => None,
            };
            if let Some((j, a)) = act {
                let al = layers[j].take().unwrap_or_else(|| unreachable!());
                *activation = Some(a);
                fused.push(al.name.clone());
                fused.extend(al.fused.iter().cloned());
                out = al.outputs[0];
                slot = j;
            }
        }
        c.inputs.push(r);
        c.outputs = vec![out];
        c.fused.extend(fused.iter().cloned());
        report.residuals.push((c.name.clone(), fused));
        layers[slot] = Some(c);
    }
    // 2. Elementwise chains, in execution order.
    let u = uses(&layers, g.tensors.len());
    let mut i = 0;
    while i < layers.len() {
        let Some(head) = layers[i].as_ref() else {
            i += 1;
            continue;
        };
        let (mut inputs, resize, mut steps) = match &head.op {
            Op::ResizeNearest { scales } if g.tensors[head.inputs[0]].shape.len() == 4 => {
                (vec![head.inputs[0]], Some(*scales), vec![])
            }
            Op::Add | Op::Mul if head.inputs.len() == 2 => {
                let s = if matches!(head.op, Op::Add) {
                    EwStep::Add(1)
                } else {
                    EwStep::Mul(1)
                };
                (head.inputs.clone(), None, vec![s])
            }
            Op::Relu => (head.inputs.clone(), None, vec![EwStep::Relu]),
            Op::Sigmoid => (head.inputs.clone(), None, vec![EwStep::Sigmoid]),
            _ => {
                i += 1;
                continue;
            }
        };
        let mut members = vec![i];
        let mut value = head.outputs[0];
        while let [j] = u.readers[value].as_slice() {
            if is_output(value, g) {
                break;
            }
            let Some(next) = layers[*j].as_ref() else {
                break;
            };
            let out = next.outputs[0];
            if g.tensors[out].shape != g.tensors[value].shape {
                break;
            }
            let step = match &next.op {
                Op::Relu => EwStep::Relu,
                Op::Sigmoid => EwStep::Sigmoid,
                Op::Add | Op::Mul if next.inputs.len() == 2 => {
                    let mine = next.inputs.iter().filter(|t| **t == value).count();
                    if mine != 1 {
                        break;
                    }
                    let other = if next.inputs[0] == value {
                        next.inputs[1]
                    } else {
                        next.inputs[0]
                    };
                    // Input 0 is the chain's start (maybe resized): never an operand.
                    let k = match inputs.iter().skip(1).position(|t| *t == other) {
                        Some(k) => k + 1,
                        None if inputs.len() == MAX_CHAIN_INPUTS => break,
                        None => {
                            inputs.push(other);
                            inputs.len() - 1
                        }
                    };
                    if matches!(next.op, Op::Add) {
                        EwStep::Add(k)
                    } else {
                        EwStep::Mul(k)
                    }
                }
                _ => break,
            };
            steps.push(step);
            members.push(*j);
            value = out;
        }
        if members.len() < 2 {
            i += 1;
            continue;
        }
        let mut name = String::new();
        let mut fused = vec![];
        for (k, &m) in members.iter().enumerate() {
            let l = layers[m].take().unwrap_or_else(|| unreachable!());
            if k == 0 {
                name = l.name;
                fused.extend(l.fused);
            } else {
                fused.push(l.name);
                fused.extend(l.fused);
            }
        }
        let last = *members.last().unwrap_or(&i);
        report.chains.push((name.clone(), fused.clone()));
        layers[last] = Some(Layer {
            name,
            op: Op::Elementwise { resize, steps },
            inputs,
            outputs: vec![value],
            choice: None,
            fused,
        });
        i += 1;
    }
    g.layers = layers.into_iter().flatten().collect();
    drop_unused_tensors(g);
    report
}

/// Remove tensors no layer reads or writes (the fused intermediates) and renumber.
fn drop_unused_tensors(g: &mut ImportedGraph) {
    let n = g.tensors.len();
    let mut used = vec![false; n];
    for l in &g.layers {
        for &t in l.inputs.iter().chain(&l.outputs) {
            used[t] = true;
        }
    }
    for &t in g.inputs.iter().chain(&g.outputs) {
        used[t] = true;
    }
    let mut map = vec![usize::MAX; n];
    let mut kept = Vec::with_capacity(n);
    for (t, info) in std::mem::take(&mut g.tensors).into_iter().enumerate() {
        if used[t] {
            map[t] = kept.len();
            kept.push(info);
        }
    }
    g.tensors = kept;
    let remap = |v: &mut Vec<TensorId>| v.iter_mut().for_each(|t| *t = map[*t]);
    remap(&mut g.inputs);
    remap(&mut g.outputs);
    for l in &mut g.layers {
        remap(&mut l.inputs);
        remap(&mut l.outputs);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::TensorInfo;

    /// A graph under construction: tensors by name, layers in order.
    struct G(ImportedGraph);

    impl G {
        fn new(inputs: &[(&str, &[usize])]) -> G {
            let mut g = G(ImportedGraph {
                tensors: vec![],
                weights: vec![],
                blob: vec![],
                inputs: vec![],
                outputs: vec![],
                layers: vec![],
            });
            for (n, s) in inputs {
                let t = g.t(n, s);
                g.0.inputs.push(t);
            }
            g
        }
        fn t(&mut self, name: &str, shape: &[usize]) -> TensorId {
            self.0.tensors.push(TensorInfo {
                name: name.into(),
                shape: shape.to_vec(),
            });
            self.0.tensors.len() - 1
        }
        fn id(&self, name: &str) -> TensorId {
            self.0.tensors.iter().position(|t| t.name == name).unwrap()
        }
        fn layer(&mut self, name: &str, op: Op, ins: &[&str], out: (&str, &[usize])) {
            let inputs = ins.iter().map(|n| self.id(n)).collect();
            let o = self.t(out.0, out.1);
            self.0.layers.push(Layer {
                name: name.into(),
                op,
                inputs,
                outputs: vec![o],
                choice: None,
                fused: vec![],
            });
        }
        fn conv(&mut self, name: &str, x: &str, out: &str, activation: Option<Activation>) {
            let shape = self.0.tensors[self.id(x)].shape.clone();
            let op = Op::Conv {
                weight: 0,
                bias: None,
                kernel: [3, 3],
                stride: [1, 1],
                pads: [1; 4],
                dilation: [1, 1],
                group: 1,
                activation,
                residual: None,
            };
            self.layer(name, op, &[x], (out, &shape));
        }
        fn output(&mut self, name: &str) {
            let t = self.id(name);
            self.0.outputs.push(t);
        }
        fn names(&self, ids: &[TensorId]) -> Vec<String> {
            ids.iter()
                .map(|t| self.0.tensors[*t].name.clone())
                .collect()
        }
    }

    const S: &[usize] = &[1, 4, 8, 8];

    #[test]
    fn a_residual_add_and_the_relu_after_it_fold_into_the_convolution() {
        let mut g = G::new(&[("x", S)]);
        g.conv("conv", "x", "y", None);
        g.layer("add", Op::Add, &["x", "y"], ("a", S));
        g.layer("relu", Op::Relu, &["a"], ("out", S));
        g.output("out");
        let r = fuse(&mut g.0);
        assert_eq!(
            r.residuals,
            vec![("conv".into(), vec!["add".into(), "relu".into()])]
        );
        let [l] = g.0.layers.as_slice() else {
            panic!("{:?}", g.0.layers)
        };
        assert!(matches!(
            l.op,
            Op::Conv {
                residual: Some(Residual::BeforeActivation),
                activation: Some(Activation::Relu),
                ..
            }
        ));
        assert_eq!(g.names(&l.inputs), ["x", "x"]);
        assert_eq!(g.names(&l.outputs), ["out"]);
        // The fused intermediates are gone, ids renumbered.
        assert_eq!(g.names(&[0, 1]), ["x", "out"]);
        assert_eq!(g.0.tensors.len(), 2);
        assert_eq!(g.0.outputs, vec![1]);
    }

    #[test]
    fn a_convolution_with_its_own_activation_takes_the_residual_after_it() {
        let mut g = G::new(&[("x", S)]);
        g.conv("conv", "x", "y", Some(Activation::Silu));
        g.layer("add", Op::Add, &["y", "x"], ("a", S));
        g.layer("relu", Op::Relu, &["a"], ("out", S));
        g.output("out");
        fuse(&mut g.0);
        assert_eq!(g.0.layers.len(), 2, "the Relu stays: a second activation");
        assert!(matches!(
            g.0.layers[0].op,
            Op::Conv {
                residual: Some(Residual::AfterActivation),
                activation: Some(Activation::Silu),
                ..
            }
        ));
        assert_eq!(g.0.layers[1].op, Op::Relu);
    }

    #[test]
    fn nothing_is_fused_across_a_tensor_someone_else_sees() {
        // The convolution's output is a plan output too.
        let mut g = G::new(&[("x", S)]);
        g.conv("conv", "x", "y", None);
        g.layer("add", Op::Add, &["x", "y"], ("a", S));
        g.output("y");
        g.output("a");
        let before = g.0.layers.clone();
        assert_eq!(fuse(&mut g.0), FuseReport::default());
        assert_eq!(g.0.layers, before);
        // Read by two layers; and a residual that would need broadcasting.
        let mut g = G::new(&[("x", S), ("c", &[1, 4, 1, 1])]);
        g.conv("conv", "x", "y", None);
        g.layer("add", Op::Add, &["x", "y"], ("a", S));
        g.layer("mul", Op::Mul, &["y", "x"], ("m", S));
        g.conv("conv2", "m", "z", None);
        g.layer("addc", Op::Add, &["z", "c"], ("b", S));
        g.output("a");
        g.output("b");
        let r = fuse(&mut g.0);
        assert!(r.residuals.is_empty(), "{r:?}");
        assert!(r.chains.is_empty(), "{r:?}");
        assert_eq!(g.0.layers.len(), 5);
    }

    #[test]
    fn a_resize_and_the_elementwise_layers_after_it_become_one_chain() {
        let mut g = G::new(&[("x", &[1, 4, 4, 4]), ("z", S), ("s", &[1, 4, 1, 1])]);
        g.layer("up", Op::ResizeNearest { scales: [2, 2] }, &["x"], ("u", S));
        g.layer("add", Op::Add, &["z", "u"], ("a", S));
        g.layer("mul", Op::Mul, &["a", "s"], ("m", S));
        g.layer("sig", Op::Sigmoid, &["m"], ("g", S));
        g.layer("lone", Op::Relu, &["z"], ("l", S));
        g.output("g");
        g.output("l");
        let r = fuse(&mut g.0);
        assert_eq!(
            r.chains,
            vec![("up".into(), vec!["add".into(), "mul".into(), "sig".into()])]
        );
        let chain = &g.0.layers[0];
        assert_eq!(
            chain.op,
            Op::Elementwise {
                resize: Some([2, 2]),
                steps: vec![EwStep::Add(1), EwStep::Mul(2), EwStep::Sigmoid]
            }
        );
        assert_eq!(g.names(&chain.inputs), ["x", "z", "s"]);
        assert_eq!(g.names(&chain.outputs), ["g"]);
        // A single elementwise layer stays as it is.
        assert_eq!(g.0.layers[1].op, Op::Relu);
        // Old plans (no `residual` field) still read: the field defaults to none.
        let json = r#"{"op":"conv","weight":0,"bias":null,"kernel":[3,3],"stride":[1,1],"pads":[1,1,1,1],"dilation":[1,1],"group":1,"activation":null}"#;
        let op: Op = serde_json::from_str(json).unwrap();
        assert!(matches!(op, Op::Conv { residual: None, .. }));
        assert!(!serde_json::to_string(&op).unwrap().contains("residual"));
    }
}
