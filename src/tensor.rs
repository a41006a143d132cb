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

    /// SHA-256 of the shape and little-endian bytes: equal hashes mean bit-identical outputs.
    pub fn content_hash(&self) -> String {
        let mut h = crate::hash::Hasher::new();
        for d in &self.shape {
            h.update(&(*d as u64).to_le_bytes());
        }
        for v in &self.data {
            h.update(&v.to_le_bytes());
        }
        h.finish_hex()
    }
}

/// Hash of a set of output tensors, in name order.
pub fn outputs_hash(outputs: &[Tensor]) -> String {
    let mut sorted: Vec<&Tensor> = outputs.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    let mut h = crate::hash::Hasher::new();
    for t in sorted {
        h.update(t.name.as_bytes());
        h.update(t.content_hash().as_bytes());
    }
    h.finish_hex()
}
