//! Flux's per-object policies, read off the desired and the live object.
//!
//! | annotation | values | meaning |
//! |---|---|---|
//! | `kustomize.toolkit.fluxcd.io/ssa` | `Override` (default), `Merge`, `IfNotPresent`, `Ignore` | apply normally; apply but leave other tools' fields (no takeover); create only when absent; never apply |
//! | `kustomize.toolkit.fluxcd.io/force` | `Enabled`, `Disabled` (default) | recreate the object when an immutable field changed |
//! | `kustomize.toolkit.fluxcd.io/reconcile` | `disabled` on the object in Git or in the cluster (annotation or label) | neither apply nor prune it; `enabled` in Git resumes |
//! | `kustomize.toolkit.fluxcd.io/prune` | `disabled` | never prune it |
//!
//! Values are compared without regard to case, as Flux does.

use serde_json::Value;

/// The apply policy annotation.
pub const SSA_ANNOTATION: &str = "kustomize.toolkit.fluxcd.io/ssa";
/// The recreate policy annotation.
pub const FORCE_ANNOTATION: &str = "kustomize.toolkit.fluxcd.io/force";
/// The reconcile policy annotation (or label).
pub const RECONCILE_ANNOTATION: &str = "kustomize.toolkit.fluxcd.io/reconcile";

/// How one desired object is applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApplyPolicy {
    /// Apply, taking over fields of the tools Ballast succeeds (kubectl, Flux).
    Override,
    /// Apply, leaving every other manager's fields where they are.
    Merge,
    /// Create when absent; never change an existing object.
    IfNotPresent,
    /// Never apply.
    Ignore,
}

fn meta<'a>(object: &'a Value, section: &str, key: &str) -> Option<&'a str> {
    object
        .pointer(&format!("/metadata/{section}"))
        .and_then(|m| m.get(key))
        .and_then(Value::as_str)
}

fn annotation<'a>(object: &'a Value, key: &str) -> Option<&'a str> {
    meta(object, "annotations", key)
}

impl ApplyPolicy {
    /// The policy `desired` asks for (unknown values: `Override`, as Flux).
    pub fn of(desired: &Value) -> ApplyPolicy {
        match annotation(desired, SSA_ANNOTATION)
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("merge") => ApplyPolicy::Merge,
            Some("ifnotpresent") => ApplyPolicy::IfNotPresent,
            Some("ignore") => ApplyPolicy::Ignore,
            _ => ApplyPolicy::Override,
        }
    }

    /// The annotation as it reads, for messages (`kustomize.toolkit.fluxcd.io/ssa: IfNotPresent`).
    pub fn describe(self) -> String {
        let value = match self {
            ApplyPolicy::Override => "Override",
            ApplyPolicy::Merge => "Merge",
            ApplyPolicy::IfNotPresent => "IfNotPresent",
            ApplyPolicy::Ignore => "Ignore",
        };
        format!("{SSA_ANNOTATION}: {value}")
    }
}

/// True if `desired` asks to be recreated when an immutable field changed.
pub fn recreate_on_immutable(desired: &Value) -> bool {
    annotation(desired, FORCE_ANNOTATION).is_some_and(|v| v.eq_ignore_ascii_case("enabled"))
}

fn reconcile_value(object: &Value) -> Option<&str> {
    annotation(object, RECONCILE_ANNOTATION).or_else(|| meta(object, "labels", RECONCILE_ANNOTATION))
}

/// True if the object must be left alone: `reconcile: disabled` in Git, or on the live object
/// unless Git says `enabled`.
pub fn reconcile_disabled(desired: Option<&Value>, live: Option<&Value>) -> bool {
    let is = |v: Option<&str>, what: &str| v.is_some_and(|v| v.eq_ignore_ascii_case(what));
    let wanted = desired.and_then(reconcile_value);
    if is(wanted, "disabled") {
        return true;
    }
    !is(wanted, "enabled") && is(live.and_then(reconcile_value), "disabled")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn with(section: &str, key: &str, value: &str) -> Value {
        json!({"metadata": {section: {key: value}}})
    }

    #[test]
    fn policies_are_read_without_regard_to_case() {
        assert_eq!(ApplyPolicy::of(&json!({})), ApplyPolicy::Override);
        assert_eq!(
            ApplyPolicy::of(&with("annotations", SSA_ANNOTATION, "ifnotpresent")),
            ApplyPolicy::IfNotPresent
        );
        assert_eq!(
            ApplyPolicy::of(&with("annotations", SSA_ANNOTATION, "Ignore")),
            ApplyPolicy::Ignore
        );
        assert_eq!(
            ApplyPolicy::of(&with("annotations", SSA_ANNOTATION, "Merge")),
            ApplyPolicy::Merge
        );
        assert!(recreate_on_immutable(&with("annotations", FORCE_ANNOTATION, "Enabled")));
        assert!(!recreate_on_immutable(&json!({})));
    }

    #[test]
    fn reconcile_disabled_in_git_or_in_the_cluster() {
        let off = with("annotations", RECONCILE_ANNOTATION, "disabled");
        let label = with("labels", RECONCILE_ANNOTATION, "disabled");
        let on = with("annotations", RECONCILE_ANNOTATION, "enabled");
        let plain = json!({});
        assert!(reconcile_disabled(Some(&off), None));
        assert!(reconcile_disabled(Some(&plain), Some(&label)));
        assert!(!reconcile_disabled(Some(&on), Some(&off)), "enabled in Git resumes");
        assert!(!reconcile_disabled(Some(&plain), Some(&plain)));
        assert!(
            reconcile_disabled(None, Some(&off)),
            "prune side: the live object decides"
        );
    }
}
