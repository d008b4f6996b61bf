//! `ballast_release::Releases::plan` against the test cluster: an install plan, no change
//! after the install, a values change naming its object, a dropped template as a deletion
//! (a kept one not deleted), Secrets masked, nothing written.

use std::path::Path;

use ballast_core::Action;
use ballast_helm::values::ValueOptions;
use ballast_kube::{Cluster, ConnectOptions};
use ballast_release::{ActionOptions, ReleasePlan, Releases};

use crate::support::*;

fn write_chart(dir: &Path, templates: &[(&str, &str)]) {
    let _ = std::fs::remove_dir_all(dir.join("templates"));
    std::fs::create_dir_all(dir.join("templates")).unwrap();
    std::fs::write(dir.join("Chart.yaml"), "apiVersion: v2\nname: demo\nversion: 0.1.0\n").unwrap();
    std::fs::write(dir.join("values.yaml"), "greeting: hello\npassword: hunter2-secret\n").unwrap();
    for (name, text) in templates {
        std::fs::write(dir.join("templates").join(name), text).unwrap();
    }
}

const CM: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-cm\ndata:\n  greeting: {{ .Values.greeting | quote }}\n";
const SECRET: &str = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {{ .Release.Name }}-s\nstringData:\n  password: {{ .Values.password | quote }}\n";
const EXTRA: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-extra\ndata:\n  a: b\n";
const HOOK: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-hook\n  annotations:\n    helm.sh/hook: pre-upgrade\ndata:\n  msg: {{ .Values.hookmsg | default \"one\" | quote }}\n";
const KEPT: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-kept\n  annotations:\n    helm.sh/resource-policy: keep\ndata:\n  a: b\n";

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

async fn connect() -> Cluster {
    Cluster::connect(&ConnectOptions {
        kubeconfig: Some(env().kubeconfig.clone()),
        context: None,
        ..Default::default()
    })
    .await
    .unwrap()
}

fn actions(p: &ReleasePlan) -> Vec<(String, Action)> {
    p.plan
        .steps()
        .map(|s| (format!("{}/{}", s.object.kind, s.object.name), s.action))
        .collect()
}

#[test]
fn plan_shows_install_no_change_values_change_and_deletions() {
    let ns = namespace("relplan");
    let dir = tempfile::tempdir().unwrap();
    let chart = dir.path();
    write_chart(
        chart,
        &[
            ("cm.yaml", CM),
            ("s.yaml", SECRET),
            ("extra.yaml", EXTRA),
            ("kept.yaml", KEPT),
            ("hook.yaml", HOOK),
        ],
    );
    let opts = ActionOptions::default();
    let none = ValueOptions::default();
    rt().block_on(async {
        let cluster = connect().await;
        let releases = Releases::new(&cluster, &ns);

        // Install plan: every object created, nothing written.
        let p = releases.plan("web", chart, &none, &opts).await.unwrap();
        assert!(!p.exists && p.changed, "{p:?}");
        let a = actions(&p);
        assert!(a.contains(&("ConfigMap/web-cm".into(), Action::Create)), "{a:?}");
        assert!(a.contains(&("Secret/web-s".into(), Action::Create)), "{a:?}");
        assert!(p.diff.contains("desired/") && p.diff.contains("web-cm"), "{}", p.diff);
        assert!(
            !p.diff.contains("hunter2-secret"),
            "secret value in the diff:\n{}",
            p.diff
        );
        assert!(get("configmap", Some(&ns), "web-cm").is_none(), "plan wrote an object");
        assert!(releases.history("web").await.unwrap().is_empty(), "plan wrote a record");

        releases.install("web", chart, &none, &opts).await.unwrap();

        // No change: nothing to do, an empty diff.
        let p = releases.plan("web", chart, &none, &opts).await.unwrap();
        assert!(p.exists, "{p:?}");
        assert!(!p.changed, "unexpected changes:\n{}", p.diff);
        assert_eq!(p.diff, "");
        assert!(
            actions(&p).iter().all(|(_, a)| *a == Action::Unchanged),
            "{:?}",
            actions(&p)
        );

        // A values change: an update naming the object, the other objects unchanged.
        let values = ValueOptions {
            set: vec!["greeting=bonjour,password=other-secret".into()],
            ..ValueOptions::default()
        };
        let p = releases.plan("web", chart, &values, &opts).await.unwrap();
        assert!(p.changed);
        let a = actions(&p);
        assert!(a.contains(&("ConfigMap/web-cm".into(), Action::Update)), "{a:?}");
        assert!(a.contains(&("Secret/web-s".into(), Action::Update)), "{a:?}");
        assert!(a.contains(&("ConfigMap/web-extra".into(), Action::Unchanged)), "{a:?}");
        assert!(p.diff.contains("web-cm") && p.diff.contains("bonjour"), "{}", p.diff);
        assert!(
            !p.diff.contains("other-secret") && !p.diff.contains("hunter2-secret"),
            "{}",
            p.diff
        );
        assert_eq!(cm_greeting(&ns), "hello", "plan wrote the change");

        // A change in a hook only: changed (as helm-diff compares hooks), objects unchanged;
        // not a change when hooks are not compared.
        let hook = ValueOptions {
            set: vec!["hookmsg=two".into()],
            ..ValueOptions::default()
        };
        let p = releases.plan("web", chart, &hook, &opts).await.unwrap();
        assert!(
            p.changed && p.plan.steps().all(|s| s.action == Action::Unchanged),
            "{}",
            p.diff
        );
        assert!(
            p.hooks_diff.contains("web-hook") && p.hooks_diff.contains("two"),
            "{}",
            p.hooks_diff
        );
        assert!(p.diff.contains("web-hook"), "{}", p.diff);
        let no_hooks = ActionOptions {
            no_hooks: true,
            ..ActionOptions::default()
        };
        let p = releases.plan("web", chart, &hook, &no_hooks).await.unwrap();
        assert!(!p.changed && p.hooks_diff.is_empty(), "{}", p.diff);

        // Dropped templates: the plain one deleted, the kept one kept.
        write_chart(chart, &[("cm.yaml", CM), ("s.yaml", SECRET), ("hook.yaml", HOOK)]);
        let p = releases.plan("web", chart, &none, &opts).await.unwrap();
        assert!(p.changed);
        let a = actions(&p);
        assert!(a.contains(&("ConfigMap/web-extra".into(), Action::Prune)), "{a:?}");
        assert!(a.contains(&("ConfigMap/web-kept".into(), Action::Keep)), "{a:?}");
        assert!(
            p.diff.contains("live/") && p.diff.contains("web-extra") && p.diff.contains("/dev/null"),
            "{}",
            p.diff
        );
        assert!(
            get("configmap", Some(&ns), "web-extra").is_some(),
            "plan deleted an object"
        );

        // After the upgrade, the plan is empty again.
        releases.upgrade("web", chart, &none, &opts).await.unwrap();
        assert!(get("configmap", Some(&ns), "web-extra").is_none());
        assert!(get("configmap", Some(&ns), "web-kept").is_some());
        let p = releases.plan("web", chart, &none, &opts).await.unwrap();
        assert!(!p.changed, "{}", p.diff);
    });
}

fn cm_greeting(ns: &str) -> String {
    get("configmap", Some(ns), "web-cm").unwrap()["data"]["greeting"]
        .as_str()
        .unwrap()
        .to_string()
}
