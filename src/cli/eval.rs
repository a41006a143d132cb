//! `adasval eval` (placeholder, filled in by its issue).

use super::{CliResult, Failure};

#[derive(clap::Args, Debug)]
pub struct Args {}

pub fn run(_args: Args) -> CliResult {
    Err(Failure::bad_input(anyhow::anyhow!(
        "`eval` is not implemented yet"
    )))
}
