//! Wire format of the external-runner protocol (docs/RUNNER_PROTOCOL.md), shared by the
//! `runner` backend ([`crate::backend::runner`]) and tests. It sits between a backend and
//! a child process that owns the accelerator (onnxruntime, TensorRT on a Jetson, ...).
//!
//! A message is a 4-byte little-endian header length, the JSON header, then the raw bytes
//! of every tensor the header's `tensors` array declares, in order, each exactly `nbytes`
//! long. Nothing else travels on the channel, so a runner must log to stderr only.

use serde::{Deserialize, Serialize};
use std::io::{Read, Write};

/// Version spoken by this build; a runner announcing another one is refused.
pub const PROTOCOL_VERSION: u32 = 1;
/// Largest header accepted (a header is a few hundred bytes; this bounds a corrupt length).
pub const MAX_HEADER_BYTES: usize = 1 << 20;
/// Largest single tensor accepted (engines of a few GiB exist; a bound stops a corrupt size).
pub const MAX_TENSOR_BYTES: u64 = 8 << 30;

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum DType {
    F32,
    F64,
    F16,
    I32,
    I64,
    U8,
    I8,
    Bool,
}

impl DType {
    pub fn size(self) -> u64 {
        match self {
            DType::F64 | DType::I64 => 8,
            DType::F32 | DType::I32 => 4,
            DType::F16 => 2,
            DType::U8 | DType::I8 | DType::Bool => 1,
        }
    }
}

/// A tensor declared by a header; its bytes follow the header.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TensorDesc {
    pub name: String,
    pub dtype: DType,
    pub shape: Vec<usize>,
    pub nbytes: u64,
}

impl TensorDesc {
    pub fn f32(name: &str, shape: &[usize]) -> Self {
        let n: usize = shape.iter().product();
        Self {
            name: name.to_string(),
            dtype: DType::F32,
            shape: shape.to_vec(),
            nbytes: n as u64 * 4,
        }
    }
    pub fn bytes(name: &str, len: usize) -> Self {
        Self {
            name: name.to_string(),
            dtype: DType::U8,
            shape: vec![len],
            nbytes: len as u64,
        }
    }
}

/// One received message: its header and the bytes of each declared tensor.
#[derive(Debug, Clone)]
pub struct Message {
    pub header: serde_json::Value,
    pub tensors: Vec<(TensorDesc, Vec<u8>)>,
}

