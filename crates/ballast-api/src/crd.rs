//! The CustomResourceDefinitions, generated from the types.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;

use crate::{
    Alert, ArtifactGenerator, ExternalArtifact, GitRepository, HelmChart, HelmRelease, HelmRepository, ImagePolicy,
    ImageRepository, ImageUpdateAutomation, Kustomization, OCIRepository, Provider, Receiver,
};

/// Every CRD Ballast serves: `GitRepository`, `Kustomization` and `HelmRelease`, the chart
/// sources of [`helm_source_crds`], then `ArtifactGenerator` (`v1beta1` only) and
/// `ExternalArtifact` (`v1` only). The others have their storage version (`v1`; `v2` for
/// `HelmRelease`) and the older versions Flux served (`v1beta2` and `v1beta1`, `v2beta2` and
/// `v2beta1`; `OCIRepository` only `v1beta2`), each version with its own fields.
///
/// Without a conversion webhook the API server converts between versions by rewriting
/// `apiVersion`, and prunes what the storage version's schema does not know. So the v1 schema
/// (generated from the Rust types) holds every field of every version — an older version's
/// deprecated fields (`patchesStrategicMerge`, `gitImplementation`, ...) survive storage and
/// reach the reconcilers, which translate, ignore with a warning, or refuse them by name — and
/// each older version serves the subset Flux served in it.
pub fn all_crds() -> Vec<CustomResourceDefinition> {
    let mut crds = vec![
        with_older_versions(structural(GitRepository::crd()), GIT_REPOSITORY_OLDER),
        with_older_versions(structural(Kustomization::crd()), KUSTOMIZATION_OLDER),
        with_older_versions(structural(HelmRelease::crd()), HELM_RELEASE_OLDER),
    ];
    crds.extend(helm_source_crds());
    // Flux 2.7's source composition: one version each, as Flux serves them.
    crds.push(structural(ArtifactGenerator::crd()));
    crds.push(structural(ExternalArtifact::crd()));
    crds.extend(image_crds());
    // Notifications: Provider and Alert store v1beta3, Receiver v1; all serve v1beta2.
    crds.push(with_older_versions(structural(Provider::crd()), PROVIDER_OLDER));
    crds.push(with_older_versions(structural(Alert::crd()), ALERT_OLDER));
    crds.push(with_older_versions(structural(Receiver::crd()), RECEIVER_OLDER));
    crds
}

/// The image automation CRDs — `ImageRepository`, `ImagePolicy`, `ImageUpdateAutomation`
/// (`v1` stored, `v1beta2` served with its fields) — built like [`all_crds`], which includes
/// them.
pub fn image_crds() -> Vec<CustomResourceDefinition> {
    vec![
        with_older_versions(structural(ImageRepository::crd()), IMAGE_REPOSITORY_OLDER),
        with_older_versions(structural(ImagePolicy::crd()), IMAGE_POLICY_OLDER),
        with_older_versions(structural(ImageUpdateAutomation::crd()), IMAGE_UPDATE_OLDER),
    ]
}

const IMAGE_REPOSITORY_OLDER: &[Older] = &[Older {
    name: "v1beta2",
    spec: &[
        "image",
        "certSecretRef",
        "secretRef",
        "serviceAccountName",
        "proxySecretRef",
        "interval",
        "timeout",
        "suspend",
        "accessFrom",
        "exclusionList",
        "provider",
        "insecure",
    ],
    without: &[],
}];

const IMAGE_POLICY_OLDER: &[Older] = &[Older {
    name: "v1beta2",
    spec: &[
        "imageRepositoryRef",
        "policy",
        "filterTags",
        "digestReflectionPolicy",
        "interval",
    ],
    without: &[],
}];

const IMAGE_UPDATE_OLDER: &[Older] = &[Older {
    name: "v1beta2",
    spec: &["sourceRef", "git", "interval", "policySelector", "update", "suspend"],
    without: &["git/commit/messageTemplateValues"],
}];

const PROVIDER_OLDER: &[Older] = &[Older {
    name: "v1beta2",
    spec: &[
        "type",
        "interval",
        "channel",
        "username",
        "address",
        "timeout",
        "proxy",
        "secretRef",
        "certSecretRef",
        "suspend",
    ],
    without: &[],
}];

