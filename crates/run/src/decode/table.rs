//! Already-decoded tables: one detection per row, columns as the adapter declares them
//! (`[N, 6]`, `[N, 7]` with a batch index, YOLOv10's `[1, 300, 6]`).

use super::end_to_end::corners;
use super::DecodeError;
use adasval_core::tensor::Tensor;
use adasval_core::types::Detection;
use adasval_record::adapter::{BoxFormat, Column, TableSpec};

pub(super) fn decode(
    t: &TableSpec,
    table: &Tensor,
    width: u32,
    height: u32,
    num_classes: usize,
    threshold: f32,
) -> Result<Vec<Detection>, DecodeError> {
    let k = t.columns.len();
    if table.shape.last() != Some(&k) || !table.data.len().is_multiple_of(k) {
        return Err(DecodeError::Shape {
            name: table.name.clone(),
            shape: table.shape.clone(),
            decoder: "table",
            expected: format!("[N, {k}] rows of the {k} columns {:?}", t.columns),
        });
    }
    let (sx, sy) = if t.normalized {
        (width as f32, height as f32)
    } else {
        (1.0, 1.0)
    };
    let col = |c| t.col(c);
    let (box_cols, format) = match (
        col(Column::X1),
        col(Column::Y1),
        col(Column::X2),
        col(Column::Y2),
    ) {
        (Some(a), Some(b), Some(c), Some(d)) => ([a, b, c, d], BoxFormat::Xyxy),
        _ => (
            [Column::Cx, Column::Cy, Column::W, Column::H].map(|c| col(c).unwrap_or(0)),
            BoxFormat::Cxcywh,
        ),
    };
    let (score_col, class_col) = (
        col(Column::Score).unwrap_or(0),
        col(Column::Class).unwrap_or(0),
    );
    let mut out = Vec::new();
    for row in table.data.chunks_exact(k) {
        if col(Column::Batch).is_some_and(|b| row[b] != 0.0) {
            continue;
        }
        let (score, cls) = (row[score_col], row[class_col]);
        if !super::passes(score, threshold)
            || !cls.is_finite()
            || cls < 0.0
            || cls as usize >= num_classes
        {
            continue;
        }
        let b = box_cols.map(|c| row[c]);
        out.extend(super::candidate(
            cls as usize,
            score,
            corners(&b, format, sx, sy),
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_read_as_declared() {
        let t = TableSpec {
            tensor: "det".into(),
            columns: vec![
                Column::Batch,
                Column::X1,
                Column::Y1,
                Column::X2,
                Column::Y2,
                Column::Class,
                Column::Score,
            ],
            normalized: false,
            apply_nms: false,
        };
        let data = vec![
            0.0, 10.0, 20.0, 30.0, 60.0, 1.0, 0.9, // kept
            1.0, 10.0, 20.0, 30.0, 60.0, 1.0, 0.9, // another image
            0.0, 10.0, 20.0, 30.0, 60.0, 1.0, 0.1, // below threshold
        ];
        let d = decode(&t, &Tensor::new("det", vec![3, 7], data), 100, 100, 2, 0.5).unwrap();
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].bbox, [10.0, 20.0, 20.0, 40.0]);
        assert_eq!(d[0].class_id, 1);
        assert!(decode(
            &t,
            &Tensor::new("det", vec![1, 6], vec![0.0; 6]),
            100,
            100,
            2,
            0.5
        )
        .is_err());
    }
}
