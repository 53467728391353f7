//! The polling reader of the JDBC source: Connect's SQL per mode (`bulk`, `incrementing`,
//! `timestamp`, `timestamp+incrementing`, `query`), its result sets streamed into batches.

pub(crate) mod task;
