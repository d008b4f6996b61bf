//! Command-line arguments, parsed once.

use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand};

/// `diff helmrelease ...` and `diff hr ...` become the hidden `diff-helmrelease ...` (clap
/// cannot give `diff` both a required `--name` and an object subcommand); every other
/// command line is returned unchanged. Only the verb position counts: global options
/// (`--kubeconfig F`, `--context C`, `--kube-api-qps Q`, `--kube-api-burst N`, or their `=`
/// forms) may come first.
pub fn rewrite_args(mut args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    let mut i = 1;
    while i < args.len() {
        let a = args[i].to_string_lossy();
        const VALUED: [&str; 4] = ["--kubeconfig", "--context", "--kube-api-qps", "--kube-api-burst"];
        if VALUED.contains(&a.as_ref()) {
            i += 2;
            continue;
        }
        if VALUED.iter().any(|f| a.starts_with(&format!("{f}="))) {
            i += 1;
            continue;
        }
        break;
    }
    let is = |j: usize, words: &[&str]| args.get(j).is_some_and(|a| words.iter().any(|w| a == *w));
    if is(i, &["diff"]) && is(i + 1, &["helmrelease", "hr"]) {
        args[i] = "diff-helmrelease".into();
        args.remove(i + 1);
    }
    args
}

/// `template`'s own arguments alone, so that a `ballast template` process does not build the
/// parser of every verb (several hundred arguments: most of a small chart's start-up).
#[derive(Debug, Parser)]
#[command(name = "ballast template", disable_help_flag = true, disable_version_flag = true)]
struct TemplateOnly {
    #[command(flatten)]
    args: TemplateArgs,
}

/// The arguments of a `ballast template ...` command line (verb first, no global option),
/// parsed as the full parser parses them; `None` for any other command line, and for one the
/// full parser must answer itself (`--help`, `--version`, a global option after the verb, an
/// error), so its output is unchanged.
pub fn template_only(args: &[std::ffi::OsString]) -> Option<TemplateArgs> {
    if args.get(1).is_none_or(|verb| verb != "template") {
        return None;
    }
    let rest = std::iter::once(std::ffi::OsString::from("ballast template")).chain(args[2..].iter().cloned());
    TemplateOnly::try_parse_from(rest).ok().map(|t| t.args)
}

impl Command {
    /// True for a command that keeps running until it is stopped (the controller), false for
    /// one that exits when its work is done.
    pub fn runs_on(&self) -> bool {
        matches!(self, Command::Controller(_))
    }
}

/// Ballast keeps Kubernetes clusters equal to what Git says.
#[derive(Debug, Parser)]
#[command(name = "ballast", version, about, propagate_version = true)]
pub struct Cli {
    /// Kubeconfig file (default: $KUBECONFIG, ~/.kube/config, then the local control plane).
    #[arg(long, global = true, env = "KUBECONFIG", value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// Kubeconfig context (default: the current context).
    #[arg(long, global = true, value_name = "NAME")]
    pub context: Option<String>,
    /// Most requests per second to the Kubernetes API after the burst, as Flux's controllers'
    /// flag (0: no limit). Applies until the server shows it runs API Priority and Fairness
    /// (Kubernetes 1.20 and later by default), whose own fairness rules then apply.
    #[arg(long, global = true, default_value_t = ballast_kube::flow_control::DEFAULT_QPS, value_name = "QPS")]
    pub kube_api_qps: f64,
    /// Requests to the Kubernetes API that may be sent at once before `--kube-api-qps` applies.
    #[arg(long, global = true, default_value_t = ballast_kube::flow_control::DEFAULT_BURST, value_name = "N")]
    pub kube_api_burst: u32,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Verbs.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Render a directory (or a Git source) and print the objects as YAML.
    Build(BuildArgs),
    /// Render a local Helm chart (directory or .tgz) and print it as `helm template` does.
    Template(TemplateArgs),
    /// Encrypt or decrypt a SOPS file with age keys (YAML, JSON, dotenv or binary), as `sops` does.
    #[command(subcommand)]
    Sops(SopsCommand),
    /// Seal Secrets for the cluster's SealedSecret controller, as `kubeseal` does (a Secret
    /// manifest on stdin, `--raw` values, `--fetch-cert`, `--re-encrypt` files in place).
    Seal(crate::commands::seal::SealArgs),
    /// Helm releases on the cluster, stored as the helm CLI stores them.
    #[command(subcommand)]
    Helm(HelmCommand),
    /// Helmfile: `template`, `build` and `list` of a helmfile, releases rendered natively.
    Helmfile(HelmfileArgs),
    /// Render a unit (a Helmfile environment, a chart, a Kustomize or plain path) into a
    /// directory, one file per object (the rendered-manifests pattern); `--check` exits 1
    /// when the directory is out of date.
    Render(RenderUnitArgs),
    /// Show what a sync would change, including prunes, as a unified diff; `diff helmrelease
    /// NAME` shows what the next upgrade of a HelmRelease would change.
    /// Exit 0: no change; 1: changes; 2: error.
    Diff(DiffArgs),
    /// `diff helmrelease NAME`: what the next upgrade of a HelmRelease would change, its chart
    /// built and its values composed as the controller does, planned against the live release
    /// (Secret values masked; values from Secrets never printed).
    /// Exit 0: no change; 1: changes; 2: error.
    #[command(name = "diff-helmrelease", hide = true)]
    DiffHelmrelease(DiffHelmRelease),
    /// Run one reconcile pass: fetch, render, apply, prune, wait.
    Sync(SyncArgs),
    /// A local control plane (etcd + kube-apiserver + kube-controller-manager) on loopback.
    Local(LocalArgs),
    /// Run the controller: reconcile GitRepositories and Kustomizations continuously.
    Controller(ControllerArgs),
    /// Install the CRDs, namespace, RBAC and controller Deployment (or print them with --export).
    Install(InstallArgs),
    /// Create (or update) a source or Kustomization, like `flux create`.
    #[command(subcommand)]
    Create(CreateCommand),
    /// List sources or Kustomizations with their status.
    #[command(subcommand)]
    Get(GetCommand),
    /// Ask for a reconcile now and wait for its outcome.
    #[command(subcommand)]
    Reconcile(ReconcileCommand),
    /// Stop reconciling an object.
    #[command(subcommand)]
    Suspend(TargetCommand),
    /// Resume reconciling an object.
    #[command(subcommand)]
    Resume(TargetCommand),
    /// Delete an object (a Kustomization with prune deletes what it applied).
    #[command(subcommand)]
    Delete(TargetCommand),
    /// Check the cluster (--pre: before install) and the installation.
    Check(CheckArgs),
    /// Remove the CRDs, Ballast's objects and namespace; reconciled workloads stay.
    Uninstall(UninstallArgs),
    /// Print sources or Kustomizations as YAML, ready to commit.
    #[command(subcommand)]
    Export(ExportCommand),
    /// Show Kubernetes events of Flux objects.
    Events(EventsArgs),
    /// Show what a Kustomization or HelmRelease manages, as a tree.
    #[command(subcommand)]
    Tree(TreeCommand),
    /// The release history of a HelmRelease.
    #[command(subcommand)]
    History(HistoryCommand),
    /// Roll a HelmRelease's release back (the HelmRelease is suspended first, so its
    /// controller does not upgrade it again; `resume` returns it to the spec).
    #[command(subcommand)]
    Rollback(RollbackCommand),
    /// Put Ballast and its sync objects into a Git repository and let the cluster manage itself.
    #[command(subcommand)]
    Bootstrap(BootstrapCommand),
    /// Argo CD Applications: `list`, `get`, `diff`, `sync`, `history`, `rollback`.
    #[command(subcommand, alias = "apps")]
    App(crate::commands::app::AppCommand),
    /// CI helpers editing files in place: `set image` (as `kustomize edit set image`),
    /// `set value` (a key path in a YAML file). Exit 0 changed, 3 nothing to do, 2 error.
    #[command(subcommand)]
    Set(crate::commands::image_edit::SetCommand),
    /// CI helper: `bump image NAME --to V | --from-registry REPO --policy RANGE`.
    /// Exit 0 changed, 3 nothing to do, 2 error.
    #[command(subcommand)]
    Bump(crate::commands::image_edit::BumpCommand),
    /// CI helper: commit what changed in a checkout and push it, rebasing onto a branch that
    /// moved meanwhile (never forcing). Exit 0 pushed, 3 nothing to commit, 2 error.
    CommitPush(crate::commands::commit_push::CommitPushArgs),
}

/// `check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Only the prerequisites for installing.
    #[arg(long, action = ArgAction::Set, num_args = 0..=1, default_value_t = false, default_missing_value = "true", require_equals = true)]
    pub pre: bool,
    /// Namespace Ballast runs in.
    #[arg(short, long, default_value = "flux-system")]
    pub namespace: String,
}

