//! Flow control: `ballast sync` of a few hundred objects against a kube-apiserver that serves
//! one mutating and two reading requests at a time (API Priority and Fairness off, so its plain
//! in-flight limits answer `429` at once) applies every object without an error, and says how
//! many requests the server refused and how low the client's in-flight limit went; a controller
//! started against it shows the same on `/metrics`. The client-side rate limit paces a server
//! without API Priority and Fairness and stands down for one that has it.

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ListParams};

use crate::support::*;

/// ConfigMaps synced.
const OBJECTS: usize = 300;

/// `N` in `N requests waited for the client-side rate limit` (0 when the line is absent).
fn rate_limited(stderr: &str) -> u64 {
    stderr
        .lines()
        .find_map(|l| {
            l.strip_suffix(" requests waited for the client-side rate limit (--kube-api-qps, --kube-api-burst)")
        })
        .map_or(0, |n| n.parse().unwrap_or(0))
}

/// Writes `n` ConfigMaps of namespace `ns` into a new directory, and the Namespace itself when
/// `with_namespace`.
fn configmaps(ns: &str, n: usize, with_namespace: bool) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    if with_namespace {
        let namespace = format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n");
        std::fs::write(dir.path().join("namespace.yaml"), namespace).unwrap();
    }
    for i in 0..n {
        std::fs::write(
            dir.path().join(format!("cm-{i:03}.yaml")),
            configmap(ns, &format!("c{i:03}"), "1"),
        )
        .unwrap();
    }
    dir
}

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
    let dir = configmaps(ns, OBJECTS, true);
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

#[test]
fn the_client_side_rate_limit_paces_a_server_without_fairness_only() {
    const N: usize = 40;
    let flags = ["--kube-api-qps=50", "--kube-api-burst=1"];
    // A server without API Priority and Fairness: requests after the first wait their turn
    // (discovery, the inventory, a dry-run and an apply per object: over 2 x N requests, most
    // sent 32 at a time).
    let plane = ballast_testenv::dedicated_cluster_with(&["--enable-priority-and-fairness=false"]);
    let ns = "rate-limit";
    let dir = configmaps(ns, N, true);
    let sync = |kubeconfig: &std::path::Path, dir: &tempfile::TempDir, ns: &str| {
        let path = dir.path().display().to_string();
        let mut args = flags.to_vec();
        args.extend(["sync", "--name", "paced", "--path", &path, "--inventory-namespace", ns]);
        ballast_at(kubeconfig, &args).ok()
    };
    let run = sync(&plane.kubeconfig, &dir, ns);
    assert_eq!(
        run.lines().iter().filter(|l| l.ends_with(" created")).count(),
        N + 1,
        "{}",
        run.stdout
    );
    let paced = rate_limited(&run.stderr);
    assert!(paced >= N as u64, "{paced} requests paced: {}", run.stderr);

    // The shared server runs API Priority and Fairness: once its first answer shows it, nothing
    // more waits (only the discovery requests sent before any answer may have).
    let ns = namespace("rate-limit");
    let dir = configmaps(&ns, N, false);
    let run = sync(&env().kubeconfig, &dir, &ns);
    assert_eq!(
        run.lines().iter().filter(|l| l.ends_with(" created")).count(),
        N,
        "{}",
        run.stdout
    );
    let paced = rate_limited(&run.stderr);
    assert!(
        paced <= 3,
        "{paced} requests paced on a server with fairness: {}",
        run.stderr
    );
}
