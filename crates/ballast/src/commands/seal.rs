//! `ballast seal`: kubeseal's command line. Seals a Secret manifest (stdin) into a
//! SealedSecret, one value with `--raw`, prints the cluster's certificate with `--fetch-cert`,
//! rewrites SealedSecrets in files to the newest key with `--re-encrypt` (only the sealed values'
//! bytes change), and unseals with private key files with `--recovery-unseal`.
//!
//! The certificate comes from `--cert` (a PEM file or an http(s) URL such as the controller's
//! `/v1/cert.pem`), else from the newest key Secret in `--controller-namespace` (reading it
//! needs `get`/`list` on Secrets there, as the controller's keys are Secrets). Nothing decrypted
//! is printed except by `--recovery-unseal`, whose purpose it is.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use ballast_seal::{KEY_LABEL, Scope, SealingKey, UnsealingKey};
use base64::Engine;
use clap::{ArgAction, Args};
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, ListParams};
use serde_json::Value;

use crate::pipeline::connect;

/// Largest input read (stdin, a value file, a SealedSecret file, a certificate).
const MAX_INPUT: u64 = 8 << 20;
/// Most files `--re-encrypt` walks.
const MAX_FILES: usize = 10_000;

/// `seal`.
#[derive(Debug, Args)]
pub struct SealArgs {
    /// Certificate to seal with: a PEM file, or an http(s) URL (e.g. the controller's
    /// http://ADDR/v1/cert.pem). Default: the newest key of --controller-namespace.
    #[arg(long, value_name = "FILE|URL")]
    pub cert: Option<String>,
    /// Print the newest certificate of the cluster's keys and exit.
    #[arg(long, action = ArgAction::SetTrue)]
    pub fetch_cert: bool,
    /// Namespace of the controller's key Secrets.
    #[arg(long, default_value = "flux-system", value_name = "NS")]
    pub controller_namespace: String,
    /// Scope: strict (name and namespace), namespace-wide or cluster-wide. Default: the Secret's
    /// sealedsecrets.bitnami.com/{namespace,cluster}-wide annotations, else strict.
    #[arg(long, value_parser = ["strict", "namespace-wide", "cluster-wide"])]
    pub scope: Option<String>,
    /// Seal one value (from --from-file, else stdin) and print its base64 for
    /// spec.encryptedData; needs --name and --namespace as the scope requires.
    #[arg(long, action = ArgAction::SetTrue)]
    pub raw: bool,
    /// Name of the Secret (--raw).
    #[arg(long)]
    pub name: Option<String>,
    /// Namespace of the Secret (--raw; a manifest without one gets it, else `default`).
    #[arg(short = 'n', long, value_name = "NS")]
    pub namespace: Option<String>,
    /// The value to seal (--raw).
    #[arg(long, value_name = "FILE")]
    pub from_file: Option<PathBuf>,
    /// Seal the values of SealedSecrets again with the newest key: in FILES (and YAML/JSON files
    /// under directories) in place, changing only those values' text; without FILES, stdin to
    /// stdout. Old values are opened with the cluster's keys or --recovery-private-key.
    #[arg(long, action = ArgAction::SetTrue)]
    pub re_encrypt: bool,
    /// Unseal SealedSecrets from stdin with --recovery-private-key files and print the Secrets
    /// (disaster recovery: prints secret values; spec.template.data is not rendered).
    #[arg(long, action = ArgAction::SetTrue)]
    pub recovery_unseal: bool,
    /// A private key PEM file (repeatable) instead of the cluster's keys.
    #[arg(long, value_name = "FILE")]
    pub recovery_private_key: Vec<PathBuf>,
    /// Output format: json (kubeseal's default) or yaml.
    #[arg(short = 'o', long = "format", default_value = "json", value_parser = ["json", "yaml"])]
    pub format: String,
    /// Files or directories (--re-encrypt).
    pub files: Vec<PathBuf>,
}

