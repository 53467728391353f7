//! The record stage of a connector, as Connect runs it: on the source side the transformation
//! chain then the converters (reader → chain → converters → producer); on the sink side the
//! converters then the chain (consumer → converters → chain → task).
//!
//! With no transformation and JsonConverter for keys and values, the pipelines skip this stage
//! and use the zero-copy JSON encoder and decoder ([`RecordStageConfig::is_fast_json`]).

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;

use crate::config::{ConfigError, WorkerConfig};
use crate::convert::json::{JsonSettings, encode};
use crate::convert::{Converter, ConverterSpec, Converters, Role};
use crate::error::{Error, ErrorKind, Result};
use crate::kafka::producer::ProducerRecord;
use crate::model::record::{FailureStage, Header, Part, Record};
use crate::model::{Data, Schema, SchemaType, SinkRecord, SourceBatch, Value};
use crate::transform::{Chain, TransformFailure};

/// Every error in the record-stage keys of a (resolved) connector config: transformations,
/// predicates and converters, each naming its key.
pub(crate) fn config_errors(
    config: &BTreeMap<String, String>,
    worker: &WorkerConfig,
) -> Vec<ConfigError> {
    let mut errors = Chain::validate(config);
    for role in [Role::Key, Role::Value, Role::Header] {
        if let Err(error) = ConverterSpec::resolve(role, config, worker) {
            errors.push(error);
        }
    }
    errors
}

/// A record stage as configured for one connector; each task thread builds its own
/// [`RecordStage`] from it.
#[derive(Clone)]
pub(crate) struct RecordStageConfig {
    connector: Arc<BTreeMap<String, String>>,
    pub(crate) converters: Converters,
    transforms: bool,
}

impl RecordStageConfig {
    /// Checks and keeps the record-stage keys of a resolved connector config.
    pub(crate) fn new(
        connector: &BTreeMap<String, String>,
        worker: &WorkerConfig,
    ) -> std::result::Result<Self, ConfigError> {
        let chain = Chain::from_config(connector)?;
        Ok(RecordStageConfig {
            connector: Arc::new(connector.clone()),
            converters: Converters::resolve(connector, worker)?,
            transforms: !chain.is_empty(),
        })
    }

    /// Whether the fast path applies: no transformation, JsonConverter keys and values.
    pub(crate) fn is_fast_json(&self) -> bool {
        !self.transforms && self.converters.key.is_json() && self.converters.value.is_json()
    }

    /// JsonConverter's settings for `role`, for the fast paths (the defaults for other
    /// converters).
    pub(crate) fn json_settings(&self, role: Role) -> JsonSettings {
        let spec = match role {
            Role::Key => &self.converters.key,
            Role::Value => &self.converters.value,
            Role::Header => &self.converters.header,
        };
        match spec.is_json() {
            // The spec was built once when checked, so its keys parse.
            true => JsonSettings::parse(&spec.config).unwrap_or_default(),
            false => JsonSettings::default(),
        }
    }

    /// A new stage (a task's own transformations and converters).
    pub(crate) fn build(&self) -> Result<RecordStage> {
        Ok(RecordStage {
            chain: Chain::from_config(&self.connector)?,
            key: self.converters.key.build()?,
            value: self.converters.value.build()?,
            header: self.converters.header.build()?,
            key_schemas: self.json_settings(Role::Key).schemas_enable,
            value_schemas: self.json_settings(Role::Value).schemas_enable,
            classes: ConverterClasses::from(&self.converters),
            fields_read: FieldsRead::default(),
        })
    }
}

/// Why a record failed in the record stage: its stage, the failing plugin's class (Connect's
/// `__connect.errors.class.name`) and the error.
#[derive(Debug)]
pub(crate) struct StageFailure {
    pub(crate) stage: FailureStage,
    pub(crate) class: &'static str,
    pub(crate) error: Error,
}

impl From<TransformFailure> for StageFailure {
    fn from(failure: TransformFailure) -> Self {
        StageFailure {
            stage: FailureStage::Transformation,
            class: failure.class,
            error: failure.error,
        }
    }
}

/// One task's transformations and converters.
pub(crate) struct RecordStage {
    chain: Chain,
    key: Box<dyn Converter>,
    value: Box<dyn Converter>,
    header: Box<dyn Converter>,
    key_schemas: bool,
    value_schemas: bool,
    classes: ConverterClasses,
    fields_read: FieldsRead,
}

