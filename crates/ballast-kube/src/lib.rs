//! Ballast's one boundary to the Kubernetes API server.
//!
//! [`Cluster`] wraps a `kube` client with a discovery snapshot and exposes the few verbs the engine
//! needs — get, server-side apply (real or dry-run), delete — on plain JSON objects. Objects are sent
//! as data, never round-tripped through typed structs, so fields an older server does not know are
//! never invented and fields a newer manifest has are never dropped.
//!
//! Every request goes through [`retry`]: `429` (honouring `Retry-After`) and `5xx` are retried
//! with backoff when sending the request again is safe, and is counted by verb ([`requests`]).
//! Under the retries, [`flow_control`] paces each attempt: a client-side rate limit
//! ([`token_bucket`], while the server does not run API Priority and Fairness) and an in-flight
//! limit that adapts to the server's refusals ([`adaptive_limit`]), reported in [`flow_stats`].

pub mod adaptive_limit;
mod cluster;
mod error;
pub mod flow_control;
pub mod flow_stats;
pub mod requests;
pub mod retry;
pub mod token_bucket;

pub use cluster::{Cluster, ConnectOptions, FIELD_MANAGER};
pub use error::{KubeError, conflict_managers};
pub use flow_control::ClientLimits;
pub use flow_stats::FlowStats;
pub use requests::RequestCounts;
