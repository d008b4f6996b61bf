//! `ballast helmfile apply`, the writing half: what `helmfile_live` planned for one state
//! file carried out as helmfile does it: deletions first (reverse `needs` order), then the
//! changed releases upgraded or installed batch by batch, a batch in parallel; a failed batch
//! stops the ones after it. `atomic` rolls a failed upgrade back and uninstalls a failed
//! install, as helm's `--atomic`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use ballast_kube::Cluster;
use ballast_release::Releases;

use super::helmfile_live::{Job, StateRun, each};

/// What one apply did to one release.
struct Done {
    name: String,
    namespace: String,
    chart: String,
    version: String,
    took: Duration,
}

async fn upgrade(cluster: Cluster, job: Job, exists: bool) -> Result<Done, String> {
    let started = Instant::now();
    let releases = Releases::new(&cluster, &job.namespace);
    let outcome = if exists {
        releases.upgrade(&job.name, &job.chart, &job.values, &job.opts).await
    } else {
        releases.install(&job.name, &job.chart, &job.values, &job.opts).await
    };
    match outcome {
        Ok(r) => Ok(Done {
            name: job.name,
            namespace: job.namespace,
            chart: job.chart_ref,
            version: r.chart.version().to_string(),
            took: started.elapsed(),
        }),
        Err(e) => {
            let mut msg = format!("release \"{}\" in namespace \"{}\": {e}", job.name, job.namespace);
            if job.atomic {
                // helm's --atomic: a failed upgrade is rolled back, a failed install removed.
                let undo = if exists {
                    releases
                        .rollback(&job.name, None, &job.opts)
                        .await
                        .map(|_| "rolled back")
                } else {
                    releases.uninstall(&job.name, &job.opts).await.map(|_| "uninstalled")
                };
                match undo {
                    Ok(what) => msg.push_str(&format!(" (atomic: {what})")),
                    Err(u) => msg.push_str(&format!(" (atomic: undo failed: {u})")),
                }
            }
            Err(msg)
        }
    }
}

fn table(title: &str, header: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut all = vec![header.iter().map(|h| h.to_string()).collect::<Vec<_>>()];
    all.extend(rows);
    let cols = header.len();
    let widths: Vec<usize> = (0..cols)
        .map(|c| {
            all.iter()
                .map(|r| r.get(c).map_or(0, |v| v.chars().count()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = format!("\n{title}\n");
    for row in all {
        let line: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(c, v)| format!("{v:<w$}", w = widths[c]))
            .collect();
        out.push_str(line.join("   ").trim_end());
        out.push('\n');
    }
    out
}

/// Applies one state file's plan; returns whether anything was written and the errors.
pub(super) async fn execute(cluster: &Cluster, run: StateRun, concurrency: usize) -> (bool, Vec<String>) {
    let mut errors = Vec::new();
    let mut deleted = Vec::new();
    let mut upgraded = Vec::new();
    // Deletions first, in reverse needs order, as helmfile.
    for j in run.deletions.into_iter().rev() {
        let started = Instant::now();
        let opts = j.opts.clone();
        match Releases::new(cluster, &j.namespace).uninstall(&j.name, &opts).await {
            Ok(_) => deleted.push(vec![j.name, j.namespace, format!("{}s", started.elapsed().as_secs())]),
            Err(e) => errors.push(format!("release \"{}\": {e}", j.name)),
        }
    }
    if errors.is_empty() {
        for batch in run.batches {
            let exists: BTreeMap<String, bool> = batch
                .iter()
                .map(|p| (format!("{}/{}", p.job.namespace, p.job.name), p.plan.exists))
                .collect();
            let jobs: Vec<Job> = batch.into_iter().filter(|p| p.plan.changed).map(|p| p.job).collect();
            let results = each(jobs, concurrency, cluster, |c, j| {
                let e = exists
                    .get(&format!("{}/{}", j.namespace, j.name))
                    .copied()
                    .unwrap_or(false);
                upgrade(c, j, e)
            })
            .await;
            for (_, r) in results {
                match r.and_then(|r| r) {
                    Ok(d) => upgraded.push(d),
                    Err(e) => errors.push(e),
                }
            }
            if !errors.is_empty() {
                break;
            }
        }
    }
    let wrote = !deleted.is_empty() || !upgraded.is_empty();
    if !upgraded.is_empty() {
        let rows = upgraded
            .into_iter()
            .map(|d| {
                vec![
                    d.name,
                    d.namespace,
                    d.chart,
                    d.version,
                    format!("{}s", d.took.as_secs()),
                ]
            })
            .collect();
        eprint!(
            "{}",
            table(
                "UPDATED RELEASES:",
                &["NAME", "NAMESPACE", "CHART", "VERSION", "DURATION"],
                rows
            )
        );
    }
    if !deleted.is_empty() {
        eprint!(
            "{}",
            table("DELETED RELEASES:", &["NAME", "NAMESPACE", "DURATION"], deleted)
        );
    }
    (wrote, errors)
}
