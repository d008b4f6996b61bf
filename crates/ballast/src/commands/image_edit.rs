//! CI helpers that edit files in place, each changing only the bytes of the values they set:
//! `set image` (what `kustomize edit set image` does), `set value` (a key path in a YAML file
//! such as Helm values) and `bump image` (the newest tag matching a range, from a registry, or
//! a given version).
//!
//! Exit codes a CI job can branch on: 0 something changed, 3 nothing to do, 2 an error.
//! `--output json` prints one JSON object describing what was done.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use clap::{ArgAction, Args, Subcommand};
use serde_json::json;

/// Exit code when nothing had to change.
pub const NOTHING_TO_DO: u8 = 3;

/// `ballast set ...`.
#[derive(Debug, Subcommand)]
pub enum SetCommand {
    /// Set images of a kustomization as `kustomize edit set image` does
    /// (NAME=NEWNAME:TAG@DIGEST, NAME:TAG, NAME@DIGEST, NAME=NEWNAME; `*` keeps a part),
    /// editing the file in place. Exit 0 changed, 3 nothing to do, 2 error.
    Image(SetImageArgs),
    /// Set values by key path (`image.tag=1.2.3`) in a YAML file, in place; missing keys are
    /// added. Values are written as strings. Exit 0 changed, 3 nothing to do, 2 error.
    Value(SetValueArgs),
}

/// `ballast bump ...`.
#[derive(Debug, Subcommand)]
pub enum BumpCommand {
    /// Set an image's tag to a version, or to the newest tag of a registry repository matching
    /// a semver range: in a kustomization's `images:` (default) or at a key path of a YAML file
    /// (`--file values.yaml --key image.tag`). Exit 0 changed, 3 nothing to do, 2 error.
    Image(BumpImageArgs),
}

/// Output format of the helpers.
#[derive(Debug, Args)]
pub struct OutputArgs {
    /// `text` (default) or `json`.
    #[arg(short, long, default_value = "text", value_parser = ["text", "json"])]
    pub output: String,
}