/// `uninstall`.
#[derive(Debug, Args)]
pub struct UninstallArgs {
    /// Namespace Ballast runs in.
    #[arg(short, long, default_value = "flux-system")]
    pub namespace: String,
    /// Keep the namespace.
    #[arg(long, action = ArgAction::Set, num_args = 0..=1, default_value_t = false, default_missing_value = "true", require_equals = true)]
    pub keep_namespace: bool,
}

/// `export`.
#[derive(Debug, Subcommand)]
pub enum ExportCommand {
    /// Sources.
    #[command(subcommand)]
    Source(ExportSource),
    /// Kustomizations.
    #[command(alias = "ks")]
    Kustomization(ExportArgs),
    /// HelmReleases.
    #[command(alias = "hr")]
    Helmrelease(ExportArgs),
}

/// `export source`.
#[derive(Debug, Subcommand)]
pub enum ExportSource {
    /// GitRepositories.
    Git(ExportArgs),
    /// HelmRepositories.
    Helm(ExportArgs),
    /// HelmCharts.
    Chart(ExportArgs),
    /// OCIRepositories.
    Oci(ExportArgs),
}

/// What to export.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Name (or --all).
    pub name: Option<String>,
    /// Every object in the namespace.
    #[arg(long, action = ArgAction::Set, num_args = 0..=1, default_value_t = false, default_missing_value = "true", require_equals = true)]
    pub all: bool,
    /// Namespace.
    #[arg(short, long, default_value = "flux-system")]
    pub namespace: String,
}

/// `events`.
#[derive(Debug, Args)]
pub struct EventsArgs {
    /// Only events of this object, `Kind/name`.
    #[arg(long = "for", value_name = "KIND/NAME")]
    pub for_object: Option<String>,
    /// Namespace.
    #[arg(short, long, default_value = "flux-system")]
    pub namespace: String,
    /// All namespaces.
    #[arg(short = 'A', long, action = ArgAction::Set, num_args = 0..=1, default_value_t = false, default_missing_value = "true", require_equals = true)]
    pub all_namespaces: bool,
}

/// `tree`.
#[derive(Debug, Subcommand)]
pub enum TreeCommand {
    /// A Kustomization.
    #[command(alias = "ks")]
    Kustomization(TreeArgs),
    /// A HelmRelease: the objects of its release.
    #[command(alias = "hr")]
    Helmrelease(TreeArgs),
}

/// `history`.
#[derive(Debug, Subcommand)]
pub enum HistoryCommand {
    /// A HelmRelease: revision, chart, app version, status, time, digest.
    #[command(alias = "hr")]
    Helmrelease(TreeArgs),
}

/// `rollback`.
#[derive(Debug, Subcommand)]
pub enum RollbackCommand {
    /// A HelmRelease.
    #[command(alias = "hr")]
    Helmrelease(RollbackHelmRelease),
}

/// `rollback helmrelease`.
#[derive(Debug, Args)]
pub struct RollbackHelmRelease {
    /// Name.
    pub name: String,
    /// Release revision to roll back to (default: the one before the latest).
    pub revision: Option<i64>,
    /// Namespace.
    #[arg(short, long, default_value = "flux-system")]
    pub namespace: String,
    /// How long hooks and the rollback may take.
    #[arg(long, default_value = "5m")]
    pub timeout: String,
}

/// `tree kustomization`.
#[derive(Debug, Args)]
pub struct TreeArgs {
    /// Name.
    pub name: String,
    /// Namespace.
    #[arg(short, long, default_value = "flux-system")]
    pub namespace: String,
}

/// `bootstrap`.
#[derive(Debug, Subcommand)]
pub enum BootstrapCommand {
    /// Any Git server (file://, http(s)://, ssh://).
    Git(BootstrapGit),
    /// Not supported: points to `bootstrap git`.
    Github(ProviderArgs),
    /// Not supported: points to `bootstrap git`.
    Gitlab(ProviderArgs),
    /// Not supported: points to `bootstrap git`.
    Gitea(ProviderArgs),
    /// Not supported: points to `bootstrap git`.
    BitbucketServer(ProviderArgs),
}

/// Whatever a hosting-provider bootstrap was given; only read to suggest `bootstrap git`.
#[derive(Debug, Args)]
pub struct ProviderArgs {
    /// Flags as given to `flux bootstrap <provider>`.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 0..)]
    pub args: Vec<String>,
}

/// `bootstrap git`.
#[derive(Debug, Args)]
pub struct BootstrapGit {
    /// Repository URL.
    #[arg(long)]
    pub url: String,
    /// Branch.
    #[arg(long, default_value = "main")]
    pub branch: String,
    /// Directory for this cluster, e.g. clusters/my-cluster.
    #[arg(long)]
    pub path: String,
    /// SSH private key (ssh:// URLs); stored in the cluster as the GitRepository's secret.
    #[arg(long, requires = "known_hosts_file")]
    pub private_key_file: Option<PathBuf>,
    /// known_hosts for ssh:// URLs.
    #[arg(long)]
    pub known_hosts_file: Option<PathBuf>,
    /// Namespace for Ballast.
    #[arg(short, long, default_value = "flux-system")]
    pub namespace: String,
    /// How often the cluster checks the repository.
    #[arg(long, default_value = "1m")]
    pub interval: String,
    /// Author of the commit.
    #[arg(long, default_value = "Ballast <ballast@localhost>")]
    pub author: String,
    /// Controller image (`scripts/build-image` builds it; push it where the cluster pulls from).
    #[arg(long, default_value = concat!("ballast:", env!("CARGO_PKG_VERSION")), value_name = "REF")]
    pub image: String,
}

/// `controller`.
#[derive(Debug, Args)]
pub struct ControllerArgs {
    /// Address for /healthz, /readyz and /metrics.
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
    pub metrics_addr: std::net::SocketAddr,
    /// Elect a leader through a Lease so that only one replica acts.
    #[arg(long, action = ArgAction::Set, num_args = 0..=1, default_value_t = false, default_missing_value = "true", require_equals = true)]
    pub leader_elect: bool,
    /// Namespace of the leader-election Lease.
    #[arg(long, default_value = "flux-system", value_name = "NS")]
    pub lease_namespace: String,
    /// Reconciles in flight at once, per kind.
    #[arg(long, default_value_t = 4)]
    pub concurrency: u16,
    /// Identity in the Lease and in events (default: hostname-pid).
    #[arg(long)]
    pub identity: Option<String>,
    /// Reconcile only objects in this namespace (default: all namespaces).
    #[arg(long, value_name = "NS")]
    pub watch_namespace: Option<String>,
    /// Default deletion budget of every Kustomization (a prune deleting more than N objects and
    /// more than P% of its inventory deletes nothing until approved; `N` or `N,P%`; 0 disables).
    /// A Kustomization sets its own with the annotation ballast.dev/prune-budget.
    #[arg(long, default_value = "10,25%", value_name = "N[,P%]")]
    pub prune_budget: String,
    /// Accept GitRepositories with file:// URLs (they read this machine's files; refused
    /// otherwise). For tests and single-machine setups.
    #[arg(long, action = ArgAction::Set, num_args = 0..=1, default_value_t = false, default_missing_value = "true", require_equals = true)]
    pub allow_file_sources: bool,
    /// ServiceAccount (in each Kustomization's own namespace) that Kustomizations without
    /// `spec.serviceAccountName` apply, prune and check health as (Flux's multi-tenancy lockdown).
    /// Unset: they act as the controller.
    #[arg(long, value_name = "NAME")]
    pub default_service_account: Option<String>,
    /// Largest Git tree accepted per revision (sum of its file sizes; e.g. 256Mi, 1Gi).
    #[arg(long, default_value = "256Mi", value_name = "SIZE")]
    pub max_artifact_size: String,
    /// A watch of the API server failing for this long makes /readyz fail.
    #[arg(long, default_value = "60s", value_name = "DURATION")]
    pub watch_unready_after: String,
    /// Fetch chart sources (HelmRepository, OCIRepository, HelmChart) whose URL starts with
    /// FROM (at a path boundary) from TO instead, for air-gapped clusters; repeatable, the
    /// longest FROM wins. `http(s)://` mirrors `http(s)://`, `oci://` mirrors `oci://`. Plain
    /// HTTP only to a loopback mirror or with `,insecure`; the source's credentials are sent to
    /// the mirror only with `,pass-credentials`; a mirror's own login is a Secret named with
    /// `,secret=NAMESPACE/NAME`. Statuses keep the source's own URL.
    #[arg(long = "source-mirror", value_name = "FROM=TO[,OPTION]")]
    pub source_mirrors: Vec<String>,
    /// Serve Receivers' webhooks (`POST /hook/<digest>`, the Receiver's status.webhookPath) on
    /// this address; off by default.
    #[arg(long, value_name = "ADDR")]
    pub webhook_addr: Option<std::net::SocketAddr>,
    /// Namespace of the SealedSecret key Secrets (default: --lease-namespace).
    #[arg(long, value_name = "NS")]
    pub sealed_secrets_key_namespace: Option<String>,
    /// Add a SealedSecret key when the newest is this old (old keys are kept for unsealing);
    /// 0 disables renewal.
    #[arg(long, default_value = "720h", value_name = "DURATION")]
    pub sealed_secrets_key_renew_period: String,
    /// RSA size of new SealedSecret keys (2048, 3072, 4096, 8192).
    #[arg(long, default_value_t = 4096, value_name = "BITS")]
    pub sealed_secrets_key_size: usize,
    /// Subject CN of new SealedSecret certificates (default: empty subject, as sealed-secrets).
    #[arg(long, default_value = "", value_name = "CN")]
    pub sealed_secrets_my_cn: String,
}

