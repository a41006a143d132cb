//! The static shape rules the importer and the plan checker (`shapes`) share: convolution
//! output size and numpy broadcasting. Kept apart from `onnx_values` so that reading and
//! checking a `.cudaplan` file needs no ONNX parser (the `onnx` feature).

pub(crate) fn conv_out(
    size: usize,
    pad_total: usize,
    k: usize,
    stride: usize,
    dil: usize,
) -> Option<usize> {
    let span = dil * (k - 1) + 1;
    let padded = size + pad_total;
    (padded >= span).then(|| (padded - span) / stride + 1)
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
        assert_eq!(conv_out(416, 2, 3, 2, 1), Some(208));
        assert_eq!(conv_out(10, 4, 3, 1, 2), Some(10));
        assert_eq!(conv_out(2, 0, 5, 1, 1), None);
    }
}
