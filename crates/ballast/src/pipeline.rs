//! The steps every command shares: resolve the source, connect, render.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use ballast_apply::{InventoryStore, StoredInventory};
use ballast_core::{Manifest, Scopes, parse_duration};
use ballast_kube::{Cluster, ConnectOptions};
use ballast_render::{RenderSpec, render_plain};
use ballast_source::{Auth, FetchOptions, GitRef, GitSource};

use crate::cli::{SourceArgs, SyncTarget};

/// Files to render: a root directory (never left), the path inside it, and the revision.
pub struct Desired {
    /// Artifact root (repository tree, or the local directory).
    pub root: PathBuf,
    /// Path to render, relative to the root.
    pub path: PathBuf,
    /// `main@sha1:<hex>` for Git, `local:<dir>` for a directory.
    pub revision: String,
}

/// Fetches the source (or takes the local directory).
pub async fn resolve_source(args: &SourceArgs) -> Result<Desired> {
    let Some(url) = &args.url else {
        if !args.path.is_dir() {
            bail!("path {}: not a directory", args.path.display());
        }
        let (root, path) = local_root(&args.path, args.root.as_deref())?;
        return Ok(Desired {
            root,
            path,
            revision: format!("local:{}", args.path.display()),
        });
    };
    let reference = if let Some(b) = &args.branch {
        GitRef::Branch(b.clone())
    } else if let Some(t) = &args.tag {
        GitRef::Tag(t.clone())
    } else if let Some(r) = &args.semver {
        GitRef::Semver(r.clone())
    } else if let Some(c) = &args.commit {
        GitRef::Commit(c.clone())
    } else {
        GitRef::Default
    };
    let auth = match (
        &args.username,
        &args.password,
        &args.token,
        &args.private_key_file,
        &args.known_hosts_file,
    ) {
        (Some(u), p, _, _, _) => Auth::Basic {
            username: u.clone(),
            password: p.clone().unwrap_or_default(),
        },
        (_, _, Some(t), _, _) => Auth::Bearer(t.clone()),
        (_, _, _, Some(k), Some(h)) => Auth::Ssh {
            identity: k.clone(),
            known_hosts: h.clone(),
        },
        _ => Auth::None,
    };
    if url.starts_with("ssh://") && args.known_hosts_file.is_none() {
        bail!(
            "{}: ssh:// needs --known-hosts-file (and --private-key-file); unknown hosts are never trusted",
            ballast_source::redact_url(url)
        );
    }
    let source = GitSource {
        url: url.clone(),
        reference,
        auth,
        insecure: args.insecure,
    };
    let mut options = FetchOptions::new(
        ballast_cache_dir().join("git"),
        parse_duration(&args.git_timeout).map_err(anyhow::Error::msg)?,
    );
    options.max_artifact_size = ballast_source::parse_size(&args.max_artifact_size).map_err(anyhow::Error::msg)?;
    let artifact = tokio::task::spawn_blocking(move || ballast_source::fetch(&source, &options)).await??;
    Ok(Desired {
        root: artifact.root,
        path: args.path.clone(),
        revision: artifact.revision.to_string(),
    })
}

/// The root a local directory is rendered within, and the directory relative to it: `--root`
/// when given (the directory must be inside it), else the enclosing Git work tree, else the
/// smallest directory holding the kustomization and every directory its `resources`,
/// `components` and `bases` reach ([`kustomize_reach`]), so that `../base` resolves as
/// `kubectl kustomize` resolves it while a symlink or file climbing elsewhere is still refused.
/// Kustomizations may refer to bases anywhere under that root (`../../base`), never outside it,
/// as with a fetched repository.
fn local_root(dir: &Path, confine: Option<&Path>) -> Result<(PathBuf, PathBuf)> {
    let full = dir.canonicalize().with_context(|| format!("path {}", dir.display()))?;
    let root = match confine {
        Some(r) => {
            let r = r.canonicalize().with_context(|| format!("--root {}", r.display()))?;
            if !full.starts_with(&r) {
                bail!("path {}: not inside --root {}", dir.display(), r.display());
            }
            r
        }
        None => match full.ancestors().find(|a| a.join(".git").exists()) {
            Some(work_tree) => work_tree.to_path_buf(),
            None => kustomize_reach(&full)
                .iter()
                .fold(full.clone(), |common, d| common_ancestor(&common, d)),
        },
    };
    let rel = full.strip_prefix(&root).unwrap_or(Path::new("")).to_path_buf();
    let rel = if rel.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        rel
    };
    Ok((root, rel))
}

/// Most directories [`kustomize_reach`] follows, and the largest kustomization file it reads.
const REACH_MAX_DIRS: usize = 1_000;
const REACH_MAX_FILE: u64 = 1 << 20;

