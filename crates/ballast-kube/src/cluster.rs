//! The cluster handle: discovery snapshot plus get / apply / delete.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use ballast_core::{Manifest, ObjectRef, Scope, Scopes};
use futures::StreamExt;
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams, PostParams, PropagationPolicy};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::discovery::ApiResource;
use kube::{Client, Config};
use serde_json::Value;

use crate::error::KubeError;

/// Objects per LIST page.
pub const LIST_PAGE: u32 = 500;

/// Discovery requests in flight at once.
const DISCOVERY_CONCURRENCY: usize = 4;

/// The field manager Ballast applies with.
pub const FIELD_MANAGER: &str = "ballast";

/// How to find the cluster.
#[derive(Clone, Debug, Default)]
pub struct ConnectOptions {
    /// Kubeconfig file; default: `$KUBECONFIG`, then `~/.kube/config`, then in-cluster.
    pub kubeconfig: Option<PathBuf>,
    /// Context in the kubeconfig; default: its current context.
    pub context: Option<String>,
    /// Client-side rate limit and adaptive in-flight limit.
    pub limits: crate::flow_control::ClientLimits,
}

/// Reads a kubeconfig file, or — like kubectl with `KUBECONFIG=a:b` — a list of them separated
/// by the platform's path separator, merged in order (the first file to set a value wins;
/// files in the list that do not exist are skipped).
fn read_kubeconfig(path: &std::path::Path) -> Result<Kubeconfig, KubeError> {
    let read = |p: &std::path::Path| {
        Kubeconfig::read_from(p).map_err(|e| KubeError::Connect(format!("kubeconfig {}: {e}", p.display())))
    };
    let paths: Vec<PathBuf> = std::env::split_paths(path.as_os_str()).collect();
    if path.is_file() || paths.len() < 2 {
        return read(path);
    }
    let mut merged: Option<Kubeconfig> = None;
    for p in paths.iter().filter(|p| p.is_file()) {
        let next = read(p)?;
        merged = Some(match merged {
            None => next,
            Some(kc) => kc
                .merge(next)
                .map_err(|e| KubeError::Connect(format!("kubeconfig {}: {e}", p.display())))?,
        });
    }
    merged.ok_or_else(|| KubeError::Connect(format!("kubeconfig {}: none of these files exists", path.display())))
}

#[derive(Clone, Default)]
struct Resources {
    by_gvk: HashMap<(String, String, String), (ApiResource, Scope)>,
    by_gk: HashMap<(String, String), Scope>,
    /// Namespaced kinds that can be listed and deleted (stored objects, not read-only views such
    /// as metrics), one version per group and kind (the group's
    /// preferred version first seen in discovery order), for looking into a namespace.
    namespaced_listable: Vec<(String, String, String)>,
    /// The server's `gitVersion` (`/version`), read with the discovery.
    version: Option<String>,
}

/// A connected cluster with a discovery snapshot. Cheap to clone (shared state).
#[derive(Clone)]
pub struct Cluster {
    client: Client,
    default_namespace: String,
    resources: Arc<RwLock<Resources>>,
    writes: Arc<std::sync::atomic::AtomicU64>,
    dry_runs: Arc<std::sync::atomic::AtomicU64>,
    requests: crate::requests::RequestCounts,
    flow: crate::flow_stats::FlowStats,
    field_manager: Arc<str>,
}

impl Cluster {
    /// Connects and runs discovery.
    pub async fn connect(options: &ConnectOptions) -> Result<Self, KubeError> {
        let kc_options = KubeConfigOptions {
            context: options.context.clone(),
            ..Default::default()
        };
        let config = match &options.kubeconfig {
            Some(path) => {
                let kc = read_kubeconfig(path)?;
                Config::from_custom_kubeconfig(kc, &kc_options)
                    .await
                    .map_err(|e| KubeError::Connect(e.to_string()))?
            }
            None if options.context.is_some() => Config::from_kubeconfig(&kc_options)
                .await
                .map_err(|e| KubeError::Connect(e.to_string()))?,
            None => Config::infer().await.map_err(|e| KubeError::Connect(e.to_string()))?,
        };
        Self::from_config_with(config, &options.limits).await
    }

