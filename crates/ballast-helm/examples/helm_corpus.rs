//! Compares Ballast's Helm engine with the reference `helm template` (v4.1.4) on every chart
//! found under local checkouts of real repositories.
//!
//! Usage: `helm_corpus REPORT DIR...` (see `scripts/helm-corpus`, which runs it without
//! network access). A chart is a directory holding `Chart.yaml` (its `charts/` subcharts are
//! rendered as part of it, not on their own). Each chart is rendered with its default values
//! and, when it has a `ci/` directory, once more with each `ci/*.yaml` file (the values files
//! chart repositories test with). Lines that helm itself prints differently on two runs are
//! compared only up to their first `": "`, as in `tests/helm_conformance.rs`.
//!
//! The outcome of a render is one of `match`, `differ`, `ballast-error` (helm succeeds,
//! Ballast fails), `helm-error` (only helm fails) or `both-error` (typically charts whose
//! dependencies are not vendored, or library charts). Each line of REPORT is
//! `status<TAB>chart [values]<TAB>detail`; the last line holds the totals.
//!
//! With `--vendor` first, a chart whose `charts/` lacks a dependency is rendered (by both
//! tools) from a copy that has it, as `helm dependency build` would give it, but offline: a
//! `file://` dependency from its directory, any other from a chart of that name found in the
//! checkouts, the one nearest to it (the same checkout first; not necessarily the version asked
//! for, which helm does not check either).
//! Dependencies found nowhere stay missing. The checkouts are never written to.

#[path = "../tests/helm_support/compare.rs"]
mod compare;
#[path = "../tests/helm_support/helm.rs"]
mod helm;

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ballast_helm::TemplateOptions;

fn charts(dir: &Path, out: &mut Vec<PathBuf>) {
    if dir.join("Chart.yaml").is_file() {
        out.push(dir.to_path_buf());
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut entries: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        let is_dir = std::fs::symlink_metadata(&p).is_ok_and(|m| m.is_dir());
        let hidden = p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.'));
        if is_dir && !hidden {
            charts(&p, out);
        }
    }
}

/// The metadata of the chart at `dir` (`Chart.yaml`, and `requirements.yaml` of an
/// apiVersion v1 chart), as far as it can be read.
fn metadata(dir: &Path) -> ballast_helm::chart::Metadata {
    let mut md = ballast_helm::chart::Metadata::default();
    for file in ["Chart.yaml", "requirements.yaml"] {
        let Ok(text) = std::fs::read_to_string(dir.join(file)) else {
            continue;
        };
        let Ok(doc) = ballast_helm::yaml::parse_document_raw(&text) else {
            continue;
        };
        let _ = ballast_helm::chart::metadata::fill_metadata(&mut md, &doc);
    }
    md
}

/// The dependencies `(name, repository)` of the chart at `dir`; none if they cannot be read.
fn dependencies(dir: &Path) -> Vec<(String, String)> {
    metadata(dir)
        .dependencies
        .into_iter()
        .map(|d| (d.name, d.repository))
        .collect()
}

/// True when `dir/charts` holds dependency `name`: a directory of that name or an archive
/// named after it.
fn has_dependency(dir: &Path, name: &str) -> bool {
    let charts = dir.join("charts");
    if charts.join(name).is_dir() {
        return true;
    }
    let Ok(entries) = std::fs::read_dir(&charts) else {
        return false;
    };
    entries.filter_map(Result::ok).any(|e| {
        let f = e.file_name().to_string_lossy().into_owned();
        f.starts_with(&format!("{name}-")) && f.ends_with(".tgz")
    })
}

/// Copies the directory `from` to `to` (symbolic links as links).
fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        let kind = entry.file_type()?;
        if kind.is_dir() {
            copy_dir(&src, &dst)?;
        } else if kind.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&src)?, &dst)?;
        } else {
            std::fs::copy(&src, &dst)?;
        }
    }
    Ok(())
}

/// Dependencies found offline, for `--vendor` (see the module's documentation).
struct Vendor {
    /// Chart directories of the checkouts by chart name.
    by_name: HashMap<String, Vec<PathBuf>>,
    copies: tempfile::TempDir,
    made: usize,
}

impl Vendor {
    fn new(found: &[PathBuf]) -> Vendor {
        let mut by_name: HashMap<String, Vec<PathBuf>> = HashMap::new();
        for dir in found {
            let name = metadata(dir).name;
            if !name.is_empty() {
                by_name.entry(name).or_default().push(dir.clone());
            }
        }
        Vendor {
            by_name,
            copies: tempfile::tempdir().expect("a temporary directory"),
            made: 0,
        }
    }

    /// Where dependency `(name, repository)` of the chart at `dir` can be copied from.
    fn source(&self, dir: &Path, name: &str, repository: &str) -> Option<PathBuf> {
        match repository.strip_prefix("file://") {
            Some(rel) => Some(dir.join(rel)).filter(|p| p.join("Chart.yaml").is_file()),
            // The chart of that name sharing the most leading path components with `dir`.
            None => self
                .by_name
                .get(name)?
                .iter()
                .filter(|p| p.as_path() != dir)
                .max_by_key(|p| {
                    (
                        p.components().zip(dir.components()).take_while(|(a, b)| a == b).count(),
                        std::cmp::Reverse(p.as_path()),
                    )
                })
                .cloned(),
        }
    }

