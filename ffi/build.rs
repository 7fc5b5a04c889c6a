//! Gives the shared library its SONAME: `libdebpull.so.<major>` from version 1
//! on, `libdebpull.so.0.<minor>` before (where every minor release may break
//! the ABI), as cargo-c names them.

fn main() {
    let major: u64 = env!("CARGO_PKG_VERSION_MAJOR").parse().unwrap_or(0);
    let minor = env!("CARGO_PKG_VERSION_MINOR");
    let abi = if major == 0 {
        format!("0.{minor}")
    } else {
        major.to_string()
    };
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libdebpull.so.{abi}");
    println!("cargo:rerun-if-changed=build.rs");
}