    /// Connects with a ready `kube` config and the default [`ClientLimits`], and runs discovery.
    ///
    /// [`ClientLimits`]: crate::flow_control::ClientLimits
    pub async fn from_config(config: Config) -> Result<Self, KubeError> {
        Self::from_config_with(config, &crate::flow_control::ClientLimits::default()).await
    }

    /// Connects with a ready `kube` config and `limits`, and runs discovery.
    pub async fn from_config_with(
        config: Config,
        limits: &crate::flow_control::ClientLimits,
    ) -> Result<Self, KubeError> {
        let default_namespace = config.default_namespace.clone();
        let server = config.cluster_url.to_string();
        let requests = crate::requests::RequestCounts::default();
        let flow = crate::flow_stats::FlowStats::default();
        let layers = (
            crate::flow_control::FlowLayer::new(limits, flow.clone()),
            crate::requests::CountLayer::new(requests.clone()),
        );
        let client = http_client(config, layers).map_err(|e| KubeError::Connect(e.to_string()))?;
        let cluster = Cluster {
            client,
            default_namespace,
            resources: Arc::default(),
            writes: Arc::default(),
            dry_runs: Arc::default(),
            requests,
            flow,
            field_manager: Arc::from(FIELD_MANAGER),
        };
        cluster.refresh().await.map_err(|e| match e {
            KubeError::Discovery(m) => KubeError::Connect(format!("{server}: {m}")),
            other => other,
        })?;
        Ok(cluster)
    }

    /// The same cluster (shared discovery and counters) applying as `manager` instead of
    /// [`FIELD_MANAGER`] (Helm releases apply as `helm`, as helm 4 does).
    pub fn with_field_manager(&self, manager: &str) -> Cluster {
        Cluster {
            field_manager: Arc::from(manager),
            ..self.clone()
        }
    }

    /// The same cluster (shared discovery, counters and flow control) with every request sent as
    /// `user` in `groups`, through Kubernetes impersonation (`Impersonate-User`,
    /// `Impersonate-Group`): the API server authorizes each request as that user, so it can do
    /// no more than that user's RBAC allows. The credentials must be allowed to `impersonate`.
    pub fn impersonating(&self, user: &str, groups: &[String]) -> Result<Cluster, KubeError> {
        use http::header::{HeaderName, HeaderValue};
        let value = |v: &str| {
            HeaderValue::from_str(v)
                .map_err(|_| KubeError::Connect(format!("cannot impersonate {v:?}: not a header value")))
        };
        let mut headers = vec![(HeaderName::from_static("impersonate-user"), value(user)?)];
        for g in groups {
            headers.push((HeaderName::from_static("impersonate-group"), value(g)?));
        }
        let base = self.client.clone();
        let service = tower::service_fn(move |mut request: http::Request<kube::client::Body>| {
            let base = base.clone();
            for (name, value) in &headers {
                request.headers_mut().append(name.clone(), value.clone());
            }
            async move { base.send(request).await }
        });
        Ok(Cluster {
            client: Client::new(service, self.default_namespace.clone()),
            ..self.clone()
        })
    }

    /// The field manager applies and patches are sent with ([`FIELD_MANAGER`] unless set by
    /// [`Cluster::with_field_manager`]).
    pub fn field_manager(&self) -> &str {
        &self.field_manager
    }

