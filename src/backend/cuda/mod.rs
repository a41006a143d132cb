//! The CUDA backend: runs frozen GPU plans (`cudaplan`) with cudarc (driver API, NVRTC,
//! cuDNN, cuBLAS), timing with CUDA events. Also the GPU half of the plan builder
//! (cuDNN algorithm choice).

use crate::cudaplan::{AlgoChooser, ChooseError};

/// The cuDNN algorithm chooser for `engine build --backend cuda`, on the first GPU.
pub fn algo_chooser() -> Result<Box<dyn AlgoChooser>, ChooseError> {
    Err(ChooseError::Unavailable(
        "the CUDA backend is not built into this version of adasval".into(),
    ))
}
