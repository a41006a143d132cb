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
    #[error("{file}: invalid JSON: {message}")]
    Json {
        file: String,
        line: usize,
        column: usize,
        /// serde_json's message, which ends with the line and column.
        message: String,
    },
    #[error("{file}: {item}: field `{field}` {problem}")]
    Field {
        file: String,
        /// The item, e.g. `annotations[3] (id 17)` or `results[12] (image_id 5)`.
        item: String,
        field: &'static str,
        problem: String,
    },
    #[error("{file}: {item}: image_id {image_id} is not an image of the ground truth")]
    UnknownImage {
        file: String,
        item: String,
        image_id: i64,
    },
    #[error("{file}: {item}: annotation id {id} already used by {first}")]
    DuplicateAnnotationId {
        file: String,
        item: String,
        first: String,
        id: i64,
    },
    #[error("{file}: {problem}")]
    Structure { file: String, problem: String },
}

impl Classify for MetricsError {
    fn status(&self) -> Status {
        Status::BadInput
    }
}