    /// The underlying client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Write requests (applies that are not dry-runs, deletes) sent through this handle and its
    /// clones so far.
    pub fn writes(&self) -> u64 {
        self.writes.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Every request sent to the API server through this handle's client and its clones (every
    /// attempt of a retried request, watches and discovery included), by verb.
    pub fn requests(&self) -> &crate::requests::RequestCounts {
        &self.requests
    }

    /// What the client's flow control did (in-flight limit, refusals, rate limiting), shared by
    /// this handle's clones.
    pub fn flow(&self) -> &crate::flow_stats::FlowStats {
        &self.flow
    }

    /// Server-side dry-runs sent through this handle and its clones so far.
    pub fn dry_runs(&self) -> u64 {
        self.dry_runs.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Namespace for namespaced objects that name none (the kubeconfig context's namespace).
    pub fn default_namespace(&self) -> &str {
        &self.default_namespace
    }

    /// Re-reads which APIs the server serves (after CRDs were created). The group list comes
    /// first (`/api`, `/apis`), then every group-version's resources concurrently, so discovery
    /// costs about two round trips, not one per group. A group-version whose discovery fails
    /// (an aggregated API that is down) is left out, as kubectl does; the core group is required.
    pub async fn refresh(&self) -> Result<(), KubeError> {
        let disc = |e: kube::Error| KubeError::Discovery(e.to_string());
        let (core, groups, version) = futures::try_join!(
            self.client.list_core_api_versions(),
            self.client.list_api_groups(),
            async { Ok::<_, kube::Error>(self.client.apiserver_version().await.ok()) },
        )
        .map_err(disc)?;
        let mut gvs: Vec<(String, String)> = core.versions.iter().map(|v| (String::new(), v.clone())).collect();
        for g in &groups.groups {
            for v in &g.versions {
                gvs.push((g.name.clone(), v.version.clone()));
            }
        }
        // A few connections in parallel: each new one costs a TLS handshake (HTTP/1.1 pool).
        // Futures collected first: keeps the future Send for any lifetime (multi-threaded runtime).
        let requests: Vec<_> = gvs
            .iter()
            .map(|(g, v)| {
                let (client, g, v) = (self.client.clone(), g.clone(), v.clone());
                async move {
                    if g.is_empty() {
                        client.list_core_api_resources(&v).await
                    } else {
                        client.list_api_group_resources(&format!("{g}/{v}")).await
                    }
                }
            })
            .collect();
        let lists: Vec<_> = futures::stream::iter(requests)
            .buffered(DISCOVERY_CONCURRENCY)
            .collect()
            .await;
        let mut res = Resources {
            version: version.map(|v| v.git_version),
            ..Resources::default()
        };
        let mut seen_listable = std::collections::HashSet::new();
        for ((group, version), list) in gvs.iter().zip(lists) {
            let list = match list {
                Ok(l) => l,
                Err(e) if group.is_empty() => return Err(disc(e)),
                Err(_) => continue,
            };
            for r in list.resources.iter().filter(|r| !r.name.contains('/')) {
                if r.namespaced
                    && r.verbs.iter().any(|v| v == "list")
                    && r.verbs.iter().any(|v| v == "delete")
                    && seen_listable.insert((group.clone(), r.kind.clone()))
                {
                    res.namespaced_listable
                        .push((group.clone(), version.clone(), r.kind.clone()));
                }
                let gvk = kube::api::GroupVersionKind::gvk(group, version, &r.kind);
                let ar = ApiResource::from_gvk_with_plural(&gvk, &r.name);
                let scope = if r.namespaced {
                    Scope::Namespaced
                } else {
                    Scope::Cluster
                };
                res.by_gk.insert((group.clone(), r.kind.clone()), scope);
                res.by_gvk
                    .insert((group.clone(), version.clone(), r.kind.clone()), (ar, scope));
            }
        }
        *self.resources.write().unwrap_or_else(|p| p.into_inner()) = res;
        Ok(())
    }

    /// The server's version (`gitVersion`, as helm's `.Capabilities.KubeVersion` reads it), as
    /// of the last discovery; `None` if the server did not answer it then.
    pub fn server_version(&self) -> Option<String> {
        self.resources.read().unwrap_or_else(|p| p.into_inner()).version.clone()
    }

    /// True if the server serves this group/version/kind.
    pub fn serves(&self, r: &ObjectRef) -> bool {
        self.resource(r).is_ok()
    }

    /// What the server serves as Helm's `.Capabilities.APIVersions` lists it: every
    /// `group/version` (`v1` for the core group) and every `group/version/Kind`, sorted.
    pub fn api_versions(&self) -> Vec<String> {
        let res = self.resources.read().unwrap_or_else(|p| p.into_inner());
        let mut out = std::collections::BTreeSet::new();
        for (g, v, k) in res.by_gvk.keys() {
            let gv = if g.is_empty() { v.clone() } else { format!("{g}/{v}") };
            out.insert(format!("{gv}/{k}"));
            out.insert(gv);
        }
        out.into_iter().collect()
    }

    /// A version the server serves for `r`'s group and kind (when `r`'s own version is gone).
    pub fn served_version(&self, r: &ObjectRef) -> Option<String> {
        let res = self.resources.read().unwrap_or_else(|p| p.into_inner());
        let mut versions: Vec<&String> = res
            .by_gvk
            .keys()
            .filter(|(g, _, k)| *g == r.group && *k == r.kind)
            .map(|(_, v, _)| v)
            .collect();
        versions.sort();
        versions.first().map(|v| v.to_string())
    }

    /// Namespaced kinds the server lists, as references without namespace and name (one version
    /// per group and kind).
    pub fn namespaced_listable_kinds(&self) -> Vec<ObjectRef> {
        let res = self.resources.read().unwrap_or_else(|p| p.into_inner());
        res.namespaced_listable
            .iter()
            .map(|(g, v, k)| {
                let api_version = if g.is_empty() { v.clone() } else { format!("{g}/{v}") };
                ObjectRef::new(&api_version, k, None, "")
            })
            .collect()
    }

    /// The `apiVersion` serving a kind when only its name is known: the core group first, then
    /// the built-in groups Kubernetes prefers (`apps`, `batch`, ...), then any other; within a
    /// group the version discovery lists first.
    pub fn api_version_of_kind(&self, kind: &str) -> Option<String> {
        let res = self.resources.read().unwrap_or_else(|p| p.into_inner());
        let rank = |g: &str| match g {
            "" => 0,
            "apps" => 1,
            "batch" => 2,
            "networking.k8s.io" => 3,
            "policy" => 4,
            "autoscaling" => 5,
            g if g.ends_with(".k8s.io") => 6,
            _ => 7,
        };
        let mut candidates: Vec<(&String, &String)> = res
            .by_gvk
            .keys()
            .filter(|(_, _, k)| k == kind)
            .map(|(g, v, _)| (g, v))
            .collect();
        candidates.sort_by_key(|(g, v)| (rank(g), g.to_string(), version_rank(v)));
        candidates.first().map(|(g, v)| {
            if g.is_empty() {
                v.to_string()
            } else {
                format!("{g}/{v}")
            }
        })
    }

    /// The API resource serving `r`'s group/version/kind, and its scope.
    pub fn api_resource(&self, r: &ObjectRef) -> Option<(ApiResource, Scope)> {
        self.resource(r).ok()
    }

    fn resource(&self, r: &ObjectRef) -> Result<(ApiResource, Scope), KubeError> {
        let res = self.resources.read().unwrap_or_else(|p| p.into_inner());
        res.by_gvk
            .get(&(r.group.clone(), r.version.clone(), r.kind.clone()))
            .cloned()
            .ok_or_else(|| KubeError::UnknownKind {
                object: r.to_string(),
                api_version: r.api_version(),
                kind: r.kind.clone(),
            })
    }

    fn api(&self, r: &ObjectRef) -> Result<Api<DynamicObject>, KubeError> {
        let (ar, scope) = self.resource(r)?;
        Ok(match (scope, &r.namespace) {
            (Scope::Namespaced, Some(ns)) => Api::namespaced_with(self.client.clone(), ns, &ar),
            (Scope::Namespaced, None) => Api::namespaced_with(self.client.clone(), &self.default_namespace, &ar),
            (Scope::Cluster, _) => Api::all_with(self.client.clone(), &ar),
        })
    }

    /// The live objects named in `names`, of `like`'s group/version/kind in `like`'s namespace (or
    /// cluster-wide for cluster-scoped kinds), keyed by name; only those matching
    /// `label_selector` when one is given. One request per page of [`LIST_PAGE`] objects instead
    /// of one GET per object; objects not asked for are dropped page by page, so memory stays
    /// bounded by a page however large the namespace is.
    pub async fn list_like(
        &self,
        like: &ObjectRef,
        names: &std::collections::HashSet<&str>,
        label_selector: Option<&str>,
    ) -> Result<HashMap<String, Value>, KubeError> {
        let api = self.api(like)?;
        let what = format!("{}/{}", like.kind, like.namespace.as_deref().unwrap_or("*"));
        let api_version = Value::String(like.api_version());
        let kind = Value::String(like.kind.clone());
        let mut out = HashMap::new();
        let mut continue_token: Option<String> = None;
        loop {
            let params = kube::api::ListParams {
                label_selector: label_selector.map(str::to_string),
                limit: Some(LIST_PAGE),
                continue_token: continue_token.take(),
                ..Default::default()
            };
            // Read straight into JSON values: no typed round trip for what is compared as JSON.
            let request = kube::core::Request::new(api.resource_url())
                .list(&params)
                .map_err(|e| KubeError::from_kube(what.clone(), "list", kube::Error::BuildRequest(e)))?;
            let mut page: Value = self
                .client
                .request(request)
                .await
                .map_err(|e| KubeError::from_kube(what.clone(), "list", e))?;
            if let Some(Value::Array(items)) = page.get_mut("items").map(Value::take) {
                for mut o in items {
                    let Some(name) = o.pointer("/metadata/name").and_then(Value::as_str) else {
                        continue;
                    };
                    if !names.contains(name) {
                        continue;
                    }
                    let name = name.to_string();
                    // List items come without their type; put it back so they compare like GETs.
                    if let Value::Object(m) = &mut o {
                        m.insert("apiVersion".into(), api_version.clone());
                        m.insert("kind".into(), kind.clone());
                    }
                    out.insert(name, o);
                }
            }
            continue_token = page
                .pointer("/metadata/continue")
                .and_then(Value::as_str)
                .filter(|c| !c.is_empty())
                .map(str::to_string);
            if continue_token.is_none() {
                return Ok(out);
            }
        }
    }

    /// Every live object of `like`'s group/version/kind: in `namespace`, or in all namespaces
    /// (and for cluster-scoped kinds) when `None`. Paged by [`LIST_PAGE`]; items carry their
    /// `apiVersion` and `kind`.
    pub async fn list_all(&self, like: &ObjectRef, namespace: Option<&str>) -> Result<Vec<Value>, KubeError> {
        let (ar, scope) = self.resource(like)?;
        let api: Api<DynamicObject> = match (scope, namespace) {
            (Scope::Namespaced, Some(ns)) => Api::namespaced_with(self.client.clone(), ns, &ar),
            _ => Api::all_with(self.client.clone(), &ar),
        };
        let what = format!("{}/{}", like.kind, namespace.unwrap_or("*"));
        let mut out = Vec::new();
        let mut continue_token: Option<String> = None;
        loop {
            let params = kube::api::ListParams {
                limit: Some(LIST_PAGE),
                continue_token: continue_token.take(),
                ..Default::default()
            };
            let list = api
                .list(&params)
                .await
                .map_err(|e| KubeError::from_kube(what.clone(), "list", e))?;
            continue_token = list.metadata.continue_.clone().filter(|c| !c.is_empty());
            for o in list.items {
                let mut v = to_value(o);
                if let Value::Object(m) = &mut v {
                    m.insert("apiVersion".into(), Value::String(like.api_version()));
                    m.insert("kind".into(), Value::String(like.kind.clone()));
                }
                out.push(v);
            }
            if continue_token.is_none() {
                return Ok(out);
            }
        }
    }

    /// The live object, or `None` if it does not exist.
    pub async fn get(&self, r: &ObjectRef) -> Result<Option<Value>, KubeError> {
        let api = self.api(r)?;
        match api.get_opt(&r.name).await {
            Ok(Some(o)) => Ok(Some(to_value(o))),
            Ok(None) => Ok(None),
            Err(e) => Err(KubeError::from_kube(r.to_string(), "get", e)),
        }
    }

    /// Server-side apply of `object` with the cluster's field manager ([`Cluster::field_manager`]); with `dry_run` the server
    /// computes and validates the result without persisting it. Returns the resulting object.
    pub async fn apply(&self, r: &ObjectRef, object: &Value, dry_run: bool, force: bool) -> Result<Value, KubeError> {
        self.apply_validated(r, object, dry_run, force, true).await
    }

    /// [`Cluster::apply`]; without `validate`, the request asks the server to drop fields its
    /// schema does not know (`fieldValidation=Ignore`, as `kubectl apply --validate=false`;
    /// servers before 1.25 ignore the parameter).
    pub async fn apply_validated(
        &self,
        r: &ObjectRef,
        object: &Value,
        dry_run: bool,
        force: bool,
        validate: bool,
    ) -> Result<Value, KubeError> {
        let api = self.api(r)?;
        let mut params = PatchParams::apply(&self.field_manager);
        params.force = force;
        params.dry_run = dry_run;
        if !validate {
            params = params.validation_ignore();
        }
        let verb = if dry_run { "dry-run" } else { "apply" };
        self.count(dry_run);
        api.patch(&r.name, &params, &Patch::Apply(object))
            .await
            .map(to_value)
            .map_err(|e| KubeError::from_kube(r.to_string(), verb, e))
    }

    /// Replaces the whole object (an update, `kubectl replace`): what `object` lacks is removed,
    /// whoever set it. `resource_version` (the one read) makes the update conditional: a change
    /// made since is refused (409), never overwritten unseen. Returns the resulting object.
    pub async fn replace(
        &self,
        r: &ObjectRef,
        object: &Value,
        resource_version: Option<&str>,
        dry_run: bool,
    ) -> Result<Value, KubeError> {
        let api = self.api(r)?;
        let verb = if dry_run { "dry-run" } else { "replace" };
        let mut obj = object.clone();
        if let (Some(rv), Some(meta)) = (resource_version, obj["metadata"].as_object_mut()) {
            meta.insert("resourceVersion".into(), Value::String(rv.to_string()));
        }
        let (obj, params) = self.post(r, obj, verb, dry_run)?;
        api.replace(&r.name, &params, &obj)
            .await
            .map(to_value)
            .map_err(|e| KubeError::from_kube(r.to_string(), verb, e))
    }

    /// Creates the object (`kubectl create`); refused (409) when it exists. Returns it.
    pub async fn create(&self, r: &ObjectRef, object: &Value, dry_run: bool) -> Result<Value, KubeError> {
        let api = self.api(r)?;
        let verb = if dry_run { "dry-run" } else { "create" };
        let (obj, params) = self.post(r, object.clone(), verb, dry_run)?;
        api.create(&params, &obj)
            .await
            .map(to_value)
            .map_err(|e| KubeError::from_kube(r.to_string(), verb, e))
    }

    /// The typed object and the parameters of a create or replace (`verb`), counted as a
    /// dry-run or a write.
    fn post(
        &self,
        r: &ObjectRef,
        object: Value,
        verb: &'static str,
        dry_run: bool,
    ) -> Result<(DynamicObject, PostParams), KubeError> {
        let obj: DynamicObject = serde_json::from_value(object).map_err(|e| KubeError::Transport {
            object: r.to_string(),
            verb,
            message: e.to_string(),
        })?;
        self.count(dry_run);
        let params = PostParams {
            dry_run,
            field_manager: Some(self.field_manager.to_string()),
        };
        Ok((obj, params))
    }

    fn count(&self, dry_run: bool) {
        let counter = if dry_run { &self.dry_runs } else { &self.writes };
        counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// A JSON patch (RFC 6902) sent with field manager [`FIELD_MANAGER`] (used to remove keys
    /// Git lacks from atomic-by-meaning maps; each removal is preceded by a `test` of its value).
    pub async fn json_patch(&self, r: &ObjectRef, patch: &Value) -> Result<Value, KubeError> {
        let api = self.api(r)?;
        self.writes.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let params = PatchParams {
            field_manager: Some(self.field_manager.to_string()),
            ..Default::default()
        };
        let ops: json_patch::Patch = serde_json::from_value(patch.clone()).map_err(|e| KubeError::Transport {
            object: r.to_string(),
            verb: "patch",
            message: e.to_string(),
        })?;
        api.patch(&r.name, &params, &Patch::<()>::Json(ops))
            .await
            .map(to_value)
            .map_err(|e| KubeError::from_kube(r.to_string(), "patch", e))
    }

    /// Deletes an object (background propagation). With `uid`, the UID is a precondition: an
    /// object of the same name created since (another object) is never deleted in its place; the
    /// server refuses with a 409 ([`KubeError::is_precondition_failed`]). Prune always passes
    /// the UID it read. Returns `false` if it was already gone.
    pub async fn delete(&self, r: &ObjectRef, uid: Option<&str>) -> Result<bool, KubeError> {
        self.delete_propagated(r, uid, PropagationPolicy::Background).await
    }

    /// Deletes the object `uid` names under `r` (without `uid`, the one read now), the UID a
    /// precondition: an object created again meanwhile under the same name is never deleted in
    /// its place (nothing is deleted then). Returns once that UID is gone, polling every
    /// 200 ms, or fails after `timeout`.
    pub async fn delete_and_wait(&self, r: &ObjectRef, uid: Option<&str>, timeout: Duration) -> Result<(), KubeError> {
        let read;
        let uid = match uid {
            Some(u) => u,
            None => {
                let Some(live) = self.get(r).await? else {
                    return Ok(());
                };
                read = live["metadata"]["uid"].as_str().unwrap_or_default().to_string();
                &read
            }
        };
        match self.delete(r, Some(uid)).await {
            Ok(true) => {}
            Ok(false) => return Ok(()),
            Err(e) if e.is_precondition_failed() => return Ok(()),
            Err(e) => return Err(e),
        }
        let deadline = std::time::Instant::now() + timeout;
        while std::time::Instant::now() < deadline {
            match self.get(r).await? {
                Some(o) if o["metadata"]["uid"].as_str() == Some(uid) => {
                    tokio::time::sleep(Duration::from_millis(200)).await
                }
                _ => return Ok(()),
            }
        }
        Err(KubeError::Transport {
            object: r.to_string(),
            verb: "delete",
            message: format!("still there {timeout:?} after its deletion"),
        })
    }

    /// [`Cluster::delete`] with the given propagation of the deletion to dependents
    /// (`Foreground`: the object stays until its dependents are gone; `Orphan`: they are
    /// left).
    pub async fn delete_propagated(
        &self,
        r: &ObjectRef,
        uid: Option<&str>,
        propagation: PropagationPolicy,
    ) -> Result<bool, KubeError> {
        let api = self.api(r)?;
        self.writes.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dp = DeleteParams {
            propagation_policy: Some(propagation),
            preconditions: uid.map(|u| kube::api::Preconditions {
                uid: Some(u.to_string()),
                resource_version: None,
            }),
            ..Default::default()
        };
        match api.delete(&r.name, &dp).await {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(s)) if s.code == 404 => Ok(false),
            Err(e) => Err(KubeError::from_kube(r.to_string(), "delete", e)),
        }
    }

    /// Checks that every manifest's kind is served, returning the first that is not.
    pub fn check_served(&self, manifests: &[Manifest]) -> Result<(), KubeError> {
        for m in manifests {
            self.resource(&m.object_ref())?;
        }
        Ok(())
    }
}

impl Scopes for Cluster {
    fn scope(&self, group: &str, kind: &str) -> Option<Scope> {
        let res = self.resources.read().unwrap_or_else(|p| p.into_inner());
        res.by_gk.get(&(group.to_string(), kind.to_string())).copied()
    }
}

/// Orders versions as Kubernetes prefers them: GA before beta before alpha, higher first.
fn version_rank(v: &str) -> (u8, i64, i64) {
    let rest = v.strip_prefix('v').unwrap_or(v);
    let (major, tail) = rest.split_at(rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len()));
    let major: i64 = major.parse().unwrap_or(0);
    let (stage, minor) = if let Some(b) = tail.strip_prefix("beta") {
        (1, b.parse().unwrap_or(0))
    } else if let Some(a) = tail.strip_prefix("alpha") {
        (2, a.parse().unwrap_or(0))
    } else {
        (0, 0)
    };
    (stage, -major, -minor)
}

fn to_value(o: DynamicObject) -> Value {
    serde_json::to_value(o).unwrap_or(Value::Null)
}

/// The API client: kube's stack (base URI, authentication, extra headers, timeouts) and
/// [`crate::retry`] (429 and safe 5xx retried with backoff), every attempt counted into
/// `requests` ([`crate::requests`]), over a TCP connector with `TCP_NODELAY`. Without it, the first request on every new connection waits for
/// the server's delayed ACK of the TLS handshake's last flight (about 40 ms on Linux).
/// The HTTP stack: kube's layers, then retries, then flow control, then counting, so each
/// attempt waits for the flow control and is counted once when it is sent.
fn http_client(
    config: Config,
    (flow, count): (crate::flow_control::FlowLayer, crate::requests::CountLayer),
) -> Result<Client, kube::Error> {
    use kube::client::ConfigExt;
    let mut tcp = hyper_util::client::legacy::connect::HttpConnector::new();
    tcp.enforce_http(false);
    tcp.set_nodelay(true);
    let https = config.rustls_https_connector_with_connector(tcp)?;
    let mut connector = hyper_timeout::TimeoutConnector::new(https);
    connector.set_connect_timeout(config.connect_timeout);
    connector.set_read_timeout(config.read_timeout);
    connector.set_write_timeout(config.write_timeout);
    let http: hyper_util::client::legacy::Client<_, kube::client::Body> =
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build(connector);
    let service = tower::ServiceBuilder::new()
        .layer(config.base_uri_layer())
        .option_layer(config.auth_layer()?)
        .layer(config.extra_headers_layer()?)
        .map_err(tower::BoxError::from)
        .layer(crate::retry::RetryLayer::default())
        .layer(flow)
        .layer(count)
        .service(http);
    Ok(Client::new(service, config.default_namespace))
}

#[cfg(test)]
mod kubeconfig_tests {
    use super::*;

    fn config(dir: &std::path::Path, name: &str, context: &str, current: bool) -> PathBuf {
        let path = dir.join(name);
        let current = if current {
            format!("current-context: {context}\n")
        } else {
            String::new()
        };
        let text = format!(
            "apiVersion: v1\nkind: Config\n{current}clusters:\n- name: {context}\n  cluster:\n    server: https://127.0.0.1:1\ncontexts:\n- name: {context}\n  context:\n    cluster: {context}\n    user: {context}\nusers:\n- name: {context}\n  user:\n    token: t\n"
        );
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn a_kubeconfig_list_is_merged_in_order() {
        let dir = std::env::temp_dir().join(format!("ballast-kc-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let a = config(&dir, "a", "first", true);
        let b = config(&dir, "b", "second", false);
        let missing = dir.join("missing");
        let list = std::env::join_paths([&a, &missing, &b]).unwrap();
        let kc = read_kubeconfig(std::path::Path::new(&list)).unwrap();
        let names: Vec<&str> = kc.contexts.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["first", "second"]);
        assert_eq!(kc.current_context.as_deref(), Some("first"));
        assert!(read_kubeconfig(&a).is_ok());
        let none = std::env::join_paths([&missing, &dir.join("also-missing")]).unwrap();
        let err = read_kubeconfig(std::path::Path::new(&none)).unwrap_err().to_string();
        assert!(err.contains("none of these files exists"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[cfg(test)]
mod tests {
    use super::version_rank;

    #[test]
    fn versions_sort_as_kubernetes_prefers_them() {
        let mut v = vec!["v1beta1", "v2beta2", "v1", "v2", "v1alpha1", "v2beta1"];
        v.sort_by_key(|v| version_rank(v));
        assert_eq!(v, ["v2", "v1", "v2beta2", "v2beta1", "v1beta1", "v1alpha1"]);
    }
}
