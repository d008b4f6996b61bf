//! `create source helm|oci|chart` and `create helmrelease`: the objects the Flux CLI builds for
//! the same flags.

use anyhow::{Result, bail};
use serde_json::{Map, Value, json};

use super::create::metadata;
use super::flux_format::go_duration;
use super::flux_secret::HelmCredentials;
use crate::cli::{CreateChart, CreateHelm, CreateHelmRelease, CreateOci};

/// The HelmRepository `create source helm` describes, as Flux builds it: `type: oci` for an
/// `oci://` URL; `secretRef` (and `passCredentials`) only with `--secret-ref` here, the
/// generated Secret being added by `run`.
pub fn helm_repository(a: &CreateHelm) -> Result<Value> {
    let meta = metadata(&a.name, &a.common)?;
    let interval = go_duration("interval", &a.common.interval)?;
    let Some((scheme, rest)) = a.url.split_once("://") else {
        bail!(
            "--url {:?}: url scheme '' not supported, can be: http, https and oci",
            a.url
        );
    };
    if !["http", "https", "oci"].contains(&scheme) {
        bail!(
            "--url {:?}: url scheme '{scheme}' not supported, can be: http, https and oci",
            a.url
        );
    }
    if rest.split(['/', '?', '#']).next().unwrap_or("").is_empty() {
        bail!("--url {:?}: url host is required", a.url);
    }
    let mut spec = json!({"interval": interval, "url": a.url});
    if scheme == "oci" {
        spec["type"] = json!("oci");
        if let Some(p) = &a.oci_provider {
            check_provider("oci-provider", p)?;
            spec["provider"] = json!(p);
        }
    } else if a.oci_provider.is_some() {
        bail!("--oci-provider is for oci:// URLs only");
    }
    if let Some(t) = &a.fetch_timeout {
        spec["timeout"] = json!(go_duration("fetch-timeout", t)?);
    }
    if let Some(s) = &a.secret_ref {
        spec["secretRef"] = json!({"name": s});
        if a.pass_credentials {
            spec["passCredentials"] = Value::Bool(true);
        }
    }
    Ok(json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "HelmRepository",
        "metadata": meta,
        "spec": spec,
    }))
}

/// The credentials of `create source helm`, files read; empty when none was given.
pub fn helm_credentials(a: &CreateHelm) -> Result<HelmCredentials> {
    let read = |flag: &str, p: &Option<std::path::PathBuf>| -> Result<Option<Vec<u8>>> {
        match p {
            None => Ok(None),
            Some(p) => std::fs::read(p)
                .map(Some)
                .map_err(|e| anyhow::anyhow!("--{flag} {}: {e}", p.display())),
        }
    };
    if a.cert_file.is_some() != a.key_file.is_some() {
        bail!("--cert-file and --key-file go together");
    }
    if a.password.is_some() && a.username.is_none() {
        bail!("--password needs --username");
    }
    Ok(HelmCredentials {
        username: a.username.clone().unwrap_or_default(),
        password: a.password.clone().unwrap_or_default(),
        ca: read("ca-file", &a.ca_file)?,
        cert: read("cert-file", &a.cert_file)?,
        key: read("key-file", &a.key_file)?,
    })
}

/// Flux's OCI credential providers.
fn check_provider(flag: &str, p: &str) -> Result<()> {
    if !["generic", "aws", "azure", "gcp"].contains(&p) {
        bail!("--{flag} {p:?}: expected one of generic, aws, azure, gcp");
    }
    Ok(())
}

