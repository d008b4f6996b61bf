//! Link settings of the `ballast` binary.
//!
//! On GNU/Linux the binary is linked as a position-dependent executable (`-no-pie`). As a
//! position-independent one it held about 70,000 relative relocations (vtables, string tables,
//! panic locations) spread over 1.1 MB of `.data.rel.ro`: at every start the dynamic loader
//! wrote each of them, copying every page of that section (about 280 of a short command's 470
//! page faults). Linked at a fixed address, the section is read from the file as it is, and
//! only the pages used are faulted in. Measured (`ballast --version`, `perf stat -r 100`):
//! 472 page faults and 4.8 ms before, 193 and 3.6 ms after; `ballast template` of a small
//! chart, 1.3 to 1.5 ms less per process.
//!
//! The price is that the executable's own code and data load at the same address each run
//! (libraries, stack, heap and thread stacks are still randomised), as they do for the Go
//! tools Ballast stands beside. The container image's binary (`scripts/build-image`, the
//! `x86_64-unknown-linux-musl` target) is not linked this way (the setting is for the `gnu`
//! target only): a static-pie, it keeps full address-space randomisation for the controller as
//! clusters run it.

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os == "linux" && env == "gnu" {
        println!("cargo::rustc-link-arg-bins=-no-pie");
    }
}