const ALERT_OLDER: &[Older] = &[Older {
    name: "v1beta2",
    spec: &[
        "providerRef",
        "eventSeverity",
        "eventSources",
        "inclusionList",
        "exclusionList",
        "eventMetadata",
        "summary",
        "suspend",
    ],
    without: &[],
}];

const RECEIVER_OLDER: &[Older] = &[Older {
    name: "v1beta2",
    spec: &["type", "interval", "events", "resources", "secretRef", "suspend"],
    without: &[],
}];

/// `spec` fields of `HelmRelease` `v2beta2` and `v2beta1` (the same list; they differ below it).
const HELM_RELEASE_V2BETA: &[&str] = &[
    "chart",
    "chartRef",
    "interval",
    "kubeConfig",
    "suspend",
    "releaseName",
    "targetNamespace",
    "storageNamespace",
    "dependsOn",
    "timeout",
    "maxHistory",
    "serviceAccountName",
    "persistentClient",
    "driftDetection",
    "install",
    "upgrade",
    "test",
    "rollback",
    "uninstall",
    "valuesFrom",
    "values",
    "postRenderers",
];

/// Nested fields `v2` added.
const HELM_RELEASE_V2_ONLY: &[&str] = &[
    "install/strategy",
    "install/disableSchemaValidation",
    "install/disableTakeOwnership",
    "install/serverSideApply",
    "upgrade/strategy",
    "upgrade/disableSchemaValidation",
    "upgrade/disableTakeOwnership",
    "upgrade/serverSideApply",
    "upgrade/chartNameChangeStrategy",
    "rollback/serverSideApply",
];

const HELM_RELEASE_OLDER: &[Older] = &[
    Older {
        name: "v2beta2",
        spec: HELM_RELEASE_V2BETA,
        without: HELM_RELEASE_V2_ONLY,
    },
    Older {
        name: "v2beta1",
        spec: HELM_RELEASE_V2BETA,
        without: &[
            "install/strategy",
            "install/disableSchemaValidation",
            "install/disableTakeOwnership",
            "install/serverSideApply",
            "upgrade/strategy",
            "upgrade/disableSchemaValidation",
            "upgrade/disableTakeOwnership",
            "upgrade/serverSideApply",
            "upgrade/chartNameChangeStrategy",
            "rollback/serverSideApply",
            "chart/spec/ignoreMissingValuesFiles",
        ],
    },
];

/// The CRDs of the Helm chart sources — `HelmRepository` and `HelmChart` (`v1`, `v1beta2`,
/// `v1beta1`) and `OCIRepository` (`v1`, `v1beta2`) — built like [`all_crds`], which includes
/// them.
pub fn helm_source_crds() -> Vec<CustomResourceDefinition> {
    vec![
        with_older_versions(structural(HelmRepository::crd()), HELM_REPOSITORY_OLDER),
        with_older_versions(structural(HelmChart::crd()), HELM_CHART_OLDER),
        with_older_versions(structural(OCIRepository::crd()), OCI_REPOSITORY_OLDER),
    ]
}

const HELM_REPOSITORY_OLDER: &[Older] = &[
    Older {
        name: "v1beta2",
        spec: &[
            "url",
            "secretRef",
            "certSecretRef",
            "passCredentials",
            "interval",
            "insecure",
            "timeout",
            "suspend",
            "accessFrom",
            "type",
            "provider",
        ],
        without: &[],
    },
    Older {
        name: "v1beta1",
        spec: &[
            "url",
            "secretRef",
            "passCredentials",
            "interval",
            "timeout",
            "suspend",
            "accessFrom",
        ],
        without: &[],
    },
];

const HELM_CHART_OLDER: &[Older] = &[
    Older {
        name: "v1beta2",
        spec: &[
            "chart",
            "version",
            "sourceRef",
            "interval",
            "reconcileStrategy",
            "valuesFiles",
            "valuesFile",
            "ignoreMissingValuesFiles",
            "suspend",
            "accessFrom",
            "verify",
        ],
        without: &[],
    },
    Older {
        name: "v1beta1",
        spec: &[
            "chart",
            "version",
            "sourceRef",
            "interval",
            "reconcileStrategy",
            "valuesFiles",
            "valuesFile",
            "suspend",
            "accessFrom",
        ],
        without: &[],
    },
];

