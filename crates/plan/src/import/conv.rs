//! Convolutions on import: BatchNormalization folded into the weights and bias, and a
//! following Relu, Sigmoid or SiLU pair absorbed as the convolution's epilogue (the
//! absorbed node names go to `Layer::fused`).

use super::*;

/// `x * sigmoid(x)` on a convolution's output `x`: the Sigmoid and the Mul (node indices)
/// when they are `x`'s only two readers, the Sigmoid's output is read by the Mul alone, and
/// neither intermediate is a graph output.
pub(super) fn silu_pair(
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
    pub(super) fn conv(
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
        let oh = conv_out(xs[2], [pads[0], pads[2]], kh, stride[0], dilation[0]);
        let ow = conv_out(xs[3], [pads[1], pads[3]], kw, stride[1], dilation[1]);
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
                residual: None,
            },
            inputs: vec![x],
            outputs: vec![id],
            choice: None,
            fused,
        });
        Ok(())
    }
}
