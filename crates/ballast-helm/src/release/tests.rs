use serde_json::Value;

use super::storage::{decode, encode, from_secret, labels, secret_name, to_secret};
use super::{Release, Status, rfc3339};

/// A Secret written by `helm install r1 demo --set greeting=hi` (helm v4.1.4), as the API
/// server returned it (managedFields dropped).
const HELM_SECRET: &str = include_str!("testdata/helm-install-r1.v1.json");

fn helm_secret() -> Value {
    serde_json::from_str(HELM_SECRET).expect("fixture")
}

#[test]
fn reads_a_secret_written_by_helm() {
    let r = from_secret(&helm_secret()).expect("decodes");
    assert_eq!(r.name, "r1");
    assert_eq!(r.namespace, "default");
    assert_eq!(r.version, 1);
    assert_eq!(r.info.status, Status::Deployed);
    assert_eq!(r.info.description, "Install complete");
    assert_eq!(r.info.notes, "Thanks for installing r1.\n");
    assert_eq!(r.info.first_deployed, "2026-11-29T21:51:18.145871849Z");
    assert!(r.info.deleted.is_empty());
    assert_eq!(r.chart.name(), "demo");
    assert_eq!(r.chart.version(), "0.1.0");
    assert_eq!(r.chart.app_version(), "1.0");
    assert_eq!(r.config, serde_json::json!({"greeting": "hi"}));
    assert_eq!(
        r.manifest,
        "---\n# Source: demo/templates/cm.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: r1-cm\ndata:\n  greeting: \"hi\"\n"
    );
    assert_eq!(r.hooks.len(), 1);
    let h = &r.hooks[0];
    assert_eq!(
        (h.name.as_str(), h.kind.as_str(), h.weight),
        ("r1-pre", "ConfigMap", -1)
    );
    assert_eq!(h.events, ["pre-install", "pre-upgrade"]);
    assert_eq!(h.delete_policies, ["before-hook-creation"]);
    assert_eq!(h.last_run.phase, "Succeeded");
    assert_eq!(r.apply_method, "ssa");
    assert_eq!(r.chart.templates.as_ref().map(Vec::len), Some(3));
    assert!(r.labels.is_empty(), "system labels are not user labels: {:?}", r.labels);
}

#[test]
fn round_trip_keeps_helms_json() {
    let secret = helm_secret();
    let record = String::from_utf8(
        base64::Engine::decode(
            &base64::engine::general_purpose::STANDARD,
            secret["data"]["release"].as_str().unwrap(),
        )
        .unwrap(),
    )
    .unwrap();
    let original: Value = {
        let r = decode(&record).unwrap();
        serde_json::to_value(&r).unwrap()
    };
    // Every field helm wrote is written back, in helm's order.
    let raw = {
        use std::io::Read;
        let bytes = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, &record).unwrap();
        let mut s = String::new();
        flate2::read::GzDecoder::new(bytes.as_slice())
            .read_to_string(&mut s)
            .unwrap();
        s
    };
    let helm: Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(original, helm);
    let keys: Vec<&String> = original.as_object().unwrap().keys().collect();
    let helm_keys: Vec<&String> = helm.as_object().unwrap().keys().collect();
    assert_eq!(keys, helm_keys);
    assert_eq!(serde_json::to_string(&original).unwrap(), raw.trim_end());
}

#[test]
fn encode_then_decode_gzipped_and_plain() {
    let r: Release = from_secret(&helm_secret()).unwrap();
    let text = encode(&r).unwrap();
    let bytes = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, &text).unwrap();
    assert_eq!(&bytes[..3], &[0x1f, 0x8b, 0x08]);
    let back = decode(&text).unwrap();
    assert_eq!(serde_json::to_value(&back).unwrap(), serde_json::to_value(&r).unwrap());
    let plain = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        serde_json::to_vec(&r).unwrap(),
    );
    assert_eq!(decode(&plain).unwrap().name, "r1");
}

