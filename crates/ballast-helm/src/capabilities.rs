//! The built-in objects of a render besides `.Values` and `.Files`: `.Capabilities`
//! ([`Capabilities`]), `.Chart` ([`chart_object`]), `.Release` ([`release_object`]) and
//! `.Template` ([`template_object`]), as helm v4.1.4 presents them.

use std::rc::Rc;

use ballast_gotemplate::Value;
use ballast_gotemplate::func::Args;
use ballast_gotemplate::value::{Map, Object};

use crate::chart::Metadata;

/// The Kubernetes version `helm template` assumes (helm v4.1.4).
pub const DEFAULT_KUBE_VERSION: &str = "v1.35.0";

/// The group/versions `helm template` assumes (helm v4.1.4's default `APIVersions`, in its
/// order).
pub const DEFAULT_API_VERSIONS: &[&str] = &[
    "v1",
    "admissionregistration.k8s.io/v1",
    "admissionregistration.k8s.io/v1alpha1",
    "admissionregistration.k8s.io/v1beta1",
    "internal.apiserver.k8s.io/v1alpha1",
    "apps/v1",
    "apps/v1beta1",
    "apps/v1beta2",
    "authentication.k8s.io/v1",
    "authentication.k8s.io/v1alpha1",
    "authentication.k8s.io/v1beta1",
    "authorization.k8s.io/v1",
    "authorization.k8s.io/v1beta1",
    "autoscaling/v1",
    "autoscaling/v2",
    "autoscaling/v2beta1",
    "autoscaling/v2beta2",
    "batch/v1",
    "batch/v1beta1",
    "certificates.k8s.io/v1",
    "certificates.k8s.io/v1beta1",
    "certificates.k8s.io/v1alpha1",
    "coordination.k8s.io/v1alpha2",
    "coordination.k8s.io/v1beta1",
    "coordination.k8s.io/v1",
    "discovery.k8s.io/v1",
    "discovery.k8s.io/v1beta1",
    "events.k8s.io/v1",
    "events.k8s.io/v1beta1",
    "extensions/v1beta1",
    "flowcontrol.apiserver.k8s.io/v1",
    "flowcontrol.apiserver.k8s.io/v1beta1",
    "flowcontrol.apiserver.k8s.io/v1beta2",
    "flowcontrol.apiserver.k8s.io/v1beta3",
    "networking.k8s.io/v1",
    "networking.k8s.io/v1beta1",
    "node.k8s.io/v1",
    "node.k8s.io/v1alpha1",
    "node.k8s.io/v1beta1",
    "policy/v1",
    "policy/v1beta1",
    "rbac.authorization.k8s.io/v1",
    "rbac.authorization.k8s.io/v1beta1",
    "rbac.authorization.k8s.io/v1alpha1",
    "resource.k8s.io/v1",
    "resource.k8s.io/v1beta2",
    "resource.k8s.io/v1beta1",
    "resource.k8s.io/v1alpha3",
    "scheduling.k8s.io/v1alpha1",
    "scheduling.k8s.io/v1beta1",
    "scheduling.k8s.io/v1",
    "storage.k8s.io/v1beta1",
    "storage.k8s.io/v1",
    "storage.k8s.io/v1alpha1",
    "storagemigration.k8s.io/v1beta1",
    "apiextensions.k8s.io/v1beta1",
    "apiextensions.k8s.io/v1",
];

/// `.Capabilities.KubeVersion`: `Version` (as given, with a `v`), `Major`, `Minor`,
/// `GitVersion` (= `Version`); printed as `v` and its numeric components (`v1.30.2` for
/// `1.30.2-gke.1`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KubeVersion {
    /// `Version`.
    pub version: String,
    /// `Major`.
    pub major: String,
    /// `Minor`.
    pub minor: String,
    /// What `%v` prints.
    pub display: String,
}