/// `install`.
#[derive(Debug, Args)]
pub struct InstallArgs {
    /// Print the manifests instead of applying them.
    #[arg(long, action = ArgAction::Set, num_args = 0..=1, default_value_t = false, default_missing_value = "true", require_equals = true)]
    pub export: bool,
    /// Namespace for the controller.
    #[arg(short, long, default_value = "flux-system")]
    pub namespace: String,
    /// Controller image (`scripts/build-image` builds it; push it where the cluster pulls from).
    #[arg(long, default_value = concat!("ballast:", env!("CARGO_PKG_VERSION")), value_name = "REF")]
    pub image: String,
    /// Also install Argo CD's `Application` and `AppProject` CRDs (`argoproj.io/v1alpha1`),
    /// unless the cluster already serves Argo CD's own, which are then used as they are.
    #[arg(long, action = ArgAction::Set, num_args = 0..=1, default_value_t = false, default_missing_value = "true", require_equals = true)]
    pub argo: bool,
}

/// `create`.
#[derive(Debug, Subcommand)]
pub enum CreateCommand {
    /// A source.
    #[command(subcommand)]
    Source(CreateSource),
    /// A Kustomization.
    #[command(alias = "ks")]
    Kustomization(CreateKustomization),
    /// A HelmRelease.
    #[command(alias = "hr")]
    Helmrelease(CreateHelmRelease),
    /// Image automation: an ImageRepository, ImagePolicy or ImageUpdateAutomation.
    #[command(subcommand)]
    Image(CreateImage),
}

/// `create image`.
#[derive(Debug, Subcommand)]
pub enum CreateImage {
    /// An ImageRepository: scan an image's tags.
    Repository(CreateImageRepository),
    /// An ImagePolicy: choose the newest tag of an ImageRepository.
    Policy(CreateImagePolicy),
    /// An ImageUpdateAutomation: write chosen images into a GitRepository's files.
    Update(CreateImageUpdate),
}

/// `create image repository`.
#[derive(Debug, Args)]
pub struct CreateImageRepository {
    /// Name.
    pub name: String,
    /// The image, `[host[:port]/]path`, without tag.
    #[arg(long)]
    pub image: String,
    /// Secret of type `kubernetes.io/dockerconfigjson` with the registry's credentials.
    #[arg(long)]
    pub secret_ref: Option<String>,
    /// Secret with TLS material (`ca.crt`, `tls.crt`, `tls.key`).
    #[arg(long)]
    pub cert_ref: Option<String>,
    /// Limit of one scan.
    #[arg(long, value_name = "DURATION")]
    pub timeout: Option<String>,
    /// Credential provider (`generic`).
    #[arg(long)]
    pub provider: Option<String>,
    /// Regular expressions of tags to leave out (repeat or separate with commas).
    #[arg(long, value_delimiter = ',', value_name = "REGEX")]
    pub exclusion_list: Vec<String>,
    /// Plain http:// to the registry.
    #[arg(long, action = ArgAction::Set, num_args = 0..=1, default_value_t = false, default_missing_value = "true", require_equals = true)]
    pub insecure: bool,
    /// Shared flags.
    #[command(flatten)]
    pub common: CreateCommon,
}

/// `create image policy`.
#[derive(Debug, Args)]
pub struct CreateImagePolicy {
    /// Name.
    pub name: String,
    /// The ImageRepository, `NAME` or `NAMESPACE/NAME`.
    #[arg(long, value_name = "[NS/]NAME")]
    pub image_ref: String,
    /// Newest version in a semver range.
    #[arg(long, value_name = "RANGE", group = "select")]
    pub select_semver: Option<String>,
    /// Numerical order (`asc` picks the greatest).
    #[arg(long, value_name = "ORDER", group = "select")]
    pub select_numeric: Option<String>,
    /// Alphabetical order (`asc` picks the greatest).
    #[arg(long, value_name = "ORDER", group = "select")]
    pub select_alpha: Option<String>,
    /// Keep only tags matching this regular expression.
    #[arg(long, value_name = "REGEX")]
    pub filter_regex: Option<String>,
    /// Compare this expansion of the filter's groups (`$1`, `$name`) instead of the tag.
    #[arg(long, value_name = "TEMPLATE", requires = "filter_regex")]
    pub filter_extract: Option<String>,
    /// Look the tag's digest up: `Never`, `IfNotPresent` or `Always`.
    #[arg(long, value_name = "POLICY")]
    pub reflect_digest: Option<String>,
    /// Shared flags.
    #[command(flatten)]
    pub common: CreateCommon,
}

/// `create image update`.
#[derive(Debug, Args)]
pub struct CreateImageUpdate {
    /// Name.
    pub name: String,
    /// The GitRepository to update.
    #[arg(long, value_name = "NAME")]
    pub git_repo_ref: String,
    /// Namespace of the GitRepository (default: the automation's).
    #[arg(long, value_name = "NAMESPACE")]
    pub git_repo_namespace: Option<String>,
    /// Directory of the repository to update.
    #[arg(long, default_value = "./", value_name = "PATH")]
    pub git_repo_path: String,
    /// Branch to check out (default: the GitRepository's).
    #[arg(long, value_name = "BRANCH")]
    pub checkout_branch: Option<String>,
    /// Branch to push to (default: the checkout branch).
    #[arg(long, value_name = "BRANCH")]
    pub push_branch: Option<String>,
    /// Commit author name.
    #[arg(long, default_value = "Flux")]
    pub author_name: String,
    /// Commit author email.
    #[arg(long)]
    pub author_email: String,
    /// Go template of the commit message.
    #[arg(long, value_name = "TEMPLATE")]
    pub commit_template: Option<String>,
    /// Shared flags.
    #[command(flatten)]
    pub common: CreateCommon,
}

/// `create helmrelease`.
#[derive(Debug, Args)]
pub struct CreateHelmRelease {
    /// Name.
    pub name: String,
    /// Chart source, `Kind/name[.namespace]` (HelmRepository or GitRepository).
    #[arg(long, value_name = "KIND/NAME[.NAMESPACE]")]
    pub source: Option<String>,
    /// Chart name (or path in a GitRepository).
    #[arg(long)]
    pub chart: Option<String>,
    /// Chart version or semver range.
    #[arg(long, value_name = "VERSION")]
    pub chart_version: Option<String>,
    /// Chart from an object instead: `OCIRepository/name[.namespace]` or
    /// `HelmChart/name[.namespace]`.
    #[arg(long, value_name = "KIND/NAME[.NAMESPACE]")]
    pub chart_ref: Option<String>,
    /// Helm release name (default `[<target-namespace>-]<name>`).
    #[arg(long)]
    pub release_name: Option<String>,
    /// Namespace of the release's objects (default: the HelmRelease's).
    #[arg(long)]
    pub target_namespace: Option<String>,
    /// Namespace of the release records (default: the target namespace).
    #[arg(long)]
    pub storage_namespace: Option<String>,
    /// Create the target namespace on install.
    #[arg(long, action = ArgAction::Set, num_args = 0..=1, default_value_t = false, default_missing_value = "true", require_equals = true)]
    pub create_target_namespace: bool,
    /// HelmReleases that must be ready first (`NAME` or `NAMESPACE/NAME`; repeat or separate
    /// with commas).
    #[arg(long, value_delimiter = ',', value_name = "[NS/]NAME")]
    pub depends_on: Vec<String>,
    /// Local values files merged into `spec.values` (repeat or separate with commas).
    #[arg(long, value_delimiter = ',', value_name = "FILE")]
    pub values: Vec<PathBuf>,
    /// `Secret/name` or `ConfigMap/name` holding `values.yaml` (repeat or separate with commas).
    #[arg(long, value_delimiter = ',', value_name = "KIND/NAME")]
    pub values_from: Vec<String>,
    /// Service account to impersonate.
    #[arg(long)]
    pub service_account: Option<String>,
    /// `reconcileStrategy` of the chart: ChartVersion or Revision.
    #[arg(long, default_value = "ChartVersion")]
    pub reconcile_strategy: String,
    /// How often to check for a new chart version.
    #[arg(long, value_name = "DURATION")]
    pub chart_interval: Option<String>,
    /// Upgrade CRDs policy: Skip, Create or CreateReplace.
    #[arg(long)]
    pub crds: Option<String>,
    /// Shared flags.
    #[command(flatten)]
    pub common: CreateCommon,
}

