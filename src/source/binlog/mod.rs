//! The binlog reader (`sluice.capture=binlog`): the JDBC source's topics and message bytes in
//! incrementing mode, read from the binary log instead of by polling — rows whose ids commit
//! out of order are not skipped, the database is not polled, and updates and deletes can be
//! written too.
//!
//! Start: with no stored offset, a consistent snapshot (`START TRANSACTION WITH CONSISTENT
//! SNAPSHOT`, whose binlog position MariaDB reports as `binlog_snapshot_file/position`) reads
//! the existing rows in incrementing-column order, then the stream starts exactly at that
//! position: nothing is lost or doubled at the seam. With a stored offset the stream resumes
//! at the stored transaction, skipping the row events and rows already written, so a restart
//! inside a large multi-row event repeats nothing.
//!
//! The files, in the order data flows. `task.rs` holds the task's state; `snapshot.rs`,
//! `signals.rs`, `stream.rs`, `schema_changes.rs` and `resume.rs` extend it (`impl
//! BinlogSourceTask`) and import it, never the reverse; the state they keep (`incremental.rs`,
//! `transaction.rs`, `history.rs`) knows nothing of the task:
//! - `task.rs`: the task and its `SourceTask` wiring: `start` reads the stored offset, `poll`
//!   runs the snapshot, then the stream;
//! - `snapshot.rs`: the initial consistent snapshot (locking, chunked keyset reads, progress and
//!   restart); `signals.rs`: Debezium's signals and the incremental snapshots they start, whose
//!   state is `incremental.rs` (chunks read between watermarks while the stream goes on);
//! - `stream.rs`: the binlog stream and its event loop, which fills batches, with Debezium's
//!   transaction metadata (`transaction.rs`: each transaction's counts); `ddl.rs`: which tables
//!   a DDL statement changes; `schema_changes.rs`: each DDL read into Debezium's schema history
//!   (`history.rs`: the tables' structures at each DDL, in the history topic and as
//!   schema-change events);
//! - `table.rs`: a captured table's columns, key and Connect schemas, read from the catalog;
//! - `rows.rs`: row events (table maps, row images) decoded into values; `value.rs`: the
//!   common column types read straight from their bytes;
//! - `envelope.rs`: Debezium's change events, from the catalog's facts of each column;
//! - `position.rs`: the position each batch carries (file, pos, GTIDs, event, row) and its
//!   offset JSON; `resume.rs`: the task's offset and where its stream resumes;
//! - `gtid.rs`: GTID positions, as MariaDB and MySQL write them.

mod ddl;
mod envelope;
mod gtid;
mod history;
mod incremental;
mod position;
mod resume;
mod rows;
mod schema_changes;
mod signals;
mod snapshot;
mod stream;
mod table;
mod task;
mod transaction;
mod value;

pub(crate) use self::envelope::DEBEZIUM_VERSION;
pub(crate) use self::task::BinlogSourceTask;
