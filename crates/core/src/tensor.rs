//! A minimal dense f32 tensor exchanged between preprocessing, backends and decoders.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tensor {
    pub name: String,
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

impl Tensor {
    pub fn new(name: impl Into<String>, shape: Vec<usize>, data: Vec<f32>) -> Self {
        Self {
            name: name.into(),
            shape,
            data,
        }
    }
}

/// SHA-256 of a set of output tensors (name, shape, little-endian data), in name order:
/// equal hashes mean bit-identical outputs.
pub fn outputs_hash(outputs: &[Tensor]) -> String {
    let mut sorted: Vec<&Tensor> = outputs.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    let mut h = crate::hash::Hasher::new();
    for t in sorted {
        h.update(&(t.name.len() as u64).to_le_bytes());
        h.update(t.name.as_bytes());
        h.update(&(t.shape.len() as u64).to_le_bytes());
        for d in &t.shape {
            h.update(&(*d as u64).to_le_bytes());
        }
        // f32 slices are plain old data: hash their bytes without a per-value copy.
        let bytes: Vec<u8> = t.data.iter().flat_map(|v| v.to_le_bytes()).collect();
        h.update(&bytes);
    }
    h.finish_hex()
}
