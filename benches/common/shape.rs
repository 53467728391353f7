//! The table shapes the end-to-end benches run: the seed's `users` (5 columns), a 30-column
//! table of mixed types, so the results show how cost grows with the row's width, and `big`, rows
//! of 256 KiB MEDIUMTEXT and MEDIUMBLOB values, so they show what memory follows: bytes or rows.

use std::sync::Arc;

use anyhow::{Result, bail};
use bytes::Bytes;
use sluice::model::{Field, Schema, SchemaType, Value, logical};

/// A bench table's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    /// The seed's `users(id, user_id, pwd, name, created_at)`.
    Users,
    /// `id` and 29 more columns cycling INT, VARCHAR(32), DECIMAL(12,2), DOUBLE, DATETIME(3).
    Wide,
    /// `id`, `body MEDIUMTEXT` and `data MEDIUMBLOB`, each value 256 KiB (a row is 512 KiB of
    /// values, 600 KB as JsonConverter JSON, its bytes base64).
    Big,
}

/// Bytes of each `big` row's text and of its blob.
pub(crate) const BIG_VALUE_BYTES: usize = 256 << 10;

/// Rows per INSERT when loading `big` rows: 16 MiB a statement, under max_allowed_packet.
const BIG_ROWS_PER_INSERT: u64 = 32;

/// The wide shape's column kinds, cycled over its 29 non-key columns.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Int,
    Text,
    Decimal,
    Double,
    DateTime,
}

const WIDE_COLUMNS: usize = 29;

fn wide_kind(column: usize) -> Kind {
    match column % 5 {
        0 => Kind::Int,
        1 => Kind::Text,
        2 => Kind::Decimal,
        3 => Kind::Double,
        _ => Kind::DateTime,
    }
}

impl Shape {
    /// From `--shape users|wide`.
    pub(crate) fn from_args() -> Result<Shape> {
        let args: Vec<String> = std::env::args().collect();
        match args
            .iter()
            .position(|a| a == "--shape")
            .and_then(|i| args.get(i + 1))
            .map(String::as_str)
        {
            None | Some("users") => Ok(Shape::Users),
            Some("wide") | Some("wide30") => Ok(Shape::Wide),
            Some("big") => Ok(Shape::Big),
            Some(other) => bail!("--shape must be users, wide or big, not {other}"),
        }
    }

