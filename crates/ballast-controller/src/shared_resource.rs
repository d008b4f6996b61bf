//! Objects another Application tracks (Argo CD's `SharedResourceWarning`): a live object whose
//! `argocd.argoproj.io/tracking-id` names another Application is reported with Argo CD's
//! message (`<Kind>/<name> is part of applications <this> and <other>`).
//!
//! Ballast does not take such an object over: its sync task fails with that message (the
//! other objects are still synced and the operation fails), where Argo CD would apply it,
//! taking it over, and only warn. With `FailOnSharedResource=true` the whole operation fails
//! before anything is applied, with Argo CD's message `Shared resource found: <message>`.

use ballast_api::argo::Application;
use ballast_core::ObjectRef;
use serde_json::Value;

/// Argo CD's condition type.
pub const CONDITION: &str = "SharedResourceWarning";

/// The Application as Argo CD names it in messages: `<namespace>/<name>`, or the bare name in
/// the control namespace.
pub fn qualified_name(app: &Application, control_namespace: &str) -> String {
    app.instance_name(control_namespace).replacen('_', "/", 1)
}

/// The other Application tracking `live` (as `tracking` reads ownership), when it is not
/// `app_name`.
pub fn other_owner(live: &Value, app_name: &str, tracking: &crate::argo_tracking::Tracking) -> Option<String> {
    let owner = tracking.owner(live)?;
    (owner != app_name).then_some(owner)
}

/// Argo CD's message for `r`, tracked by `other`, in Application `qualified`.
pub fn message(r: &ObjectRef, qualified: &str, other: &str) -> String {
    format!(
        "{}/{} is part of applications {qualified} and {}",
        r.kind,
        r.name,
        other.replacen('_', "/", 1)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use ballast_api::argo::TRACKING_ID;
    use serde_json::json;

    #[test]
    fn another_apps_object_is_named_as_argo_cd_names_it() {
        let live = json!({"metadata": {"annotations": {TRACKING_ID: "team_web:/ConfigMap:ns/cfg"}}});
        assert_eq!(
            other_owner(&live, "web", &Default::default()).as_deref(),
            Some("team_web")
        );
        assert_eq!(other_owner(&live, "team_web", &Default::default()), None);
        assert_eq!(other_owner(&json!({"metadata": {}}), "web", &Default::default()), None);
        let r = ObjectRef::new("v1", "ConfigMap", Some("ns"), "cfg");
        assert_eq!(
            message(&r, "api", "team_web"),
            "ConfigMap/cfg is part of applications api and team/web"
        );
    }
}
