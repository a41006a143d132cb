//! ONNX → plan graph: the first step of `engine build --backend cuda`. Parses the protobuf
//! with tract-onnx's front end only (no tract inference), evaluates constant subgraphs,
//! infers every static shape itself, folds BatchNormalization into the preceding Conv and
//! fuses a following Relu or Sigmoid, or a SiLU pair (Sigmoid and `Mul(x, sigmoid(x))`), into
//! the convolution as its epilogue (the absorbed node names go to `Layer::fused`), and emits layers in topological order with the ONNX node and
//! tensor names kept. Anything outside the supported op set is an error naming the node:
//! nothing silently falls back to the CPU.

use std::collections::{HashMap, HashSet};

use tract_onnx::pb;
use tract_onnx::prelude::Framework;

use super::ir::{Activation, Layer, Op, TensorId, TensorInfo, WeightId, WeightInfo};
use super::onnx_values::*;
use crate::exit::{Classify, Status};

/// The graph part of a plan: everything but the build metadata, the algorithm choices
/// and the memory plan.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedGraph {
    pub tensors: Vec<TensorInfo>,
    pub weights: Vec<WeightInfo>,
    /// fp32 weight blob; `WeightInfo::offset` indexes it in elements.
    pub blob: Vec<f32>,
    pub inputs: Vec<TensorId>,
    pub outputs: Vec<TensorId>,
    pub layers: Vec<Layer>,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{model}: cannot parse the ONNX protobuf: {message}")]
    Parse { model: String, message: String },
    #[error("{model}: node `{node}`: unsupported operator `{op}` (the CUDA plan builder supports Conv, BatchNormalization, Relu, Sigmoid, Add, Mul, Concat, Slice, MaxPool, Resize, Reshape, Flatten, Squeeze, Unsqueeze, Transpose, Identity, and constant subgraphs)")]
    UnsupportedOp {
        model: String,
        node: String,
        op: String,
    },
    #[error("{model}: node `{node}` ({op}): {message}")]
    Node {
        model: String,
        node: String,
        op: String,
        message: String,
    },
    #[error("{model}: {message}")]
    Graph { model: String, message: String },
}

impl Classify for ImportError {
    fn status(&self) -> Status {
        Status::BadInput
    }
}

/// Import an ONNX model from its bytes. `model` names it in error messages.
pub fn import(bytes: &[u8], model: &str) -> Result<ImportedGraph, ImportError> {
    let proto = tract_onnx::onnx()
        .proto_model_for_read(&mut std::io::Cursor::new(bytes))
        .map_err(|e| ImportError::Parse {
            model: model.into(),
            message: format!("{e:#}"),
        })?;
    import_proto(&proto, model)
}

/// Import an already-decoded ONNX model.
pub fn import_proto(proto: &pb::ModelProto, model: &str) -> Result<ImportedGraph, ImportError> {
    let graph = proto.graph.as_ref().ok_or_else(|| ImportError::Graph {
        model: model.into(),
        message: "the model has no graph".into(),
    })?;
    let opset = proto
        .opset_import
        .iter()
        .find(|o| o.domain.is_empty() || o.domain == "ai.onnx")
        .map(|o| o.version)
        .unwrap_or(1);
    let mut b = Builder {
        model: model.to_string(),
        opset,
        values: HashMap::new(),
        out: ImportedGraph {
            tensors: vec![],
            weights: vec![],
            blob: vec![],
            inputs: vec![],
            outputs: vec![],
            layers: vec![],
        },
        consumed: HashSet::new(),
    };
    b.run(graph)?;
    Ok(b.out)
}

#[derive(Debug, Clone)]
enum Value {
    Act(TensorId),
    Const(Const),
}

struct Builder {
    model: String,
    opset: i64,
    values: HashMap<String, Value>,
    out: ImportedGraph,
    /// Node indices already folded or fused into an earlier layer.
    consumed: HashSet<usize>,
}

/// The node being imported, for error messages.
struct Ctx<'a> {
    node: &'a pb::NodeProto,
    name: String,
}

/// `x * sigmoid(x)` on a convolution's output `x`: the Sigmoid and the Mul (node indices)
/// when they are `x`'s only two readers, the Sigmoid's output is read by the Mul alone, and
/// neither intermediate is a graph output.
fn silu_pair(
    graph: &pb::GraphProto,
    x: &str,
    consumers: &HashMap<&str, Vec<usize>>,
    graph_outputs: &HashSet<&str>,
) -> Option<(usize, usize)> {
    if graph_outputs.contains(x) {
        return None;
    }
    let readers = consumers.get(x)?;
    let [a, b] = readers.as_slice() else {
        return None;
    };
    let (s, m) = if graph.node[*a].op_type == "Sigmoid" {
        (*a, *b)
    } else {
        (*b, *a)
    };
    let (sig, mul) = (&graph.node[s], &graph.node[m]);
    if sig.op_type != "Sigmoid" || mul.op_type != "Mul" || sig.input.len() != 1 {
        return None;
    }
    let sig_out = sig.output.first()?;
    if graph_outputs.contains(sig_out.as_str())
        || consumers.get(sig_out.as_str()).map(|v| v.as_slice()) != Some(&[m][..])
    {
        return None;
    }
    let ins: Vec<&str> = mul.input.iter().map(|s| s.as_str()).collect();
    let pair_ok = ins == [x, sig_out.as_str()] || ins == [sig_out.as_str(), x];
    pair_ok.then_some((s, m))
}

