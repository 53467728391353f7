//! Where the reader is, in binlog coordinates, how that is stored as the offset, and where a
//! stream resumes.
//!
//! Offsets live in the offsets topic under the partition `{"server":"host:port"}` with
//! `{"file","pos","gtids","event","row"}`: `pos` is the start of the transaction being read,
//! `gtids` the GTID position of the transactions before it (MariaDB `domain-server-seq` list or
//! MySQL GTID set), `event` the number of its row events completely written and `row` the rows
//! written of the next one (plus `snapshot_table`/`snapshot_done`/`snapshot_last` while the
//! snapshot runs). A stored GTID position is where the stream resumes (so it survives a switch
//! to another server of the topology); file/position when there is none. Resuming inside a
//! transaction skips its row events and rows already written, so a restart inside a large
//! multi-row event repeats nothing.

use mysql_async::Conn;
use mysql_async::prelude::Queryable;
use serde_json::{Value as Json, json};

use super::gtid::Gtids;
use crate::error::{Error, Result};

/// Where the stream is, in binlog coordinates.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Position {
    pub(super) file: String,
    /// Start of the current transaction.
    pub(super) pos: u64,
    /// The GTID position of the transactions before it (`None`: unknown, or GTIDs are off).
    pub(super) gtids: Option<Gtids>,
    /// Row events of the current transaction completely written.
    pub(super) event: u64,
    /// Rows written of the next row event.
    pub(super) row: u64,
}

impl Position {
    pub(super) fn to_json(&self) -> Json {
        let mut json =
            json!({"file": self.file, "pos": self.pos, "event": self.event, "row": self.row});
        if let Some(gtids) = &self.gtids {
            json["gtids"] = json!(gtids.to_string());
        }
        json
    }

    pub(super) fn from_json(json: &Json) -> Option<Position> {
        Some(Position {
            file: json.get("file")?.as_str()?.to_string(),
            pos: json.get("pos")?.as_u64()?,
            gtids: json
                .get("gtids")
                .and_then(Json::as_str)
                .and_then(Gtids::parse),
            event: json.get("event").and_then(Json::as_u64).unwrap_or(0),
            row: json.get("row").and_then(Json::as_u64).unwrap_or(0),
        })
    }

    /// Rows to skip when a stream starts here: (row events, rows of the next one) of the
    /// transaction, when some of it was already written.
    pub(super) fn skip(&self) -> Option<(u64, u64)> {
        (self.event > 0 || self.row > 0).then_some((self.event, self.row))
    }
}

/// Snapshot progress stored with the offset while the snapshot runs.
#[derive(Debug, Clone)]
pub(super) struct SnapshotState {
    /// Tables in snapshot order; those before `index` are complete.
    pub(super) tables: Vec<String>,
    pub(super) index: usize,
    /// The incrementing value of the last row written of `tables[index]`.
    pub(super) last: Option<i64>,
    /// An ad-hoc blocking snapshot (Debezium's `execute-snapshot` of type `blocking`): of the
    /// listed tables only, while the stream waits at its position.
    pub(super) blocking: bool,
}

/// The snapshot progress a stored offset carries (`None` when no snapshot was running): the
/// tables done and the one being read, with the incrementing value of its last row written.
/// The tables still to read are listed again when the snapshot restarts.
pub(super) fn stored_snapshot(stored: &Json) -> Option<SnapshotState> {
    let table = stored.get("snapshot_table").and_then(Json::as_str)?;
    let done: Vec<String> = stored
        .get("snapshot_done")
        .and_then(Json::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|t| t.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let mut tables = done.clone();
    tables.push(table.to_string());
    Some(SnapshotState {
        tables,
        index: done.len(),
        last: stored.get("snapshot_last").and_then(Json::as_i64),
        blocking: stored
            .get("sluice_snapshot_blocking")
            .and_then(Json::as_bool)
            .unwrap_or(false),
    })
}

/// The server's current binlog position, with its GTID position.
pub(super) async fn current_position(conn: &mut Conn, context: &str) -> Result<Position> {
    let row: Option<mysql_async::Row> = match conn.query_first("SHOW MASTER STATUS").await {
        Ok(row) => row,
        // MySQL 8.4 knows it only as SHOW BINARY LOG STATUS.
        Err(_) => conn
            .query_first("SHOW BINARY LOG STATUS")
            .await
            .map_err(|e| crate::db::mysql_error(e, context))?,
    };
    let row = row.ok_or_else(|| Error::config("the server's binary log is off (log_bin)"))?;
    let mut position = Position {
        file: row.get(0).unwrap_or_default(),
        pos: row.get(1).unwrap_or(4),
        ..Position::default()
    };
    // MySQL adds Executed_Gtid_Set (empty with GTIDs off); MariaDB has BINLOG_GTID_POS().
    position.gtids = match row.get::<Option<String>, _>(4).flatten() {
        Some(set) => Gtids::parse(&set),
        None => gtid_position(conn, &position).await,
    };
    Ok(position)
}

/// The start of the oldest binlog file the server has (`SHOW BINARY LOGS`), with its GTID
/// position.
pub(super) async fn oldest_position(conn: &mut Conn, context: &str) -> Result<Position> {
    let row: Option<mysql_async::Row> = conn
        .query_first("SHOW BINARY LOGS")
        .await
        .map_err(|e| crate::db::mysql_error(e, context))?;
    let row = row.ok_or_else(|| Error::config("the server's binary log is off (log_bin)"))?;
    let mut position = Position {
        file: row.get(0).unwrap_or_default(),
        pos: 4,
        ..Position::default()
    };
    position.gtids = gtid_position(conn, &position).await;
    Ok(position)
}

/// MariaDB's GTID position at a binlog position (`BINLOG_GTID_POS`): `None` on MySQL, or when
/// the binlog holds no GTIDs.
pub(super) async fn gtid_position(conn: &mut Conn, position: &Position) -> Option<Gtids> {
    let text: Option<Option<String>> = conn
        .exec_first(
            "SELECT BINLOG_GTID_POS(?, ?)",
            (&position.file, position.pos),
        )
        .await
        .ok()?;
    Gtids::parse(&text.flatten()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_round_trip() {
        let position = Position {
            file: "b.000001".into(),
            pos: 1234,
            gtids: Gtids::parse("0-1-99"),
            event: 2,
            row: 17,
        };
        assert_eq!(position.to_json()["gtids"], "0-1-99");
        assert_eq!(Position::from_json(&position.to_json()), Some(position));
        let old = json!({"file": "b.000001", "pos": 4});
        assert_eq!(Position::from_json(&old).unwrap().gtids, None);
    }
}