/// The chain's [`Chain::value_fields_read`] per value schema, as the value converter asks for
/// it on every record: the last few schemas, by pointer (the converters share theirs).
#[derive(Default)]
struct FieldsRead(Vec<(Arc<Schema>, Option<ReadFlags>)>);

/// One flag per field of a struct schema.
type ReadFlags = Arc<[bool]>;

impl FieldsRead {
    const SCHEMAS: usize = 16;

    fn get(&mut self, chain: &Chain, schema: &Arc<Schema>) -> Option<ReadFlags> {
        if let Some((_, read)) = self.0.iter().find(|(s, _)| Arc::ptr_eq(s, schema)) {
            return read.clone();
        }
        let read: Option<ReadFlags> = chain.value_fields_read(schema).map(Into::into);
        if self.0.len() >= Self::SCHEMAS {
            self.0.remove(0);
        }
        self.0.push((schema.clone(), read.clone()));
        read
    }
}

impl RecordStage {
    /// The records of a source batch, in order, each through the chain and the converters.
    /// `on_failure` decides about a failing record: `Ok(())` skips it (tolerated), `Err` stops.
    pub(crate) fn source_batch(
        &mut self,
        batch: &SourceBatch,
        out: &mut Vec<ProducerRecord>,
        mut on_failure: impl FnMut(usize, StageFailure) -> Result<()>,
    ) -> Result<()> {
        for (i, row) in batch.rows().enumerate().take(batch.len()) {
            let tombstone = batch.tombstones.get(i).copied().unwrap_or(false);
            let key = match &batch.keys {
                Some(keys) => {
                    let key_width = keys.schema.fields.len();
                    Part::new(
                        Some(keys.schema.clone()),
                        Value::Struct(keys.values[i * key_width..(i + 1) * key_width].to_vec()),
                    )
                }
                None => Part::NULL,
            };
            let value = if tombstone {
                Part::NULL
            } else {
                Part::new(Some(batch.schema.clone()), Value::Struct(row.to_vec()))
            };
            let record = Record {
                key,
                ..Record::new(batch.topic.clone(), value)
            };
            match self.source_record(record) {
                Ok(Some(record)) => out.push(record),
                Ok(None) => {}
                Err(failure) => on_failure(i, failure)?,
            }
        }
        Ok(())
    }

    /// One source record: transformed, then converted.
    fn source_record(
        &mut self,
        record: Record,
    ) -> std::result::Result<Option<ProducerRecord>, StageFailure> {
        let Some(record) = self.chain.apply(record)? else {
            return Ok(None);
        };
        let classes = self.classes;
        let key = self
            .key
            .from_connect(&record.topic, &record.key)
            .map_err(classes.fail(FailureStage::KeyConverter))?;
        let value = self
            .value
            .from_connect(&record.topic, &record.value)
            .map_err(classes.fail(FailureStage::ValueConverter))?;
        let mut headers = Vec::with_capacity(record.headers.len());
        for header in &record.headers {
            let part = Part::new(header.schema.clone(), header.value.clone());
            let bytes = self
                .header
                .from_connect(&record.topic, &part)
                .map_err(classes.fail(FailureStage::HeaderConverter))?;
            headers.push((header.key.clone(), bytes));
        }
        Ok(Some(ProducerRecord {
            topic: record.topic,
            partition: record.partition,
            key,
            value,
            headers,
            timestamp: record.timestamp,
        }))
    }

    /// Whether the task is handed keys / values with schemas (`key_data`, `value_data`) rather
    /// than plain JSON bytes to read itself (JsonConverter with `schemas.enable=false`).
    pub(crate) fn schemas(&self) -> (bool, bool) {
        (self.key_schemas, self.value_schemas)
    }

