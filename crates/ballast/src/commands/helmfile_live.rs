//! `ballast helmfile diff|apply`: the selected releases of each state file compared with the
//! cluster (`Releases::plan`) and, for `apply`, upgraded or installed where they differ.
//!
//! As helmfile: state files run one after another (sub-helmfiles first); within one, every
//! release is prepared (values read and parsed) and planned before anything is written, so
//! a bad values file or a failing render applies nothing. `apply` then uninstalls the
//! `installed: false` releases that are present (reverse `needs` order), and upgrades the
//! releases whose plan changes something in `needs` batches, the releases of a batch in
//! parallel (at most `--concurrency`); a failed batch stops the releases after it (the
//! writing half is `helmfile_apply`). Exit codes as helmfile's: 1 on error, 3 when no
//! release matched; with `--detailed-exitcode`, 2 when there were changes (diff: detected;
//! apply: applied), else 0.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use ballast_helm::release::Status;
use ballast_helm::values::ValueOptions;
use ballast_helmfile::Value;
use ballast_helmfile::state::{get, text};
use ballast_helmfile::{Needs, Visited};
use ballast_kube::Cluster;
use ballast_release::{ActionOptions, ReleasePlan, Releases, plan_diff_with_context};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::cli::{HelmfileApplyArgs, HelmfileArgs, HelmfileDiffArgs};
use crate::pipeline::connect;

/// helmDefaults and release fields that change what helm would do and Ballast does not do:
/// refused by name when set to true.
const REFUSED_FLAGS: &[&str] = &[
    "force",
    "recreatePods",
    "reuseValues",
    "verify",
    "waitForJobs",
    "cleanupOnFail",
    "enableDNS",
    "skipSchemaValidation",
];

/// helmDefaults and release fields refused by name when not empty.
const REFUSED_TEXT: &[&str] = &["postRenderer", "kubeContext", "tillerNamespace"];

/// One release to diff or apply, with everything it needs as owned, thread-safe data.
#[derive(Clone)]
pub(super) struct Job {
    pub(super) name: String,
    pub(super) namespace: String,
    pub(super) chart_ref: String,
    pub(super) chart: PathBuf,
    pub(super) values: ValueOptions,
    pub(super) opts: ActionOptions,
    pub(super) atomic: bool,
}

/// A release planned: its job and what would change.
pub(super) struct Planned {
    pub(super) job: Job,
    pub(super) plan: ReleasePlan,
}

/// What one state file's releases need: to upgrade (in batches) and to delete.
pub(super) struct StateRun {
    /// Batches of planned releases (only those installed and enabled).
    pub(super) batches: Vec<Vec<Planned>>,
    /// `installed: false` releases present on the cluster, in `needs` order.
    pub(super) deletions: Vec<Job>,
}