/// The directories (resolved) a kustomization in `dir` reaches through `resources`,
/// `components` and `bases` entries that are local directories, transitively — the bases kustomize
/// loads with a root of their own under its default load restrictor. Only kustomization files
/// that resolve inside their own directory are read (kustomize refuses the others, and so does
/// the render); a file that cannot be read or parsed ends the walk there and is reported by the
/// render itself.
fn kustomize_reach(dir: &Path) -> Vec<PathBuf> {
    let mut seen: Vec<PathBuf> = vec![dir.to_path_buf()];
    let mut queue = vec![dir.to_path_buf()];
    while let Some(d) = queue.pop() {
        let Some(file) = ["kustomization.yaml", "kustomization.yml", "Kustomization"]
            .iter()
            .map(|n| d.join(n))
            .find(|f| f.is_file())
        else {
            continue;
        };
        let Ok(canon) = file.canonicalize() else { continue };
        if canon.parent() != Some(d.as_path()) {
            continue;
        }
        if std::fs::metadata(&canon).map_or(true, |m| m.len() > REACH_MAX_FILE) {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&canon) else {
            continue;
        };
        let Ok(docs) = ballast_render::yaml::parse_stream(&text) else {
            continue;
        };
        let Some(doc) = docs.first() else { continue };
        for key in ["resources", "components", "bases"] {
            for entry in doc[key].as_array().into_iter().flatten().filter_map(|v| v.as_str()) {
                if entry.contains("://") || entry.starts_with("git@") {
                    continue;
                }
                let Ok(target) = d.join(entry).canonicalize() else {
                    continue;
                };
                if target.is_dir() && !seen.contains(&target) && seen.len() < REACH_MAX_DIRS {
                    seen.push(target.clone());
                    queue.push(target);
                }
            }
        }
    }
    seen
}

/// The deepest directory holding both `a` and `b` (both absolute).
fn common_ancestor(a: &Path, b: &Path) -> PathBuf {
    a.ancestors()
        .find(|p| b.starts_with(p))
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("/"))
}

/// `$BALLAST_CACHE` or `~/.cache/ballast`.
pub fn ballast_cache_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("BALLAST_CACHE") {
        return PathBuf::from(d);
    }
    home().join(".cache").join("ballast")
}

/// The local control plane's state directory.
pub fn local_dir(flag: Option<&Path>) -> PathBuf {
    match flag {
        Some(d) => d.to_path_buf(),
        None => home().join(".local").join("state").join("ballast").join("local"),
    }
}

fn home() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/tmp"))
}

/// The client limits of this process (`--kube-api-qps`, `--kube-api-burst`), set once from the
/// command line before any connection.
static CLIENT_LIMITS: std::sync::OnceLock<ballast_kube::ClientLimits> = std::sync::OnceLock::new();

/// Sets the limits every [`connect`] of this process uses (the first call wins).
pub fn set_client_limits(limits: ballast_kube::ClientLimits) {
    let _ = CLIENT_LIMITS.set(limits);
}

/// Connects to the cluster: the given kubeconfig, else `~/.kube/config`, else the local control
/// plane's kubeconfig when it runs, else in-cluster configuration.
pub async fn connect(kubeconfig: Option<&Path>, context: Option<&str>) -> Result<Cluster> {
    let mut kubeconfig = kubeconfig.map(Path::to_path_buf);
    if kubeconfig.is_none() && !home().join(".kube").join("config").is_file() {
        let local = local_dir(std::env::var_os("BALLAST_LOCAL_DIR").map(PathBuf::from).as_deref()).join("kubeconfig");
        if local.is_file() {
            kubeconfig = Some(local);
        }
    }
    let options = ConnectOptions {
        kubeconfig,
        context: context.map(str::to_string),
        limits: CLIENT_LIMITS.get().copied().unwrap_or_default(),
    };
    Cluster::connect(&options)
        .await
        .context("no cluster (start one with `ballast local up`, or pass --kubeconfig)")
}

/// Says on stderr when the API server refused requests for load during this run (how many, and
/// how low the client's in-flight limit went), and how many requests waited for the client-side
/// rate limit; nothing when neither happened.
pub fn report_throttling(cluster: &Cluster) {
    let flow = cluster.flow();
    if flow.throttled() > 0 {
        eprintln!(
            "the API server refused {} requests for load; in-flight limit lowered to {}, now {}",
            flow.throttled(),
            flow.lowest_limit(),
            flow.limit()
        );
    }
    if flow.rate_limited() > 0 {
        eprintln!(
            "{} requests waited for the client-side rate limit (--kube-api-qps, --kube-api-burst)",
            flow.rate_limited()
        );
    }
}

/// Renders the desired objects.
pub fn render(
    desired: &Desired,
    target_namespace: Option<&str>,
    default_namespace: Option<&str>,
    scopes: &dyn Scopes,
    args: &crate::cli::RenderArgs,
) -> Result<Vec<Manifest>> {
    let spec = RenderSpec {
        path: desired.path.clone(),
        target_namespace: target_namespace.map(str::to_string),
        default_namespace: default_namespace.map(str::to_string),
        ignore: None,
        limits: args.limits(),
        decrypt: args.decrypt()?,
    };
    Ok(render_plain(&desired.root, &spec, scopes)?)
}