    /// The chart to render for `dir`: `dir` itself when no missing dependency can be found,
    /// else a copy holding those it lacks (and theirs, a few levels down).
    fn chart(&mut self, dir: &Path) -> std::io::Result<PathBuf> {
        let deps = dependencies(dir);
        let lacking = deps
            .iter()
            .filter(|(name, repo)| !has_dependency(dir, name) && self.source(dir, name, repo).is_some())
            .count();
        if lacking == 0 {
            return Ok(dir.to_path_buf());
        }
        self.made += 1;
        let copy = self
            .copies
            .path()
            .join(self.made.to_string())
            .join(dir.file_name().unwrap_or_default());
        copy_dir(dir, &copy)?;
        self.fill(dir, deps, &copy, 0)?;
        Ok(copy)
    }

    /// Copies into `copy/charts` the dependencies `deps` of the chart at `original` it lacks.
    fn fill(&self, original: &Path, deps: Vec<(String, String)>, copy: &Path, depth: usize) -> std::io::Result<()> {
        if depth > 4 {
            return Ok(());
        }
        for (name, repo) in deps {
            if has_dependency(copy, &name) {
                continue;
            }
            if let Some(src) = self.source(original, &name, &repo) {
                let dst = copy.join("charts").join(&name);
                copy_dir(&src, &dst)?;
                self.fill(&src, dependencies(&src), &dst, depth + 1)?;
            }
        }
        Ok(())
    }
}

fn ci_values(chart: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(chart.join("ci")) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .collect();
    files.sort();
    files
}

fn first_line(s: &str) -> String {
    let s = s.trim();
    let s = s.strip_prefix("Error: ").unwrap_or(s);
    let line = s.lines().next().unwrap_or("");
    line.chars().take(200).collect()
}

/// One render of one chart: its status and detail.
fn render(
    helm_bin: &Path,
    home: &Path,
    chart: &Path,
    values: Option<&Path>,
    ballast_time: &mut Duration,
) -> Result<(&'static str, String), String> {
    let mut args = vec![
        "template".to_string(),
        "release-name".into(),
        chart.display().to_string(),
    ];
    let mut opts = TemplateOptions {
        release_name: "release-name".into(),
        ..Default::default()
    };
    if let Some(v) = values {
        args.extend(["--values".into(), v.display().to_string()]);
        opts.values.files.push(v.to_path_buf());
    }
    let first = helm::run(helm_bin, &args, home)?;
    let started = Instant::now();
    let ours = ballast_helm::template(chart, &opts);
    *ballast_time += started.elapsed();
    Ok(match (first.ok, ours) {
        (false, Err(e)) => (
            "both-error",
            format!("helm: {}; ballast: {}", first_line(&first.stderr), first_line(&e.0)),
        ),
        (false, Ok(_)) => ("helm-error", first_line(&first.stderr)),
        (true, Err(e)) => ("ballast-error", first_line(&e.0)),
        (true, Ok(out)) => {
            let mut diff = None;
            if out != first.stdout {
                // Up to two more helm runs find its random lines, as in the conformance test.
                let mut mask = compare::Mask::None;
                for _ in 0..2 {
                    let again = helm::run(helm_bin, &args, home)?;
                    mask = compare::union(mask, compare::mask(&first.stdout, &again.stdout));
                    diff = compare::compare(&first.stdout, &out, &mask);
                    if diff.is_none() {
                        break;
                    }
                }
            }
            match diff {
                None => ("match", String::new()),
                Some(diff) => ("differ", diff.lines().next().unwrap_or("").to_string()),
            }
        }
    })
}

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let vendor = args.first().is_some_and(|a| a == "--vendor");
    if vendor {
        args.remove(0);
    }
    if args.len() < 2 {
        eprintln!("usage: helm_corpus [--vendor] REPORT DIR...");
        std::process::exit(2);
    }
    let helm_bin = helm::locate().unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(2)
    });
    let home = tempfile::tempdir().expect("a temporary helm home");
    let mut found = Vec::new();
    for dir in &args[1..] {
        charts(Path::new(dir), &mut found);
    }
    let mut report = String::new();
    let mut totals: BTreeMap<&str, usize> = BTreeMap::new();
    let mut ballast_time = Duration::ZERO;
    let mut vendor = vendor.then(|| Vendor::new(&found));
    for chart in &found {
        let rendered = match vendor.as_mut() {
            Some(v) => v
                .chart(chart)
                .unwrap_or_else(|e| panic!("copying {}: {e}", chart.display())),
            None => chart.clone(),
        };
        let mut sets: Vec<Option<PathBuf>> = vec![None];
        sets.extend(ci_values(chart).into_iter().map(Some));
        for values in &sets {
            let label = match values {
                None => chart.display().to_string(),
                Some(v) => format!("{} [{}]", chart.display(), v.strip_prefix(chart).unwrap_or(v).display()),
            };
            let (status, detail) = render(&helm_bin, home.path(), &rendered, values.as_deref(), &mut ballast_time)
                .unwrap_or_else(|e| ("both-error", e));
            *totals.entry(status).or_default() += 1;
            println!("{status:<14} {label}");
            let _ = writeln!(report, "{status}\t{label}\t{}", detail.replace(['\t', '\n'], " "));
        }
    }
    let total: usize = totals.values().sum();
    let summary: Vec<String> = totals.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let line = format!(
        "total={total} charts={} {} ballast_time={:.1}s",
        found.len(),
        summary.join(" "),
        ballast_time.as_secs_f64()
    );
    println!("{line}");
    let _ = writeln!(report, "{line}");
    if let Err(e) = std::fs::write(&args[0], report) {
        eprintln!("{}: {e}", args[0]);
        std::process::exit(1);
    }
}
