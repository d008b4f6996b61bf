//! semver (to be written).
