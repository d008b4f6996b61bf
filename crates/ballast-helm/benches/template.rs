//! Helm render speed, Ballast in process vs `helm template` (helm v4.1.4, one process per
//! chart), on the same public charts in the same run, in rounds alternating between the two.
//! Reports medians, the ratio and whether the outputs are the same; asserts nothing. Two
//! in-process rows per chart: renders that unpack and parse the chart from nothing (a chart's
//! first render), and renders on a worker that kept the chart and its parses from the render
//! before (`ballast_helm::kept`: the same chart rendered again, as a controller does).
//!
//!   cargo bench -p ballast-helm --bench template
//!
//! Charts: archives of `tests/fixtures/charts/` (their origins are in its README), each with its
//! default values, as the conformance cases of the same name render them. helm runs offline
//! inside `unshare -n` where that works, with no user configuration; what `unshare -n` adds to
//! a process (measured here, a few ms) is taken off helm's times, so that the ratio is helm's
//! own.
//! The reference helm is `$BALLAST_HELM` or `~/.cache/ballast/bin/helm` (`scripts/install-deps`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use ballast_helm::TemplateOptions;

/// The allocator of the `ballast` binary (jemalloc), so that these figures are the product's
/// (with the controller's settings, see [`controller_heap`]).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// (label, archive, release, namespace): small to large; the umbrella chart last.
const CHARTS: &[(&str, &str, &str, &str)] = &[
    ("podinfo (small, apiVersion v1)", "podinfo-6.14.1.tgz", "podinfo", ""),
    ("ingress-nginx", "ingress-nginx-4.15.1.tgz", "ingress", "ingress-nginx"),
    (
        "cert-manager (schema)",
        "cert-manager-v0.0.0.tgz",
        "cert-manager",
        "cert-manager",
    ),
    ("redis (bitnami common library)", "redis-23.1.1.tgz", "redis", ""),
    ("airflow (bitnami, 3 subcharts)", "airflow-25.1.0.tgz", "af", ""),
    (
        "argo-cd (CRDs, redis-ha subchart)",
        "argo-cd-10.1.1.tgz",
        "argocd",
        "argocd",
    ),
    (
        "kube-prometheus-stack (umbrella, 4 subcharts)",
        "kube-prometheus-stack-88.5.3.tgz",
        "kps",
        "monitoring",
    ),
];

/// The large umbrella chart's row (label, release, namespace): its subcharts are listed in
/// `umbrella.txt` of the fixtures (see [`umbrella`]).
const UMBRELLA: (&str, &str, &str) = ("umbrella of 30 public charts as subcharts", "um", "umbrella");

/// Rounds per chart.
const ROUNDS: usize = 5;

/// Makes, under `dir`, the large umbrella chart: a chart of its own whose `charts/` holds the
/// fixture archives listed in `umbrella.txt` (the same chart `scripts/bench` times one process
/// at a time).
fn umbrella(fixtures: &Path, dir: &Path) -> PathBuf {
    let root = dir.join("umbrella");
    std::fs::create_dir_all(root.join("charts")).unwrap();
    std::fs::write(
        root.join("Chart.yaml"),
        "apiVersion: v2\nname: umbrella\nversion: 1.0.0\ndescription: public charts as subcharts\n",
    )
    .unwrap();
    let list = std::fs::read_to_string(fixtures.join("umbrella.txt")).unwrap();
    for name in list
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        std::fs::copy(fixtures.join(name), root.join("charts").join(name)).unwrap();
    }
    root
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn helm_binary() -> PathBuf {
    match std::env::var_os("BALLAST_HELM") {
        Some(p) => PathBuf::from(p),
        None => {
            let home = std::env::var_os("HOME").expect("HOME");
            Path::new(&home).join(".cache/ballast/bin/helm")
        }
    }
}

