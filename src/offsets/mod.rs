//! Source offsets: the contract for reading and storing them, keyed exactly like Kafka
//! Connect's `connect-offsets` records (key `["<connector>",{partition}]`, value `{offset}`).

#[cfg(test)]
pub(crate) mod memory;
pub mod topic;

use async_trait::async_trait;
use serde_json::Value as Json;

use crate::error::Result;

/// Reads committed offsets.
#[async_trait]
pub trait OffsetReader: Send + Sync {
    /// The stored offset of `partition` for `connector`, if any.
    async fn offset(&self, connector: &str, partition: &Json) -> Result<Option<Json>>;
}

/// Stores offsets durably.
#[async_trait]
pub trait OffsetStore: OffsetReader {
    /// Stores `entries` (partition, offset; `None` deletes) for `connector`. Returns once they
    /// are durable, i.e. readable by a restarted worker.
    async fn put(&self, connector: &str, entries: &[(Json, Option<Json>)]) -> Result<()>;

    /// Every stored partition and offset of `connector`.
    async fn all(&self, connector: &str) -> Result<Vec<(Json, Json)>>;
}

/// The record key Connect writes for a source partition: `["<connector>",{partition}]`.
pub(crate) fn offset_key(connector: &str, partition: &Json) -> String {
    serde_json::to_string(&Json::Array(vec![
        Json::String(connector.to_string()),
        partition.clone(),
    ]))
    .unwrap_or_default()
}

/// Parses a Connect offsets-topic key back into (connector, partition).
pub(crate) fn parse_offset_key(key: &[u8]) -> Option<(String, Json)> {
    let Json::Array(mut items) = serde_json::from_slice(key).ok()? else {
        return None;
    };
    if items.len() != 2 {
        return None;
    }
    let partition = items.pop()?;
    let Json::String(connector) = items.pop()? else {
        return None;
    };
    Some((connector, partition))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_match_connect_bytes() {
        let key = offset_key(
            "jdbcsource",
            &json!({"protocol":"1","table":"sample.movies"}),
        );
        assert_eq!(
            key,
            r#"["jdbcsource",{"protocol":"1","table":"sample.movies"}]"#
        );
        let (connector, partition) = parse_offset_key(key.as_bytes()).unwrap();
        assert_eq!(connector, "jdbcsource");
        assert_eq!(partition, json!({"protocol":"1","table":"sample.movies"}));
        assert!(parse_offset_key(b"[1,2]").is_none());
        assert!(parse_offset_key(b"not json").is_none());
    }
}
