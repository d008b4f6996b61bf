//! Loading a chart from a directory, a `.tgz` file or archive bytes, as Helm's v2 loader.

use std::path::Path;

use ballast_gotemplate::Value;

use super::archive::{self, BufferedFile, MAX_CHART_SIZE, MAX_ENTRIES, MAX_FILE_SIZE};
use super::ignore::{HELM_IGNORE, Rules};
use super::metadata::{fill_metadata, validate};
use super::{Chart, ChartFile, Metadata};
use crate::Error;
use crate::values::go_io_error;

/// How deep subcharts may nest (`charts/a/charts/b/...`, archives included).
pub const MAX_NESTING: usize = 32;
/// The most bytes all archives of one chart (its own and those of nested subcharts)
/// decompress to together.
pub const MAX_TOTAL_SIZE: u64 = 256 * 1024 * 1024;

/// How deep directories are walked.
pub const MAX_DIR_DEPTH: usize = 64;

/// Loads the chart at `path`: a directory (with `.helmignore`) or a gzipped tar archive.
/// Subcharts in `charts/` (directories and `.tgz`) are loaded recursively. Then checks, as
/// `helm template` does, that every dependency listed in `Chart.yaml` is in `charts/`
/// (`found in Chart.yaml, but missing in charts/ directory: a, b`).
pub fn load(path: &Path) -> Result<Chart, Error> {
    let meta = std::fs::metadata(path).map_err(|e| Error(format!("stat {}: {}", path.display(), go_io_error(&e))))?;
    let chart = if meta.is_dir() {
        load_dir(path)?
    } else {
        load_file(path)?
    };
    check_dependencies(&chart)?;
    Ok(chart)
}

/// Every dependency of `Chart.yaml` must have a subchart of that name in `charts/`.
pub fn check_dependencies(chart: &Chart) -> Result<(), Error> {
    let missing: Vec<&str> = chart
        .metadata
        .dependencies
        .iter()
        .filter(|r| !chart.dependencies.iter().any(|d| d.metadata.name == r.name))
        .map(|r| r.name.as_str())
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(Error(format!(
        "an error occurred while checking for chart dependencies. You may need to run `helm dependency build` to fetch missing dependencies: found in Chart.yaml, but missing in charts/ directory: {}",
        missing.join(", ")
    )))
}

/// Loads a chart archive file (see [`load_archive`]).
pub fn load_file(path: &Path) -> Result<Chart, Error> {
    use std::io::Read;
    let f = std::fs::File::open(path).map_err(|e| Error(format!("open {}: {}", path.display(), go_io_error(&e))))?;
    // Room for the whole file at once (its size as the open file reports it, within the
    // limit): one read, no regrowing copies. A file that grows meanwhile is still read whole.
    let size = f.metadata().map_or(0, |m| m.len()).min(MAX_CHART_SIZE + 1);
    let mut data = Vec::with_capacity(size as usize + 1);
    f.take(MAX_CHART_SIZE + 1)
        .read_to_end(&mut data)
        .map_err(|e| Error(format!("read {}: {e}", path.display())))?;
    if data.len() as u64 > MAX_CHART_SIZE {
        return Err(Error(format!(
            "chart archive {} is larger than {MAX_CHART_SIZE} bytes",
            path.display()
        )));
    }
    if !data.starts_with(&[0x1f, 0x8b]) {
        return Err(Error(format!(
            "file '{}' does not appear to be a gzipped archive",
            path.display()
        )));
    }
    load_archive(&data)
}

/// Loads a chart from the bytes of a gzipped tar archive with one top directory, and checks
/// its dependencies are present (as [`load`]).
/// On a render worker, an archive of the same bytes as one loaded before is not unpacked again
/// (see [`crate::kept::chart`]).
pub fn load_archive(bytes: &[u8]) -> Result<Chart, Error> {
    let chart = crate::kept::chart(bytes, |bytes| load_archive_at(bytes, 0, &mut { MAX_TOTAL_SIZE }))?;
    check_dependencies(&chart)?;
    Ok(chart)
}