fn can_unshare() -> bool {
    Command::new("unshare")
        .args(["-n", "true"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// `helm ARGS`, offline where possible, with `home` as its only configuration.
fn helm_command(helm: &Path, unshare: bool, home: &Path) -> Command {
    let mut cmd = if unshare {
        let mut c = Command::new("unshare");
        c.arg("-n").arg(helm);
        c
    } else {
        Command::new(helm)
    };
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("HELM_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("KUBECONFIG", home.join("no-kubeconfig"))
        .env("HELM_CACHE_HOME", home.join("cache"))
        .env("HELM_CONFIG_HOME", home.join("config"))
        .env("HELM_DATA_HOME", home.join("data"))
        .env("NO_COLOR", "1");
    cmd
}

/// What `unshare -n` adds to a process: the median wall time of `unshare -n true` less that of
/// `true`, measured alternately, so that helm's times keep the start of its process, as a
/// user running `helm template` pays it.
fn unshare_cost(unshare: bool) -> Duration {
    if !unshare {
        return Duration::ZERO;
    }
    let time = |program: &str, args: &[&str]| {
        let t = Instant::now();
        let ok = Command::new(program).args(args).status().is_ok_and(|s| s.success());
        assert!(ok, "{program} {args:?}");
        t.elapsed()
    };
    let (mut wrapped, mut bare) = (Vec::new(), Vec::new());
    for _ in 0..20 {
        wrapped.push(time("unshare", &["-n", "true"]));
        bare.push(time("true", &[]));
    }
    median(wrapped).saturating_sub(median(bare))
}

/// Runs in process until `budget` is spent (at least 3 runs, at most 200), the render workers
/// keeping charts and parses between renders or not (`ballast_helm::keep_between_renders`):
/// the median and the output (or the error, after the first failed run).
fn ours(chart: &Path, opts: &TemplateOptions, budget: Duration, keep: bool) -> (Duration, Result<String, String>) {
    ballast_helm::keep_between_renders(keep);
    let mut times = Vec::new();
    let start = Instant::now();
    let mut out = Err(String::new());
    while times.len() < 3 || (start.elapsed() < budget && times.len() < 200) {
        let t = Instant::now();
        out = ballast_helm::template(chart, opts).map_err(|e| e.to_string());
        times.push(t.elapsed());
        if out.is_err() {
            break;
        }
    }
    (median(times), out)
}

fn theirs(
    helm: &Path,
    unshare: bool,
    home: &Path,
    chart: &Path,
    release: &str,
    ns: &str,
    runs: usize,
) -> (Duration, String) {
    let mut times = Vec::new();
    let mut text = String::new();
    for _ in 0..runs {
        let mut cmd = helm_command(helm, unshare, home);
        cmd.arg("template").arg(release).arg(chart);
        if !ns.is_empty() {
            cmd.args(["-n", ns]);
        }
        let t = Instant::now();
        let out = cmd.output().expect("helm template");
        times.push(t.elapsed());
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        text = String::from_utf8_lossy(&out.stdout).into_owned();
    }
    (median(times), text)
}

/// Lines that differ, a line holding a random value (a generated password or certificate)
/// being compared only up to its first `": "`, as the conformance suite does.
fn differing_lines(a: &str, b: &str) -> usize {
    let key = |l: &str| l.split_once(": ").map_or(l, |(k, _)| k).to_string();
    let (la, lb): (Vec<&str>, Vec<&str>) = (a.lines().collect(), b.lines().collect());
    let mut n = la.len().abs_diff(lb.len());
    for (x, y) in la.iter().zip(&lb) {
        if x != y && key(x) != key(y) {
            n += 1;
        }
    }
    n
}

/// The heap as the controller has it (`crates/ballast/src/heap.rs`), since the controller is
/// where charts render in process: 4 KiB pages and jemalloc's background thread.
fn controller_heap() {
    #[cfg(target_os = "linux")]
    let _ = nix::sys::prctl::set_thp_disable(true);
    let _ = tikv_jemalloc_ctl::background_thread::write(true);
}

fn main() {
    controller_heap();
    let helm = helm_binary();
    assert!(
        helm.is_file(),
        "the reference helm is missing at {}: run scripts/install-deps (or set BALLAST_HELM)",
        helm.display()
    );
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/charts");
    let home = tempfile::tempdir().unwrap();
    let unshare = can_unshare();
    let overhead = unshare_cost(unshare);
    eprintln!(
        "helm: {} ({}); what unshare -n adds: {:.1} ms, taken off helm's times",
        helm.display(),
        if unshare {
            "inside unshare -n"
        } else {
            "unshare -n unavailable"
        },
        overhead.as_secs_f64() * 1e3
    );

    println!("| chart | lines | ballast (in process) | helm template | ratio | output |");
    println!("|---|---|---|---|---|---|");
    let mut charts: Vec<(&str, PathBuf, &str, &str)> = CHARTS
        .iter()
        .map(|&(label, archive, release, ns)| (label, fixtures.join(archive), release, ns))
        .collect();
    let (label, release, ns) = UMBRELLA;
    charts.push((label, umbrella(&fixtures, home.path()), release, ns));
    for (label, chart, release, ns) in charts {
        let opts = TemplateOptions {
            release_name: release.to_string(),
            namespace: ns.to_string(),
            ..TemplateOptions::default()
        };
        // Once, untimed: warm the page cache for both.
        let _ = ballast_helm::template(&chart, &opts);
        let (_, expected) = theirs(&helm, unshare, home.path(), &chart, release, ns, 1);
        // Rounds alternating between the two, so that a change of load on the machine falls
        // on both: per round, a batch of in-process renders (its median) and one helm run.
        // Two in-process rows: every render unpacking and parsing the chart from nothing (a
        // chart's first render), and renders whose worker kept the chart and its parses from
        // the one before (the same chart rendered again: a controller's next reconcile).
        let (mut cold, mut kept, mut hs) = (Vec::new(), Vec::new(), Vec::new());
        let mut got = Err(String::new());
        for r in 0..ROUNDS {
            let mut run_ours = || {
                let (b, out) = ours(&chart, &opts, Duration::from_millis(300), false);
                cold.push(b);
                let (k, kept_out) = ours(&chart, &opts, Duration::from_millis(300), true);
                kept.push(k);
                match (out, kept_out) {
                    (Ok(a), Ok(b)) if a != b && differing_lines(&a, &b) > 0 => {
                        Err("renders with the chart kept differ from the others".to_string())
                    }
                    (out, _) => out,
                }
            };
            let mut run_theirs = || {
                let (h, _) = theirs(&helm, unshare, home.path(), &chart, release, ns, 1);
                hs.push(h.saturating_sub(overhead));
            };
            if r % 2 == 0 {
                got = run_ours();
                run_theirs();
            } else {
                run_theirs();
                got = run_ours();
            }
            if got.is_err() {
                break;
            }
        }
        let h = median(hs);
        match got {
            Ok(text) => {
                let diff = differing_lines(&text, &expected);
                let same = if diff == 0 {
                    "= helm".to_string()
                } else {
                    format!("{diff} lines differ")
                };
                for (row, b) in [("nothing kept", median(cold)), ("chart kept", median(kept))] {
                    println!(
                        "| {label}, {row} | {} | {:.2} ms | {:.1} ms | {:.0}x | {same} |",
                        expected.lines().count(),
                        b.as_secs_f64() * 1e3,
                        h.as_secs_f64() * 1e3,
                        h.as_secs_f64() / b.as_secs_f64()
                    );
                }
            }
            Err(e) => {
                let e = e.lines().next().unwrap_or("").replace('|', "/");
                println!(
                    "| {label} | {} | failed | {:.1} ms | | ballast: {e} |",
                    expected.lines().count(),
                    h.as_secs_f64() * 1e3
                );
            }
        }
    }
}
