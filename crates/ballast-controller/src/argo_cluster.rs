//! An Application's destination cluster, as Argo CD resolves it: the cluster Ballast runs in
//! (`server: https://kubernetes.default.svc` or `name: in-cluster`), or a cluster registered as
//! an Argo CD cluster Secret in the control namespace (label `argocd.argoproj.io/secret-type:
//! cluster`; `server`, `name`, and `config`: `bearerToken`, or `username`/`password`, and
//! `tlsClientConfig` with `caData`, `certData`, `keyData`, `serverName`, `insecure`).
//!
//! `destination.server` picks the Secret whose `server` is that URL; `destination.name` the one
//! whose `name` is that name (two such Secrets are an error, as in Argo CD). Setting both is
//! refused. A registered cluster's connection (with its discovery) is kept while its Secret is
//! unchanged (same UID and `resourceVersion`).
//!
//! Guarantees: credentials are read from the Secret only, never logged and never written to a
//! status, an event or an error (errors name the Secret and the field, not its value);
//! `execProviderConfig` and `awsAuthConfig` (programs and cloud calls) are refused by name.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use ballast_api::argo::Destination;
use ballast_kube::Cluster;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, ListParams};
use serde_json::{Value, json};

use crate::app_project::{IN_CLUSTER_NAME, IN_CLUSTER_SERVER};
use crate::argo_chart::{SECRET_TYPE_LABEL, field};

/// Registered clusters kept connected at most.
const MAX_KEPT: usize = 32;

/// Where an Application syncs to.
#[derive(Clone)]
pub struct Resolved {
    /// The cluster's API server URL (Argo CD's `server`).
    pub server: String,
    /// The cluster's name (Argo CD's `name`).
    pub name: String,
    /// The connection to a registered cluster; `None` for the cluster Ballast runs in.
    pub remote: Option<Cluster>,
}

fn kept() -> &'static Mutex<HashMap<String, Cluster>> {
    static KEPT: OnceLock<Mutex<HashMap<String, Cluster>>> = OnceLock::new();
    KEPT.get_or_init(Mutex::default)
}

/// A cluster Secret's `name` and `server`.
fn identity(s: &Secret) -> (String, String) {
    (
        field(s, "name").unwrap_or_default(),
        field(s, "server").unwrap_or_default().trim_end_matches('/').to_string(),
    )
}

/// Resolves `destination` among the cluster Secrets of `namespace` (read through `client`).
pub async fn resolve(client: &kube::Client, namespace: &str, destination: &Destination) -> Result<Resolved, String> {
    let server = destination.server.as_deref().unwrap_or("").trim().trim_end_matches('/');
    let name = destination.name.as_deref().unwrap_or("").trim();
    if !server.is_empty() && !name.is_empty() {
        return Err(format!(
            "application destination can't have both name and server defined: {name} {server}"
        ));
    }
    if server.is_empty() && name.is_empty() {
        return Err("application destination has neither a server nor a name".into());
    }
    let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let secrets = api
        .list(&ListParams::default().labels(&format!("{SECRET_TYPE_LABEL}=cluster")))
        .await
        .map_err(|e| format!("listing cluster Secrets in {namespace}: {e}"))?
        .items;
    let matching: Vec<&Secret> = secrets
        .iter()
        .filter(|s| {
            let (n, srv) = identity(s);
            if name.is_empty() { srv == server } else { n == name }
        })
        .collect();
    let local = |server: &str, name: &str| Resolved {
        server: server.to_string(),
        name: name.to_string(),
        remote: None,
    };
    match matching.as_slice() {
        [] if server == IN_CLUSTER_SERVER || (server.is_empty() && name == IN_CLUSTER_NAME) => {
            Ok(local(IN_CLUSTER_SERVER, IN_CLUSTER_NAME))
        }
        [] if !name.is_empty() => Err(format!(
            "unable to find destination server: there are no clusters with this name: {name}"
        )),
        [] => Err(format!(
            "unable to find destination server: cluster {server} has not been configured"
        )),
        [s] => {
            let (n, srv) = identity(s);
            if srv == IN_CLUSTER_SERVER {
                // The in-cluster destination under another name: still the local cluster.
                return Ok(local(IN_CLUSTER_SERVER, &n));
            }
            let remote = connect(s, &srv).await?;
            Ok(Resolved {
                server: srv,
                name: n,
                remote: Some(remote),
            })
        }
        many => Err(format!(
            "there are {} clusters with the same name: {:?}",
            many.len(),
            many.iter().map(|s| identity(s).1).collect::<Vec<_>>()
        )),
    }
}

