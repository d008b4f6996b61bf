//! The Kubernetes API Ballast serves, compatible with Flux:
//! `source.toolkit.fluxcd.io` [`GitRepository`], [`HelmRepository`], [`HelmChart`] and
//! [`OCIRepository`], [`ExternalArtifact`], `source.extensions.fluxcd.io`
//! [`ArtifactGenerator`], `image.toolkit.fluxcd.io` [`ImageRepository`], [`ImagePolicy`]
//! and [`ImageUpdateAutomation`], `kustomize.toolkit.fluxcd.io` [`Kustomization`],
//! `helm.toolkit.fluxcd.io` [`HelmRelease`] (`v2` stored; `v2beta2` and `v2beta1` served), and
//! `notification.toolkit.fluxcd.io` [`Provider`], [`Alert`] and [`Receiver`]; and Bitnami's
//! `bitnami.com/v1alpha1` [`SealedSecret`] ([`sealed_secret_crds`], installed apart).
//!
//! Types are written once, for the storage version `v1`; the CRDs also serve `v1beta2` and
//! `v1beta1`, each with the fields Flux served in it (no conversion webhook, like Flux), so
//! manifests written for older Flux releases are accepted. Fields only older versions had
//! (`patchesStrategicMerge`, `patchesJson6902`, `validation`, `gitImplementation`, `accessFrom`)
//! are also in the v1 storage schema so they are never pruned on their way to storage; the
//! reconcilers translate them to their v1 meaning or report them.

pub mod argo;
pub mod artifact_generator;
pub mod condition;
mod crd;
pub mod git_repository;
pub mod helm_chart;
pub mod helm_release;
pub mod helm_repository;
pub mod image;
pub mod kustomization;
pub mod meta;
pub mod notification;
pub mod oci_repository;
pub mod sealed_secret;

pub use argo::{AppProject, Application, argo_crds};
pub use artifact_generator::{ArtifactGenerator, ArtifactGeneratorSpec, ExternalArtifact, ExternalArtifactSpec};
pub use condition::{Condition, ConditionStatus};
pub use crd::{all_crds, crd_values, helm_source_crds, image_crds};
pub use git_repository::{GitRepository, GitRepositorySpec, GitRepositoryStatus};
pub use helm_chart::{HelmChart, HelmChartSpec, HelmChartStatus};
pub use helm_release::{HelmRelease, HelmReleaseSpec, HelmReleaseStatus};
pub use helm_repository::{HelmRepository, HelmRepositorySpec, HelmRepositoryStatus};
pub use image::{ImagePolicy, ImageRepository, ImageUpdateAutomation};
pub use kustomization::{Kustomization, KustomizationSpec, KustomizationStatus};
pub use notification::{Alert, AlertSpec, Provider, ProviderSpec, Receiver, ReceiverSpec};
pub use oci_repository::{OCIRepository, OCIRepositorySpec, OCIRepositoryStatus};
pub use sealed_secret::{SealedSecret, SealedSecretSpec, SealedSecretStatus, sealed_secret_crds};
