//! `ballast template`: a local Helm chart rendered natively and printed exactly as
//! `helm template` prints it. No cluster, no repository, no network.

use std::io::Write;

use anyhow::Result;
use ballast_helm::TemplateOptions;
use ballast_helm::values::ValueOptions;

use crate::cli::TemplateArgs;

/// Prints the rendered chart; on a bad chart or values, prints helm's message on stderr
/// (prefixed `Error: ` as helm does) and returns exit code 2.
pub fn run(args: &TemplateArgs) -> Result<u8> {
    let opts = TemplateOptions {
        release_name: args.release.clone(),
        namespace: args.namespace.clone(),
        values: ValueOptions {
            files: args.values.clone(),
            set: args.set.clone(),
            set_string: args.set_string.clone(),
            set_json: args.set_json.clone(),
            set_file: args.set_file.clone(),
            set_literal: args.set_literal.clone(),
        },
        include_crds: args.include_crds,
        skip_tests: args.skip_tests,
        kube_version: args.kube_version.clone(),
        api_versions: args.api_versions.clone(),
        show_only: args.show_only.clone(),
        is_upgrade: args.is_upgrade,
        skip_schema_validation: args.skip_schema_validation,
        no_hooks: args.no_hooks,
    };
    // The process exits once the chart is printed: the render's leftovers go with it.
    ballast_helm::exit_after_renders();
    match ballast_helm::template(&args.chart, &opts) {
        Ok(text) => {
            let mut out = std::io::stdout().lock();
            match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
                _ => Ok(0),
            }
        }
        Err(e) => {
            eprintln!("Error: {e}");
            Ok(2)
        }
    }
}