/// The connection for cluster Secret `s` (kept while the Secret is unchanged).
async fn connect(s: &Secret, server: &str) -> Result<Cluster, String> {
    let secret = format!("cluster Secret {}", s.metadata.name.as_deref().unwrap_or_default());
    let key = format!(
        "{}/{}",
        s.metadata.uid.as_deref().unwrap_or_default(),
        s.metadata.resource_version.as_deref().unwrap_or_default()
    );
    if let Some(c) = kept().lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
        return Ok(c.clone());
    }
    let config: Value = match field(s, "config") {
        Some(text) if !text.trim().is_empty() => serde_json::from_str(&text)
            .map_err(|e| format!("{secret}: config is not JSON ({})", json_error_kind(&e)))?,
        _ => json!({}),
    };
    let kubeconfig = kubeconfig(server, &config).map_err(|m| format!("{secret}: {m}"))?;
    let kc = kube::config::Kubeconfig::from_yaml(&kubeconfig.to_string())
        .map_err(|_| format!("{secret}: config cannot be read as a cluster connection"))?;
    let options = kube::config::KubeConfigOptions::default();
    let config = kube::Config::from_custom_kubeconfig(kc, &options)
        .await
        .map_err(|_| format!("{secret}: config cannot be read as a cluster connection"))?;
    let cluster = Cluster::from_config(config)
        .await
        .map_err(|e| format!("{secret}: connecting to {server}: {e}"))?;
    let mut kept = kept().lock().unwrap_or_else(|p| p.into_inner());
    if kept.len() >= MAX_KEPT {
        kept.clear();
    }
    kept.insert(key, cluster.clone());
    Ok(cluster)
}

/// A JSON error's category, never its text (which may quote the input).
fn json_error_kind(e: &serde_json::Error) -> &'static str {
    match e.classify() {
        serde_json::error::Category::Io => "read error",
        serde_json::error::Category::Syntax => "syntax error",
        serde_json::error::Category::Data => "unexpected data",
        serde_json::error::Category::Eof => "truncated",
    }
}

/// A kubeconfig (as JSON) reaching `server` with Argo CD's cluster `config`.
fn kubeconfig(server: &str, config: &Value) -> Result<Value, String> {
    for refused in ["execProviderConfig", "awsAuthConfig"] {
        if !config[refused].is_null() {
            return Err(format!("config.{refused} is not supported"));
        }
    }
    let tls = &config["tlsClientConfig"];
    let text = |v: &Value, what: &str| -> Result<Option<String>, String> {
        match v {
            Value::Null => Ok(None),
            Value::String(s) if s.is_empty() => Ok(None),
            Value::String(s) => Ok(Some(s.clone())),
            _ => Err(format!("config.{what} is not a string")),
        }
    };
    let mut cluster = json!({"server": server});
    if tls["insecure"] == true {
        cluster["insecure-skip-tls-verify"] = json!(true);
    }
    if let Some(ca) = text(&tls["caData"], "tlsClientConfig.caData")? {
        cluster["certificate-authority-data"] = json!(ca);
    }
    if let Some(sn) = text(&tls["serverName"], "tlsClientConfig.serverName")? {
        cluster["tls-server-name"] = json!(sn);
    }
    let mut user = json!({});
    if let Some(t) = text(&config["bearerToken"], "bearerToken")? {
        user["token"] = json!(t);
    }
    if let Some(u) = text(&config["username"], "username")? {
        user["username"] = json!(u);
        user["password"] = json!(text(&config["password"], "password")?.unwrap_or_default());
    }
    if let Some(c) = text(&tls["certData"], "tlsClientConfig.certData")? {
        user["client-certificate-data"] = json!(c);
    }
    if let Some(k) = text(&tls["keyData"], "tlsClientConfig.keyData")? {
        user["client-key-data"] = json!(k);
    }
    Ok(json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "destination", "cluster": cluster}],
        "users": [{"name": "destination", "user": user}],
        "contexts": [{"name": "destination", "context": {"cluster": "destination", "user": "destination"}}],
        "current-context": "destination"
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argo_cd_cluster_config_becomes_a_kubeconfig() {
        let config = json!({"bearerToken": "t0ken",
            "tlsClientConfig": {"caData": "Q0E=", "serverName": "api.local", "insecure": false}});
        let kc = kubeconfig("https://127.0.0.1:6443", &config).unwrap();
        let cluster = &kc["clusters"][0]["cluster"];
        assert_eq!(cluster["server"], "https://127.0.0.1:6443");
        assert_eq!(cluster["certificate-authority-data"], "Q0E=");
        assert_eq!(cluster["tls-server-name"], "api.local");
        assert!(cluster["insecure-skip-tls-verify"].is_null());
        assert_eq!(kc["users"][0]["user"]["token"], "t0ken");
        assert!(kube::config::Kubeconfig::from_yaml(&kc.to_string()).is_ok());

        let basic = json!({"username": "u", "password": "p",
            "tlsClientConfig": {"insecure": true, "certData": "Yw==", "keyData": "aw=="}});
        let kc = kubeconfig("https://x", &basic).unwrap();
        assert_eq!(kc["clusters"][0]["cluster"]["insecure-skip-tls-verify"], true);
        assert_eq!(kc["users"][0]["user"]["client-key-data"], "aw==");
        assert_eq!(kc["users"][0]["user"]["password"], "p");

        let e = kubeconfig("https://x", &json!({"execProviderConfig": {"command": "x"}})).unwrap_err();
        assert_eq!(e, "config.execProviderConfig is not supported");
        let e = kubeconfig("https://x", &json!({"bearerToken": 5})).unwrap_err();
        assert!(!e.contains('5'), "{e}");
    }
}
