//! `ballast get sources git` and `ballast get kustomizations`.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use anyhow::Result;
use ballast_api::{GitRepository, HelmChart, HelmRepository, Kustomization, OCIRepository};
use kube::ResourceExt;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, ListParams};

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
        GetCommand::Helmreleases(args) => helm_releases(client, args).await,
    }
}

/// Lists HelmReleases when the cluster serves them (another controller reconciles them; Ballast
/// only shows their Ready condition).
async fn helm_releases(client: kube::Client, args: &GetArgs) -> Result<u8> {
    let gvk = GroupVersionKind::gvk("helm.toolkit.fluxcd.io", "v2", "HelmRelease");
    let resource = ApiResource::from_gvk_with_plural(&gvk, "helmreleases");
    let api: Api<DynamicObject> = if args.all_namespaces {
        Api::all_with(client, &resource)
    } else {
        Api::namespaced_with(client, &args.namespace, &resource)
    };
    let where_ = if args.all_namespaces {
        "any namespace".to_string()
    } else {
        args.namespace.clone()
    };
    let items = match api.list(&ListParams::default()).await {
        Ok(l) => l.items,
        Err(kube::Error::Api(e)) if e.code == 404 => {
            eprintln!(
                "no HelmRelease objects found in {where_} (the cluster does not serve helm.toolkit.fluxcd.io/v2; Ballast does not reconcile Helm releases)"
            );
            return Ok(0);
        }
        Err(e) => return Err(e.into()),
    };
    if items.is_empty() {
        eprintln!("no HelmRelease objects found in {where_}");
        return Ok(0);
    }
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|o| {
            let status = &o.data["status"];
            let ready = status["conditions"]
                .as_array()
                .and_then(|cs| cs.iter().find(|c| c["type"] == "Ready"));
            let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_string();
            let mut r = vec![
                o.name_any(),
                text(&status["lastAttemptedRevision"]),
                if o.data["spec"]["suspend"] == true {
                    "True"
                } else {
                    "False"
                }
                .into(),
                ready.map(|c| text(&c["status"])).unwrap_or_else(|| "Unknown".into()),
                ready.map(|c| text(&c["message"])).unwrap_or_default(),
            ];
            if args.all_namespaces {
                r.insert(0, o.namespace().unwrap_or_default());
            }
            r
        })
        .collect();
    print_table(&rows, args.all_namespaces);
    Ok(0)
}

fn api<K: FluxObject>(client: kube::Client, args: &GetArgs) -> Api<K> {
    if args.all_namespaces {
        Api::all(client)
    } else {
        Api::namespaced(client, &args.namespace)
    }
}

fn row<K: FluxObject>(o: &K, all: bool) -> Vec<String> {
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
    if all {
        r.insert(0, o.namespace().unwrap_or_default());
    }
    r
}

fn print_table(rows: &[Vec<String>], all: bool) {
    let mut header: Vec<String> = ["NAME", "REVISION", "SUSPENDED", "READY", "MESSAGE"]
        .iter()
        .map(|s| s.to_string())
        .collect();
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

async fn show<K: FluxObject>(api: &Api<K>, args: &GetArgs) -> Result<u8> {
    let list = api.list(&ListParams::default()).await?;
    let rows: Vec<Vec<String>> = list.items.iter().map(|o| row(o, args.all_namespaces)).collect();
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
    print_table(&rows, args.all_namespaces);
    if !args.watch {
        return Ok(0);
    }
    let mut last: HashMap<String, Vec<String>> = list
        .items
        .iter()
        .map(|o| {
            let key = format!("{}/{}", o.namespace().unwrap_or_default(), o.name_any());
            (key, row(o, args.all_namespaces))
        })
        .collect();
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        for o in api.list(&ListParams::default()).await?.items {
            let r = row(&o, args.all_namespaces);
            let key = format!("{}/{}", o.namespace().unwrap_or_default(), o.name_any());
            if last.get(&key) != Some(&r) {
                println!("{}", r.join("\t"));
                last.insert(key, r);
            }
        }
    }
}
