//! Secrets the Flux CLI generates for a source's credentials (`create source helm --username`),
//! in the same shape: a client certificate makes a `kubernetes.io/tls` Secret (`tls.crt`,
//! `tls.key`, `ca.crt`), basic auth a `kubernetes.io/basic-auth` Secret (`username`,
//! `password`, `ca.crt`), a CA alone an `Opaque` Secret with `ca.crt`. Values are written as
//! base64 `data` and are never printed.

use k8s_openapi::ByteString;
use serde_json::{Map, Value, json};

/// Credentials given on the command line (files already read).
#[derive(Default)]
pub struct HelmCredentials {
    /// Basic auth user name (empty: none).
    pub username: String,
    /// Basic auth password (empty: none).
    pub password: String,
    /// CA certificate (`--ca-file`).
    pub ca: Option<Vec<u8>>,
    /// Client certificate (`--cert-file`).
    pub cert: Option<Vec<u8>>,
    /// Client key (`--key-file`).
    pub key: Option<Vec<u8>>,
}

impl HelmCredentials {
    /// True when nothing was given: no Secret is made, as in Flux.
    pub fn is_empty(&self) -> bool {
        self.username.is_empty() && self.password.is_empty() && self.ca.is_none() && self.cert.is_none()
    }
}

fn b64(bytes: &[u8]) -> Value {
    serde_json::to_value(ByteString(bytes.to_vec())).unwrap_or(Value::Null)
}

/// The Secret `name` in `namespace` holding `creds`, as Flux's `create source helm` makes it.
pub fn helm_secret(name: &str, namespace: &str, creds: &HelmCredentials) -> Value {
    let mut data = Map::new();
    let type_ = if let (Some(cert), Some(key)) = (&creds.cert, &creds.key) {
        data.insert("tls.crt".into(), b64(cert));
        data.insert("tls.key".into(), b64(key));
        "kubernetes.io/tls"
    } else if !creds.username.is_empty() || !creds.password.is_empty() {
        data.insert("username".into(), b64(creds.username.as_bytes()));
        data.insert("password".into(), b64(creds.password.as_bytes()));
        "kubernetes.io/basic-auth"
    } else {
        "Opaque"
    };
    if let Some(ca) = &creds.ca {
        data.insert("ca.crt".into(), b64(ca));
    }
    json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace},
        "type": type_,
        "data": data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_follow_flux_priority() {
        let basic = HelmCredentials {
            username: "u".into(),
            password: "p".into(),
            ca: Some(b"CA".to_vec()),
            ..Default::default()
        };
        let s = helm_secret("helm-x", "ns", &basic);
        assert_eq!(s["type"], "kubernetes.io/basic-auth");
        assert_eq!(s["data"]["username"], "dQ==");
        assert_eq!(s["data"]["password"], "cA==");
        assert_eq!(s["data"]["ca.crt"], "Q0E=");
        let tls = HelmCredentials {
            username: "u".into(),
            cert: Some(b"C".to_vec()),
            key: Some(b"K".to_vec()),
            ..Default::default()
        };
        let s = helm_secret("helm-x", "ns", &tls);
        assert_eq!(s["type"], "kubernetes.io/tls");
        assert!(s["data"].get("username").is_none());
        let ca = HelmCredentials {
            ca: Some(b"CA".to_vec()),
            ..Default::default()
        };
        assert_eq!(helm_secret("helm-x", "ns", &ca)["type"], "Opaque");
        assert!(HelmCredentials::default().is_empty());
    }
}
