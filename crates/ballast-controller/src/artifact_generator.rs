//! The ArtifactGenerator reconciler (Flux 2.7's `source.extensions.fluxcd.io/v1beta1`): reads
//! the artifacts of its sources (GitRepository, OCIRepository), runs each output's copy
//! operations into a staging directory, stores the result as
//! `externalartifact/<ns>/<name>/<hex>.tar.gz` and publishes it as an `ExternalArtifact` of that
//! name (owned by the generator, labelled `source.extensions.fluxcd.io/generator`).
//!
//! Guarantees:
//! - the spec is checked before anything is read or written: unique aliases and artifact names,
//!   `revision`/`originRevision` naming a source, `from`/`to` confined to their trees, supported
//!   kinds and strategies (`Bucket` and `strategy: Merge` are refused by name, `Stalled`);
//! - an artifact's revision is `latest@sha256:<digest of its archive>` (the archive depends on
//!   content only, see [`crate::artifact_copy::pack`]), or the named source's revision; an
//!   `ExternalArtifact` whose digest did not change keeps its status as it was, so only new
//!   content reaches the Kustomizations that follow it;
//! - an `ExternalArtifact` the generator made earlier and no longer lists is deleted, by the UID
//!   it read; one not made by this generator is never taken over (the reconcile fails naming it);
//! - sources are read through their own guards (Git: this process's cache by exact revision;
//!   OCI: the artifact store checked against the digest).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use ballast_api::artifact_generator::{
    ArtifactGenerator, ArtifactGeneratorStatus, ExternalArtifact, ExternalArtifactReference, GENERATOR_LABEL,
    GENERATOR_RECONCILE_ANNOTATION, OutputArtifact,
};
use ballast_api::condition::{ConditionStatus, set_condition};
use ballast_api::git_repository::{Artifact, GitRepository};
use ballast_api::meta::RECONCILE_REQUEST_ANNOTATION;
use ballast_api::oci_repository::OCIRepository;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, Preconditions};
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::{Resource, ResourceExt};
use serde_json::json;

use crate::artifact_copy;
use crate::context::Context;
use crate::error::ReconcileError;
use crate::status::{condition, mark_failed, mark_ready};

/// Flux's requeue of a generator (sources are watched, so this is a safety net).
pub const REQUEUE: Duration = Duration::from_secs(3600);
/// Flux's reason for a source without an artifact.
pub const SOURCE_FETCH_FAILED: &str = "SourceFetchFailed";
/// Field manager of the `ExternalArtifact`s.
const MANAGER: &str = "ballast-artifact-generator";

/// A source read for a generator.
struct ReadSource {
    alias: String,
    root: std::path::PathBuf,
    revision: String,
    origin_revision: Option<String>,
}

/// Checks the spec; returns what is wrong, named.
fn validate(generator: &ArtifactGenerator) -> Result<(), ReconcileError> {
    let spec = &generator.spec;
    let mut aliases = BTreeSet::new();
    let mut problems = Vec::new();
    if spec.sources.is_empty() || spec.artifacts.is_empty() {
        problems.push("spec.sources and spec.artifacts need at least one entry each".to_string());
    }
    for s in &spec.sources {
        if !aliases.insert(s.alias.as_str()) {
            problems.push(format!("duplicate source alias {:?}", s.alias));
        }
        match s.kind.as_str() {
            "GitRepository" | "OCIRepository" => {}
            "Bucket" => problems.push(format!("source {:?}: kind Bucket is not supported yet", s.alias)),
            other => problems.push(format!("source {:?}: unknown kind {other:?}", s.alias)),
        }
    }
    let mut names = BTreeSet::new();
    for a in &spec.artifacts {
        if !names.insert(a.name.as_str()) {
            problems.push(format!("duplicate artifact name {:?}", a.name));
        }
        if let Err(e) = ballast_plan::validate::dns_subdomain(&a.name) {
            problems.push(format!("artifact name {:?}: {e}", a.name));
        }
        for (field, value) in [("revision", &a.revision), ("originRevision", &a.origin_revision)] {
            if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
                let alias = v.strip_prefix('@').unwrap_or("");
                if !aliases.contains(alias) {
                    problems.push(format!("artifact {:?}: {field} {v:?} names no source alias", a.name));
                }
            }
        }
        if a.copy.is_empty() {
            problems.push(format!("artifact {:?}: no copy operations", a.name));
        }
        for c in &a.copy {
            match artifact_copy::parse_from(&c.from) {
                Ok((alias, _)) if !aliases.contains(alias) => {
                    problems.push(format!(
                        "artifact {:?}: copy from {:?} names no source alias",
                        a.name, c.from
                    ));
                }
                Ok(_) => {}
                Err(e) => problems.push(format!("artifact {:?}: {e}", a.name)),
            }
            if let Err(e) = artifact_copy::parse_to(&c.to) {
                problems.push(format!("artifact {:?}: {e}", a.name));
            }
            match c.strategy.as_deref() {
                None | Some("") | Some("Overwrite") => {}
                Some("Merge") => problems.push(format!("artifact {:?}: strategy Merge is not supported yet", a.name)),
                Some(other) => problems.push(format!("artifact {:?}: unknown strategy {other:?}", a.name)),
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ReconcileError::Invalid(problems.join("; ")))
    }
}

