//! Command-line arguments, parsed once.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

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
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Verbs.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Render a directory (or a Git source) and print the objects as YAML.
    Build(BuildArgs),
    /// Show what a sync would change, including prunes, as a unified diff.
    /// Exit 0: no change; 1: changes; 2: error.
    Diff(DiffArgs),
    /// Run one reconcile pass: fetch, render, apply, prune, wait.
    Sync(SyncArgs),
    /// A local control plane (etcd + kube-apiserver + kube-controller-manager) on loopback.
    Local(LocalArgs),
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
}

/// `build`.
#[derive(Debug, Args)]
pub struct BuildArgs {
    /// Source.
    #[command(flatten)]
    pub source: SourceArgs,
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
    /// Put every namespaced object in this namespace.
    #[arg(long, value_name = "NS")]
    pub target_namespace: Option<String>,
    /// Namespace of the inventory ConfigMap.
    #[arg(long, default_value = "default", value_name = "NS")]
    pub inventory_namespace: String,
    /// Take ownership of fields another applier manages.
    #[arg(long)]
    pub force: bool,
}

/// `diff`.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// What to compare.
    #[command(flatten)]
    pub target: SyncTarget,
    /// Do not show prunes.
    #[arg(long)]
    pub no_prune: bool,
}

/// `sync`.
#[derive(Debug, Args)]
pub struct SyncArgs {
    /// What to apply.
    #[command(flatten)]
    pub target: SyncTarget,
    /// Delete objects this sync applied before and that are no longer in the source.
    #[arg(long)]
    pub prune: bool,
    /// Allow a source that renders no objects to prune everything.
    #[arg(long)]
    pub allow_empty: bool,
    /// Wait until the applied objects are healthy.
    #[arg(long)]
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