fn load_archive_at(bytes: &[u8], depth: usize, budget: &mut u64) -> Result<Chart, Error> {
    let files = archive::load_archive_files(bytes).map_err(Error)?;
    load_read_archive(files, depth, budget)
}

/// The chart of the files of an archive just read (see [`load_archive_at`]).
fn load_read_archive(files: Vec<BufferedFile>, depth: usize, budget: &mut u64) -> Result<Chart, Error> {
    let size: u64 = files.iter().map(|f| f.data.len() as u64).sum();
    if size > *budget {
        return Err(Error(format!(
            "chart archives (nested subcharts included) decompress to more than {MAX_TOTAL_SIZE} bytes"
        )));
    }
    *budget -= size;
    load_files_at(files, depth, budget)
}

/// Loads a chart directory (without the dependency check of [`load`]), skipping what `.helmignore` (plus `templates/.?*`) ignores.
/// Symbolic links are followed (directories at most 64 deep);
/// special files are refused.
pub fn load_dir(dir: &Path) -> Result<Chart, Error> {
    let ignore_path = dir.join(HELM_IGNORE);
    let mut rules = if ignore_path.is_file() {
        let text = std::fs::read_to_string(&ignore_path)
            .map_err(|e| Error(format!("open {}: {}", ignore_path.display(), go_io_error(&e))))?;
        Rules::parse(&text).map_err(Error)?
    } else {
        Rules::default()
    };
    rules.add_defaults();
    let chart_yaml = dir.join("Chart.yaml");
    if !chart_yaml.exists() {
        return Err(Error(format!(
            "unable to detect chart at {}: open {}: no such file or directory",
            chart_yaml.display(),
            chart_yaml.display()
        )));
    }
    let mut files = Vec::new();
    let mut total = 0u64;
    walk(dir, "", &rules, &mut files, &mut total, 0)?;
    load_files_at(files, 0, &mut { MAX_TOTAL_SIZE })
}

