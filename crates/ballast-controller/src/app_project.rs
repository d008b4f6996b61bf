//! Argo CD's `AppProject` restrictions, enforced as Argo CD enforces them
//! (`pkg/apis/application/v1alpha1` `IsSourcePermitted`, `IsDestinationPermitted`,
//! `IsGroupKindNamePermitted`; `util/argo` `ValidatePermissions`; `controller/sync.go`).
//!
//! - `sourceRepos`: globs (`/` separates segments) over the normalised repository URL; a `!`
//!   pattern that matches refuses the source; a `!` pattern that does not match counts as a match.
//! - `destinations`: `server` or `name` and `namespace` globs (no separator); `!` patterns refuse.
//! - kinds: namespaced kinds are allowed when `namespaceResourceWhitelist` is absent (none when
//!   it is an empty list) and not in `namespaceResourceBlacklist`; cluster-scoped kinds only
//!   when in `clusterResourceWhitelist` and not in `clusterResourceBlacklist`.
//! - the project named `default`, when absent, is the one Argo CD creates: every source, every
//!   destination, every cluster-scoped kind.
//!
//! Messages are Argo CD's, word for word.

use ballast_api::argo::{AppProject, AppProjectSpec, Application, Destination, ResourceRestriction};
use kube::api::Api;

/// The in-cluster destination's server URL.
pub const IN_CLUSTER_SERVER: &str = "https://kubernetes.default.svc";
/// The in-cluster destination's name.
pub const IN_CLUSTER_NAME: &str = "in-cluster";

/// The `default` project as Argo CD creates it when absent.
pub fn default_project(namespace: &str) -> AppProject {
    let mut p = AppProject::default();
    p.metadata.name = Some("default".into());
    p.metadata.namespace = Some(namespace.into());
    p.spec = AppProjectSpec {
        source_repos: vec!["*".into()],
        destinations: vec![Destination {
            server: Some("*".into()),
            name: None,
            namespace: Some("*".into()),
        }],
        cluster_resource_whitelist: vec![ResourceRestriction {
            group: "*".into(),
            kind: "*".into(),
            name: None,
        }],
        ..Default::default()
    };
    p
}

/// The Application's project, read from `namespace` (the control plane's): `Err` with Argo
/// CD's message when it does not exist (the `default` project always exists).
pub async fn load(client: &kube::Client, app: &Application, namespace: &str) -> Result<AppProject, String> {
    let name = if app.spec.project.is_empty() {
        "default"
    } else {
        app.spec.project.as_str()
    };
    let api: Api<AppProject> = Api::namespaced(client.clone(), namespace);
    // A cluster that does not serve AppProjects answers 404 for the kind: no project exists.
    let found = match api.get_opt(name).await {
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(None),
        other => other,
    };
    match found {
        Ok(Some(p)) => Ok(p),
        Ok(None) if name == "default" => Ok(default_project(namespace)),
        Ok(None) => Err(format!(
            "Application referencing project {} which does not exist",
            app.spec.project
        )),
        Err(e) => Err(format!("failed to read project {name}: {e}")),
    }
}

/// The Applications among `apps` that use `project` (by name, the project living in their
/// namespace or in Argo CD's `argocd`): a change of the project concerns them.
pub fn applications_of(
    apps: &[std::sync::Arc<Application>],
    project: &AppProject,
) -> Vec<kube::runtime::reflector::ObjectRef<Application>> {
    let name = project.metadata.name.as_deref().unwrap_or_default();
    let ns = project.metadata.namespace.as_deref().unwrap_or_default();
    apps.iter()
        .filter(|a| {
            let uses = if a.spec.project.is_empty() {
                "default"
            } else {
                a.spec.project.as_str()
            };
            uses == name && (a.metadata.namespace.as_deref() == Some(ns) || ns == "argocd")
        })
        .map(|a| kube::runtime::reflector::ObjectRef::from_obj(a.as_ref()))
        .collect()
}

/// AppProject fields that restrict Applications but that Ballast does not enforce, named as
/// `AppProject <name> spec.<field>` (reported with the Application's unsupported fields).
pub fn unenforced(project: &AppProject) -> Vec<String> {
    const RESTRICTING: [&str; 6] = [
        "sourceNamespaces",
        "permitOnlyProjectScopedClusters",
        "signatureKeys",
        "sourceIntegrity",
        "destinationServiceAccounts",
        "orphanedResources",
    ];
    let name = project.metadata.name.as_deref().unwrap_or("default");
    project
        .spec
        .extra
        .iter()
        .filter(|(k, v)| RESTRICTING.contains(&k.as_str()) && !v.is_null() && **v != serde_json::Value::Bool(false))
        .map(|(k, _)| format!("AppProject {name} spec.{k}"))
        .collect()
}

