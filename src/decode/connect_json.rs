//! JsonConverter-compatible decoder (being written).