    /// The name results carry.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Shape::Users => "users",
            Shape::Wide => "wide30",
            Shape::Big => "big",
        }
    }

    /// Column count, `id` included.
    pub(crate) fn width(self) -> usize {
        match self {
            Shape::Users => 5,
            Shape::Wide => WIDE_COLUMNS + 1,
            Shape::Big => 3,
        }
    }

    /// The column names, `id` first.
    pub(crate) fn columns(self) -> Vec<String> {
        match self {
            Shape::Users => ["id", "user_id", "pwd", "name", "created_at"]
                .map(String::from)
                .to_vec(),
            Shape::Wide => std::iter::once("id".to_string())
                .chain((1..=WIDE_COLUMNS).map(|c| format!("c{c:02}")))
                .collect(),
            Shape::Big => ["id", "body", "data"].map(String::from).to_vec(),
        }
    }

    /// The source table's definition (MariaDB), `id BIGINT` the primary key.
    pub(crate) fn source_ddl(self, table: &str) -> String {
        match self {
            Shape::Users => format!(
                "CREATE TABLE IF NOT EXISTS `{table}` (id BIGINT PRIMARY KEY, user_id VARCHAR(32), \
                 pwd VARCHAR(32), name VARCHAR(64), created_at TIMESTAMP(3) NULL)"
            ),
            Shape::Wide => {
                let columns: Vec<String> = (1..=WIDE_COLUMNS)
                    .map(|c| {
                        let ty = match wide_kind(c) {
                            Kind::Int => "INT",
                            Kind::Text => "VARCHAR(32)",
                            Kind::Decimal => "DECIMAL(12,2)",
                            Kind::Double => "DOUBLE",
                            Kind::DateTime => "DATETIME(3)",
                        };
                        format!("c{c:02} {ty} NULL")
                    })
                    .collect();
                format!(
                    "CREATE TABLE IF NOT EXISTS `{table}` (id BIGINT PRIMARY KEY, {})",
                    columns.join(", ")
                )
            }
            Shape::Big => format!(
                "CREATE TABLE IF NOT EXISTS `{table}` (id BIGINT PRIMARY KEY, body MEDIUMTEXT, \
                 data MEDIUMBLOB)"
            ),
        }
    }

    /// Loads rows 1..=`rows` into the source table `table`, 1000 rows a statement.
    pub(crate) async fn insert_rows(
        self,
        conn: &mut mysql_async::Conn,
        table: &str,
        rows: u64,
    ) -> Result<()> {
        use mysql_async::prelude::Queryable;
        if self == Shape::Big {
            // Bound parameters: 16 MiB of values a statement.
            let mut id = 1u64;
            while id <= rows {
                let end = (id + BIG_ROWS_PER_INSERT - 1).min(rows);
                let tuples = vec!["(?,?,?)"; (end - id + 1) as usize].join(",");
                let mut params = Vec::new();
                for i in id..=end {
                    params.push(mysql_async::Value::Int(i as i64));
                    params.push(mysql_async::Value::Bytes(big_text(i, 0).into_bytes()));
                    params.push(mysql_async::Value::Bytes(big_blob(i, 0)));
                }
                conn.exec_drop(format!("INSERT INTO `{table}` VALUES {tuples}"), params)
                    .await?;
                id = end + 1;
            }
            return Ok(());
        }
        let mut id = 1u64;
        while id <= rows {
            let end = (id + 999).min(rows);
            let mut sql = format!("INSERT INTO `{table}` VALUES ");
            for i in id..=end {
                if i > id {
                    sql.push(',');
                }
                self.push_sql_tuple(i, &mut sql);
            }
            conn.query_drop(sql).await?;
            id = end + 1;
        }
        Ok(())
    }

    /// Row `i` as a SQL tuple for the source table's bulk load, appended to `sql`.
    fn push_sql_tuple(self, i: u64, sql: &mut String) {
        use std::fmt::Write;
        match self {
            Shape::Users => {
                let _ = write!(
                    sql,
                    "({i},'user{i}','pw{:06}','name-{i}',FROM_UNIXTIME({}.{:03}))",
                    i % 1_000_000,
                    1_600_000_000 + i,
                    i % 1000
                );
            }
            Shape::Wide => {
                let _ = write!(sql, "({i}");
                for c in 1..=WIDE_COLUMNS {
                    let _ = match wide_kind(c) {
                        Kind::Int => write!(sql, ",{}", (i * c as u64) % 1_000_000),
                        Kind::Text => write!(sql, ",'v{i}-{c}'"),
                        Kind::Decimal => write!(sql, ",{}.{:02}", i % 100_000, c),
                        Kind::Double => write!(sql, ",{}.5", i + c as u64),
                        Kind::DateTime => write!(
                            sql,
                            ",'{}'",
                            datetime_text((1_600_000_000 + i as i64 + c as i64) * 1000)
                        ),
                    };
                }
                sql.push(')');
            }
            Shape::Big => unreachable!("big rows are loaded with bound parameters"),
        }
    }

    /// The Connect schema of the sink benches' messages.
    pub(crate) fn schema(self) -> Arc<Schema> {
        let field = |name: String, schema: Schema| Field { name, schema };
        let mut fields = vec![field(
            "id".into(),
            Schema::primitive(SchemaType::Int64, false),
        )];
        match self {
            Shape::Users => {
                for name in ["user_id", "pwd", "name"] {
                    fields.push(field(
                        name.into(),
                        Schema::primitive(SchemaType::String, true),
                    ));
                }
                fields.push(field(
                    "created_at".into(),
                    Schema::logical(SchemaType::Int64, logical::TIMESTAMP, true),
                ));
            }
            Shape::Wide => {
                for c in 1..=WIDE_COLUMNS {
                    let schema = match wide_kind(c) {
                        Kind::Int => Schema::primitive(SchemaType::Int32, true),
                        Kind::Text => Schema::primitive(SchemaType::String, true),
                        Kind::Decimal => Schema::decimal(2, Some(12), true),
                        Kind::Double => Schema::primitive(SchemaType::Float64, true),
                        Kind::DateTime => {
                            Schema::logical(SchemaType::Int64, logical::TIMESTAMP, true)
                        }
                    };
                    fields.push(field(format!("c{c:02}"), schema));
                }
            }
            Shape::Big => {
                fields.push(field(
                    "body".into(),
                    Schema::primitive(SchemaType::String, true),
                ));
                fields.push(field(
                    "data".into(),
                    Schema::primitive(SchemaType::Bytes, true),
                ));
            }
        }
        Arc::new(Schema::structure(Some(self.name().into()), fields, false))
    }

    /// Row `i` of generation `generation` (a later generation changes every non-key value).
    pub(crate) fn row(self, i: u64, generation: u64) -> Vec<Value> {
        let text = |s: String| Value::Text(Bytes::from(s));
        match self {
            Shape::Users => vec![
                Value::Int(i as i64),
                text(format!("user{i}")),
                text(format!("pw{:06}", (i + generation) % 1_000_000)),
                text(format!("name-{i}-{generation}")),
                Value::Timestamp(((1_600_000_000 + i as i64) * 1000 + generation as i64) * 1000),
            ],
            Shape::Wide => {
                let g = generation;
                let mut values = Vec::with_capacity(WIDE_COLUMNS + 1);
                values.push(Value::Int(i as i64));
                for c in 1..=WIDE_COLUMNS as u64 {
                    values.push(match wide_kind(c as usize) {
                        Kind::Int => Value::Int(((i * c + g) % 1_000_000) as i64),
                        Kind::Text => text(format!("v{i}-{c}-{g}")),
                        Kind::Decimal => {
                            Value::Decimal(Bytes::from(format!("{}.{:02}", i % 100_000, c + g)))
                        }
                        Kind::Double => Value::Float((i + c + g) as f64 + 0.5),
                        Kind::DateTime => Value::Timestamp(
                            ((1_600_000_000 + i as i64 + c as i64) * 1000 + g as i64) * 1000,
                        ),
                    });
                }
                values
            }
            Shape::Big => vec![
                Value::Int(i as i64),
                Value::Text(Bytes::from(big_text(i, generation))),
                Value::Bytes(Bytes::from(big_blob(i, generation))),
            ],
        }
    }
}