/// `create source`.
#[derive(Debug, Subcommand)]
pub enum CreateSource {
    /// A GitRepository.
    Git(CreateGit),
    /// A HelmRepository (an `oci://` URL makes it `type: oci`); `--username`/`--password` or
    /// certificate files go into a Secret `helm-NAME`, as Flux makes it.
    Helm(CreateHelm),
    /// An OCIRepository.
    Oci(CreateOci),
    /// A HelmChart.
    Chart(CreateChart),
}

/// `create source chart`.
#[derive(Debug, Args)]
pub struct CreateChart {
    /// Name.
    pub name: String,
    /// Source, `Kind/name` in the same namespace (HelmRepository or GitRepository).
    #[arg(long, value_name = "KIND/NAME")]
    pub source: Option<String>,
    /// Chart name (or path in a GitRepository).
    #[arg(long)]
    pub chart: Option<String>,
    /// Chart version or semver range.
    #[arg(long, value_name = "VERSION")]
    pub chart_version: Option<String>,
    /// `reconcileStrategy`: ChartVersion or Revision.
    #[arg(long, default_value = "ChartVersion")]
    pub reconcile_strategy: String,
    /// Shared flags.
    #[command(flatten)]
    pub common: CreateCommon,
}

/// `create source helm`.
#[derive(Debug, Args)]
pub struct CreateHelm {
    /// Name.
    pub name: String,
    /// Repository URL: http://, https:// or oci://.
    #[arg(long)]
    pub url: String,
    /// Existing Secret with basic auth, TLS or docker-config credentials.
    #[arg(long)]
    pub secret_ref: Option<String>,
    /// Basic auth user name (written to the Secret `helm-NAME`).
    #[arg(short, long)]
    pub username: Option<String>,
    /// Basic auth password (written to the Secret `helm-NAME`, never printed; prefer the
    /// environment variable).
    #[arg(short, long, env = "BALLAST_HELM_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,
    /// Client certificate file (with --key-file).
    #[arg(long, value_name = "FILE")]
    pub cert_file: Option<PathBuf>,
    /// Client key file (with --cert-file).
    #[arg(long, value_name = "FILE")]
    pub key_file: Option<PathBuf>,
    /// CA certificate file.
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// Send the credentials to chart URLs on other hosts too.
    #[arg(long, action = ArgAction::Set, num_args = 0..=1, default_value_t = false, default_missing_value = "true", require_equals = true)]
    pub pass_credentials: bool,
    /// Credential provider of an `oci://` repository (`generic`, `aws`, `azure`, `gcp`).
    #[arg(long)]
    pub oci_provider: Option<String>,
    /// Timeout of each index or chart download.
    #[arg(long, value_name = "DURATION")]
    pub fetch_timeout: Option<String>,
    /// Shared flags.
    #[command(flatten)]
    pub common: CreateCommon,
}

/// `create source oci`.
#[derive(Debug, Args)]
pub struct CreateOci {
    /// Name.
    pub name: String,
    /// Repository URL, `oci://host/path`.
    #[arg(long)]
    pub url: String,
    /// Tag.
    #[arg(long)]
    pub tag: Option<String>,
    /// Semver range over tags.
    #[arg(long, value_name = "RANGE")]
    pub tag_semver: Option<String>,
    /// Manifest digest, `sha256:<hex>`.
    #[arg(long)]
    pub digest: Option<String>,
    /// Existing Secret with registry credentials.
    #[arg(long)]
    pub secret_ref: Option<String>,
    /// Existing Secret with TLS material.
    #[arg(long)]
    pub cert_ref: Option<String>,
    /// Credential provider (`generic`, `aws`, `azure`, `gcp`).
    #[arg(long)]
    pub provider: Option<String>,
    /// Plain http:// to the registry.
    #[arg(long, action = ArgAction::Set, num_args = 0..=1, default_value_t = false, default_missing_value = "true", require_equals = true)]
    pub insecure: bool,
    /// Paths to ignore (.gitignore syntax; repeat or separate with commas).
    #[arg(long, value_delimiter = ',')]
    pub ignore_paths: Vec<String>,
    /// Which layer, `<media-type>:<operation>` (operation `extract` or `copy`).
    #[arg(long, value_name = "MEDIA-TYPE:OPERATION")]
    pub layer_selector: Option<String>,
    /// Timeout of each registry operation.
    #[arg(long, value_name = "DURATION")]
    pub fetch_timeout: Option<String>,
    /// Shared flags.
    #[command(flatten)]
    pub common: CreateCommon,
}

/// Flags every `create` verb takes, as `flux create` does.
#[derive(Debug, Args)]
pub struct CreateCommon {
    /// How often to reconcile (Go duration: 30s, 5m, 1h30m).
    #[arg(long, default_value = "1m", value_name = "DURATION")]
    pub interval: String,
    /// Print the object as YAML instead of applying it.
    #[arg(long, action = ArgAction::Set, num_args = 0..=1, default_value_t = false, default_missing_value = "true", require_equals = true)]
    pub export: bool,
    /// Labels to set, `key=value` (repeat or separate with commas).
    #[arg(long, value_delimiter = ',', value_name = "KEY=VALUE")]
    pub label: Vec<String>,
    /// Namespace.
    #[arg(short, long, default_value = "flux-system")]
    pub namespace: String,
}

/// `create source git`.
#[derive(Debug, Args)]
pub struct CreateGit {
    /// Name.
    pub name: String,
    /// Repository URL (ssh://, http://, https://; file:// for local tests).
    #[arg(long)]
    pub url: String,
    /// Branch (kept next to --commit).
    #[arg(long)]
    pub branch: Option<String>,
    /// Tag.
    #[arg(long)]
    pub tag: Option<String>,
    /// Semver range over tags.
    #[arg(long, value_name = "RANGE")]
    pub tag_semver: Option<String>,
    /// Git reference name, e.g. refs/heads/main.
    #[arg(long)]
    pub ref_name: Option<String>,
    /// Commit.
    #[arg(long)]
    pub commit: Option<String>,
    /// Existing Secret with credentials.
    #[arg(long)]
    pub secret_ref: Option<String>,
    /// Allow the secret's credentials over a plain http:// URL (`spec.insecure`).
    #[arg(long, action = ArgAction::Set, num_args = 0..=1, default_value_t = false, default_missing_value = "true", require_equals = true)]
    pub insecure: bool,
    /// Include Git submodules.
    #[arg(long, action = ArgAction::Set, num_args = 0..=1, default_value_t = false, default_missing_value = "true", require_equals = true)]
    pub recurse_submodules: bool,
    /// Paths to ignore (.gitignore syntax; repeat or separate with commas).
    #[arg(long, value_delimiter = ',')]
    pub ignore_paths: Vec<String>,
    /// Timeout of each fetch.
    #[arg(long, value_name = "DURATION")]
    pub fetch_timeout: Option<String>,
    /// Shared flags.
    #[command(flatten)]
    pub common: CreateCommon,
}

/// `create kustomization`.
#[derive(Debug, Args)]
pub struct CreateKustomization {
    /// Name.
    pub name: String,
    /// Source, `[Kind/]name[.namespace]`; the kind defaults to GitRepository.
    #[arg(long, value_name = "[KIND/]NAME[.NAMESPACE]")]
    pub source: String,
    /// Path in the source.
    #[arg(long, default_value = "./")]
    pub path: String,
    /// Delete what is removed from the source.
    #[arg(long, action = ArgAction::Set, num_args = 0..=1, default_value_t = false, default_missing_value = "true", require_equals = true)]
    pub prune: bool,
    /// Interval after a failure.
    #[arg(long, value_name = "DURATION")]
    pub retry_interval: Option<String>,
    /// Put namespaced objects in this namespace.
    #[arg(long)]
    pub target_namespace: Option<String>,
    /// Kustomizations that must be ready first (`NAME` or `NAMESPACE/NAME`; repeat or separate
    /// with commas).
    #[arg(long, value_delimiter = ',', value_name = "[NS/]NAME")]
    pub depends_on: Vec<String>,
    /// Wait for every applied object to be healthy.
    #[arg(long, action = ArgAction::Set, num_args = 0..=1, default_value_t = false, default_missing_value = "true", require_equals = true)]
    pub wait: bool,
    /// Workloads to check, `Kind/name.namespace` (ignored with --wait, which checks all).
    #[arg(long, value_delimiter = ',')]
    pub health_check: Vec<String>,
    /// Limit for apply and health checks.
    #[arg(long, default_value = "2m", value_name = "DURATION")]
    pub health_check_timeout: String,
    /// Shared flags.
    #[command(flatten)]
    pub common: CreateCommon,
}

