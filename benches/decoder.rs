//! Throughput of the JsonConverter-compatible decoder (the sink's hot path) on the messages the
//! sink benches consume: the `users` and `wide` shapes of `common/shape.rs`, 10,000 records
//! each as the encoder writes them (`schemas.enable=true`), decoded one at a time with the
//! schema cached. `serde_json/*` parses the same records into a `serde_json::Value`, for
//! reference.
//!
//! `rows/*` reports records per second, `bytes/*` input bytes per second.
//! `debezium/*` is the sink's record stage on Debezium change events of the same rows:
//! JsonConverter with schemas, then `ExtractNewRecordState` + `RegexRouter` (the sink bench's
//! `--debezium` run without Kafka and the database).
//!
//! Run: `cargo bench --bench decoder -- --warm-up-time 1 --measurement-time 3`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sluice::convert::Converter;
use sluice::convert::json::JsonConverter;
use sluice::convert::json::decode::JsonDecoder;
use sluice::convert::json::encode::JsonEncoder;
use sluice::model::record::Record;
use sluice::transform::Chain;

mod common;

use common::shape::Shape;

const ROWS: u64 = 10_000;

/// `ROWS` records of the shape, back to back, and where each one ends.
fn records(shape: Shape) -> (Vec<u8>, Vec<usize>) {
    let schema = shape.schema();
    let mut encoder = JsonEncoder::new(true, false);
    let (mut out, mut ends) = (Vec::new(), Vec::new());
    for i in 1..=ROWS {
        encoder
            .encode_row(&schema, &shape.row(i, 0), &mut out)
            .expect("the bench row encodes");
        ends.push(out.len());
    }
    (out, ends)
}

/// Each record of `bytes`, split at `ends`.
fn each<'a>(bytes: &'a [u8], ends: &'a [usize]) -> impl Iterator<Item = &'a [u8]> {
    let starts = std::iter::once(0).chain(ends.iter().copied());
    starts
        .zip(ends)
        .map(move |(start, &end)| &bytes[start..end])
}

fn bench(c: &mut Criterion) {
    let shapes = [
        ("users", records(Shape::Users)),
        ("wide", records(Shape::Wide)),
    ];
    for (name, (bytes, ends)) in &shapes {
        let mut decoder = JsonDecoder::new(true);
        for record in each(bytes, ends) {
            decoder.decode(record).expect("the bench record decodes");
        }
        eprintln!(
            "{name}: {ROWS} records, {} bytes ({} bytes/record)",
            bytes.len(),
            bytes.len() as u64 / ROWS
        );
    }
    for (group_name, by_bytes) in [("rows", false), ("bytes", true)] {
        let mut group = c.benchmark_group(group_name);
        for (name, (bytes, ends)) in &shapes {
            group.throughput(if by_bytes {
                Throughput::Bytes(bytes.len() as u64)
            } else {
                Throughput::Elements(ROWS)
            });
            let mut decoder = JsonDecoder::new(true);
            group.bench_function(*name, |b| {
                b.iter(|| {
                    for record in each(bytes, ends) {
                        black_box(decoder.decode(black_box(record)).expect("decodes"));
                    }
                })
            });
        }
        group.finish();
    }
    let mut group = c.benchmark_group("debezium");
    for shape in [Shape::Users, Shape::Wide] {
        let name = if shape == Shape::Users {
            "users"
        } else {
            "wide"
        };
        let mut events = common::shape::DebeziumEvents::new(shape, "bench.dbz.t", "t")
            .expect("the bench events build");
        let (mut bytes, mut ends) = (Vec::new(), Vec::new());
        for i in 1..=ROWS {
            bytes.extend_from_slice(events.event(i).expect("the event encodes"));
            ends.push(bytes.len());
        }
        let config = common::shape::DEBEZIUM_CHAIN
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let mut chain = Chain::from_config(&config).expect("the chain configures");
        let mut converter =
            JsonConverter::new(&Default::default()).expect("the converter configures");
        group.throughput(Throughput::Elements(ROWS));
        group.bench_function(name, |b| {
            b.iter(|| {
                for event in each(&bytes, &ends) {
                    let value = converter
                        .to_connect("bench.dbz.t", Some(black_box(event)))
                        .expect("converts");
                    let record = Record::new("bench.dbz.t", value);
                    black_box(chain.apply(record).expect("transforms"));
                }
            })
        });
    }
    group.finish();
    let mut group = c.benchmark_group("serde_json");
    for (name, (bytes, ends)) in &shapes {
        group.throughput(Throughput::Elements(ROWS));
        group.bench_function(*name, |b| {
            b.iter(|| {
                for record in each(bytes, ends) {
                    black_box(
                        serde_json::from_slice::<serde_json::Value>(black_box(record))
                            .expect("parses"),
                    );
                }
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
