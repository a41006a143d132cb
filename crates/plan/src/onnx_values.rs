//! ONNX values as the plan importer sees them: constants (initializers, Constant nodes and
//! folded constant subgraphs), node attributes and Reshape's 0 / -1 (the shape rules the
//! plan checker shares are in `dims`).

use super::dims::broadcast;
use tract_onnx::pb;

#[derive(Debug, Clone, PartialEq)]
pub(super) enum ConstData {
    F32(Vec<f32>),
    I64(Vec<i64>),
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Const {
    pub(super) shape: Vec<usize>,
    pub(super) data: ConstData,
}

impl Const {
    pub(super) fn len(&self) -> usize {
        match &self.data {
            ConstData::F32(v) => v.len(),
            ConstData::I64(v) => v.len(),
        }
    }
    pub(super) fn as_i64(&self) -> Vec<i64> {
        match &self.data {
            ConstData::F32(v) => v.iter().map(|x| *x as i64).collect(),
            ConstData::I64(v) => v.clone(),
        }
    }
    pub(super) fn as_f32(&self) -> Vec<f32> {
        match &self.data {
            ConstData::F32(v) => v.clone(),
            ConstData::I64(v) => v.iter().map(|x| *x as f32).collect(),
        }
    }
}

pub(super) fn node_name(node: &pb::NodeProto, index: usize) -> String {
    if node.name.is_empty() {
        format!("{}_{index}", node.op_type)
    } else {
        node.name.clone()
    }
}

pub(super) fn attr<'a>(node: &'a pb::NodeProto, name: &str) -> Option<&'a pb::AttributeProto> {
    node.attribute.iter().find(|a| a.name == name)
}

pub(super) fn attr_int(node: &pb::NodeProto, name: &str) -> Option<i64> {
    attr(node, name).map(|a| a.i)
}

pub(super) fn attr_ints(node: &pb::NodeProto, name: &str) -> Option<Vec<i64>> {
    attr(node, name).map(|a| a.ints.clone())
}

pub(super) fn attr_str(node: &pb::NodeProto, name: &str) -> Option<String> {
    attr(node, name).map(|a| String::from_utf8_lossy(&a.s).into_owned())
}

pub(super) fn check_auto_pad(node: &pb::NodeProto) -> Result<(), String> {
    match attr_str(node, "auto_pad").as_deref() {
        None | Some("NOTSET") | Some("VALID") | Some("") => Ok(()),
        Some(other) => Err(format!(
            "auto_pad `{other}` is not supported (give explicit pads)"
        )),
    }
}

pub(super) fn pair(node: &pb::NodeProto, name: &str, default: usize) -> Result<[usize; 2], String> {
    match attr_ints(node, name) {
        None => Ok([default; 2]),
        Some(v) if v.len() == 2 && v.iter().all(|x| *x >= 1) => Ok([v[0] as usize, v[1] as usize]),
        Some(v) => Err(format!(
            "attribute `{name}` {v:?} is not a pair of positive integers"
        )),
    }
}

pub(super) fn pads4(node: &pb::NodeProto) -> Result<[usize; 4], String> {
    match attr_ints(node, "pads") {
        None => Ok([0; 4]),
        Some(v) if v.len() == 4 && v.iter().all(|x| *x >= 0) => {
            Ok([v[0] as usize, v[1] as usize, v[2] as usize, v[3] as usize])
        }
        Some(v) => Err(format!(
            "attribute `pads` {v:?} is not four non-negative integers"
        )),
    }
}

pub(super) fn norm_axis(axis: i64, rank: usize) -> Option<usize> {
    let r = rank as i64;
    let a = if axis < 0 { axis + r } else { axis };
    (0..r).contains(&a).then_some(a as usize)
}

pub(super) fn reshape_shape(input: &[usize], spec: &[i64]) -> Result<Vec<usize>, String> {
    let total: usize = input.iter().product();
    let mut out = Vec::with_capacity(spec.len());
    let mut infer = None;
    for (i, d) in spec.iter().enumerate() {
        match *d {
            0 => {
                out.push(*input.get(i).ok_or_else(|| {
                    format!("shape {spec:?}: 0 at axis {i} has no input dimension")
                })?)
            }
            -1 if infer.is_none() => {
                infer = Some(i);
                out.push(1);
            }
            d if d > 0 => out.push(d as usize),
            _ => return Err(format!("shape {spec:?} is not valid")),
        }
    }
    let known: usize = out.iter().product();
    if let Some(i) = infer {
        if known == 0 || !total.is_multiple_of(known) {
            return Err(format!("cannot reshape {input:?} to {spec:?}"));
        }
        out[i] = total / known;
    }
    if out.iter().product::<usize>() != total {
        return Err(format!(
            "cannot reshape {input:?} ({total} elements) to {spec:?}"
        ));
    }
    Ok(out)
}