/// `get`.
#[derive(Debug, Subcommand)]
pub enum GetCommand {
    /// Sources.
    #[command(subcommand, alias = "source")]
    Sources(GetSources),
    /// Kustomizations.
    #[command(alias = "ks", alias = "kustomization")]
    Kustomizations(GetArgs),
    /// HelmReleases.
    #[command(alias = "hr", alias = "helmrelease")]
    Helmreleases(GetHelmReleases),
    /// Image automation objects.
    #[command(subcommand, alias = "image")]
    Images(GetImages),
}

/// `get images`.
#[derive(Debug, Subcommand)]
pub enum GetImages {
    /// ImageRepositories, ImagePolicies and ImageUpdateAutomations.
    All(GetArgs),
    /// ImageRepositories.
    Repository(GetArgs),
    /// ImagePolicies.
    Policy(GetArgs),
    /// ImageUpdateAutomations.
    Update(GetArgs),
}

/// `get helmreleases`.
#[derive(Debug, Args)]
pub struct GetHelmReleases {
    /// Namespace, all namespaces, watch.
    #[command(flatten)]
    pub common: GetArgs,
    /// Add a SOURCE column, `Kind/namespace/name` of the chart's source (or `chartRef`).
    #[arg(long, action = ArgAction::Set, num_args = 0..=1, default_value_t = false, default_missing_value = "true", require_equals = true)]
    pub show_source: bool,
}

/// `get sources`.
#[derive(Debug, Subcommand)]
pub enum GetSources {
    /// GitRepositories.
    Git(GetArgs),
    /// HelmRepositories.
    Helm(GetArgs),
    /// HelmCharts.
    Chart(GetArgs),
    /// OCIRepositories.
    Oci(GetArgs),
}

/// Options of `get`.
#[derive(Debug, Args)]
pub struct GetArgs {
    /// Namespace.
    #[arg(short, long, default_value = "flux-system")]
    pub namespace: String,
    /// All namespaces.
    #[arg(short = 'A', long, action = ArgAction::Set, num_args = 0..=1, default_value_t = false, default_missing_value = "true", require_equals = true)]
    pub all_namespaces: bool,
    /// Keep printing changes.
    #[arg(short, long, action = ArgAction::Set, num_args = 0..=1, default_value_t = false, default_missing_value = "true", require_equals = true)]
    pub watch: bool,
}

/// `reconcile`.
#[derive(Debug, Subcommand)]
pub enum ReconcileCommand {
    /// A source.
    #[command(subcommand)]
    Source(ReconcileSource),
    /// A Kustomization.
    #[command(alias = "ks")]
    Kustomization(ReconcileKustomization),
    /// A HelmRelease.
    #[command(alias = "hr")]
    Helmrelease(ReconcileHelmRelease),
    /// An ImageRepository (a new scan) or an ImageUpdateAutomation (a new run).
    #[command(subcommand)]
    Image(ReconcileImage),
}

/// `reconcile image`.
#[derive(Debug, Subcommand)]
pub enum ReconcileImage {
    /// An ImageRepository.
    Repository(NamedArgs),
    /// An ImageUpdateAutomation.
    Update(NamedArgs),
}

/// `reconcile helmrelease`.
#[derive(Debug, Args)]
pub struct ReconcileHelmRelease {
    /// Which one.
    #[command(flatten)]
    pub target: NamedArgs,
    /// Reconcile its chart and the chart's source first.
    #[arg(long, action = ArgAction::Set, num_args = 0..=1, default_value_t = false, default_missing_value = "true", require_equals = true)]
    pub with_source: bool,
    /// Force a one-off install or upgrade (`reconcile.fluxcd.io/forceAt`).
    #[arg(long, action = ArgAction::Set, num_args = 0..=1, default_value_t = false, default_missing_value = "true", require_equals = true)]
    pub force: bool,
    /// Reset the failure counts (`reconcile.fluxcd.io/resetAt`).
    #[arg(long, action = ArgAction::Set, num_args = 0..=1, default_value_t = false, default_missing_value = "true", require_equals = true)]
    pub reset: bool,
}

/// `reconcile source`.
#[derive(Debug, Subcommand)]
pub enum ReconcileSource {
    /// A GitRepository.
    Git(NamedArgs),
    /// A HelmRepository (`type: oci` ones are not reconciled, as in Flux).
    Helm(NamedArgs),
    /// A HelmChart.
    Chart(ReconcileChart),
    /// An OCIRepository.
    Oci(NamedArgs),
}

/// `reconcile source chart`.
#[derive(Debug, Args)]
pub struct ReconcileChart {
    /// Which one.
    #[command(flatten)]
    pub target: NamedArgs,
    /// Reconcile its source first.
    #[arg(long, action = ArgAction::Set, num_args = 0..=1, default_value_t = false, default_missing_value = "true", require_equals = true)]
    pub with_source: bool,
}

/// `reconcile kustomization`.
#[derive(Debug, Args)]
pub struct ReconcileKustomization {
    /// Which one.
    #[command(flatten)]
    pub target: NamedArgs,
    /// Reconcile its source first.
    #[arg(long, action = ArgAction::Set, num_args = 0..=1, default_value_t = false, default_missing_value = "true", require_equals = true)]
    pub with_source: bool,
}

/// A named object and how long to wait for it.
#[derive(Debug, Args)]
pub struct NamedArgs {
    /// Name.
    pub name: String,
    /// Namespace.
    #[arg(short, long, default_value = "flux-system")]
    pub namespace: String,
    /// How long to wait.
    #[arg(long, default_value = "5m")]
    pub timeout: String,
}

/// `suspend`, `resume`, `delete` targets.
#[derive(Debug, Subcommand)]
pub enum TargetCommand {
    /// A source.
    #[command(subcommand)]
    Source(TargetSource),
    /// A Kustomization.
    #[command(alias = "ks")]
    Kustomization(NamedArgs),
    /// A HelmRelease (deleting it uninstalls its release).
    #[command(alias = "hr")]
    Helmrelease(NamedArgs),
    /// Image automation objects.
    #[command(subcommand)]
    Image(TargetImage),
}

/// Image automation kinds for `suspend`, `resume`, `delete`.
#[derive(Debug, Subcommand)]
pub enum TargetImage {
    /// An ImageRepository.
    Repository(NamedArgs),
    /// An ImagePolicy.
    Policy(NamedArgs),
    /// An ImageUpdateAutomation.
    Update(NamedArgs),
}

/// Source kinds for `suspend`, `resume`, `delete`.
#[derive(Debug, Subcommand)]
pub enum TargetSource {
    /// A GitRepository.
    Git(NamedArgs),
    /// A HelmRepository.
    Helm(NamedArgs),
    /// A HelmChart.
    Chart(NamedArgs),
    /// An OCIRepository.
    Oci(NamedArgs),
}

/// Where the desired state comes from.
#[derive(Debug, Args, Clone)]
pub struct SourceArgs {
    /// Git remote (file://, http(s)://, ssh://). Without it, --path is a local directory.
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// Branch to follow (default: the remote's default branch).
    #[arg(long, group = "ref", requires = "url")]
    pub branch: Option<String>,
    /// Tag to fetch.
    #[arg(long, group = "ref", requires = "url")]
    pub tag: Option<String>,
    /// Semver range; the highest matching tag is fetched (e.g. ">=1.0.0 <2.0.0", "~1.2").
    #[arg(long, group = "ref", requires = "url", value_name = "RANGE")]
    pub semver: Option<String>,
    /// Exact commit (40 hex digits).
    #[arg(long, group = "ref", requires = "url", value_name = "SHA")]
    pub commit: Option<String>,
    /// Directory to render: inside the repository with --url, else on this machine.
    #[arg(long, default_value = ".", value_name = "DIR")]
    pub path: PathBuf,
    /// Confine a local render to this directory (default: the enclosing Git work tree; outside
    /// one, nothing: `../base` resolves as kustomize resolves it).
    #[arg(long, conflicts_with = "url", value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// HTTP basic auth user name.
    #[arg(long, requires = "url", env = "BALLAST_GIT_USERNAME")]
    pub username: Option<String>,
    /// HTTP basic auth password (prefer the environment variable).
    #[arg(long, requires = "username", env = "BALLAST_GIT_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,
    /// HTTP bearer token (prefer the environment variable).
    #[arg(
        long,
        requires = "url",
        env = "BALLAST_GIT_TOKEN",
        hide_env_values = true,
        conflicts_with = "username"
    )]
    pub token: Option<String>,
    /// SSH private key for ssh:// remotes.
    #[arg(long, requires = "known_hosts_file", value_name = "FILE")]
    pub private_key_file: Option<PathBuf>,
    /// known_hosts for ssh:// remotes; hosts not in it are refused.
    #[arg(long, value_name = "FILE")]
    pub known_hosts_file: Option<PathBuf>,
    /// Limit for each Git operation.
    #[arg(long, default_value = "60s", value_name = "DURATION")]
    pub git_timeout: String,
    /// Send --username/--password or --token over plain http:// (refused otherwise: they would
    /// travel in clear).
    #[arg(long, requires = "url", action = ArgAction::Set, num_args = 0..=1, default_value_t = false, default_missing_value = "true", require_equals = true)]
    pub insecure: bool,
    /// Largest Git tree accepted (sum of its file sizes; e.g. 256Mi, 1Gi); a larger revision is
    /// refused before anything is extracted or applied.
    #[arg(long, default_value = "256Mi", value_name = "SIZE")]
    pub max_artifact_size: String,
}

