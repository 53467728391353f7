//! The worker runtime: connector and task lifecycle, and the standalone runner.

pub(crate) mod herder;
pub(crate) mod membership;
pub mod standalone;
pub(crate) mod startup;
pub(crate) mod state;
pub(crate) mod store;
pub mod worker;