/// Everything `diff` and `sync` need before planning: fetched and rendered desired state, the
/// cluster, and the previous inventory. Fetch and render happen first, so a failure there never
/// reaches the cluster.
pub struct Prepared {
    /// The fetched source.
    pub desired: Desired,
    /// The connected cluster.
    pub cluster: Cluster,
    /// Rendered objects.
    pub manifests: Vec<Manifest>,
    /// The inventory of the previous sync of this name.
    pub previous: StoredInventory,
}

/// Fetches, connects, renders and loads the previous inventory.
pub async fn prepare(target: &SyncTarget, kubeconfig: Option<&Path>, context: Option<&str>) -> Result<Prepared> {
    validate_target(target)?;
    let t = Timer::start();
    let desired = resolve_source(&target.source).await?;
    eprintln!("fetched {}", desired.revision);
    t.lap("fetch");
    let cluster = connect(kubeconfig, context).await?;
    t.lap("connect and discovery");
    // Objects that name no namespace go to the target namespace, else `default`: never to the
    // kubeconfig context's namespace, so an object's identity (and its inventory entry) does not
    // depend on who runs the sync.
    let manifests = render(
        &desired,
        target.target_namespace.as_deref(),
        Some(target.target_namespace.as_deref().unwrap_or("default")),
        &cluster,
        &target.render,
    )?;
    t.lap("render");
    let previous = inventory_store(&cluster, target).load().await?;
    t.lap("inventory load");
    Ok(Prepared {
        desired,
        cluster,
        manifests,
        previous,
    })
}

/// The inventory ConfigMap of a sync target.
pub fn inventory_store<'a>(cluster: &'a Cluster, target: &SyncTarget) -> InventoryStore<'a> {
    InventoryStore::new(cluster, &target.name, &target.inventory_namespace)
}

/// Checks a sync target's names and flags before anything is fetched or written: the inventory
/// ConfigMap's name, the owner labels' values and the namespaces must be what the API server
/// accepts.
pub fn validate_target(target: &SyncTarget) -> Result<()> {
    use ballast_plan::validate::{dns_label, dns_subdomain, label_value};
    let name = &target.name;
    dns_subdomain(&format!("ballast-inventory-{name}"))
        .and_then(|_| label_value(name))
        .map_err(|e| anyhow::anyhow!("--name {name:?}: {e} (it names the inventory ConfigMap ballast-inventory-NAME and is the value of the owner label)"))?;
    dns_label(&target.inventory_namespace)
        .map_err(|e| anyhow::anyhow!("--inventory-namespace {:?}: {e}", target.inventory_namespace))?;
    if let Some(ns) = &target.target_namespace {
        dns_label(ns).map_err(|e| anyhow::anyhow!("--target-namespace {ns:?}: {e}"))?;
    }
    ballast_apply::PruneBudget::parse(&target.prune_budget).map_err(anyhow::Error::msg)?;
    Ok(())
}

/// The apply options a sync target's flags ask for (prune off; `sync --prune` turns it on).
pub fn apply_options(target: &SyncTarget) -> Result<ballast_apply::ApplyOptions> {
    Ok(ballast_apply::ApplyOptions {
        force: target.force,
        recreate: target.force,
        owner_labels: owner_labels(target),
        prune_budget: ballast_apply::PruneBudget::parse(&target.prune_budget).map_err(anyhow::Error::msg)?,
        prune_approved: target.approve_prune,
        allow_protected_prune: target.allow_protected_prune,
        own_namespaces: vec![target.inventory_namespace.clone()],
        ..Default::default()
    })
}

/// The labels a one-shot sync puts on what it applies.
pub fn owner_labels(target: &SyncTarget) -> std::collections::BTreeMap<String, String> {
    [
        ("sync.ballast.dev/name".to_string(), target.name.clone()),
        (
            "sync.ballast.dev/namespace".to_string(),
            target.inventory_namespace.clone(),
        ),
    ]
    .into_iter()
    .collect()
}

/// Phase timings on stderr when `BALLAST_TIMINGS` is set (for profiling; off by default).
pub struct Timer {
    last: std::cell::Cell<std::time::Instant>,
    on: bool,
}

impl Timer {
    /// Starts the clock.
    pub fn start() -> Self {
        Timer {
            last: std::cell::Cell::new(std::time::Instant::now()),
            on: std::env::var_os("BALLAST_TIMINGS").is_some(),
        }
    }

    /// Prints a note (a count) among the timings.
    pub fn note(&self, what: &str) {
        if self.on {
            eprintln!("timing: {what}");
        }
    }

    /// Prints the time since the previous lap under `phase`.
    pub fn lap(&self, phase: &str) {
        let now = std::time::Instant::now();
        if self.on {
            eprintln!("timing: {phase}: {:.1} ms", (now - self.last.get()).as_secs_f64() * 1e3);
        }
        self.last.set(now);
    }
}
