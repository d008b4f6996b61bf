//! `ballast get sources git|helm|chart|oci`, `ballast get kustomizations|helmreleases`,
//! `ballast get images all|repository|policy|update`.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use anyhow::Result;
use ballast_api::{GitRepository, HelmChart, HelmRelease, HelmRepository, Kustomization, OCIRepository};
use kube::ResourceExt;
use kube::api::{Api, ListParams};

use super::flux_objects::{FluxObject, ready, truncate_hex};
use crate::cli::{GetArgs, GetCommand, GetSources};
use crate::pipeline::connect;

pub async fn run(cmd: &GetCommand, kubeconfig: Option<&Path>, context: Option<&str>) -> Result<u8> {
    let cluster = connect(kubeconfig, context).await?;
    let client = cluster.client().clone();
    match cmd {
        GetCommand::Sources(GetSources::Git(args)) => {
            let api: Api<GitRepository> = api(client, args);
            show(&api, args).await
        }
        GetCommand::Sources(GetSources::Helm(args)) => {
            let api: Api<HelmRepository> = api(client, args);
            show(&api, args).await
        }
        GetCommand::Sources(GetSources::Chart(args)) => {
            let api: Api<HelmChart> = api(client, args);
            show(&api, args).await
        }
        GetCommand::Sources(GetSources::Oci(args)) => {
            let api: Api<OCIRepository> = api(client, args);
            show(&api, args).await
        }
        GetCommand::Kustomizations(args) => {
            let api: Api<Kustomization> = api(client, args);
            show(&api, args).await
        }
        GetCommand::Helmreleases(a) => {
            let api: Api<HelmRelease> = api(client, &a.common);
            show_with(&api, &a.common, a.show_source).await
        }
        GetCommand::Images(cmd) => super::image::get(client, cmd).await,
    }
}

pub(super) fn api<K: FluxObject>(client: kube::Client, args: &GetArgs) -> Api<K> {
    if args.all_namespaces {
        Api::all(client)
    } else {
        Api::namespaced(client, &args.namespace)
    }
}

fn row<K: FluxObject>(o: &K, all: bool, source: bool) -> Vec<String> {
    let (status, mut message) = ready(o);
    if K::SHORT_HEX_MESSAGE {
        message = truncate_hex(&message);
    }
    let mut r = vec![
        o.name_any(),
        o.list_revision(),
        if o.suspended() { "True" } else { "False" }.into(),
        status,
        message,
    ];
    if source {
        r.insert(1, o.source_ref());
    }
    if all {
        r.insert(0, o.namespace().unwrap_or_default());
    }
    r
}

fn print_table(rows: &[Vec<String>], all: bool, source: bool, revision: &str) {
    let mut header: Vec<String> = ["NAME", revision, "SUSPENDED", "READY", "MESSAGE"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    if source {
        header.insert(1, "SOURCE".into());
    }
    if all {
        header.insert(0, "NAMESPACE".into());
    }
    let mut widths: Vec<usize> = header.iter().map(String::len).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.len());
        }
    }
    let line = |cells: &[String]| {
        let n = cells.len();
        cells
            .iter()
            .enumerate()
            .map(|(i, c)| {
                if i + 1 == n {
                    c.clone()
                } else {
                    format!("{c:<w$}", w = widths[i])
                }
            })
            .collect::<Vec<_>>()
            .join("\t")
    };
    println!("{}", line(&header));
    for r in rows {
        println!("{}", line(r));
    }
}

pub(super) async fn show<K: FluxObject>(api: &Api<K>, args: &GetArgs) -> Result<u8> {
    show_with(api, args, false).await
}

/// `show`, with a SOURCE column when `source`.
async fn show_with<K: FluxObject>(api: &Api<K>, args: &GetArgs, source: bool) -> Result<u8> {
    let list = api.list(&ListParams::default()).await?;
    let rows: Vec<Vec<String>> = list.items.iter().map(|o| row(o, args.all_namespaces, source)).collect();
    if rows.is_empty() && !args.watch {
        eprintln!(
            "no {} objects found in {}",
            K::KIND,
            if args.all_namespaces {
                "any namespace"
            } else {
                &args.namespace
            }
        );
        return Ok(0);
    }
    print_table(&rows, args.all_namespaces, source, K::REVISION_COLUMN);
    if !args.watch {
        return Ok(0);
    }
    let mut last: HashMap<String, Vec<String>> = list
        .items
        .iter()
        .map(|o| {
            let key = format!("{}/{}", o.namespace().unwrap_or_default(), o.name_any());
            (key, row(o, args.all_namespaces, source))
        })
        .collect();
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        for o in api.list(&ListParams::default()).await?.items {
            let r = row(&o, args.all_namespaces, source);
            let key = format!("{}/{}", o.namespace().unwrap_or_default(), o.name_any());
            if last.get(&key) != Some(&r) {
                println!("{}", r.join("\t"));
                last.insert(key, r);
            }
        }
    }
}