impl Builder {
    fn node_err(&self, cx: &Ctx, message: impl Into<String>) -> ImportError {
        ImportError::Node {
            model: self.model.clone(),
            node: cx.name.clone(),
            op: cx.node.op_type.clone(),
            message: message.into(),
        }
    }

    fn graph_err(&self, message: impl Into<String>) -> ImportError {
        ImportError::Graph {
            model: self.model.clone(),
            message: message.into(),
        }
    }

    fn run(&mut self, graph: &pb::GraphProto) -> Result<(), ImportError> {
        for init in &graph.initializer {
            let c = tensor_to_const(init)
                .map_err(|m| self.graph_err(format!("initializer `{}`: {m}", init.name)))?;
            self.values.insert(init.name.clone(), Value::Const(c));
        }
        for input in &graph.input {
            if self.values.contains_key(&input.name) {
                continue; // old exporters list initializers as inputs too
            }
            let shape = static_shape(input)
                .map_err(|m| self.graph_err(format!("input `{}`: {m}", input.name)))?;
            let id = self.add_tensor(&input.name, shape);
            self.out.inputs.push(id);
        }
        // Constant nodes have no inputs: evaluate them all first, so a folded BatchNorm's
        // parameters are known wherever the exporter put their Constant nodes.
        for (i, node) in graph.node.iter().enumerate() {
            if node.op_type == "Constant" {
                let cx = Ctx {
                    node,
                    name: node_name(node, i),
                };
                let c = self.constant_node(&cx)?;
                let out = self.single_output(&cx)?;
                self.values.insert(out, Value::Const(c));
                self.consumed.insert(i);
            }
        }
        let graph_outputs: HashSet<&str> = graph.output.iter().map(|o| o.name.as_str()).collect();
        let mut consumers: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, node) in graph.node.iter().enumerate() {
            for inp in node.input.iter().filter(|s| !s.is_empty()) {
                consumers.entry(inp.as_str()).or_default().push(i);
            }
        }
        let sole_consumer = |value: &str, consumed: &HashSet<usize>| -> Option<usize> {
            if graph_outputs.contains(value) {
                return None;
            }
            match consumers.get(value).map(|v| v.as_slice()) {
                Some([one]) if !consumed.contains(one) => Some(*one),
                _ => None,
            }
        };
        for (i, node) in graph.node.iter().enumerate() {
            if self.consumed.contains(&i) {
                continue;
            }
            let cx = Ctx {
                node,
                name: node_name(node, i),
            };
            if node.op_type == "Conv" {
                // Fold a BatchNormalization, then fuse a Relu, when each is the only reader.
                let mut chain = vec![];
                let mut last = self.single_output(&cx)?;
                if let Some(j) = sole_consumer(&last, &self.consumed) {
                    let n = &graph.node[j];
                    if n.op_type == "BatchNormalization" && n.input.first() == Some(&last) {
                        chain.push(n);
                        self.consumed.insert(j);
                        last = n.output.first().cloned().unwrap_or_default();
                    }
                }
                if let Some(j) = sole_consumer(&last, &self.consumed) {
                    let n = &graph.node[j];
                    if n.op_type == "Relu" || n.op_type == "Sigmoid" {
                        chain.push(n);
                        self.consumed.insert(j);
                        last = n.output.first().cloned().unwrap_or_default();
                    }
                } else if let Some((s, m)) = silu_pair(graph, &last, &consumers, &graph_outputs)
                    .filter(|(s, m)| !self.consumed.contains(s) && !self.consumed.contains(m))
                {
                    // x * sigmoid(x): both nodes become the convolution's epilogue.
                    chain.push(&graph.node[s]);
                    chain.push(&graph.node[m]);
                    self.consumed.insert(s);
                    self.consumed.insert(m);
                    last = graph.node[m].output.first().cloned().unwrap_or_default();
                }
                self.conv(&cx, &chain, &last, graph)?;
            } else {
                self.node(&cx)?;
            }
        }
        for o in &graph.output {
            match self.values.get(&o.name) {
                Some(Value::Act(id)) => {
                    let id = *id;
                    // An elided Identity leaves the output under its input's name: give the
                    // tensor the graph output's name (adapters look outputs up by name),
                    // unless that name is needed elsewhere.
                    let current = self.out.tensors[id].name.clone();
                    if current != o.name {
                        if self.out.inputs.contains(&id)
                            || self.out.outputs.contains(&id)
                            || graph_outputs.contains(current.as_str())
                        {
                            return Err(self.graph_err(format!(
                                "output `{}` is the same tensor as `{current}`; outputs that alias inputs or other outputs are not supported",
                                o.name
                            )));
                        }
                        self.out.tensors[id].name = o.name.clone();
                    }
                    self.out.outputs.push(id);
                }
                Some(Value::Const(_)) => {
                    return Err(self.graph_err(format!(
                        "output `{}` is a constant; a plan's outputs must be computed",
                        o.name
                    )))
                }
                None => {
                    return Err(
                        self.graph_err(format!("output `{}` is not produced by any node", o.name))
                    )
                }
            }
        }
        if self.out.inputs.is_empty() {
            return Err(self.graph_err("the model has no non-constant input"));
        }
        Ok(())
    }

    fn add_tensor(&mut self, name: &str, shape: Vec<usize>) -> TensorId {
        self.out.tensors.push(TensorInfo {
            name: name.to_string(),
            shape,
        });
        let id = self.out.tensors.len() - 1;
        self.values.insert(name.to_string(), Value::Act(id));
        id
    }

    fn add_weight(&mut self, name: &str, shape: Vec<usize>, data: &[f32]) -> WeightId {
        self.out.weights.push(WeightInfo {
            name: name.to_string(),
            shape,
            offset: self.out.blob.len(),
        });
        self.out.blob.extend_from_slice(data);
        self.out.weights.len() - 1
    }

    fn single_output(&self, cx: &Ctx) -> Result<String, ImportError> {
        match cx.node.output.as_slice() {
            [o] if !o.is_empty() => Ok(o.clone()),
            [o, rest @ ..] if !o.is_empty() && rest.iter().all(|r| r.is_empty()) => Ok(o.clone()),
            _ => Err(self.node_err(cx, "exactly one output is supported")),
        }
    }

    fn value(&self, cx: &Ctx, idx: usize) -> Result<&Value, ImportError> {
        let name = cx
            .node
            .input
            .get(idx)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| self.node_err(cx, format!("input {idx} is missing")))?;
        self.values.get(name).ok_or_else(|| {
            self.node_err(
                cx,
                format!("input `{name}` is not defined before this node (graph not topologically sorted?)"),
            )
        })
    }

    fn opt_const(&self, cx: &Ctx, idx: usize) -> Result<Option<Const>, ImportError> {
        match cx.node.input.get(idx) {
            None => Ok(None),
            Some(s) if s.is_empty() => Ok(None),
            Some(_) => match self.value(cx, idx)? {
                Value::Const(c) => Ok(Some(c.clone())),
                Value::Act(_) => Err(self.node_err(
                    cx,
                    format!("input {idx} must be a constant (initializer or Constant node)"),
                )),
            },
        }
    }

    fn req_const(&self, cx: &Ctx, idx: usize) -> Result<Const, ImportError> {
        self.opt_const(cx, idx)?
            .ok_or_else(|| self.node_err(cx, format!("input {idx} is missing")))
    }

    fn act(&self, cx: &Ctx, idx: usize) -> Result<TensorId, ImportError> {
        match self.value(cx, idx)? {
            Value::Act(id) => Ok(*id),
            Value::Const(_) => Err(self.node_err(
                cx,
                format!("input {idx} is a constant where a computed tensor is required"),
            )),
        }
    }

    fn shape(&self, id: TensorId) -> Vec<usize> {
        self.out.tensors[id].shape.clone()
    }

    fn push_layer(
        &mut self,
        cx: &Ctx,
        op: Op,
        inputs: Vec<TensorId>,
        out_shape: Vec<usize>,
    ) -> Result<(), ImportError> {
        let out = self.single_output(cx)?;
        let id = self.add_tensor(&out, out_shape);
        self.out.layers.push(Layer {
            name: cx.name.clone(),
            op,
            inputs,
            outputs: vec![id],
            choice: None,
            fused: vec![],
        });
        Ok(())
    }

    fn set_const(&mut self, cx: &Ctx, c: Const) -> Result<(), ImportError> {
        let out = self.single_output(cx)?;
        self.values.insert(out, Value::Const(c));
        Ok(())
    }

    fn all_const(&self, cx: &Ctx) -> bool {
        cx.node
            .input
            .iter()
            .filter(|s| !s.is_empty())
            .all(|s| matches!(self.values.get(s), Some(Value::Const(_))))
    }

    fn node(&mut self, cx: &Ctx) -> Result<(), ImportError> {
        let op = cx.node.op_type.as_str();
        if !cx.node.domain.is_empty() && cx.node.domain != "ai.onnx" {
            return Err(ImportError::UnsupportedOp {
                model: self.model.clone(),
                node: cx.name.clone(),
                op: format!("{}.{}", cx.node.domain, op),
            });
        }
        match op {
            "Identity" => {
                let v = self.value(cx, 0)?.clone();
                let out = self.single_output(cx)?;
                self.values.insert(out, v);
                Ok(())
            }
            "Relu" | "Sigmoid" => {
                let x = self.act(cx, 0)?;
                let shape = self.shape(x);
                let op = if op == "Relu" { Op::Relu } else { Op::Sigmoid };
                self.push_layer(cx, op, vec![x], shape)
            }
            "Add" | "Mul" | "Sub" | "Div" => self.binary(cx),
            "Concat" => self.concat(cx),
            "Slice" => self.slice(cx),
            "MaxPool" => self.maxpool(cx),
            "Resize" | "Upsample" => self.resize(cx),
            "Reshape" | "Flatten" | "Squeeze" | "Unsqueeze" => self.reshape(cx),
            "Transpose" => self.transpose(cx),
            "Shape" => {
                let shape = match self.value(cx, 0)? {
                    Value::Act(id) => self.shape(*id),
                    Value::Const(c) => c.shape.clone(),
                };
                let dims: Vec<i64> = shape.iter().map(|d| *d as i64).collect();
                self.set_const(
                    cx,
                    Const {
                        shape: vec![dims.len()],
                        data: ConstData::I64(dims),
                    },
                )
            }
            "Gather" => self.gather(cx),
            "Cast" => {
                let c = self.req_const(cx, 0)?;
                let to = attr_int(cx.node, "to").unwrap_or(1);
                let data = match to {
                    1 | 10 | 11 => ConstData::F32(c.as_f32()),
                    6 | 7 | 12 | 13 => ConstData::I64(c.as_i64()),
                    t => return Err(self.node_err(cx, format!("cast to ONNX type {t} is not supported"))),
                };
                self.set_const(cx, Const { shape: c.shape, data })
            }
            "ConstantOfShape" => {
                let shape: Vec<usize> = self
                    .req_const(cx, 0)?
                    .as_i64()
                    .iter()
                    .map(|d| (*d).max(0) as usize)
                    .collect();
                let n = shape.iter().product();
                let fill = match attr(cx.node, "value").and_then(|a| a.t.as_ref()) {
                    Some(t) => tensor_to_const(t).map_err(|m| self.node_err(cx, m))?,
                    None => Const {
                        shape: vec![1],
                        data: ConstData::F32(vec![0.0]),
                    },
                };
                let data = match fill.data {
                    ConstData::F32(v) => ConstData::F32(vec![v.first().copied().unwrap_or(0.0); n]),
                    ConstData::I64(v) => ConstData::I64(vec![v.first().copied().unwrap_or(0); n]),
                };
                self.set_const(cx, Const { shape, data })
            }
            "BatchNormalization" => Err(self.node_err(
                cx,
                "BatchNormalization is only supported directly after a Conv whose output it alone reads (it is folded into the Conv)",
            )),
            _ => Err(ImportError::UnsupportedOp {
                model: self.model.clone(),
                node: cx.name.clone(),
                op: op.to_string(),
            }),
        }
    }

    fn constant_node(&self, cx: &Ctx) -> Result<Const, ImportError> {
        let a = cx
            .node
            .attribute
            .first()
            .ok_or_else(|| self.node_err(cx, "Constant without a value"))?;
        match a.name.as_str() {
            "value" => match &a.t {
                Some(t) => tensor_to_const(t).map_err(|m| self.node_err(cx, m)),
                None => Err(self.node_err(cx, "attribute `value` holds no tensor")),
            },
            "value_float" => Ok(Const {
                shape: vec![],
                data: ConstData::F32(vec![a.f]),
            }),
            "value_floats" => Ok(Const {
                shape: vec![a.floats.len()],
                data: ConstData::F32(a.floats.clone()),
            }),
            "value_int" => Ok(Const {
                shape: vec![],
                data: ConstData::I64(vec![a.i]),
            }),
            "value_ints" => Ok(Const {
                shape: vec![a.ints.len()],
                data: ConstData::I64(a.ints.clone()),
            }),
            other => Err(self.node_err(cx, format!("unsupported Constant attribute `{other}`"))),
        }
    }

    fn conv(
        &mut self,
        cx: &Ctx,
        chain: &[&pb::NodeProto],
        out_name: &str,
        graph: &pb::GraphProto,
    ) -> Result<(), ImportError> {
        let x = self.act(cx, 0)?;
        let xs = self.shape(x);
        let w = self.req_const(cx, 1)?;
        let bias = self.opt_const(cx, 2)?;
        if xs.len() != 4 || w.shape.len() != 4 {
            return Err(self.node_err(
                cx,
                format!("only 2-D convolution (4-D NCHW input and weight) is supported; input {xs:?}, weight {:?}", w.shape),
            ));
        }
        check_auto_pad(cx.node).map_err(|m| self.node_err(cx, m))?;
        let group = attr_int(cx.node, "group").unwrap_or(1);
        let [k, cg, kh, kw] = [w.shape[0], w.shape[1], w.shape[2], w.shape[3]];
        if group < 1 || !k.is_multiple_of(group as usize) || cg * group as usize != xs[1] {
            return Err(self.node_err(
                cx,
                format!(
                    "group {group} does not fit input channels {} and weight {:?}",
                    xs[1], w.shape
                ),
            ));
        }
        let group = group as usize;
        if let Some(ks) = attr_ints(cx.node, "kernel_shape") {
            if ks != [kh as i64, kw as i64] {
                return Err(self.node_err(
                    cx,
                    format!(
                        "kernel_shape {ks:?} does not match the weight {:?}",
                        w.shape
                    ),
                ));
            }
        }
        let stride = pair(cx.node, "strides", 1).map_err(|m| self.node_err(cx, m))?;
        let dilation = pair(cx.node, "dilations", 1).map_err(|m| self.node_err(cx, m))?;
        let pads = pads4(cx.node).map_err(|m| self.node_err(cx, m))?;
        if pads[0] != pads[2] || pads[1] != pads[3] {
            return Err(self.node_err(
                cx,
                format!("asymmetric pads {pads:?} (top, left, bottom, right) are not supported: cuDNN pads symmetrically"),
            ));
        }
        let oh = conv_out(xs[2], pads[0] + pads[2], kh, stride[0], dilation[0]);
        let ow = conv_out(xs[3], pads[1] + pads[3], kw, stride[1], dilation[1]);
        let (oh, ow) = match (oh, ow) {
            (Some(a), Some(b)) => (a, b),
            _ => {
                return Err(self.node_err(cx, format!("kernel larger than the padded input {xs:?}")))
            }
        };
        let mut wdata = w.as_f32();
        let mut bdata: Option<Vec<f32>> = bias.map(|b| b.as_f32());
        if bdata.as_ref().is_some_and(|b| b.len() != k) {
            return Err(self.node_err(
                cx,
                format!(
                    "bias has {} elements, expected {k}",
                    bdata.map_or(0, |b| b.len())
                ),
            ));
        }
        let mut fused = vec![];
        let mut activation = None;
        for n in chain {
            let ncx = Ctx {
                node: n,
                name: node_name(
                    n,
                    graph
                        .node
                        .iter()
                        .position(|m| std::ptr::eq(m, *n))
                        .unwrap_or(0),
                ),
            };
            if n.op_type == "BatchNormalization" {
                if attr_int(n, "training_mode").unwrap_or(0) != 0 {
                    return Err(
                        self.node_err(&ncx, "training_mode BatchNormalization cannot be folded")
                    );
                }
                if n.output.iter().skip(1).any(|o| !o.is_empty()) {
                    return Err(self.node_err(
                        &ncx,
                        "BatchNormalization with running-statistics outputs cannot be folded",
                    ));
                }
                let eps = attr(n, "epsilon").map(|a| a.f).unwrap_or(1e-5);
                let p: Vec<Vec<f32>> = (1..5)
                    .map(|i| self.req_const(&ncx, i).map(|c| c.as_f32()))
                    .collect::<Result<_, _>>()?;
                if p.iter().any(|v| v.len() != k) {
                    return Err(self.node_err(
                        &ncx,
                        format!("parameters must have {k} elements (one per output channel)"),
                    ));
                }
                let (gamma, beta, mean, var) = (&p[0], &p[1], &p[2], &p[3]);
                let per = cg * kh * kw;
                let mut b = bdata.take().unwrap_or_else(|| vec![0.0; k]);
                for o in 0..k {
                    // Folded in f64 so folding adds no error beyond the final f32 rounding.
                    let s = gamma[o] as f64 / (var[o] as f64 + eps as f64).sqrt();
                    for v in &mut wdata[o * per..(o + 1) * per] {
                        *v = (*v as f64 * s) as f32;
                    }
                    b[o] = ((b[o] as f64 - mean[o] as f64) * s + beta[o] as f64) as f32;
                }
                bdata = Some(b);
            } else {
                activation = Some(match n.op_type.as_str() {
                    "Relu" => Activation::Relu,
                    "Sigmoid" => Activation::Sigmoid,
                    // The Mul of a SiLU pair, after its Sigmoid.
                    _ => Activation::Silu,
                });
            }
            fused.push(ncx.name);
        }
        let wname = cx.node.input[1].clone();
        let weight = self.add_weight(&wname, w.shape.clone(), &wdata);
        let bias = bdata.map(|b| {
            let name = match cx.node.input.get(2).filter(|s| !s.is_empty()) {
                Some(n) => n.clone(),
                None => format!("{}.folded_bias", cx.name),
            };
            self.add_weight(&name, vec![k], &b)
        });
        let id = self.add_tensor(out_name, vec![xs[0], k, oh, ow]);
        self.out.layers.push(Layer {
            name: cx.name.clone(),
            op: Op::Conv {
                weight,
                bias,
                kernel: [kh, kw],
                stride,
                pads,
                dilation,
                group,
                activation,
            },
            inputs: vec![x],
            outputs: vec![id],
            choice: None,
            fused,
        });
        Ok(())
    }

    fn binary(&mut self, cx: &Ctx) -> Result<(), ImportError> {
        let op = cx.node.op_type.as_str();
        if self.all_const(cx) {
            let a = self.req_const(cx, 0)?;
            let b = self.req_const(cx, 1)?;
            let c = const_binary(op, &a, &b).map_err(|m| self.node_err(cx, m))?;
            return self.set_const(cx, c);
        }
        if op != "Add" && op != "Mul" {
            return Err(ImportError::UnsupportedOp {
                model: self.model.clone(),
                node: cx.name.clone(),
                op: op.to_string(),
            });
        }
        let a = self.act(cx, 0).map_err(|_| {
            self.node_err(cx, "constant operands of Add/Mul are not supported; both inputs must be computed tensors")
        })?;
        let b = self.act(cx, 1).map_err(|_| {
            self.node_err(cx, "constant operands of Add/Mul are not supported; both inputs must be computed tensors")
        })?;
        let (sa, sb) = (self.shape(a), self.shape(b));
        let out = broadcast(&sa, &sb).ok_or_else(|| {
            self.node_err(cx, format!("shapes {sa:?} and {sb:?} do not broadcast"))
        })?;
        // The plan broadcasts the second input onto the first; Add and Mul commute.
        let inputs = if out == sa {
            vec![a, b]
        } else if out == sb {
            vec![b, a]
        } else {
            return Err(self.node_err(
                cx,
                format!("broadcast of {sa:?} and {sb:?} widens both inputs; only one-sided broadcasting is supported"),
            ));
        };
        let op = if op == "Add" { Op::Add } else { Op::Mul };
        self.push_layer(cx, op, inputs, out)
    }

    fn concat(&mut self, cx: &Ctx) -> Result<(), ImportError> {
        let axis = attr_int(cx.node, "axis")
            .ok_or_else(|| self.node_err(cx, "attribute `axis` is required"))?;
        let n_in = cx.node.input.len();
        if self.all_const(cx) {
            let cs: Vec<Const> = (0..n_in)
                .map(|i| self.req_const(cx, i))
                .collect::<Result<_, _>>()?;
            if cs.iter().any(|c| c.shape.len() > 1) {
                return Err(
                    self.node_err(cx, "constant Concat is supported for 1-D constants only")
                );
            }
            let floats = cs.iter().any(|c| matches!(c.data, ConstData::F32(_)));
            let data = if floats {
                ConstData::F32(cs.iter().flat_map(|c| c.as_f32()).collect())
            } else {
                ConstData::I64(cs.iter().flat_map(|c| c.as_i64()).collect())
            };
            let n = cs.iter().map(|c| c.len()).sum();
            return self.set_const(
                cx,
                Const {
                    shape: vec![n],
                    data,
                },
            );
        }
        let ids: Vec<TensorId> = (0..n_in)
            .map(|i| {
                self.act(cx, i).map_err(|_| {
                    self.node_err(
                        cx,
                        "Concat of computed tensors with constants is not supported",
                    )
                })
            })
            .collect::<Result<_, _>>()?;
        let first = self.shape(ids[0]);
        let axis = norm_axis(axis, first.len()).ok_or_else(|| {
            self.node_err(
                cx,
                format!("axis {axis} out of range for rank {}", first.len()),
            )
        })?;
        let mut out = first.clone();
        out[axis] = 0;
        for id in &ids {
            let s = self.shape(*id);
            if s.len() != first.len()
                || s.iter()
                    .enumerate()
                    .any(|(d, v)| d != axis && *v != first[d])
            {
                return Err(self.node_err(
                    cx,
                    format!("input shapes {first:?} and {s:?} differ outside axis {axis}"),
                ));
            }
            out[axis] += s[axis];
        }
        self.push_layer(cx, Op::Concat { axis }, ids, out)
    }

    fn slice(&mut self, cx: &Ctx) -> Result<(), ImportError> {
        let (starts, ends, axes, steps) = if self.opset < 10 {
            let starts = attr_ints(cx.node, "starts")
                .ok_or_else(|| self.node_err(cx, "attribute `starts` is required"))?;
            let ends = attr_ints(cx.node, "ends")
                .ok_or_else(|| self.node_err(cx, "attribute `ends` is required"))?;
            (starts, ends, attr_ints(cx.node, "axes"), None)
        } else {
            (
                self.req_const(cx, 1)?.as_i64(),
                self.req_const(cx, 2)?.as_i64(),
                self.opt_const(cx, 3)?.map(|c| c.as_i64()),
                self.opt_const(cx, 4)?.map(|c| c.as_i64()),
            )
        };
        let input = self.value(cx, 0)?.clone();
        let in_shape = match &input {
            Value::Act(id) => self.shape(*id),
            Value::Const(c) => c.shape.clone(),
        };
        let rank = in_shape.len();
        let axes = axes.unwrap_or_else(|| (0..starts.len() as i64).collect());
        let steps = steps.unwrap_or_else(|| vec![1; starts.len()]);
        if ends.len() != starts.len() || axes.len() != starts.len() || steps.len() != starts.len() {
            return Err(self.node_err(cx, "starts, ends, axes and steps differ in length"));
        }
        let mut out = in_shape.clone();
        let (mut ax, mut st, mut en, mut sp) = (vec![], vec![], vec![], vec![]);
        for i in 0..starts.len() {
            let a = norm_axis(axes[i], rank)
                .ok_or_else(|| self.node_err(cx, format!("axis {} out of range", axes[i])))?;
            if steps[i] < 1 {
                return Err(self.node_err(
                    cx,
                    format!("step {} is not supported (positive steps only)", steps[i]),
                ));
            }
            let dim = in_shape[a] as i64;
            let clamp = |v: i64| -> usize {
                let v = if v < 0 { v + dim } else { v };
                v.clamp(0, dim) as usize
            };
            let (s, e, step) = (clamp(starts[i]), clamp(ends[i]), steps[i] as usize);
            let n = if e > s { (e - s).div_ceil(step) } else { 0 };
            if n == 0 {
                return Err(self.node_err(cx, format!("axis {a}: the slice is empty")));
            }
            out[a] = n;
            ax.push(a);
            st.push(s);
            en.push(e);
            sp.push(step);
        }
        match input {
            Value::Const(c) => {
                if rank != 1 {
                    return Err(
                        self.node_err(cx, "constant Slice is supported for 1-D constants only")
                    );
                }
                let (s, e, step) = (st[0], en[0], sp[0]);
                let data = match c.data {
                    ConstData::F32(v) => {
                        ConstData::F32((s..e).step_by(step).map(|i| v[i]).collect())
                    }
                    ConstData::I64(v) => {
                        ConstData::I64((s..e).step_by(step).map(|i| v[i]).collect())
                    }
                };
                self.set_const(cx, Const { shape: out, data })
            }
            Value::Act(id) => self.push_layer(
                cx,
                Op::Slice {
                    axes: ax,
                    starts: st,
                    ends: en,
                    steps: sp,
                },
                vec![id],
                out,
            ),
        }
    }

    fn maxpool(&mut self, cx: &Ctx) -> Result<(), ImportError> {
        let x = self.act(cx, 0)?;
        let xs = self.shape(x);
        if xs.len() != 4 {
            return Err(self.node_err(
                cx,
                format!("only 2-D pooling of NCHW tensors is supported; input {xs:?}"),
            ));
        }
        if cx.node.output.iter().skip(1).any(|o| !o.is_empty()) {
            return Err(self.node_err(cx, "the Indices output is not supported"));
        }
        check_auto_pad(cx.node).map_err(|m| self.node_err(cx, m))?;
        if attr_int(cx.node, "ceil_mode").unwrap_or(0) != 0 {
            return Err(self.node_err(cx, "ceil_mode=1 is not supported"));
        }
        if attr_int(cx.node, "storage_order").unwrap_or(0) != 0 {
            return Err(self.node_err(cx, "storage_order=1 is not supported"));
        }
        if pair(cx.node, "dilations", 1).map_err(|m| self.node_err(cx, m))? != [1, 1] {
            return Err(self.node_err(cx, "dilated pooling is not supported"));
        }
        let ks = attr_ints(cx.node, "kernel_shape")
            .ok_or_else(|| self.node_err(cx, "attribute `kernel_shape` is required"))?;
        if ks.len() != 2 || ks.iter().any(|k| *k < 1) {
            return Err(self.node_err(cx, format!("kernel_shape {ks:?} is not a 2-D kernel")));
        }
        let kernel = [ks[0] as usize, ks[1] as usize];
        let stride = pair(cx.node, "strides", 1).map_err(|m| self.node_err(cx, m))?;
        let pads = pads4(cx.node).map_err(|m| self.node_err(cx, m))?;
        if pads[0] != pads[2] || pads[1] != pads[3] {
            return Err(self.node_err(
                cx,
                format!("asymmetric pads {pads:?} are not supported: cuDNN pads symmetrically"),
            ));
        }
        if pads[0] >= kernel[0] || pads[1] >= kernel[1] {
            return Err(self.node_err(
                cx,
                format!("pads {pads:?} must be smaller than the kernel {kernel:?}"),
            ));
        }
        let oh = conv_out(xs[2], pads[0] + pads[2], kernel[0], stride[0], 1);
        let ow = conv_out(xs[3], pads[1] + pads[3], kernel[1], stride[1], 1);
        let (oh, ow) = match (oh, ow) {
            (Some(a), Some(b)) => (a, b),
            _ => {
                return Err(self.node_err(cx, format!("kernel larger than the padded input {xs:?}")))
            }
        };
        self.push_layer(
            cx,
            Op::MaxPool {
                kernel,
                stride,
                pads,
            },
            vec![x],
            vec![xs[0], xs[1], oh, ow],
        )
    }

    fn resize(&mut self, cx: &Ctx) -> Result<(), ImportError> {
        let x = self.act(cx, 0)?;
        let xs = self.shape(x);
        if xs.len() != 4 {
            return Err(self.node_err(cx, format!("only NCHW resizing is supported; input {xs:?}")));
        }
        let mode = attr_str(cx.node, "mode").unwrap_or_else(|| "nearest".into());
        if mode != "nearest" {
            return Err(self.node_err(cx, format!("mode `{mode}` is not supported (nearest only)")));
        }
        // Opset 10 Resize and Upsample have no coordinate attributes: their nearest mode
        // is asymmetric with floor.
        let legacy = cx.node.op_type == "Upsample" || self.opset < 11;
        if !legacy {
            let ctm = attr_str(cx.node, "coordinate_transformation_mode")
                .unwrap_or_else(|| "half_pixel".into());
            if ctm != "asymmetric" {
                return Err(self.node_err(
                    cx,
                    format!(
                        "coordinate_transformation_mode `{ctm}` is not supported (asymmetric only)"
                    ),
                ));
            }
            let nm =
                attr_str(cx.node, "nearest_mode").unwrap_or_else(|| "round_prefer_floor".into());
            if nm != "floor" {
                return Err(self.node_err(
                    cx,
                    format!("nearest_mode `{nm}` is not supported (floor only)"),
                ));
            }
            if attr_int(cx.node, "antialias").unwrap_or(0) != 0 {
                return Err(self.node_err(cx, "antialias is not supported"));
            }
            if attr(cx.node, "axes").is_some() {
                return Err(self.node_err(cx, "attribute `axes` is not supported"));
            }
        }
        let (scales, sizes) = if cx.node.op_type == "Upsample" && self.opset < 9 {
            (attr(cx.node, "scales").map(|a| a.floats.clone()), None)
        } else if legacy {
            (Some(self.req_const(cx, 1)?.as_f32()), None)
        } else {
            (
                self.opt_const(cx, 2)?
                    .map(|c| c.as_f32())
                    .filter(|v| !v.is_empty()),
                self.opt_const(cx, 3)?
                    .map(|c| c.as_i64())
                    .filter(|v| !v.is_empty()),
            )
        };
        let factors: Vec<usize> = match (scales, sizes) {
            (Some(s), _) => {
                if s.len() != 4 {
                    return Err(self.node_err(cx, format!("scales {s:?} must have 4 entries")));
                }
                s.iter()
                    .map(|v| {
                        if *v >= 1.0 && v.fract() == 0.0 {
                            Ok(*v as usize)
                        } else {
                            Err(self.node_err(
                                cx,
                                format!(
                                    "scales {s:?}: only integer upsampling factors are supported"
                                ),
                            ))
                        }
                    })
                    .collect::<Result<_, _>>()?
            }
            (None, Some(z)) => {
                if z.len() != 4 {
                    return Err(self.node_err(cx, format!("sizes {z:?} must have 4 entries")));
                }
                z.iter()
                    .zip(&xs)
                    .map(|(o, i)| {
                        if *o > 0 && (*o as usize).is_multiple_of(*i) {
                            Ok(*o as usize / i)
                        } else {
                            Err(self.node_err(
                                cx,
                                format!(
                                    "sizes {z:?} are not integer multiples of the input {xs:?}"
                                ),
                            ))
                        }
                    })
                    .collect::<Result<_, _>>()?
            }
            (None, None) => return Err(self.node_err(cx, "neither scales nor sizes is given")),
        };
        if factors[0] != 1 || factors[1] != 1 {
            return Err(self.node_err(cx, "only spatial (H, W) resizing is supported"));
        }
        let scales = [factors[2], factors[3]];
        self.push_layer(
            cx,
            Op::ResizeNearest { scales },
            vec![x],
            vec![xs[0], xs[1], xs[2] * scales[0], xs[3] * scales[1]],
        )
    }

    fn reshape(&mut self, cx: &Ctx) -> Result<(), ImportError> {
        let input = self.value(cx, 0)?.clone();
        let in_shape = match &input {
            Value::Act(id) => self.shape(*id),
            Value::Const(c) => c.shape.clone(),
        };
        let rank = in_shape.len() as i64;
        let out: Vec<usize> = match cx.node.op_type.as_str() {
            "Reshape" => {
                if attr_int(cx.node, "allowzero").unwrap_or(0) != 0 {
                    return Err(self.node_err(cx, "allowzero=1 is not supported"));
                }
                let spec = self.req_const(cx, 1)?.as_i64();
                reshape_shape(&in_shape, &spec).map_err(|m| self.node_err(cx, m))?
            }
            "Flatten" => {
                let axis = attr_int(cx.node, "axis").unwrap_or(1);
                let a = if axis < 0 { axis + rank } else { axis };
                if !(0..=rank).contains(&a) {
                    return Err(self.node_err(cx, format!("axis {axis} out of range")));
                }
                let a = a as usize;
                vec![
                    in_shape[..a].iter().product(),
                    in_shape[a..].iter().product(),
                ]
            }
            "Squeeze" => {
                let axes = if self.opset >= 13 {
                    self.opt_const(cx, 1)?.map(|c| c.as_i64())
                } else {
                    attr_ints(cx.node, "axes")
                };
                let axes: Vec<usize> = match axes {
                    Some(a) => a
                        .iter()
                        .map(|v| {
                            norm_axis(*v, in_shape.len())
                                .ok_or_else(|| self.node_err(cx, format!("axis {v} out of range")))
                        })
                        .collect::<Result<_, _>>()?,
                    None => (0..in_shape.len()).filter(|d| in_shape[*d] == 1).collect(),
                };
                if axes.iter().any(|a| in_shape[*a] != 1) {
                    return Err(self.node_err(
                        cx,
                        format!("cannot squeeze non-1 axes {axes:?} of {in_shape:?}"),
                    ));
                }
                in_shape
                    .iter()
                    .enumerate()
                    .filter(|(d, _)| !axes.contains(d))
                    .map(|(_, v)| *v)
                    .collect()
            }
            _ => {
                let axes = if self.opset >= 13 {
                    Some(self.req_const(cx, 1)?.as_i64())
                } else {
                    attr_ints(cx.node, "axes")
                }
                .ok_or_else(|| self.node_err(cx, "attribute `axes` is required"))?;
                let out_rank = in_shape.len() + axes.len();
                let mut axes: Vec<usize> = axes
                    .iter()
                    .map(|v| {
                        norm_axis(*v, out_rank)
                            .ok_or_else(|| self.node_err(cx, format!("axis {v} out of range")))
                    })
                    .collect::<Result<_, _>>()?;
                axes.sort_unstable();
                let mut out = in_shape.clone();
                for a in axes {
                    out.insert(a, 1);
                }
                out
            }
        };
        match input {
            Value::Const(mut c) => {
                c.shape = out;
                self.set_const(cx, c)
            }
            Value::Act(id) => self.push_layer(cx, Op::Reshape, vec![id], out),
        }
    }

    fn transpose(&mut self, cx: &Ctx) -> Result<(), ImportError> {
        let x = self.act(cx, 0)?;
        let xs = self.shape(x);
        let perm: Vec<usize> = match attr_ints(cx.node, "perm") {
            Some(p) => p.iter().map(|v| *v as usize).collect(),
            None => (0..xs.len()).rev().collect(),
        };
        let mut sorted = perm.clone();
        sorted.sort_unstable();
        if sorted != (0..xs.len()).collect::<Vec<_>>() {
            return Err(self.node_err(
                cx,
                format!("perm {perm:?} is not a permutation of rank {}", xs.len()),
            ));
        }
        let out = perm.iter().map(|p| xs[*p]).collect();
        self.push_layer(cx, Op::Transpose { perm }, vec![x], out)
    }

    fn gather(&mut self, cx: &Ctx) -> Result<(), ImportError> {
        let data = self.req_const(cx, 0).map_err(|_| {
            self.node_err(
                cx,
                "Gather is supported on constants only (shape computations)",
            )
        })?;
        let idx = self.req_const(cx, 1)?;
        let axis = attr_int(cx.node, "axis").unwrap_or(0);
        if data.shape.len() != 1 || norm_axis(axis, 1) != Some(0) {
            return Err(self.node_err(
                cx,
                "constant Gather is supported on 1-D data along axis 0 only",
            ));
        }
        let n = data.len() as i64;
        let picks: Vec<usize> = idx
            .as_i64()
            .iter()
            .map(|i| {
                let j = if *i < 0 { i + n } else { *i };
                if (0..n).contains(&j) {
                    Ok(j as usize)
                } else {
                    Err(self.node_err(cx, format!("index {i} out of range for {n} elements")))
                }
            })
            .collect::<Result<_, _>>()?;
        let out = match data.data {
            ConstData::F32(v) => ConstData::F32(picks.iter().map(|i| v[*i]).collect()),
            ConstData::I64(v) => ConstData::I64(picks.iter().map(|i| v[*i]).collect()),
        };
        self.set_const(
            cx,
            Const {
                shape: idx.shape.clone(),
                data: out,
            },
        )
    }
}
