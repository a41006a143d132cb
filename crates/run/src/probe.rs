//! Read a model's edges from its ONNX protobuf, without building or optimising the graph:
//! what `adasval engine probe` prints and what every adapter is checked against.

use adasval_record::model_signature::{Dim, ModelSignature, TensorSignature};
use tract_onnx::pb;
use tract_onnx::prelude::Framework;

fn dtype(code: i32) -> String {
    use pb::tensor_proto::DataType as D;
    match D::try_from(code) {
        Ok(D::Float) => "float32".into(),
        Ok(D::Float16) => "float16".into(),
        Ok(D::Double) => "float64".into(),
        Ok(D::Bfloat16) => "bfloat16".into(),
        Ok(D::Int8) => "int8".into(),
        Ok(D::Int16) => "int16".into(),
        Ok(D::Int32) => "int32".into(),
        Ok(D::Int64) => "int64".into(),
        Ok(D::Uint8) => "uint8".into(),
        Ok(D::Bool) => "bool".into(),
        Ok(other) => format!("{other:?}").to_lowercase(),
        Err(_) => format!("unknown element type {code}"),
    }
}

fn signature(v: &pb::ValueInfoProto) -> TensorSignature {
    use pb::tensor_shape_proto::dimension::Value as D;
    use pb::type_proto::Value as Ty;
    let (dt, shape) = match v.r#type.as_ref().and_then(|t| t.value.as_ref()) {
        Some(Ty::TensorType(t)) => (
            dtype(t.elem_type),
            t.shape.as_ref().map(|s| {
                s.dim
                    .iter()
                    .enumerate()
                    .map(|(i, d)| match &d.value {
                        Some(D::DimValue(n)) if *n > 0 => Dim::Fixed(*n as u64),
                        Some(D::DimParam(p)) if !p.is_empty() => Dim::Symbolic(p.clone()),
                        _ => Dim::Symbolic(format!("?{i}")),
                    })
                    .collect()
            }),
        ),
        _ => ("not a tensor".into(), None),
    };
    TensorSignature {
        name: v.name.clone(),
        dtype: dt,
        shape,
    }
}

/// The model's inputs (initializers excluded), outputs, opset and producer.
pub fn model_signature(bytes: &[u8]) -> Result<ModelSignature, String> {
    let proto = tract_onnx::onnx()
        .proto_model_for_read(&mut std::io::Cursor::new(bytes))
        .map_err(|e| format!("not a readable ONNX model: {e:#}"))?;
    let graph = proto.graph.as_ref().ok_or("the model has no graph")?;
    let weights: std::collections::HashSet<&str> =
        graph.initializer.iter().map(|t| t.name.as_str()).collect();
    Ok(ModelSignature {
        producer: proto.producer_name.clone(),
        producer_version: proto.producer_version.clone(),
        opset: proto
            .opset_import
            .iter()
            .find(|o| o.domain.is_empty() || o.domain == "ai.onnx")
            .map(|o| o.version),
        inputs: graph
            .input
            .iter()
            .filter(|v| !weights.contains(v.name.as_str()))
            .map(signature)
            .collect(),
        outputs: graph.output.iter().map(signature).collect(),
    })
}
