//! `ballast check [--pre]`.

use std::path::Path;

use anyhow::Result;
use ballast_core::ObjectRef;
use k8s_openapi::api::coordination::v1::Lease;
use kube::api::Api;

use crate::cli::CheckArgs;
use crate::pipeline::connect;

pub async fn run(args: &CheckArgs, kubeconfig: Option<&Path>, context: Option<&str>) -> Result<u8> {
    let mut ok = true;
    println!("► checking prerequisites");
    let cluster = match connect(kubeconfig, context).await {
        Ok(c) => c,
        Err(e) => {
            println!("✗ {e:#}");
            return Ok(1);
        }
    };
    let version = cluster.client().apiserver_version().await?;
    let minor: u32 = version.minor.trim_end_matches('+').parse().unwrap_or(0);
    if version.major == "1" && minor >= 16 {
        println!("✔ Kubernetes {} >=1.16 (server-side apply)", version.git_version);
    } else {
        println!("✗ Kubernetes {}: server-side apply needs >=1.16", version.git_version);
        ok = false;
    }
    if args.pre {
        println!(
            "{}",
            if ok {
                "✔ prerequisites checks passed"
            } else {
                "✗ prerequisites checks failed"
            }
        );
        return Ok(if ok { 0 } else { 1 });
    }
    println!("► checking the installation");
    for (api_version, kind) in [
        ("source.toolkit.fluxcd.io/v1", "GitRepository"),
        ("kustomize.toolkit.fluxcd.io/v1", "Kustomization"),
    ] {
        let served: Vec<&str> = ["v1", "v1beta2", "v1beta1"]
            .into_iter()
            .filter(|v| {
                let group = api_version.split('/').next().unwrap_or_default();
                cluster.serves(&ObjectRef::new(&format!("{group}/{v}"), kind, Some("x"), "x"))
            })
            .collect();
        if served.is_empty() {
            println!("✗ {kind}: CRD not installed (run `ballast install`)");
            ok = false;
        } else {
            println!("✔ {kind} ({})", served.join(", "));
        }
    }
    let leases: Api<Lease> = Api::namespaced(cluster.client().clone(), &args.namespace);
    match leases.get_opt("ballast-controller-leader").await {
        Ok(Some(l)) => {
            let spec = l.spec.unwrap_or_default();
            let holder = spec.holder_identity.unwrap_or_default();
            let age = spec
                .renew_time
                .map(|t| jiff::Timestamp::now().as_second() - t.0.as_second())
                .unwrap_or(i64::MAX);
            if !holder.is_empty() && age <= i64::from(spec.lease_duration_seconds.unwrap_or(15)) {
                println!("✔ controller {holder} leads (lease renewed {age}s ago)");
            } else {
                println!(
                    "✗ no controller holds the lease {}/ballast-controller-leader",
                    args.namespace
                );
                ok = false;
            }
        }
        _ => println!(
            "• no leader-election lease in {}: run `ballast controller --leader-elect` (or without election)",
            args.namespace
        ),
    }
    println!(
        "{}",
        if ok {
            "✔ all checks passed"
        } else {
            "✗ some checks failed"
        }
    );
    Ok(if ok { 0 } else { 1 })
}
