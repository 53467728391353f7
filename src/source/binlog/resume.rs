//! The task's side of positions: the offset stored with each batch (the position plus the
//! snapshot's progress) and where its stream resumes.

use super::gtid::Gtids;
use super::position::*;
use super::task::BinlogSourceTask;
use crate::error::Result;
use crate::model::{SourceBatch, SourcePosition};
use mysql_async::prelude::Queryable;
use mysql_async::{BinlogStreamRequest, Conn};
use serde_json::{Value as Json, json};
use std::sync::Arc;

impl BinlogSourceTask {
    /// The offset stored with a batch: the position, and the snapshot's progress while it runs.
    pub(super) fn offset_json(&self) -> Json {
        let mut offset = match self.debezium {
            Some(_) => self.debezium_offset(),
            None => self.position.to_json(),
        };
        if let Some(snapshot) = &self.snapshot {
            if self.debezium.is_some() {
                offset["snapshot"] = json!(if snapshot.blocking {
                    "BLOCKING"
                } else {
                    "INITIAL"
                });
            }
            if snapshot.blocking {
                offset["sluice_snapshot_blocking"] = json!(true);
            }
            offset["snapshot_table"] = json!(snapshot.tables.get(snapshot.index));
            offset["snapshot_done"] = json!(snapshot.tables[..snapshot.index]);
            if let Some(last) = snapshot.last {
                offset["snapshot_last"] = json!(last);
            }
        }
        if let Some(incremental) = &self.incremental {
            incremental.store(&self.database, &mut offset);
        }
        if let Some(transaction) = &self.transaction {
            transaction.store(&mut offset);
        }
        offset
    }

    /// The position as Debezium stores it (`BinlogOffsetContext`): `file`, `pos` and `gtids`,
    /// with `event`, `row`, `server_id` and `ts_sec` only when not zero. Its `event` counts every
    /// event of the transaction read so far, as Debezium's does, so either can resume the other.
    fn debezium_offset(&self) -> Json {
        let mut offset = json!({"file": self.position.file, "pos": self.position.pos});
        if let Some(gtids) = &self.position.gtids {
            offset["gtids"] = json!(gtids.to_string());
        }
        if self.position.event > 0 {
            offset["event"] = json!(self.position.event);
        }
        if self.position.row > 0 {
            offset["row"] = json!(self.position.row);
        }
        if self.source.server_id > 0 {
            offset["server_id"] = json!(self.source.server_id);
        }
        if self.source.ts_ms > 0 {
            offset["ts_sec"] = json!(self.source.ts_ms / 1000);
        }
        offset
    }

    /// An empty batch that only stores the position.
    pub(super) fn position_batch(&mut self) -> SourceBatch {
        self.position_dirty = false;
        self.handed = self.position.clone();
        SourceBatch {
            topic: self.topic(""),
            schema: Arc::new(crate::model::Schema::structure(None, Vec::new(), false)),
            values: Vec::new(),
            keys: None,
            tombstones: Vec::new(),
            position: SourcePosition {
                partition: self.partition.clone(),
                offset: self.offset_json(),
            },
        }
    }

    /// A Debezium heartbeat on `topic`: it stores the position as [`Self::position_batch`]
    /// does, so the offset moves while the captured tables are idle.
    pub(super) fn heartbeat_batch(&mut self, topic: &str) -> SourceBatch {
        let (key, value) = super::envelope::heartbeat_schemas();
        let prefix = self
            .debezium
            .as_ref()
            .map(|d| d.prefix.clone())
            .unwrap_or_default();
        SourceBatch {
            topic: topic.into(),
            schema: value,
            values: vec![crate::model::Value::Int(
                super::envelope::now_ns() / 1_000_000,
            )],
            keys: Some(crate::model::SourceKeys {
                schema: key,
                values: vec![crate::model::Value::Text(prefix.into())],
            }),
            ..self.position_batch()
        }
    }

    /// Settles where a new stream starts: the server's current position when there is none
    /// yet, and the GTID position of a stored one that has none.
    pub(super) async fn resume_point(&mut self, conn: &mut Conn, context: &str) -> Result<()> {
        let resuming = self.position == self.handed;
        if self.position.file.is_empty() && self.position.gtids.is_none() {
            self.position = current_position(conn, context).await?;
        } else if self.position.gtids.is_none() {
            // An offset stored without GTIDs: learn them for the offsets from now on.
            self.position.gtids = gtid_position(conn, &self.position).await;
        }
        if resuming {
            self.handed = self.position.clone();
        }
        Ok(())
    }

    /// The dump request that starts the stream at the position: by GTID position when there
    /// is one, else by file and position.
    pub(super) async fn stream_request(
        &self,
        conn: &mut Conn,
        context: &str,
    ) -> Result<BinlogStreamRequest<'_>> {
        let db_error = |e| crate::db::mysql_error(e, context);
        let sids;
        let request = BinlogStreamRequest::new(self.server_id);
        let request = match &self.position.gtids {
            Some(gtids @ Gtids::MariaDb(_)) => {
                // MariaDB: the GTID position goes in @slave_connect_state; file "" position 4.
                conn.exec_drop("SET @slave_connect_state = ?", (gtids.to_string(),))
                    .await
                    .map_err(db_error)?;
                conn.query_drop(
                    "SET @slave_gtid_strict_mode = 0, @slave_gtid_ignore_duplicates = 0",
                )
                .await
                .map_err(db_error)?;
                request
            }
            Some(gtids @ Gtids::MySql(_)) => {
                sids = gtids.mysql_sids().unwrap_or_default();
                request.with_gtid().with_gtid_set(sids)
            }
            None => request
                .with_filename(self.position.file.as_bytes())
                .with_pos(self.position.pos),
        };
        Ok(request)
    }
}