impl KubeVersion {
    /// Parses a `--kube-version` as helm does (Kubernetes' generic version parser): `v`
    /// optional, at least two numeric components, the first without a leading zero, anything
    /// after the components ignored. Errors as helm prints them: `invalid kube version '1':
    /// illegal version string "1"`.
    pub fn parse(s: &str) -> Result<KubeVersion, String> {
        let wrap = |e: String| format!("invalid kube version '{s}': {e}");
        let t = s.trim_start();
        let t2 = t.strip_prefix('v').unwrap_or(t);
        // The longest prefix of the form `[0-9]+(\.[0-9]+)*`.
        let b = t2.as_bytes();
        let mut end = 0;
        while end < b.len() && b[end].is_ascii_digit() {
            end += 1;
        }
        if end == 0 {
            return Err(wrap(format!("could not parse {s:?} as version")));
        }
        while end + 1 < b.len() && b[end] == b'.' && b[end + 1].is_ascii_digit() {
            end += 1;
            while end < b.len() && b[end].is_ascii_digit() {
                end += 1;
            }
        }
        let numbers = &t2[..end];
        let comps: Vec<&str> = numbers.split('.').collect();
        if comps.len() < 2 {
            return Err(wrap(format!("illegal version string {s:?}")));
        }
        if comps[0].len() > 1 && comps[0].starts_with('0') {
            return Err(wrap(format!(
                "illegal zero-prefixed version component {:?} in {s:?}",
                comps[0]
            )));
        }
        let mut parsed = Vec::new();
        for c in &comps {
            let n: u64 = c.parse().map_err(|_| {
                wrap(format!(
                    "illegal non-numeric version component {c:?} in {s:?}: value out of range"
                ))
            })?;
            parsed.push(n.to_string());
        }
        Ok(KubeVersion {
            version: format!("v{t2}"),
            major: parsed[0].clone(),
            minor: parsed[1].clone(),
            display: format!("v{}", parsed.join(".")),
        })
    }
}

impl KubeVersion {
    /// Go's `%v` of the struct: `{Version normalizedVersion Major Minor}`.
    fn struct_form(&self) -> String {
        format!("{{{} {} {} {}}}", self.version, self.display, self.major, self.minor)
    }

    /// encoding/json's fields, in declaration order (the unexported one left out).
    fn json(&self) -> Vec<(String, Value)> {
        vec![
            ("Version".into(), Value::str(&self.version)),
            ("Major".into(), Value::str(&self.major)),
            ("Minor".into(), Value::str(&self.minor)),
        ]
    }
}

/// A copy of `.Capabilities.KubeVersion` passed to a function (Go's `interface{}`): the same
/// fields, but not addressable, so `String` (a method of its pointer) no longer applies and it
/// prints as a struct, `{v1.35.0 v1.35.0 1 35}`.
#[derive(Clone, Debug)]
struct KubeVersionCopy(KubeVersion);

impl Object for KubeVersionCopy {
    fn type_name(&self) -> String {
        self.0.type_name()
    }
    fn kind(&self) -> &'static str {
        self.0.kind()
    }
    fn field(&self, name: &str) -> Option<Value> {
        self.0.field(name)
    }
    fn fmt_go(&self) -> String {
        self.0.struct_form()
    }
    fn to_data(&self) -> Value {
        self.0.to_data()
    }
    fn json_fields(&self) -> Option<Vec<(String, Value)>> {
        Some(self.0.json())
    }
}

impl Object for KubeVersion {
    fn type_name(&self) -> String {
        "common.KubeVersion".into()
    }
    fn kind(&self) -> &'static str {
        "struct"
    }
    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "Version" | "GitVersion" => Some(Value::str(&self.version)),
            "Major" => Some(Value::str(&self.major)),
            "Minor" => Some(Value::str(&self.minor)),
            "String" => Some(Value::str(&self.display)),
            _ => None,
        }
    }
    /// `%v` of the struct (a copy of it reaches `fmt`, without `String`).
    fn fmt_go(&self) -> String {
        self.struct_form()
    }
    /// Reached through `.Capabilities` it is addressable: an action prints its `String()`.
    fn fmt_print(&self) -> String {
        self.display.clone()
    }
    fn boxed(&self) -> Option<Value> {
        Some(Value::Object(Rc::new(KubeVersionCopy(self.clone()))))
    }
    fn json_fields(&self) -> Option<Vec<(String, Value)>> {
        Some(self.json())
    }
    fn to_data(&self) -> Value {
        let mut m = Map::new();
        m.insert("Version".into(), Value::str(&self.version));
        m.insert("Major".into(), Value::str(&self.major));
        m.insert("Minor".into(), Value::str(&self.minor));
        Value::map(m)
    }
}

/// `.Capabilities.APIVersions`: a list of group/versions (and `group/version/Kind`s) with
/// `Has`, which tests exact membership.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VersionSet(pub Vec<String>);

