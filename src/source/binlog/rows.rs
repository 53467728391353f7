//! Row events decoded straight from their bytes. What the table map says about the columns
//! (types, metadata, signedness, names) is read once per table map; then a row is its null
//! bitmap and the values of the columns present, each read by mysql_common's value decoder and
//! converted at once into the value polling mode reads. (mysql_common's `BinlogRow` rebuilds the
//! column metadata, names included, for every row.)
//!
//! With `binlog_row_metadata=FULL` the table map names its columns, and binlog columns are
//! matched to the table's current columns by name: rows written before an `ALTER TABLE` and
//! read after it still decode (a dropped column is left out, an added nullable one is NULL).
//! Without names the columns are matched by position, and a row must have as many columns as
//! the table (the information_schema description).

use std::sync::Arc;

use mysql_async::binlog::events::{OptionalMetaExtractor, RowsEventData, TableMapEvent};
use mysql_async::binlog::value::BinlogValue;
use mysql_async::consts::ColumnType;
use mysql_common::io::ParseBuf;

use super::table::TableInfo;
use super::value::{FastColumn, Unread};
use crate::db::DbZone;
use crate::error::{Error, ErrorKind, Result};
use crate::model::Value;
use crate::model::arena::ValueArena;

/// One column of the table map.
#[derive(Debug)]
struct BinlogColumn {
    ty: ColumnType,
    meta: Box<[u8]>,
    unsigned: bool,
    /// The table column it fills (`None`: dropped since the row was written).
    target: Option<usize>,
    /// How it is read when it needs nothing but its bytes (`None`: mysql_common's decoder).
    fast: Option<FastColumn>,
}

/// Which image of a row to convert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Image {
    Before,
    After,
}

/// How the rows of one table map are decoded into one table's rows.
#[derive(Debug)]
pub(super) struct RowDecoder {
    pub(super) table_id: u64,
    pub(super) info: Arc<TableInfo>,
    columns: Vec<BinlogColumn>,
}

impl RowDecoder {
    pub(super) fn new(tme: &TableMapEvent<'_>, info: Arc<TableInfo>) -> Result<RowDecoder> {
        let table = || format!("{}.{}", tme.database_name(), tme.table_name());
        let bad = |what: String| Error::new(ErrorKind::Conversion, what);
        let count = tme.columns_count() as usize;
        let extractor = OptionalMetaExtractor::new(tme.iter_optional_meta()).map_err(|e| {
            bad(format!(
                "unreadable table map metadata for {}: {e}",
                table()
            ))
        })?;
        let names: Vec<String> = extractor
            .iter_column_name()
            .map(|name| name.map(|n| n.name().into_owned()))
            .collect::<std::io::Result<_>>()
            .map_err(|e| bad(format!("unreadable column names for {}: {e}", table())))?;
        let named = names.len() == count;
        if !named && count != info.width() {
            return Err(bad(format!(
                "a row of {} has {count} columns in the binlog but the table has {}: the table \
                 changed after this row was written, and the binlog does not name its columns \
                 (set binlog_row_metadata=FULL on the server, or restart from a snapshot)",
                table(),
                info.width()
            )));
        }
        let mut signedness = extractor.iter_signedness();
        let mut columns = Vec::with_capacity(count);
        let mut filled = vec![false; info.width()];
        for i in 0..count {
            let ty = tme
                .get_column_type(i)
                .ok()
                .flatten()
                .ok_or_else(|| bad(format!("column {i} of {} has an unknown type", table())))?;
            let target = if named {
                names.get(i).and_then(|name| info.index_of(name))
            } else {
                Some(i)
            };
            if let Some(t) = target {
                filled[t] = true;
            }
            // The table map gives signedness for numeric columns only, in order.
            let flagged = ty.is_numeric_type().then(|| signedness.next()).flatten();
            let unsigned = flagged.unwrap_or_else(|| target.is_some_and(|t| info.unsigned(t)));
            let meta: Box<[u8]> = tme.get_column_metadata(i).unwrap_or(&[]).into();
            let fast = target
                .and_then(|t| info.plain_kind(t))
                .and_then(|kind| FastColumn::choose(ty, &meta, unsigned, kind));
            columns.push(BinlogColumn {
                ty,
                meta,
                unsigned,
                target,
                fast,
            });
        }
        // Table columns no binlog column fills (added since the row was written) stay NULL.
        if let Some(t) = (0..info.width()).find(|&t| !filled[t] && !info.optional(t)) {
            return Err(bad(format!(
                "column {} of {} is not in the binlog row and cannot be NULL: it was added after \
                 this row was written (restart from a snapshot)",
                info.shape.names[t],
                table()
            )));
        }
        Ok(RowDecoder {
            table_id: tme.table_id(),
            info,
            columns,
        })
    }