const OCI_REPOSITORY_OLDER: &[Older] = &[Older {
    name: "v1beta2",
    spec: &[
        "url",
        "ref",
        "layerSelector",
        "provider",
        "secretRef",
        "verify",
        "serviceAccountName",
        "certSecretRef",
        "proxySecretRef",
        "interval",
        "timeout",
        "ignore",
        "insecure",
        "suspend",
    ],
    without: &[],
}];

/// An older served version: its name, the `spec` fields it has, and nested properties (paths
/// under `spec`) it lacks.
struct Older {
    name: &'static str,
    spec: &'static [&'static str],
    without: &'static [&'static str],
}

/// Ballast's own fields, served in every version.
const EXTENSIONS: &[&str] = &["insecure"];

const GIT_REPOSITORY_V1BETA: &[&str] = &[
    "url",
    "secretRef",
    "interval",
    "timeout",
    "ref",
    "verify",
    "ignore",
    "suspend",
    "gitImplementation",
    "recurseSubmodules",
    "include",
    "accessFrom",
];

const GIT_REPOSITORY_OLDER: &[Older] = &[
    Older {
        name: "v1beta2",
        spec: GIT_REPOSITORY_V1BETA,
        without: &[],
    },
    Older {
        name: "v1beta1",
        spec: GIT_REPOSITORY_V1BETA,
        without: &["ref/name"],
    },
];

const KUSTOMIZATION_OLDER: &[Older] = &[
    Older {
        name: "v1beta2",
        spec: &[
            "commonMetadata",
            "dependsOn",
            "decryption",
            "interval",
            "retryInterval",
            "kubeConfig",
            "path",
            "postBuild",
            "prune",
            "healthChecks",
            "patches",
            "patchesStrategicMerge",
            "patchesJson6902",
            "images",
            "serviceAccountName",
            "sourceRef",
            "suspend",
            "targetNamespace",
            "timeout",
            "force",
            "wait",
            "components",
            "validation",
        ],
        without: &[],
    },
    Older {
        name: "v1beta1",
        spec: &[
            "dependsOn",
            "decryption",
            "interval",
            "retryInterval",
            "kubeConfig",
            "path",
            "postBuild",
            "prune",
            "healthChecks",
            "patches",
            "patchesStrategicMerge",
            "patchesJson6902",
            "images",
            "serviceAccountName",
            "sourceRef",
            "suspend",
            "targetNamespace",
            "timeout",
            "validation",
            "force",
        ],
        without: &[],
    },
];

/// Makes the generated schema acceptable to every API server we support: free-form fields
/// (`serde_json::Value`) become objects that preserve unknown fields, and `default`s (which
/// serde's `#[serde(default)]` produces) are dropped — defaults belong to the reconcilers.
pub(crate) fn structural(crd: CustomResourceDefinition) -> CustomResourceDefinition {
    let mut v = serde_json::to_value(&crd).unwrap_or_default();
    if let Some(versions) = v.pointer_mut("/spec/versions").and_then(|x| x.as_array_mut()) {
        for version in versions {
            if let Some(schema) = version.pointer_mut("/schema/openAPIV3Schema") {
                fix(schema);
            }
        }
    }
    serde_json::from_value(v).unwrap_or(crd)
}

fn fix(schema: &mut serde_json::Value) {
    let Some(map) = schema.as_object_mut() else { return };
    map.remove("default");
    let typed = [
        "type",
        "properties",
        "items",
        "x-kubernetes-preserve-unknown-fields",
        "x-kubernetes-int-or-string",
        "anyOf",
        "oneOf",
        "allOf",
    ]
    .iter()
    .any(|k| map.contains_key(*k));
    if !typed {
        map.insert("type".into(), "object".into());
        map.insert("x-kubernetes-preserve-unknown-fields".into(), true.into());
    }
    if let Some(props) = map.get_mut("properties").and_then(|p| p.as_object_mut()) {
        props.values_mut().for_each(fix);
    }
    if let Some(items) = map.get_mut("items") {
        fix(items);
    }
}

