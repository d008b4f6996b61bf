//! How one object of an Argo CD sync is written, chosen by sync options as Argo CD's gitops
//! engine chooses (`syncContext.applyObject`): the Application's options (`syncPolicy.
//! syncOptions` and the operation's) and the object's own `argocd.argoproj.io/sync-options`.
//!
//! - `Replace=true`: a missing object is created; an existing one is replaced whole (an update,
//!   `kubectl replace`: fields Git lacks are removed whoever set them), conditional on the
//!   `resourceVersion` just read. With `Force=true` (per object, or the operation's
//!   `syncStrategy.apply.force`/`hook.force`) an existing object is deleted (UID precondition)
//!   and created again (`kubectl replace --force`), except a CustomResourceDefinition or a
//!   Namespace, which are only ever updated (recreating them would delete their contents).
//! - Otherwise server-side apply. With `Force=true`, a change the server refuses because a
//!   field is immutable deletes the object (UID precondition) and applies it again, as
//!   `kubectl apply --force` does.
//! - `Validate=false` (app or object): the apply asks the server to drop unknown fields
//!   (`fieldValidation=Ignore`) instead of refusing them.
//!
//! Ballast applies server-side only: `ServerSideApply=true` is what it always does, and
//! `ServerSideApply=false` (Argo CD's client-side `kubectl apply`) still applies server-side.
//!
//! Guarantees: a dry run never writes; before an object is deleted to be recreated, the object
//! that replaces it passes the server's validation and admission (a dry-run create, answered
//! `AlreadyExists` only once both passed), so an object Git holds in an invalid form is never
//! deleted; a delete always carries the UID read just before, and the object is created again
//! only once that UID is gone (bounded wait).

use std::time::Duration;

use ballast_api::argo::has_option;
use ballast_core::ObjectRef;
use ballast_kube::Cluster;
use serde_json::Value;

/// How an object is written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Mode {
    /// `Replace=true`: create or replace instead of server-side apply.
    pub replace: bool,
    /// `Force=true`: delete and create again where a change cannot be made in place.
    pub force: bool,
    /// Not `Validate=false`: unknown fields are refused.
    pub validate: bool,
}

impl Mode {
    /// The mode of `object` under the Application's `options`; `force` is the operation's
    /// `syncStrategy` force.
    pub fn of(options: &[String], force: bool, object: &Value) -> Mode {
        let own = crate::argo_sync::object_options(object);
        let app = |name: &str, value: &str| has_option(options.iter().map(String::as_str), name, value);
        let obj = |name: &str, value: &str| has_option(own.iter().map(String::as_str), name, value);
        Mode {
            replace: app("Replace", "true") || obj("Replace", "true"),
            force: force || obj("Force", "true"),
            validate: !(app("Validate", "false") || obj("Validate", "false")),
        }
    }
}

/// Kinds `Replace=true` only ever updates, never recreates.
fn never_recreated(r: &ObjectRef) -> bool {
    (r.group.is_empty() && r.kind == "Namespace")
        || (r.group == "apiextensions.k8s.io" && r.kind == "CustomResourceDefinition")
}

/// Refuses `object` unless the server would accept it as a new object: a dry-run create of an
/// existing object passes validation and admission before it is answered `AlreadyExists`, so
/// only that answer (or a success) lets a recreation delete the live object.
async fn check_recreatable(cluster: &Cluster, r: &ObjectRef, object: &Value) -> Result<(), String> {
    match cluster.create(r, object, true).await {
        Ok(_) => Ok(()),
        Err(e) if e.is_already_exists() => Ok(()),
        Err(e) => Err(format!("{e} (not recreated: the live object is kept)")),
    }
}

/// Deletes the live object with the UID read and waits until that UID is gone (at most
/// 120 s).
pub(crate) async fn delete_and_wait(cluster: &Cluster, r: &ObjectRef) -> Result<(), String> {
    cluster
        .delete_and_wait(r, None, Duration::from_secs(120))
        .await
        .map_err(|e| e.to_string())
}

/// Writes `object` (ready to apply) as `mode` says; with `dry_run` nothing is written.
/// Returns the resulting object (`Null` when a dry run could not predict it: an object
/// `Force=true` recreates) and what was done.
pub async fn write(
    cluster: &Cluster,
    r: &ObjectRef,
    object: &Value,
    mode: Mode,
    dry_run: bool,
) -> Result<(Value, &'static str), String> {
    if mode.replace {
        let live = cluster.get(r).await.map_err(|e| e.to_string())?;
        return match live {
            None => cluster
                .create(r, object, dry_run)
                .await
                .map(|o| (o, "created"))
                .map_err(|e| e.to_string()),
            Some(live) if !mode.force || never_recreated(r) => {
                let rv = live["metadata"]["resourceVersion"].as_str();
                cluster
                    .replace(r, object, rv, dry_run)
                    .await
                    .map(|o| (o, "replaced"))
                    .map_err(|e| e.to_string())
            }
            // Recreated: the object as it will be is checked as a new one (a dry-run create).
            Some(_) => {
                check_recreatable(cluster, r, object).await?;
                if dry_run {
                    return Ok((Value::Null, "replaced (recreated)"));
                }
                delete_and_wait(cluster, r).await?;
                cluster
                    .create(r, object, false)
                    .await
                    .map(|o| (o, "replaced (recreated)"))
                    .map_err(|e| e.to_string())
            }
        };
    }
    match cluster.apply_validated(r, object, dry_run, true, mode.validate).await {
        Ok(o) => Ok((o, "applied (server-side)")),
        Err(e) if mode.force && e.is_immutable() && !never_recreated(r) => {
            check_recreatable(cluster, r, object).await?;
            if dry_run {
                return Ok((Value::Null, "applied (recreated)"));
            }
            delete_and_wait(cluster, r).await?;
            cluster
                .apply_validated(r, object, false, true, mode.validate)
                .await
                .map(|o| (o, "applied (recreated)"))
                .map_err(|e| e.to_string())
        }
        Err(e) => Err(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn with(options: &str) -> Value {
        json!({"metadata": {"annotations": {"argocd.argoproj.io/sync-options": options}}})
    }

    #[test]
    fn mode_from_app_object_and_operation_options() {
        let none: Vec<String> = vec![];
        assert_eq!(
            Mode::of(&none, false, &json!({})),
            Mode {
                validate: true,
                ..Default::default()
            }
        );
        let m = Mode::of(&none, false, &with("Replace=true,Force=true"));
        assert!(m.replace && m.force && m.validate);
        let app = vec!["Replace=true".to_string(), "Validate=false".to_string()];
        let m = Mode::of(&app, false, &json!({}));
        assert!(m.replace && !m.force && !m.validate);
        // Force is per object or the operation's sync strategy, never an app-level option.
        let app = vec!["Force=true".to_string()];
        assert!(!Mode::of(&app, false, &json!({})).force);
        assert!(Mode::of(&none, true, &json!({})).force);
        assert!(!Mode::of(&none, false, &with("Validate=false")).validate);
    }

    #[test]
    fn crds_and_namespaces_are_never_recreated() {
        assert!(never_recreated(&ObjectRef::new("v1", "Namespace", None, "n")));
        assert!(never_recreated(&ObjectRef::new(
            "apiextensions.k8s.io/v1",
            "CustomResourceDefinition",
            None,
            "x.example.com"
        )));
        assert!(!never_recreated(&ObjectRef::new("batch/v1", "Job", Some("n"), "j")));
    }
}
