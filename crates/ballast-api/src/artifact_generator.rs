//! Flux 2.7's source composition: `ArtifactGenerator` (`source.extensions.fluxcd.io/v1beta1`)
//! copies files by glob from one or more sources into named artifacts, each published as an
//! `ExternalArtifact` (`source.toolkit.fluxcd.io/v1`), which a Kustomization can use as its
//! `sourceRef`.

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::condition::Condition;
use crate::git_repository::Artifact;
use crate::meta::NamespacedObjectKindReference;

/// The label an `ExternalArtifact` carries naming its generator (`<namespace>/<name>` is not a
/// valid label value: the generator's name).
pub const GENERATOR_LABEL: &str = "source.extensions.fluxcd.io/generator";
/// `source.extensions.fluxcd.io/reconcile: disabled` suspends a generator.
pub const GENERATOR_RECONCILE_ANNOTATION: &str = "source.extensions.fluxcd.io/reconcile";

/// Sources to read and artifacts to produce.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "source.extensions.fluxcd.io",
    version = "v1beta1",
    kind = "ArtifactGenerator",
    namespaced,
    status = "ArtifactGeneratorStatus",
    shortname = "ag",
    category = "fluxcd",
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Status","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].message"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactGeneratorSpec {
    /// The sources, each under an alias (`GitRepository`, `OCIRepository`; `Bucket` is not
    /// supported).
    pub sources: Vec<GeneratorSource>,
    /// The artifacts to produce.
    pub artifacts: Vec<OutputArtifact>,
}

/// A source of a generator.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GeneratorSource {
    /// Alias used in copy operations (`@<alias>/...`).
    #[schemars(regex(pattern = r"^[a-z0-9]([a-z0-9_-]*[a-z0-9])?$"), length(max = 63))]
    pub alias: String,
    /// `GitRepository`, `OCIRepository` or `Bucket`.
    pub kind: String,
    /// Name of the source.
    pub name: String,
    /// Namespace of the source; defaults to the generator's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// One artifact: an `ExternalArtifact` of this name in the generator's namespace.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OutputArtifact {
    /// Name of the `ExternalArtifact`.
    pub name: String,
    /// `@<alias>`: the artifact takes that source's revision; unset, `latest@sha256:<digest>` of
    /// its content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// `@<alias>`: that source's origin revision becomes the artifact's
    /// `org.opencontainers.image.revision` metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin_revision: Option<String>,
    /// Copies, in order (later ones overwrite earlier ones).
    pub copy: Vec<CopyOperation>,
}

/// One copy: files matching `from` placed under `to`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CopyOperation {
    /// `@<alias>/<glob>` (`*` within one directory, `**` across directories).
    pub from: String,
    /// `@artifact/<path>`; a path ending in `/` is a directory.
    pub to: String,
    /// Globs of files and directories matched by `from` to leave out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclude: Option<Vec<String>>,
    /// `Overwrite` (the default) or `Merge` (YAML files merged as Helm merges values).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<String>,
}

/// Observed state.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactGeneratorStatus {
    /// `Ready`, `Reconciling`, `Stalled`.
    #[serde(default)]
    pub conditions: Vec<Condition>,
    /// Last generation reconciled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// The `ExternalArtifact`s produced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inventory: Option<Vec<ExternalArtifactReference>>,
    /// A digest of the revisions of every source read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_sources_digest: Option<String>,
    /// Value of the last handled `reconcile.fluxcd.io/requestedAt` annotation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
}

/// An `ExternalArtifact` a generator produced.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExternalArtifactReference {
    /// Name.
    pub name: String,
    /// Namespace.
    pub namespace: String,
    /// `sha256:<hex>` of the artifact.
    pub digest: String,
    /// File name of the artifact in storage.
    pub filename: String,
}

/// An artifact produced outside the source kinds (by an `ArtifactGenerator`).
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "source.toolkit.fluxcd.io",
    version = "v1",
    kind = "ExternalArtifact",
    namespaced,
    status = "ExternalArtifactStatus",
    shortname = "ea",
    category = "fluxcd",
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Status","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].message"}"#,
    printcolumn = r#"{"name":"Source","type":"string","jsonPath":".spec.sourceRef.name"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct ExternalArtifactSpec {
    /// The object the artifact is produced for (its generator).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_ref: Option<NamespacedObjectKindReference>,
}

/// Observed state.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExternalArtifactStatus {
    /// The artifact: `externalartifact/<ns>/<name>/<hex>.tar.gz` in the controller's store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact: Option<Artifact>,
    /// `Ready`.
    #[serde(default)]
    pub conditions: Vec<Condition>,
}
