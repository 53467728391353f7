//! `org.apache.kafka.connect.transforms.Filter`: drops every record it is applied to. Used with
//! a predicate (`transforms.f.predicate`), it drops exactly the records that match (or, with
//! `negate=true`, the ones that do not).

use crate::config::{Config, ConfigDef, ConfigError};
use crate::error::Result;
use crate::model::record::Record;

use super::Transformation;

pub(crate) fn config_def() -> &'static ConfigDef {
    super::registry::no_keys()
}

/// Drops every record.
pub(crate) struct Filter;

pub(crate) fn build(_: &Config) -> Result<Filter, ConfigError> {
    Ok(Filter)
}

impl Transformation for Filter {
    fn apply(&mut self, _: Record) -> Result<Option<Record>> {
        Ok(None)
    }
}
