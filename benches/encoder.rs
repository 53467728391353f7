//! Throughput of the JsonConverter-compatible encoder on two table shapes, 10,000 rows a batch:
//! - `users`: id BIGINT NOT NULL, user_id/pwd/name VARCHAR NULL, created_at TIMESTAMP NULL;
//! - `wide`: 30 columns mixing int32/int64/double/string/decimal/date/timestamp/bytes.
//!
//! `rows/*` reports rows per second, `bytes/*` output bytes per second.
//! Run: `cargo bench --bench encoder -- --warm-up-time 1 --measurement-time 3`.

use std::hint::black_box;
use std::sync::Arc;

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sluice::convert::json::encode::JsonEncoder;
use sluice::model::{Field, Schema, SchemaType, SourceBatch, SourcePosition, Value, logical};

const ROWS: usize = 10_000;

fn field(name: &str, schema: Schema) -> Field {
    Field {
        name: name.into(),
        schema,
    }
}

fn text(s: String) -> Value {
    Value::Text(Bytes::from(s))
}

fn batch(schema: Schema, values: Vec<Value>) -> SourceBatch {
    SourceBatch {
        topic: "bench".into(),
        schema: Arc::new(schema),
        values,
        keys: None,
        tombstones: Vec::new(),
        position: SourcePosition {
            partition: serde_json::json!({"protocol": "1", "table": "db.t"}),
            offset: serde_json::json!({"incrementing": ROWS}),
        },
    }
}

/// A tiny deterministic generator, so both shapes see the same data on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn users_batch() -> SourceBatch {
    let schema = Schema::structure(
        Some("users".into()),
        vec![
            field("id", Schema::primitive(SchemaType::Int64, false)),
            field("user_id", Schema::primitive(SchemaType::String, true)),
            field("pwd", Schema::primitive(SchemaType::String, true)),
            field("name", Schema::primitive(SchemaType::String, true)),
            field(
                "created_at",
                Schema::logical(SchemaType::Int64, logical::TIMESTAMP, true),
            ),
        ],
        false,
    );
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    let mut values = Vec::with_capacity(ROWS * 5);
    for i in 0..ROWS {
        values.push(Value::Int(i as i64 + 1));
        values.push(text(format!("user{:05}", i % 100_000)));
        values.push(text(format!("{:09x}", rng.next() & 0xF_FFFF_FFFF)));
        values.push(if i % 10 == 9 {
            Value::Null
        } else {
            text(format!("Name {:07}", rng.below(10_000_000)))
        });
        values.push(Value::Timestamp(
            1_638_687_468_000_000 + rng.below(100_000_000_000) as i64,
        ));
    }
    batch(schema, values)
}

fn wide_batch() -> SourceBatch {
    let mut fields = Vec::new();
    for i in 0..4 {
        fields.push(field(
            &format!("i32_{i}"),
            Schema::primitive(SchemaType::Int32, i > 0),
        ));
        fields.push(field(
            &format!("i64_{i}"),
            Schema::primitive(SchemaType::Int64, true),
        ));
        fields.push(field(
            &format!("dbl_{i}"),
            Schema::primitive(SchemaType::Float64, true),
        ));
        fields.push(field(
            &format!("str_{i}"),
            Schema::primitive(SchemaType::String, true),
        ));
    }
    for i in 0..3 {
        fields.push(field(
            &format!("dec_{i}"),
            Schema::decimal(2, Some(12), true),
        ));
    }
    fields.push(field("dec_wide", Schema::decimal(30, Some(65), true)));
    for i in 0..4 {
        fields.push(field(
            &format!("date_{i}"),
            Schema::logical(SchemaType::Int32, logical::DATE, true),
        ));
        fields.push(field(
            &format!("ts_{i}"),
            Schema::logical(SchemaType::Int64, logical::TIMESTAMP, true),
        ));
    }
    fields.push(field("bin_0", Schema::primitive(SchemaType::Bytes, true)));
    fields.push(field("bin_1", Schema::primitive(SchemaType::Bytes, true)));
    assert_eq!(fields.len(), 30);
    let schema = Schema::structure(Some("wide".into()), fields, false);

    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut values = Vec::with_capacity(ROWS * 30);
    for row in 0..ROWS {
        for i in 0..4 {
            values.push(Value::Int(rng.below(2_000_000_000) as i64 - 1_000_000_000));
            values.push(Value::Int(rng.next() as i64 >> (i * 8)));
            values.push(Value::Float(
                (rng.below(100_000_000) as f64) / 1000.0 * if i == 3 { 1e9 } else { 1.0 },
            ));
            values.push(if (row + i) % 7 == 0 {
                Value::Null
            } else {
                text(format!(
                    "str {} \"q\" {:x}",
                    rng.below(1_000_000),
                    rng.next() >> (i * 12)
                ))
            });
        }
        for _ in 0..3 {
            let cents = rng.below(100_000_000_000) as i64 - 50_000_000_000;
            values.push(Value::Decimal(Bytes::from(format!(
                "{}{}.{:02}",
                if cents < 0 { "-" } else { "" },
                cents.unsigned_abs() / 100,
                cents.unsigned_abs() % 100
            ))));
        }
        values.push(Value::Decimal(Bytes::from(format!(
            "{}{}.{:030}",
            if row % 2 == 0 { "-" } else { "" },
            rng.next(),
            (rng.next() as u128 * 1_000_000_000_000) % 10u128.pow(30)
        ))));
        for _ in 0..4 {
            values.push(Value::Date(rng.below(30_000) as i32 - 5_000));
            values.push(Value::Timestamp(
                rng.below(4_000_000_000_000_000) as i64 - 1_000_000_000_000_000,
            ));
        }
        let mut blob = [0u8; 16];
        for chunk in blob.chunks_mut(8) {
            chunk.copy_from_slice(&rng.next().to_le_bytes());
        }
        values.push(Value::Bytes(Bytes::copy_from_slice(&blob)));
        values.push(Value::Bytes(Bytes::copy_from_slice(&blob[..5])));
    }
    batch(schema, values)
}

/// The output size of one encoded batch, after checking it encodes.
fn encoded_len(batch: &SourceBatch) -> usize {
    let mut out = Vec::new();
    let mut ends = Vec::new();
    JsonEncoder::new(true, false)
        .encode_batch(batch, &mut out, &mut ends)
        .expect("the bench batch encodes");
    assert_eq!(ends.len(), ROWS);
    out.len()
}

fn bench(c: &mut Criterion) {
    let shapes = [("users", users_batch()), ("wide", wide_batch())];
    let sizes: Vec<usize> = shapes.iter().map(|(_, b)| encoded_len(b)).collect();
    for ((name, _), size) in shapes.iter().zip(&sizes) {
        eprintln!(
            "{name}: {ROWS} rows, {size} bytes encoded ({} bytes/record)",
            size / ROWS
        );
    }
    for (group_name, by_bytes) in [("rows", false), ("bytes", true)] {
        let mut group = c.benchmark_group(group_name);
        for ((name, batch), &size) in shapes.iter().zip(&sizes) {
            group.throughput(if by_bytes {
                Throughput::Bytes(size as u64)
            } else {
                Throughput::Elements(ROWS as u64)
            });
            let mut encoder = JsonEncoder::new(true, false);
            let mut out = Vec::with_capacity(size);
            let mut ends = Vec::with_capacity(ROWS);
            group.bench_function(*name, |b| {
                b.iter(|| {
                    out.clear();
                    ends.clear();
                    encoder
                        .encode_batch(black_box(batch), &mut out, &mut ends)
                        .expect("encodes");
                    black_box(out.len())
                })
            });
        }
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