/// `set image`.
#[derive(Debug, Args)]
pub struct SetImageArgs {
    /// Images: NAME=NEWNAME:TAG@DIGEST, NAME:TAG, NAME@DIGEST, NAME=NEWNAME.
    #[arg(required = true, value_name = "IMAGE")]
    pub images: Vec<String>,
    /// Directory holding the kustomization.
    #[arg(long, default_value = ".")]
    pub path: PathBuf,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `set value`.
#[derive(Debug, Args)]
pub struct SetValueArgs {
    /// The YAML file.
    pub file: PathBuf,
    /// KEY.PATH=VALUE pairs.
    #[arg(required = true, value_name = "KEY.PATH=VALUE")]
    pub values: Vec<String>,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `bump image`.
#[derive(Debug, Args)]
pub struct BumpImageArgs {
    /// The image name as the kustomization's `images:` names it (with `--file`: only used in
    /// messages).
    pub name: String,
    /// The version to set.
    #[arg(long, conflicts_with_all = ["from_registry", "policy"], required_unless_present = "from_registry")]
    pub to: Option<String>,
    /// Registry repository to read tags from (`host[:port]/path`).
    #[arg(long, value_name = "REPO", requires = "policy")]
    pub from_registry: Option<String>,
    /// Semver range (Masterminds syntax, as Flux's ImagePolicy) the tag must match.
    #[arg(long, value_name = "RANGE")]
    pub policy: Option<String>,
    /// Plain http:// to the registry.
    #[arg(long, action = ArgAction::SetTrue)]
    pub insecure: bool,
    /// Registry user name; the password is read from BALLAST_REGISTRY_PASSWORD.
    #[arg(long)]
    pub username: Option<String>,
    /// Directory holding the kustomization to edit.
    #[arg(long, default_value = ".", conflicts_with = "file")]
    pub path: PathBuf,
    /// A YAML file to edit instead (with `--key`).
    #[arg(long, requires = "key")]
    pub file: Option<PathBuf>,
    /// Key path of the tag in `--file` (`image.tag`).
    #[arg(long, requires = "file")]
    pub key: Option<String>,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Runs `set ...`.
pub fn run_set(cmd: &SetCommand) -> Result<u8> {
    match cmd {
        SetCommand::Image(a) => {
            let overrides = a
                .images
                .iter()
                .map(|i| ballast_image::parse_override(i))
                .collect::<Result<Vec<_>, _>>()?;
            let file = kustomization_file(&a.path)?;
            let changed = edit(&file, |text| {
                ballast_image::set_images(text, &overrides).map_err(|e| anyhow!("{}: {e}", file.display()))
            })?;
            report(&a.output.output, changed, &file, json!({"images": a.images}))
        }
        SetCommand::Value(a) => {
            let mut pairs = Vec::new();
            for v in &a.values {
                let (k, val) = v
                    .split_once('=')
                    .ok_or_else(|| anyhow!("{v:?}: expected KEY.PATH=VALUE"))?;
                pairs.push((k.to_string(), val.to_string()));
            }
            let mut old_values = serde_json::Map::new();
            let changed = edit(&a.file, |text| {
                let mut text = text.to_string();
                for (k, v) in &pairs {
                    let (next, old) =
                        ballast_image::set_value(&text, k, v).map_err(|e| anyhow!("{}: {k}: {e}", a.file.display()))?;
                    old_values.insert(k.clone(), old.map(serde_json::Value::String).unwrap_or_default());
                    text = next;
                }
                Ok(text)
            })?;
            report(&a.output.output, changed, &a.file, json!({"previous": old_values}))
        }
    }
}

/// Runs `bump ...`.
pub async fn run_bump(cmd: &BumpCommand) -> Result<u8> {
    let BumpCommand::Image(a) = cmd;
    let (tag, skipped) = match (&a.to, &a.from_registry, &a.policy) {
        (Some(v), _, _) => (v.clone(), Vec::new()),
        (None, Some(repo), Some(range)) => newest_tag(a, repo, range).await?,
        _ => bail!("give --to VERSION, or --from-registry REPO with --policy RANGE"),
    };
    let (file, changed) = match (&a.file, &a.key) {
        (Some(file), Some(key)) => {
            let changed = edit(file, |text| {
                ballast_image::set_value(text, key, &tag)
                    .map(|(t, _)| t)
                    .map_err(|e| anyhow!("{}: {key}: {e}", file.display()))
            })?;
            (file.clone(), changed)
        }
        _ => {
            let file = kustomization_file(&a.path)?;
            // The tag changes; the name the file maps to is kept; a digest no longer applies.
            let o = ballast_image::ImageOverride {
                name: a.name.clone(),
                new_name: "*".into(),
                new_tag: tag.clone(),
                digest: String::new(),
            };
            let changed = edit(&file, |text| {
                ballast_image::set_images(text, std::slice::from_ref(&o))
                    .map_err(|e| anyhow!("{}: {e}", file.display()))
            })?;
            (file, changed)
        }
    };
    report(
        &a.output.output,
        changed,
        &file,
        json!({"image": a.name, "tag": tag, "skippedTags": skipped}),
    )
}

/// The newest tag of `repo` in `range`, and the tags skipped.
async fn newest_tag(a: &BumpImageArgs, repo: &str, range: &str) -> Result<(String, Vec<String>)> {
    let url = ballast_source::oci::OciUrl::parse(&format!("oci://{}", repo.trim_start_matches("oci://")))?;
    let auth = match &a.username {
        Some(u) => Some(ballast_source::BasicAuth {
            username: u.clone(),
            password: std::env::var("BALLAST_REGISTRY_PASSWORD")
                .context("--username needs the password in BALLAST_REGISTRY_PASSWORD")?,
        }),
        None => None,
    };
    let client = ballast_source::oci::OciClient::new(ballast_source::oci::OciOptions {
        auth,
        insecure: a.insecure,
        ..Default::default()
    })?;
    let tags = client
        .tags(&url)
        .await
        .with_context(|| format!("listing the tags of {url}"))?;
    let policy = ballast_image::Policy::semver(range)?;
    let excluded = ballast_image::exclusions(&[])?;
    let chosen = ballast_image::select(&tags, &excluded, None, &policy).with_context(|| format!("{url}"))?;
    Ok((chosen.tag, chosen.skipped))
}

/// The kustomization file of `dir`, as kustomize looks for it.
fn kustomization_file(dir: &Path) -> Result<PathBuf> {
    ["kustomization.yaml", "kustomization.yml", "Kustomization"]
        .iter()
        .map(|n| dir.join(n))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            anyhow!(
                "{}: no kustomization.yaml, kustomization.yml or Kustomization",
                dir.display()
            )
        })
}

/// Rewrites `file` with `f`'s result when it differs; true when written.
fn edit(file: &Path, f: impl FnOnce(&str) -> Result<String>) -> Result<bool> {
    let text = std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let next = f(&text)?;
    if next == text {
        return Ok(false);
    }
    // Written beside, then renamed: a reader never sees half a file.
    let tmp = file.with_extension("ballast-tmp");
    std::fs::write(&tmp, &next).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, file).with_context(|| format!("replacing {}", file.display()))?;
    Ok(true)
}

fn report(format: &str, changed: bool, file: &Path, mut detail: serde_json::Value) -> Result<u8> {
    if format == "json" {
        detail["changed"] = json!(changed);
        detail["file"] = json!(file.display().to_string());
        println!("{detail}");
    } else if changed {
        println!("✔ {} updated", file.display());
    } else {
        println!("◎ {} already up to date", file.display());
    }
    Ok(if changed { 0 } else { NOTHING_TO_DO })
}
