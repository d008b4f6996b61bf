//! Unified diffs of objects, with Secret values masked.

use ballast_core::ObjectRef;
use serde_json::{Map, Value};
use similar::TextDiff;

/// Replaces the values of a Secret's `data` and `stringData` with a mask, in both versions at
/// once, so a diff shows *which* keys changed but never their content:
/// unchanged values become `***`, changed ones `*** (before)` / `*** (after)`. The
/// `kubectl.kubernetes.io/last-applied-configuration` annotation (which holds the data in clear)
/// is masked the same way. Non-Secrets are returned unchanged.
pub fn mask_secret(before: Option<&Value>, after: Option<&Value>) -> (Option<Value>, Option<Value>) {
    let is_secret = |v: Option<&Value>| {
        v.is_some_and(|v| {
            v.get("kind").and_then(Value::as_str) == Some("Secret")
                && v.get("apiVersion").and_then(Value::as_str) == Some("v1")
        })
    };
    if !is_secret(before) && !is_secret(after) {
        return (before.cloned(), after.cloned());
    }
    let mut b = before.cloned();
    let mut a = after.cloned();
    for field in ["data", "stringData"] {
        let bm = b
            .as_ref()
            .and_then(|v| v.get(field))
            .and_then(Value::as_object)
            .cloned();
        let am = a
            .as_ref()
            .and_then(|v| v.get(field))
            .and_then(Value::as_object)
            .cloned();
        if let Some(v) = b.as_mut() {
            mask_map(v, field, bm.as_ref(), am.as_ref(), "(before)");
        }
        if let Some(v) = a.as_mut() {
            mask_map(v, field, am.as_ref(), bm.as_ref(), "(after)");
        }
    }
    for v in [b.as_mut(), a.as_mut()].into_iter().flatten() {
        if let Some(Value::Object(ann)) = v.pointer_mut("/metadata/annotations")
            && let Some(x) = ann.get_mut("kubectl.kubernetes.io/last-applied-configuration")
        {
            *x = Value::String("***".into());
        }
    }
    (b, a)
}

fn mask_map(
    v: &mut Value,
    field: &str,
    mine: Option<&Map<String, Value>>,
    other: Option<&Map<String, Value>>,
    tag: &str,
) {
    let Some(mine) = mine else { return };
    let masked: Map<String, Value> = mine
        .iter()
        .map(|(k, val)| {
            let same = other.and_then(|o| o.get(k)) == Some(val);
            let text = if same { "***".to_string() } else { format!("*** {tag}") };
            (k.clone(), Value::String(text))
        })
        .collect();
    v[field] = Value::Object(masked);
}

/// A unified diff from `live` to `desired` (either may be absent: create or prune), with headers
/// naming the object; empty when they are equal. Values are rendered as YAML by `to_yaml`.
pub fn unified_diff(
    object: &ObjectRef,
    live: Option<&Value>,
    desired: Option<&Value>,
    to_yaml: &dyn Fn(&Value) -> String,
) -> String {
    unified_diff_with_context(object, live, desired, to_yaml, 3)
}

/// [`unified_diff`] with `context` lines around each change (`diff -U`).
pub fn unified_diff_with_context(
    object: &ObjectRef,
    live: Option<&Value>,
    desired: Option<&Value>,
    to_yaml: &dyn Fn(&Value) -> String,
    context: usize,
) -> String {
    let (live, desired) = mask_secret(live, desired);
    let a = live.as_ref().map(to_yaml).unwrap_or_default();
    let b = desired.as_ref().map(to_yaml).unwrap_or_default();
    if a == b {
        return String::new();
    }
    let header_a = if live.is_some() {
        format!("live/{object}")
    } else {
        "/dev/null".into()
    };
    let header_b = if desired.is_some() {
        format!("desired/{object}")
    } else {
        "/dev/null".into()
    };
    TextDiff::from_lines(&a, &b)
        .unified_diff()
        .context_radius(context)
        .header(&header_a, &header_b)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn yaml(v: &Value) -> String {
        serde_json::to_string_pretty(v).unwrap() + "\n"
    }

    #[test]
    fn secrets_never_show_their_values() {
        let live = json!({"apiVersion": "v1", "kind": "Secret", "data": {"a": "c2VjcmV0MQ==", "b": "c2FtZQ=="},
            "metadata": {"annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{\"data\":{\"a\":\"c2VjcmV0MQ==\"}}"}}});
        let desired = json!({"apiVersion": "v1", "kind": "Secret", "data": {"a": "c2VjcmV0Mg==", "b": "c2FtZQ=="}, "stringData": {"p": "hunter2"}});
        let r = ObjectRef::new("v1", "Secret", Some("d"), "s");
        let d = unified_diff(&r, Some(&live), Some(&desired), &yaml);
        assert!(
            !d.contains("c2VjcmV0") && !d.contains("c2FtZQ") && !d.contains("hunter2"),
            "{d}"
        );
        assert!(d.contains("*** (before)") && d.contains("*** (after)"), "{d}");
        let d = unified_diff(&r, None, Some(&desired), &yaml);
        assert!(
            !d.contains("hunter2") && d.contains("+++ desired/Secret/d/s") && d.contains("--- /dev/null"),
            "{d}"
        );
    }

    #[test]
    fn equal_objects_give_an_empty_diff() {
        let v = json!({"apiVersion": "v1", "kind": "ConfigMap", "data": {"a": "1"}});
        let r = ObjectRef::new("v1", "ConfigMap", Some("d"), "c");
        assert!(unified_diff(&r, Some(&v), Some(&v), &yaml).is_empty());
        let w = json!({"apiVersion": "v1", "kind": "ConfigMap", "data": {"a": "2"}});
        let d = unified_diff(&r, Some(&v), Some(&w), &yaml);
        assert!(d.contains("-  \"data\"") || d.contains("-    \"a\": \"1\""), "{d}");
    }
}