    /// A consumed record: converted, transformed, and handed back in the task's terms. `Ok(false)`
    /// when a transformation dropped it. On failure the record is left as consumed (for the
    /// dead-letter topic).
    pub(crate) fn sink_record(
        &mut self,
        record: &mut SinkRecord,
    ) -> std::result::Result<bool, StageFailure> {
        let classes = self.classes;
        let topic = record.topic.clone();
        let key = self
            .key
            .to_connect(&topic, record.key.as_deref())
            .map_err(classes.fail(FailureStage::KeyConverter))?;
        let (chain, cache) = (&self.chain, &mut self.fields_read);
        let value = self
            .value
            .to_connect_fields(&topic, record.value.as_deref(), &mut |schema| {
                cache.get(chain, schema)
            })
            .map_err(classes.fail(FailureStage::ValueConverter))?;
        let mut headers = Vec::with_capacity(record.headers.len());
        for (name, bytes) in &record.headers {
            let part = self
                .header
                .to_connect(&topic, bytes.as_deref())
                .map_err(classes.fail(FailureStage::HeaderConverter))?;
            headers.push(Header {
                key: name.clone(),
                schema: part.schema,
                value: part.value,
            });
        }
        let transformed = Record {
            topic: topic.clone(),
            partition: Some(record.partition),
            offset: Some(record.offset),
            key,
            value,
            timestamp: record.timestamp_ms,
            headers,
        };
        let Some(out) = self.chain.apply(transformed)? else {
            return Ok(false);
        };
        let Record {
            topic: out_topic,
            key: out_key,
            value: out_value,
            ..
        } = out;
        let key = for_task(out_key, self.key_schemas)
            .map_err(classes.fail(FailureStage::KeyConverter))?;
        let value = for_task(out_value, self.value_schemas)
            .map_err(classes.fail(FailureStage::ValueConverter))?;
        // The consumed bytes and headers stay for the dead-letter topic (the JDBC sink reads no
        // headers), unless the task reads plain JSON.
        record.topic = out_topic;
        record.key_data = key.0;
        if !self.key_schemas {
            record.key = key.1;
        }
        record.value_data = value.0;
        if !self.value_schemas {
            record.value = value.1;
        }
        Ok(true)
    }
}

/// A transformed key or value as the task reads it: with `schemas`, converted data; without,
/// plain JSON bytes for the task to read against its own schema.
fn for_task(part: Part, schemas: bool) -> Result<(Option<Data>, Option<Bytes>)> {
    if part.value.is_null() {
        return Ok((None, None));
    }
    if !schemas {
        let mut out = Vec::new();
        match &part.schema {
            Some(schema) => encode::write_connect(
                &mut out,
                schema,
                &part.value,
                false,
                true,
                &mut encode::Scratch::default(),
            )?,
            None => encode::write_schemaless(&mut out, &part.value)?,
        }
        return Ok((None, Some(Bytes::from(out))));
    }
    let Some(schema) = &part.schema else {
        return Err(Error::new(
            ErrorKind::Conversion,
            "the record has no schema after its transformations, and the task needs one \
             (schemas.enable=true)",
        ));
    };
    let schema = schema.clone();
    let values = match (part.value, schema.ty) {
        (Value::Struct(values), SchemaType::Struct) => values,
        (value, _) => vec![value],
    };
    Ok((Some(Data { schema, values }), None))
}

/// The converter classes of a stage, for dead-letter headers.
#[derive(Debug, Clone, Copy)]
struct ConverterClasses {
    key: &'static str,
    value: &'static str,
    header: &'static str,
}

impl ConverterClasses {
    /// Names a converter's failure at `stage` (a converter stage) with that converter's class.
    fn fail(self, stage: FailureStage) -> impl FnOnce(Error) -> StageFailure {
        let class = match stage {
            FailureStage::KeyConverter => self.key,
            FailureStage::HeaderConverter => self.header,
            _ => self.value,
        };
        move |error| StageFailure {
            stage,
            class,
            error,
        }
    }
}

