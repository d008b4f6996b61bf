//! Cluster tests: the `ballast` binary against a real kube-apiserver (one per test binary, a
//! namespace per test), with Git served for real.

mod support;

/// API errors: 429 and 5xx retried through a refusing proxy.
mod api_errors;
/// Argo CD Applications: sync, waves, hooks, manual sync, prune, self-heal, app of apps.
mod argo;
/// Argo CD connections: registered clusters (`destination.name` through a cluster Secret with a
/// ServiceAccount token), Git over SSH and mutual TLS, chart repositories over TLS.
mod argo_cluster;
/// Argo CD sync options (Replace, Force), implicit retries, label tracking, an Application handed
/// over from Argo CD, seed 004 (staging automated, production manual).
mod argo_options;
/// Argo CD AppProjects (sources, destinations, kinds), sync windows, retry, shared resources,
/// rollback on Degraded, `app delete`.
mod argo_project;
/// sync and diff refuse bad input and lose nothing.
mod bad_input;
/// `bootstrap git`: self-management from Git, idempotence, restoring a fresh cluster.
mod bootstrap;
/// CI helpers `set image`, `set value`, `bump image` editing files in place (no cluster).
mod ci_helpers;
/// The controller: Flux objects, source watch, drift, prune, health, dependencies.
mod controller;
/// diff: exit codes, prunes, masking.
mod diff;
/// Flow control: `sync` against a kube-apiserver with tiny in-flight limits applies everything,
/// its in-flight limit lowered by the server's 429s.
mod flow_control;
/// Flux API versions and kstatus: deprecated fields, conditions, ref.name, KUBECONFIG lists.
mod flux_api;
/// Flux's apply semantics: ssa/force/reconcile policies, prune: false, takeover, recreate.
mod flux_apply;
/// Flux's CLI verbatim: the getting-started guide and the example README; flag forms.
mod flux_cli;
/// fluxcd/flux2-kustomize-helm-example's clusters/staging, unchanged, on a dedicated control
/// plane with its chart registries mirrored on loopback.
mod flux_example;
/// Git isolation in the controller: file:// sources need --allow-file-sources.
mod git_isolation;
/// Flux's Helm verbs: `create|get|export|reconcile|suspend|resume|delete` of Helm sources.
mod helm_cli;
/// `ballast helm`: releases shared with the helm CLI, hooks, stale pending recovery.
mod helm_release;
/// Chart sources in the controller: HelmRepository (HTTP, oci), OCIRepository, a Kustomization
/// from an OCIRepository.
mod helm_sources;
/// `ballast helmfile diff|apply`: exit codes, needs order, idempotence, seed 000.
mod helmfile;
/// The HelmRelease controller: Git and HTTP chart sources, upgrades, remediation, retries,
/// drift, valuesFrom Secrets, dependsOn, adoption, a SIGKILLed controller, bad credentials.
mod helmrelease;
/// `scripts/build-image`: pushed to a registry on loopback, pulled back by digest, run.
mod image;
/// Image automation: registry tags to policies to commits in Git to the cluster.
mod image_automation;
/// `ballast local up | down | status`.
mod local;

/// `build --path` outside a Git work tree resolves like `kubectl kustomize`; `--root` confines.
mod local_build;
mod notification;
/// `Releases::plan`: install plan, no change, values change, dropped templates, masking.
mod release_plan;
/// Hostile sources: symlinks out of the root, bounded input, secrets kept out of messages.
mod render_safety;
/// Safety: identity across API groups, exact drift, protected prune, deletion budget,
/// ownership by inclusion, validation before writing, crash safety.
mod safety;
/// Scale: an unchanged reconcile sends no request (drift still healed); 300 apps Ready and a
/// push that writes exactly what changed.
mod scale;
/// SOPS: Kustomization `spec.decryption` end to end, `build --decryption-key-file`, `sops` CLI.
mod sealed_secrets;
mod sops;
/// Git sources: refs, semver, HTTP auth, SSH host keys.
mod source;
/// sync: create, no-op, configure, prune, ownership, staging, conflicts, drift, wait.
mod sync;
/// Tag-driven releases: staging follows main, production follows v* tags (seed 004).
mod tag_releases;
/// Kustomization throughput: health waits hold no worker; one render per path and revision.
mod throughput;
/// `uninstall` with a running controller: nothing pruned, foreign finalizers kept.
mod uninstall;
