//! adasval: validation of neural-network perception engines for driver assistance.
//!
//! Data flows one way: frozen engines ([`lock`]) + scenarios → replay on a backend →
//! run record → compare / timing / wcet → verdicts → reports and evidence.
//! See `docs/ARCHITECTURE.md` for the one-page map.

pub mod evidence;
pub mod exit;
pub mod hash;
pub mod metrics;
pub mod safety;
pub mod synth;
pub mod types;
pub mod wcet;
