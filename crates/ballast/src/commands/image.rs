//! Image automation in the CLI, as Flux's: `create image repository|policy|update`,
//! `get images all|repository|policy|update`, `reconcile image repository|update`,
//! `suspend|resume|delete image repository|policy|update`.

use anyhow::{Result, bail};
use ballast_api::condition::Condition;
use ballast_api::image::{ImagePolicy, ImageRepository, ImageUpdateAutomation};
use ballast_core::parse_duration;
use kube::api::Api;
use serde_json::{Value, json};

use super::create::metadata;
use super::flux_format::go_duration;
use super::flux_objects::{FluxObject, request_and_wait};
use super::target::{Verb, act};
use crate::cli::{
    CreateImage, CreateImagePolicy, CreateImageRepository, CreateImageUpdate, GetImages, ReconcileImage, TargetImage,
};

/// The common status accessors of the three kinds.
macro_rules! image_kind {
    ($ty:ty, $kind:literal, $column:literal, |$o:ident| $revision:expr) => {
        impl FluxObject for $ty {
            const KIND: &'static str = $kind;
            const REVISION_COLUMN: &'static str = $column;
            fn conditions(&self) -> Vec<Condition> {
                self.status
                    .as_ref()
                    .map(|s| s.conditions.clone())
                    .unwrap_or_default()
            }
            fn revision(&self) -> String {
                let $o = self;
                $revision
            }
            fn suspended(&self) -> bool {
                self.spec.suspend == Some(true)
            }
            fn last_handled(&self) -> Option<String> {
                self.status
                    .as_ref()
                    .and_then(|s| s.last_handled_reconcile_at.clone())
            }
            fn observed_generation(&self) -> Option<i64> {
                self.status.as_ref().and_then(|s| s.observed_generation)
            }
        }
    };
}

image_kind!(ImageRepository, "ImageRepository", "LAST SCAN", |o| o
    .status
    .as_ref()
    .and_then(|s| s.last_scan_result.as_ref())
    .and_then(|r| r.scan_time.clone())
    .unwrap_or_default());
image_kind!(ImagePolicy, "ImagePolicy", "LATEST IMAGE", |o| o
    .status
    .as_ref()
    .and_then(|s| s.latest())
    .map(|r| match r.digest {
        Some(d) => format!("{}:{}@{d}", r.name, r.tag),
        None => format!("{}:{}", r.name, r.tag),
    })
    .unwrap_or_default());
image_kind!(ImageUpdateAutomation, "ImageUpdateAutomation", "LAST RUN", |o| o
    .status
    .as_ref()
    .and_then(|s| s.last_automation_run_time.clone())
    .unwrap_or_default());

/// The object `create image ...` describes, and whether to print it instead of applying it.
pub fn create(cmd: &CreateImage) -> Result<(Value, bool)> {
    Ok(match cmd {
        CreateImage::Repository(a) => (image_repository(a)?, a.common.export),
        CreateImage::Policy(a) => (image_policy(a)?, a.common.export),
        CreateImage::Update(a) => (image_update(a)?, a.common.export),
    })
}

fn object(kind: &str, meta: Value, spec: Value) -> Value {
    json!({
        "apiVersion": ballast_api::image::IMAGE_API_VERSION,
        "kind": kind,
        "metadata": meta,
        "spec": spec,
    })
}

/// `create image repository`.
pub fn image_repository(a: &CreateImageRepository) -> Result<Value> {
    let meta = metadata(&a.name, &a.common)?;
    if a.image.contains("://") || a.image.is_empty() {
        bail!("--image {:?}: expected [host[:port]/]path without a scheme", a.image);
    }
    let mut spec = json!({"image": a.image, "interval": go_duration("interval", &a.common.interval)?});
    if let Some(s) = &a.secret_ref {
        spec["secretRef"] = json!({"name": s});
    }
    if let Some(s) = &a.cert_ref {
        spec["certSecretRef"] = json!({"name": s});
    }
    if let Some(t) = &a.timeout {
        spec["timeout"] = json!(go_duration("timeout", t)?);
    }
    if let Some(p) = &a.provider {
        spec["provider"] = json!(p);
    }
    if !a.exclusion_list.is_empty() {
        spec["exclusionList"] = json!(a.exclusion_list);
    }
    if a.insecure {
        spec["insecure"] = Value::Bool(true);
    }
    Ok(object("ImageRepository", meta, spec))
}