/// The OCIRepository `create source oci` describes, with the fields Flux sets for the same flags
/// (`ref` holds every one of `--digest`, `--tag-semver`, `--tag` given).
pub fn oci_repository(a: &CreateOci) -> Result<Value> {
    let meta = metadata(&a.name, &a.common)?;
    let interval = go_duration("interval", &a.common.interval)?;
    if !a.url.starts_with("oci://") || a.url.len() <= "oci://".len() {
        bail!("--url {:?}: expected oci://host/path", a.url);
    }
    if a.tag.is_none() && a.tag_semver.is_none() && a.digest.is_none() {
        bail!("--tag, --tag-semver or --digest is required");
    }
    let mut reference = Map::new();
    if let Some(d) = &a.digest {
        reference.insert("digest".into(), json!(d));
    }
    if let Some(s) = &a.tag_semver {
        reference.insert("semver".into(), json!(s));
    }
    if let Some(t) = &a.tag {
        reference.insert("tag".into(), json!(t));
    }
    let mut spec = json!({"interval": interval, "ref": reference, "url": a.url});
    if let Some(p) = &a.provider {
        check_provider("provider", p)?;
        spec["provider"] = json!(p);
    }
    if a.insecure {
        spec["insecure"] = Value::Bool(true);
    }
    if !a.ignore_paths.is_empty() {
        spec["ignore"] = Value::String(a.ignore_paths.join("\n"));
    }
    if let Some(sel) = &a.layer_selector {
        let Some((media, op)) = sel.rsplit_once(':') else {
            bail!("invalid --layer-selector {sel:?}: must be in the format '<media-type>:<operation>'");
        };
        if media.is_empty() {
            bail!("invalid --layer-selector {sel:?}: must be in the format '<media-type>:<operation>'");
        }
        if op != "extract" && op != "copy" {
            bail!("invalid --layer-selector {sel:?}: operation must be \"extract\" or \"copy\"");
        }
        spec["layerSelector"] = json!({"mediaType": media, "operation": op});
    }
    if let Some(t) = &a.fetch_timeout {
        spec["timeout"] = json!(go_duration("fetch-timeout", t)?);
    }
    if let Some(s) = &a.secret_ref {
        spec["secretRef"] = json!({"name": s});
    }
    if let Some(s) = &a.cert_ref {
        spec["certSecretRef"] = json!({"name": s});
    }
    Ok(json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "OCIRepository",
        "metadata": meta,
        "spec": spec,
    }))
}

/// Chart source kinds `--source` takes, as Flux lists them.
const CHART_SOURCE_KINDS: [&str; 3] = ["HelmRepository", "GitRepository", "Bucket"];

/// `Kind/name[.namespace]` as Flux splits it: the namespace after the last dot.
fn kind_name_namespace(text: &str) -> (String, String, Option<String>) {
    let (kind, rest) = text.split_once('/').unwrap_or(("", text));
    match rest.rsplit_once('.') {
        Some((n, ns)) => (kind.to_string(), n.to_string(), Some(ns.to_string())),
        None => (kind.to_string(), rest.to_string(), None),
    }
}

/// `--source Kind/name[.namespace]` of `create helmrelease`.
fn chart_source(text: &str) -> Result<Value> {
    let (kind, name, ns) = kind_name_namespace(text.trim());
    if kind.is_empty() || name.is_empty() {
        bail!("invalid helm chart source '{text}', must be in format <kind>/<name>");
    }
    let Some(kind) = CHART_SOURCE_KINDS.iter().find(|k| k.eq_ignore_ascii_case(&kind)) else {
        bail!(
            "invalid argument {text:?} for \"--source\" flag: source kind '{kind}' is not supported, must be one of: {}",
            CHART_SOURCE_KINDS.join(", ")
        );
    };
    if *kind == "Bucket" {
        bail!("--source {text:?}: Ballast has no Bucket source; use a HelmRepository or GitRepository");
    }
    let mut r = json!({"kind": kind, "name": name});
    if let Some(ns) = ns {
        r["namespace"] = json!(ns);
    }
    Ok(r)
}