pub async fn run(a: &SealArgs, kubeconfig: Option<&Path>, context: Option<&str>) -> Result<u8> {
    let scope = a.scope.as_deref().and_then(Scope::parse);
    let cluster = ClusterKeys {
        kubeconfig,
        context,
        namespace: &a.controller_namespace,
    };
    if a.fetch_cert {
        let (_, cert) = cluster.newest_cert().await?;
        print!("{cert}");
        return Ok(0);
    }
    if a.recovery_unseal {
        let keys = private_keys(a, &cluster).await?;
        let mut out = Vec::new();
        for doc in documents(&read_stdin()?)? {
            let unsealed = ballast_seal::unseal_sealed_secret(&doc, &keys).map_err(|e| anyhow!("{e}"))?;
            out.push(unsealed.to_secret(None));
        }
        emit(&a.format, &out)?;
        return Ok(0);
    }
    let cert = match &a.cert {
        Some(source) => read_cert(source).await?,
        None => cluster.newest_cert().await?.1,
    };
    let key = SealingKey::from_pem(&cert).map_err(|e| anyhow!("certificate: {e}"))?;
    if a.re_encrypt {
        let keys = private_keys(a, &cluster).await?;
        return re_encrypt(a, &keys, &key);
    }
    if a.raw {
        let scope = scope.unwrap_or_default();
        let namespace = a.namespace.as_deref().unwrap_or_default();
        let name = a.name.as_deref().unwrap_or_default();
        if scope != Scope::ClusterWide && namespace.is_empty() {
            bail!("--raw with scope {} needs --namespace", scope.name());
        }
        if scope == Scope::Strict && name.is_empty() {
            bail!("--raw with scope strict needs --name");
        }
        let value = match &a.from_file {
            Some(f) => read_bounded(std::fs::File::open(f).with_context(|| f.display().to_string())?)?,
            None => read_stdin()?,
        };
        let sealed = ballast_seal::seal(&key, &scope.label(namespace, name), &value).map_err(|e| anyhow!("{e}"))?;
        print!("{}", base64::engine::general_purpose::STANDARD.encode(sealed));
        return Ok(0);
    }
    let default_ns = a.namespace.as_deref().unwrap_or("default");
    let mut out = Vec::new();
    for doc in documents(&read_stdin()?)? {
        out.push(ballast_seal::seal_secret(&doc, &key, scope, default_ns).map_err(|e| anyhow!("{e}"))?);
    }
    if out.is_empty() {
        bail!("no Secret manifest on stdin");
    }
    emit(&a.format, &out)?;
    Ok(0)
}

/// The controller's key Secrets in the cluster.
struct ClusterKeys<'a> {
    kubeconfig: Option<&'a Path>,
    context: Option<&'a str>,
    namespace: &'a str,
}

impl ClusterKeys<'_> {
    /// Every readable key Secret: (creation time, name, private key, certificate PEM), newest
    /// first.
    async fn all(&self) -> Result<Vec<(String, String, UnsealingKey, String)>> {
        let cluster = connect(self.kubeconfig, self.context).await?;
        let api: Api<Secret> = Api::namespaced(cluster.client().clone(), self.namespace);
        let list = api
            .list(&ListParams::default().labels(&format!("{KEY_LABEL}=active")).limit(500))
            .await
            .with_context(|| format!("listing the key Secrets in {}", self.namespace))?;
        let mut out = Vec::new();
        for s in list.items {
            let name = s.metadata.name.clone().unwrap_or_default();
            let field = |k: &str| {
                s.data
                    .as_ref()
                    .and_then(|d| d.get(k))
                    .map(|b| b.0.clone())
                    .unwrap_or_default()
            };
            let crt = field("tls.crt");
            match ballast_seal::read_key_secret(&field("tls.key"), &crt) {
                Ok((key, _)) => {
                    let created = s
                        .metadata
                        .creation_timestamp
                        .as_ref()
                        .map(|t| t.0.to_string())
                        .unwrap_or_default();
                    out.push((created, name, key, String::from_utf8_lossy(&crt).into_owned()));
                }
                Err(e) => eprintln!("{}/{name}: skipped: {e}", self.namespace),
            }
        }
        out.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| b.1.cmp(&a.1)));
        if out.is_empty() {
            bail!(
                "no SealedSecret key in namespace {} (label {KEY_LABEL}=active); is the controller running there? (--controller-namespace)",
                self.namespace
            );
        }
        Ok(out)
    }

    /// The newest key's Secret name and certificate.
    async fn newest_cert(&self) -> Result<(String, String)> {
        let mut all = self.all().await?;
        let (_, name, _, cert) = all.swap_remove(0);
        Ok((name, cert))
    }
}

/// `--recovery-private-key` files, else every key of the cluster.
async fn private_keys(a: &SealArgs, cluster: &ClusterKeys<'_>) -> Result<Vec<UnsealingKey>> {
    if a.recovery_private_key.is_empty() {
        return Ok(cluster.all().await?.into_iter().map(|k| k.2).collect());
    }
    a.recovery_private_key
        .iter()
        .map(|f| {
            let text = std::fs::read_to_string(f).with_context(|| f.display().to_string())?;
            UnsealingKey::from_pem(&text).map_err(|e| anyhow!("{}: {e}", f.display()))
        })
        .collect()
}