/// A gobwas glob match, with `/` as separator or none; an invalid pattern matches nothing.
pub fn glob(pattern: &str, value: &str, slash_separates: bool) -> bool {
    if pattern == "*" {
        return true;
    }
    ballast_helm::files::glob_regex_with(pattern, slash_separates.then_some('/')).is_some_and(|r| r.is_match(value))
}

/// Argo CD's `globMatch` with negation: a `!pattern` holds when the value does not match.
fn glob_match(pattern: &str, value: &str, slash_separates: bool) -> bool {
    match pattern.strip_prefix('!') {
        Some(p) => !glob(p, value, slash_separates),
        None => glob(pattern, value, slash_separates),
    }
}

/// A repository URL normalised as Argo CD compares them: lower case, `user@host:path` as
/// `user@host/path`, no `.git` suffix, no `ssh://` prefix.
pub fn normalize_repo_url(url: &str) -> String {
    let mut u = url.trim().to_lowercase();
    if !u.contains("://")
        && let Some((user_host, path)) = u.split_once(':')
        && user_host.contains('@')
    {
        u = format!("{user_host}/{path}");
    }
    let u = u.strip_suffix(".git").unwrap_or(&u);
    u.strip_prefix("ssh://").unwrap_or(u).to_string()
}

/// Whether the project allows `repo_url` as a source.
pub fn source_permitted(project: &AppProjectSpec, repo_url: &str) -> bool {
    let src = normalize_repo_url(repo_url);
    let mut any = false;
    for pattern in &project.source_repos {
        let normalized = match pattern.strip_prefix('!') {
            Some(p) => format!("!{}", normalize_repo_url(p)),
            None => normalize_repo_url(pattern),
        };
        if glob_match(&normalized, &src, true) {
            any = true;
        } else if normalized.starts_with('!') {
            return false;
        }
    }
    any
}

/// The in-cluster destination as `(server, name)`.
pub const IN_CLUSTER: (&str, &str) = (IN_CLUSTER_SERVER, IN_CLUSTER_NAME);

/// Whether the project allows `namespace` on the destination cluster (`server`, `name`).
pub fn destination_permitted(project: &AppProjectSpec, server: &str, name: &str, namespace: &str) -> bool {
    let mut any = false;
    for item in &project.destinations {
        let (iname, iserver, ins) = (
            item.name.as_deref().unwrap_or(""),
            item.server.as_deref().unwrap_or(""),
            item.namespace.as_deref().unwrap_or(""),
        );
        let name_matched = !name.is_empty() && glob_match(iname, name, false);
        let server_matched = !server.is_empty() && glob_match(iserver, server, false);
        let ns_matched = glob_match(ins, namespace, false);
        if (server_matched || name_matched) && ns_matched {
            any = true;
        } else if (!name_matched && iname.starts_with('!'))
            || (!server_matched && iserver.starts_with('!') && ns_matched)
            || (!ns_matched && ins.starts_with('!') && server_matched)
        {
            return false;
        }
    }
    any
}

fn in_list(group: &str, kind: &str, name: Option<&str>, list: &[ResourceRestriction]) -> bool {
    list.iter().any(|item| {
        glob(&item.kind, kind, true)
            && glob(&item.group, group, true)
            && match (name, item.name.as_deref().filter(|n| !n.is_empty())) {
                (Some(n), Some(pattern)) => glob(pattern, n, true),
                _ => true,
            }
    })
}

/// Whether the project allows an object of `group`/`kind` named `name`, namespaced or not.
pub fn kind_permitted(project: &AppProjectSpec, group: &str, kind: &str, name: &str, namespaced: bool) -> bool {
    if namespaced {
        let white = project
            .namespace_resource_whitelist
            .as_ref()
            .is_none_or(|w| in_list(group, kind, None, w));
        return white && !in_list(group, kind, None, &project.namespace_resource_blacklist);
    }
    in_list(group, kind, Some(name), &project.cluster_resource_whitelist)
        && !in_list(group, kind, Some(name), &project.cluster_resource_blacklist)
}

