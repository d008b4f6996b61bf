//! A `HelmChart` from a path of a `GitRepository` (or any extracted source): the chart
//! directory packaged into an archive, as `helm package` lays it out.
//!
//! Guarantees:
//! - the files are those Helm loads: `.helmignore` rules (and Helm's defaults) apply, the
//!   chart is validated by loading it with the native engine before it is packaged, and
//!   every dependency of `Chart.yaml` must be vendored in `charts/` (building dependencies
//!   from repositories is not done here);
//! - symbolic links are followed only when they stay inside the source root; entries are
//!   `<chart name>/<path>`, in sorted order, with modes 0644/0755 and a fixed time, so the same
//!   tree gives the same archive bytes and digest;
//! - [`package_chart_dir_with_dependencies`] fetches what `charts/` lacks (`file://` paths
//!   that stay inside the source, HTTP repositories and `oci://` registries by URL), as Flux
//!   does when it builds a chart from a source;
//! - with version metadata (Flux's `reconcileStrategy: Revision`), `Chart.yaml`'s version
//!   becomes `<version>+<metadata>`.

use std::io::Write;
use std::path::{Path, PathBuf};

use ballast_helm::Value;
use ballast_helm::chart::archive::BufferedFile;
use ballast_helm::chart::ignore::Rules;

use std::sync::Arc;

use crate::helm_repo::{ChartArtifact, HelmRepositoryClient, HelmRepositoryOptions, IndexCache};
use crate::oci::{OciClient, OciOptions};
use crate::remote::{ChartSourceError, sha256_digest};

/// Files read from one chart directory at most.
const MAX_FILES: usize = 10_000;
/// Directory depth followed at most.
const MAX_DEPTH: usize = 64;

/// Packages the chart at `root/path`. `version_metadata` (e.g. the first 12 hex digits of a
/// commit) is appended to the version as build metadata; `max_size` bounds the files read.
pub fn package_chart_dir(
    root: &Path,
    path: &str,
    version_metadata: Option<&str>,
    max_size: u64,
) -> Result<ChartArtifact, ChartSourceError> {
    let (dir, files, chart) = collect(root, path, max_size)?;
    ballast_helm::chart::check_dependencies(&chart)
        .map_err(|e| ChartSourceError::Invalid(format!("chart at {path:?}: {e}")))?;
    finish(&dir, files, &chart, version_metadata)
}

/// Where the dependencies a chart does not vendor are fetched from (Flux builds them when it
/// packages a chart from a source): `file://` paths inside the source, HTTP repositories and
/// `oci://` registries by URL, each with these settings.
#[derive(Default)]
pub struct DependencySources {
    /// Settings for HTTP repositories named by URL.
    pub http: HelmRepositoryOptions,
    /// Settings for `oci://` registries.
    pub oci: OciOptions,
    /// The index cache to use.
    pub index_cache: Arc<IndexCache>,
}

/// Dependencies fetched for one chart at most.
pub const MAX_DEPENDENCIES: usize = 64;

/// Like [`package_chart_dir`], but the dependencies of `Chart.yaml` missing from `charts/`
/// are fetched (at the newest version matching their range) and added to the archive as
/// `charts/<name>-<version>.tgz`. Repository names (`@name`, `alias:name`) are refused: they
/// name a local helm configuration a controller does not have.
pub async fn package_chart_dir_with_dependencies(
    root: &Path,
    path: &str,
    version_metadata: Option<&str>,
    max_size: u64,
    sources: &DependencySources,
) -> Result<ChartArtifact, ChartSourceError> {
    let (dir, mut files, chart) = collect(root, path, max_size)?;
    let missing: Vec<_> = chart
        .metadata
        .dependencies
        .iter()
        .filter(|d| !chart.dependencies.iter().any(|c| c.metadata.name == d.name))
        .collect();
    if missing.len() > MAX_DEPENDENCIES {
        return Err(ChartSourceError::Invalid(format!(
            "chart at {path:?}: more than {MAX_DEPENDENCIES} dependencies to fetch"
        )));
    }
    let root = root
        .canonicalize()
        .map_err(|e| ChartSourceError::Invalid(format!("{}: {e}", root.display())))?;
    let limit = sources.http.limits.max_chart_size;
    for dep in missing {
        let repo = dep.repository.trim();
        let what = |e: ChartSourceError| {
            ChartSourceError::Invalid(format!("chart at {path:?}: dependency {:?} ({repo}): {e}", dep.name))
        };
        let fetched = if let Some(rel) = repo.strip_prefix("file://") {
            let target = dir
                .join(rel)
                .canonicalize()
                .map_err(|e| what(ChartSourceError::Invalid(e.to_string())))?;
            let inside = target
                .strip_prefix(&root)
                .map_err(|_| what(ChartSourceError::Invalid("the path leaves the source".into())))?;
            package_chart_dir(&root, &inside.to_string_lossy(), None, max_size).map_err(what)?
        } else if repo.starts_with("oci://") {
            let client = OciClient::new(sources.oci.clone()).map_err(what)?;
            client
                .fetch_chart(repo, &dep.name, &dep.version, limit)
                .await
                .map_err(what)?
        } else if repo.starts_with("http://") || repo.starts_with("https://") {
            let client = HelmRepositoryClient::new(repo, sources.http.clone()).map_err(what)?;
            let index = client.index(&sources.index_cache).await.map_err(what)?;
            client
                .fetch_chart(&index, &dep.name, &dep.version)
                .await
                .map_err(what)?
        } else {
            return Err(what(ChartSourceError::Invalid(
                "only file://, http(s):// and oci:// repositories can be fetched; vendor it in charts/".into(),
            )));
        };
        files.push((
            format!("charts/{}-{}.tgz", fetched.name, fetched.version),
            fetched.bytes,
            false,
        ));
    }
    finish_with_dependencies(&dir, files, path, version_metadata)
}

