//! Flux fidelity of a Kustomization's overrides, `targetNamespace` above all: every case under
//! `tests/fixtures/flux_overrides/<case>/` renders `repo/` as the controller does (without a
//! kustomization file in `repo/`: the shared render of the path, then
//! [`kustomize::apply_overrides`] with the Kustomization-level fields of `overrides.json`,
//! `targetNamespace` as `namespace`; with one: [`render_with_overrides`], the fields merged into
//! that file in memory, then `commonMetadata` on top; then [`plain::settle_namespaces`]) and must
//! give, field for field, the objects in `expected.yaml`.
//!
//! `expected.yaml` is the reference's output, committed: `regen.sh` in that directory copies
//! `repo/`, writes there the kustomization file Flux's kustomize-controller would write for those
//! fields (`flux-kustomization.yaml`: the generated resource list, or the path's own file, with
//! `namespace`, `namePrefix`, `nameSuffix` set, patches (the deprecated `patchesStrategicMerge`
//! and `patchesJson6902` in their own fields) and components appended, components that do not
//! exist left out under `ignoreMissingComponents`, images merged by name; `commonMetadata`, which Flux sets after the build, as a metadata-only `labels` entry) and runs the reference
//! `kubectl kustomize` (kustomize v5.7.1) on it without network.

use std::path::Path;

use ballast_render::yaml::parse_stream;
use ballast_render::{BuiltinScopes, RenderSpec, kustomize, plain, render_plain, render_with_overrides};
use serde_json::Value;

fn key(v: &Value) -> String {
    let s = |p: &str| v.pointer(p).and_then(Value::as_str).unwrap_or("").to_string();
    format!(
        "{}/{}/{}/{}",
        s("/apiVersion"),
        s("/kind"),
        s("/metadata/namespace"),
        s("/metadata/name")
    )
}

fn sorted(mut v: Vec<Value>) -> Vec<Value> {
    v.sort_by_key(key);
    v
}

fn ballast(case: &Path) -> Vec<Value> {
    let repo = case.join("repo");
    let mut overrides: Value =
        serde_json::from_str(&std::fs::read_to_string(case.join("overrides.json")).unwrap()).unwrap();
    if overrides["ignoreMissingComponents"] == true {
        kustomize::drop_missing_components(&repo, &mut overrides);
    }
    let spec = RenderSpec {
        path: ".".into(),
        default_namespace: Some("default".into()),
        ..Default::default()
    };
    let origin = Path::new("Kustomization/flux/case");
    let mut out = if kustomize::kustomization_file(&repo).is_some() {
        // The path's own file, with the overrides merged into it; Flux sets `commonMetadata`
        // after the build.
        let built = render_with_overrides(&repo, &spec, &BuiltinScopes, Some(&overrides)).unwrap();
        let after = serde_json::json!({ "commonMetadata": overrides["commonMetadata"] });
        kustomize::apply_overrides(&repo, &repo, built, &after, origin).unwrap()
    } else {
        let shared = render_plain(&repo, &spec, &BuiltinScopes).unwrap();
        kustomize::apply_overrides(&repo, &repo, shared, &overrides, origin).unwrap()
    };
    plain::settle_namespaces(&mut out, &BuiltinScopes).unwrap();
    sorted(out.into_iter().map(|m| m.object).collect())
}

#[test]
fn overrides_give_what_flux_gives() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/flux_overrides");
    let mut cases: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    assert!(cases.len() >= 10, "cases under {}", dir.display());
    let mut failed = Vec::new();
    for case in &cases {
        let expected = sorted(parse_stream(&std::fs::read_to_string(case.join("expected.yaml")).unwrap()).unwrap());
        let got = ballast(case);
        let keys = |v: &[Value]| v.iter().map(key).collect::<Vec<_>>();
        if keys(&got) != keys(&expected) {
            failed.push(format!(
                "{}: objects {:?} != {:?}",
                case.display(),
                keys(&got),
                keys(&expected)
            ));
            continue;
        }
        for (g, e) in got.iter().zip(&expected) {
            if g != e {
                failed.push(format!(
                    "{}: {}\n  ballast: {g}\n  flux:    {e}",
                    case.display(),
                    key(e)
                ));
            }
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}
