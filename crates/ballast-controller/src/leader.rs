//! Leader election on a `coordination.k8s.io/v1` Lease, so two replicas never both act.
//!
//! The holder renews the lease every `renew` interval; another candidate takes it only when it
//! has not been renewed for `duration`. Updates use the lease's resourceVersion, so two
//! candidates cannot both win the same round.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use kube::api::{Api, PostParams};
use serde_json::json;

/// Lease settings.
#[derive(Clone, Debug)]
pub struct LeaseConfig {
    /// Namespace of the Lease.
    pub namespace: String,
    /// Name of the Lease.
    pub name: String,
    /// This candidate's identity.
    pub identity: String,
    /// How long a lease is valid without renewal.
    pub duration: Duration,
    /// How often the holder renews.
    pub renew: Duration,
}

/// Tries once to acquire or renew the lease. Returns true if we hold it afterwards.
pub async fn try_acquire(api: &Api<Lease>, cfg: &LeaseConfig) -> Result<bool, kube::Error> {
    let now = jiff::Timestamp::now();
    let spec = |transitions: i32, acquire: Option<MicroTime>| {
        json!({
            "holderIdentity": cfg.identity,
            "leaseDurationSeconds": cfg.duration.as_secs(),
            "acquireTime": acquire.unwrap_or(MicroTime(now)),
            "renewTime": MicroTime(now),
            "leaseTransitions": transitions,
        })
    };
    let Some(lease) = api.get_opt(&cfg.name).await? else {
        let lease: Lease = serde_json::from_value(json!({
            "metadata": {"name": cfg.name, "namespace": cfg.namespace},
            "spec": spec(0, None),
        }))
        .map_err(kube::Error::SerdeError)?;
        return match api.create(&PostParams::default(), &lease).await {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
            Err(e) => Err(e),
        };
    };
    let s = lease.spec.clone().unwrap_or_default();
    let holder = s.holder_identity.clone().unwrap_or_default();
    let renewed = s
        .renew_time
        .as_ref()
        .map(|t| t.0)
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    let valid_for = s.lease_duration_seconds.unwrap_or(15) as i64;
    let expired = now.as_second() - renewed.as_second() > valid_for;
    if holder != cfg.identity && !holder.is_empty() && !expired {
        return Ok(false);
    }
    let transitions = s.lease_transitions.unwrap_or(0) + i32::from(holder != cfg.identity);
    let acquire = if holder == cfg.identity {
        s.acquire_time.clone()
    } else {
        None
    };
    let mut updated = lease.clone();
    updated.spec = Some(serde_json::from_value(spec(transitions, acquire)).map_err(kube::Error::SerdeError)?);
    match api.replace(&cfg.name, &PostParams::default(), &updated).await {
        Ok(_) => Ok(true),
        Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
        Err(e) => Err(e),
    }
}
