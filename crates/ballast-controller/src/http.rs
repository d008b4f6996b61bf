//! `/healthz`, `/readyz`, `/metrics` and `/v1/cert.pem` (the SealedSecret certificate, as
//! sealed-secrets' controller serves it).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;

use crate::metrics::Metrics;
use crate::watch_health::WatchHealth;

/// Shared with the handlers.
#[derive(Clone)]
pub struct Probe {
    /// Set once the controllers run (this replica leads and its caches started).
    pub ready: Arc<AtomicBool>,
    /// Metrics to serve.
    pub metrics: Metrics,
    /// Watches that keep failing make the controller not ready.
    pub watches: WatchHealth,
    /// The newest SealedSecret certificate, served at `/v1/cert.pem` (404 until there is one).
    pub cert: crate::sealed_secret::CertSlot,
}

/// Serves the endpoints on `addr` until the process ends. Returns the bound address.
pub async fn serve(addr: SocketAddr, probe: Probe) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let app = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/readyz",
            get(|State(p): State<Probe>| async move {
                if !p.ready.load(Ordering::Relaxed) {
                    (StatusCode::SERVICE_UNAVAILABLE, "not leading".to_string())
                } else if let Some(problem) = p.watches.problem() {
                    (StatusCode::SERVICE_UNAVAILABLE, problem)
                } else {
                    (StatusCode::OK, "ok".to_string())
                }
            }),
        )
        .route(
            "/metrics",
            get(|State(p): State<Probe>| async move {
                ([("content-type", "text/plain; version=0.0.4")], p.metrics.encode())
            }),
        )
        .route(
            "/v1/cert.pem",
            get(|State(p): State<Probe>| async move {
                match p.cert.read().map(|c| c.clone()).unwrap_or_default() {
                    Some(pem) => (StatusCode::OK, [("content-type", "application/x-pem-file")], pem),
                    None => (
                        StatusCode::NOT_FOUND,
                        [("content-type", "text/plain")],
                        "no SealedSecret key yet".to_string(),
                    ),
                }
            }),
        )
        .with_state(probe);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(bound)
}