/// The HelmChart `create source chart` describes, with the fields Flux sets for the same flags.
pub fn helm_chart(a: &CreateChart) -> Result<Value> {
    let meta = metadata(&a.name, &a.common)?;
    let interval = go_duration("interval", &a.common.interval)?;
    let Some(source) = &a.source else {
        bail!("chart source is required");
    };
    let source_ref = chart_source(source)?;
    if source_ref.get("namespace").is_some() {
        bail!("--source {source:?}: a HelmChart's source is in its own namespace (Kind/name)");
    }
    let Some(chart) = a.chart.as_deref().filter(|c| !c.is_empty()) else {
        bail!("chart name or path is required");
    };
    if a.reconcile_strategy != "ChartVersion" && a.reconcile_strategy != "Revision" {
        bail!(
            "'{}' is an invalid reconcile strategy(valid: Revision, ChartVersion)",
            a.reconcile_strategy
        );
    }
    let mut spec = json!({
        "chart": chart,
        "interval": interval,
        "reconcileStrategy": a.reconcile_strategy,
        "sourceRef": source_ref,
    });
    if let Some(v) = a.chart_version.as_deref().filter(|v| !v.is_empty()) {
        spec["version"] = json!(v);
    }
    Ok(json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "HelmChart",
        "metadata": meta,
        "spec": spec,
    }))
}

/// Values files merged as Flux merges them (maps deeply, anything else replaced).
fn merge(into: &mut Value, from: Value) {
    match (into, from) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                match a.get_mut(&k) {
                    Some(slot @ Value::Object(_)) if v.is_object() => merge(slot, v),
                    _ => {
                        a.insert(k, v);
                    }
                }
            }
        }
        (slot, v) => *slot = v,
    }
}

