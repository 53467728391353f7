//! The worker runtime: connector and task lifecycle, and the standalone runner.

pub mod standalone;
pub mod worker;
