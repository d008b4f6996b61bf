//! A cluster-admin identity outside `system:masters`: kube-apiserver exempts that group from its
//! in-flight limits, so a test of how a client copes with refusals needs another user.

use std::path::PathBuf;

use k8s_openapi::api::authentication::v1::TokenRequest;
use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::api::rbac::v1::ClusterRoleBinding;
use kube::api::{Api, PostParams};

use crate::TestCluster;

fn from<T: k8s_openapi::serde::de::DeserializeOwned>(v: serde_json::Value) -> T {
    serde_json::from_value(v).expect("object")
}

impl TestCluster {
    /// Creates the ServiceAccount `default/<name>` bound to `cluster-admin`, and returns a
    /// kubeconfig (next to the cluster's) that authenticates as it with a token valid one day.
    /// Panics when the cluster refuses any step.
    pub async fn service_account_kubeconfig(&self, name: &str) -> PathBuf {
        let client = self.client().await;
        let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), "default");
        let pp = PostParams::default();
        accounts
            .create(&pp, &from(serde_json::json!({"metadata": {"name": name}})))
            .await
            .expect("create service account");
        let bindings: Api<ClusterRoleBinding> = Api::all(client);
        let binding = serde_json::json!({
            "metadata": {"name": name},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
            "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": "default"}],
        });
        bindings.create(&pp, &from(binding)).await.expect("bind cluster-admin");
        let request: TokenRequest = from(serde_json::json!({"spec": {"expirationSeconds": 86400}}));
        let token = accounts
            .create_token_request(name, &pp, &request)
            .await
            .expect("token request")
            .status
            .expect("token in the answer")
            .token;
        // The cluster's kubeconfig with the admin's token replaced by the account's.
        let admin = std::fs::read_to_string(&self.kubeconfig).expect("kubeconfig");
        let text: String = admin
            .lines()
            .map(|l| match l.split_once("token: ") {
                Some((indent, _)) => format!("{indent}token: {token}\n"),
                None => format!("{l}\n"),
            })
            .collect();
        let path = self.dir.join(format!("kubeconfig-{name}"));
        std::fs::write(&path, text).expect("write kubeconfig");
        path
    }
}