/// Row `i`'s `body`: [`BIG_VALUE_BYTES`] of ASCII text that names the row and generation.
fn big_text(i: u64, generation: u64) -> String {
    let line = format!("row {i} generation {generation} of the big-rows bench. ");
    let mut text = line.repeat(BIG_VALUE_BYTES / line.len() + 1);
    text.truncate(BIG_VALUE_BYTES);
    text
}

/// Row `i`'s `data`: [`BIG_VALUE_BYTES`] of bytes from a xorshift seeded by the row, every
/// byte value included.
fn big_blob(i: u64, generation: u64) -> Vec<u8> {
    let mut state = (i << 8 | generation) ^ 0x9e37_79b9_7f4a_7c15;
    let mut data = Vec::with_capacity(BIG_VALUE_BYTES);
    while data.len() < BIG_VALUE_BYTES {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        data.extend_from_slice(&state.to_le_bytes());
    }
    data.truncate(BIG_VALUE_BYTES);
    data
}

/// `YYYY-MM-DD HH:MM:SS.mmm` (UTC) of epoch milliseconds.
fn datetime_text(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S%.3f").to_string())
        .unwrap_or_default()
}

/// The transformations the sink benches read [`DebeziumEvents`] with: the rows out of the
/// envelope, and `bench.dbz.<table>` routed to `<table>`.
pub(crate) const DEBEZIUM_CHAIN: [(&str, &str); 5] = [
    ("transforms", "unwrap,route"),
    (
        "transforms.unwrap.type",
        "io.debezium.transforms.ExtractNewRecordState",
    ),
    (
        "transforms.route.type",
        "org.apache.kafka.connect.transforms.RegexRouter",
    ),
    ("transforms.route.regex", "bench\\.dbz\\.(.*)"),
    ("transforms.route.replacement", "$1"),
];

/// Debezium change events (`op=c`, `after` = the shape's row `i`) as Debezium's MySQL connector
/// writes them under JsonConverter with schemas: the sink benches' `--debezium` input.
pub(crate) struct DebeziumEvents {
    shape: Shape,
    schema: Arc<Schema>,
    table: String,
    prefix: String,
    encoder: sluice::convert::json::encode::JsonEncoder,
    row: Vec<u8>,
    buf: Vec<u8>,
}

impl DebeziumEvents {
    pub(crate) fn new(shape: Shape, topic: &str, table: &str) -> Result<Self> {
        let schema = shape.schema();
        let mut row_schema: serde_json::Value =
            serde_json::from_str(&sluice::convert::json::encode::schema_json(&schema))?;
        row_schema["optional"] = serde_json::json!(true);
        let field = |name: &str| {
            let mut s = row_schema.clone();
            s["field"] = serde_json::json!(name);
            s
        };
        let envelope = serde_json::json!({"type":"struct","fields":[
            field("before"), field("after"),
            {"type":"struct","fields":[
                {"type":"string","optional":false,"field":"version"},
                {"type":"string","optional":false,"field":"connector"},
                {"type":"string","optional":false,"field":"name"},
                {"type":"int64","optional":false,"field":"ts_ms"},
                {"type":"string","optional":false,"field":"db"},
                {"type":"string","optional":true,"field":"table"},
                {"type":"string","optional":false,"field":"file"},
                {"type":"int64","optional":false,"field":"pos"}],
             "optional":false,"name":"io.debezium.connector.mysql.Source","field":"source"},
            {"type":"string","optional":false,"field":"op"},
            {"type":"int64","optional":true,"field":"ts_ms"}],
            "optional":false,"name":format!("{topic}.Envelope"),"version":1});
        Ok(DebeziumEvents {
            shape,
            schema,
            table: table.to_string(),
            prefix: format!(r#"{{"schema":{envelope},"payload":{{"before":null,"after":"#),
            encoder: sluice::convert::json::encode::JsonEncoder::new(false, false),
            row: Vec::new(),
            buf: Vec::new(),
        })
    }

    /// The event for row `i`.
    pub(crate) fn event(&mut self, i: u64) -> Result<&[u8]> {
        self.row.clear();
        self.encoder
            .encode_row(&self.schema, &self.shape.row(i, 0), &mut self.row)?;
        self.buf.clear();
        self.buf.extend_from_slice(self.prefix.as_bytes());
        self.buf.extend_from_slice(&self.row);
        self.buf.extend_from_slice(
            format!(
                r#","source":{{"version":"2.7.3.Final","connector":"mysql","name":"bench","ts_ms":1700000000000,"db":"bench","table":"{}","file":"mysql-bin.000001","pos":{i}}},"op":"c","ts_ms":1700000000100}}}}"#,
                self.table
            )
            .as_bytes(),
        );
        Ok(&self.buf)
    }
}