#[test]
fn secret_as_helms_driver_writes_it() {
    let mut r: Release = from_secret(&helm_secret()).unwrap();
    r.labels.insert("team".into(), "a".into());
    let s = to_secret(&r, "apps", true, 1_700_000_000).unwrap();
    assert_eq!(s["metadata"]["name"], "sh.helm.release.v1.r1.v1");
    assert_eq!(s["metadata"]["namespace"], "apps");
    assert_eq!(s["type"], "helm.sh/release.v1");
    assert_eq!(
        s["metadata"]["labels"],
        serde_json::json!({"createdAt": "1700000000", "name": "r1", "owner": "helm", "status": "deployed", "team": "a", "version": "1"})
    );
    let back = from_secret(&s).unwrap();
    assert_eq!(back.labels.get("team").map(String::as_str), Some("a"));
    let l = labels(&r, false, 5);
    assert_eq!(l.get("modifiedAt").map(String::as_str), Some("5"));
    assert!(!l.contains_key("createdAt"));
    assert_eq!(secret_name("x", 12), "sh.helm.release.v1.x.v12");
}

#[test]
fn bad_records_are_errors() {
    assert!(decode("%%%").is_err());
    assert!(decode("H4sIAAAA").is_err());
    assert!(
        decode(&base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            b"{}"
        ))
        .is_err()
    );
    assert!(from_secret(&serde_json::json!({"metadata": {"name": "x"}})).is_err());
}

#[test]
fn statuses_and_times() {
    for s in [
        "deployed",
        "uninstalled",
        "superseded",
        "failed",
        "uninstalling",
        "pending-install",
        "pending-upgrade",
        "pending-rollback",
    ] {
        assert_eq!(Status::parse(s).as_str(), s);
    }
    assert!(Status::PendingUpgrade.is_pending() && !Status::Failed.is_pending());
    let t: jiff::Timestamp = "2026-11-29T21:51:18.145871849Z".parse().unwrap();
    assert_eq!(rfc3339(t), "2026-11-29T21:51:18.145871849Z");
    let t: jiff::Timestamp = "2026-11-29T21:51:18.1Z".parse().unwrap();
    assert_eq!(rfc3339(t), "2026-11-29T21:51:18.1Z");
    let t: jiff::Timestamp = "2026-11-29T21:51:18Z".parse().unwrap();
    assert_eq!(rfc3339(t), "2026-11-29T21:51:18Z");
}

#[test]
fn renders_a_release_as_helm_stores_it() {
    let dir = tempfile::tempdir().unwrap();
    let c = dir.path();
    std::fs::create_dir_all(c.join("templates")).unwrap();
    std::fs::write(
        c.join("Chart.yaml"),
        "apiVersion: v2\nname: demo\ndescription: A demo chart\nversion: 0.1.0\nappVersion: \"1.0\"\n",
    )
    .unwrap();
    std::fs::write(c.join("values.yaml"), "greeting: hello\nreplicas: 0\n").unwrap();
    std::fs::write(
        c.join("templates/cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-cm\ndata:\n  greeting: {{ .Values.greeting | quote }}\n",
    )
    .unwrap();
    std::fs::write(
        c.join("templates/hook.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-pre\n  annotations:\n    helm.sh/hook: pre-install,pre-upgrade\n    helm.sh/hook-weight: \"-1\"\ndata:\n  a: b\n",
    )
    .unwrap();
    std::fs::write(
        c.join("templates/NOTES.txt"),
        "Thanks for installing {{ .Release.Name }}.\n",
    )
    .unwrap();
    let opts = super::render::ReleaseRenderOptions {
        name: "r1".into(),
        namespace: "default".into(),
        revision: 1,
        values: crate::values::ValueOptions {
            set: vec!["greeting=hi".into()],
            ..Default::default()
        },
        ..Default::default()
    };
    let out = super::render::render_release(c, &opts).unwrap();
    let helm = from_secret(&helm_secret()).unwrap();
    assert_eq!(out.manifest, helm.manifest);
    assert_eq!(out.notes, helm.info.notes);
    assert_eq!(out.config, helm.config);
    assert_eq!(out.chart.metadata, helm.chart.metadata);
    assert_eq!(out.chart.values, helm.chart.values);
    let hooks = serde_json::to_value(&out.hooks).unwrap();
    let mut helm_hooks = serde_json::to_value(&helm.hooks).unwrap();
    helm_hooks[0]["last_run"] = serde_json::json!({"phase": ""});
    assert_eq!(hooks, helm_hooks);
    let names = |r: &Option<Vec<super::File>>| {
        r.as_ref()
            .map(|t| t.iter().map(|f| (f.name.clone(), f.data.clone())).collect::<Vec<_>>())
    };
    assert_eq!(names(&out.chart.templates), names(&helm.chart.templates));
}
