//! files (to be written).