fn walk(
    dir: &Path,
    rel: &str,
    rules: &Rules,
    files: &mut Vec<BufferedFile>,
    total: &mut u64,
    depth: usize,
) -> Result<(), Error> {
    if depth > MAX_DIR_DEPTH {
        return Err(Error(format!(
            "chart directory {} nests deeper than {MAX_DIR_DEPTH} levels",
            dir.display()
        )));
    }
    let rd = std::fs::read_dir(dir).map_err(|e| Error(format!("open {}: {}", dir.display(), go_io_error(&e))))?;
    let mut names: Vec<String> = Vec::new();
    for entry in rd {
        let entry = entry.map_err(|e| Error(format!("read {}: {e}", dir.display())))?;
        names.push(entry.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    for name in names {
        let path = dir.join(&name);
        let n = if rel.is_empty() {
            name.clone()
        } else {
            format!("{rel}/{name}")
        };
        // Follows symbolic links.
        let meta =
            std::fs::metadata(&path).map_err(|e| Error(format!("stat {}: {}", path.display(), go_io_error(&e))))?;
        if meta.is_dir() {
            if rules.ignore(&n, true) {
                continue;
            }
            walk(&path, &n, rules, files, total, depth + 1)?;
            continue;
        }
        if rules.ignore(&n, false) {
            continue;
        }
        if !meta.is_file() {
            return Err(Error(format!(
                "cannot load irregular file {} as it has file mode type bits set",
                path.display()
            )));
        }
        if meta.len() > MAX_FILE_SIZE {
            return Err(Error(format!(
                "chart file {name:?} is larger than the maximum file size {MAX_FILE_SIZE}"
            )));
        }
        *total += meta.len();
        if *total > MAX_CHART_SIZE || files.len() >= MAX_ENTRIES {
            return Err(Error(format!(
                "chart directory {} is larger than the maximum size",
                dir.display()
            )));
        }
        let data = std::fs::read(&path).map_err(|e| Error(format!("open {}: {}", path.display(), go_io_error(&e))))?;
        files.push(BufferedFile {
            name: n,
            data: super::without_bom(data.into()),
        });
    }
    Ok(())
}

/// An archive's files, or why it cannot be read ([`archive::load_archive_files`]).
type Unpacked = Result<Vec<BufferedFile>, String>;

/// The compressed bytes of a chart's subchart archives from which they are read on two threads
/// (see [`unpack_archives`]): below it, starting a thread costs about what it saves.
pub const UNPACK_ON_TWO_THREADS_FROM: usize = 256 << 10;

/// The files of the subchart archives (`charts/*.tgz`) of `subcharts` (a chart's `charts/`
/// files by first path part, as [`load_files_at`] groups them), read ahead on two threads
/// ([`archive::load_archive_files`]: decompressed and split into files, which is most of
/// loading an archive) when there are two or more holding [`UNPACK_ON_TWO_THREADS_FROM`]
/// bytes or more in all; else, or if the second thread does not start, nothing (each is
/// then read in its turn). The caller still builds each subchart, in order, from these
/// results: the same charts and the same first error as reading each in its turn.
fn unpack_archives(
    subcharts: &std::collections::BTreeMap<String, Vec<BufferedFile>>,
) -> std::collections::HashMap<String, Unpacked> {
    use std::sync::Mutex;
    let archives: Vec<(&String, &super::Blob)> = subcharts
        .iter()
        .filter(|(n, _)| n.ends_with(".tgz") && !n.starts_with('_') && !n.starts_with('.'))
        .filter_map(|(n, files)| files.first().filter(|f| &f.name == n).map(|f| (n, &f.data)))
        .collect();
    let total: usize = archives.iter().map(|(_, data)| data.len()).sum();
    if archives.len() < 2 || total < UNPACK_ON_TWO_THREADS_FROM {
        return Default::default();
    }
    // This thread takes archives from the front, the helper from the back, until they meet.
    let queue = Mutex::new(0..archives.len());
    let read: Vec<Mutex<Option<Unpacked>>> = archives.iter().map(|_| Mutex::new(None)).collect();
    fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
        m.lock().unwrap_or_else(|e| e.into_inner())
    }
    let work = |i: usize| *lock(&read[i]) = Some(archive::load_archive_files(archives[i].1));
    let start = crate::helper_start();
    std::thread::scope(|scope| {
        let helper = std::thread::Builder::new()
            .name("chart-unpack".into())
            .spawn_scoped(scope, || {
                start();
                while let Some(i) = lock(&queue).next_back() {
                    work(i);
                }
            });
        if helper.is_ok() {
            // The thread is queued on this one's CPU: let it run and move off now (see
            // `crate::helper_start`).
            std::thread::yield_now();
        }
        while let Some(i) = lock(&queue).next() {
            work(i);
        }
    });
    archives
        .iter()
        .zip(read)
        .filter_map(|((n, _), r)| Some(((*n).clone(), r.into_inner().ok()??)))
        .collect()
}

/// Builds a chart from its files (names from the chart root), as Helm's `LoadFiles` (without
/// the dependency check of [`load`]).
pub fn load_files(files: Vec<BufferedFile>) -> Result<Chart, Error> {
    load_files_at(files, 0, &mut { MAX_TOTAL_SIZE })
}

fn text(data: &[u8]) -> std::borrow::Cow<'_, str> {
    crate::chart::utf8_lossy(data)
}

