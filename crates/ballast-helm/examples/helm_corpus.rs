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

#[path = "../tests/helm_support/compare.rs"]
mod compare;
#[path = "../tests/helm_support/helm.rs"]
mod helm;

use std::collections::BTreeMap;
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
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 2 {
        eprintln!("usage: helm_corpus REPORT DIR...");
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
    for chart in &found {
        let mut sets: Vec<Option<PathBuf>> = vec![None];
        sets.extend(ci_values(chart).into_iter().map(Some));
        for values in &sets {
            let label = match values {
                None => chart.display().to_string(),
                Some(v) => format!("{} [{}]", chart.display(), v.strip_prefix(chart).unwrap_or(v).display()),
            };
            let (status, detail) = render(&helm_bin, home.path(), chart, values.as_deref(), &mut ballast_time)
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