/// Reconciles one ArtifactGenerator.
pub async fn reconcile(generator: Arc<ArtifactGenerator>, ctx: Arc<Context>) -> Result<Action, ReconcileError> {
    let started = std::time::Instant::now();
    let ns = generator.namespace().unwrap_or_default();
    let name = generator.name_any();
    let api: Api<ArtifactGenerator> = Api::namespaced(ctx.client.clone(), &ns);
    let disabled = generator
        .annotations()
        .get(GENERATOR_RECONCILE_ANNOTATION)
        .is_some_and(|v| v.eq_ignore_ascii_case("disabled"));
    if disabled || generator.meta().deletion_timestamp.is_some() {
        ctx.metrics
            .record("ArtifactGenerator", &ns, &name, None, started.elapsed());
        return Ok(Action::await_change());
    }
    let generation = generator.meta().generation;
    let mut status = generator.status.clone().unwrap_or_default();
    crate::status::mark_reconciling(&mut status.conditions, generation, status.observed_generation);
    let patch = json!({"status": {"conditions": status.conditions}});
    api.patch_status(&name, &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    status.observed_generation = generation;
    status.last_handled_reconcile_at = generator.annotations().get(RECONCILE_REQUEST_ANNOTATION).cloned();
    match generate(&generator, &ctx, &ns, &mut status).await {
        Ok(count) => {
            let message = format!("reconciliation succeeded, generated {count} artifact(s)");
            mark_ready(&mut status.conditions, "Succeeded", &message, generation);
        }
        Err(e) => {
            let message = e.to_string();
            eprintln!("ArtifactGenerator {ns}/{name}: {}: {message}", e.reason());
            mark_failed(&mut status.conditions, e.reason(), &message, generation, e.stalled());
            ctx.event(&*generator, EventType::Warning, e.reason(), &message).await;
        }
    }
    let patch = json!({ "status": status });
    api.patch_status(&name, &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    let ready = status.conditions.iter().find(|c| c.type_ == "Ready").map(|c| c.status);
    ctx.metrics
        .record("ArtifactGenerator", &ns, &name, ready, started.elapsed());
    Ok(Action::requeue(crate::schedule::jittered(REQUEUE)))
}

/// Reads the sources, produces and publishes every artifact, removes the ones no longer listed.
async fn generate(
    generator: &ArtifactGenerator,
    ctx: &Context,
    ns: &str,
    status: &mut ArtifactGeneratorStatus,
) -> Result<usize, ReconcileError> {
    validate(generator)?;
    let mut sources = Vec::new();
    for s in &generator.spec.sources {
        let source_ns = s.namespace.clone().unwrap_or_else(|| ns.to_string());
        sources.push(read_source(ctx, &s.alias, &s.kind, &source_ns, &s.name).await?);
    }
    status.observed_sources_digest = Some({
        use sha2::Digest;
        let mut hasher = sha2::Sha256::new();
        for s in &sources {
            hasher.update(format!("{}={}\n", s.alias, s.revision));
        }
        format!("sha256:{}", hex::encode(hasher.finalize()))
    });
    let api: Api<ExternalArtifact> = Api::namespaced(ctx.client.clone(), ns);
    let mut inventory = Vec::new();
    for output in &generator.spec.artifacts {
        let produced = produce(ctx, ns, output, &sources).await?;
        publish(generator, ctx, &api, output, &produced).await?;
        inventory.push(ExternalArtifactReference {
            name: output.name.clone(),
            namespace: ns.to_string(),
            digest: produced.digest.clone().unwrap_or_default(),
            filename: produced.path.rsplit('/').next().unwrap_or_default().to_string(),
        });
    }
    // Outputs dropped from the spec: deleted by the UID read, only if this generator made them.
    let listed: BTreeSet<&str> = generator.spec.artifacts.iter().map(|a| a.name.as_str()).collect();
    let selector = format!("{GENERATOR_LABEL}={}", generator.name_any());
    for old in api.list(&ListParams::default().labels(&selector)).await?.items {
        if listed.contains(old.name_any().as_str()) || !owned_by(&old, generator) {
            continue;
        }
        let dp = DeleteParams {
            preconditions: Some(Preconditions {
                uid: old.uid(),
                resource_version: None,
            }),
            ..DeleteParams::background()
        };
        match api.delete(&old.name_any(), &dp).await {
            Ok(_) => {}
            Err(kube::Error::Api(e)) if e.code == 404 || e.code == 409 => {}
            Err(e) => return Err(e.into()),
        }
    }
    let count = inventory.len();
    status.inventory = Some(inventory);
    Ok(count)
}

/// True when `artifact` names `generator` (by UID) as its controller owner.
fn owned_by(artifact: &ExternalArtifact, generator: &ArtifactGenerator) -> bool {
    let uid = generator.uid();
    artifact
        .owner_references()
        .iter()
        .any(|o| o.kind == "ArtifactGenerator" && Some(&o.uid) == uid.as_ref())
}

/// A source's tree and revisions; a source without an artifact is `SourceFetchFailed`.
async fn read_source(
    ctx: &Context,
    alias: &str,
    kind: &str,
    ns: &str,
    name: &str,
) -> Result<ReadSource, ReconcileError> {
    let not_ready = |why: &str| ReconcileError::Source {
        reason: SOURCE_FETCH_FAILED,
        message: format!("source '{kind}/{ns}/{name}' ({alias}) {why}"),
    };
    match kind {
        "GitRepository" => {
            let api: Api<GitRepository> = Api::namespaced(ctx.client.clone(), ns);
            let repo = api.get_opt(name).await?.ok_or_else(|| not_ready("not found"))?;
            let artifact = repo
                .status
                .as_ref()
                .and_then(|s| s.artifact.clone())
                .ok_or_else(|| not_ready("has no artifact yet"))?;
            let root = crate::git_repository::artifact_root(&repo, &artifact.revision, ctx).await?;
            Ok(ReadSource {
                alias: alias.to_string(),
                root,
                origin_revision: Some(artifact.revision.clone()),
                revision: artifact.revision,
            })
        }
        _ => {
            let api: Api<OCIRepository> = Api::namespaced(ctx.client.clone(), ns);
            let repo = api.get_opt(name).await?.ok_or_else(|| not_ready("not found"))?;
            let artifact = repo
                .status
                .as_ref()
                .and_then(|s| s.artifact.clone())
                .ok_or_else(|| not_ready("has no artifact yet"))?;
            let root = crate::oci_repository::tree(ctx, "OCIRepository", ns, name, &artifact).await?;
            let origin_revision = artifact
                .metadata
                .as_ref()
                .and_then(|m| m.get("org.opencontainers.image.revision").cloned());
            Ok(ReadSource {
                alias: alias.to_string(),
                root,
                origin_revision,
                revision: artifact.revision,
            })
        }
    }
}

/// Runs one output's copies and stores the archive; the returned artifact has its revision.
async fn produce(
    ctx: &Context,
    ns: &str,
    output: &OutputArtifact,
    sources: &[ReadSource],
) -> Result<Artifact, ReconcileError> {
    let staging_parent = ctx.cache_dir.join("artifact-trees");
    let copies: Vec<(
        std::path::PathBuf,
        String,
        Vec<String>,
        std::path::PathBuf,
        bool,
        String,
    )> = output
        .copy
        .iter()
        .map(|c| {
            let (alias, pattern) = artifact_copy::parse_from(&c.from).map_err(ReconcileError::Invalid)?;
            let (to, to_dir) = artifact_copy::parse_to(&c.to).map_err(ReconcileError::Invalid)?;
            let root = sources
                .iter()
                .find(|s| s.alias == alias)
                .map(|s| s.root.clone())
                .ok_or_else(|| ReconcileError::Invalid(format!("copy from {:?}: unknown alias", c.from)))?;
            Ok((
                root,
                pattern.to_string(),
                c.exclude.clone().unwrap_or_default(),
                to,
                to_dir,
                c.from.clone(),
            ))
        })
        .collect::<Result<_, ReconcileError>>()?;
    let max = ctx.max_artifact_size;
    let what = format!("artifact {:?}", output.name);
    let bytes = tokio::task::spawn_blocking(move || -> Result<Vec<u8>, String> {
        std::fs::create_dir_all(&staging_parent).map_err(|e| e.to_string())?;
        let staging = tempfile::Builder::new()
            .prefix(".generate-")
            .tempdir_in(&staging_parent)
            .map_err(|e| e.to_string())?;
        for (root, pattern, exclude, to, to_dir, from) in &copies {
            artifact_copy::copy(root, pattern, exclude, staging.path(), to, *to_dir)
                .map_err(|e| format!("copy from {from:?}: {e}"))?;
        }
        artifact_copy::pack(staging.path(), max)
    })
    .await
    .map_err(|e| ReconcileError::Build(e.to_string()))?
    .map_err(|e| ReconcileError::Build(format!("{what}: {e}")))?;
    let store = ctx.artifacts.clone();
    let (ns_owned, name) = (ns.to_string(), output.name.clone());
    let stored = tokio::task::spawn_blocking(move || {
        use sha2::Digest;
        let hex = hex::encode(sha2::Sha256::digest(&bytes));
        store.store("externalartifact", &ns_owned, &name, &format!("{hex}.tar.gz"), &bytes)
    })
    .await
    .map_err(|e| ReconcileError::Build(e.to_string()))?
    .map_err(|e| ReconcileError::Build(format!("{what}: failed to store: {e}")))?;
    let alias_of = |v: &Option<String>| {
        v.as_deref()
            .and_then(|v| v.strip_prefix('@'))
            .and_then(|a| sources.iter().find(|s| s.alias == a))
    };
    let revision = match alias_of(&output.revision) {
        Some(s) => s.revision.clone(),
        None => format!("latest@{}", stored.digest),
    };
    let metadata = alias_of(&output.origin_revision)
        .and_then(|s| s.origin_revision.clone())
        .map(|r| {
            [("org.opencontainers.image.revision".to_string(), r)]
                .into_iter()
                .collect()
        });
    Ok(Artifact {
        path: stored.path,
        url: stored.url,
        revision,
        digest: Some(stored.digest),
        last_update_time: crate::status::now(),
        size: i64::try_from(stored.size).ok(),
        metadata,
    })
}

/// Creates or updates the `ExternalArtifact` of `output`; its status changes only when the
/// artifact's digest or revision did.
async fn publish(
    generator: &ArtifactGenerator,
    ctx: &Context,
    api: &Api<ExternalArtifact>,
    output: &OutputArtifact,
    artifact: &Artifact,
) -> Result<(), ReconcileError> {
    let name = &output.name;
    let ns = generator.namespace().unwrap_or_default();
    let existing = api.get_opt(name).await?;
    if let Some(e) = &existing
        && !owned_by(e, generator)
    {
        return Err(ReconcileError::Apply(format!(
            "ExternalArtifact {ns}/{name} exists and was not made by this generator; not taken over"
        )));
    }
    let owner = json!({
        "apiVersion": "source.extensions.fluxcd.io/v1beta1",
        "kind": "ArtifactGenerator",
        "name": generator.name_any(),
        "uid": generator.uid().unwrap_or_default(),
        "controller": true,
        "blockOwnerDeletion": true,
    });
    let object = json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "ExternalArtifact",
        "metadata": {
            "name": name,
            "namespace": ns,
            "labels": { GENERATOR_LABEL: generator.name_any() },
            "ownerReferences": [owner],
        },
        "spec": {
            "sourceRef": {
                "apiVersion": "source.extensions.fluxcd.io/v1beta1",
                "kind": "ArtifactGenerator",
                "name": generator.name_any(),
                "namespace": ns,
            }
        }
    });
    let live = api
        .patch(name, &PatchParams::apply(MANAGER).force(), &Patch::Apply(&object))
        .await?;
    let current = live.status.clone().unwrap_or_default();
    let same = current
        .artifact
        .as_ref()
        .is_some_and(|a| a.digest == artifact.digest && a.revision == artifact.revision);
    if same && current.conditions.iter().any(|c| c.type_ == "Ready" && c.is_true()) {
        return Ok(());
    }
    let message = format!("Artifact revision {}", artifact.revision);
    let mut conditions = current.conditions.clone();
    set_condition(
        &mut conditions,
        condition(
            "Ready",
            ConditionStatus::True,
            "Succeeded",
            &message,
            live.meta().generation,
        ),
    );
    let artifact = if same {
        current.artifact.clone()
    } else {
        Some(artifact.clone())
    };
    let patch = json!({"status": {"artifact": artifact, "conditions": conditions}});
    api.patch_status(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    if !same {
        ctx.event(
            generator,
            EventType::Normal,
            "ArtifactGenerated",
            &format!("ExternalArtifact {ns}/{name}: {message}"),
        )
        .await;
    }
    Ok(())
}