impl VersionSet {
    /// `Has`.
    pub fn has(&self, v: &str) -> bool {
        self.0.iter().any(|x| x == v)
    }
}

impl Object for VersionSet {
    fn type_name(&self) -> String {
        "common.VersionSet".into()
    }
    fn kind(&self) -> &'static str {
        "slice"
    }
    fn field(&self, _name: &str) -> Option<Value> {
        None
    }
    fn method(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        if name != "Has" {
            return None;
        }
        Some(match args {
            [a] => Args::string(a).map(|s| Value::Bool(self.has(s))),
            _ => Err(format!("wrong number of args for Has: want 1 got {}", args.len())),
        })
    }
    fn fmt_go(&self) -> String {
        format!("[{}]", self.0.join(" "))
    }
    fn to_data(&self) -> Value {
        Value::list(self.0.iter().map(|s| Value::str(s)).collect())
    }
}

/// `.Capabilities.HelmVersion` (helm v4.1.4's build information).
#[derive(Clone, Debug)]
pub struct HelmVersion;

const HELM_VERSION: [(&str, &str, &str); 5] = [
    ("Version", "version", "v4.1.4"),
    ("GitCommit", "git_commit", "05fa37973dc9e42b76e1d2883494c87174b6074f"),
    ("GitTreeState", "git_tree_state", "clean"),
    ("GoVersion", "go_version", "go1.25.9"),
    ("KubeClientVersion", "kube_client_version", "v1.35"),
];

impl Object for HelmVersion {
    fn type_name(&self) -> String {
        "version.BuildInfo".into()
    }
    fn kind(&self) -> &'static str {
        "struct"
    }
    fn field(&self, name: &str) -> Option<Value> {
        HELM_VERSION
            .iter()
            .find(|(f, _, _)| *f == name)
            .map(|(_, _, v)| Value::str(v))
    }
    fn fmt_go(&self) -> String {
        let v: Vec<&str> = HELM_VERSION.iter().map(|(_, _, v)| *v).collect();
        format!("{{{}}}", v.join(" "))
    }
    fn to_data(&self) -> Value {
        Value::map(
            HELM_VERSION
                .iter()
                .map(|(_, k, v)| (k.to_string(), Value::str(v)))
                .collect(),
        )
    }
    fn json_fields(&self) -> Option<Vec<(String, Value)>> {
        Some(
            HELM_VERSION
                .iter()
                .map(|(_, k, v)| (k.to_string(), Value::str(v)))
                .collect(),
        )
    }
}

/// `.Capabilities`.
#[derive(Clone, Debug)]
pub struct Capabilities {
    /// `KubeVersion`.
    pub kube_version: KubeVersion,
    /// `APIVersions`.
    pub api_versions: VersionSet,
}

impl Capabilities {
    /// As `helm template` builds them: `--kube-version` (default v1.35.0) and the default
    /// API versions followed by the `--api-versions` given.
    pub fn new(kube_version: Option<&str>, extra_api_versions: &[String]) -> Result<Capabilities, String> {
        let kube_version = KubeVersion::parse(kube_version.unwrap_or(DEFAULT_KUBE_VERSION))?;
        let mut api: Vec<String> = DEFAULT_API_VERSIONS.iter().map(|s| s.to_string()).collect();
        api.extend(extra_api_versions.iter().cloned());
        Ok(Capabilities {
            kube_version,
            api_versions: VersionSet(api),
        })
    }

    /// This object as a template value.
    pub fn into_value(self) -> Value {
        Value::Object(Rc::new(self))
    }

    /// Checks a chart's `kubeVersion` constraint: `chart requires kubeVersion: >=1.25.0-0
    /// which is incompatible with Kubernetes v1.20.0`.
    pub fn check_kube_version(&self, md: &Metadata) -> Result<(), String> {
        if md.kube_version.is_empty() {
            return Ok(());
        }
        // Checked against the version stripped to its numbers (`v1.30.0` for
        // `1.30.0-eks-123`), named in the error as given.
        let ok = crate::semver::Version::parse(&self.kube_version.display)
            .ok()
            .zip(crate::semver::Constraints::parse(&md.kube_version).ok())
            .is_some_and(|(v, c)| c.check(&v));
        if ok {
            Ok(())
        } else {
            Err(format!(
                "chart requires kubeVersion: {} which is incompatible with Kubernetes {}",
                md.kube_version, self.kube_version.version
            ))
        }
    }
}

