//! A real Kubernetes control plane on loopback: etcd, kube-apiserver and kube-controller-manager,
//! started from the binaries `scripts/install-deps` caches.
//!
//! Used by `ballast local up` (the embedded default cluster for people with none) and by the test
//! environment. Everything listens on 127.0.0.1 on free ports; state lives in one directory; the
//! kubeconfig authenticates with a static admin token and trusts a CA generated for this plane.
//! There is no kubelet or scheduler: Pods stay Pending.

mod binaries;
mod control_plane;
mod pki;

pub use binaries::{Binaries, BinariesError, cache_dir, find_binary};
pub use control_plane::{ControlPlane, LocalError, StartOptions, read_pids, runs_under};
