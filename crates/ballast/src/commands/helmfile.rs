//! `ballast helmfile template|build|list`: a helmfile read as helmfile v1 reads it, every
//! release rendered by the native Helm engine. No helm or helmfile binary; charts from
//! repositories and registries are fetched into Ballast's cache (`BALLAST_CACHE`).
//! `diff` and `apply` act on the cluster (`helmfile_live`).

use std::io::Write;

use anyhow::Result;
use ballast_helmfile::Options;

use crate::cli::{HelmfileArgs, HelmfileVerb};

/// The helmfile options of the flags.
pub fn options(args: &HelmfileArgs) -> Options {
    Options {
        file: args.file.clone(),
        environment: args.environment.clone().unwrap_or_default(),
        selectors: args.selector.clone(),
        state_values_files: args.state_values_file.clone(),
        state_values_set: args.state_values_set.clone(),
        cache_dir: Some(crate::pipeline::ballast_cache_dir()),
    }
}

fn print(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

/// Runs the verb; helmfile's message on stderr and exit code 1 on failure, as helmfile.
pub async fn run(args: &HelmfileArgs, kubeconfig: Option<&std::path::Path>, context: Option<&str>) -> Result<u8> {
    let opts = options(args);
    let result = match &args.verb {
        HelmfileVerb::Diff(d) => return super::helmfile_live::run(args, d, None, kubeconfig, context).await,
        HelmfileVerb::Apply(a) => return super::helmfile_live::run(args, &a.diff, Some(a), kubeconfig, context).await,
        HelmfileVerb::Template => ballast_helmfile::template(&opts).map(|o| {
            eprint!("{}", o.log);
            o.stdout
        }),
        HelmfileVerb::Build => ballast_helmfile::build(&opts),
        HelmfileVerb::List => ballast_helmfile::list(&opts),
    };
    match result {
        Ok(text) => {
            print(&text)?;
            Ok(0)
        }
        Err(e) => {
            eprintln!("{e}");
            Ok(exit_code(&e))
        }
    }
}

/// helmfile's exit code for an error: 3 when no release matched the selectors and the
/// environment in any state file, else 1.
pub fn exit_code(e: &ballast_helmfile::Error) -> u8 {
    if e.0.starts_with("err: no releases found that matches") {
        3
    } else {
        1
    }
}
