//! `ballast create source git` and `ballast create kustomization`, like `flux create`.

use std::path::Path;

use anyhow::{Result, bail};
use ballast_core::{ObjectRef, parse_duration};
use ballast_render::emit::to_yaml;
use serde_json::{Map, Value, json};

use crate::cli::{CreateCommand, CreateGit, CreateKustomization, CreateSource};
use crate::pipeline::connect;

pub async fn run(cmd: &CreateCommand, kubeconfig: Option<&Path>, context: Option<&str>) -> Result<u8> {
    let (object, export) = match cmd {
        CreateCommand::Source(CreateSource::Git(args)) => (git_repository(args)?, args.export),
        CreateCommand::Kustomization(args) => (kustomization(args)?, args.export),
    };
    if export {
        print!("---\n{}", to_yaml(&object));
        return Ok(0);
    }
    let cluster = connect(kubeconfig, context).await?;
    let r = ObjectRef::new(
        object["apiVersion"].as_str().unwrap_or_default(),
        object["kind"].as_str().unwrap_or_default(),
        object["metadata"]["namespace"].as_str(),
        object["metadata"]["name"].as_str().unwrap_or_default(),
    );
    if !cluster.serves(&r) {
        bail!(
            "{r}: the cluster does not serve {} yet; run `ballast install` first",
            r.api_version()
        );
    }
    let existed = cluster.get(&r).await?.is_some();
    cluster.apply(&r, &object, false, true).await?;
    println!("{r} {}", if existed { "configured" } else { "created" });
    Ok(0)
}

fn check_interval(name: &str, value: &str) -> Result<()> {
    parse_duration(value)
        .map(|_| ())
        .map_err(|e| anyhow::anyhow!("--{name}: {e}"))
}

/// The GitRepository `create source git` describes.
pub fn git_repository(a: &CreateGit) -> Result<Value> {
    check_interval("interval", &a.interval)?;
    let mut reference = Map::new();
    for (k, v) in [
        ("branch", &a.branch),
        ("tag", &a.tag),
        ("semver", &a.tag_semver),
        ("commit", &a.commit),
    ] {
        if let Some(v) = v {
            reference.insert(k.into(), Value::String(v.clone()));
        }
    }
    if reference.is_empty() {
        bail!("one of --branch, --tag, --tag-semver or --commit is required");
    }
    let mut spec = json!({"interval": a.interval, "ref": reference, "url": a.url});
    if let Some(s) = &a.secret_ref {
        spec["secretRef"] = json!({"name": s});
    }
    if a.insecure {
        spec["insecure"] = Value::Bool(true);
    }
    if !a.ignore_paths.is_empty() {
        spec["ignore"] = Value::String(a.ignore_paths.join("\n"));
    }
    Ok(json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "GitRepository",
        "metadata": {"name": a.name, "namespace": a.namespace},
        "spec": spec,
    }))
}

/// The Kustomization `create kustomization` describes.
pub fn kustomization(a: &CreateKustomization) -> Result<Value> {
    check_interval("interval", &a.interval)?;
    let Some((kind, source)) = a.source.split_once('/') else {
        bail!(
            "--source {:?}: expected GitRepository/NAME or GitRepository/NAME.NAMESPACE",
            a.source
        );
    };
    if kind != "GitRepository" {
        bail!("--source {:?}: only GitRepository sources are supported yet", a.source);
    }
    let mut source_ref = json!({"kind": kind, "name": source});
    if let Some((name, ns)) = source.split_once('.') {
        source_ref = json!({"kind": kind, "name": name, "namespace": ns});
    }
    let mut spec = json!({"interval": a.interval, "path": a.path, "prune": a.prune, "sourceRef": source_ref});
    if let Some(r) = &a.retry_interval {
        check_interval("retry-interval", r)?;
        spec["retryInterval"] = json!(r);
    }
    if let Some(t) = &a.target_namespace {
        spec["targetNamespace"] = json!(t);
    }
    if !a.depends_on.is_empty() {
        let deps: Vec<Value> = a
            .depends_on
            .iter()
            .map(|d| match d.split_once('/') {
                Some((ns, name)) => json!({"name": name, "namespace": ns}),
                None => json!({"name": d}),
            })
            .collect();
        spec["dependsOn"] = Value::Array(deps);
    }
    if a.wait {
        spec["wait"] = json!(true);
    }
    if !a.health_check.is_empty() {
        let mut checks = Vec::new();
        for hc in &a.health_check {
            let Some((kind, rest)) = hc.split_once('/') else {
                bail!("--health-check {hc:?}: expected Kind/name.namespace");
            };
            let (name, ns) = rest.split_once('.').unwrap_or((rest, a.namespace.as_str()));
            let api_version = match kind {
                "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" => "apps/v1",
                "Job" | "CronJob" => "batch/v1",
                "HelmRelease" => "helm.toolkit.fluxcd.io/v2",
                "Kustomization" => "kustomize.toolkit.fluxcd.io/v1",
                _ => "v1",
            };
            checks.push(json!({"apiVersion": api_version, "kind": kind, "name": name, "namespace": ns}));
        }
        spec["healthChecks"] = Value::Array(checks);
    }
    if let Some(t) = &a.health_check_timeout {
        check_interval("health-check-timeout", t)?;
        spec["timeout"] = json!(t);
    }
    Ok(json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": a.name, "namespace": a.namespace},
        "spec": spec,
    }))
}