/// The dependencies of the chart directory `dir`'s `Chart.yaml` that its `charts/` lacks
/// (at most [`MAX_DEPENDENCIES`]), for a caller that fetches them itself.
pub fn missing_dependencies(dir: &Path) -> Result<Vec<ballast_helm::chart::Dependency>, ChartSourceError> {
    let (_, _, chart) = collect(dir, ".", MAX_SIZE_FOR_LISTING)?;
    let missing: Vec<_> = chart
        .metadata
        .dependencies
        .iter()
        .filter(|d| !chart.dependencies.iter().any(|c| c.metadata.name == d.name))
        .cloned()
        .collect();
    if missing.len() > MAX_DEPENDENCIES {
        return Err(ChartSourceError::Invalid(format!(
            "chart at {}: more than {MAX_DEPENDENCIES} dependencies to fetch",
            dir.display()
        )));
    }
    Ok(missing)
}

/// Files of a chart directory read at most by [`missing_dependencies`].
const MAX_SIZE_FOR_LISTING: u64 = 256 << 20;

/// Packages the chart directory `dir` with `archives` (name, version, `.tgz` bytes) added
/// as `charts/<name>-<version>.tgz`: what [`package_chart_dir_with_dependencies`] does with
/// dependencies a caller fetched itself. The result is checked: every dependency present.
pub fn package_chart_dir_with_archives(
    dir: &Path,
    archives: Vec<(String, String, Vec<u8>)>,
    max_size: u64,
) -> Result<ChartArtifact, ChartSourceError> {
    let (dir, mut files, _) = collect(dir, ".", max_size)?;
    for (name, version, bytes) in archives {
        files.push((format!("charts/{name}-{version}.tgz"), bytes, false));
    }
    finish_with_dependencies(&dir, files, &dir.display().to_string(), None)
}

/// Loads the chart files with their added dependencies, checks them and writes the archive.
fn finish_with_dependencies(
    dir: &Path,
    files: Files,
    path: &str,
    version_metadata: Option<&str>,
) -> Result<ChartArtifact, ChartSourceError> {
    let loaded: Vec<BufferedFile> = files
        .iter()
        .map(|(name, data, _)| BufferedFile {
            name: name.clone(),
            data: bytes::Bytes::copy_from_slice(data),
        })
        .collect();
    let chart = ballast_helm::chart::load_files(loaded)
        .map_err(|e| ChartSourceError::Invalid(format!("chart at {path:?} with its dependencies: {e}")))?;
    ballast_helm::chart::check_dependencies(&chart)
        .map_err(|e| ChartSourceError::Invalid(format!("chart at {path:?}: {e}")))?;
    finish(dir, files, &chart, version_metadata)
}

type Files = Vec<(String, Vec<u8>, bool)>;

/// The chart directory, its files as Helm loads them, and the loaded chart.
fn collect(root: &Path, path: &str, max_size: u64) -> Result<(PathBuf, Files, ballast_helm::Chart), ChartSourceError> {
    let rel = Path::new(path.trim_start_matches("./").trim_start_matches('/'));
    if rel.components().any(|c| matches!(c, std::path::Component::ParentDir)) {
        return Err(ChartSourceError::Invalid(format!(
            "chart path {path:?} leaves the source"
        )));
    }
    let root = root
        .canonicalize()
        .map_err(|e| ChartSourceError::Invalid(format!("{}: {e}", root.display())))?;
    let dir = root.join(rel);
    if !dir.join("Chart.yaml").is_file() {
        return Err(ChartSourceError::NotFound(format!(
            "no chart at {path:?}: Chart.yaml not found"
        )));
    }
    let mut rules = match std::fs::read_to_string(dir.join(".helmignore")) {
        Ok(text) => Rules::parse(&text).map_err(|e| ChartSourceError::Invalid(format!("{path}/.helmignore: {e}")))?,
        Err(_) => Rules::default(),
    };
    rules.add_defaults();
    let mut files = Vec::new();
    let mut total = 0u64;
    walk(&root, &dir, "", &rules, &mut files, &mut total, max_size, 0)?;
    let loaded: Vec<BufferedFile> = files
        .iter()
        .map(|(name, data, _)| BufferedFile {
            name: name.clone(),
            data: bytes::Bytes::copy_from_slice(data),
        })
        .collect();
    let chart = ballast_helm::chart::load_files(loaded)
        .map_err(|e| ChartSourceError::Invalid(format!("chart at {path:?}: {e}")))?;
    Ok((dir, files, chart))
}

