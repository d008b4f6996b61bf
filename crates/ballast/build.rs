//! Link settings of the `ballast` binary.
//!
//! On GNU/Linux the binary is linked with packed relative relocations (`-z
//! pack-relative-relocs`, the `DT_RELR` format): the position-independent executable holds
//! tens of thousands of relative relocations (vtables, string tables, panic locations), which
//! the dynamic loader reads and applies at every start. As `Elf64_Rela` entries they take
//! 24 bytes each and make up most of a short command's start-up; packed, they take a few
//! kilobytes and are applied in a tight loop. The executable keeps its address-space
//! randomisation. Where the linker (binutils older than 2.38) or the C library (glibc older
//! than 2.36) does not know the format, the linker leaves the relocations as they were.

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os == "linux" && env == "gnu" {
        println!("cargo::rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}