fn bool_field(v: &Value, key: &str) -> Option<bool> {
    match get(v, key) {
        Value::Bool(b) => Some(b),
        Value::String(s) => match s.trim() {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// A field of the release, else of helmDefaults.
fn setting<T>(spec: &Value, defaults: &Value, read: impl Fn(&Value) -> Option<T>) -> Option<T> {
    read(spec).or_else(|| read(defaults))
}

fn seconds(v: &Value, key: &str) -> Option<u64> {
    let t = text(&get(v, key));
    let t = t.trim();
    if t.is_empty() {
        return None;
    }
    t.parse::<f64>()
        .ok()
        .filter(|f| f.is_finite() && *f >= 0.0 && *f < 1e9)
        .map(|f| f as u64)
}

/// The job of one release: helmDefaults and the release's own settings, the command line
/// over both; refused settings named.
fn job(
    v: &Visited,
    r: &ballast_helmfile::Release,
    default_ns: &str,
    common: &HelmfileDiffArgs,
    apply: Option<&HelmfileApplyArgs>,
    tmp: &Path,
    n: usize,
) -> Result<Job, String> {
    let defaults = v.state.field("helmDefaults");
    let at = |e: String| format!("in {}: release \"{}\": {e}", v.state.file.display(), r.name);
    for key in REFUSED_FLAGS {
        for (what, src) in [("helmDefaults", &defaults), ("release", &r.spec)] {
            if bool_field(src, key) == Some(true) {
                return Err(at(format!("{what}.{key} is not supported by ballast helmfile")));
            }
        }
    }
    for key in REFUSED_TEXT {
        for (what, src) in [("helmDefaults", &defaults), ("release", &r.spec)] {
            if !text(&get(src, key)).trim().is_empty() {
                return Err(at(format!("{what}.{key} is not supported by ballast helmfile")));
            }
        }
    }
    // A release to uninstall needs neither its chart nor its values.
    let (chart, values) = if r.installed {
        let (chart, input) = ballast_helmfile::release_input(&v.state, r).map_err(|e| e.0)?;
        let dir = tmp.join(format!("{n}"));
        std::fs::create_dir_all(&dir).map_err(|e| at(format!("{}: {e}", dir.display())))?;
        let mut files = Vec::new();
        for (i, (_, src)) in input.values.iter().enumerate() {
            let f = dir.join(format!("values-{i}.yaml"));
            std::fs::write(&f, src).map_err(|e| at(format!("{}: {e}", f.display())))?;
            files.push(f);
        }
        files.extend(common.values.iter().cloned());
        let mut set = input.set.clone();
        set.extend(common.set.iter().cloned());
        let values = ValueOptions {
            files,
            set,
            set_string: input.set_string.clone(),
            set_file: input.set_file.clone(),
            ..ValueOptions::default()
        };
        (chart, values)
    } else {
        (PathBuf::new(), ValueOptions::default())
    };
    let wait = apply.is_some_and(|a| a.wait) || setting(&r.spec, &defaults, |s| bool_field(s, "wait")).unwrap_or(false);
    let atomic = setting(&r.spec, &defaults, |s| bool_field(s, "atomic")).unwrap_or(false);
    let timeout = apply
        .map(|a| a.timeout)
        .filter(|t| *t > 0)
        .or_else(|| setting(&r.spec, &defaults, |s| seconds(s, "timeout")))
        .unwrap_or(300);
    let history_max = setting(&r.spec, &defaults, |s| seconds(s, "historyMax")).unwrap_or(10);
    let no_hooks = setting(&r.spec, &defaults, |s| bool_field(s, "disableHooks")).unwrap_or(false);
    let opts = ActionOptions {
        timeout: Duration::from_secs(timeout),
        // helm's --atomic implies --wait.
        wait: wait || atomic,
        history_max: usize::try_from(history_max).unwrap_or(usize::MAX),
        no_hooks,
        create_namespace: r.create_namespace,
        ..ActionOptions::default()
    };
    let namespace = if r.namespace.is_empty() {
        default_ns.to_string()
    } else {
        r.namespace.clone()
    };
    Ok(Job {
        name: r.name.clone(),
        namespace,
        chart_ref: r.chart.clone(),
        chart,
        values,
        opts,
        atomic,
    })
}

/// Runs `f` on every job, at most `limit` at once (0: all), results in job order; a task
/// that did not finish (a panic) is an error naming its release.
pub(super) async fn each<T, F, Fut>(
    jobs: Vec<Job>,
    limit: usize,
    cluster: &Cluster,
    f: F,
) -> Vec<(Job, Result<T, String>)>
where
    T: Send + 'static,
    F: Fn(Cluster, Job) -> Fut,
    Fut: std::future::Future<Output = T> + Send + 'static,
{
    let all = jobs.len().max(1);
    let permits = Arc::new(Semaphore::new(if limit == 0 { all } else { limit.min(all) }));
    let mut set = JoinSet::new();
    for (i, j) in jobs.iter().enumerate() {
        let fut = f(cluster.clone(), j.clone());
        let permits = permits.clone();
        set.spawn(async move {
            let _permit = permits.acquire_owned().await;
            (i, fut.await)
        });
    }
    let mut out: Vec<Option<T>> = jobs.iter().map(|_| None).collect();
    while let Some(r) = set.join_next().await {
        if let Ok((i, t)) = r
            && let Some(slot) = out.get_mut(i)
        {
            *slot = Some(t);
        }
    }
    jobs.into_iter()
        .zip(out)
        .map(|(j, t)| {
            let t = t.ok_or_else(|| format!("release \"{}\": the task stopped unexpectedly", j.name));
            (j, t)
        })
        .collect()
}

/// True when the release has a revision that is not uninstalled (as `helm list` shows it).
async fn present(cluster: &Cluster, job: &Job) -> Result<bool, String> {
    let history = Releases::new(cluster, &job.namespace)
        .history(&job.name)
        .await
        .map_err(|e| format!("release \"{}\": {e}", job.name))?;
    Ok(history.last().is_some_and(|r| r.info.status != Status::Uninstalled))
}

/// Prepares and plans every release of one state file; nothing is written.
async fn prepare(
    cluster: &Cluster,
    v: &Visited,
    common: &HelmfileDiffArgs,
    apply: Option<&HelmfileApplyArgs>,
    tmp: &Path,
) -> Result<StateRun, Vec<String>> {
    let needs = if common.include_transitive_needs {
        Needs::Transitive
    } else if common.include_needs || !common.skip_needs {
        Needs::Direct
    } else {
        Needs::Skip
    };
    let batches = ballast_helmfile::batches(&v.releases, &v.selected, needs).map_err(|e| vec![e.0])?;
    let mut errors = Vec::new();
    let mut upgrade: Vec<Vec<Job>> = Vec::new();
    let mut delete = Vec::new();
    let mut n = 0;
    for batch in &batches {
        let mut jobs = Vec::new();
        for &i in batch {
            let r = &v.releases[i];
            if !r.enabled {
                continue;
            }
            n += 1;
            match job(v, r, cluster.default_namespace(), common, apply, tmp, n) {
                Ok(j) if r.installed => jobs.push(j),
                Ok(j) => delete.push(j),
                Err(e) => errors.push(e),
            }
        }
        upgrade.push(jobs);
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut deletions = Vec::new();
    for (j, p) in each(delete, common.concurrency, cluster, |c, j| async move {
        present(&c, &j).await
    })
    .await
    {
        match p.and_then(|p| p) {
            Ok(true) => deletions.push(j),
            Ok(false) => {}
            Err(e) => errors.push(e),
        }
    }
    let mut planned = Vec::new();
    let skip_new = common.skip_diff_on_install;
    let no_hooks = common.no_hooks;
    for jobs in upgrade {
        let results = each(jobs, common.concurrency, cluster, move |c, j| async move {
            // --skip-diff-on-install: a release not installed yet is not planned (nor
            // dry-run: its kinds may come from a release it needs); it is installed.
            if skip_new && !present(&c, &j).await.map_err(ballast_release::ReleaseError)? {
                return Ok(ReleasePlan {
                    changed: true,
                    ..ReleasePlan::default()
                });
            }
            Releases::new(&c, &j.namespace)
                .plan(
                    &j.name,
                    &j.chart,
                    &j.values,
                    // --no-hooks: hooks are not compared.
                    &ActionOptions {
                        no_hooks: j.opts.no_hooks || no_hooks,
                        ..j.opts.clone()
                    },
                )
                .await
        })
        .await;
        let mut batch = Vec::new();
        for (job, r) in results {
            match r.and_then(|r| r.map_err(|e| e.to_string())) {
                Ok(plan) => batch.push(Planned { job, plan }),
                Err(e) => errors.push(format!("in {}: release \"{}\": {e}", v.state.file.display(), job.name)),
            }
        }
        planned.push(batch);
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(StateRun {
        batches: planned,
        deletions,
    })
}

/// Prints each release's diff (stdout) and the affected releases (stderr); returns whether
/// anything changes.
fn report(run: &StateRun, common: &HelmfileDiffArgs, context: usize) -> bool {
    let mut affected = Vec::new();
    for p in run.batches.iter().flatten() {
        let j = &p.job;
        eprintln!(
            "Comparing release={}, chart={}, namespace={}",
            j.name, j.chart_ref, j.namespace
        );
        if !p.plan.changed {
            continue;
        }
        affected.push(format!("  {} ({}) UPDATED", j.name, j.chart_ref));
        if common.suppress_diff || (common.skip_diff_on_install && !p.plan.exists) {
            continue;
        }
        let text = if context == 3 {
            p.plan.diff.clone()
        } else {
            plan_diff_with_context(&p.plan.plan, context) + &p.plan.hooks_diff
        };
        print!("{text}");
    }
    for j in &run.deletions {
        affected.push(format!("  {} ({}) DELETED", j.name, j.chart_ref));
    }
    affected.sort();
    if affected.is_empty() {
        eprintln!("No affected releases");
        false
    } else {
        eprintln!("Affected releases are:\n{}\n", affected.join("\n"));
        true
    }
}

/// A fresh directory only this user can read (it holds the releases' values).
fn private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if dir.exists() {
        std::fs::remove_dir_all(dir)?;
    }
    std::fs::DirBuilder::new().mode(0o700).create(dir)
}

/// Runs `helmfile diff` (`apply` None) or `helmfile apply`.
pub async fn run(
    args: &HelmfileArgs,
    common: &HelmfileDiffArgs,
    apply: Option<&HelmfileApplyArgs>,
    kubeconfig: Option<&Path>,
    context: Option<&str>,
) -> Result<u8> {
    if common.show_secrets {
        eprintln!("--show-secrets is refused: Ballast never prints Secret values");
        return Ok(1);
    }
    // Under `helmfile`, a numeric --context is helmfile's diff context; the kube context is
    // --kube-context.
    let (lines, kube_context) = match context.map(|c| (c, c.parse::<usize>())) {
        Some((_, Ok(n))) => (n, args.kube_context.as_deref()),
        Some((c, Err(_))) => (3, args.kube_context.as_deref().or(Some(c))),
        None => (3, args.kube_context.as_deref()),
    };
    let lines = if lines == 0 { 3 } else { lines.min(1000) };
    let visited = match ballast_helmfile::visit(&super::helmfile::options(args)) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("{e}");
            return Ok(super::helmfile::exit_code(&e));
        }
    };
    let cluster = match connect(kubeconfig, kube_context).await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e:#}");
            return Ok(1);
        }
    };
    let tmp = std::env::temp_dir().join(format!("ballast-helmfile-{}", std::process::id()));
    if let Err(e) = private_dir(&tmp) {
        eprintln!("{}: {e}", tmp.display());
        return Ok(1);
    }
    let outcome = states(&cluster, &visited, common, apply, &tmp, lines).await;
    let _ = std::fs::remove_dir_all(&tmp);
    match outcome {
        Err(errors) => {
            for e in errors {
                eprintln!("{e}");
            }
            Ok(1)
        }
        Ok(changed) if changed && common.detailed_exitcode => {
            if apply.is_none() {
                eprintln!("Identified at least one change");
            }
            Ok(2)
        }
        Ok(_) => Ok(0),
    }
}

/// Every state file in turn; true when something changed (diff) or was written (apply).
async fn states(
    cluster: &Cluster,
    visited: &[Visited],
    common: &HelmfileDiffArgs,
    apply: Option<&HelmfileApplyArgs>,
    tmp: &Path,
    lines: usize,
) -> Result<bool, Vec<String>> {
    let mut any = false;
    for v in visited {
        let run = prepare(cluster, v, common, apply, tmp).await?;
        let changed = report(&run, common, lines);
        if apply.is_none() {
            any |= changed;
            continue;
        }
        if !changed {
            continue;
        }
        let (wrote, errors) = super::helmfile_apply::execute(cluster, run, common.concurrency).await;
        any |= wrote;
        if !errors.is_empty() {
            return Err(errors);
        }
    }
    Ok(any)
}
