//! Support of the Helm conformance tests: the cases file, the reference helm, comparison of
//! outputs with random lines, classification of errors.

pub mod cases;
pub mod compare;
pub mod errors;
pub mod helm;
