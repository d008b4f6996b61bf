//! Health of Kubernetes objects with kstatus semantics, and a [`Waiter`] that polls until every
//! object is healthy or a deadline passes.
//!
//! Per kind: Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, Pod, PersistentVolumeClaim,
//! Service, CustomResourceDefinition, Namespace; any other object is judged by its `Ready` and
//! `Stalled` conditions, and is healthy when it has neither (like kstatus); a custom resource
//! (a group with a dot, not `*.k8s.io`) with no `status` at all is in progress, as its controller
//! has not looked at it yet (a nested Kustomization just created is not healthy). Every object
//! first needs `status.observedGeneration` to have caught up with `metadata.generation`, when it
//! reports one.

use std::time::{Duration, Instant};

use ballast_core::{HealthReport, HealthStatus, ObjectRef};
use ballast_kube::Cluster;
use serde_json::Value;

/// The health of one live object.
pub fn health(object: &Value) -> HealthStatus {
    use HealthStatus::{Current, Failed, InProgress};
    if object.pointer("/metadata/deletionTimestamp").is_some() {
        return InProgress("being deleted".into());
    }
    let generation = int(object, "/metadata/generation");
    let observed = int(object, "/status/observedGeneration");
    if let (Some(g), Some(o)) = (generation, observed)
        && o < g
    {
        return InProgress(format!("generation {g} not yet observed (at {o})"));
    }
    let group = object["apiVersion"]
        .as_str()
        .unwrap_or("")
        .rsplit_once('/')
        .map(|(g, _)| g)
        .unwrap_or("");
    let kind = object["kind"].as_str().unwrap_or("");
    match (group, kind) {
        ("apps", "Deployment") => deployment(object),
        ("apps", "StatefulSet") => statefulset(object),
        ("apps", "DaemonSet") => daemonset(object),
        ("apps", "ReplicaSet") | ("", "ReplicationController") => replicaset(object),
        ("batch", "Job") => job(object),
        ("", "Pod") => pod(object),
        ("", "PersistentVolumeClaim") => match str_at(object, "/status/phase") {
            Some("Bound") => Current,
            other => InProgress(format!("phase {}", other.unwrap_or("Pending"))),
        },
        ("", "Service") => {
            let lb = str_at(object, "/spec/type") == Some("LoadBalancer");
            let has_ingress = object
                .pointer("/status/loadBalancer/ingress")
                .and_then(Value::as_array)
                .is_some_and(|a| !a.is_empty());
            if lb && !has_ingress {
                InProgress("load balancer has no address yet".into())
            } else {
                Current
            }
        }
        ("apiextensions.k8s.io", "CustomResourceDefinition") => {
            if condition(object, "NamesAccepted").is_some_and(|(s, _)| s == "False") {
                Failed(condition(object, "NamesAccepted").map(|(_, m)| m).unwrap_or_default())
            } else if condition(object, "Established").is_some_and(|(s, _)| s == "True") {
                Current
            } else {
                InProgress("not yet Established".into())
            }
        }
        ("", "Namespace") => match str_at(object, "/status/phase") {
            Some("Active") => Current,
            other => InProgress(format!("phase {}", other.unwrap_or("unknown"))),
        },
        _ if custom_group(group) && object.get("status").is_none_or(Value::is_null) => {
            InProgress("no status yet: its controller has not reconciled it".into())
        }
        _ => generic(object),
    }
}

/// True for the group of a custom resource: CRD groups have a dot; the built-in groups with one
/// end in `.k8s.io`.
fn custom_group(group: &str) -> bool {
    group.contains('.') && !group.ends_with(".k8s.io")
}

fn generic(object: &Value) -> HealthStatus {
    if let Some(("True", m)) = condition(object, "Stalled")
        .as_ref()
        .map(|(s, m)| (s.as_str(), m.clone()))
    {
        return HealthStatus::Failed(format!("Stalled: {m}"));
    }
    if let Some((s, m)) = condition(object, "Reconciling")
        && s == "True"
    {
        return HealthStatus::InProgress(format!("Reconciling: {m}"));
    }
    match condition(object, "Ready") {
        Some((s, _)) if s == "True" => HealthStatus::Current,
        Some((s, m)) if s == "False" => HealthStatus::InProgress(format!("Ready=False: {m}")),
        Some((_, m)) => HealthStatus::InProgress(format!("Ready=Unknown: {m}")),
        None => HealthStatus::Current,
    }
}

fn deployment(o: &Value) -> HealthStatus {
    let want = int(o, "/spec/replicas").unwrap_or(1);
    if let Some((_, m)) =
        condition(o, "Progressing").filter(|_| reason(o, "Progressing") == Some("ProgressDeadlineExceeded"))
    {
        return HealthStatus::Failed(format!("progress deadline exceeded: {m}"));
    }
    let updated = int(o, "/status/updatedReplicas").unwrap_or(0);
    let total = int(o, "/status/replicas").unwrap_or(0);
    let available = int(o, "/status/availableReplicas").unwrap_or(0);
    if updated < want {
        HealthStatus::InProgress(format!("{updated}/{want} replicas updated"))
    } else if total > updated {
        HealthStatus::InProgress(format!("{} old replicas pending termination", total - updated))
    } else if available < want {
        HealthStatus::InProgress(format!("{available}/{want} replicas available"))
    } else {
        HealthStatus::Current
    }
}