impl From<&Converters> for ConverterClasses {
    fn from(converters: &Converters) -> Self {
        ConverterClasses {
            key: converters.key.class,
            value: converters.value.class,
            header: converters.header.class,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fast paths read JsonConverter's settings as the worker and the connector give them.
    #[test]
    fn json_settings_follow_worker_and_connector_keys() {
        let worker = WorkerConfig::from_map(
            [
                ("value.converter.schemas.enable", "false"),
                ("key.converter.decimal.format", "NUMERIC"),
            ]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        )
        .unwrap();
        let stage = RecordStageConfig::new(&BTreeMap::new(), &worker).unwrap();
        let pair = |s: JsonSettings| (s.schemas_enable, s.decimal_numeric);
        assert!(stage.is_fast_json());
        assert_eq!(pair(stage.json_settings(Role::Value)), (false, false));
        assert_eq!(pair(stage.json_settings(Role::Key)), (true, true));
        let connector: BTreeMap<String, String> = [(
            "value.converter".to_string(),
            "org.apache.kafka.connect.storage.StringConverter".to_string(),
        )]
        .into();
        let stage = RecordStageConfig::new(&connector, &worker).unwrap();
        assert!(!stage.is_fast_json());
        assert_eq!(pair(stage.json_settings(Role::Value)), (true, false));
    }

    /// A Debezium change event as JsonConverter writes it, `source` given as `source_json`.
    fn change_event(source_json: &str) -> Bytes {
        let row = r#"{"type":"struct","fields":[{"type":"int32","optional":false,"field":"id"},{"type":"string","optional":true,"field":"name"}],"optional":true,"name":"db.inv.t.Value","field":"%"}"#;
        let schema = format!(
            r#"{{"type":"struct","fields":[{},{},{{"type":"struct","fields":[{{"type":"string","optional":false,"field":"db"}},{{"type":"int64","optional":false,"field":"ts_ms"}}],"optional":false,"name":"io.debezium.connector.mysql.Source","field":"source"}},{{"type":"string","optional":false,"field":"op"}}],"optional":false,"name":"db.inv.t.Envelope"}}"#,
            row.replace('%', "before"),
            row.replace('%', "after")
        );
        Bytes::from(format!(
            r#"{{"schema":{schema},"payload":{{"before":null,"after":{{"id":2,"name":"b"}},"source":{source_json},"op":"c"}}}}"#
        ))
    }

    fn sink_record(value: Bytes) -> SinkRecord {
        SinkRecord {
            topic: "db.inv.t".into(),
            partition: 0,
            offset: 0,
            timestamp_ms: None,
            key: None,
            value: Some(value),
            headers: Vec::new(),
            key_data: None,
            value_data: None,
        }
    }

    /// With `ExtractNewRecordState` first, the value converter reads the envelope's `before` and
    /// `after` (and what `add.fields` names), not `source`: a second event whose `source` the
    /// converter would refuse still unwraps, unless `add.fields` reads `source`.
    #[test]
    fn extract_new_record_state_first_reads_only_the_row_and_what_it_adds() {
        let worker = WorkerConfig::from_map(Default::default()).unwrap();
        let config = |add_fields: &str| -> BTreeMap<String, String> {
            [
                ("transforms", "unwrap"),
                (
                    "transforms.unwrap.type",
                    "io.debezium.transforms.ExtractNewRecordState",
                ),
                ("transforms.unwrap.add.fields", add_fields),
            ]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
        };
        let good = change_event(r#"{"db":"inv","ts_ms":1700000000000}"#);
        let bad_source = change_event(r#"{"db":7,"ts_ms":"later"}"#);

        let mut stage = RecordStageConfig::new(&config(""), &worker)
            .unwrap()
            .build()
            .unwrap();
        for bytes in [good.clone(), bad_source.clone()] {
            let mut record = sink_record(bytes);
            assert!(stage.sink_record(&mut record).unwrap());
            let data = record.value_data.expect("a row");
            assert_eq!(data.schema.name.as_deref(), Some("db.inv.t.Value"));
            assert!(!data.schema.optional);
            assert_eq!(data.values, vec![Value::Int(2), Value::text("b")]);
        }

        let mut stage = RecordStageConfig::new(&config("op,source.ts_ms"), &worker)
            .unwrap()
            .build()
            .unwrap();
        let mut record = sink_record(good);
        assert!(stage.sink_record(&mut record).unwrap());
        let data = record.value_data.expect("a row");
        let names: Vec<&str> = data.schema.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["id", "name", "__op", "__source_ts_ms"]);
        assert_eq!(
            data.values,
            vec![
                Value::Int(2),
                Value::text("b"),
                Value::text("c"),
                Value::Int(1_700_000_000_000)
            ]
        );
        let failure = stage
            .sink_record(&mut sink_record(bad_source))
            .expect_err("source is read, and is not its schema");
        assert_eq!(failure.stage, FailureStage::ValueConverter);
    }
}
