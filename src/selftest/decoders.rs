//! Self-test cases of the output decoders: one stored output tensor per decoder family,
//! decoded through the adapter the case carries (identity transform: model pixels are image
//! pixels), compared with the project's own post-processing as the reference tests do.

use super::estimators::{field, nums, Context, Obtained};
use crate::adapter::Adapter;
use crate::preprocess::Transform;
use crate::tensor::Tensor;
use serde_json::{json, Value};

fn tensors(input: &Value) -> Result<Vec<Tensor>, String> {
    field(input, "tensors")?
        .as_object()
        .ok_or("input `tensors` is not a map of name to tensor")?
        .iter()
        .map(|(name, t)| {
            let shape: Vec<usize> = nums(t, "shape")?.into_iter().map(|d| d as usize).collect();
            let data: Vec<f32> = nums(t, "data")?.into_iter().map(|x| x as f32).collect();
            if shape.iter().product::<usize>() != data.len() {
                return Err(format!(
                    "tensor `{name}`: {} values for the shape {shape:?}",
                    data.len()
                ));
            }
            Ok(Tensor::new(name.clone(), shape, data))
        })
        .collect()
}

/// The detections' count, per-class counts, coordinate and score totals, and the ten best
/// one by one (corners, score, class), in the decoder's order (score descending).
pub fn decode(input: &Value, _: &Context) -> Result<Obtained, String> {
    let text = field(input, "adapter")?
        .as_str()
        .ok_or("input `adapter` is not a string")?;
    let adapter = Adapter::parse(std::path::Path::new("selftest-adapter.yaml"), text)
        .map_err(|e| e.to_string())?;
    let outputs = tensors(input)?;
    let identity = Transform {
        scale_x: 1.0,
        scale_y: 1.0,
        offset_x: 0.0,
        offset_y: 0.0,
        orig_width: adapter.input.width,
        orig_height: adapter.input.height,
    };
    let dets = crate::decode::decode(&adapter, &outputs, &identity).map_err(|e| e.to_string())?;
    let corners = |b: &[f32; 4]| {
        [
            b[0] as f64,
            b[1] as f64,
            (b[0] + b[2]) as f64,
            (b[1] + b[3]) as f64,
        ]
    };
    let mut out = Obtained::new();
    out.insert("count".into(), json!(dets.len()));
    for c in 0..adapter.classes.len() {
        let n = dets.iter().filter(|d| d.class_id as usize == c).count();
        out.insert(format!("class{c}_count"), json!(n));
    }
    let sum_coordinates: f64 = dets
        .iter()
        .map(|d| corners(&d.bbox).iter().sum::<f64>())
        .sum();
    let sum_scores: f64 = dets.iter().map(|d| d.score as f64).sum();
    out.insert("sum_coordinates".into(), json!(sum_coordinates));
    out.insert("sum_scores".into(), json!(sum_scores));
    for (i, d) in dets.iter().take(10).enumerate() {
        for (k, v) in ["x1", "y1", "x2", "y2"].iter().zip(corners(&d.bbox)) {
            out.insert(format!("det{i}_{k}"), json!(v));
        }
        out.insert(format!("det{i}_score"), json!(d.score as f64));
        out.insert(format!("det{i}_class"), json!(d.class_id));
    }
    Ok(out)
}