pub(super) fn const_binary(op: &str, a: &Const, b: &Const) -> Result<Const, String> {
    let shape = broadcast(&a.shape, &b.shape).ok_or("constant shapes do not broadcast")?;
    let n: usize = shape.iter().product();
    let index = |s: &[usize], flat: usize| -> usize {
        // Map an output index to an input index under broadcasting.
        let mut rem = flat;
        let mut idx = 0;
        let mut stride = 1;
        for (d, out_dim) in shape.iter().enumerate().rev() {
            let coord = rem % out_dim;
            rem /= out_dim;
            let k = d as i64 - (shape.len() as i64 - s.len() as i64);
            if k >= 0 {
                let dim = s[k as usize];
                idx += if dim == 1 { 0 } else { coord * stride };
                stride *= dim;
            }
        }
        idx
    };
    let floats = matches!(a.data, ConstData::F32(_)) || matches!(b.data, ConstData::F32(_));
    let data = if floats {
        let (x, y) = (a.as_f32(), b.as_f32());
        ConstData::F32(
            (0..n)
                .map(|i| {
                    let (p, q) = (x[index(&a.shape, i)], y[index(&b.shape, i)]);
                    match op {
                        "Add" => p + q,
                        "Sub" => p - q,
                        "Mul" => p * q,
                        _ => p / q,
                    }
                })
                .collect(),
        )
    } else {
        let (x, y) = (a.as_i64(), b.as_i64());
        let mut v = Vec::with_capacity(n);
        for i in 0..n {
            let (p, q) = (x[index(&a.shape, i)], y[index(&b.shape, i)]);
            v.push(match op {
                "Add" => p.wrapping_add(q),
                "Sub" => p.wrapping_sub(q),
                "Mul" => p.wrapping_mul(q),
                _ => {
                    if q == 0 {
                        return Err("integer division by zero".into());
                    }
                    p.div_euclid(q)
                }
            });
        }
        ConstData::I64(v)
    };
    Ok(Const { shape, data })
}

pub(super) fn static_shape(v: &pb::ValueInfoProto) -> Result<Vec<usize>, String> {
    use pb::tensor_shape_proto::dimension::Value as Dim;
    use pb::type_proto::Value as Ty;
    let tt = match v.r#type.as_ref().and_then(|t| t.value.as_ref()) {
        Some(Ty::TensorType(t)) => t,
        _ => return Err("not a tensor".into()),
    };
    if tt.elem_type != pb::tensor_proto::DataType::Float as i32 {
        return Err(format!("element type {} is not float32", tt.elem_type));
    }
    let shape = tt.shape.as_ref().ok_or("no shape")?;
    shape
        .dim
        .iter()
        .map(|d| match &d.value {
            Some(Dim::DimValue(n)) if *n > 0 => Ok(*n as usize),
            Some(Dim::DimParam(p)) => {
                Err(format!("dynamic dimension `{p}`: plans need static shapes"))
            }
            _ => Err("dynamic or zero dimension: plans need static shapes".into()),
        })
        .collect()
}

pub(super) fn tensor_to_const(t: &pb::TensorProto) -> Result<Const, String> {
    use pb::tensor_proto::DataType as D;
    if t.data_location == Some(pb::tensor_proto::DataLocation::External as i32) {
        return Err("external data is not supported".into());
    }
    let shape: Vec<usize> = t.dims.iter().map(|d| (*d).max(0) as usize).collect();
    let n: usize = shape.iter().product();
    let raw = &t.raw_data;
    let data = match D::try_from(t.data_type) {
        Ok(D::Float) => ConstData::F32(if raw.is_empty() {
            t.float_data.clone()
        } else {
            raw.chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect()
        }),
        Ok(D::Double) => ConstData::F32(if raw.is_empty() {
            t.double_data.iter().map(|v| *v as f32).collect()
        } else {
            raw.chunks_exact(8)
                .map(|c| f64::from_le_bytes(c.try_into().unwrap_or([0; 8])) as f32)
                .collect()
        }),
        Ok(D::Int64) => ConstData::I64(if raw.is_empty() {
            t.int64_data.clone()
        } else {
            raw.chunks_exact(8)
                .map(|c| i64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
                .collect()
        }),
        Ok(D::Int32) => ConstData::I64(if raw.is_empty() {
            t.int32_data.iter().map(|v| *v as i64).collect()
        } else {
            raw.chunks_exact(4)
                .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as i64)
                .collect()
        }),
        _ => {
            return Err(format!(
                "data type {} is not supported (float, double, int32, int64)",
                t.data_type
            ))
        }
    };
    let c = Const { shape, data };
    if c.len() != n {
        return Err(format!(
            "holds {} values but its shape {:?} needs {n}",
            c.len(),
            c.shape
        ));
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reshape_handles_zero_and_minus_one() {
        assert_eq!(
            reshape_shape(&[1, 85, 52, 52], &[1, 85, -1]).ok(),
            Some(vec![1, 85, 2704])
        );
        assert_eq!(reshape_shape(&[2, 3, 4], &[0, -1]).ok(), Some(vec![2, 12]));
        assert!(reshape_shape(&[2, 3, 4], &[5, -1]).is_err());
        assert!(reshape_shape(&[2, 3, 4], &[-1, -1]).is_err());
    }
}