impl Object for Capabilities {
    fn type_name(&self) -> String {
        "*common.Capabilities".into()
    }
    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "KubeVersion" => Some(Value::Object(Rc::new(self.kube_version.clone()))),
            "APIVersions" => Some(Value::Object(Rc::new(self.api_versions.clone()))),
            "HelmVersion" => Some(Value::Object(Rc::new(HelmVersion))),
            _ => None,
        }
    }
    /// `%v` of the pointer: `&{...}`, its `KubeVersion` field as a struct.
    fn fmt_go(&self) -> String {
        format!("&{}", self.fmt_print())
    }
    /// An action prints what the pointer points to.
    fn fmt_print(&self) -> String {
        format!(
            "{{{} {} {}}}",
            self.kube_version.struct_form(),
            self.api_versions.fmt_go(),
            HelmVersion.fmt_go()
        )
    }
    /// encoding/json's fields in declaration order, each struct in its own order.
    fn json_fields(&self) -> Option<Vec<(String, Value)>> {
        Some(vec![
            (
                "KubeVersion".into(),
                Value::Object(Rc::new(KubeVersionCopy(self.kube_version.clone()))),
            ),
            ("APIVersions".into(), self.api_versions.to_data()),
            ("HelmVersion".into(), Value::Object(Rc::new(HelmVersion))),
        ])
    }
    fn to_data(&self) -> Value {
        let mut m = Map::new();
        m.insert("KubeVersion".into(), self.kube_version.to_data());
        m.insert("APIVersions".into(), self.api_versions.to_data());
        m.insert("HelmVersion".into(), HelmVersion.to_data());
        Value::map(m)
    }
}

fn strings(v: &[String]) -> Value {
    Value::list(v.iter().map(|s| Value::str(s)).collect())
}

/// A Go `map[string]string` (`.Chart.Annotations`, the result of sprig's `split`), nil for
/// `None` (printed `map[]`, `null` in `toJson`). A missing key reads as "" (a string's zero
/// value); sprig's map functions, which take a `map[string]interface{}`, refuse it as they do
/// in helm.
#[derive(Debug)]
pub(crate) struct StringMap(pub(crate) Option<Map>);

impl Object for StringMap {
    fn type_name(&self) -> String {
        "map[string]string".into()
    }
    fn kind(&self) -> &'static str {
        "map"
    }
    fn field(&self, name: &str) -> Option<Value> {
        Some(
            self.0
                .as_ref()
                .and_then(|m| m.get(name).cloned())
                .unwrap_or_else(|| Value::str("")),
        )
    }
    fn fmt_go(&self) -> String {
        let items: Vec<String> = self
            .0
            .iter()
            .flatten()
            .map(|(k, v)| format!("{k}:{}", ballast_gotemplate::fmt::sprint_value(v)))
            .collect();
        format!("map[{}]", items.join(" "))
    }
    fn fmt_go_sharp(&self) -> Option<String> {
        let Some(m) = &self.0 else {
            return Some("map[string]string(nil)".into());
        };
        let items: Vec<String> = m
            .iter()
            .map(|(k, v)| {
                let v = ballast_gotemplate::fmt::sprint_value(v);
                format!(
                    "{}:{}",
                    ballast_gotemplate::fmt::quote(k),
                    ballast_gotemplate::fmt::quote(&v)
                )
            })
            .collect();
        Some(format!("map[string]string{{{}}}", items.join(", ")))
    }
    fn to_data(&self) -> Value {
        self.0.as_ref().map_or(Value::Nil, |m| Value::map(m.clone()))
    }
    fn entries(&self) -> Option<Map> {
        Some(self.0.clone().unwrap_or_default())
    }
    fn zero_element(&self) -> Option<Value> {
        Some(Value::str(""))
    }
}

