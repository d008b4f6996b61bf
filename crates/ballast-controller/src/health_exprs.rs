//! Flux's `healthCheckExprs`: CEL expressions judging the health of objects of a given
//! `apiVersion` and `kind` in place of the kstatus rules.
//!
//! As Flux evaluates them: an object whose `status.observedGeneration` is present and differs
//! from `metadata.generation` is in progress; otherwise `inProgress`, `failed` and `current` (the
//! first two optional) are evaluated in that order and the first true one gives the status; none
//! true is in progress. The variables are the object's top-level fields (`metadata`, `spec`,
//! `status`, ...); the environment is the one of Receivers' `resourceFilter` (CEL's standard
//! library with optional values and the `strings` and `encoders` extensions).
//!
//! Guarantees: every expression is compiled when the Kustomization is reconciled, and a bad one
//! refuses the spec naming the entry; an evaluation error (a field not there yet) is "in
//! progress" with the error, never a panic, so the wait goes on until its timeout.

use std::sync::Arc;

use ballast_core::HealthStatus;
use cel::{Context, Env, Program, Value};

use crate::notification::filter::{MAX_DEPTH, environment, nesting};

/// Longest expression accepted, in bytes.
const MAX_LEN: usize = 4096;

/// The compiled `healthCheckExprs` of one Kustomization or HelmRelease.
pub struct HealthExprs {
    env: Arc<Env>,
    checks: Vec<Check>,
}

struct Check {
    api_version: String,
    kind: String,
    /// `inProgress`, `failed`, `current`, in evaluation order, with the status each gives.
    exprs: Vec<(Program, Verdict)>,
}

#[derive(Clone, Copy)]
enum Verdict {
    InProgress,
    Failed,
    Current,
}

impl HealthExprs {
    /// Compiles `entries` (the spec's list); `None` for an empty list. The error names the
    /// entry and the field.
    pub fn compile(entries: &[serde_json::Value]) -> Result<Option<Arc<Self>>, String> {
        if entries.is_empty() {
            return Ok(None);
        }
        let env = environment()?;
        let mut checks = Vec::new();
        for (i, e) in entries.iter().enumerate() {
            let field = |name: &str| e[name].as_str().filter(|s| !s.is_empty());
            let at = format!("spec.healthCheckExprs[{i}]");
            let (Some(api_version), Some(kind)) = (field("apiVersion"), field("kind")) else {
                return Err(format!("{at}: apiVersion and kind are required"));
            };
            if field("current").is_none() {
                return Err(format!("{at}: current is required"));
            }
            let mut exprs = Vec::new();
            for (name, verdict) in [
                ("inProgress", Verdict::InProgress),
                ("failed", Verdict::Failed),
                ("current", Verdict::Current),
            ] {
                let Some(text) = field(name) else { continue };
                if text.len() > MAX_LEN || nesting(text) > MAX_DEPTH {
                    return Err(format!(
                        "{at}.{name}: longer than {MAX_LEN} bytes or nested deeper than {MAX_DEPTH}"
                    ));
                }
                let program = env
                    .compile(text)
                    .map_err(|err| format!("{at}.{name}: does not parse: {err}"))?;
                exprs.push((program, verdict));
            }
            checks.push(Check {
                api_version: api_version.to_string(),
                kind: kind.to_string(),
                exprs,
            });
        }
        Ok(Some(Arc::new(HealthExprs {
            env: Arc::new(env),
            checks,
        })))
    }

