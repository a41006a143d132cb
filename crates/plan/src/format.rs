//! The `.cudaplan` file: what `engine build --backend cuda` writes, the lock freezes and
//! the CUDA backend loads from the verified bytes. Layout:
//!
//! ```text
//! ADASVAL-CUDAPLAN <version>\n      magic line (ASCII)
//! u64 little-endian                  length of the JSON header in bytes
//! JSON                               the `Plan` (graph, choices, memory plan, provenance)
//! f32 little-endian × N              the weight blob (`WeightInfo::offset` in elements)
//! ```
//!
//! Serialization is deterministic: the same plan gives the same bytes (serde_json keeps
//! field order; the blob is written in weight order).

use super::ir::{Op, Plan, FORMAT_VERSION};
use adasval_core::exit::{Classify, Status};

pub const MAGIC_PREFIX: &str = "ADASVAL-CUDAPLAN ";

/// A plan with its weights: the in-memory form of a `.cudaplan` file.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanFile {
    pub plan: Plan,
    pub weights: Vec<f32>,
}

#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    #[error("not a CUDA plan: the file does not start with `{MAGIC_PREFIX}<version>`")]
    BadMagic,
    #[error("CUDA plan format version {found} is not supported (this adasval reads version {FORMAT_VERSION}); rebuild the plan")]
    Version { found: String },
    #[error("CUDA plan is truncated: {what} needs {needed} bytes at offset {offset}, the file has {len}")]
    Truncated {
        what: &'static str,
        offset: usize,
        needed: usize,
        len: usize,
    },
    #[error("CUDA plan header is not a valid plan: {0}")]
    Header(String),
    #[error("CUDA plan is inconsistent: {0}")]
    Invalid(String),
}

impl Classify for FormatError {
    fn status(&self) -> Status {
        Status::BadInput
    }
}

impl PlanFile {
    pub fn to_bytes(&self) -> Result<Vec<u8>, FormatError> {
        let header =
            serde_json::to_vec(&self.plan).map_err(|e| FormatError::Header(e.to_string()))?;
        let magic = format!("{MAGIC_PREFIX}{FORMAT_VERSION}\n");
        let mut out = Vec::with_capacity(magic.len() + 8 + header.len() + self.weights.len() * 4);
        out.extend_from_slice(magic.as_bytes());
        out.extend_from_slice(&(header.len() as u64).to_le_bytes());
        out.extend_from_slice(&header);
        for w in &self.weights {
            out.extend_from_slice(&w.to_le_bytes());
        }
        Ok(out)
    }

