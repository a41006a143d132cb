//! Generated kernels for fused elementwise chains (`Op::Elementwise`, made by the builder's
//! fusion pass): one CUDA function per chain, with every shape baked in as a constant, so
//! an index costs a few multiply-shifts instead of the generic kernels' loop over a stride
//! table. Compiled with NVRTC once per prepared plan (`exec::Shared`), after the fixed
//! kernels' header, so loads, stores and activations are the same functions the unfused
//! layers use: in fp32 a fused chain gives the same bits as the layers one by one.

use cudarc::driver::DeviceRepr;

use adasval_plan::ir::EwStep;

/// Inputs one generated kernel takes (the fusion pass never makes wider chains).
pub const MAX_EW_INPUTS: usize = adasval_plan::fuse::MAX_CHAIN_INPUTS;

/// The generated kernels' argument, passed by value; the layout matches `struct EwArgs` in
/// [`EW_HEADER`].
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct EwArgs {
    pub src: [u64; MAX_EW_INPUTS],
    pub y: u64,
    pub n: i64,
}

// SAFETY: plain-old-data with the C layout the kernels declare.
unsafe impl DeviceRepr for EwArgs {}

pub const EW_HEADER: &str =
    "struct EwArgs { unsigned long long src[8]; unsigned long long y; long long n; };\n";

/// How output element `i` finds its element of one input: `offset = Σ (c_d / div) × stride`
/// over the output coordinates `c_d` (`div` 1 except for a nearest resize), or `i` itself
/// when the input has the output's shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    Same,
    /// (output dimension, divisor, stride) for every dimension that moves the offset.
    Terms(Vec<(usize, usize, usize)>),
}

fn row_major(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1; shape.len()];
    for d in (0..shape.len().saturating_sub(1)).rev() {
        s[d] = s[d + 1] * shape[d + 1];
    }
    s
}

/// The access of an input of shape `input` broadcast (numpy rules, right-aligned) onto
/// `out`, or nearest-upsampled by `resize` (NCHW, same rank).
pub fn access(
    input: &[usize],
    out: &[usize],
    resize: Option<[usize; 2]>,
) -> Result<Access, String> {
    if resize.is_none() && input == out {
        return Ok(Access::Same);
    }
    if input.len() > out.len() {
        return Err(format!("{input:?} has a higher rank than {out:?}"));
    }
    let lead = out.len() - input.len();
    let st = row_major(input);
    let mut terms = vec![];
    for (k, &dim) in input.iter().enumerate() {
        let d = k + lead;
        let div = match resize {
            Some(s) if out.len() == 4 && d >= 2 => s[d - 2],
            Some(_) if out.len() != 4 => return Err(format!("resize of rank {}", out.len())),
            _ => 1,
        };
        if dim * div == out[d] {
            if dim > 1 {
                terms.push((d, div, st[k]));
            }
        } else if dim != 1 || div != 1 {
            return Err(format!(
                "{input:?} does not map onto {out:?} (resize {resize:?})"
            ));
        }
    }
    Ok(Access::Terms(terms))
}

impl Access {
    /// The offset for output element `i` (tests; the kernel computes the same).
    #[cfg(test)]
    pub fn offset(&self, out: &[usize], i: usize) -> usize {
        match self {
            Access::Same => i,
            Access::Terms(terms) => {
                let st = row_major(out);
                terms
                    .iter()
                    .map(|&(d, div, stride)| (i / st[d] % out[d]) / div * stride)
                    .sum()
            }
        }
    }

    fn expr(&self, out: &[usize]) -> String {
        match self {
            Access::Same => "i".into(),
            Access::Terms(t) if t.is_empty() => "0".into(),
            Access::Terms(terms) => {
                let st = row_major(out);
                terms
                    .iter()
                    .map(|&(d, div, stride)| {
                        let mut c = format!("(i / {}LL % {}LL)", st[d], out[d]);
                        if div != 1 {
                            c = format!("({c} / {div}LL)");
                        }
                        if stride != 1 {
                            c = format!("{c} * {stride}LL");
                        }
                        c
                    })
                    .collect::<Vec<_>>()
                    .join(" + ")
            }
        }
    }
}

