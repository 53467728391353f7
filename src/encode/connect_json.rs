//! JsonConverter-compatible encoder (being written).
