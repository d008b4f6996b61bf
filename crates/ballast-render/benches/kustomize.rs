//! Kustomize render speed, Ballast in process vs `kubectl kustomize` (kustomize v5.7.1), on the
//! same generated inputs in the same run. Reports medians and the ratio; asserts nothing.
//!
//!   cargo bench -p ballast-render --bench kustomize
//!
//! Inputs (deterministic): a small overlay (~5 objects); a large base (~1,000 objects) with 3
//! overlays; a monorepo of 200 apps (each a base and an overlay).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn write(p: &Path, text: &str) {
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, text).unwrap();
}

fn app(dir: &Path, name: &str, n: usize) {
    let mut res = String::new();
    let mut files = Vec::new();
    for i in 0..n {
        let f = format!("obj-{i:04}.yaml");
        let text = if i % 3 == 0 {
            format!(
                "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}-{i}\nspec:\n  selector:\n    matchLabels:\n      app: {name}-{i}\n  template:\n    metadata:\n      labels:\n        app: {name}-{i}\n    spec:\n      containers:\n      - name: app\n        image: ghcr.io/example/{name}:1.0.{i}\n        envFrom:\n        - configMapRef:\n            name: settings\n"
            )
        } else if i % 3 == 1 {
            format!(
                "apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}-{i}\nspec:\n  selector:\n    app: {name}-{i}\n  ports:\n  - port: 80\n"
            )
        } else {
            format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}-{i}\ndata:\n  key: value-{i}\n")
        };
        write(&dir.join("base").join(&f), &text);
        files.push(f);
    }
    for f in &files {
        res.push_str(&format!("- {f}\n"));
    }
    write(
        &dir.join("base/kustomization.yaml"),
        &format!(
            "commonLabels:\n  app.kubernetes.io/part-of: {name}\nconfigMapGenerator:\n- name: settings\n  literals:\n  - level=info\nresources:\n{res}"
        ),
    );
}

fn overlay(dir: &Path, env: &str, app_name: &str) -> PathBuf {
    let o = dir.join("overlays").join(env);
    write(
        &o.join("kustomization.yaml"),
        &format!(
            "namespace: {app_name}-{env}\nnamePrefix: {env}-\nresources:\n- ../../base\nimages:\n- name: ghcr.io/example/{app_name}\n  newTag: \"2.0\"\nconfigMapGenerator:\n- name: settings\n  behavior: merge\n  literals:\n  - env={env}\n"
        ),
    );
    o
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ours(root: &Path, dirs: &[PathBuf], runs: usize) -> (Duration, usize) {
    let mut times = Vec::new();
    let mut objects = 0;
    for _ in 0..runs {
        let t = Instant::now();
        objects = 0;
        for d in dirs {
            objects += ballast_render::kustomize::build(root, d).expect("ballast build").len();
        }
        times.push(t.elapsed());
    }
    (median(times), objects)
}

fn theirs(kubectl: &Path, dirs: &[PathBuf], runs: usize) -> Duration {
    let mut times = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        for d in dirs {
            let out = Command::new(kubectl)
                .arg("kustomize")
                .arg(d)
                .output()
                .expect("kubectl kustomize");
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        }
        times.push(t.elapsed());
    }
    median(times)
}

fn main() {
    let kubectl = ballast_local::find_binary("kubectl").unwrap_or_else(|e| panic!("{e}"));
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();

    let small = root.join("small");
    app(&small, "small", 5);
    let small_dirs = vec![overlay(&small, "prod", "small")];

    let large = root.join("large");
    app(&large, "large", 1000);
    let large_dirs: Vec<PathBuf> = ["dev", "staging", "prod"]
        .iter()
        .map(|e| overlay(&large, e, "large"))
        .collect();

    let mono = root.join("mono");
    let mut mono_dirs = Vec::new();
    for i in 0..200 {
        let a = mono.join(format!("app-{i:03}"));
        app(&a, &format!("app{i}"), 6);
        mono_dirs.push(overlay(&a, "prod", &format!("app{i}")));
    }

    println!("| input | objects | ballast (in process) | kubectl kustomize | ratio |");
    println!("|---|---|---|---|---|");
    for (label, dirs, runs, peer_runs) in [
        ("small overlay (1 app)", &small_dirs, 50, 5),
        ("1,000-object base, 3 overlays", &large_dirs, 5, 1),
        ("200-app monorepo (base + overlay each)", &mono_dirs, 5, 1),
    ] {
        let (b, n) = ours(root, dirs, runs);
        let k = theirs(&kubectl, dirs, peer_runs);
        println!(
            "| {label} | {n} | {:.1} ms | {:.1} ms | {:.0}x |",
            b.as_secs_f64() * 1e3,
            k.as_secs_f64() * 1e3,
            k.as_secs_f64() / b.as_secs_f64()
        );
    }
}
