//! Gzip tar archives of sources: safe extraction (an `OCIRepository` layer with
//! `operation: extract`), and a `HelmChart`'s `valuesFiles` merged into its chart archive.
//!
//! Guarantees:
//! - extraction writes only regular files and directories under the destination: absolute
//!   paths and `..` are refused, links and devices skipped; the uncompressed size is bounded
//!   (counted while reading, so a gzip bomb stops at the limit) and so is the number of
//!   entries ([`MAX_ENTRIES`]);
//! - a rewritten chart keeps every entry of the original (names, modes, times, order) and
//!   replaces or adds only `<chart>/values.yaml`.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Component, Path};

use ballast_helm::Value;

use crate::remote::ChartSourceError;

/// Entries read from one archive at most.
pub const MAX_ENTRIES: usize = 100_000;

/// Extracts a `.tar.gz` into `dest` (created if missing); returns the bytes written.
pub fn extract_tgz(bytes: &[u8], dest: &Path, max_size: u64) -> Result<u64, ChartSourceError> {
    let local = |e: std::io::Error| ChartSourceError::Invalid(format!("{}: {e}", dest.display()));
    std::fs::create_dir_all(dest).map_err(local)?;
    let mut written = 0u64;
    for_each_entry(bytes, max_size, |path, kind, mode, data| {
        let Some(rel) = safe_path(path)? else { return Ok(()) };
        let target = dest.join(rel);
        match kind {
            EntryKind::Dir => std::fs::create_dir_all(&target).map_err(local)?,
            EntryKind::File => {
                if let Some(parent) = target.parent() {
                    std::fs::create_dir_all(parent).map_err(local)?;
                }
                let mut f = std::fs::File::create(&target).map_err(local)?;
                f.write_all(data).map_err(local)?;
                set_mode(&target, if mode & 0o111 != 0 { 0o755 } else { 0o644 });
                written += data.len() as u64;
            }
            EntryKind::Other => {}
        }
        Ok(())
    })?;
    Ok(written)
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode));
}

#[cfg(not(unix))]
fn set_mode(_: &Path, _: u32) {}

#[derive(Clone, Copy, PartialEq, Eq)]
enum EntryKind {
    File,
    Dir,
    Other,
}

/// Calls `f(path, kind, mode, data)` for every entry, reading at most `max_size` bytes of
/// content in total.
fn for_each_entry(
    bytes: &[u8],
    max_size: u64,
    mut f: impl FnMut(&str, EntryKind, u32, &[u8]) -> Result<(), ChartSourceError>,
) -> Result<(), ChartSourceError> {
    let bad = |e: std::io::Error| ChartSourceError::Invalid(format!("not a gzip tar archive: {e}"));
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(bytes));
    let mut total = 0u64;
    for (count, entry) in archive.entries().map_err(bad)?.enumerate() {
        if count >= MAX_ENTRIES {
            return Err(ChartSourceError::Invalid(format!(
                "the archive has more than {MAX_ENTRIES} entries; refused"
            )));
        }
        let mut entry = entry.map_err(bad)?;
        let path = entry.path().map_err(bad)?.to_string_lossy().into_owned();
        let kind = match entry.header().entry_type() {
            t if t.is_file() => EntryKind::File,
            t if t.is_dir() => EntryKind::Dir,
            _ => EntryKind::Other,
        };
        let mode = entry.header().mode().unwrap_or(0o644);
        let mut data = Vec::new();
        if kind == EntryKind::File {
            let room = max_size.saturating_sub(total);
            (&mut entry).take(room + 1).read_to_end(&mut data).map_err(bad)?;
            total += data.len() as u64;
            if total > max_size {
                return Err(ChartSourceError::Invalid(format!(
                    "the archive holds more than {max_size} bytes; refused"
                )));
            }
        }
        f(&path, kind, mode, &data)?;
    }
    Ok(())
}

