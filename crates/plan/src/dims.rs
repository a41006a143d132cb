//! The static shape rules the importer and the plan checker (`shapes`) share: convolution
//! output size and numpy broadcasting. Kept apart from `onnx_values` so that reading and
//! checking a `.cudaplan` file needs no ONNX parser (the `onnx` feature).

/// Output size of a convolution or pooling window along one axis; `None` when the window
/// does not fit the padded input, the kernel or stride is 0, or a figure overflows (plan
/// files are input: their numbers are checked, never trusted to be small).
pub(crate) fn conv_out(
    size: usize,
    pads: [usize; 2],
    k: usize,
    stride: usize,
    dil: usize,
) -> Option<usize> {
    let span = dil.checked_mul(k.checked_sub(1)?)?.checked_add(1)?;
    let padded = size.checked_add(pads[0])?.checked_add(pads[1])?;
    (padded >= span && stride > 0).then(|| (padded - span) / stride + 1)
}

/// The number of elements of `shape`, `None` when it overflows.
pub(crate) fn elements(shape: &[usize]) -> Option<usize> {
    shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d))
}

/// Numpy broadcasting of two shapes.
pub(crate) fn broadcast(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let n = a.len().max(b.len());
    let mut out = vec![0; n];
    for i in 0..n {
        let da = if i + a.len() >= n {
            a[i + a.len() - n]
        } else {
            1
        };
        let db = if i + b.len() >= n {
            b[i + b.len() - n]
        } else {
            1
        };
        out[i] = match (da, db) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => return None,
        };
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcast_follows_numpy() {
        assert_eq!(broadcast(&[1, 3, 4, 4], &[3, 1, 1]), Some(vec![1, 3, 4, 4]));
        assert_eq!(broadcast(&[2, 1], &[1, 5]), Some(vec![2, 5]));
        assert_eq!(broadcast(&[2, 3], &[4]), None);
    }

    #[test]
    fn conv_output_size() {
        assert_eq!(conv_out(416, [1, 1], 3, 2, 1), Some(208));
        assert_eq!(conv_out(10, [2, 2], 3, 1, 2), Some(10));
        assert_eq!(conv_out(2, [0, 0], 5, 1, 1), None);
        // Numbers from a plan file are input: overflow and zero are refused, not a panic.
        assert_eq!(
            conv_out(4, [usize::MAX / 2 + 1, usize::MAX / 2 + 1], 3, 1, 1),
            None
        );
        assert_eq!(conv_out(4, [1, 1], 0, 1, 1), None);
        assert_eq!(conv_out(4, [1, 1], 3, 0, 1), None);
        assert_eq!(conv_out(4, [1, 1], 3, 1, usize::MAX), None);
        assert_eq!(elements(&[1 << 40, 1 << 40]), None);
        assert_eq!(elements(&[2, 3, 4]), Some(24));
    }
}
