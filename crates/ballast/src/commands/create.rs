//! `ballast create source git|helm|oci|chart` and `ballast create kustomization`, like `flux create`.

use std::path::Path;

use anyhow::{Result, bail};
use ballast_core::ObjectRef;
use serde_json::{Map, Value, json};

use super::create_helm::{helm_chart, helm_credentials, helm_release, helm_repository, oci_repository};
use super::flux_format::{self, go_duration};
use super::flux_secret;
use crate::cli::{CreateCommand, CreateCommon, CreateGit, CreateKustomization, CreateSource};
use crate::pipeline::connect;

pub async fn run(cmd: &CreateCommand, kubeconfig: Option<&Path>, context: Option<&str>) -> Result<u8> {
    let mut secret = None;
    let (mut object, export) = match cmd {
        CreateCommand::Source(CreateSource::Git(args)) => (git_repository(args)?, args.common.export),
        CreateCommand::Source(CreateSource::Helm(args)) => {
            let object = helm_repository(args)?;
            if args.secret_ref.is_none() {
                let creds = helm_credentials(args)?;
                if !creds.is_empty() {
                    if args.common.export {
                        // As `flux create source helm --export`: only the HelmRepository is
                        // printed; the credentials are not written anywhere.
                        eprintln!(
                            "note: --export prints the HelmRepository only; the credentials are not exported (create a Secret and pass --secret-ref)"
                        );
                    } else {
                        let name = format!("helm-{}", args.name);
                        secret = Some((flux_secret::helm_secret(&name, &args.common.namespace, &creds), name));
                    }
                }
            }
            (object, args.common.export)
        }
        CreateCommand::Source(CreateSource::Oci(args)) => (oci_repository(args)?, args.common.export),
        CreateCommand::Source(CreateSource::Chart(args)) => (helm_chart(args)?, args.common.export),
        CreateCommand::Kustomization(args) => (kustomization(args)?, args.common.export),
        CreateCommand::Helmrelease(args) => (helm_release(args)?, args.common.export),
        CreateCommand::Image(cmd) => super::image::create(cmd)?,
    };
    if export {
        print!("{}", flux_format::export(&object));
        return Ok(0);
    }
    let cluster = connect(kubeconfig, context).await?;
    let r = object_ref(&object);
    if !cluster.serves(&r) {
        bail!(
            "{r}: the cluster does not serve {} yet; run `ballast install` first",
            r.api_version()
        );
    }
    if let Some((secret, name)) = secret {
        let sr = object_ref(&secret);
        let existed = cluster.get(&sr).await?.is_some();
        cluster.apply(&sr, &secret, false, true).await?;
        println!("{sr} {}", if existed { "configured" } else { "created" });
        object["spec"]["secretRef"] = json!({"name": name});
        if let CreateCommand::Source(CreateSource::Helm(a)) = cmd
            && a.pass_credentials
        {
            object["spec"]["passCredentials"] = Value::Bool(true);
        }
    }
    let existed = cluster.get(&r).await?.is_some();
    cluster.apply(&r, &object, false, true).await?;
    println!("{r} {}", if existed { "configured" } else { "created" });
    Ok(0)
}

/// The reference of an object built here.
fn object_ref(object: &Value) -> ObjectRef {
    ObjectRef::new(
        object["apiVersion"].as_str().unwrap_or_default(),
        object["kind"].as_str().unwrap_or_default(),
        object["metadata"]["namespace"].as_str(),
        object["metadata"]["name"].as_str().unwrap_or_default(),
    )
}

/// Source kinds a Kustomization may name in Flux; Ballast reconciles GitRepositories.
const SOURCE_KINDS: [&str; 3] = ["OCIRepository", "GitRepository", "Bucket"];