fn statefulset(o: &Value) -> HealthStatus {
    let want = int(o, "/spec/replicas").unwrap_or(1);
    let ready = int(o, "/status/readyReplicas").unwrap_or(0);
    if ready < want {
        return HealthStatus::InProgress(format!("{ready}/{want} replicas ready"));
    }
    let rolling = str_at(o, "/spec/updateStrategy/type").unwrap_or("RollingUpdate") == "RollingUpdate";
    let (cur, upd) = (
        str_at(o, "/status/currentRevision"),
        str_at(o, "/status/updateRevision"),
    );
    if rolling && upd.is_some() && cur != upd {
        return HealthStatus::InProgress("rolling update in progress".into());
    }
    HealthStatus::Current
}

fn daemonset(o: &Value) -> HealthStatus {
    let desired = int(o, "/status/desiredNumberScheduled").unwrap_or(0);
    let updated = int(o, "/status/updatedNumberScheduled").unwrap_or(0);
    let available = int(o, "/status/numberAvailable").unwrap_or(0);
    if o.pointer("/status/desiredNumberScheduled").is_none() {
        HealthStatus::InProgress("not yet scheduled".into())
    } else if updated < desired {
        HealthStatus::InProgress(format!("{updated}/{desired} pods updated"))
    } else if available < desired {
        HealthStatus::InProgress(format!("{available}/{desired} pods available"))
    } else {
        HealthStatus::Current
    }
}

fn replicaset(o: &Value) -> HealthStatus {
    if let Some(("True", m)) = condition(o, "ReplicaFailure")
        .as_ref()
        .map(|(s, m)| (s.as_str(), m.clone()))
    {
        return HealthStatus::Failed(m);
    }
    let want = int(o, "/spec/replicas").unwrap_or(1);
    let available = int(o, "/status/availableReplicas").unwrap_or(0);
    if available < want {
        HealthStatus::InProgress(format!("{available}/{want} replicas available"))
    } else {
        HealthStatus::Current
    }
}

fn job(o: &Value) -> HealthStatus {
    if condition(o, "Failed").is_some_and(|(s, _)| s == "True") {
        return HealthStatus::Failed(condition(o, "Failed").map(|(_, m)| m).unwrap_or_default());
    }
    if condition(o, "Complete").is_some_and(|(s, _)| s == "True") {
        return HealthStatus::Current;
    }
    let succeeded = int(o, "/status/succeeded").unwrap_or(0);
    let want = int(o, "/spec/completions").unwrap_or(1);
    HealthStatus::InProgress(format!("{succeeded}/{want} completions"))
}

fn pod(o: &Value) -> HealthStatus {
    match str_at(o, "/status/phase") {
        Some("Succeeded") => HealthStatus::Current,
        Some("Failed") => HealthStatus::Failed(str_at(o, "/status/message").unwrap_or("pod failed").to_string()),
        Some("Running") if condition(o, "Ready").is_some_and(|(s, _)| s == "True") => HealthStatus::Current,
        Some("Running") => HealthStatus::InProgress("running, not ready".into()),
        other => HealthStatus::InProgress(format!("phase {}", other.unwrap_or("Pending"))),
    }
}

fn int(o: &Value, path: &str) -> Option<i64> {
    o.pointer(path).and_then(Value::as_i64)
}

fn str_at<'a>(o: &'a Value, path: &str) -> Option<&'a str> {
    o.pointer(path).and_then(Value::as_str)
}

fn find_condition<'a>(o: &'a Value, kind: &str) -> Option<&'a Value> {
    o.pointer("/status/conditions")?
        .as_array()?
        .iter()
        .find(|c| c.get("type").and_then(Value::as_str) == Some(kind))
}

/// (status, message) of a condition.
fn condition(o: &Value, kind: &str) -> Option<(String, String)> {
    let c = find_condition(o, kind)?;
    Some((
        c.get("status").and_then(Value::as_str).unwrap_or("Unknown").to_string(),
        c.get("message").and_then(Value::as_str).unwrap_or("").to_string(),
    ))
}

fn reason<'a>(o: &'a Value, kind: &str) -> Option<&'a str> {
    find_condition(o, kind)?.get("reason").and_then(Value::as_str)
}

/// Health rules that replace [`health`] for some objects (Flux's `healthCheckExprs`): `None`
/// for an object they do not cover.
pub type Rules = std::sync::Arc<dyn Fn(&Value) -> Option<HealthStatus> + Send + Sync>;

/// Polls objects until all are healthy or the timeout passes.
pub struct Waiter<'a> {
    cluster: &'a Cluster,
    /// Time between polls.
    pub interval: Duration,
    rules: Option<Rules>,
}

