//! Shared pieces of debpull's benchmarks: the C implementations they measure
//! against (libdpkg, through `shim/`) and the real data they run on.
//!
//! See `bench/README.md` for how to run them.

pub mod data;
pub mod dpkg;