fn with_older_versions(mut crd: CustomResourceDefinition, versions: &[Older]) -> CustomResourceDefinition {
    let v1 = crd.spec.versions[0].clone();
    for version in versions {
        let name = version.name;
        let mut older = v1.clone();
        older.name = name.to_string();
        if let Some(schema) = older.schema.as_mut().and_then(|s| s.open_api_v3_schema.as_mut())
            && let Some(spec) = schema.properties.as_mut().and_then(|p| p.get_mut("spec"))
        {
            if let Some(props) = spec.properties.as_mut() {
                props.retain(|k, _| version.spec.contains(&k.as_str()) || EXTENSIONS.contains(&k.as_str()));
            }
            for path in version.without {
                let (parent, field) = path.rsplit_once('/').unwrap_or(("", path));
                let mut node = Some(&mut *spec);
                for step in parent.split('/').filter(|s| !s.is_empty()) {
                    node = node.and_then(|n| n.properties.as_mut()).and_then(|p| p.get_mut(step));
                }
                if let Some(n) = node {
                    if let Some(p) = n.properties.as_mut() {
                        p.remove(field);
                    }
                    if let Some(r) = n.required.as_mut() {
                        r.retain(|x| x != field);
                    }
                }
            }
        }
        older.storage = false;
        older.deprecated = Some(true);
        older.deprecation_warning = Some(format!(
            "{}/{name} {} is deprecated, upgrade to {}",
            crd.spec.group, crd.spec.names.kind, v1.name
        ));
        crd.spec.versions.push(older);
    }
    crd
}

