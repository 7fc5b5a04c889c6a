//! Shared pieces of debpull's benchmarks: the C implementations they measure
//! against (libdpkg and libapt-pkg, through `shim/`) and the real data they run on.
//!
//! See `bench/README.md` for how to run them.

pub mod apt;
pub mod data;
pub mod dpkg;