    /// Parse and check a plan. Every id and offset is checked, so an executor may index
    /// with them directly.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, FormatError> {
        let nl = bytes
            .iter()
            .take(64)
            .position(|b| *b == b'\n')
            .ok_or(FormatError::BadMagic)?;
        let line = std::str::from_utf8(&bytes[..nl]).map_err(|_| FormatError::BadMagic)?;
        let version = line
            .strip_prefix(MAGIC_PREFIX)
            .ok_or(FormatError::BadMagic)?;
        if version != FORMAT_VERSION.to_string() {
            return Err(FormatError::Version {
                found: version.to_string(),
            });
        }
        let mut at = nl + 1;
        let len_bytes: [u8; 8] = bytes
            .get(at..at + 8)
            .and_then(|s| s.try_into().ok())
            .ok_or(FormatError::Truncated {
                what: "the header length",
                offset: at,
                needed: 8,
                len: bytes.len(),
            })?;
        at += 8;
        let header_len = u64::from_le_bytes(len_bytes);
        let header_end = usize::try_from(header_len)
            .ok()
            .and_then(|n| at.checked_add(n))
            .filter(|end| *end <= bytes.len())
            .ok_or(FormatError::Truncated {
                what: "the JSON header",
                offset: at,
                needed: header_len.min(usize::MAX as u64) as usize,
                len: bytes.len(),
            })?;
        let plan: Plan = serde_json::from_slice(&bytes[at..header_end])
            .map_err(|e| FormatError::Header(e.to_string()))?;
        if plan.format_version != FORMAT_VERSION {
            return Err(FormatError::Version {
                found: plan.format_version.to_string(),
            });
        }
        let blob = &bytes[header_end..];
        if !blob.len().is_multiple_of(4) {
            return Err(FormatError::Truncated {
                what: "the weight blob (whole f32 values)",
                offset: header_end,
                needed: blob.len().div_ceil(4) * 4,
                len: blob.len(),
            });
        }
        let weights: Vec<f32> = blob
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let file = PlanFile { plan, weights };
        file.check()?;
        Ok(file)
    }

    /// Structural checks: every tensor and weight id in range, every weight inside the blob,
    /// conv weights of the shape the layer implies, every layer's output shape consistent
    /// with its inputs (`shapes`), every tensor at an aligned offset inside the arena.
    pub fn check(&self) -> Result<(), FormatError> {
        let p = &self.plan;
        let bad = |m: String| Err(FormatError::Invalid(m));
        let nt = p.tensors.len();
        for (i, w) in p.weights.iter().enumerate() {
            let end = w.offset.checked_add(w.elements());
            if end.is_none_or(|e| e > self.weights.len()) {
                return bad(format!(
                    "weight {i} `{}` ({} elements at offset {}) lies outside the blob of {} values",
                    w.name,
                    w.elements(),
                    w.offset,
                    self.weights.len()
                ));
            }
        }
        for (what, ids) in [("inputs", &p.inputs), ("outputs", &p.outputs)] {
            if let Some(id) = ids.iter().find(|id| **id >= nt) {
                return bad(format!(
                    "plan {what}: tensor id {id} out of range ({nt} tensors)"
                ));
            }
        }
        for (i, l) in p.layers.iter().enumerate() {
            if let Some(id) = l.inputs.iter().chain(&l.outputs).find(|id| **id >= nt) {
                return bad(format!(
                    "layer {i} `{}`: tensor id {id} out of range ({nt} tensors)",
                    l.name
                ));
            }
            if l.outputs.is_empty() {
                return bad(format!("layer {i} `{}` has no output", l.name));
            }
            if let Op::Conv {
                weight,
                bias,
                kernel,
                group,
                ..
            } = &l.op
            {
                let nw = p.weights.len();
                if let Some(id) = std::iter::once(weight)
                    .chain(bias.iter())
                    .find(|id| **id >= nw)
                {
                    return bad(format!(
                        "layer {i} `{}`: weight id {id} out of range ({nw} weights)",
                        l.name
                    ));
                }
                let (Some(x), Some(y)) = (
                    l.inputs.first().map(|t| &p.tensors[*t]),
                    l.outputs.first().map(|t| &p.tensors[*t]),
                ) else {
                    return bad(format!("layer {i} `{}`: Conv without input", l.name));
                };
                let ws = &p.weights[*weight].shape;
                let expect = (x.shape.len() == 4 && y.shape.len() == 4 && *group > 0)
                    .then(|| vec![y.shape[1], x.shape[1] / group, kernel[0], kernel[1]]);
                if expect.as_ref() != Some(ws) {
                    return bad(format!(
                        "layer {i} `{}`: weight shape {ws:?} does not fit input {:?} and output {:?}",
                        l.name, x.shape, y.shape
                    ));
                }
                if let Some(b) = bias {
                    if p.weights[*b].shape != vec![y.shape[1]] {
                        return bad(format!("layer {i} `{}`: bias shape does not fit", l.name));
                    }
                }
            }
        }
        if p.memory.offsets.len() != nt {
            return bad(format!(
                "memory plan has {} offsets for {nt} tensors",
                p.memory.offsets.len()
            ));
        }
        super::shapes::check_layers(p).map_err(FormatError::Invalid)?;
        for (t, off) in p.memory.offsets.iter().enumerate() {
            let bytes = super::memory::tensor_bytes(p, t);
            if !off.is_multiple_of(super::memory::ALIGN)
                || off
                    .checked_add(bytes)
                    .is_none_or(|end| end > p.memory.arena_bytes)
            {
                return bad(format!(
                    "tensor {t} `{}` ({bytes} bytes at arena offset {off}) is misaligned or outside the arena of {} bytes",
                    p.tensors[t].name, p.memory.arena_bytes
                ));
            }
        }
        Ok(())
    }
}
