//! The other supported operators on import: elementwise binaries (with constant folding),
//! Concat, Slice, MaxPool, Resize, Reshape, Transpose and Gather, each with its static
//! output shape.

use super::*;

impl Builder {
    pub(super) fn binary(&mut self, cx: &Ctx) -> Result<(), ImportError> {
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

    pub(super) fn concat(&mut self, cx: &Ctx) -> Result<(), ImportError> {
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

    pub(super) fn slice(&mut self, cx: &Ctx) -> Result<(), ImportError> {
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

    pub(super) fn maxpool(&mut self, cx: &Ctx) -> Result<(), ImportError> {
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
        let oh = conv_out(xs[2], [pads[0], pads[2]], kernel[0], stride[0], 1);
        let ow = conv_out(xs[3], [pads[1], pads[3]], kernel[1], stride[1], 1);
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

    pub(super) fn resize(&mut self, cx: &Ctx) -> Result<(), ImportError> {
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

    pub(super) fn reshape(&mut self, cx: &Ctx) -> Result<(), ImportError> {
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

    pub(super) fn transpose(&mut self, cx: &Ctx) -> Result<(), ImportError> {
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

    pub(super) fn gather(&mut self, cx: &Ctx) -> Result<(), ImportError> {
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