/// `.Chart`: the metadata as a map with Go field names (helm v4 gives templates a
/// `map[string]interface{}`), plus `IsRoot`. Dependencies and maintainers are maps too;
/// annotations are a [`StringMap`].
pub fn chart_object(md: &Metadata, is_root: bool) -> Value {
    let s = |x: &str| Value::str(x);
    let mut m = Map::new();
    m.insert("APIVersion".into(), s(&md.api_version));
    let ann: Option<Map> = md
        .annotations
        .as_ref()
        .map(|a| a.iter().map(|(k, v)| (k.clone(), s(v))).collect());
    m.insert("Annotations".into(), Value::Object(Rc::new(StringMap(ann))));
    m.insert("AppVersion".into(), s(&md.app_version));
    m.insert("Condition".into(), s(&md.condition));
    let deps = md
        .dependencies
        .iter()
        .map(|d| {
            let mut dm = Map::new();
            dm.insert("Alias".into(), s(&d.alias));
            dm.insert("Condition".into(), s(&d.condition));
            dm.insert("Enabled".into(), Value::Bool(d.enabled));
            dm.insert("ImportValues".into(), Value::list(d.import_values.clone()));
            dm.insert("Name".into(), s(&d.name));
            dm.insert("Repository".into(), s(&d.repository));
            dm.insert("Tags".into(), strings(&d.tags));
            dm.insert("Version".into(), s(&d.version));
            Value::map(dm)
        })
        .collect();
    m.insert("Dependencies".into(), Value::list(deps));
    m.insert("Deprecated".into(), Value::Bool(md.deprecated));
    m.insert("Description".into(), s(&md.description));
    m.insert("Home".into(), s(&md.home));
    m.insert("Icon".into(), s(&md.icon));
    m.insert("IsRoot".into(), Value::Bool(is_root));
    m.insert("Keywords".into(), strings(&md.keywords));
    m.insert("KubeVersion".into(), s(&md.kube_version));
    let maint = md
        .maintainers
        .iter()
        .map(|x| {
            let mut mm = Map::new();
            mm.insert("Email".into(), s(&x.email));
            mm.insert("Name".into(), s(&x.name));
            mm.insert("URL".into(), s(&x.url));
            Value::map(mm)
        })
        .collect();
    m.insert("Maintainers".into(), Value::list(maint));
    m.insert("Name".into(), s(&md.name));
    m.insert("Sources".into(), strings(&md.sources));
    m.insert("Tags".into(), s(&md.tags));
    m.insert("Type".into(), s(&md.chart_type));
    m.insert("Version".into(), s(&md.version));
    Value::map(m)
}

/// `.Release` as `helm template` gives it: `Name`, `Namespace`, `IsInstall`/`IsUpgrade`,
/// `Revision` (an `int`), `Service` (`Helm`).
pub fn release_object(name: &str, namespace: &str, is_upgrade: bool, revision: i64) -> Value {
    let mut m = Map::new();
    m.insert("IsInstall".into(), Value::Bool(!is_upgrade));
    m.insert("IsUpgrade".into(), Value::Bool(is_upgrade));
    m.insert("Name".into(), Value::str(name));
    m.insert("Namespace".into(), Value::str(namespace));
    m.insert("Revision".into(), Value::Int(revision));
    m.insert("Service".into(), Value::str("Helm"));
    Value::map(m)
}