/// An RFC 1123 label, as Flux requires of the names it creates.
pub(super) fn check_name(name: &str) -> Result<()> {
    let ok = (2..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    if !ok {
        bail!(
            "{name:?}: a name is 2 to 63 lowercase letters, digits or '-', starting and ending with a letter or digit (RFC 1123)"
        );
    }
    Ok(())
}

/// `metadata` with the name, namespace and `--label`s.
pub(super) fn metadata(name: &str, common: &CreateCommon) -> Result<Value> {
    check_name(name)?;
    let mut meta = json!({"name": name, "namespace": common.namespace});
    if !common.label.is_empty() {
        let mut labels = Map::new();
        for l in &common.label {
            match l.split_once('=') {
                Some((k, v)) if !k.is_empty() && !v.contains('=') => {
                    labels.insert(k.to_string(), json!(v));
                }
                _ => bail!("--label {l:?}: expected key=value"),
            }
        }
        meta["labels"] = Value::Object(labels);
    }
    Ok(meta)
}

/// The GitRepository `create source git` describes, with the fields Flux sets for the same flags.
pub fn git_repository(a: &CreateGit) -> Result<Value> {
    let meta = metadata(&a.name, &a.common)?;
    let interval = go_duration("interval", &a.common.interval)?;
    let scheme = a.url.split_once("://").map(|(s, _)| s).unwrap_or("");
    if !["ssh", "http", "https", "file"].contains(&scheme) {
        bail!(
            "--url {:?}: expected an ssh://, http:// or https:// URL (file:// for local tests)",
            a.url
        );
    }
    // Flux's precedence when several are given: commit (with branch), ref name, semver, tag, branch.
    let mut reference = Map::new();
    if let Some(c) = &a.commit {
        if let Some(b) = &a.branch {
            reference.insert("branch".into(), json!(b));
        }
        reference.insert("commit".into(), json!(c));
    } else if let Some(n) = &a.ref_name {
        reference.insert("name".into(), json!(n));
    } else if let Some(s) = &a.tag_semver {
        reference.insert("semver".into(), json!(s));
    } else if let Some(t) = &a.tag {
        reference.insert("tag".into(), json!(t));
    } else if let Some(b) = &a.branch {
        reference.insert("branch".into(), json!(b));
    } else {
        bail!("which revision? Give --branch, --tag, --tag-semver, --ref-name or --commit");
    }
    let mut spec = json!({"interval": interval, "ref": reference, "url": a.url});
    if let Some(t) = &a.fetch_timeout {
        spec["timeout"] = json!(go_duration("fetch-timeout", t)?);
    }
    if let Some(s) = &a.secret_ref {
        spec["secretRef"] = json!({"name": s});
    }
    if a.insecure {
        spec["insecure"] = Value::Bool(true);
    }
    if a.recurse_submodules {
        spec["recurseSubmodules"] = Value::Bool(true);
    }
    if !a.ignore_paths.is_empty() {
        spec["ignore"] = Value::String(a.ignore_paths.join("\n"));
    }
    Ok(json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "GitRepository",
        "metadata": meta,
        "spec": spec,
    }))
}

/// `--source=[Kind/]name[.namespace]`, as Flux reads it: (kind, name, namespace).
pub fn parse_source(text: &str) -> Result<(String, String, Option<String>)> {
    if text.trim().is_empty() {
        bail!("--source: no source given, expected [<kind>/]<name>[.<namespace>]");
    }
    let parts: Vec<&str> = text.split('/').collect();
    let (kind, rest) = if parts.len() == 2 {
        (parts[0], parts[1])
    } else {
        ("", text)
    };
    let (name, namespace) = match rest.rsplit_once('.') {
        Some((n, ns)) => (n, Some(ns.to_string())),
        None => (rest, None),
    };
    if name.is_empty() {
        bail!("--source {text:?}: the name is missing");
    }
    let kind = if kind.is_empty() {
        if SOURCE_KINDS.contains(&name) {
            bail!("--source {text:?}: {name} is a kind; expected {name}/<name>");
        }
        "GitRepository"
    } else {
        match SOURCE_KINDS.iter().find(|k| k.eq_ignore_ascii_case(kind)) {
            Some(k) => k,
            None => bail!(
                "--source {text:?}: unknown source kind {kind:?} (Flux's are {})",
                SOURCE_KINDS.join(", ")
            ),
        }
    };
    if kind != "GitRepository" {
        bail!("--source {text:?}: Ballast reconciles GitRepository sources only");
    }
    Ok((kind.to_string(), name.to_string(), namespace))
}