/// Applies the version metadata and writes the archive.
fn finish(
    dir: &Path,
    mut files: Files,
    chart: &ballast_helm::Chart,
    version_metadata: Option<&str>,
) -> Result<ChartArtifact, ChartSourceError> {
    let name = chart.metadata.name.clone();
    let mut version = chart.metadata.version.clone();
    if let Some(meta) = version_metadata.filter(|m| !m.is_empty()) {
        let meta: String = meta
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        let base = version.split('+').next().unwrap_or(&version).to_string();
        version = format!("{base}+{meta}");
        let chart_yaml = files
            .iter_mut()
            .find(|(n, _, _)| n == "Chart.yaml")
            .ok_or_else(|| ChartSourceError::Invalid("Chart.yaml vanished".into()))?;
        chart_yaml.1 = with_version(&chart_yaml.1, &version)?;
    }
    let bytes = write_archive(&name, &files)?;
    Ok(ChartArtifact {
        name,
        version,
        digest: sha256_digest(&bytes),
        url: format!("file://{}", dir.display()),
        bytes,
    })
}

/// The build metadata Flux's `reconcileStrategy: Revision` appends to a chart's version: the
/// first 12 hex digits of the source revision's commit or digest (`main@sha1:<hex>`,
/// `sha256:<hex>`, `<tag>@sha256:<hex>`), or the revision itself, sanitized, when it has none.
pub fn revision_metadata(revision: &str) -> String {
    let hex = revision.rsplit(':').next().unwrap_or(revision);
    if revision.contains(':') && hex.len() >= 12 && hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return hex[..12].to_string();
    }
    revision
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// `Chart.yaml` with its `version` replaced (the document re-emitted as Helm's YAML).
fn with_version(chart_yaml: &[u8], version: &str) -> Result<Vec<u8>, ChartSourceError> {
    let text =
        std::str::from_utf8(chart_yaml).map_err(|_| ChartSourceError::Invalid("Chart.yaml: not UTF-8".into()))?;
    let doc =
        ballast_helm::yaml::parse_document(text).map_err(|e| ChartSourceError::Invalid(format!("Chart.yaml: {e}")))?;
    let Value::Map(m) = &doc else {
        return Err(ChartSourceError::Invalid("Chart.yaml: not a mapping".into()));
    };
    m.borrow_mut().insert("version".into(), Value::str(version));
    ballast_helm::yaml::to_yaml(&doc)
        .map(String::into_bytes)
        .map_err(|e| ChartSourceError::Invalid(format!("Chart.yaml: {e}")))
}

#[allow(clippy::too_many_arguments)]
fn walk(
    root: &Path,
    dir: &Path,
    rel: &str,
    rules: &Rules,
    files: &mut Vec<(String, Vec<u8>, bool)>,
    total: &mut u64,
    max_size: u64,
    depth: usize,
) -> Result<(), ChartSourceError> {
    let io = |p: &Path, e: std::io::Error| ChartSourceError::Invalid(format!("{}: {e}", p.display()));
    if depth > MAX_DEPTH {
        return Err(ChartSourceError::Invalid(format!("{}: nested too deep", dir.display())));
    }
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map_err(|e| io(dir, e))?
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for name in names {
        let path: PathBuf = dir.join(&name);
        let n = if rel.is_empty() {
            name.clone()
        } else {
            format!("{rel}/{name}")
        };
        let real = path.canonicalize().map_err(|e| io(&path, e))?;
        if !real.starts_with(root) {
            // A link out of the source is never followed.
            continue;
        }
        let meta = std::fs::metadata(&real).map_err(|e| io(&path, e))?;
        if meta.is_dir() {
            if !rules.ignore(&n, true) {
                walk(root, &real, &n, rules, files, total, max_size, depth + 1)?;
            }
            continue;
        }
        if rules.ignore(&n, false) || !meta.is_file() {
            continue;
        }
        *total += meta.len();
        if *total > max_size || files.len() >= MAX_FILES {
            return Err(ChartSourceError::Invalid(format!(
                "the chart at {} is larger than {max_size} bytes or {MAX_FILES} files; refused",
                dir.display()
            )));
        }
        let data = std::fs::read(&real).map_err(|e| io(&path, e))?;
        files.push((n, data, is_executable(&meta)));
    }
    Ok(())
}