/// Bounds on the render (`build`, `diff`, `sync`); a source over one is refused, naming the
/// file and the flag that raises the limit. Sizes take `Ki`, `Mi`, `Gi` suffixes.
#[derive(Debug, Args, Clone)]
pub struct RenderArgs {
    /// Largest file read.
    #[arg(long, default_value = "8Mi", value_name = "SIZE", value_parser = ballast_render::limits::parse_size)]
    pub max_file_size: u64,
    /// Most YAML documents in one file.
    #[arg(long, default_value_t = 10_000, value_name = "N")]
    pub max_documents: usize,
    /// Most bytes one file may take once YAML aliases are expanded.
    #[arg(long, default_value = "64Mi", value_name = "SIZE", value_parser = ballast_render::limits::parse_size)]
    pub max_expanded_size: u64,
    /// Most bytes (aliases expanded) all files of the render together, and its output, may take.
    #[arg(long, default_value = "256Mi", value_name = "SIZE", value_parser = ballast_render::limits::parse_size)]
    pub max_render_size: u64,
    /// Most objects the render may produce.
    #[arg(long, default_value_t = 50_000, value_name = "N")]
    pub max_objects: usize,
    /// age identities (`AGE-SECRET-KEY-1…` lines, as in a Flux `*.agekey`) to decrypt SOPS
    /// files and objects with, in memory, as Flux's `spec.decryption` does (MAC verified).
    #[arg(long, value_name = "FILE")]
    pub decryption_key_file: Option<PathBuf>,
}

impl RenderArgs {
    /// The limits these flags set.
    pub fn limits(&self) -> ballast_render::Limits {
        ballast_render::Limits {
            max_file_size: self.max_file_size,
            max_documents: self.max_documents,
            max_expanded_size: self.max_expanded_size,
            max_render_size: self.max_render_size,
            max_objects: self.max_objects,
        }
    }

    /// The SOPS decryption hook of `--decryption-key-file`, `None` without the flag.
    pub fn decrypt(&self) -> anyhow::Result<Option<std::sync::Arc<dyn ballast_render::decrypt::Decrypt>>> {
        let Some(file) = &self.decryption_key_file else {
            return Ok(None);
        };
        let text = std::fs::read_to_string(file)
            .map_err(|e| anyhow::anyhow!("--decryption-key-file {}: {e}", file.display()))?;
        let mut keys = ballast_sops::Keys::default();
        if keys.add(&text, &file.display().to_string())? == 0 {
            anyhow::bail!(
                "--decryption-key-file {}: no age identity (AGE-SECRET-KEY-1…) in it",
                file.display()
            );
        }
        Ok(Some(std::sync::Arc::new(ballast_sops::SopsDecryptor::new(keys))))
    }
}

/// `template`: the flags of `helm template` that need no cluster and no repository.
#[derive(Debug, Args)]
pub struct TemplateArgs {
    /// Release name (`.Release.Name`).
    pub release: String,
    /// Chart: a directory or a `.tgz` archive.
    pub chart: PathBuf,
    /// Release namespace (`.Release.Namespace`).
    #[arg(short, long, default_value = "default", value_name = "NS")]
    pub namespace: String,
    /// Values files, merged in order (comma-separated or repeated).
    #[arg(short = 'f', long = "values", value_name = "FILE", value_delimiter = ',')]
    pub values: Vec<PathBuf>,
    /// Values as a=b,c.d=e (typed: numbers, booleans, null).
    #[arg(long, value_name = "VALS")]
    pub set: Vec<String>,
    /// Values as a=b, always strings.
    #[arg(long, value_name = "VALS")]
    pub set_string: Vec<String>,
    /// Values as a=<JSON>.
    #[arg(long, value_name = "VALS")]
    pub set_json: Vec<String>,
    /// Values read from files, as a=path.
    #[arg(long, value_name = "VALS")]
    pub set_file: Vec<String>,
    /// One literal string value, commas included, as a=b.
    #[arg(long, value_name = "VAL")]
    pub set_literal: Vec<String>,
    /// Print the raw crds/ files first.
    #[arg(long)]
    pub include_crds: bool,
    /// Leave out test hooks.
    #[arg(long)]
    pub skip_tests: bool,
    /// Kubernetes version for .Capabilities.KubeVersion (default v1.35.0).
    #[arg(long, value_name = "VERSION")]
    pub kube_version: Option<String>,
    /// Extra API versions for .Capabilities.APIVersions (group/version or group/version/Kind).
    #[arg(short = 'a', long, value_name = "GV", value_delimiter = ',')]
    pub api_versions: Vec<String>,
    /// Print only these templates (paths without the chart name, globs allowed).
    #[arg(short = 's', long, value_name = "PATH")]
    pub show_only: Vec<String>,
    /// Set .Release.IsUpgrade instead of .Release.IsInstall.
    #[arg(long)]
    pub is_upgrade: bool,
    /// Do not validate values against values.schema.json.
    #[arg(long)]
    pub skip_schema_validation: bool,
    /// Leave out every hook.
    #[arg(long)]
    pub no_hooks: bool,
}

/// `helm`: release actions, readable and writable by the helm CLI (v4) too.
#[derive(Debug, Subcommand)]
pub enum HelmCommand {
    /// Install a chart as a new release.
    Install(HelmChartArgs),
    /// Upgrade a release to a chart and values (a helm-installed release too, in place).
    Upgrade(HelmChartArgs),
    /// Roll a release back to a revision (default: the previous one), as a new revision.
    Rollback(HelmRollbackArgs),
    /// Uninstall a release: its hooks, its objects (`helm.sh/resource-policy: keep` honoured).
    Uninstall(HelmReleaseArgs),
    /// The releases of a namespace: NAME NAMESPACE REVISION UPDATED STATUS CHART APP VERSION.
    List(HelmNamespaceArgs),
    /// The revisions of a release: REVISION UPDATED STATUS CHART APP VERSION DESCRIPTION.
    History(HelmReleaseArgs),
    /// Run the test hooks of a release (exit 2 when one fails, naming it).
    Test(HelmReleaseArgs),
}

/// Options of every release action.
#[derive(Debug, Args)]
pub struct HelmActionArgs {
    /// How long each hook, and the wait for the objects, may take.
    #[arg(long, default_value = "5m", value_name = "DURATION")]
    pub timeout: String,
    /// Wait for every object of the release to be healthy (kstatus) before the post hooks.
    #[arg(long)]
    pub wait: bool,
    /// Run no hooks.
    #[arg(long)]
    pub no_hooks: bool,
    /// Revisions kept (0: no limit).
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub history_max: usize,
}

/// `helm list`.
#[derive(Debug, Args)]
pub struct HelmNamespaceArgs {
    /// Namespace of the releases (and of their records).
    #[arg(short, long, default_value = "default", value_name = "NS")]
    pub namespace: String,
    /// Also releases whose latest revision is uninstalled, superseded or uninstalling (by
    /// default, as helm: deployed, failed and pending ones).
    #[arg(short, long)]
    pub all: bool,
}

/// `helm history` and `helm uninstall`.
#[derive(Debug, Args)]
pub struct HelmReleaseArgs {
    /// Release name.
    pub release: String,
    /// Namespace of the release.
    #[arg(short, long, default_value = "default", value_name = "NS")]
    pub namespace: String,
    /// uninstall: keep the records, marked `uninstalled`.
    #[arg(long)]
    pub keep_history: bool,
    /// Action options.
    #[command(flatten)]
    pub action: HelmActionArgs,
}

