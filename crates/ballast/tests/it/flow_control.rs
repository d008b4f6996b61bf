//! Flow control: `ballast sync` of a few hundred objects against a kube-apiserver that serves
//! one mutating and two reading requests at a time (API Priority and Fairness off, so its plain
//! in-flight limits answer `429` at once) applies every object without an error, and says how
//! many requests the server refused and how low the client's in-flight limit went; a controller
//! started against it shows the same on `/metrics`.

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ListParams};

use crate::support::*;

/// ConfigMaps synced.
const OBJECTS: usize = 300;

/// The numbers in `the API server refused N requests for load; in-flight limit lowered to L,
/// now M`.
fn refusal_report(stderr: &str) -> Option<(u64, u64)> {
    let line = stderr.lines().find(|l| l.starts_with("the API server refused "))?;
    let refused = line
        .strip_prefix("the API server refused ")?
        .split(' ')
        .next()?
        .parse()
        .ok()?;
    let lowest = line.split("lowered to ").nth(1)?.split(',').next()?.parse().ok()?;
    Some((refused, lowest))
}

#[test]
fn a_refusing_server_lowers_the_limit_and_everything_is_still_applied() {
    let plane = ballast_testenv::dedicated_cluster_with(&[
        "--enable-priority-and-fairness=false",
        "--max-mutating-requests-inflight=1",
        "--max-requests-inflight=2",
    ]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    // system:masters is exempt from the in-flight limits: sync as a ServiceAccount.
    let kubeconfig = rt.block_on(plane.service_account_kubeconfig("flow-control"));
    let ns = "flow-control";
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("namespace.yaml"),
        format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n"),
    )
    .unwrap();
    for i in 0..OBJECTS {
        std::fs::write(
            dir.path().join(format!("cm-{i:03}.yaml")),
            configmap(ns, &format!("c{i:03}"), "1"),
        )
        .unwrap();
    }
    let path = dir.path().display().to_string();
    // A client-side rate limit far above what the server serves: only the in-flight limit
    // stands between the applier's 32 concurrent requests and the server's one slot.
    let run = ballast_at(
        &kubeconfig,
        &[
            "--kube-api-qps=2000",
            "--kube-api-burst=2000",
            "sync",
            "--name",
            "flow",
            "--path",
            &path,
            "--inventory-namespace",
            ns,
        ],
    )
    .ok();
    let created = run.lines().iter().filter(|l| l.contains("created")).count();
    assert_eq!(created, OBJECTS + 1, "every object created: {}", run.stdout);
    let (refused, lowest) = refusal_report(&run.stderr)
        .unwrap_or_else(|| panic!("the server refused requests and the sync says so: {}", run.stderr));
    assert!(refused > 0, "{}", run.stderr);
    assert!(
        lowest < 32,
        "the limit went below the applier's concurrency: {}",
        run.stderr
    );

    let live = rt.block_on(async {
        let api: Api<ConfigMap> = Api::namespaced(plane.client().await, ns);
        api.list(&ListParams::default()).await.unwrap().items
    });
    let ours = live
        .iter()
        .filter(|c| {
            c.metadata
                .name
                .as_deref()
                .is_some_and(|n| n.starts_with('c') && n.len() == 4)
        })
        .count();
    assert_eq!(ours, OBJECTS, "every ConfigMap is live");

    // A second sync finds every ConfigMap as applied.
    let again = ballast_at(
        &kubeconfig,
        &["sync", "--name", "flow", "--path", &path, "--inventory-namespace", ns],
    )
    .ok();
    let unchanged = again
        .lines()
        .iter()
        .filter(|l| l.starts_with("ConfigMap/") && l.ends_with(" unchanged"))
        .count();
    assert_eq!(unchanged, OBJECTS, "{}", again.stdout);

    // The controller's start (CRDs installed by the same identity, then a LIST and a watch per
    // kind it reconciles) meets the same server: the metrics show the refusals and the limit.
    ballast_at(&kubeconfig, &["install"]).ok();
    let controller = ControllerProcess::start_with(&kubeconfig, ns, &[]);
    let probe = controller.probe_url();
    let metric = |text: &str, name: &str| -> Option<u64> {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
    };
    let (throttled, limit) = wait_for("the controller's flow-control metrics", 120, || {
        let (_, text) = http_get(&probe, "/metrics");
        let throttled = metric(&text, "ballast_api_throttled_total")?;
        let limit = metric(&text, "ballast_api_inflight_limit")?;
        (throttled > 0).then_some((throttled, limit))
    });
    assert!(
        limit < 256,
        "refusals lowered the limit: {limit} after {throttled} refusals"
    );
    let (_, text) = http_get(&probe, "/metrics");
    for name in [
        "ballast_api_inflight_requests",
        "ballast_api_queued_requests",
        "ballast_api_rate_limited_total",
    ] {
        assert!(metric(&text, name).is_some(), "{name} on /metrics:\n{text}");
    }
}
