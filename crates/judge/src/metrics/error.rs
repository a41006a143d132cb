//! Errors of the metrics module: every variant names the file and the item at fault.

use adasval_core::exit::{Classify, Status};
use std::path::PathBuf;

/// Why an evaluation input was rejected.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    #[error("cannot read {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file itself, as the one COCO reader rejected it.
    #[error(transparent)]
    Coco(#[from] adasval_record::coco::CocoError),
    /// A KITTI label or result file, as the one KITTI reader rejected it.
    #[error(transparent)]
    Kitti(#[from] adasval_record::kitti::KittiError),
    #[error("unknown KITTI class `{name}` (valid: {valid})")]
    UnknownKittiClass { name: String, valid: String },
    #[error("{dir} {problem}")]
    KittiLayout { dir: PathBuf, problem: String },
    #[error("{file}: {item}: image_id {image_id} is not an image of the ground truth")]
    UnknownImage {
        file: String,
        item: String,
        image_id: i64,
    },
}

impl Classify for MetricsError {
    fn status(&self) -> Status {
        Status::BadInput
    }
}
