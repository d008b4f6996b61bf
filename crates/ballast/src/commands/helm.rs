//! `ballast helm install|upgrade|rollback|uninstall|list|history|test`: Helm releases on the
//! cluster, stored as helm v4 stores them (`helm list`, `helm history`, `helm rollback` work
//! on them, and these commands on helm's). Exit 0: done; 2: the action failed (the release
//! is recorded `failed`, the message names the step, e.g. the hook).

use std::io::Write;
use std::path::Path;

use anyhow::Result;
use ballast_core::parse_duration;
use ballast_helm::release::{Release, Status};
use ballast_helm::values::ValueOptions;
use ballast_release::{ActionOptions, Releases};

use crate::cli::{HelmActionArgs, HelmChartArgs, HelmCommand};
use crate::pipeline::connect;

fn options(a: &HelmActionArgs, keep_history: bool) -> Result<ActionOptions> {
    Ok(ActionOptions {
        timeout: parse_duration(&a.timeout).map_err(anyhow::Error::msg)?,
        wait: a.wait,
        history_max: a.history_max,
        no_hooks: a.no_hooks,
        keep_history,
        ..ActionOptions::default()
    })
}

fn values(a: &HelmChartArgs) -> ValueOptions {
    ValueOptions {
        files: a.values.clone(),
        set: a.set.clone(),
        set_string: a.set_string.clone(),
        set_json: a.set_json.clone(),
        ..ValueOptions::default()
    }
}

/// helm's time column: `Sun Nov 29 21:51:18 2026` (local time as helm prints it; UTC here).
fn when(rfc3339: &str) -> String {
    rfc3339
        .parse::<jiff::Timestamp>()
        .map(|t| t.strftime("%a %b %e %H:%M:%S %Y").to_string())
        .unwrap_or_default()
}

fn chart(r: &Release) -> String {
    format!("{}-{}", r.chart.name(), r.chart.version())
}

fn status(r: &Release) -> String {
    let mut out = format!(
        "NAME: {}\nLAST DEPLOYED: {}\nNAMESPACE: {}\nSTATUS: {}\nREVISION: {}\nDESCRIPTION: {}\n",
        r.name,
        when(&r.info.last_deployed),
        r.namespace,
        r.info.status,
        r.version,
        r.info.description
    );
    if !r.info.notes.is_empty() {
        out.push_str(&format!("NOTES:\n{}\n", r.info.notes.trim_end()));
    }
    out
}

fn table(rows: Vec<Vec<String>>) -> String {
    let mut out = String::new();
    let cols = rows.first().map_or(0, Vec::len);
    let widths: Vec<usize> = (0..cols)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    for row in rows {
        let line: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(c, v)| format!("{v:<w$}", w = widths[c]))
            .collect();
        out.push_str(line.join("\t").trim_end());
        out.push('\n');
    }
    out
}

/// Runs a `helm` subcommand.
pub async fn run(cmd: &HelmCommand, kubeconfig: Option<&Path>, context: Option<&str>) -> Result<u8> {
    let cluster = connect(kubeconfig, context).await?;
    let outcome = match cmd {
        HelmCommand::Install(a) => Releases::new(&cluster, &a.namespace)
            .install(
                &a.release,
                &a.chart,
                &values(a),
                &ActionOptions {
                    create_namespace: a.create_namespace,
                    ..options(&a.action, false)?
                },
            )
            .await
            .map(|r| status(&r)),
        HelmCommand::Upgrade(a) => {
            let releases = Releases::new(&cluster, &a.namespace);
            let opts = ActionOptions {
                create_namespace: a.create_namespace,
                ..options(&a.action, false)?
            };
            let fresh = a.install
                && releases
                    .history(&a.release)
                    .await
                    .map(|h| h.last().is_none_or(|r| r.info.status == Status::Uninstalled))
                    .unwrap_or(false);
            if fresh {
                releases
                    .install(&a.release, &a.chart, &values(a), &opts)
                    .await
                    .map(|r| {
                        format!(
                            "Release {:?} does not exist. Installing it now.\n{}",
                            r.name,
                            status(&r)
                        )
                    })
            } else {
                releases
                    .upgrade(&a.release, &a.chart, &values(a), &opts)
                    .await
                    .map(|r| format!("Release {:?} has been upgraded.\n{}", r.name, status(&r)))
            }
        }
        HelmCommand::Rollback(a) => Releases::new(&cluster, &a.namespace)
            .rollback(&a.release, a.revision, &options(&a.action, false)?)
            .await
            .map(|_| "Rollback was a success!\n".to_string()),
        HelmCommand::Uninstall(a) => Releases::new(&cluster, &a.namespace)
            .uninstall(&a.release, &options(&a.action, a.keep_history)?)
            .await
            .map(|r| format!("release {:?} uninstalled\n", r.name)),
        HelmCommand::List(a) => Releases::new(&cluster, &a.namespace).list().await.map(|list| {
            let mut rows = vec![
                [
                    "NAME",
                    "NAMESPACE",
                    "REVISION",
                    "UPDATED",
                    "STATUS",
                    "CHART",
                    "APP VERSION",
                ]
                .map(String::from)
                .to_vec(),
            ];
            for r in list {
                let shown =
                    a.all || matches!(r.info.status, Status::Deployed | Status::Failed) || r.info.status.is_pending();
                if !shown {
                    continue;
                }
                rows.push(vec![
                    r.name.clone(),
                    r.namespace.clone(),
                    r.version.to_string(),
                    when(&r.info.last_deployed),
                    r.info.status.to_string(),
                    chart(&r),
                    r.chart.app_version().to_string(),
                ]);
            }
            table(rows)
        }),
        HelmCommand::Test(a) => Releases::new(&cluster, &a.namespace)
            .test(&a.release, &options(&a.action, false)?)
            .await
            .map(|r| {
                let mut out = status(&r);
                for h in r.hooks.iter().filter(|h| h.events.iter().any(|e| e == "test")) {
                    out.push_str(&format!(
                        "TEST SUITE:     {}\nLast Started:   {}\nLast Completed: {}\nPhase:          {}\n",
                        h.name,
                        when(&h.last_run.started_at),
                        when(&h.last_run.completed_at),
                        h.last_run.phase
                    ));
                }
                out
            }),
        HelmCommand::History(a) => Releases::new(&cluster, &a.namespace)
            .history(&a.release)
            .await
            .and_then(|h| {
                if h.is_empty() {
                    return Err(ballast_release::ReleaseError("release: not found".into()));
                }
                let mut rows = vec![
                    ["REVISION", "UPDATED", "STATUS", "CHART", "APP VERSION", "DESCRIPTION"]
                        .map(String::from)
                        .to_vec(),
                ];
                for r in h {
                    rows.push(vec![
                        r.version.to_string(),
                        when(&r.info.last_deployed),
                        r.info.status.to_string(),
                        chart(&r),
                        r.chart.app_version().to_string(),
                        r.info.description.clone(),
                    ]);
                }
                Ok(table(rows))
            }),
    };
    match outcome {
        Ok(text) => {
            let mut out = std::io::stdout().lock();
            match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
                _ => Ok(0),
            }
        }
        Err(e) => {
            eprintln!("Error: {e}");
            Ok(2)
        }
    }
}