/// A certificate from a file or an http(s) URL.
async fn read_cert(source: &str) -> Result<String> {
    if source.starts_with("http://") || source.starts_with("https://") {
        let client = ballast_source::HttpClient::new(&Default::default(), std::time::Duration::from_secs(30))
            .map_err(|e| anyhow!("{e}"))?;
        let response = client
            .get_public(source, MAX_INPUT, "certificate")
            .await
            .map_err(|e| anyhow!("{source}: {e}"))?;
        if !response.status.is_success() {
            bail!("{source}: HTTP {}", response.status);
        }
        return String::from_utf8(response.body).map_err(|_| anyhow!("{source}: not PEM text"));
    }
    let bytes = read_bounded(std::fs::File::open(source).with_context(|| source.to_string())?)?;
    String::from_utf8(bytes).map_err(|_| anyhow!("{source}: not PEM text"))
}

fn read_bounded(r: impl Read) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    r.take(MAX_INPUT + 1).read_to_end(&mut buf)?;
    if buf.len() as u64 > MAX_INPUT {
        bail!("input larger than {MAX_INPUT} bytes");
    }
    Ok(buf)
}

fn read_stdin() -> Result<Vec<u8>> {
    read_bounded(std::io::stdin().lock())
}

/// The non-empty documents of a YAML or JSON stream.
fn documents(bytes: &[u8]) -> Result<Vec<Value>> {
    let text = std::str::from_utf8(bytes).map_err(|_| anyhow!("input is not UTF-8 text"))?;
    let docs = ballast_render::yaml::parse_stream(text).map_err(|e| anyhow!("{e}"))?;
    Ok(docs.into_iter().filter(|d| !d.is_null()).collect())
}

fn emit(format: &str, docs: &[Value]) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    if format == "yaml" {
        stdout.write_all(ballast_render::emit::to_yaml_stream(docs).as_bytes())?;
    } else {
        for d in docs {
            writeln!(stdout, "{}", serde_json::to_string_pretty(d)?)?;
        }
    }
    stdout.flush()?;
    Ok(())
}

/// `--re-encrypt`: files in place, or stdin to stdout.
fn re_encrypt(a: &SealArgs, keys: &[UnsealingKey], newest: &SealingKey) -> Result<u8> {
    if a.files.is_empty() {
        let mut out = Vec::new();
        for mut doc in documents(&read_stdin()?)? {
            if doc["kind"] == "SealedSecret" {
                for r in ballast_seal::document::reseal(&doc, keys, newest).map_err(|e| anyhow!("{e}"))? {
                    doc["spec"]["encryptedData"][&r.key] = Value::String(r.new);
                }
            }
            out.push(doc);
        }
        emit(&a.format, &out)?;
        return Ok(0);
    }
    if re_encrypt_files(&a.files, keys, newest)? == 0 {
        println!("every SealedSecret is sealed with the newest key already");
    }
    Ok(0)
}

/// Rewrites in place the SealedSecrets of `paths` (files, and YAML/JSON files under
/// directories) whose values `newest` does not open yet; returns how many files changed.
/// Every file is rewritten in memory and read back as the same documents with only those
/// values changed before the first file is written, so a failure leaves every file as it was.
fn re_encrypt_files(paths: &[PathBuf], keys: &[UnsealingKey], newest: &SealingKey) -> Result<usize> {
    let mut files = Vec::new();
    for f in paths {
        collect_files(f, &mut files)?;
    }
    let mut rewrites = Vec::new();
    for f in files {
        let text = String::from_utf8(read_bounded(
            std::fs::File::open(&f).with_context(|| f.display().to_string())?,
        )?)
        .map_err(|_| anyhow!("{}: not UTF-8 text", f.display()))?;
        let Ok(docs) = ballast_render::yaml::parse_stream(&text) else {
            if paths.contains(&f) {
                bail!("{}: not YAML or JSON", f.display());
            }
            continue;
        };
        let mut new_text = text.clone();
        let mut count = 0;
        let mut expected = docs.clone();
        for (i, doc) in docs.iter().enumerate().filter(|(_, d)| d["kind"] == "SealedSecret") {
            let what = format!(
                "{}: SealedSecret {}/{}",
                f.display(),
                doc["metadata"]["namespace"].as_str().unwrap_or_default(),
                doc["metadata"]["name"].as_str().unwrap_or_default()
            );
            for r in ballast_seal::document::reseal(doc, keys, newest).map_err(|e| anyhow!("{}: {e}", f.display()))? {
                // Sealed values are long random base64: each appears once, verbatim (a value
                // folded over lines or in a block scalar cannot be rewritten in place).
                if new_text.matches(&r.old).count() != 1 {
                    bail!(
                        "{what}: the value of {} is not written on one line; cannot rewrite it in place",
                        r.key
                    );
                }
                new_text = new_text.replacen(&r.old, &r.new, 1);
                expected[i]["spec"]["encryptedData"][&r.key] = Value::String(r.new);
                count += 1;
            }
        }
        if count == 0 {
            continue;
        }
        // The rewritten text must read back as the same documents with only the sealed
        // values changed.
        let same = ballast_render::yaml::parse_stream(&new_text).is_ok_and(|d| d == expected);
        if !same {
            bail!(
                "{}: the rewritten file does not read back as the same documents; left unchanged",
                f.display()
            );
        }
        rewrites.push((f, new_text, count));
    }
    let changed = rewrites.len();
    for (f, new_text, count) in rewrites {
        // A symbolic link named on the command line: its target is rewritten, the link kept.
        let target = std::fs::canonicalize(&f).with_context(|| f.display().to_string())?;
        let mut tmp = target.clone().into_os_string();
        tmp.push(".ballast-seal.tmp");
        let tmp = PathBuf::from(tmp);
        std::fs::write(&tmp, &new_text).with_context(|| tmp.display().to_string())?;
        let permissions = std::fs::metadata(&target)
            .with_context(|| f.display().to_string())?
            .permissions();
        std::fs::set_permissions(&tmp, permissions).with_context(|| tmp.display().to_string())?;
        std::fs::rename(&tmp, &target).with_context(|| f.display().to_string())?;
        println!("{}: {count} value(s) sealed again with the newest key", f.display());
    }
    Ok(changed)
}