/// `.Template`: `Name` (the executing file, e.g. `mychart/templates/a.yaml`) and `BasePath`
/// (`mychart/templates`).
pub fn template_object(name: &str, base_path: &str) -> Value {
    let mut m = Map::new();
    m.insert("BasePath".into(), Value::str(base_path));
    m.insert("Name".into(), Value::str(name));
    Value::map(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kube_versions_as_helm() {
        let cases = [
            ("1.19", "v1.19", "1", "19", "v1.19"),
            ("v1.30.2", "v1.30.2", "1", "30", "v1.30.2"),
            ("1.30.2-gke.1", "v1.30.2-gke.1", "1", "30", "v1.30.2"),
            ("1.2.3.4", "v1.2.3.4", "1", "2", "v1.2.3.4"),
            ("v1.30.0+abc", "v1.30.0+abc", "1", "30", "v1.30.0"),
            ("v1.35.0", "v1.35.0", "1", "35", "v1.35.0"),
        ];
        for (input, version, major, minor, display) in cases {
            let k = KubeVersion::parse(input).unwrap();
            assert_eq!(
                (
                    k.version.as_str(),
                    k.major.as_str(),
                    k.minor.as_str(),
                    k.display.as_str()
                ),
                (version, major, minor, display)
            );
        }
        assert_eq!(
            KubeVersion::parse("1").unwrap_err(),
            "invalid kube version '1': illegal version string \"1\""
        );
        assert_eq!(
            KubeVersion::parse("foo").unwrap_err(),
            "invalid kube version 'foo': could not parse \"foo\" as version"
        );
        assert_eq!(
            KubeVersion::parse("01.02.03").unwrap_err(),
            "invalid kube version '01.02.03': illegal zero-prefixed version component \"01\" in \"01.02.03\""
        );
    }

    #[test]
    fn capabilities_defaults() {
        let c = Capabilities::new(None, &["apps/v1/Deployment".into()]).unwrap();
        assert_eq!(DEFAULT_API_VERSIONS.len(), 57);
        // An action prints `String()`; `%v` of the copy a function gets, the struct.
        assert_eq!(c.kube_version.fmt_print(), "v1.35.0");
        assert_eq!(c.kube_version.fmt_go(), "{v1.35.0 v1.35.0 1 35}");
        let gke = KubeVersion::parse("1.30.2-gke.1").unwrap();
        assert_eq!(gke.fmt_go(), "{v1.30.2-gke.1 v1.30.2 1 30}");
        let api = c.api_versions.clone();
        assert!(api.method("Has", &[Value::str("apps/v1")]).unwrap().unwrap().truthy());
        assert!(api.has("apps/v1/Deployment"));
        assert!(!api.has("apps/v2"));
        assert_eq!(
            HelmVersion.fmt_go(),
            "{v4.1.4 05fa37973dc9e42b76e1d2883494c87174b6074f clean go1.25.9 v1.35}"
        );
        let md = Metadata {
            kube_version: ">=1.40.0".into(),
            ..Metadata::default()
        };
        assert_eq!(
            c.check_kube_version(&md).unwrap_err(),
            "chart requires kubeVersion: >=1.40.0 which is incompatible with Kubernetes v1.35.0"
        );
        let old = Capabilities::new(Some("1.19"), &[]).unwrap();
        let md = Metadata {
            kube_version: ">=1.20.0".into(),
            ..Metadata::default()
        };
        assert_eq!(
            old.check_kube_version(&md).unwrap_err(),
            "chart requires kubeVersion: >=1.20.0 which is incompatible with Kubernetes v1.19"
        );
        let md = Metadata {
            kube_version: ">=1.25.0-0".into(),
            ..Metadata::default()
        };
        assert!(c.check_kube_version(&md).is_ok());
        // A pre-release or build suffix is not compared, but is named (as helm v4.1.4 does).
        let rc = Capabilities::new(Some("1.29.0-rc.1"), &[]).unwrap();
        let md = Metadata {
            kube_version: ">=1.25.0".into(),
            ..Metadata::default()
        };
        assert!(rc.check_kube_version(&md).is_ok());
        let eks = Capabilities::new(Some("1.30.0-eks-123"), &[]).unwrap();
        let md = Metadata {
            kube_version: "<1.30".into(),
            ..Metadata::default()
        };
        assert_eq!(
            eks.check_kube_version(&md).unwrap_err(),
            "chart requires kubeVersion: <1.30 which is incompatible with Kubernetes v1.30.0-eks-123"
        );
        assert!(
            Capabilities::new(Some("1.25.x"), &[])
                .unwrap()
                .check_kube_version(&md)
                .is_ok()
        );
    }

    #[test]
    fn chart_release_template_objects() {
        let md = Metadata {
            name: "p".into(),
            version: "0.1.0".into(),
            api_version: "v2".into(),
            ..Metadata::default()
        };
        let c = chart_object(&md, true);
        assert_eq!(
            ballast_gotemplate::fmt::sprint_value(&c),
            "map[APIVersion:v2 Annotations:map[] AppVersion: Condition: Dependencies:[] Deprecated:false Description: Home: Icon: IsRoot:true Keywords:[] KubeVersion: Maintainers:[] Name:p Sources:[] Tags: Type: Version:0.1.0]"
        );
        assert_eq!(
            ballast_gotemplate::fmt::sprint_value(&release_object("x", "default", false, 1)),
            "map[IsInstall:true IsUpgrade:false Name:x Namespace:default Revision:1 Service:Helm]"
        );
        assert_eq!(
            ballast_gotemplate::fmt::sprint_value(&template_object("p/templates/t.yaml", "p/templates")),
            "map[BasePath:p/templates Name:p/templates/t.yaml]"
        );
    }
}
