//! toml (to be written).
