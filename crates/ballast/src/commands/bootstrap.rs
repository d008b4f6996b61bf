//! `ballast bootstrap git`: Ballast's own manifests and the objects that sync the repository go
//! into the repository; then they are applied, and from then on the cluster manages itself.
//!
//! Idempotent: files are only committed when they change, objects only written when they differ.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context as _, Result, anyhow};
use ballast_apply::{Applier, ApplyOptions};
use ballast_core::{Inventory, ObjectRef};
use ballast_render::emit::to_yaml_stream;
use ballast_source::{Auth, FetchOptions, GitRef, GitSource, checkout_for_write};
use serde_json::{Value, json};

use super::install::{as_manifests, manifests as install_manifests};
use crate::cli::{BootstrapCommand, BootstrapGit};
use crate::pipeline::connect;

pub async fn run(cmd: &BootstrapCommand, kubeconfig: Option<&Path>, context: Option<&str>) -> Result<u8> {
    let args = match cmd {
        BootstrapCommand::Git(args) => args,
        BootstrapCommand::Github(p) => return Ok(provider_pointer("github", &p.args)),
        BootstrapCommand::Gitlab(p) => return Ok(provider_pointer("gitlab", &p.args)),
        BootstrapCommand::Gitea(p) => return Ok(provider_pointer("gitea", &p.args)),
        BootstrapCommand::BitbucketServer(p) => return Ok(provider_pointer("bitbucket-server", &p.args)),
    };
    let path = args.path.trim_start_matches("./").trim_end_matches('/').to_string();
    if path.is_empty() || path.starts_with('/') || path.split('/').any(|c| c == "..") {
        anyhow::bail!(
            "--path {:?}: expected a relative directory such as clusters/my-cluster",
            args.path
        );
    }
    let auth = match (&args.private_key_file, &args.known_hosts_file) {
        (Some(k), Some(h)) => Auth::Ssh {
            identity: k.clone(),
            known_hosts: h.clone(),
        },
        _ => Auth::None,
    };
    if ballast_source::redact_url(&args.url) != args.url {
        anyhow::bail!(
            "{}: credentials in the URL would be committed to the repository; use an ssh:// URL with --private-key-file",
            ballast_source::redact_url(&args.url)
        );
    }
    if args.url.starts_with("ssh://") && matches!(auth, Auth::None) {
        anyhow::bail!("{}: ssh:// needs --private-key-file and --known-hosts-file", args.url);
    }
    let components = install_manifests(&args.namespace, &args.image);
    let sync = sync_objects(args, &path);

    println!(
        "► cloning branch {:?} from {}",
        args.branch,
        ballast_source::redact_url(&args.url)
    );
    let source = GitSource {
        url: args.url.clone(),
        reference: GitRef::Branch(args.branch.clone()),
        auth: auth.clone(),
        insecure: false,
    };
    let options = FetchOptions::new(std::env::temp_dir(), Duration::from_secs(120));
    let (name, email) = split_author(&args.author);
    let commit = tokio::task::spawn_blocking({
        let components = to_yaml_stream(components.iter());
        let sync = to_yaml_stream(sync.iter());
        let path = path.clone();
        move || -> Result<Option<String>> {
            let checkout = checkout_for_write(&source, &options)?;
            let dir = checkout.path().join(&path).join("flux-system");
            std::fs::create_dir_all(&dir).with_context(|| dir.display().to_string())?;
            std::fs::write(dir.join("gotk-components.yaml"), format!("---\n{components}"))?;
            std::fs::write(dir.join("gotk-sync.yaml"), format!("---\n{sync}"))?;
            let commit = checkout.commit_all(&format!("Add Ballast sync manifests for {path}"), &name, &email)?;
            if commit.is_some() {
                checkout.push()?;
            }
            Ok(commit)
        }
    })
    .await??;
    match &commit {
        Some(c) => println!("✔ committed and pushed {c}"),
        None => println!("✔ repository already up to date"),
    }

    println!("► installing components in {:?} namespace", args.namespace);
    let cluster = connect(kubeconfig, context).await?;
    let applier = Applier::new(
        &cluster,
        ApplyOptions {
            force: true,
            ..Default::default()
        },
    );
    let changes = applier
        .apply(
            &as_manifests(components, "gotk-components.yaml")?,
            &Inventory::default(),
        )
        .await
        .map_err(|e| anyhow!("{e}"))?;
    print_changes(&changes);
    if let Auth::Ssh { identity, known_hosts } = &auth {
        let secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "flux-system", "namespace": args.namespace},
            "stringData": {"identity": std::fs::read_to_string(identity)?, "known_hosts": std::fs::read_to_string(known_hosts)?}});
        let r = ObjectRef::new("v1", "Secret", Some(&args.namespace), "flux-system");
        cluster.apply(&r, &secret, false, true).await?;
        println!("Secret/{}/flux-system configured (contents not shown)", args.namespace);
    }
    cluster.refresh().await?;
    let changes = applier
        .apply(&as_manifests(sync, "gotk-sync.yaml")?, &Inventory::default())
        .await
        .map_err(|e| anyhow!("{e}"))?;
    print_changes(&changes);
    println!(
        "✔ bootstrap finished: the cluster now syncs {}/{path} (run `ballast controller` if it is not running)",
        args.branch
    );
    Ok(0)
}