/// `--path` made relative and clean as Flux does (`kustomize/` → `./kustomize`; `..` cannot
/// climb above the source's root).
pub fn clean_path(p: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for c in p.trim().split(['/', '\\']) {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    format!("./{}", parts.join("/"))
}

/// The Kustomization `create kustomization` describes, with the fields Flux sets for the same
/// flags (`prune` always; `timeout` with --wait or --health-check).
pub fn kustomization(a: &CreateKustomization) -> Result<Value> {
    let meta = metadata(&a.name, &a.common)?;
    let interval = go_duration("interval", &a.common.interval)?;
    let timeout = go_duration("health-check-timeout", &a.health_check_timeout)?;
    let (kind, name, namespace) = parse_source(&a.source)?;
    let mut source_ref = json!({"kind": kind, "name": name});
    if let Some(ns) = namespace {
        source_ref["namespace"] = json!(ns);
    }
    let mut spec =
        json!({"interval": interval, "path": clean_path(&a.path), "prune": a.prune, "sourceRef": source_ref});
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
    if !a.health_check.is_empty() && !a.wait {
        let mut checks = Vec::new();
        for hc in &a.health_check {
            let Some((kind, rest)) = hc.split_once('/') else {
                bail!("--health-check {hc:?}: expected Kind/name.namespace");
            };
            if !["Deployment", "DaemonSet", "StatefulSet", "HelmRelease"].contains(&kind) {
                bail!("--health-check {hc:?}: the kind is one of Deployment, DaemonSet, StatefulSet or HelmRelease");
            }
            let nn: Vec<&str> = rest.split('.').collect();
            let [name, ns] = nn[..] else {
                bail!("--health-check {hc:?}: expected Kind/name.namespace");
            };
            let mut check = json!({"kind": kind, "name": name, "namespace": ns});
            if kind == "HelmRelease" {
                check["apiVersion"] = json!("helm.toolkit.fluxcd.io/v2");
            }
            checks.push(check);
        }
        spec["healthChecks"] = Value::Array(checks);
        spec["timeout"] = json!(timeout);
    }
    if a.wait {
        spec["wait"] = json!(true);
        spec["timeout"] = json!(timeout);
    }
    if let Some(r) = &a.retry_interval {
        let r = go_duration("retry-interval", r)?;
        if r != "0s" {
            spec["retryInterval"] = json!(r);
        }
    }
    Ok(json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": meta,
        "spec": spec,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_forms() {
        let s = |t: &str| parse_source(t).map_err(|e| e.to_string());
        assert_eq!(s("podinfo").unwrap(), ("GitRepository".into(), "podinfo".into(), None));
        assert_eq!(
            s("GitRepository/podinfo.flux-system").unwrap(),
            ("GitRepository".into(), "podinfo".into(), Some("flux-system".into()))
        );
        assert_eq!(
            s("gitrepository/a.b.c").unwrap(),
            ("GitRepository".into(), "a.b".into(), Some("c".into()))
        );
        assert!(s("GitRepository").unwrap_err().contains("is a kind"));
        assert!(s("GitRepository/").unwrap_err().contains("name is missing"));
        assert!(s("Bucket/x").unwrap_err().contains("GitRepository sources only"));
        assert!(s("HelmRepository/x").unwrap_err().contains("unknown source kind"));
        assert!(s(" ").is_err());
    }

    #[test]
    fn paths_as_flux_cleans_them() {
        for (input, want) in [
            ("./kustomize", "./kustomize"),
            ("kustomize/", "./kustomize"),
            ("", "./"),
            ("./", "./"),
            ("/abs/dir", "./abs/dir"),
            ("../../up", "./up"),
            ("a/./b/../c", "./a/c"),
        ] {
            assert_eq!(clean_path(input), want, "{input}");
        }
    }

    #[test]
    fn names_follow_rfc_1123() {
        assert!(check_name("podinfo").is_ok());
        assert!(check_name("a1-b2").is_ok());
        for bad in ["a", "Podinfo", "-a", "a-", "a_b", "a.b"] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }
}