/// The CUDA source of one chain's kernel `name`: input 0 (resized when `resize`), then the
/// steps in order, in fp32, stored once.
pub fn kernel_source(
    name: &str,
    out: &[usize],
    inputs: &[&[usize]],
    resize: Option<[usize; 2]>,
    steps: &[EwStep],
) -> Result<String, String> {
    if inputs.is_empty() || inputs.len() > MAX_EW_INPUTS {
        return Err(format!(
            "{} inputs (1 to {MAX_EW_INPUTS} supported)",
            inputs.len()
        ));
    }
    let mut body = format!(
        "    float v = LD(in0, {});\n",
        access(inputs[0], out, resize)?.expr(out)
    );
    for st in steps {
        let line = match st {
            EwStep::Add(k) | EwStep::Mul(k) => {
                let shape = inputs
                    .get(*k)
                    .filter(|_| *k > 0)
                    .ok_or_else(|| format!("step reads input {k}"))?;
                let op = if matches!(st, EwStep::Add(_)) {
                    '+'
                } else {
                    '*'
                };
                format!(
                    "    v = v {op} LD(in{k}, {});\n",
                    access(shape, out, None)?.expr(out)
                )
            }
            EwStep::Relu => "    v = apply(1, v);\n".to_string(),
            EwStep::Sigmoid => "    v = apply(2, v);\n".to_string(),
        };
        body.push_str(&line);
    }
    let decls: String = (0..inputs.len())
        .map(|k| format!("  const T* in{k} = (const T*)a.src[{k}];\n"))
        .collect();
    Ok(format!(
        "extern \"C\" __global__ void {name}(EwArgs a) {{\n{decls}  T* y = (T*)a.y;\n  LOOP(a.n) {{\n{body}    ST(y, i, v);\n  }}\n}}\n"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The numpy / ONNX reading of `input` at output element `i`, coordinate by coordinate.
    fn naive(input: &[usize], out: &[usize], resize: Option<[usize; 2]>, i: usize) -> usize {
        let mut coords = vec![0; out.len()];
        let mut r = i;
        for d in (0..out.len()).rev() {
            coords[d] = r % out[d];
            r /= out[d];
        }
        if let Some([sh, sw]) = resize {
            coords[2] /= sh;
            coords[3] /= sw;
        }
        let lead = out.len() - input.len();
        input.iter().enumerate().fold(0, |acc, (k, &dim)| {
            acc * dim + if dim == 1 { 0 } else { coords[k + lead] }
        })
    }

    #[test]
    fn accesses_agree_with_broadcasting_and_nearest_resize() {
        let out = [2, 3, 4, 6];
        let n: usize = out.iter().product();
        let cases: [(&[usize], Option<[usize; 2]>); 7] = [
            (&[2, 3, 4, 6], None),
            (&[3, 1, 1], None),
            (&[1, 1, 4, 6], None),
            (&[6], None),
            (&[2, 1, 4, 1], None),
            (&[2, 3, 2, 3], Some([2, 2])),
            (&[2, 3, 4, 2], Some([1, 3])),
        ];
        for (input, resize) in cases {
            let a = access(input, &out, resize).unwrap();
            for i in 0..n {
                assert_eq!(
                    a.offset(&out, i),
                    naive(input, &out, resize, i),
                    "{input:?} {resize:?} at {i}"
                );
            }
        }
        assert!(access(&[2, 3, 3, 6], &out, None).is_err());
        assert!(access(&[2, 3, 2, 2], &out, Some([2, 2])).is_err());
    }

    #[test]
    fn the_kernel_reads_every_input_and_applies_the_steps_in_order() {
        let out = [1, 8, 4, 4];
        let src = kernel_source(
            "ew_0",
            &out,
            &[&[1, 8, 2, 2], &[1, 8, 4, 4], &[8, 1, 1]],
            Some([2, 2]),
            &[
                EwStep::Add(1),
                EwStep::Relu,
                EwStep::Mul(2),
                EwStep::Sigmoid,
            ],
        )
        .unwrap();
        let pos = |s: &str| src.find(s).unwrap_or_else(|| panic!("`{s}` in {src}"));
        assert!(pos("LD(in0, ") < pos("v + LD(in1, i)"));
        assert!(pos("v + LD(in1, i)") < pos("apply(1, v)"));
        assert!(pos("apply(1, v)") < pos("v * LD(in2, (i / 16LL % 8LL))"));
        assert!(pos("v * LD(in2") < pos("apply(2, v)"));
        assert!(src.contains("(i / 4LL % 4LL) / 2LL) * 2LL"), "{src}");
        // Input 0 is never a step's operand, and too many inputs are refused.
        assert!(kernel_source("e", &out, &[&out], None, &[EwStep::Add(0)]).is_err());
        let many: Vec<&[usize]> = vec![&out; MAX_EW_INPUTS + 1];
        assert!(kernel_source("e", &out, &many, None, &[EwStep::Relu]).is_err());
    }
}