/// `helm rollback`.
#[derive(Debug, Args)]
pub struct HelmRollbackArgs {
    /// Release name.
    pub release: String,
    /// Revision to roll back to (default: the one before the latest).
    pub revision: Option<i64>,
    /// Namespace of the release.
    #[arg(short, long, default_value = "default", value_name = "NS")]
    pub namespace: String,
    /// Action options.
    #[command(flatten)]
    pub action: HelmActionArgs,
}

/// `helm install` and `helm upgrade`.
#[derive(Debug, Args)]
pub struct HelmChartArgs {
    /// Release name.
    pub release: String,
    /// Chart: a directory or a `.tgz` archive.
    pub chart: PathBuf,
    /// Namespace of the release.
    #[arg(short, long, default_value = "default", value_name = "NS")]
    pub namespace: String,
    /// Values files, merged in order (comma-separated or repeated).
    #[arg(short = 'f', long = "values", value_name = "FILE", value_delimiter = ',')]
    pub values: Vec<PathBuf>,
    /// Values as a=b,c.d=e (typed: numbers, booleans, null).
    #[arg(long, value_name = "VALS")]
    pub set: Vec<String>,
    /// Values as a=b, always strings.
    #[arg(long, value_name = "VALS")]
    pub set_string: Vec<String>,
    /// Values as a=<JSON>.
    #[arg(long, value_name = "VALS")]
    pub set_json: Vec<String>,
    /// install: create the namespace when it does not exist.
    #[arg(long)]
    pub create_namespace: bool,
    /// upgrade: install the release when it does not exist (or only uninstalled revisions
    /// remain).
    #[arg(short, long)]
    pub install: bool,
    /// Action options.
    #[command(flatten)]
    pub action: HelmActionArgs,
}

/// `helmfile`: helmfile's global flags and a verb.
#[derive(Debug, Args)]
pub struct HelmfileArgs {
    /// State file or directory (default: helmfile.yaml, helmfile.yaml.gotmpl or helmfile.d/).
    #[arg(short = 'f', long = "file", global = true, value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Environment (default: `default`).
    #[arg(short = 'e', long = "environment", global = true, value_name = "ENV")]
    pub environment: Option<String>,
    /// Release selector `key=value[,key!=value]`; repeated selectors are alternatives.
    #[arg(short = 'l', long = "selector", global = true, value_name = "SEL")]
    pub selector: Vec<String>,
    /// State values files, over the environment's values (repeatable).
    #[arg(long = "state-values-file", global = true, value_name = "FILE")]
    pub state_values_file: Vec<PathBuf>,
    /// State values as a.b=c (Helm's --set syntax; repeatable).
    #[arg(long = "state-values-set", global = true, value_name = "VALS")]
    pub state_values_set: Vec<String>,
    /// Kubeconfig context for diff and apply (helmfile's flag; under `helmfile`, a numeric
    /// `--context N` is helmfile's lines of diff context).
    #[arg(long = "kube-context", global = true, value_name = "NAME")]
    pub kube_context: Option<String>,
    /// What to do.
    #[command(subcommand)]
    pub verb: HelmfileVerb,
}

/// `helmfile` verbs.
#[derive(Debug, Clone, Subcommand)]
pub enum HelmfileVerb {
    /// Render every selected release as `helmfile template` does.
    Template,
    /// Print the resolved state as `helmfile build` does.
    Build,
    /// List the selected releases as `helmfile list` does.
    List,
    /// Diff every selected release against the cluster (Secret values always masked).
    /// With --detailed-exitcode: 0 no changes, 2 changes, 1 error.
    Diff(HelmfileDiffArgs),
    /// Upgrade (or install) the selected releases that differ, in `needs` order (independent
    /// ones in parallel); uninstall `installed: false` ones that are present. Stored as Helm
    /// releases the helm CLI reads.
    Apply(HelmfileApplyArgs),
}

/// The flags `helmfile diff` and `helmfile apply` share.
#[derive(Debug, Clone, Args)]
pub struct HelmfileDiffArgs {
    /// Exit 2 instead of 0 when there are changes (diff: detected; apply: applied).
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Secret values are always masked by Ballast; accepted for helmfile compatibility.
    #[arg(long)]
    pub suppress_secrets: bool,
    /// Refused: Ballast never prints Secret values.
    #[arg(long)]
    pub show_secrets: bool,
    /// Print no diff (the affected releases are still listed).
    #[arg(long)]
    pub suppress_diff: bool,
    /// Releases not installed yet are neither planned nor diffed: apply installs them (their
    /// kinds may come from a CRD a release they need installs).
    #[arg(long)]
    pub skip_diff_on_install: bool,
    /// Do not compare hooks (a release whose only change is a hook is then unchanged).
    #[arg(long)]
    pub no_hooks: bool,
    /// With selectors: leave out the releases the selected ones need (the default).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1,
          default_missing_value = "true", require_equals = true, value_name = "BOOL")]
    pub skip_needs: bool,
    /// With selectors: include the releases the selected ones need directly.
    #[arg(long)]
    pub include_needs: bool,
    /// With selectors: include every release the selected ones need, transitively.
    #[arg(long)]
    pub include_transitive_needs: bool,
    /// Releases diffed or applied at once (0: unlimited).
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub concurrency: usize,
    /// More values for every release, as helm's --set (repeatable).
    #[arg(long, value_name = "VALS")]
    pub set: Vec<String>,
    /// More values files for every release (repeatable).
    #[arg(long, value_name = "FILE")]
    pub values: Vec<PathBuf>,
}

/// `helmfile apply`.
#[derive(Debug, Clone, Args)]
pub struct HelmfileApplyArgs {
    /// The flags shared with diff.
    #[command(flatten)]
    pub diff: HelmfileDiffArgs,
    /// Wait for every object of a release to be healthy (over helmDefaults.wait).
    #[arg(long)]
    pub wait: bool,
    /// Seconds each release may take (over helmDefaults.timeout; 0: that, else 300).
    #[arg(long, default_value_t = 0, value_name = "SECONDS")]
    pub timeout: u64,
}

/// `render`.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("dest").required(true).args(["out", "check"]))]
pub struct RenderUnitArgs {
    /// The unit: a helmfile (file, or a directory holding helmfile.yaml[.gotmpl]), a chart
    /// (directory with Chart.yaml, or .tgz), or a Kustomize or plain directory.
    pub unit: PathBuf,
    /// Write the objects here (one file per object, plus `.ballast-render` listing them);
    /// files of objects that no longer render are removed.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Compare with this directory instead of writing: exit 1 when it is out of date.
    #[arg(long, value_name = "DIR")]
    pub check: Option<PathBuf>,
    /// Helmfile environment.
    #[arg(short = 'e', long = "environment", value_name = "ENV")]
    pub environment: Option<String>,
    /// Helmfile release selector (repeatable).
    #[arg(short = 'l', long = "selector", value_name = "SEL")]
    pub selector: Vec<String>,
    /// Helmfile state values files (repeatable).
    #[arg(long = "state-values-file", value_name = "FILE")]
    pub state_values_file: Vec<PathBuf>,
    /// Helmfile state values as a.b=c (repeatable).
    #[arg(long = "state-values-set", value_name = "VALS")]
    pub state_values_set: Vec<String>,
    /// Chart: release name (default: the chart's directory name).
    #[arg(long, value_name = "NAME")]
    pub release: Option<String>,
    /// Chart: release namespace.
    #[arg(short, long, default_value = "default", value_name = "NS")]
    pub namespace: String,
    /// Chart: values files, merged in order.
    #[arg(long = "values", value_name = "FILE", value_delimiter = ',')]
    pub values: Vec<PathBuf>,
    /// Render limits (Kustomize and plain paths).
    #[command(flatten)]
    pub render: RenderArgs,
}

/// `build`.
#[derive(Debug, Args)]
pub struct BuildArgs {
    /// Source.
    #[command(flatten)]
    pub source: SourceArgs,
    /// Render limits.
    #[command(flatten)]
    pub render: RenderArgs,
    /// Put every namespaced object in this namespace.
    #[arg(long, value_name = "NS")]
    pub target_namespace: Option<String>,
}

