//! `ballast`: keeps Kubernetes clusters equal to what Git says.
//!
//! Exit codes: 0 success (for `diff`: no difference), 1 `diff` found differences, 2 an error.

mod cli;
mod commands;
mod heap;
mod output;
mod pipeline;

use std::process::ExitCode;

use clap::Parser;

/// The process's allocator: jemalloc, whose background thread (started by long-running
/// commands, see `heap`) returns freed pages to the system within about a second (settings in
/// `.cargo/config.toml`), where glibc's per-thread arenas keep what a burst of reconciles freed:
/// a controller's resident memory at rest follows what it holds.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    // Before the first allocation: small pages until the command is known (see `heap`).
    let heap = heap::Heap::at_start();
    let args = cli::rewrite_args(std::env::args_os().collect());
    // `template` renders charts on the calling thread: no runtime to start for it, and its
    // arguments are parsed alone when they can be (see `cli::template_only`).
    if let Some(template) = cli::template_only(&args) {
        heap.for_template(&template.chart);
        return template_exit(&template);
    }
    let cli = cli::Cli::parse_from(args);
    if let cli::Command::Template(template) = &cli.command {
        heap.for_template(&template.chart);
        return template_exit(template);
    }
    if cli.command.runs_on() {
        heap.for_long_running();
    } else {
        heap.for_one_shot();
    }
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Runs `ballast template` and turns its outcome into the process's exit code.
fn template_exit(args: &cli::TemplateArgs) -> ExitCode {
    match commands::template::run(args) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
