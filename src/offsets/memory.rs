//! An in-memory offset store for unit tests.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;
use serde_json::Value as Json;

use super::{OffsetReader, OffsetStore, offset_key};
use crate::error::Result;

/// Offsets held in memory, keyed by the serialized Connect key.
#[derive(Default)]
pub(crate) struct MemoryOffsetStore {
    entries: Mutex<BTreeMap<String, (String, Json, Json)>>,
}

impl MemoryOffsetStore {
    pub(crate) fn new() -> Self {
        MemoryOffsetStore::default()
    }
}

#[async_trait]
impl OffsetReader for MemoryOffsetStore {
    async fn offset(&self, connector: &str, partition: &Json) -> Result<Option<Json>> {
        let entries = self.entries.lock().expect("offsets lock");
        Ok(entries
            .get(&offset_key(connector, partition))
            .map(|(_, _, offset)| offset.clone()))
    }
}

#[async_trait]
impl OffsetStore for MemoryOffsetStore {
    async fn put(&self, connector: &str, entries: &[(Json, Option<Json>)]) -> Result<()> {
        let mut map = self.entries.lock().expect("offsets lock");
        for (partition, offset) in entries {
            let key = offset_key(connector, partition);
            match offset {
                Some(offset) => {
                    map.insert(
                        key,
                        (connector.to_string(), partition.clone(), offset.clone()),
                    );
                }
                None => {
                    map.remove(&key);
                }
            }
        }
        Ok(())
    }

    async fn all(&self, connector: &str) -> Result<Vec<(Json, Json)>> {
        let map = self.entries.lock().expect("offsets lock");
        Ok(map
            .values()
            .filter(|(c, _, _)| c == connector)
            .map(|(_, p, o)| (p.clone(), o.clone()))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[tokio::test]
    async fn put_get_delete() {
        let store = MemoryOffsetStore::new();
        let p = json!({"protocol":"1","table":"db.t"});
        store
            .put("c", &[(p.clone(), Some(json!({"incrementing":5})))])
            .await
            .unwrap();
        assert_eq!(
            store.offset("c", &p).await.unwrap(),
            Some(json!({"incrementing":5}))
        );
        assert_eq!(store.offset("other", &p).await.unwrap(), None);
        assert_eq!(store.all("c").await.unwrap().len(), 1);
        store.put("c", &[(p.clone(), None)]).await.unwrap();
        assert_eq!(store.offset("c", &p).await.unwrap(), None);
    }
}
