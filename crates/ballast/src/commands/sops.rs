//! `ballast sops encrypt|decrypt`: SOPS files with age keys, readable by the `sops` tool.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use ballast_sops::{Format, Keys, Rules};

use crate::cli::{SopsCommand, SopsDecryptArgs, SopsEncryptArgs};

pub fn run(cmd: &SopsCommand) -> Result<u8> {
    let out = match cmd {
        SopsCommand::Encrypt(a) => encrypt(a)?,
        SopsCommand::Decrypt(a) => decrypt(a)?,
    };
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(&out).and_then(|_| stdout.flush())?;
    Ok(0)
}

fn format(file: &Path, given: Option<&str>) -> Result<Format> {
    Ok(match given {
        None => Format::for_path(&file.to_string_lossy()),
        Some("yaml") => Format::Yaml,
        Some("json") => Format::Json,
        Some("dotenv") => Format::Dotenv,
        Some("binary") => Format::Binary,
        Some(other) => bail!("--input-type {other:?}: expected yaml, json, dotenv or binary"),
    })
}

fn read(file: &Path) -> Result<Vec<u8>> {
    let len = std::fs::metadata(file)
        .with_context(|| file.display().to_string())?
        .len();
    if len > ballast_sops::MAX_INPUT as u64 {
        bail!("{}: larger than {} bytes", file.display(), ballast_sops::MAX_INPUT);
    }
    std::fs::read(file).with_context(|| file.display().to_string())
}

fn encrypt(a: &SopsEncryptArgs) -> Result<Vec<u8>> {
    let recipients = a
        .age
        .iter()
        .map(|r| ballast_sops::parse_recipient(r))
        .collect::<Result<Vec<_>, _>>()?;
    let rules = Rules {
        unencrypted_suffix: a.unencrypted_suffix.clone(),
        encrypted_suffix: a.encrypted_suffix.clone(),
        unencrypted_regex: a.unencrypted_regex.clone(),
        encrypted_regex: a.encrypted_regex.clone(),
        mac_only_encrypted: a.mac_only_encrypted,
    };
    let fmt = format(&a.file, a.input_type.as_deref())?;
    ballast_sops::encrypt(&read(&a.file)?, fmt, &recipients, rules).with_context(|| a.file.display().to_string())
}

/// Identities as `sops` finds them: the flag, else `SOPS_AGE_KEY_FILE`, `SOPS_AGE_KEY` and the
/// default key file (all that exist are read).
fn keys(flag: Option<&Path>) -> Result<Keys> {
    let mut keys = Keys::default();
    if let Some(f) = flag {
        let text = std::fs::read_to_string(f).with_context(|| format!("--key-file {}", f.display()))?;
        keys.add(&text, &f.display().to_string())?;
        return Ok(keys);
    }
    if let Some(text) = std::env::var_os("SOPS_AGE_KEY") {
        keys.add(&text.to_string_lossy(), "SOPS_AGE_KEY")?;
    }
    let default = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
        .map(|c| c.join("sops/age/keys.txt"));
    let file = std::env::var_os("SOPS_AGE_KEY_FILE").map(PathBuf::from).or(default);
    if let Some(f) = file.filter(|f| f.is_file()) {
        let text = std::fs::read_to_string(&f).with_context(|| f.display().to_string())?;
        keys.add(&text, &f.display().to_string())?;
    }
    if keys.is_empty() {
        bail!("no age identity: pass --key-file, or set SOPS_AGE_KEY_FILE or SOPS_AGE_KEY");
    }
    Ok(keys)
}

fn decrypt(a: &SopsDecryptArgs) -> Result<Vec<u8>> {
    let keys = keys(a.key_file.as_deref())?;
    let fmt = format(&a.file, a.input_type.as_deref())?;
    ballast_sops::decrypt(&read(&a.file)?, fmt, fmt, &keys).with_context(|| a.file.display().to_string())
}
