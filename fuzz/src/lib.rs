//! The readers the fuzz targets drive (`readers`), shared with the root crate's regression
//! test of committed crash inputs.

pub mod readers;