/// The HelmRelease `create helmrelease` describes, with the fields Flux sets for the same flags:
/// `chart.spec` (with `reconcileStrategy`) for `--chart`, `chartRef` for `--chart-ref`,
/// `storageNamespace` defaulting to `--target-namespace`, `--values` files merged into
/// `values`.
pub fn helm_release(a: &CreateHelmRelease) -> Result<Value> {
    let meta = metadata(&a.name, &a.common)?;
    let interval = go_duration("interval", &a.common.interval)?;
    let mut spec = json!({"interval": interval});
    match (&a.chart, &a.chart_ref) {
        (None, None) => bail!("chart or chart-ref is required"),
        (Some(_), Some(_)) => bail!("cannot use --chart in combination with --chart-ref"),
        (Some(chart), None) => {
            let Some(source) = &a.source else {
                bail!("--chart needs --source Kind/name[.namespace]");
            };
            if a.reconcile_strategy != "ChartVersion" && a.reconcile_strategy != "Revision" {
                bail!(
                    "'{}' is an invalid reconcile strategy(valid: Revision, ChartVersion)",
                    a.reconcile_strategy
                );
            }
            let mut chart_spec = json!({
                "chart": chart,
                "reconcileStrategy": a.reconcile_strategy,
                "sourceRef": chart_source(source)?,
            });
            if let Some(v) = a.chart_version.as_deref().filter(|v| !v.is_empty()) {
                chart_spec["version"] = json!(v);
            }
            if let Some(i) = &a.chart_interval {
                let i = go_duration("chart-interval", i)?;
                if i != "0s" {
                    chart_spec["interval"] = json!(i);
                }
            }
            spec["chart"] = json!({"spec": chart_spec});
        }
        (None, Some(r)) => {
            let (kind, name, ns) = kind_name_namespace(r.trim());
            let Some(kind) = ["OCIRepository", "HelmChart"].into_iter().find(|k| *k == kind) else {
                bail!("chart reference kind '{kind}' is not supported, must be one of: OCIRepository, HelmChart");
            };
            if name.is_empty() {
                bail!("--chart-ref {r:?}: the name is missing");
            }
            let mut chart_ref = json!({"kind": kind, "name": name});
            if let Some(ns) = ns {
                chart_ref["namespace"] = json!(ns);
            }
            spec["chartRef"] = chart_ref;
        }
    }
    if a.source.is_some() && a.chart.is_none() {
        bail!("--source goes with --chart (use --chart-ref alone)");
    }
    if let Some(n) = a.release_name.as_deref().filter(|n| !n.is_empty()) {
        spec["releaseName"] = json!(n);
    }
    if let Some(t) = a.target_namespace.as_deref().filter(|t| !t.is_empty()) {
        spec["targetNamespace"] = json!(t);
    }
    let storage = a
        .storage_namespace
        .as_deref()
        .filter(|s| !s.is_empty())
        .or(a.target_namespace.as_deref().filter(|t| !t.is_empty()));
    if let Some(s) = storage {
        spec["storageNamespace"] = json!(s);
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
    if a.create_target_namespace {
        spec["install"] = json!({"createNamespace": true});
    }
    if let Some(sa) = a.service_account.as_deref().filter(|s| !s.is_empty()) {
        spec["serviceAccountName"] = json!(sa);
    }
    if let Some(policy) = &a.crds {
        if !["Skip", "Create", "CreateReplace"].contains(&policy.as_str()) {
            bail!("unsupported upgrade CRDs policy '{policy}', must be one of: Skip, Create, CreateReplace");
        }
        let install = spec.get("install").cloned().unwrap_or_else(|| json!({}));
        spec["install"] = install;
        spec["install"]["crds"] = json!("Create");
        spec["upgrade"] = json!({"crds": policy});
    }
    if !a.values.is_empty() {
        let mut values = json!({});
        for f in &a.values {
            let text = std::fs::read_to_string(f)
                .map_err(|e| anyhow::anyhow!("reading values from {} failed: {e}", f.display()))?;
            let docs = ballast_render::yaml::parse_stream(&text)
                .map_err(|e| anyhow::anyhow!("converting values to JSON from {} failed: {e}", f.display()))?;
            for doc in docs {
                match doc {
                    Value::Null => {}
                    v @ Value::Object(_) => merge(&mut values, v),
                    _ => bail!("unmarshaling values from {} failed: not a map", f.display()),
                }
            }
        }
        spec["values"] = values;
    }
    if !a.values_from.is_empty() {
        let mut refs = Vec::new();
        for v in &a.values_from {
            let Some((kind, name)) = v.split_once('/').filter(|(k, n)| !k.is_empty() && !n.is_empty()) else {
                bail!("invalid Kubernetes object reference '{v}', must be in format <kind>/<name>");
            };
            let Some(kind) = ["Secret", "ConfigMap"]
                .into_iter()
                .find(|k| k.eq_ignore_ascii_case(kind))
            else {
                bail!("reference kind '{kind}' is not supported, must be one of: Secret, ConfigMap");
            };
            refs.push(json!({"kind": kind, "name": name}));
        }
        spec["valuesFrom"] = Value::Array(refs);
    }
    Ok(json!({
        "apiVersion": "helm.toolkit.fluxcd.io/v2",
        "kind": "HelmRelease",
        "metadata": meta,
        "spec": spec,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_name_namespace_as_flux_splits_it() {
        assert_eq!(
            kind_name_namespace("HelmRepository/podinfo.flux-system"),
            ("HelmRepository".into(), "podinfo".into(), Some("flux-system".into()))
        );
        assert_eq!(
            kind_name_namespace("HelmChart/a.b.c"),
            ("HelmChart".into(), "a.b".into(), Some("c".into()))
        );
        assert!(
            chart_source("podinfo")
                .unwrap_err()
                .to_string()
                .contains("<kind>/<name>")
        );
        assert!(
            chart_source("foobar/podinfo").unwrap_err().to_string().contains(
                "source kind 'foobar' is not supported, must be one of: HelmRepository, GitRepository, Bucket"
            )
        );
        assert_eq!(
            chart_source("helmrepository/podinfo").unwrap()["kind"],
            "HelmRepository"
        );
    }

    #[test]
    fn values_merge_deeply() {
        let mut v = json!({"a": {"b": 1, "c": [1]}, "d": 1});
        merge(&mut v, json!({"a": {"c": [2], "e": true}, "d": {"x": 1}}));
        assert_eq!(v, json!({"a": {"b": 1, "c": [2], "e": true}, "d": {"x": 1}}));
    }
}
