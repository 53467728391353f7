//! The worker runtime: connector and task lifecycle, and the standalone runner.

pub mod herder;
pub mod membership;
pub mod standalone;
pub mod startup;
pub mod state;
pub mod store;
pub mod worker;