fn print_changes(changes: &ballast_core::ChangeSet) {
    for e in &changes.entries {
        println!("{e}");
    }
}

/// The GitRepository and Kustomization named after the namespace, like Flux's `flux-system`.
fn sync_objects(args: &BootstrapGit, path: &str) -> Vec<Value> {
    let mut source = json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
        "metadata": {"name": "flux-system", "namespace": args.namespace},
        "spec": {"interval": args.interval, "ref": {"branch": args.branch}, "url": args.url},
    });
    if args.private_key_file.is_some() {
        source["spec"]["secretRef"] = json!({"name": "flux-system"});
    }
    let ks = json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
        "metadata": {"name": "flux-system", "namespace": args.namespace},
        "spec": {"interval": "10m", "path": format!("./{path}"), "prune": true,
                 "sourceRef": {"kind": "GitRepository", "name": "flux-system"}},
    });
    vec![source, ks]
}

fn split_author(author: &str) -> (String, String) {
    match author.split_once('<') {
        Some((n, e)) => (n.trim().to_string(), e.trim_end_matches('>').trim().to_string()),
        None => (author.to_string(), "ballast@localhost".to_string()),
    }
}

/// The value of `--name=value` or `--name value` among a provider bootstrap's arguments.
fn flag_value<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    let long = format!("--{name}");
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if let Some(v) = a.strip_prefix(&long).and_then(|r| r.strip_prefix('=')) {
            return Some(v);
        }
        if *a == long {
            return it.next().map(String::as_str);
        }
    }
    None
}

/// `bootstrap github` and the other hosting-provider bootstraps create repositories and deploy
/// keys through the provider's API, which Ballast does not do: say so, show the `bootstrap git`
/// command for the same repository, path and branch, and exit 2.
fn provider_pointer(provider: &str, args: &[String]) -> u8 {
    let branch = flag_value(args, "branch").unwrap_or("main");
    let path = flag_value(args, "path").unwrap_or("clusters/my-cluster");
    let mut url = "<repository URL>".to_string();
    if let (Some(owner), Some(repo)) = (flag_value(args, "owner"), flag_value(args, "repository")) {
        url = format!("<URL of {owner}/{repo}>");
    }
    let context = flag_value(args, "context")
        .map(|c| format!(" --context={c}"))
        .unwrap_or_default();
    eprintln!(
        "error: `ballast bootstrap {provider}` is not supported: Ballast does not create repositories or deploy keys through a hosting provider's API.\n\
         Create the repository (and, for ssh://, a deploy key) yourself, then run:\n\n  \
         ballast bootstrap git{context} --url={url} --branch={branch} --path={path}\n\n\
         (ssh:// URLs also take --private-key-file and --known-hosts-file; see `ballast bootstrap git --help`)"
    );
    2
}