fn order(flag: &str, o: &str) -> Result<String> {
    match o {
        "asc" | "desc" => Ok(o.to_string()),
        _ => bail!("--{flag} {o:?}: expected asc or desc"),
    }
}

/// `create image policy`.
pub fn image_policy(a: &CreateImagePolicy) -> Result<Value> {
    let meta = metadata(&a.name, &a.common)?;
    let policy = match (&a.select_semver, &a.select_numeric, &a.select_alpha) {
        (Some(range), _, _) => {
            ballast_image::Policy::semver(range).map_err(|e| anyhow::anyhow!("--select-semver: {e}"))?;
            json!({"semver": {"range": range}})
        }
        (_, Some(o), _) => json!({"numerical": {"order": order("select-numeric", o)?}}),
        (_, _, Some(o)) => json!({"alphabetical": {"order": order("select-alpha", o)?}}),
        _ => bail!("one of --select-semver, --select-numeric, --select-alpha is required"),
    };
    let reference = match a.image_ref.split_once('/') {
        Some((ns, name)) => json!({"name": name, "namespace": ns}),
        None => json!({"name": a.image_ref}),
    };
    let mut spec = json!({"imageRepositoryRef": reference, "policy": policy});
    if let Some(pattern) = &a.filter_regex {
        let extract = a.filter_extract.clone().unwrap_or_default();
        ballast_image::TagFilter::new(pattern, &extract).map_err(|e| anyhow::anyhow!("--filter-regex: {e}"))?;
        spec["filterTags"] = json!({"pattern": pattern});
        if !extract.is_empty() {
            spec["filterTags"]["extract"] = json!(extract);
        }
    }
    if let Some(d) = &a.reflect_digest {
        if !["Never", "IfNotPresent", "Always"].contains(&d.as_str()) {
            bail!("--reflect-digest {d:?}: expected Never, IfNotPresent or Always");
        }
        spec["digestReflectionPolicy"] = json!(d);
        if d == "Always" {
            spec["interval"] = json!(go_duration("interval", &a.common.interval)?);
        }
    }
    Ok(object("ImagePolicy", meta, spec))
}

/// `create image update`.
pub fn image_update(a: &CreateImageUpdate) -> Result<Value> {
    let meta = metadata(&a.name, &a.common)?;
    if a.author_email.is_empty() {
        bail!("--author-email is required");
    }
    let mut source = json!({"kind": "GitRepository", "name": a.git_repo_ref});
    if let Some(ns) = &a.git_repo_namespace {
        source["namespace"] = json!(ns);
    }
    let mut commit = json!({"author": {"name": a.author_name, "email": a.author_email}});
    if let Some(t) = &a.commit_template {
        commit["messageTemplate"] = json!(t);
    }
    let mut git = json!({"commit": commit});
    if let Some(b) = &a.checkout_branch {
        git["checkout"] = json!({"ref": {"branch": b}});
    }
    if let Some(b) = &a.push_branch {
        git["push"] = json!({"branch": b});
    }
    let spec = json!({
        "interval": go_duration("interval", &a.common.interval)?,
        "sourceRef": source,
        "git": git,
        "update": {"path": a.git_repo_path, "strategy": "Setters"},
    });
    Ok(object("ImageUpdateAutomation", meta, spec))
}

