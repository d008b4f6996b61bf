//! `ballast diff helmrelease NAME`: what the next upgrade (or install) of a HelmRelease would
//! change, computed without writing anything.
//!
//! The chart is got as the controller gets it (the HelmChart the HelmRelease's `spec.chart`
//! template describes, `helm_release::helm_chart_of`, or the `chartRef` HelmChart, built by
//! `helm_chart::build`; a `chartRef` OCIRepository's layer pulled by
//! `oci_repository::fetch_layer`), from the controller's `--source-mirror` when given,
//! the values are composed as the HelmRelease reconciler composes them (`compose_values`:
//! `valuesFrom` in order, then `values`), and `Releases::plan` compares the rendered release
//! with the live objects by a server-side dry-run. The printed diff masks Secret values; the
//! composed values reach the plan through a private file (mode 0600 in a 0700 directory,
//! removed on return) and are never printed. Exit 0: no change; 1: changes; 2: error.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow, bail};
use ballast_api::HelmRelease;
use ballast_api::helm_chart::HelmChart;
use ballast_api::oci_repository::OCIRepository;
use ballast_controller::helm_chart::{ChartBuild, build};
use ballast_controller::helm_release::{compose_values, helm_chart_of, release_name, target_namespace};
use ballast_controller::oci_repository::fetch_layer;
use ballast_controller::source_mirror::SourceMirrors;
use ballast_core::parse_duration;
use ballast_helm::values::ValueOptions;
use ballast_release::ActionOptions;
use kube::ResourceExt;
use kube::api::Api;

use crate::cli::DiffHelmRelease;
use crate::output::{colour, colour_diff};
use crate::pipeline::{ballast_cache_dir, connect};

/// A private scratch directory, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Result<Self> {
        let base = std::env::temp_dir();
        for attempt in 0..16u32 {
            let dir = base.join(format!(
                "ballast-diff-hr-{}-{}-{attempt}",
                std::process::id(),
                jiff::Timestamp::now().as_nanosecond()
            ));
            match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
                Ok(()) => return Ok(Scratch(dir)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => bail!("scratch directory {}: {e}", dir.display()),
            }
        }
        bail!("no scratch directory under {}", base.display())
    }

    /// Writes `bytes` to `name` inside, readable by this user only.
    fn write(&self, name: &str, bytes: &[u8]) -> Result<PathBuf> {
        let path = self.0.join(name);
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .map_err(|e| anyhow!("{}: {e}", path.display()))?;
        f.write_all(bytes).map_err(|e| anyhow!("{}: {e}", path.display()))?;
        Ok(path)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The chart archive, its name and version, as the controller gets it: the HelmChart of
/// `spec.chart` ([`helm_chart_of`]) or of a `chartRef` built as the HelmChart reconciler
/// builds it, or the layer of a `chartRef` OCIRepository pulled as its reconciler pulls it;
/// from the `--source-mirror` the controller would use.
async fn chart_of(client: &kube::Client, hr: &HelmRelease, opts: &ChartBuild) -> Result<(Vec<u8>, String, String)> {
    let own_ns = hr.namespace().unwrap_or_default();
    let what = format!("HelmRelease {own_ns}/{}", hr.name_any());
    let chart = match (&hr.spec.chart_ref, helm_chart_of(hr)) {
        (Some(r), _) => {
            let ns = r.namespace.clone().filter(|n| !n.is_empty()).unwrap_or(own_ns.clone());
            match r.kind.as_str() {
                "HelmChart" => Api::<HelmChart>::namespaced(client.clone(), &ns).get(&r.name).await?,
                "OCIRepository" => {
                    let repo = Api::<OCIRepository>::namespaced(client.clone(), &ns)
                        .get(&r.name)
                        .await?;
                    let (bytes, _) = fetch_layer(client, &repo, &opts.mirrors, opts.max_size)
                        .await
                        .map_err(|e| anyhow!("{what}: chart: {e}"))?;
                    let (name, version) = tokio::task::spawn_blocking({
                        let bytes = bytes.clone();
                        move || {
                            ballast_helm::chart::load_archive(&bytes)
                                .map(|c| (c.metadata.name.clone(), c.metadata.version.clone()))
                                .map_err(|e| e.to_string())
                        }
                    })
                    .await?
                    .map_err(|e| anyhow!("{what}: OCIRepository '{ns}/{}': chart archive: {e}", r.name))?;
                    return Ok((bytes, name, version));
                }
                other => bail!("{what}: spec.chartRef.kind {other:?}: not supported (HelmChart or OCIRepository)"),
            }
        }
        (None, Some(chart)) => chart,
        (None, None) => bail!("{what}: neither spec.chart nor spec.chartRef is set"),
    };
    let built = build(client, &chart, opts)
        .await
        .map_err(|e| anyhow!("{what}: chart: {e}"))?;
    Ok((built.bytes, built.name, built.version))
}

pub async fn run(a: &DiffHelmRelease, kubeconfig: Option<&Path>, context: Option<&str>) -> Result<u8> {
    let timeout = parse_duration(&a.timeout).map_err(anyhow::Error::msg)?;
    let cluster = connect(kubeconfig, context).await?;
    let client = cluster.client().clone();
    let hr = Api::<HelmRelease>::namespaced(client.clone(), &a.namespace)
        .get(&a.name)
        .await?;
    let opts = ChartBuild {
        cache_dir: ballast_cache_dir(),
        allow_file_sources: a.allow_file_sources,
        timeout,
        mirrors: std::sync::Arc::new(SourceMirrors::parse(&a.source_mirrors).map_err(anyhow::Error::msg)?),
        ..ChartBuild::default()
    };
    let (chart_bytes, chart_name, chart_version) = chart_of(&client, &hr, &opts).await?;
    let values = compose_values(&client, &hr)
        .await
        .map_err(|e| anyhow!("HelmRelease {}/{}: values: {e}", a.namespace, a.name))?;
    let scratch = Scratch::new()?;
    let chart_file = scratch.write("chart.tgz", &chart_bytes)?;
    let values_file = scratch.write("values.json", values.to_string().as_bytes())?;
    let release = release_name(&hr);
    let namespace = target_namespace(&hr);
    let options = ActionOptions {
        timeout,
        create_namespace: hr
            .spec
            .install
            .as_ref()
            .and_then(|i| i.create_namespace)
            .unwrap_or(false),
        ..ActionOptions::default()
    };
    let plan = super::helmrelease::releases_of(&cluster, &hr)
        .plan(
            &release,
            &chart_file,
            &ValueOptions {
                files: vec![values_file],
                ..ValueOptions::default()
            },
            &options,
        )
        .await
        .map_err(|e| {
            anyhow!(
                "HelmRelease {}/{}: release {namespace}/{release}: {e}",
                a.namespace,
                a.name
            )
        })?;
    drop(scratch);
    eprintln!(
        "# HelmRelease {}/{}: {} release {namespace}/{release} with chart {}@{}",
        a.namespace,
        a.name,
        if plan.exists { "upgrade of" } else { "install of" },
        chart_name,
        chart_version
    );
    let text = if colour() {
        colour_diff(&plan.diff)
    } else {
        plan.diff.clone()
    };
    print!("{text}");
    Ok(if plan.changed { 1 } else { 0 })
}
