//! Health of Argo Rollouts' `Rollout` (`argoproj.io`), assessed by the rules of Argo CD's
//! built-in health check for that kind, so an Application holding one shows what Argo CD shows:
//! `Progressing` until the Rollouts controller has observed the spec and moved the active
//! Service to the current pod hash, `Degraded` for an invalid spec, an abort or a missed
//! progress deadline, `Suspended` while paused.
//!
//! Guarantees: pure function of the object; missing fields read as absent, never a panic.

use serde_json::Value;

/// `(status, message)` of a `Rollout`.
pub fn health(o: &Value) -> (String, String) {
    let out = |s: &str, m: &str| (s.to_string(), m.to_string());
    let status = &o["status"];
    let observed = &status["observedGeneration"];
    if observed.is_null() {
        return out("Progressing", "Waiting for rollout spec update to be observed");
    }
    // Older Rollouts write a hash here; only a number is compared.
    let observed = observed
        .as_i64()
        .or_else(|| observed.as_str().and_then(|s| s.parse().ok()));
    if observed.is_some_and(|g| Some(g) != o["metadata"]["generation"].as_i64()) {
        return out("Progressing", "Waiting for rollout spec update to be observed");
    }
    for c in status["conditions"].as_array().into_iter().flatten() {
        let (t, reason) = (c["type"].as_str().unwrap_or(""), c["reason"].as_str().unwrap_or(""));
        if t == "InvalidSpec" || (t == "Progressing" && matches!(reason, "RolloutAborted" | "ProgressDeadlineExceeded"))
        {
            return out("Degraded", c["message"].as_str().unwrap_or(""));
        }
    }
    let paused = status["pauseConditions"].as_array().is_some_and(|p| !p.is_empty()) || o["spec"]["paused"] == true;
    if paused {
        return out("Suspended", "Rollout is paused");
    }
    let Some(hash) = status["currentPodHash"].as_str() else {
        return out(
            "Progressing",
            "Waiting for rollout to finish: status has not been reconciled.",
        );
    };
    let num = |v: &Value, d: i64| v.as_i64().unwrap_or(d);
    let (desired, replicas) = (num(&o["spec"]["replicas"], 1), num(&status["replicas"], 0));
    let (updated, available) = (num(&status["updatedReplicas"], 0), num(&status["availableReplicas"], 0));
    if updated < desired {
        return out(
            "Progressing",
            "Waiting for roll out to finish: More replicas need to be updated",
        );
    }
    if available < updated {
        return out(
            "Progressing",
            "Waiting for roll out to finish: updated replicas are still becoming available",
        );
    }
    let stable = status["stableRS"]
        .as_str()
        .or_else(|| status["canary"]["stableRS"].as_str())
        .unwrap_or("");
    let strategy = &o["spec"]["strategy"];
    if strategy["blueGreen"].is_object() {
        if status["blueGreen"]["activeSelector"].as_str() != Some(hash) {
            return out("Progressing", "active service cutover pending");
        }
        if !stable.is_empty() && stable != hash {
            return out("Progressing", "waiting for analysis to complete");
        }
    } else if strategy["canary"].is_object() {
        if replicas > updated {
            return out(
                "Progressing",
                "Waiting for roll out to finish: old replicas are pending termination",
            );
        }
        if stable != hash {
            return out("Progressing", "Waiting for rollout to finish steps");
        }
    }
    out("Healthy", "")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn blue_green_rollout_as_argo_cd_assesses_it() {
        let mut r = json!({"metadata": {"generation": 2},
            "spec": {"replicas": 1, "strategy": {"blueGreen": {"activeService": "a"}}}});
        assert_eq!(health(&r).0, "Progressing");
        r["status"] = json!({"observedGeneration": "1"});
        assert_eq!(health(&r).0, "Progressing");
        r["status"] = json!({"observedGeneration": "2", "currentPodHash": "h1", "replicas": 1,
            "updatedReplicas": 1, "availableReplicas": 1, "blueGreen": {"activeSelector": "h0"}});
        assert_eq!(
            health(&r),
            ("Progressing".into(), "active service cutover pending".into())
        );
        r["status"]["blueGreen"]["activeSelector"] = json!("h1");
        assert_eq!(health(&r).0, "Healthy");
        r["status"]["pauseConditions"] = json!([{"reason": "BlueGreenPause"}]);
        assert_eq!(health(&r).0, "Suspended");
        r["status"]["conditions"] = json!([{"type": "InvalidSpec", "message": "bad"}]);
        assert_eq!(health(&r), ("Degraded".into(), "bad".into()));
    }
}