impl<'a> Waiter<'a> {
    /// A waiter polling every 500 ms.
    pub fn new(cluster: &'a Cluster) -> Self {
        Waiter {
            cluster,
            interval: Duration::from_millis(500),
            rules: None,
        }
    }

    /// Judges the objects `rules` covers by them instead of [`health`].
    pub fn with_rules(mut self, rules: Option<Rules>) -> Self {
        self.rules = rules;
        self
    }

    /// Waits until every object is [`HealthStatus::Current`] or `timeout` passes; returns the last
    /// status of each. Errors reading an object count as that object's status.
    pub async fn wait(&self, refs: &[ObjectRef], timeout: Duration) -> HealthReport {
        let deadline = Instant::now() + timeout;
        loop {
            let mut report = HealthReport::default();
            for r in refs {
                let status = match self.cluster.get(r).await {
                    Ok(Some(o)) => self.rules.as_ref().and_then(|r| r(&o)).unwrap_or_else(|| health(&o)),
                    Ok(None) => HealthStatus::NotFound,
                    Err(e) => HealthStatus::InProgress(e.to_string()),
                };
                report.objects.push((r.clone(), status));
            }
            if report.all_healthy() || Instant::now() >= deadline {
                return report;
            }
            tokio::time::sleep(self.interval).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn deployment_needs_available_replicas() {
        let d = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"generation": 2},
            "spec": {"replicas": 3}, "status": {"observedGeneration": 2, "replicas": 3, "updatedReplicas": 3, "availableReplicas": 1}});
        assert_eq!(health(&d), HealthStatus::InProgress("1/3 replicas available".into()));
        let mut ok = d.clone();
        ok["status"]["availableReplicas"] = json!(3);
        assert!(health(&ok).is_current());
        let mut stale = ok.clone();
        stale["status"]["observedGeneration"] = json!(1);
        assert!(matches!(health(&stale), HealthStatus::InProgress(m) if m.contains("generation 2")));
    }

    #[test]
    fn custom_resources_follow_ready_and_stalled() {
        let cr =
            |conds: Value| json!({"apiVersion": "example.com/v1", "kind": "Widget", "status": {"conditions": conds}});
        assert!(health(&cr(json!([]))).is_current());
        assert!(health(&cr(json!([{"type": "Ready", "status": "True"}]))).is_current());
        assert!(matches!(
            health(&cr(json!([{"type": "Ready", "status": "False", "message": "x"}]))),
            HealthStatus::InProgress(_)
        ));
        assert!(matches!(
            health(&cr(json!([{"type": "Stalled", "status": "True", "message": "bad"}]))),
            HealthStatus::Failed(_)
        ));
    }

    #[test]
    fn a_custom_resource_without_status_or_behind_its_generation_is_in_progress() {
        let ks = json!({"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
            "metadata": {"generation": 1}});
        assert!(matches!(health(&ks), HealthStatus::InProgress(m) if m.contains("no status")));
        let behind = json!({"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
            "metadata": {"generation": 2}, "status": {"observedGeneration": 1,
            "conditions": [{"type": "Ready", "status": "True"}]}});
        assert!(matches!(health(&behind), HealthStatus::InProgress(m) if m.contains("generation 2")));
        let reconciling = json!({"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
            "metadata": {"generation": 1}, "status": {"conditions": [{"type": "Ready", "status": "Unknown"}]}});
        assert!(matches!(health(&reconciling), HealthStatus::InProgress(_)));
        // Built-in objects without a status are still healthy.
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}});
        assert!(health(&cm).is_current());
        let role = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role"});
        assert!(health(&role).is_current());
    }

    #[test]
    fn jobs_pods_pvcs_crds_namespaces() {
        let job = json!({"apiVersion": "batch/v1", "kind": "Job", "status": {"conditions": [{"type": "Failed", "status": "True", "message": "BackoffLimitExceeded"}]}});
        assert_eq!(health(&job), HealthStatus::Failed("BackoffLimitExceeded".into()));
        let pod = json!({"apiVersion": "v1", "kind": "Pod", "status": {"phase": "Pending"}});
        assert_eq!(health(&pod), HealthStatus::InProgress("phase Pending".into()));
        let pvc = json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "status": {"phase": "Bound"}});
        assert!(health(&pvc).is_current());
        let crd = json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "status": {"conditions": [{"type": "Established", "status": "True"}]}});
        assert!(health(&crd).is_current());
        let ns = json!({"apiVersion": "v1", "kind": "Namespace", "status": {"phase": "Terminating"}});
        assert!(!health(&ns).is_current());
        let svc = json!({"apiVersion": "v1", "kind": "Service", "spec": {"type": "ClusterIP"}});
        assert!(health(&svc).is_current());
        let sts = json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "spec": {"replicas": 2}, "status": {"readyReplicas": 1}});
        assert_eq!(health(&sts), HealthStatus::InProgress("1/2 replicas ready".into()));
        let ds = json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "status": {"desiredNumberScheduled": 2, "updatedNumberScheduled": 2, "numberAvailable": 2}});
        assert!(health(&ds).is_current());
    }
}