/// Options shared by `diff` and `sync`.
#[derive(Debug, Args)]
pub struct SyncTarget {
    /// Name of the sync; its inventory is the ConfigMap ballast-inventory-NAME.
    #[arg(long)]
    pub name: String,
    /// Source.
    #[command(flatten)]
    pub source: SourceArgs,
    /// Render limits.
    #[command(flatten)]
    pub render: RenderArgs,
    /// Put every namespaced object in this namespace.
    #[arg(long, value_name = "NS")]
    pub target_namespace: Option<String>,
    /// Namespace of the inventory ConfigMap.
    #[arg(long, default_value = "default", value_name = "NS")]
    pub inventory_namespace: String,
    /// Take ownership of fields another applier manages, and recreate objects whose change
    /// touches an immutable field (as Flux's `spec.force`).
    #[arg(long, action = ArgAction::Set, num_args = 0..=1, default_value_t = false, default_missing_value = "true", require_equals = true)]
    pub force: bool,
    /// Deletion budget: a prune that would delete more than N objects and more than P% of the
    /// inventory deletes nothing (`N` or `N,P%`; default 10,25%; 0 disables).
    #[arg(long, default_value = "10,25%", value_name = "N[,P%]")]
    pub prune_budget: String,
    /// Approve this run's prune beyond the deletion budget.
    #[arg(long, action = ArgAction::Set, num_args = 0..=1, default_value_t = false, default_missing_value = "true", require_equals = true)]
    pub approve_prune: bool,
    /// Also prune protected objects: CRDs whose custom resources still exist, Namespaces holding
    /// objects this sync does not own (never default, kube-system, kube-public, kube-node-lease
    /// or the inventory namespace).
    #[arg(long, action = ArgAction::Set, num_args = 0..=1, default_value_t = false, default_missing_value = "true", require_equals = true)]
    pub allow_protected_prune: bool,
}

/// `diff`.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// What to compare.
    #[command(flatten)]
    pub target: SyncTarget,
    /// Do not show prunes.
    #[arg(long, action = ArgAction::Set, num_args = 0..=1, default_value_t = false, default_missing_value = "true", require_equals = true)]
    pub no_prune: bool,
}

/// `diff helmrelease` (typed as `diff helmrelease NAME` or `diff hr NAME`; see
/// [`rewrite_args`]).
#[derive(Debug, Args)]
pub struct DiffHelmRelease {
    /// Name.
    pub name: String,
    /// Namespace.
    #[arg(short, long, default_value = "flux-system")]
    pub namespace: String,
    /// Limit for fetching the chart.
    #[arg(long, default_value = "5m")]
    pub timeout: String,
    /// Accept a chart from a `file://` GitRepository (as the controller's flag).
    #[arg(long, action = ArgAction::Set, num_args = 0..=1, default_value_t = false, default_missing_value = "true", require_equals = true)]
    pub allow_file_sources: bool,
    /// The controller's `--source-mirror` (FROM=TO[,OPTION], repeatable): the chart is fetched
    /// from where the controller fetches it.
    #[arg(long = "source-mirror", value_name = "FROM=TO[,OPTION]")]
    pub source_mirrors: Vec<String>,
}

/// `sync`.
#[derive(Debug, Args)]
pub struct SyncArgs {
    /// What to apply.
    #[command(flatten)]
    pub target: SyncTarget,
    /// Delete objects this sync applied before and that are no longer in the source.
    #[arg(long, action = ArgAction::Set, num_args = 0..=1, default_value_t = false, default_missing_value = "true", require_equals = true)]
    pub prune: bool,
    /// Allow a source that renders no objects to prune everything.
    #[arg(long, action = ArgAction::Set, num_args = 0..=1, default_value_t = false, default_missing_value = "true", require_equals = true)]
    pub allow_empty: bool,
    /// Wait until the applied objects are healthy.
    #[arg(long, action = ArgAction::Set, num_args = 0..=1, default_value_t = false, default_missing_value = "true", require_equals = true)]
    pub wait: bool,
    /// How long --wait waits (and how long CRDs/Namespaces may take to become ready).
    #[arg(long, default_value = "5m", value_name = "DURATION")]
    pub timeout: String,
}

/// `local`.
#[derive(Debug, Args)]
pub struct LocalArgs {
    /// State directory (default: $BALLAST_LOCAL_DIR or ~/.local/state/ballast/local).
    #[arg(long, global = true, env = "BALLAST_LOCAL_DIR", value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// up, down or status.
    #[command(subcommand)]
    pub action: LocalAction,
}

/// `local` verbs.
#[derive(Debug, Subcommand)]
pub enum LocalAction {
    /// Start the control plane (no-op if it already runs) and write its kubeconfig.
    Up,
    /// Stop what `up` started.
    Down,
    /// Show whether it runs. Exit 0: running and ready; 1: not running.
    Status,
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::{Cli, Command, rewrite_args, template_only};

    fn argv(line: &str) -> Vec<std::ffi::OsString> {
        line.split(' ').map(std::ffi::OsString::from).collect()
    }

    #[test]
    fn template_only_parses_as_the_full_parser() {
        for line in [
            "ballast template web ./chart",
            "ballast template web chart.tgz -n apps -f a.yaml,b.yaml --values c.yaml --set a=1,b=2 --set x=y",
            "ballast template web chart --set-string s=1 --set-json j={} --set-file f=p --set-literal l=a,b",
            "ballast template web chart --include-crds --skip-tests --kube-version 1.30 -a v1/X,apps/v1",
            "ballast template web chart -s templates/a.yaml --show-only b --is-upgrade --skip-schema-validation --no-hooks",
            "ballast template --namespace=ns -- web chart",
        ] {
            let fast = template_only(&argv(line)).unwrap_or_else(|| panic!("{line}: not parsed alone"));
            let Command::Template(full) = Cli::try_parse_from(argv(line)).expect(line).command else {
                panic!("{line}: not a template command");
            };
            assert_eq!(format!("{fast:?}"), format!("{full:?}"), "{line}");
        }
        // Left to the full parser: other verbs, help and version, global options, errors.
        for line in [
            "ballast build --path .",
            "ballast template --help",
            "ballast template -h",
            "ballast template --version",
            "ballast template web chart --kubeconfig k",
            "ballast --context c template web chart",
            "ballast template web",
            "ballast template web chart --bogus",
            "ballast",
        ] {
            assert!(template_only(&argv(line)).is_none(), "{line}");
        }
    }

    fn rewrite(line: &str) -> String {
        rewrite_args(argv(line))
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn diff_helmrelease_becomes_the_hidden_verb() {
        assert_eq!(
            rewrite("ballast diff hr web -n apps"),
            "ballast diff-helmrelease web -n apps"
        );
        assert_eq!(
            rewrite("ballast --kubeconfig k --context=c diff helmrelease web"),
            "ballast --kubeconfig k --context=c diff-helmrelease web"
        );
        assert_eq!(
            rewrite("ballast --kube-api-qps 5 --kube-api-burst=10 diff hr web"),
            "ballast --kube-api-qps 5 --kube-api-burst=10 diff-helmrelease web"
        );
        for same in [
            "ballast diff --name hr --path .",
            "ballast sync hr",
            "ballast --context diff diff --name x",
            "ballast build --path hr",
        ] {
            assert_eq!(rewrite(same), same);
        }
    }
}

/// `sops`.
#[derive(Debug, Subcommand)]
pub enum SopsCommand {
    /// Encrypt FILE for age recipients and print the SOPS document (format from the file name).
    Encrypt(SopsEncryptArgs),
    /// Decrypt FILE (MAC verified) and print the plaintext. Identities come from --key-file,
    /// else SOPS_AGE_KEY_FILE, SOPS_AGE_KEY and ~/.config/sops/age/keys.txt, as `sops` reads them.
    Decrypt(SopsDecryptArgs),
}

/// `sops encrypt`.
#[derive(Debug, Args)]
pub struct SopsEncryptArgs {
    /// age recipients (`age1…`), comma-separated or repeated.
    #[arg(long, value_name = "RECIPIENT", value_delimiter = ',', required = true)]
    pub age: Vec<String>,
    /// Encrypt only values under a key matching this regex.
    #[arg(long, value_name = "REGEX")]
    pub encrypted_regex: Option<String>,
    /// Leave values under a key matching this regex in the clear.
    #[arg(long, value_name = "REGEX")]
    pub unencrypted_regex: Option<String>,
    /// Encrypt only values under a key ending with this suffix.
    #[arg(long, value_name = "SUFFIX")]
    pub encrypted_suffix: Option<String>,
    /// Leave values under a key ending with this suffix in the clear (default `_unencrypted`).
    #[arg(long, value_name = "SUFFIX")]
    pub unencrypted_suffix: Option<String>,
    /// Cover only encrypted values with the MAC.
    #[arg(long)]
    pub mac_only_encrypted: bool,
    /// Format instead of the file name's (yaml, json, dotenv, binary).
    #[arg(long, value_name = "FORMAT")]
    pub input_type: Option<String>,
    /// The plain file.
    pub file: PathBuf,
}

/// `sops decrypt`.
#[derive(Debug, Args)]
pub struct SopsDecryptArgs {
    /// File of age identities (`AGE-SECRET-KEY-1…` lines).
    #[arg(long, value_name = "FILE")]
    pub key_file: Option<PathBuf>,
    /// Format instead of the file name's (yaml, json, dotenv, binary).
    #[arg(long, value_name = "FORMAT")]
    pub input_type: Option<String>,
    /// The encrypted file.
    pub file: PathBuf,
}
