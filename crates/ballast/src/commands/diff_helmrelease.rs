//! `ballast diff helmrelease NAME`: placeholder until `Releases::plan` lands.

use std::path::Path;

use anyhow::{Result, bail};

use crate::cli::DiffHelmRelease;

pub async fn run(a: &DiffHelmRelease, _kubeconfig: Option<&Path>, _context: Option<&str>) -> Result<u8> {
    bail!("diff helmrelease {}: not yet", a.name)
}
