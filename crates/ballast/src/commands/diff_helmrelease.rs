//! `ballast diff helmrelease NAME`: what the next upgrade (or install) of a HelmRelease would
//! change, computed without writing anything.
//!
//! The chart is built as the HelmChart reconciler builds it (`helm_chart::build`, from the
//! HelmChart the HelmRelease's `spec.chart` template describes, or the `chartRef` HelmChart),
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
use ballast_api::helm_chart::{HelmChart, HelmChartSpec, LocalHelmChartSourceReference};
use ballast_controller::helm_chart::{ChartBuild, build};
use ballast_controller::helm_release::{compose_values, release_name, target_namespace};
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

/// The HelmChart the HelmRelease reconciler keeps for `spec.chart` (`<namespace>-<name>` in
/// the source's namespace), as the template describes it now; or the `chartRef` HelmChart.
async fn chart_of(client: &kube::Client, hr: &HelmRelease) -> Result<HelmChart> {
    let own_ns = hr.namespace().unwrap_or_default();
    if let Some(r) = &hr.spec.chart_ref {
        let ns = r.namespace.clone().filter(|n| !n.is_empty()).unwrap_or(own_ns);
        return match r.kind.as_str() {
            "HelmChart" => Ok(Api::<HelmChart>::namespaced(client.clone(), &ns).get(&r.name).await?),
            other => bail!(
                "HelmRelease {}: diff builds charts of spec.chart or a chartRef HelmChart; a chartRef {other} is not supported yet",
                hr.name_any()
            ),
        };
    }
    let Some(template) = &hr.spec.chart else {
        bail!(
            "HelmRelease {}: neither spec.chart nor spec.chartRef is set",
            hr.name_any()
        );
    };
    let t = &template.spec;
    let ns = t
        .source_ref
        .namespace
        .clone()
        .filter(|n| !n.is_empty())
        .unwrap_or(own_ns);
    let mut values_files: Vec<String> = t.values_file.iter().cloned().collect();
    values_files.extend(t.values_files.iter().flatten().cloned());
    let mut chart = HelmChart::new(
        &hr.helm_chart_name(),
        HelmChartSpec {
            chart: t.chart.clone(),
            version: t.version.clone().filter(|v| !v.is_empty()),
            source_ref: LocalHelmChartSourceReference {
                api_version: t.source_ref.api_version.clone(),
                kind: t.source_ref.kind.clone(),
                name: t.source_ref.name.clone(),
            },
            interval: t.interval.clone().unwrap_or_else(|| hr.spec.interval.clone()),
            reconcile_strategy: t.reconcile_strategy.clone(),
            values_files: (!values_files.is_empty()).then_some(values_files),
            ignore_missing_values_files: t.ignore_missing_values_files,
            ..HelmChartSpec::default()
        },
    );
    chart.metadata.namespace = Some(ns);
    Ok(chart)
}

pub async fn run(a: &DiffHelmRelease, kubeconfig: Option<&Path>, context: Option<&str>) -> Result<u8> {
    let timeout = parse_duration(&a.timeout).map_err(anyhow::Error::msg)?;
    let cluster = connect(kubeconfig, context).await?;
    let client = cluster.client().clone();
    let hr = Api::<HelmRelease>::namespaced(client.clone(), &a.namespace)
        .get(&a.name)
        .await?;
    let chart = chart_of(&client, &hr).await?;
    let opts = ChartBuild {
        cache_dir: ballast_cache_dir(),
        allow_file_sources: a.allow_file_sources,
        timeout,
        ..ChartBuild::default()
    };
    let built = build(&client, &chart, &opts)
        .await
        .map_err(|e| anyhow!("HelmRelease {}/{}: chart: {e}", a.namespace, a.name))?;
    let values = compose_values(&client, &hr)
        .await
        .map_err(|e| anyhow!("HelmRelease {}/{}: values: {e}", a.namespace, a.name))?;
    let scratch = Scratch::new()?;
    let chart_file = scratch.write("chart.tgz", &built.bytes)?;
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
        built.name,
        built.version
    );
    let text = if colour() {
        colour_diff(&plan.diff)
    } else {
        plan.diff.clone()
    };
    print!("{text}");
    Ok(if plan.changed { 1 } else { 0 })
}
