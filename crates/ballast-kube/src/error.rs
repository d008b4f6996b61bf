//! Errors that start with the object.

/// A failed call to the API server. Every message starts with the object (`Kind/ns/name`).
#[derive(Debug, thiserror::Error)]
pub enum KubeError {
    /// No kubeconfig, bad context, or the server cannot be reached.
    #[error("cannot connect to the cluster: {0}")]
    Connect(String),
    /// Discovery failed.
    #[error("API discovery failed: {0}")]
    Discovery(String),
    /// The server serves no such kind.
    #[error("{object}: unknown kind {api_version} {kind}: the cluster serves no such API")]
    UnknownKind {
        /// `Kind/ns/name`.
        object: String,
        /// apiVersion.
        api_version: String,
        /// Kind.
        kind: String,
    },
    /// Server-side apply found fields owned by another field manager.
    #[error("{object}: {verb} failed (Conflict): {message}")]
    Conflict {
        /// `Kind/ns/name`.
        object: String,
        /// `apply` or `dry-run`.
        verb: &'static str,
        /// The server's message, which names the other managers and the fields.
        message: String,
    },
    /// Any other refusal by the server.
    #[error("{object}: {verb} failed ({reason}): {message}")]
    Api {
        /// `Kind/ns/name`.
        object: String,
        /// `get`, `apply`, `dry-run`, `delete`.
        verb: &'static str,
        /// Status reason (`Invalid`, `Forbidden`, `NotFound`...).
        reason: String,
        /// HTTP status code.
        code: u16,
        /// The server's message.
        message: String,
    },
    /// Transport or decoding failure.
    #[error("{object}: {verb} failed: {message}")]
    Transport {
        /// `Kind/ns/name`.
        object: String,
        /// The verb.
        verb: &'static str,
        /// What happened.
        message: String,
    },
}

impl KubeError {
    pub(crate) fn from_kube(object: String, verb: &'static str, e: kube::Error) -> Self {
        match e {
            kube::Error::Api(s) if s.code == 409 && s.reason == "Conflict" && s.message.contains("conflict") => {
                KubeError::Conflict {
                    object,
                    verb,
                    message: s.message.clone(),
                }
            }
            kube::Error::Api(s) => KubeError::Api {
                object,
                verb,
                reason: if s.reason.is_empty() {
                    "Unknown".into()
                } else {
                    s.reason.clone()
                },
                code: s.code,
                message: s.message.clone(),
            },
            other => KubeError::Transport {
                object,
                verb,
                message: other.to_string(),
            },
        }
    }

    /// True for a 404.
    pub fn is_not_found(&self) -> bool {
        matches!(self, KubeError::Api { code: 404, .. })
    }

    /// True for a 409 `AlreadyExists` (a create of an object that exists).
    pub fn is_already_exists(&self) -> bool {
        matches!(self, KubeError::Api { code: 409, reason, .. } if reason == "AlreadyExists")
    }

    /// True when the server refused a change to a field that cannot change once set (a Job's
    /// template, a Service's `clusterIP`, a Deployment's selector, most of a StatefulSet's spec):
    /// only deleting and creating the object again applies it.
    pub fn is_immutable(&self) -> bool {
        let KubeError::Api { code: 422, message, .. } = self else {
            return false;
        };
        let m = message.to_ascii_lowercase();
        [
            "field is immutable",
            "is immutable",
            "are forbidden",
            "may not be changed",
            "may not change once set",
            "cannot be changed",
        ]
        .iter()
        .any(|p| m.contains(p))
    }

    /// True when a UID or resourceVersion precondition did not hold (the object was replaced).
    pub fn is_precondition_failed(&self) -> bool {
        matches!(self, KubeError::Api { code: 409, message, .. } if message.to_ascii_lowercase().contains("precondition"))
    }
}

/// Field managers named in a server-side apply conflict message, e.g.
/// `Apply failed with 1 conflict: conflict with "kubectl" using apps/v1: .spec.replicas`.
pub fn conflict_managers(message: &str) -> Vec<String> {
    let mut out = Vec::new();
    for marker in ["conflict with \"", "conflicts with \""] {
        let mut rest = message;
        while let Some(i) = rest.find(marker) {
            rest = &rest[i + marker.len()..];
            if let Some(end) = rest.find('"') {
                let m = rest[..end].to_string();
                if !out.contains(&m) {
                    out.push(m);
                }
                rest = &rest[end..];
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn managers_from_conflict_messages() {
        let m = "Apply failed with 1 conflict: conflict with \"kubectl\" using apps/v1: .spec.replicas";
        assert_eq!(conflict_managers(m), ["kubectl"]);
        let m = "Apply failed with 2 conflicts: conflicts with \"a\":\n- .x\nconflicts with \"b\" using v1:\n- .y";
        assert_eq!(conflict_managers(m), ["a", "b"]);
    }

    #[test]
    fn immutable_refusals_are_recognised() {
        let api = |code: u16, message: &str| KubeError::Api {
            object: "X/y".into(),
            verb: "dry-run",
            reason: "Invalid".into(),
            code,
            message: message.into(),
        };
        assert!(
            api(
                422,
                "Job.batch \"m\" is invalid: spec.template: Invalid value: ...: field is immutable"
            )
            .is_immutable()
        );
        assert!(
            api(
                422,
                "spec.clusterIPs[0]: Invalid value: []string{\"10.96.0.9\"}: may not change once set"
            )
            .is_immutable()
        );
        assert!(!api(422, "metadata.name: Invalid value").is_immutable());
        assert!(!api(409, "field is immutable").is_immutable());
    }
}