/// The CRDs as JSON values, ready to apply or print.
pub fn crd_values() -> Vec<serde_json::Value> {
    all_crds()
        .iter()
        .map(|c| serde_json::to_value(c).unwrap_or_default())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crds_serve_three_versions_and_store_v1() {
        let crds = all_crds();
        let names: Vec<&str> = crds.iter().map(|c| c.spec.names.kind.as_str()).collect();
        assert_eq!(
            names,
            [
                "GitRepository",
                "Kustomization",
                "HelmRelease",
                "HelmRepository",
                "HelmChart",
                "OCIRepository",
                "ArtifactGenerator",
                "ExternalArtifact",
                "ImageRepository",
                "ImagePolicy",
                "ImageUpdateAutomation",
                "Provider",
                "Alert",
                "Receiver"
            ]
        );
        for crd in crds {
            let names: Vec<&str> = crd.spec.versions.iter().map(|v| v.name.as_str()).collect();
            let want: &[&str] = match crd.spec.names.kind.as_str() {
                "HelmRelease" => &["v2", "v2beta2", "v2beta1"],
                "OCIRepository" | "ImageRepository" | "ImagePolicy" | "ImageUpdateAutomation" | "Receiver" => {
                    &["v1", "v1beta2"]
                }
                "Provider" | "Alert" => &["v1beta3", "v1beta2"],
                "ArtifactGenerator" => &["v1beta1"],
                "ExternalArtifact" => &["v1"],
                _ => &["v1", "v1beta2", "v1beta1"],
            };
            assert_eq!(names, want);
            let storage: Vec<bool> = crd.spec.versions.iter().map(|v| v.storage).collect();
            assert_eq!(storage.iter().filter(|s| **s).count(), 1);
            assert!(storage[0], "the first version is stored");
            assert!(
                crd.spec
                    .versions
                    .iter()
                    .all(|v| v.subresources.as_ref().is_some_and(|s| s.status.is_some()))
            );
        }
        let ks = serde_json::to_value(&all_crds()[1]).unwrap();
        let props = &ks["spec"]["versions"][2]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"];
        assert!(props.get("validation").is_some(), "v1beta1 validation must be accepted");
        assert!(props.get("patchesStrategicMerge").is_some());
        assert_eq!(props["interval"]["pattern"], "^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$");
        assert_eq!(props["postBuild"]["x-kubernetes-preserve-unknown-fields"], true);
        assert_eq!(props["patches"]["items"]["type"], "object");
        let text = serde_json::to_string(&ks).unwrap();
        assert!(!text.contains("\"default\""), "defaults left in the schema");
    }

    #[test]
    fn helm_sources_serve_flux_versions_and_keep_every_field_in_storage() {
        let crds = helm_source_crds();
        let names: Vec<&str> = crds.iter().map(|c| c.metadata.name.as_deref().unwrap_or("")).collect();
        assert_eq!(
            names,
            [
                "helmrepositories.source.toolkit.fluxcd.io",
                "helmcharts.source.toolkit.fluxcd.io",
                "ocirepositories.source.toolkit.fluxcd.io"
            ]
        );
        for (crd, olders) in crds
            .iter()
            .zip([HELM_REPOSITORY_OLDER, HELM_CHART_OLDER, OCI_REPOSITORY_OLDER])
        {
            let versions: Vec<&str> = crd.spec.versions.iter().map(|v| v.name.as_str()).collect();
            assert_eq!(versions.len(), olders.len() + 1);
            assert_eq!(versions[0], "v1");
            assert!(crd.spec.versions[0].storage);
            let crd = serde_json::to_value(crd).unwrap();
            let v1 = spec_fields(&crd, 0);
            for (i, older) in olders.iter().enumerate() {
                let fields = spec_fields(&crd, i + 1);
                for f in older.spec {
                    assert!(fields.iter().any(|x| x == f), "{} {f} missing", older.name);
                    assert!(v1.iter().any(|x| x == f), "storage v1 would prune {f}");
                }
            }
            assert!(!serde_json::to_string(&crd).unwrap().contains("\"default\""));
        }
        let hr = serde_json::to_value(&crds[0]).unwrap();
        assert!(spec_fields(&hr, 0).iter().any(|f| f == "type"));
        assert!(!spec_fields(&hr, 2).iter().any(|f| f == "type"), "v1beta1 had no type");
        let oci = serde_json::to_value(&crds[2]).unwrap();
        let spec = &oci["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"];
        let selector = &spec["properties"]["layerSelector"]["properties"];
        assert!(selector.get("mediaType").is_some() && selector.get("operation").is_some());
        assert!(spec["properties"]["ref"]["properties"].get("semverFilter").is_some());
        assert_eq!(oci["spec"]["names"]["plural"], "ocirepositories");
    }

    #[test]
    fn image_crds_serve_v1beta2_and_keep_every_field_in_storage() {
        let crds = image_crds();
        for (crd, olders) in crds
            .iter()
            .zip([IMAGE_REPOSITORY_OLDER, IMAGE_POLICY_OLDER, IMAGE_UPDATE_OLDER])
        {
            assert_eq!(crd.spec.group, "image.toolkit.fluxcd.io");
            let crd = serde_json::to_value(crd).unwrap();
            let v1 = spec_fields(&crd, 0);
            for f in olders[0].spec {
                assert!(spec_fields(&crd, 1).iter().any(|x| x == f), "v1beta2 {f} missing");
                assert!(v1.iter().any(|x| x == f), "storage v1 would prune {f}");
            }
        }
        let iua = serde_json::to_value(&crds[2]).unwrap();
        let commit = |i: usize| {
            iua["spec"]["versions"][i]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["git"]
                ["properties"]["commit"]["properties"]
                .clone()
        };
        assert!(commit(0).get("messageTemplateValues").is_some());
        assert!(commit(1).get("messageTemplateValues").is_none(), "v1 only");
        let repo = serde_json::to_value(&crds[0]).unwrap();
        assert_eq!(repo["spec"]["names"]["shortNames"][0], "imgrepo");
    }

    #[test]
    fn flux_manifests_deserialize() {
        let hr: crate::HelmRepository = serde_json::from_value(serde_json::json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "HelmRepository",
            "metadata": {"name": "podinfo", "namespace": "flux-system"},
            "spec": {"type": "oci", "url": "oci://ghcr.io/stefanprodan/charts", "interval": "5m",
                     "secretRef": {"name": "creds"}, "passCredentials": true}
        }))
        .unwrap();
        assert!(hr.spec.is_oci());
        let hc: crate::HelmChart = serde_json::from_value(serde_json::json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "HelmChart",
            "metadata": {"name": "podinfo"},
            "spec": {"chart": "podinfo", "interval": "1m",
                     "sourceRef": {"kind": "HelmRepository", "name": "podinfo"},
                     "valuesFile": "a.yaml", "valuesFiles": ["b.yaml"]}
        }))
        .unwrap();
        assert_eq!(hc.spec.version_range(), "*");
        assert_eq!(hc.spec.all_values_files(), ["a.yaml", "b.yaml"]);
        let oci: crate::OCIRepository = serde_json::from_value(serde_json::json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "OCIRepository",
            "metadata": {"name": "podinfo"},
            "spec": {"url": "oci://ghcr.io/stefanprodan/charts/podinfo", "interval": "10m",
                     "ref": {"semver": ">=6.0.0"},
                     "layerSelector": {"mediaType": "application/vnd.cncf.helm.chart.content.v1.tar+gzip", "operation": "copy"}},
            "status": {"artifact": {"path": "p", "url": "u", "revision": "6.5.0@sha256:abc",
                       "digest": "sha256:def", "lastUpdateTime": "2026-01-01T00:00:00Z", "size": 1234}}
        }))
        .unwrap();
        assert_eq!(oci.spec.reference.unwrap().semver.as_deref(), Some(">=6.0.0"));
        assert_eq!(oci.status.unwrap().artifact.unwrap().size, Some(1234));
    }

    #[test]
    fn helm_release_serves_v2_and_its_betas_each_with_its_own_fields() {
        let crd = all_crds()
            .into_iter()
            .find(|c| c.spec.names.kind == "HelmRelease")
            .expect("HelmRelease in all_crds");
        assert_eq!(
            crd.metadata.name.as_deref(),
            Some("helmreleases.helm.toolkit.fluxcd.io")
        );
        assert_eq!(crd.spec.names.short_names.as_deref(), Some(&["hr".to_string()][..]));
        let crd = serde_json::to_value(&crd).unwrap();
        let v1 = spec_fields(&crd, 0);
        for (i, older) in HELM_RELEASE_OLDER.iter().enumerate() {
            let fields = spec_fields(&crd, i + 1);
            for f in older.spec {
                assert!(fields.iter().any(|x| x == f), "{} {f} missing", older.name);
                assert!(v1.iter().any(|x| x == f), "storage v2 would prune {f}");
            }
            for f in &fields {
                assert!(
                    older.spec.contains(&f.as_str()) || EXTENSIONS.contains(&f.as_str()),
                    "{f}"
                );
            }
        }
        for f in [
            "commonMetadata",
            "postRenderStrategy",
            "waitStrategy",
            "healthCheckExprs",
        ] {
            assert!(v1.iter().any(|x| x == f), "v2 has {f}");
            assert!(!spec_fields(&crd, 1).iter().any(|x| x == f), "v2beta2 has no {f}");
        }
        let spec =
            |v: usize| &crd["spec"]["versions"][v]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"];
        assert!(spec(0)["install"]["properties"].get("strategy").is_some());
        assert!(spec(1)["install"]["properties"].get("strategy").is_none());
        assert!(spec(1)["install"]["properties"].get("remediation").is_some());
        assert_eq!(
            spec(0)["upgrade"]["properties"]["remediation"]["properties"]["strategy"]["type"],
            "string"
        );
        assert!(spec(0)["install"]["properties"].get("crds").is_some());
        assert!(spec(0)["install"]["properties"].get("skipCRDs").is_some());
        assert!(
            spec(0)["chart"]["properties"]["spec"]["properties"]
                .get("valuesFile")
                .is_some()
        );
        assert!(
            spec(1)["chart"]["properties"]["spec"]["properties"]
                .get("ignoreMissingValuesFiles")
                .is_some()
        );
        assert!(
            spec(2)["chart"]["properties"]["spec"]["properties"]
                .get("ignoreMissingValuesFiles")
                .is_none()
        );
        assert_eq!(spec(0)["values"]["x-kubernetes-preserve-unknown-fields"], true);
        assert!(spec(0)["values"].get("type").is_none());
        let status = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["status"]["properties"];
        for f in [
            "history",
            "lastAttemptedRevision",
            "lastAttemptedValuesChecksum",
            "lastAttemptedConfigDigest",
            "lastAttemptedGeneration",
            "lastAttemptedReleaseAction",
            "failures",
            "installFailures",
            "upgradeFailures",
            "helmChart",
            "storageNamespace",
            "lastHandledForceAt",
            "lastHandledResetAt",
            "lastHandledReconcileAt",
            "lastAppliedRevision",
            "lastReleaseRevision",
            "conditions",
        ] {
            assert!(status.get(f).is_some(), "status {f}");
        }
        let columns = &crd["spec"]["versions"][0]["additionalPrinterColumns"];
        let names: Vec<&str> = columns
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["Age", "Ready", "Status"]);
        assert_eq!(
            crd["spec"]["versions"][1]["deprecationWarning"],
            "helm.toolkit.fluxcd.io/v2beta2 HelmRelease is deprecated, upgrade to v2"
        );
        assert!(!serde_json::to_string(&crd).unwrap().contains("\"default\""));
    }

    #[test]
    fn flux_helm_release_deserializes_with_flux_defaults() {
        let hr: crate::HelmRelease = serde_json::from_value(serde_json::json!({
            "apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
            "metadata": {"name": "podinfo", "namespace": "flux-system"},
            "spec": {"interval": "10m", "targetNamespace": "apps",
                     "chart": {"spec": {"chart": "podinfo", "version": ">=6.0.0",
                               "sourceRef": {"kind": "HelmRepository", "name": "podinfo"}}},
                     "install": {"crds": "CreateReplace", "remediation": {"retries": 3},
                                 "strategy": {"name": "RetryOnFailure", "retryInterval": "2m"}},
                     "upgrade": {"remediation": {"retries": -1, "strategy": "uninstall"}},
                     "valuesFrom": [{"kind": "Secret", "name": "s", "valuesKey": "k", "targetPath": "a.b", "optional": true}],
                     "values": {"replicaCount": 2},
                     "postRenderers": [{"kustomize": {"images": [{"name": "nginx", "newTag": "1"}],
                                        "patches": [{"patch": "- op: add", "target": {"kind": "Deployment"}}]}}]}
        }))
        .unwrap();
        assert_eq!(hr.full_release_name(), "apps-podinfo");
        assert_eq!(hr.target_namespace(), "apps");
        assert_eq!(hr.storage_namespace(), "flux-system");
        assert_eq!(hr.helm_chart_name(), "flux-system-podinfo");
        assert_eq!(hr.drift_mode(), "enabled");
        assert_eq!(hr.max_history(), 5);
        assert_eq!(hr.spec.install.as_ref().unwrap().crds.as_deref(), Some("CreateReplace"));
        assert_eq!(hr.spec.upgrade.unwrap().remediation.unwrap().strategy(), "uninstall");
        let short = crate::helm_release::shorten_release_name(&"x".repeat(60), |_| "0123456789abcdef".into());
        assert_eq!(short, format!("{}-0123456789ab", "x".repeat(40)));
        assert_eq!(short.len(), 53);
    }

    fn spec_fields(crd: &serde_json::Value, version: usize) -> Vec<String> {
        let props = &crd["spec"]["versions"][version]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"];
        props.as_object().unwrap().keys().cloned().collect()
    }

    #[test]
    fn each_version_serves_its_own_fields_and_storage_keeps_them_all() {
        let crds: Vec<serde_json::Value> = crd_values();
        for (crd, olders) in crds.iter().zip([GIT_REPOSITORY_OLDER, KUSTOMIZATION_OLDER]) {
            let v1 = spec_fields(crd, 0);
            for (i, older) in olders.iter().enumerate() {
                let fields = spec_fields(crd, i + 1);
                for f in older.spec {
                    assert!(fields.iter().any(|x| x == f), "{} {f} missing", older.name);
                    assert!(v1.iter().any(|x| x == f), "storage v1 would prune {f}");
                }
                for f in &fields {
                    assert!(older.spec.contains(&f.as_str()) || EXTENSIONS.contains(&f.as_str()));
                }
            }
        }
        let ks = &crds[1];
        for f in ["namePrefix", "deletionPolicy", "healthCheckExprs"] {
            assert!(spec_fields(ks, 0).iter().any(|x| x == f));
            assert!(!spec_fields(ks, 1).iter().any(|x| x == f), "v1beta2 has no {f}");
        }
        assert!(!spec_fields(ks, 2).iter().any(|x| x == "commonMetadata"));
        let spec = |v: usize| &ks["spec"]["versions"][v]["schema"]["openAPIV3Schema"]["properties"]["spec"];
        let op = &spec(1)["properties"]["patchesJson6902"]["items"]["properties"]["patch"]["items"];
        assert_eq!(op["properties"]["value"]["x-kubernetes-preserve-unknown-fields"], true);
        assert!(
            op["properties"]["value"].get("type").is_none(),
            "a JSON value may be a scalar"
        );
        assert_eq!(
            spec(1)["properties"]["patchesStrategicMerge"]["items"]["x-kubernetes-preserve-unknown-fields"],
            true
        );
        let gr = &crds[0];
        let gspec = |v: usize| &gr["spec"]["versions"][v]["schema"]["openAPIV3Schema"]["properties"]["spec"];
        assert!(gspec(0)["properties"]["ref"]["properties"].get("name").is_some());
        assert!(gspec(1)["properties"]["ref"]["properties"].get("name").is_some());
        assert!(gspec(2)["properties"]["ref"]["properties"].get("name").is_none());
        assert!(gspec(2)["properties"].get("accessFrom").is_some());
        assert!(gspec(2)["properties"].get("sparseCheckout").is_none());
    }
}
