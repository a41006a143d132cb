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

use super::dims::{broadcast, conv_out};
use super::ir::{Activation, Layer, Op, TensorId, TensorInfo, WeightId, WeightInfo};
use super::onnx_values::*;
use adasval_core::exit::{Classify, Status};

mod conv;
mod ops;

use conv::silu_pair;

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
}