impl Message {
    pub fn kind(&self) -> &str {
        self.header
            .get("type")
            .and_then(|t| t.as_str())
            .unwrap_or("")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ProtocolError {
    #[error("channel closed or unreadable: {0}")]
    Io(#[from] std::io::Error),
    #[error("header of {0} bytes exceeds the {MAX_HEADER_BYTES}-byte limit")]
    HeaderTooLarge(usize),
    #[error("header is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("header field `tensors`[{index}] is invalid: {message}")]
    Tensor { index: usize, message: String },
}

impl adasval_core::exit::Classify for ProtocolError {
    fn status(&self) -> adasval_core::exit::Status {
        adasval_core::exit::Status::Unavailable
    }
}

/// Write one message; `tensors` pairs each description with its bytes.
pub fn write_message<W: Write>(
    w: &mut W,
    header: &serde_json::Value,
    tensors: &[(TensorDesc, &[u8])],
) -> Result<(), ProtocolError> {
    let mut header = header.clone();
    if !tensors.is_empty() {
        if let Some(obj) = header.as_object_mut() {
            obj.insert(
                "tensors".into(),
                serde_json::to_value(tensors.iter().map(|t| &t.0).collect::<Vec<_>>())?,
            );
        }
    }
    let text = serde_json::to_vec(&header)?;
    if text.len() > MAX_HEADER_BYTES {
        return Err(ProtocolError::HeaderTooLarge(text.len()));
    }
    w.write_all(&(text.len() as u32).to_le_bytes())?;
    w.write_all(&text)?;
    for (i, (d, b)) in tensors.iter().enumerate() {
        if d.nbytes != b.len() as u64 {
            return Err(ProtocolError::Tensor {
                index: i,
                message: format!("declares {} bytes but {} were given", d.nbytes, b.len()),
            });
        }
        w.write_all(b)?;
    }
    w.flush()?;
    Ok(())
}

/// Read one message, checking every declared tensor size against its dtype and shape.
pub fn read_message<R: Read>(r: &mut R) -> Result<Message, ProtocolError> {
    let mut len = [0u8; 4];
    r.read_exact(&mut len)?;
    let len = u32::from_le_bytes(len) as usize;
    if len > MAX_HEADER_BYTES {
        return Err(ProtocolError::HeaderTooLarge(len));
    }
    let mut text = vec![0u8; len];
    r.read_exact(&mut text)?;
    let header: serde_json::Value = serde_json::from_slice(&text)?;
    let descs: Vec<TensorDesc> = match header.get("tensors") {
        None | Some(serde_json::Value::Null) => vec![],
        Some(v) => serde_json::from_value(v.clone())?,
    };
    let mut tensors = Vec::with_capacity(descs.len());
    for (i, d) in descs.into_iter().enumerate() {
        let elems = d
            .shape
            .iter()
            .try_fold(1u64, |a, &s| a.checked_mul(s as u64));
        let expected = elems.and_then(|e| e.checked_mul(d.dtype.size()));
        if expected != Some(d.nbytes) {
            return Err(ProtocolError::Tensor {
                index: i,
                message: format!(
                    "`{}` declares {} bytes for {:?} {:?}",
                    d.name, d.nbytes, d.dtype, d.shape
                ),
            });
        }
        if d.nbytes > MAX_TENSOR_BYTES {
            return Err(ProtocolError::Tensor {
                index: i,
                message: format!(
                    "`{}` is larger than the {MAX_TENSOR_BYTES}-byte limit",
                    d.name
                ),
            });
        }
        let mut buf = vec![0u8; d.nbytes as usize];
        r.read_exact(&mut buf)?;
        tensors.push((d, buf));
    }
    Ok(Message { header, tensors })
}

/// f32 little-endian bytes of a slice.
pub fn f32_bytes(data: &[f32]) -> Vec<u8> {
    data.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// Convert received tensor bytes to f32 (the harness's tensor type). Integer outputs
/// (class ids, detection counts) are exact in f32 up to 2^24.
pub fn to_f32(d: &TensorDesc, b: &[u8]) -> Vec<f32> {
    match d.dtype {
        DType::F32 => b
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
        DType::F64 => b
            .chunks_exact(8)
            .map(|c| {
                let mut a = [0u8; 8];
                a.copy_from_slice(c);
                f64::from_le_bytes(a) as f32
            })
            .collect(),
        DType::F16 => b
            .chunks_exact(2)
            .map(|c| f16_to_f32(u16::from_le_bytes([c[0], c[1]])))
            .collect(),
        DType::I32 => b
            .chunks_exact(4)
            .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f32)
            .collect(),
        DType::I64 => b
            .chunks_exact(8)
            .map(|c| {
                let mut a = [0u8; 8];
                a.copy_from_slice(c);
                i64::from_le_bytes(a) as f32
            })
            .collect(),
        DType::U8 | DType::Bool => b.iter().map(|&v| v as f32).collect(),
        DType::I8 => b.iter().map(|&v| v as i8 as f32).collect(),
    }
}

/// IEEE 754 binary16 → binary32.
pub fn f16_to_f32(h: u16) -> f32 {
    let sign = ((h >> 15) as u32) << 31;
    let exp = ((h >> 10) & 0x1f) as u32;
    let frac = (h & 0x3ff) as u32;
    let bits = match (exp, frac) {
        (0, 0) => sign,
        (0, f) => {
            // Subnormal: value = f * 2^-24.
            let v = f as f32 * (1.0 / 16_777_216.0);
            return if sign != 0 { -v } else { v };
        }
        (0x1f, 0) => sign | 0x7f80_0000,
        (0x1f, f) => sign | 0x7f80_0000 | (f << 13),
        (e, f) => sign | ((e + 112) << 23) | (f << 13),
    };
    f32::from_bits(bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_size_checks() {
        let data = [1.5f32, -2.0, 3.25];
        let bytes = f32_bytes(&data);
        let mut buf = Vec::new();
        write_message(
            &mut buf,
            &serde_json::json!({"type": "infer", "seq": 7}),
            &[(TensorDesc::f32("x", &[1, 3]), &bytes)],
        )
        .unwrap();
        let m = read_message(&mut buf.as_slice()).unwrap();
        assert_eq!(m.kind(), "infer");
        assert_eq!(m.header["seq"], 7);
        assert_eq!(to_f32(&m.tensors[0].0, &m.tensors[0].1), data);

        // A header whose nbytes disagrees with dtype × shape is refused.
        let header =
            br#"{"type":"result","tensors":[{"name":"y","dtype":"f32","shape":[2],"nbytes":4}]}"#;
        let mut bad = (header.len() as u32).to_le_bytes().to_vec();
        bad.extend_from_slice(header);
        bad.extend_from_slice(&[0; 4]);
        assert!(matches!(
            read_message(&mut bad.as_slice()),
            Err(ProtocolError::Tensor { index: 0, .. })
        ));
        // A truncated payload is an I/O error, never a short tensor.
        let header =
            br#"{"type":"result","tensors":[{"name":"y","dtype":"i32","shape":[2],"nbytes":8}]}"#;
        let mut short = (header.len() as u32).to_le_bytes().to_vec();
        short.extend_from_slice(header);
        short.extend_from_slice(&[0; 5]);
        assert!(matches!(
            read_message(&mut short.as_slice()),
            Err(ProtocolError::Io(_))
        ));
    }

    #[test]
    fn integer_and_half_conversions() {
        let d = TensorDesc {
            name: "n".into(),
            dtype: DType::I64,
            shape: vec![2],
            nbytes: 16,
        };
        let b: Vec<u8> = [3i64, -4].iter().flat_map(|v| v.to_le_bytes()).collect();
        assert_eq!(to_f32(&d, &b), vec![3.0, -4.0]);
        // Reference values of binary16 from IEEE 754: 0x3c00 = 1, 0xc000 = -2,
        // 0x7bff = 65504 (max), 0x0001 = 2^-24 (smallest subnormal), 0x7c00 = inf.
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x7bff), 65504.0);
        assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24));
        assert!(f16_to_f32(0x7c00).is_infinite());
        assert!(f16_to_f32(0x7e00).is_nan());
    }
}
