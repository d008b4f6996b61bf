//! Helm values: files, the `--set` family, coalescing (to be written).