    /// The health of `object` by the expressions of its `apiVersion` and `kind`; `None` when no
    /// entry covers it.
    pub fn status(&self, object: &serde_json::Value) -> Option<HealthStatus> {
        let check = self
            .checks
            .iter()
            .find(|c| object["apiVersion"] == c.api_version.as_str() && object["kind"] == c.kind.as_str())?;
        let observed = object.pointer("/status/observedGeneration");
        if let Some(observed) = observed
            && Some(observed) != object.pointer("/metadata/generation")
        {
            return Some(HealthStatus::InProgress(format!(
                "status.observedGeneration {observed} is not metadata.generation"
            )));
        }
        let mut context = Context::with_env(self.env.clone());
        if let Some(fields) = object.as_object() {
            for (k, v) in fields {
                if let Err(e) = context.add_variable(k.as_str(), v) {
                    return Some(HealthStatus::InProgress(format!("healthCheckExprs: {k}: {e}")));
                }
            }
        }
        for (program, verdict) in &check.exprs {
            match program.execute(&context) {
                Ok(Value::Bool(true)) => {
                    return Some(match verdict {
                        Verdict::InProgress => HealthStatus::InProgress("healthCheckExprs: inProgress is true".into()),
                        Verdict::Failed => HealthStatus::Failed("healthCheckExprs: failed is true".into()),
                        Verdict::Current => HealthStatus::Current,
                    });
                }
                Ok(Value::Bool(false)) => {}
                Ok(_) => return Some(HealthStatus::InProgress("healthCheckExprs: not a boolean".into())),
                Err(e) => return Some(HealthStatus::InProgress(format!("healthCheckExprs: {e}"))),
            }
        }
        Some(HealthStatus::InProgress("healthCheckExprs: none is true yet".into()))
    }

    /// As [`ballast_health::Rules`], for a [`ballast_health::Waiter`].
    pub fn rules(self: &Arc<Self>) -> ballast_health::Rules {
        let this = self.clone();
        Arc::new(move |o| this.status(o))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn certificate(issuing: &str, ready: &str, observed: i64) -> serde_json::Value {
        json!({"apiVersion": "cert-manager.io/v1", "kind": "Certificate",
               "metadata": {"name": "c", "generation": 2},
               "status": {"conditions": [
                   {"type": "Issuing", "status": issuing, "observedGeneration": observed},
                   {"type": "Ready", "status": ready, "observedGeneration": observed}]}})
    }

    #[test]
    fn flux_documented_certificate_check() {
        let exprs = HealthExprs::compile(&[json!({
            "apiVersion": "cert-manager.io/v1", "kind": "Certificate",
            "inProgress": "status.conditions.filter(e, e.type == 'Issuing').all(e, e.observedGeneration == metadata.generation && e.status == 'True')",
            "failed": "status.conditions.filter(e, e.type == 'Ready').all(e, e.observedGeneration == metadata.generation && e.status == 'False')",
            "current": "status.conditions.filter(e, e.type == 'Ready').all(e, e.observedGeneration == metadata.generation && e.status == 'True')"
        })])
        .unwrap()
        .unwrap();
        assert!(matches!(
            exprs.status(&certificate("True", "False", 2)),
            Some(HealthStatus::InProgress(_))
        ));
        assert!(matches!(
            exprs.status(&certificate("False", "False", 2)),
            Some(HealthStatus::Failed(_))
        ));
        assert_eq!(
            exprs.status(&certificate("False", "True", 2)),
            Some(HealthStatus::Current)
        );
        // Conditions of an older generation: none true.
        assert!(matches!(
            exprs.status(&certificate("False", "True", 1)),
            Some(HealthStatus::InProgress(_))
        ));
        // No status yet: an evaluation error is "in progress".
        let fresh = json!({"apiVersion": "cert-manager.io/v1", "kind": "Certificate", "metadata": {"generation": 1}});
        assert!(matches!(exprs.status(&fresh), Some(HealthStatus::InProgress(_))));
        // Behind its generation: in progress whatever the expressions say.
        let mut behind = certificate("False", "True", 2);
        behind["status"]["observedGeneration"] = json!(1);
        assert!(matches!(exprs.status(&behind), Some(HealthStatus::InProgress(m)) if m.contains("observedGeneration")));
        // Other kinds are not covered.
        assert_eq!(exprs.status(&json!({"apiVersion": "v1", "kind": "ConfigMap"})), None);
    }

    #[test]
    fn bad_entries_are_refused_by_name() {
        let e = |v| HealthExprs::compile(&[v]).err().unwrap();
        assert!(e(json!({"kind": "X", "current": "true"})).contains("[0]: apiVersion and kind"));
        assert!(e(json!({"apiVersion": "a/v1", "kind": "X"})).contains("current is required"));
        assert!(
            e(json!({"apiVersion": "a/v1", "kind": "X", "current": "status.("}))
                .contains("[0].current: does not parse")
        );
        assert!(HealthExprs::compile(&[]).unwrap().is_none());
    }
}