    /// Whether this decoder was built for `tme` (same table id and column count).
    pub(super) fn fits(&self, tme: &TableMapEvent<'_>) -> bool {
        self.table_id == tme.table_id() && self.columns.len() == tme.columns_count() as usize
    }

    /// Decodes the rows of `event` from row `skip` on, converting the `wanted` images of each
    /// into rows of the table and handing each to `each` with the row's index in the event and
    /// which image it is (a row's before-image first). Strings and DECIMAL texts are kept in
    /// `arena`. Returns the number of rows in the event.
    pub(super) fn for_each_row(
        &self,
        event: &RowsEventData<'_>,
        wanted: &[Image],
        skip: u64,
        zone: DbZone,
        arena: &mut ValueArena,
        mut each: impl FnMut(u64, Image, &mut Vec<Value>) -> Result<()>,
    ) -> Result<u64> {
        if matches!(event, RowsEventData::PartialUpdateRowsEvent(_)) {
            return Err(Error::new(
                ErrorKind::Conversion,
                format!(
                    "table {}: partial JSON updates are not supported (set binlog_row_value_options='')",
                    self.info.table
                ),
            ));
        }
        // The images each row has (before: updates and deletes; after: inserts and updates),
        // with the columns each holds.
        let count = self.columns.len();
        if event.num_columns() as usize != count {
            return Err(self.unreadable(std::io::Error::other(format!(
                "the row event has {} columns, its table map {count}",
                event.num_columns()
            ))));
        }
        let columns = |bits: Option<&_>| bits.map(|bits| present(bits, count));
        let images: Vec<(Image, Vec<bool>)> = [
            (Image::Before, columns(event.columns_before_image())),
            (Image::After, columns(event.columns_after_image())),
        ]
        .into_iter()
        .filter_map(|(which, present)| Some((which, present?)))
        .collect();
        let mut buf = ParseBuf(event.rows_data());
        // One row's values, moved out by `each` and refilled for the next row.
        let mut row = Vec::with_capacity(self.info.width());
        let mut n = 0u64;
        while !buf.is_empty() {
            for (which, present) in &images {
                let read = n >= skip && wanted.contains(which);
                self.read_image(&mut buf, present, read.then_some(&mut row), zone, arena)?;
                if read {
                    each(n, *which, &mut row)?;
                }
            }
            n += 1;
        }
        Ok(n)
    }

    fn unreadable(&self, error: std::io::Error) -> Error {
        Error::new(
            ErrorKind::Conversion,
            format!(
                "unreadable row in the binlog for table {}: {error}",
                self.info.table
            ),
        )
    }

    /// Reads one row image, converting it into a table row in `row` when given.
    fn read_image<'a>(
        &'a self,
        buf: &mut ParseBuf<'a>,
        present: &[bool],
        mut row: Option<&mut Vec<Value>>,
        zone: DbZone,
        arena: &mut ValueArena,
    ) -> Result<()> {
        let in_image = present.iter().filter(|p| **p).count();
        let nulls = buf
            .checked_eat(in_image.div_ceil(8))
            .ok_or_else(|| self.unreadable(std::io::ErrorKind::UnexpectedEof.into()))?;
        if let Some(row) = row.as_mut() {
            row.clear();
            row.resize(self.info.width(), Value::Null);
        }
        let in_image = self.columns.iter().zip(present).filter(|(_, p)| **p);
        for (k, (column, _)) in in_image.enumerate() {
            if nulls[k / 8] & (1 << (k % 8)) != 0 {
                continue;
            }
            if let Some(fast) = column.fast {
                let short = || self.unreadable(std::io::ErrorKind::UnexpectedEof.into());
                match (row.as_mut(), column.target) {
                    (Some(row), Some(t)) => {
                        row[t] = match fast.read(buf, arena, zone) {
                            Ok(value) => value,
                            Err(Unread::Short) => return Err(short()),
                            Err(Unread::ZeroDate(zero)) => {
                                self.info.convert(t, Some(BinlogValue::Value(zero)), zone)?
                            }
                        }
                    }
                    _ => fast.skip(buf).ok_or_else(short)?,
                }
                continue;
            }
            let value: BinlogValue<'a> = buf
                .parse((column.ty, &column.meta[..], column.unsigned, false))
                .map_err(|e| self.unreadable(e))?;
            if let (Some(row), Some(t)) = (row.as_mut(), column.target) {
                row[t] = self.info.convert(t, Some(value), zone)?;
            }
        }
        Ok(())
    }
}

/// Which of `count` columns a row image holds (its column bitmap).
fn present<B: std::ops::Index<usize, Output = bool> + ?Sized>(bits: &B, count: usize) -> Vec<bool> {
    (0..count).map(|i| bits[i]).collect()
}