/// `path` as a relative path without `..`, `None` for the archive root, an error otherwise.
fn safe_path(path: &str) -> Result<Option<&Path>, ChartSourceError> {
    let p = Path::new(path);
    let mut normal = 0;
    for c in p.components() {
        match c {
            Component::Normal(_) => normal += 1,
            Component::CurDir => {}
            _ => {
                return Err(ChartSourceError::Invalid(format!(
                    "the archive entry {path:?} leaves the destination; refused"
                )));
            }
        }
    }
    Ok((normal > 0).then_some(p))
}

/// The chart archive with its `values.yaml` replaced by `files` (paths relative to the chart
/// root, e.g. `values.yaml`, `values-prod.yaml`) deep-merged in order, later files winning,
/// as Flux's `valuesFiles` does (the chart's `values.yaml` counts only if listed). A missing
/// file is an error unless `ignore_missing`; returns the new archive and the files used.
pub fn with_values_files(
    chart_tgz: &[u8],
    files: &[&str],
    ignore_missing: bool,
    max_size: u64,
) -> Result<(Vec<u8>, Vec<String>), ChartSourceError> {
    let mut entries: Vec<(tar::Header, String, Vec<u8>)> = Vec::new();
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(chart_tgz));
    let bad = |e: std::io::Error| ChartSourceError::Invalid(format!("chart archive: {e}"));
    let mut total = 0u64;
    for (count, entry) in archive.entries().map_err(bad)?.enumerate() {
        if count >= MAX_ENTRIES {
            return Err(ChartSourceError::Invalid("chart archive: too many entries".into()));
        }
        let mut entry = entry.map_err(bad)?;
        let path = entry.path().map_err(bad)?.to_string_lossy().into_owned();
        let header = entry.header().clone();
        let mut data = Vec::new();
        (&mut entry)
            .take(max_size.saturating_sub(total) + 1)
            .read_to_end(&mut data)
            .map_err(bad)?;
        total += data.len() as u64;
        if total > max_size {
            return Err(ChartSourceError::Invalid(format!(
                "chart archive: more than {max_size} bytes; refused"
            )));
        }
        entries.push((header, path, data));
    }
    let root = entries
        .iter()
        .find_map(|(_, p, _)| p.strip_suffix("/Chart.yaml").filter(|r| !r.contains('/')))
        .ok_or_else(|| ChartSourceError::Invalid("chart archive: no <chart>/Chart.yaml".into()))?
        .to_string();
    let by_path: BTreeMap<&str, &[u8]> = entries.iter().map(|(_, p, d)| (p.as_str(), d.as_slice())).collect();
    let mut merged = Value::empty_map();
    let mut used = Vec::new();
    for file in files {
        let rel = file.trim_start_matches("./");
        let full = format!("{root}/{rel}");
        let Some(data) = by_path.get(full.as_str()) else {
            if ignore_missing {
                continue;
            }
            return Err(ChartSourceError::NotFound(format!(
                "values file {file:?} not found in chart {root}"
            )));
        };
        let text = std::str::from_utf8(data)
            .map_err(|_| ChartSourceError::Invalid(format!("values file {file:?}: not UTF-8")))?;
        let values = ballast_helm::yaml::parse_values(text)
            .map_err(|e| ChartSourceError::Invalid(format!("values file {file:?}: {e}")))?;
        merged = ballast_helm::values::merge_maps(&merged, &values);
        used.push(file.to_string());
    }
    let yaml =
        ballast_helm::yaml::to_yaml(&merged).map_err(|e| ChartSourceError::Invalid(format!("merged values: {e}")))?;
    let values_path = format!("{root}/values.yaml");
    let mut out = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::default(),
    ));
    let io = |e: std::io::Error| ChartSourceError::Invalid(format!("writing the chart archive: {e}"));
    let mut replaced = false;
    for (mut header, path, data) in entries {
        let data = if path == values_path {
            replaced = true;
            yaml.as_bytes().to_vec()
        } else {
            data
        };
        header.set_size(data.len() as u64);
        out.append_data(&mut header, &path, data.as_slice()).map_err(io)?;
    }
    if !replaced {
        let mut header = tar::Header::new_gnu();
        header.set_mode(0o644);
        header.set_size(yaml.len() as u64);
        out.append_data(&mut header, &values_path, yaml.as_bytes())
            .map_err(io)?;
    }
    let bytes = out.into_inner().and_then(|gz| gz.finish()).map_err(io)?;
    Ok((bytes, used))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tgz(files: &[(&str, &[u8], u32)]) -> Vec<u8> {
        let mut b = tar::Builder::new(flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast()));
        for (path, data, mode) in files {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(*mode);
            h.set_entry_type(tar::EntryType::Regular);
            // `append_data` refuses `..`; write the name into the header directly.
            h.as_gnu_mut().unwrap().name[..path.len()].copy_from_slice(path.as_bytes());
            h.set_cksum();
            b.append(&h, *data).unwrap();
        }
        b.into_inner().unwrap().finish().unwrap()
    }

    #[test]
    fn extraction_writes_files_and_refuses_escapes_and_bombs() {
        let dir = tempfile::tempdir().unwrap();
        let a = tgz(&[("x/a.yaml", b"a: 1\n", 0o644), ("x/run.sh", b"#!/bin/sh\n", 0o755)]);
        assert_eq!(extract_tgz(&a, dir.path(), 1 << 20).unwrap(), 15);
        assert_eq!(std::fs::read(dir.path().join("x/a.yaml")).unwrap(), b"a: 1\n");
        let escape = tgz(&[("../evil", b"x", 0o644)]);
        let e = extract_tgz(&escape, &dir.path().join("y"), 1 << 20)
            .unwrap_err()
            .to_string();
        assert!(e.contains("leaves the destination"), "{e}");
        assert!(!dir.path().join("evil").exists());
        let big = tgz(&[("big", &[0u8; 4096], 0o644)]);
        let e = extract_tgz(&big, &dir.path().join("z"), 1000).unwrap_err().to_string();
        assert!(e.contains("more than 1000 bytes"), "{e}");
        assert!(extract_tgz(b"not gzip", &dir.path().join("w"), 10).is_err());
    }

    #[test]
    fn values_files_merge_in_order_into_values_yaml() {
        let chart = tgz(&[
            ("web/Chart.yaml", b"apiVersion: v2\nname: web\nversion: 1.0.0\n", 0o644),
            (
                "web/values.yaml",
                b"image:\n  tag: v1\n  pull: Always\nreplicas: 1\n",
                0o644,
            ),
            ("web/values-prod.yaml", b"image:\n  tag: v2\nreplicas: 3\n", 0o644),
        ]);
        let (out, used) = with_values_files(&chart, &["values.yaml", "values-prod.yaml"], false, 1 << 20).unwrap();
        assert_eq!(used, ["values.yaml", "values-prod.yaml"]);
        let mut files = BTreeMap::new();
        for_each_entry(&out, 1 << 20, |p, _, _, d| {
            files.insert(p.to_string(), String::from_utf8(d.to_vec()).unwrap());
            Ok(())
        })
        .unwrap();
        assert_eq!(
            files["web/values.yaml"],
            "image:\n  pull: Always\n  tag: v2\nreplicas: 3\n"
        );
        assert_eq!(files.len(), 3);

        // Only the listed files count; a missing one fails unless ignored.
        let (out, used) = with_values_files(&chart, &["values-prod.yaml", "nope.yaml"], true, 1 << 20).unwrap();
        assert_eq!(used, ["values-prod.yaml"]);
        let dir = tempfile::tempdir().unwrap();
        extract_tgz(&out, dir.path(), 1 << 20).unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join("web/values.yaml")).unwrap(),
            "image:\n  tag: v2\nreplicas: 3\n"
        );
        let e = with_values_files(&chart, &["nope.yaml"], false, 1 << 20)
            .unwrap_err()
            .to_string();
        assert!(e.contains("nope.yaml") && e.contains("web"), "{e}");
    }
}