/// `get images ...`.
pub async fn get(client: kube::Client, cmd: &GetImages) -> Result<u8> {
    use super::get::{api, show};
    match cmd {
        GetImages::All(args) => {
            show(&api::<ImageRepository>(client.clone(), args), args).await?;
            println!();
            show(&api::<ImagePolicy>(client.clone(), args), args).await?;
            println!();
            show(&api::<ImageUpdateAutomation>(client, args), args).await
        }
        GetImages::Repository(args) => show(&api::<ImageRepository>(client, args), args).await,
        GetImages::Policy(args) => show(&api::<ImagePolicy>(client, args), args).await,
        GetImages::Update(args) => show(&api::<ImageUpdateAutomation>(client, args), args).await,
    }
}

/// `reconcile image repository|update`.
pub async fn reconcile(client: kube::Client, cmd: &ReconcileImage) -> Result<()> {
    match cmd {
        ReconcileImage::Repository(a) => {
            let timeout = parse_duration(&a.timeout).map_err(anyhow::Error::msg)?;
            let api: Api<ImageRepository> = Api::namespaced(client, &a.namespace);
            let o = request_and_wait(&api, &a.name, timeout).await?;
            let count = o
                .status
                .as_ref()
                .and_then(|s| s.last_scan_result.as_ref())
                .map(|r| r.tag_count)
                .unwrap_or_default();
            println!("✔ scan fetched {count} tags");
        }
        ReconcileImage::Update(a) => {
            let timeout = parse_duration(&a.timeout).map_err(anyhow::Error::msg)?;
            let api: Api<ImageUpdateAutomation> = Api::namespaced(client, &a.namespace);
            let o = request_and_wait(&api, &a.name, timeout).await?;
            match o.status.as_ref().and_then(|s| s.last_push_commit.as_deref()) {
                Some(commit) => println!(
                    "✔ last push commit {} at {}",
                    &commit[..8.min(commit.len())],
                    o.status
                        .as_ref()
                        .and_then(|s| s.last_push_time.clone())
                        .unwrap_or_default()
                ),
                None => println!("✔ repository up-to-date"),
            }
        }
    }
    Ok(())
}

/// `suspend|resume|delete image ...`.
pub async fn target(verb: Verb, client: kube::Client, cmd: &TargetImage) -> Result<u8> {
    match cmd {
        TargetImage::Repository(a) => act::<ImageRepository>(verb, Api::namespaced(client, &a.namespace), a).await,
        TargetImage::Policy(a) => act::<ImagePolicy>(verb, Api::namespaced(client, &a.namespace), a).await,
        TargetImage::Update(a) => act::<ImageUpdateAutomation>(verb, Api::namespaced(client, &a.namespace), a).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::CreateCommon;

    fn common() -> CreateCommon {
        CreateCommon {
            interval: "5m".into(),
            export: true,
            label: vec![],
            namespace: "flux-system".into(),
        }
    }

    #[test]
    fn policies_are_built_as_flux_builds_them() {
        let a = CreateImagePolicy {
            name: "app".into(),
            image_ref: "app".into(),
            select_semver: None,
            select_numeric: Some("asc".into()),
            select_alpha: None,
            filter_regex: Some("^main-(?P<n>[0-9]+)".into()),
            filter_extract: Some("$n".into()),
            reflect_digest: Some("IfNotPresent".into()),
            common: common(),
        };
        let p = image_policy(&a).unwrap();
        assert_eq!(p["spec"]["policy"], json!({"numerical": {"order": "asc"}}));
        assert_eq!(
            p["spec"]["filterTags"],
            json!({"pattern": "^main-(?P<n>[0-9]+)", "extract": "$n"})
        );
        assert_eq!(p["spec"]["digestReflectionPolicy"], "IfNotPresent");
        let bad = CreateImagePolicy {
            select_numeric: Some("up".into()),
            ..a
        };
        assert!(image_policy(&bad).unwrap_err().to_string().contains("asc or desc"));
    }
}
