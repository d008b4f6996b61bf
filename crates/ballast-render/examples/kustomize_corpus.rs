//! Compares Ballast's Kustomize engine with the reference `kubectl kustomize` on every
//! kustomization found under local checkouts of real repositories.
//!
//! Usage: `kustomize_corpus REPORT REPO_DIR...` (see `scripts/kustomize-corpus`, which runs it
//! without network access so that nothing remote is ever fetched). Each kustomization directory
//! is built by both tools with its checkout as the repository root; the outcome is one of
//! `match` (same objects, same order), `differ`, `ballast-error` (kubectl succeeds, Ballast
//! fails), `kubectl-error` (only kubectl fails) or `both-error` (dropped: typically remote bases,
//! chart repositories or plugins). The report lists every directory and ends with the totals.
//! kubectl runs with `--load-restrictor=LoadRestrictionsNone`, as Flux builds (Ballast reads any
//! file inside the repository root).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use ballast_render::kustomize;
use ballast_render::yaml::parse_stream;
use serde_json::Value;

fn key(v: &Value) -> String {
    format!(
        "{}/{}/{}/{}",
        v["apiVersion"].as_str().unwrap_or(""),
        v["kind"].as_str().unwrap_or(""),
        v.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or(""),
        v.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("")
    )
}

fn kustomizations(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut entries: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    if kustomize::kustomization_file(dir).is_some() {
        out.push(dir.to_path_buf());
    }
    for p in entries {
        let is_dir = std::fs::symlink_metadata(&p).is_ok_and(|m| m.is_dir());
        let hidden = p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.'));
        if is_dir && !hidden {
            kustomizations(&p, out);
        }
    }
}

fn reference(kubectl: &Path, dir: &Path) -> Result<Vec<Value>, String> {
    let out = Command::new(kubectl)
        .arg("kustomize")
        .arg("--load-restrictor=LoadRestrictionsNone")
        .arg(dir)
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        // The error line, not the deprecation warnings before it.
        let stderr = String::from_utf8_lossy(&out.stderr);
        let line = stderr
            .lines()
            .find(|l| l.starts_with("error"))
            .or_else(|| stderr.lines().last())
            .unwrap_or("");
        return Err(line.to_string());
    }
    parse_stream(&String::from_utf8_lossy(&out.stdout))
        .map(|docs| docs.into_iter().filter(|d| !d.is_null()).collect())
        .map_err(|e| e.to_string())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((report, repos)) = args.split_first() else {
        eprintln!("usage: kustomize_corpus REPORT REPO_DIR...");
        std::process::exit(2);
    };
    let kubectl = ballast_local::find_binary("kubectl").expect("the reference kubectl");
    let mut text = String::new();
    let mut totals = std::collections::BTreeMap::<&str, usize>::new();
    for repo in repos {
        let repo = Path::new(repo).canonicalize().expect("repository directory");
        let mut dirs = Vec::new();
        kustomizations(&repo, &mut dirs);
        for dir in dirs {
            let rel = dir.strip_prefix(&repo).unwrap_or(&dir);
            let name = format!(
                "{}/{}",
                repo.file_name().unwrap_or_default().to_string_lossy(),
                rel.display()
            );
            let theirs = reference(&kubectl, &dir);
            let ours = kustomize::build(&repo, &dir).map(|ms| ms.into_iter().map(|m| m.object).collect::<Vec<_>>());
            let (status, detail) = match (&theirs, &ours) {
                (Ok(t), Ok(o)) if t == o => ("match", String::new()),
                (Ok(t), Ok(o)) => {
                    let tk: Vec<String> = t.iter().map(key).collect();
                    let ok: Vec<String> = o.iter().map(key).collect();
                    let detail = if tk != ok {
                        format!("objects or order: kubectl {} objects, ballast {}", tk.len(), ok.len())
                    } else {
                        let (a, b) = t.iter().zip(o).find(|(a, b)| a != b).expect("a difference");
                        format!("first difference in {}: kubectl {a} / ballast {b}", key(a))
                    };
                    ("differ", detail)
                }
                (Ok(_), Err(e)) => ("ballast-error", e.to_string()),
                (Err(e), Ok(_)) => ("kubectl-error", e.clone()),
                (Err(e), Err(_)) => ("both-error", e.clone()),
            };
            *totals.entry(status).or_default() += 1;
            let detail: String = detail.chars().take(600).collect();
            let _ = writeln!(text, "{status}\t{name}\t{}", detail.replace('\n', " "));
        }
    }
    let compared: usize = totals.iter().filter(|(k, _)| **k != "both-error").map(|(_, v)| v).sum();
    let matched = totals.get("match").copied().unwrap_or(0);
    let mut summary = format!("matched {matched} of {compared} kustomizations that kubectl or Ballast builds");
    for (k, v) in &totals {
        let _ = write!(summary, "; {k} {v}");
    }
    let _ = writeln!(text, "{summary}");
    std::fs::write(report, text).expect("write the report");
    println!("{summary}");
}