fn load_files_at(files: Vec<BufferedFile>, depth: usize, budget: &mut u64) -> Result<Chart, Error> {
    if depth > MAX_NESTING {
        return Err(Error(format!("subcharts nest deeper than {MAX_NESTING} levels")));
    }
    let mut c = Chart {
        values: Value::empty_map(),
        ..Chart::default()
    };
    let mut metadata: Option<Metadata> = None;
    for f in files.iter().filter(|f| f.name == "Chart.yaml") {
        let doc = crate::yaml::parse_document_raw(&text(&f.data))
            .map_err(|e| Error(format!("cannot load Chart.yaml: {e}")))?;
        // Helm picks its loader by `apiVersion` before it reads the rest: one it has none for
        // fails first (`V2`, `2`, `v9`).
        if let Value::Map(m) = &doc {
            match m.borrow().get("apiVersion") {
                None | Some(Value::Nil) => {}
                Some(Value::String(v)) if matches!(&**v, "" | "v1" | "v2" | "v3") => {}
                Some(_) => return Err(Error("unsupported chart version".into())),
            }
        }
        let mut md = metadata.take().unwrap_or_default();
        fill_metadata(&mut md, &doc).map_err(|e| Error(format!("cannot load Chart.yaml: {e}")))?;
        if md.api_version.is_empty() {
            md.api_version = "v1".into();
        }
        metadata = Some(md);
    }
    // helm v4 loads an apiVersion v3 chart as a v2 one: it refuses to render one only at the
    // top (see `Chart::check_installable`); as a subchart it renders.
    if let Some(md) = &metadata
        && !matches!(md.api_version.as_str(), "v1" | "v2" | "v3")
    {
        return Err(Error("invalid chart apiVersion".into()));
    }
    let mut subcharts: std::collections::BTreeMap<String, Vec<BufferedFile>> = Default::default();
    for f in files {
        // A subchart's file is moved to it as it is; any other becomes shared (`Rc`).
        if let Some(fname) = f.name.strip_prefix("charts/")
            && !f.name.ends_with(".prov")
        {
            let cname = fname.split('/').next().unwrap_or("").to_string();
            subcharts.entry(cname).or_default().push(BufferedFile {
                name: fname.to_string(),
                data: f.data,
            });
            continue;
        }
        let name = f.name;
        let data = f.data;
        match name.as_str() {
            "Chart.yaml" => {}
            "Chart.lock" => {
                crate::yaml::parse_document(&text(&data)).map_err(|e| Error(format!("cannot load Chart.lock: {e}")))?;
                c.lock = Some(data);
            }
            "values.yaml" => {
                c.values = crate::yaml::parse_values(&text(&data))
                    .map_err(|e| Error(format!("cannot load values.yaml: {e}")))?;
                c.raw_values = Some(data);
            }
            "values.schema.json" => c.schema = Some(data),
            "requirements.yaml" | "requirements.lock" => {
                let md = metadata.get_or_insert_with(Metadata::default);
                if name == "requirements.yaml" {
                    let doc = crate::yaml::parse_document_raw(&text(&data))
                        .map_err(|e| Error(format!("cannot load requirements.yaml: {e}")))?;
                    fill_metadata(md, &doc).map_err(|e| Error(format!("cannot load requirements.yaml: {e}")))?;
                } else {
                    crate::yaml::parse_document(&text(&data))
                        .map_err(|e| Error(format!("cannot load requirements.lock: {e}")))?;
                    c.lock = Some(data.clone());
                }
                if md.api_version == "v1" {
                    c.files.push(ChartFile { name, data });
                }
            }
            n if n.starts_with("templates/") => c.templates.push(ChartFile { name, data }),
            _ => c.files.push(ChartFile { name, data }),
        }
    }
    let Some(mut md) = metadata else {
        return Err(Error("Chart.yaml file is missing".into()));
    };
    validate(&mut md).map_err(Error)?;
    c.metadata = md;
    let mut unpacked = unpack_archives(&subcharts);
    for (n, files) in subcharts {
        if n.starts_with('_') || n.starts_with('.') {
            continue;
        }
        let sc = if n.ends_with(".tgz") {
            let Some(file) = files.first() else { continue };
            if file.name != n {
                return Err(Error(format!(
                    "error unpacking subchart tar in {}: expected {n}, got {}",
                    c.metadata.name, file.name
                )));
            }
            match unpacked.remove(&n) {
                Some(read) => read
                    .map_err(Error)
                    .and_then(|files| load_read_archive(files, depth + 1, budget)),
                None => load_archive_at(&file.data, depth + 1, budget),
            }
        } else {
            let buff: Vec<BufferedFile> = files
                .into_iter()
                .filter_map(|mut f| {
                    let (_, rest) = f.name.split_once('/')?;
                    f.name = rest.to_string();
                    Some(f)
                })
                .collect();
            load_files_at(buff, depth + 1, budget)
        };
        let sc = sc.map_err(|e| Error(format!("error unpacking subchart {n} in {}: {}", c.metadata.name, e.0)))?;
        c.dependencies.push(sc);
    }
    Ok(c)
}
