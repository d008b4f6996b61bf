//! Release records in their storage namespace: one Secret per revision, read and written as
//! helm's Secret driver does (create for a new revision, update for a status change, delete
//! for history pruning and uninstall).
//!
//! A record Ballast writes in a `pending-*` state carries the time its operation gives up
//! ([`DEADLINE_ANNOTATION`], Unix seconds): past it, the record is stale and may be recovered.

use ballast_helm::release::Release;
use ballast_helm::release::storage;
use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use kube::api::{DeleteParams, ListParams, PostParams};
use serde_json::Value;

use crate::ReleaseError;

/// Annotation of a pending record Ballast wrote: when its operation's deadline passes
/// (Unix seconds).
pub const DEADLINE_ANNOTATION: &str = "release.ballast.dev/operation-deadline";

/// A record as read, with the deadline of the operation that wrote it (Ballast's pending
/// records only).
#[derive(Clone, Debug)]
pub struct Stored {
    /// The record.
    pub release: Release,
    /// [`DEADLINE_ANNOTATION`].
    pub deadline: Option<i64>,
}

/// The release records of one storage namespace.
pub struct Store {
    api: Api<Secret>,
    namespace: String,
}

fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

fn to_secret(release: &Release, namespace: &str, created: bool, deadline: Option<i64>) -> Result<Secret, ReleaseError> {
    let mut object = storage::to_secret(release, namespace, created, now()).map_err(|e| ReleaseError(e.0))?;
    if let Some(d) = deadline {
        object["metadata"]["annotations"] = serde_json::json!({ DEADLINE_ANNOTATION: d.to_string() });
    }
    serde_json::from_value(object).map_err(|e| ReleaseError(format!("cannot build the release Secret: {e}")))
}

/// The record a Secret holds (`None`: not a release Secret).
fn stored(s: &Secret) -> Result<Option<Stored>, ReleaseError> {
    if s.type_.as_deref() != Some(storage::SECRET_TYPE) {
        return Ok(None);
    }
    let deadline = s
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(DEADLINE_ANNOTATION))
        .and_then(|d| d.parse().ok());
    let value: Value = serde_json::to_value(s).map_err(|e| ReleaseError(e.to_string()))?;
    let release = storage::from_secret(&value).map_err(|e| ReleaseError(e.0))?;
    Ok(Some(Stored { release, deadline }))
}

impl Store {
    /// The records in `namespace`.
    pub fn new(client: kube::Client, namespace: &str) -> Self {
        Store {
            api: Api::namespaced(client, namespace),
            namespace: namespace.to_string(),
        }
    }

    /// Every record of `name`, oldest first.
    pub async fn history(&self, name: &str) -> Result<Vec<Stored>, ReleaseError> {
        self.list(&storage::selector(name), false).await
    }

    /// [`Self::history`] as the API server's watch cache holds it (`resourceVersion=0`): the
    /// server filters the Secrets it already holds decoded instead of reading and decoding
    /// every Secret of the namespace from etcd, a cost that grows with the namespace's
    /// releases. The answer may miss a record written in the last moments (the cache's lag
    /// behind etcd, milliseconds on one API server); an action based on it then usually fails
    /// to create its revision, which exists already, before it changes anything, as when
    /// another writer comes between a consistent LIST and that create.
    pub async fn history_cached(&self, name: &str) -> Result<Vec<Stored>, ReleaseError> {
        self.list(&storage::selector(name), true).await
    }

    /// Every record in the namespace, oldest first per release.
    pub async fn all(&self) -> Result<Vec<Stored>, ReleaseError> {
        self.list("owner=helm", false).await
    }

    /// The record of revision `version` of `name`, read by its Secret's name (one GET: no scan
    /// of the namespace's Secrets); `None` when it does not exist.
    pub async fn get(&self, name: &str, version: i64) -> Result<Option<Stored>, ReleaseError> {
        let secret = storage::secret_name(name, version);
        match self.api.get_opt(&secret).await {
            Ok(Some(s)) => stored(&s),
            Ok(None) => Ok(None),
            Err(e) => Err(ReleaseError(format!("cannot read {secret}: {e}"))),
        }
    }

    async fn list(&self, selector: &str, cached: bool) -> Result<Vec<Stored>, ReleaseError> {
        let params = ListParams::default().labels(selector);
        let params = if cached { params.match_any() } else { params };
        let list = self
            .api
            .list(&params)
            .await
            .map_err(|e| ReleaseError(format!("cannot list release Secrets in {}: {e}", self.namespace)))?;
        let mut out = Vec::new();
        for s in &list.items {
            out.extend(stored(s)?);
        }
        out.sort_by(|a, b| {
            (a.release.name.as_str(), a.release.version).cmp(&(b.release.name.as_str(), b.release.version))
        });
        Ok(out)
    }

    /// Creates the Secret of a new revision; fails if it exists (another writer got there
    /// first).
    pub async fn create(&self, release: &Release, deadline: Option<i64>) -> Result<(), ReleaseError> {
        let secret = to_secret(release, &self.namespace, true, deadline)?;
        self.api
            .create(&PostParams::default(), &secret)
            .await
            .map(|_| ())
            .map_err(|e| {
                ReleaseError(format!(
                    "cannot create {}: {e}",
                    storage::secret_name(&release.name, release.version)
                ))
            })
    }

    /// Replaces the Secret of a revision (a status change).
    pub async fn update(&self, release: &Release, deadline: Option<i64>) -> Result<(), ReleaseError> {
        let secret = to_secret(release, &self.namespace, false, deadline)?;
        let name = storage::secret_name(&release.name, release.version);
        self.api
            .replace(&name, &PostParams::default(), &secret)
            .await
            .map(|_| ())
            .map_err(|e| ReleaseError(format!("cannot update {name}: {e}")))
    }

    /// Deletes the Secret of a revision (gone already is fine).
    pub async fn delete(&self, name: &str, version: i64) -> Result<(), ReleaseError> {
        let secret = storage::secret_name(name, version);
        match self.api.delete(&secret, &DeleteParams::default()).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
            Err(e) => Err(ReleaseError(format!("cannot delete {secret}: {e}"))),
        }
    }
}
