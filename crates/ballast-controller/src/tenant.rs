//! The account an object is applied as: Flux's `serviceAccountName` (and the controller's
//! `--default-service-account`), through Kubernetes impersonation.

use ballast_kube::Cluster;
use k8s_openapi::api::core::v1::ServiceAccount;
use kube::Api;

use crate::context::Context;
use crate::error::ReconcileError;

/// The ServiceAccount a Kustomization of namespace `ns` acts as: its own `serviceAccountName`,
/// else the controller's default, else none (the controller itself).
pub fn account<'a>(ctx: &'a Context, spec: Option<&'a str>) -> Option<&'a str> {
    spec.filter(|s| !s.is_empty())
        .or(ctx.default_service_account.as_deref())
}

/// The cluster handle to apply, prune and check health with: the controller's own without an
/// account, else one impersonating `system:serviceaccount:<ns>:<account>` (in the groups
/// Kubernetes gives every ServiceAccount), so the API server allows only what that account's RBAC
/// allows. The ServiceAccount must exist: a missing one is an error naming it, as in Flux.
pub async fn cluster(ctx: &Context, ns: &str, account: Option<&str>) -> Result<Cluster, ReconcileError> {
    let Some(account) = account else {
        return Ok(ctx.cluster.clone());
    };
    let api: Api<ServiceAccount> = Api::namespaced(ctx.client.clone(), ns);
    if api.get_opt(account).await?.is_none() {
        return Err(ReconcileError::Apply(format!(
            "cannot act as ServiceAccount '{ns}/{account}': not found"
        )));
    }
    let groups = [
        "system:serviceaccounts".to_string(),
        format!("system:serviceaccounts:{ns}"),
        "system:authenticated".to_string(),
    ];
    Ok(ctx
        .cluster
        .impersonating(&format!("system:serviceaccount:{ns}:{account}"), &groups)?)
}