/// `path` itself, or the `.yaml`/`.yml`/`.json` files under it (hidden directories skipped).
fn collect_files(path: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    if !path.is_dir() {
        out.push(path.to_path_buf());
        return Ok(());
    }
    let mut stack = vec![path.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let mut entries: Vec<_> = std::fs::read_dir(&dir)
            .with_context(|| dir.display().to_string())?
            .filter_map(|e| e.ok())
            .collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let p = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            let Ok(kind) = e.file_type() else { continue };
            if kind.is_dir() && !name.starts_with('.') {
                stack.push(p);
            } else if kind.is_file() && [".yaml", ".yml", ".json"].iter().any(|x| name.ends_with(x)) {
                if out.len() >= MAX_FILES {
                    bail!("more than {MAX_FILES} files under {}", path.display());
                }
                out.push(p);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = include_str!("../../../ballast-seal/tests/fixtures/controller-key.pem");
    const SEALED: &str = include_str!("../../../ballast-seal/tests/fixtures/kubeseal-sealed-secret.yaml");

    #[test]
    fn re_encrypt_checks_every_file_before_writing_any() {
        let keys = vec![UnsealingKey::from_pem(KEY).unwrap()];
        let generated = ballast_seal::generate(2048, "").unwrap();
        let newest_private = UnsealingKey::from_pem(&generated.key_pem).unwrap();
        let newest = newest_private.sealing_key();
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("a.yaml");
        std::fs::write(&good, SEALED).unwrap();
        // The same value folded over two lines cannot be rewritten in place.
        let value = SEALED.lines().find_map(|l| l.trim().strip_prefix("token: ")).unwrap();
        let folded = SEALED.replace(value, &format!(">-\n      {}\n      {}", &value[..40], &value[40..]));
        let bad = dir.path().join("b.yaml");
        std::fs::write(&bad, &folded).unwrap();

        let err = re_encrypt_files(&[dir.path().to_path_buf()], &keys, &newest).unwrap_err();
        assert!(err.to_string().contains("b.yaml"), "{err}");
        assert_eq!(std::fs::read_to_string(&good).unwrap(), SEALED, "a.yaml was written");
        assert_eq!(std::fs::read_to_string(&bad).unwrap(), folded);

        // Alone, the good file is rewritten: one line changes, and the value opens with the
        // newest key to what the old key opened.
        assert_eq!(
            re_encrypt_files(std::slice::from_ref(&good), &keys, &newest).unwrap(),
            1
        );
        let after = std::fs::read_to_string(&good).unwrap();
        let changed = SEALED.lines().zip(after.lines()).filter(|(a, b)| a != b).count();
        assert_eq!((changed, SEALED.lines().count()), (1, after.lines().count()));
        let before = ballast_render::yaml::parse_stream(SEALED).unwrap();
        let now = ballast_render::yaml::parse_stream(&after).unwrap();
        let old = ballast_seal::unseal_sealed_secret(&before[0], &keys).unwrap();
        let new = ballast_seal::unseal_sealed_secret(&now[0], std::slice::from_ref(&newest_private)).unwrap();
        assert_eq!(old.data, new.data);
        // With every key, as the cluster holds them: nothing left to do.
        let all = [keys[0].clone(), newest_private];
        assert_eq!(re_encrypt_files(&[good], &all, &newest).unwrap(), 0);
    }
}