/// Argo CD's `InvalidSpecError` messages for an Application its project forbids (source
/// repositories, then the destination on `cluster`, its resolved `(server, name)`); empty when
/// allowed.
pub fn validate(app: &Application, project: &AppProject, cluster: (&str, &str)) -> Vec<String> {
    let name = project.metadata.name.as_deref().unwrap_or("default");
    let mut out = Vec::new();
    let sources = app.spec.source.iter().chain(app.spec.sources.iter());
    for s in sources {
        if !source_permitted(&project.spec, &s.repo_url) {
            out.push(format!(
                "application repo {} is not permitted in project '{name}'",
                s.repo_url
            ));
        }
    }
    let dst = &app.spec.destination;
    let (server, cluster) = (cluster.0.to_string(), cluster.1.to_string());
    let namespace = dst.namespace.as_deref().unwrap_or("");
    if !destination_permitted(&project.spec, &server, &cluster, namespace) {
        let shown = if dst.name.as_deref().is_some_and(|n| !n.is_empty()) {
            cluster
        } else {
            server
        };
        out.push(format!(
            "application destination server '{shown}' and namespace '{namespace}' do not match any of the allowed destinations in project '{name}'"
        ));
    }
    out
}

/// Why the project refuses one object to sync (Argo CD's permission validator), or `None`.
pub fn object_refused(
    project: &AppProject,
    group: &str,
    kind: &str,
    name: &str,
    namespace: Option<&str>,
    cluster: (&str, &str),
) -> Option<String> {
    let pname = project.metadata.name.as_deref().unwrap_or("default");
    if !kind_permitted(&project.spec, group, kind, name, namespace.is_some()) {
        return Some(format!("resource {group}:{kind} is not permitted in project {pname}"));
    }
    if let Some(ns) = namespace
        && !destination_permitted(&project.spec, cluster.0, cluster.1, ns)
    {
        return Some(format!("namespace {ns} is not permitted in project '{pname}'"));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(v: serde_json::Value) -> AppProjectSpec {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn source_repos_globs_and_negation_as_argo_cd() {
        let p = spec(json!({"sourceRepos": ["https://git.example/team/*"]}));
        assert!(source_permitted(&p, "https://git.example/team/app.git"));
        assert!(source_permitted(&p, "HTTPS://git.example/Team/app"));
        assert!(
            !source_permitted(&p, "https://git.example/team/sub/app"),
            "* stops at /"
        );
        assert!(!source_permitted(&p, "https://git.example/other/app"));
        let p = spec(json!({"sourceRepos": ["https://git.example/**"]}));
        assert!(source_permitted(&p, "https://git.example/team/sub/app"));
        // A negation alone: everything else is allowed (a non-matching `!` counts as a match).
        let p = spec(json!({"sourceRepos": ["!https://git.example/secret/*"]}));
        assert!(source_permitted(&p, "https://git.example/team/app"));
        assert!(!source_permitted(&p, "https://git.example/secret/app"));
        let p = spec(json!({"sourceRepos": ["*", "!https://git.example/secret/*"]}));
        assert!(!source_permitted(&p, "https://git.example/secret/app"));
        assert!(source_permitted(&p, "git@git.example:team/app.git"));
        assert!(
            !source_permitted(&spec(json!({})), "https://git.example/a"),
            "no sourceRepos: none"
        );
        assert_eq!(normalize_repo_url("git@Host:Org/Repo.git"), "git@host/org/repo");
    }

    #[test]
    fn destinations_server_or_name_and_namespace_with_negation() {
        let p = spec(json!({"destinations": [{"server": "https://kubernetes.default.svc", "namespace": "team-*"}]}));
        assert!(destination_permitted(&p, IN_CLUSTER_SERVER, IN_CLUSTER_NAME, "team-a"));
        assert!(!destination_permitted(&p, IN_CLUSTER_SERVER, IN_CLUSTER_NAME, "prod"));
        let p = spec(json!({"destinations": [{"name": "in-*", "namespace": "*"}]}));
        assert!(destination_permitted(&p, IN_CLUSTER_SERVER, IN_CLUSTER_NAME, "x"));
        let p = spec(json!({"destinations": [
            {"server": "*", "namespace": "*"},
            {"server": "*", "namespace": "!kube-system"}]}));
        assert!(destination_permitted(&p, IN_CLUSTER_SERVER, IN_CLUSTER_NAME, "x"));
        assert!(!destination_permitted(
            &p,
            IN_CLUSTER_SERVER,
            IN_CLUSTER_NAME,
            "kube-system"
        ));
        assert!(!destination_permitted(
            &spec(json!({})),
            IN_CLUSTER_SERVER,
            IN_CLUSTER_NAME,
            "x"
        ));
    }

    #[test]
    fn kinds_by_white_and_black_lists() {
        let d = default_project("argocd").spec;
        assert!(kind_permitted(&d, "", "Namespace", "x", false));
        assert!(kind_permitted(&d, "apps", "Deployment", "x", true));
        let p = spec(json!({"namespaceResourceBlacklist": [{"group": "", "kind": "Secret"}]}));
        assert!(!kind_permitted(&p, "", "Secret", "s", true));
        assert!(kind_permitted(&p, "", "ConfigMap", "c", true));
        assert!(
            !kind_permitted(&p, "rbac.authorization.k8s.io", "ClusterRole", "r", false),
            "no cluster whitelist"
        );
        let p = spec(json!({"namespaceResourceWhitelist": []}));
        assert!(
            !kind_permitted(&p, "", "ConfigMap", "c", true),
            "an empty whitelist allows none"
        );
        let p = spec(json!({"namespaceResourceWhitelist": [{"group": "apps", "kind": "*"}],
                            "clusterResourceWhitelist": [{"group": "*", "kind": "Namespace", "name": "team-*"}]}));
        assert!(kind_permitted(&p, "apps", "Deployment", "d", true));
        assert!(!kind_permitted(&p, "", "ConfigMap", "c", true));
        assert!(kind_permitted(&p, "", "Namespace", "team-a", false));
        assert!(!kind_permitted(&p, "", "Namespace", "prod", false));
    }

    #[test]
    fn unenforced_restrictions_are_named() {
        let mut p = AppProject::default();
        p.metadata.name = Some("p".into());
        p.spec = spec(json!({"sourceRepos": ["*"], "sourceNamespaces": ["team-*"],
                             "permitOnlyProjectScopedClusters": false, "roles": [{"name": "r"}]}));
        assert_eq!(unenforced(&p), ["AppProject p spec.sourceNamespaces"]);
    }

    #[test]
    fn a_project_concerns_the_applications_using_it() {
        let app = |ns: &str, name: &str, project: &str| {
            std::sync::Arc::new(
                serde_json::from_value::<Application>(json!({
                    "metadata": {"name": name, "namespace": ns}, "spec": {"project": project}}))
                .unwrap(),
            )
        };
        let apps = [app("a", "one", "p"), app("a", "two", ""), app("b", "three", "p")];
        let mut p = AppProject::default();
        p.metadata.name = Some("p".into());
        p.metadata.namespace = Some("a".into());
        let names: Vec<String> = applications_of(&apps, &p).into_iter().map(|r| r.name).collect();
        assert_eq!(names, ["one"]);
        p.metadata.name = Some("default".into());
        p.metadata.namespace = Some("argocd".into());
        let names: Vec<String> = applications_of(&apps, &p).into_iter().map(|r| r.name).collect();
        assert_eq!(names, ["two"], "an empty project is `default`");
    }

    #[test]
    fn messages_are_argo_cds() {
        let app: Application = serde_json::from_value(json!({
            "metadata": {"name": "a"},
            "spec": {"project": "p", "source": {"repoURL": "https://git.example/x"},
                     "destination": {"server": "https://kubernetes.default.svc", "namespace": "prod"}}
        }))
        .unwrap();
        let mut p = AppProject::default();
        p.metadata.name = Some("p".into());
        p.spec = spec(json!({"sourceRepos": ["https://other/*"],
                             "destinations": [{"server": "*", "namespace": "dev"}]}));
        assert_eq!(
            validate(&app, &p, IN_CLUSTER),
            [
                "application repo https://git.example/x is not permitted in project 'p'",
                "application destination server 'https://kubernetes.default.svc' and namespace 'prod' do not match any of the allowed destinations in project 'p'"
            ]
        );
        assert_eq!(
            object_refused(&p, "", "Namespace", "n", None, IN_CLUSTER).as_deref(),
            Some("resource :Namespace is not permitted in project p")
        );
        assert_eq!(
            object_refused(&p, "", "ConfigMap", "c", Some("kube-system"), IN_CLUSTER).as_deref(),
            Some("namespace kube-system is not permitted in project 'p'")
        );
        assert_eq!(object_refused(&p, "", "ConfigMap", "c", Some("dev"), IN_CLUSTER), None);
    }
}
