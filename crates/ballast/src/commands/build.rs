//! `ballast build`: render and print.

use std::io::Write;

use anyhow::Result;
use ballast_core::Scopes;
use ballast_render::BuiltinScopes;
use ballast_render::emit::to_yaml_stream;
use ballast_render::scope::Scope;

use crate::cli::BuildArgs;
use crate::pipeline::{render, resolve_source};

/// Without a cluster, kinds we do not know are taken as namespaced.
struct AssumeNamespaced;

impl Scopes for AssumeNamespaced {
    fn scope(&self, group: &str, kind: &str) -> Option<Scope> {
        BuiltinScopes.scope(group, kind).or(Some(Scope::Namespaced))
    }
}

pub async fn run(args: &BuildArgs) -> Result<u8> {
    let desired = resolve_source(&args.source).await?;
    let manifests = render(
        &desired,
        args.target_namespace.as_deref(),
        None,
        &AssumeNamespaced,
        &args.render,
    )?;
    let text = to_yaml_stream(manifests.iter().map(|m| &m.object));
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(0),
    }
}