#[cfg(unix)]
fn is_executable(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
fn is_executable(_: &std::fs::Metadata) -> bool {
    false
}

fn write_archive(name: &str, files: &[(String, Vec<u8>, bool)]) -> Result<Vec<u8>, ChartSourceError> {
    let io = |e: std::io::Error| ChartSourceError::Invalid(format!("writing the chart archive: {e}"));
    let mut out = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::default(),
    ));
    for (path, data, exec) in files {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_mode(if *exec { 0o755 } else { 0o644 });
        header.set_mtime(0);
        header.set_size(data.len() as u64);
        out.append_data(&mut header, format!("{name}/{path}"), data.as_slice())
            .map_err(io)?;
    }
    let mut gz = out.into_inner().map_err(io)?;
    gz.flush().map_err(io)?;
    gz.finish().map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, rel: &str, text: &str) {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    fn names(tgz: &[u8]) -> Vec<String> {
        let mut a = tar::Archive::new(flate2::read::GzDecoder::new(tgz));
        a.entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn packages_what_helm_loads_deterministically() {
        let src = tempfile::tempdir().unwrap();
        write(
            src.path(),
            "charts/web/Chart.yaml",
            "apiVersion: v2\nname: web\nversion: 1.2.3\n",
        );
        write(src.path(), "charts/web/values.yaml", "a: 1\n");
        write(src.path(), "charts/web/templates/cm.yaml", "kind: ConfigMap\n");
        write(src.path(), "charts/web/.helmignore", "*.bak\n");
        write(src.path(), "charts/web/old.bak", "x\n");
        let a = package_chart_dir(src.path(), "./charts/web", None, 1 << 20).unwrap();
        assert_eq!((a.name.as_str(), a.version.as_str()), ("web", "1.2.3"));
        assert_eq!(
            names(&a.bytes),
            [
                "web/.helmignore",
                "web/Chart.yaml",
                "web/templates/cm.yaml",
                "web/values.yaml"
            ]
        );
        let b = package_chart_dir(src.path(), "charts/web", None, 1 << 20).unwrap();
        assert_eq!(a.digest, b.digest, "same tree, same archive");
        let loaded = ballast_helm::chart::load_archive(&a.bytes).unwrap();
        assert_eq!(loaded.metadata.version, "1.2.3");

        let r = package_chart_dir(src.path(), "charts/web", Some("0123456789ab"), 1 << 20).unwrap();
        assert_eq!(r.version, "1.2.3+0123456789ab");
        let loaded = ballast_helm::chart::load_archive(&r.bytes).unwrap();
        assert_eq!(loaded.metadata.version, "1.2.3+0123456789ab");
    }

    #[test]
    fn revision_metadata_is_the_short_commit_or_digest() {
        let c = "0123456789abcdef0123456789abcdef01234567";
        assert_eq!(revision_metadata(&format!("main@sha1:{c}")), "0123456789ab");
        assert_eq!(revision_metadata(&format!("sha256:{c}")), "0123456789ab");
        assert_eq!(revision_metadata(&format!("v1.0@sha256:{c}")), "0123456789ab");
        assert_eq!(revision_metadata("rev/1"), "rev-1");
    }

    #[test]
    fn bad_paths_and_charts_are_refused_clearly() {
        let src = tempfile::tempdir().unwrap();
        write(
            src.path(),
            "c/Chart.yaml",
            "apiVersion: v2\nname: c\nversion: 1.0.0\ndependencies:\n- name: redis\n  version: 1.x\n  repository: https://charts.example\n",
        );
        let e = package_chart_dir(src.path(), "../x", None, 1 << 20)
            .unwrap_err()
            .to_string();
        assert!(e.contains("leaves the source"), "{e}");
        let e = package_chart_dir(src.path(), "nope", None, 1 << 20)
            .unwrap_err()
            .to_string();
        assert!(e.contains("Chart.yaml not found"), "{e}");
        let e = package_chart_dir(src.path(), "c", None, 1 << 20)
            .unwrap_err()
            .to_string();
        assert!(e.contains("redis"), "{e}");
        write(src.path(), "d/Chart.yaml", "apiVersion: v2\nname: d\nversion: 1.0.0\n");
        write(src.path(), "d/big.txt", &"x".repeat(2000));
        let e = package_chart_dir(src.path(), "d", None, 1000).unwrap_err().to_string();
        assert!(e.contains("larger than 1000"), "{e}");
    }
}
