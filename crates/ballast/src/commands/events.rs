//! `ballast events`.

use std::path::Path;

use anyhow::Result;
use k8s_openapi::api::core::v1::Event;
use kube::api::{Api, ListParams};

use crate::cli::EventsArgs;
use crate::pipeline::connect;

pub async fn run(args: &EventsArgs, kubeconfig: Option<&Path>, context: Option<&str>) -> Result<u8> {
    let cluster = connect(kubeconfig, context).await?;
    let api: Api<Event> = if args.all_namespaces {
        Api::all(cluster.client().clone())
    } else {
        Api::namespaced(cluster.client().clone(), &args.namespace)
    };
    let mut events: Vec<Event> = api
        .list(&ListParams::default())
        .await?
        .items
        .into_iter()
        .filter(|e| {
            matches!(
                e.involved_object.kind.as_deref(),
                Some("GitRepository" | "Kustomization")
            )
        })
        .filter(|e| match &args.for_object {
            Some(f) => {
                format!(
                    "{}/{}",
                    e.involved_object.kind.as_deref().unwrap_or(""),
                    e.involved_object.name.as_deref().unwrap_or("")
                ) == *f
            }
            None => true,
        })
        .collect();
    let time = |e: &Event| {
        e.event_time
            .as_ref()
            .map(|t| t.0)
            .or(e.last_timestamp.as_ref().map(|t| t.0))
            .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
    };
    events.sort_by_key(time);
    println!("LAST SEEN\tTYPE\tREASON\tOBJECT\tMESSAGE");
    let now = jiff::Timestamp::now();
    for e in events {
        let age = now.as_second() - time(&e).as_second();
        let object = format!(
            "{}/{}",
            e.involved_object.kind.unwrap_or_default(),
            e.involved_object.name.unwrap_or_default()
        );
        let message = e.message.unwrap_or_default().replace('\n', "; ");
        println!(
            "{age}s\t{}\t{}\t{object}\t{message}",
            e.type_.unwrap_or_default(),
            e.reason.unwrap_or_default()
        );
    }
    Ok(0)
}
