//! Micro-benchmarks of planning: normalize + compare, digests, the no-op check, ordering.
//!
//!   cargo bench -p ballast-plan --bench plan

use std::hint::black_box;

use ballast_core::ObjectRef;
use ballast_plan::{already_applied, apply_order, normalize_for_compare, object_digest, prepare_for_apply};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::{Value, json};

/// A desired Deployment and the live object the API server would return for it.
fn pair(i: usize) -> (Value, Value) {
    let mut desired = json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": format!("web-{i}"), "namespace": "bench", "labels": {"app": "web"}},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": format!("a{i}")}},
            "template": {"metadata": {"labels": {"app": format!("a{i}")}},
                "spec": {"containers": [{"name": "app", "image": format!("registry.invalid/app:1.{i}"),
                    "ports": [{"containerPort": 8080}], "resources": {"requests": {"cpu": "10m"}}}]}}}
    });
    prepare_for_apply(&mut desired);
    let mut live = desired.clone();
    live["metadata"]["uid"] = json!(format!("uid-{i}"));
    live["metadata"]["resourceVersion"] = json!("12345");
    live["metadata"]["managedFields"] = json!([{"manager": "ballast", "operation": "Apply", "apiVersion": "apps/v1",
        "fieldsType": "FieldsV1", "fieldsV1": {"f:metadata": {"f:labels": {"f:app": {}}},
            "f:spec": {"f:replicas": {}, "f:selector": {}, "f:template": {"f:metadata": {"f:labels": {"f:app": {}}},
                "f:spec": {"f:containers": {"k:{\"name\":\"app\"}": {".": {}, "f:image": {}, "f:name": {},
                    "f:ports": {"k:{\"containerPort\":8080,\"protocol\":\"TCP\"}": {".": {}, "f:containerPort": {}, "f:protocol": {}}},
                    "f:resources": {"f:requests": {"f:cpu": {}}}}}}}}}}]);
    live["spec"]["progressDeadlineSeconds"] = json!(600);
    live["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] = json!("IfNotPresent");
    live["status"] = json!({"replicas": 2, "readyReplicas": 2});
    (desired, live)
}

fn benches(c: &mut Criterion) {
    let pairs: Vec<(Value, Value)> = (0..1000).map(pair).collect();
    let mut g = c.benchmark_group("plan");
    g.throughput(Throughput::Elements(pairs.len() as u64));
    g.bench_function("normalize + compare 1000", |b| {
        b.iter(|| {
            pairs
                .iter()
                .filter(|(d, l)| normalize_for_compare(black_box(d)) == normalize_for_compare(black_box(l)))
                .count()
        })
    });
    g.bench_function("digest 1000", |b| {
        b.iter(|| {
            pairs
                .iter()
                .map(|(_, l)| object_digest(black_box(l)))
                .fold(0u64, u64::wrapping_add)
        })
    });
    g.bench_function("already_applied 1000", |b| {
        b.iter(|| {
            let n = pairs
                .iter()
                .filter(|(d, l)| already_applied(black_box(d), black_box(l), "ballast"))
                .count();
            assert_eq!(n, 1000);
        })
    });
    let refs: Vec<ObjectRef> = (0..1000)
        .map(|i| {
            let (v, k) = [
                ("v1", "ConfigMap"),
                ("apps/v1", "Deployment"),
                ("v1", "Namespace"),
                ("v1", "Service"),
            ][i % 4];
            ObjectRef::new(v, k, (k != "Namespace").then_some("bench"), &format!("o-{i}"))
        })
        .collect();
    g.bench_function("apply order 1000", |b| {
        b.iter(|| {
            let mut r = refs.clone();
            r.sort_by(|a, b| apply_order(a).cmp(&apply_order(b)));
            r
        })
    });
    g.finish();
}

criterion_group!(plan, benches);
criterion_main!(plan);
