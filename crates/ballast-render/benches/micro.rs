//! Micro-benchmarks of the render hot path: YAML parsing, plain rendering, Kustomize building.
//!
//!   cargo bench -p ballast-render --bench micro

use std::fs;
use std::hint::black_box;
use std::path::Path;

use ballast_render::{BuiltinScopes, RenderSpec, kustomize, render_plain, yaml::parse_stream};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

/// `n` documents: ConfigMaps, Services and Deployments in turn.
fn stream(n: usize) -> String {
    let mut s = String::new();
    for i in 0..n {
        s.push_str("---\n");
        s.push_str(&match i % 3 {
            0 => format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{i}\n  labels:\n    app: bench\ndata:\n  key: value-{i}\n  flag: \"true\"\n"),
            1 => format!("apiVersion: v1\nkind: Service\nmetadata:\n  name: svc-{i}\nspec:\n  selector:\n    app: a{i}\n  ports:\n  - port: 80\n    targetPort: 8080\n"),
            _ => format!(
                "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web-{i}\nspec:\n  replicas: 2\n  selector:\n    matchLabels:\n      app: a{i}\n  template:\n    metadata:\n      labels:\n        app: a{i}\n    spec:\n      containers:\n      - name: app\n        image: registry.invalid/app:1.{i}\n        args: [\"--port\", \"8080\"]\n        resources:\n          requests: {{cpu: 10m, memory: 16Mi}}\n"
            ),
        });
    }
    s
}

fn write(p: &Path, text: &str) {
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, text).unwrap();
}

fn benches(c: &mut Criterion) {
    let text = stream(1000);
    let mut g = c.benchmark_group("yaml");
    g.throughput(Throughput::Bytes(text.len() as u64));
    g.bench_function("parse 1000 documents", |b| {
        b.iter(|| parse_stream(black_box(&text)).unwrap())
    });
    g.finish();

    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    for f in 0..10 {
        let docs: Vec<&str> = text
            .split("---\n")
            .filter(|d| !d.is_empty())
            .skip(f)
            .step_by(10)
            .collect();
        write(&root.join(format!("plain/objects-{f}.yaml")), &docs.join("---\n"));
    }
    let spec = RenderSpec {
        path: "plain".into(),
        target_namespace: None,
        default_namespace: Some("default".into()),
        ignore: None,
        limits: Default::default(),
        decrypt: None,
    };
    let mut g = c.benchmark_group("render");
    g.throughput(Throughput::Elements(1000));
    g.bench_function("plain 1000 objects", |b| {
        b.iter(|| render_plain(root, black_box(&spec), &BuiltinScopes).unwrap())
    });
    g.finish();

    write(&root.join("app/base/objects.yaml"), &stream(6));
    write(
        &root.join("app/base/kustomization.yaml"),
        "resources:\n- objects.yaml\ncommonLabels:\n  team: a\nconfigMapGenerator:\n- name: settings\n  literals:\n  - level=info\n",
    );
    write(
        &root.join("app/overlays/prod/kustomization.yaml"),
        "namespace: prod\nnamePrefix: prod-\nresources:\n- ../../base\nimages:\n- name: registry.invalid/app\n  newTag: \"2.0\"\npatches:\n- target:\n    kind: Deployment\n  patch: |-\n    - op: replace\n      path: /spec/replicas\n      value: 3\n",
    );
    let overlay = root.join("app/overlays/prod");
    c.bench_function("kustomize/small overlay", |b| {
        b.iter(|| kustomize::build(root, black_box(&overlay)).unwrap())
    });
}

criterion_group!(micro, benches);
criterion_main!(micro);
