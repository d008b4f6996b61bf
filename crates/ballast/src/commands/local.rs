//! `ballast local up | down | status`.

use anyhow::{Result, anyhow};
use ballast_local::{Binaries, ControlPlane, StartOptions, read_pids};

use crate::cli::{LocalAction, LocalArgs};
use crate::pipeline::local_dir;

pub async fn run(args: &LocalArgs) -> Result<u8> {
    let dir = local_dir(args.dir.as_deref());
    match args.action {
        LocalAction::Up => up(&dir).await,
        LocalAction::Down => {
            let stopped = ControlPlane::stop_dir(&dir);
            if stopped.is_empty() {
                println!("local control plane in {} is not running", dir.display());
            } else {
                println!("stopped {}", stopped.join(", "));
            }
            Ok(0)
        }
        LocalAction::Status => {
            let running: Vec<(String, u32)> = read_pids(&dir)
                .into_iter()
                .filter(|(_, p)| ballast_local::runs_under(*p, &dir.canonicalize().unwrap_or(dir.clone())))
                .collect();
            if running.is_empty() {
                println!("local control plane in {} is not running", dir.display());
                return Ok(1);
            }
            for (name, pid) in &running {
                println!("{name}\trunning (pid {pid})");
            }
            println!("kubeconfig\t{}", dir.join("kubeconfig").display());
            Ok(if running.len() == 3 { 0 } else { 1 })
        }
    }
}

async fn up(dir: &std::path::Path) -> Result<u8> {
    let canon = dir.canonicalize().unwrap_or(dir.to_path_buf());
    let running = read_pids(dir)
        .into_iter()
        .filter(|(_, p)| ballast_local::runs_under(*p, &canon))
        .count();
    if running == 3 {
        println!("local control plane already running");
        print_usage(dir);
        return Ok(0);
    }
    if running > 0 {
        ControlPlane::stop_dir(&canon);
    }
    let bins = Binaries::find()?;
    eprintln!(
        "starting etcd, kube-apiserver and kube-controller-manager in {}",
        dir.display()
    );
    let plane = ControlPlane::start(&bins, &StartOptions::new(dir))
        .await
        .map_err(|e| anyhow!("{e}"))?;
    println!("local control plane ready at {}", plane.server);
    print_usage(dir);
    Ok(0)
}

fn print_usage(dir: &std::path::Path) {
    let kc = dir.join("kubeconfig");
    println!("kubeconfig: {}", kc.display());
    println!("  export KUBECONFIG={}", kc.display());
    println!("  ballast sync --name demo --url <repo> --path <dir> --prune");
    println!("stop it with: ballast local down");
}
