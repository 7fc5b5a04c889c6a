//! debpull: pull-based deployment with Debian packages.
//!
//! The core of debpull: Debian versions compared exactly as dpkg compares them,
//! deb822 control data, `.deb` files, and the indexes of an apt repository
//! (Packages, Release), and their OpenPGP signatures.
//!
//! Every fallible function returns [`Result`] with the one [`Error`] type, whose
//! [`ErrorKind`] is a small closed set that the C and Ruby bindings map one to one.

pub mod blocking;
pub mod checksum;
pub mod client;
pub mod compress;
pub mod control;
pub mod deb;
pub mod error;
pub mod index;
#[cfg(feature = "notify")]
pub mod notify;
pub mod phasing;
pub mod provision;
pub mod repo;
pub mod sign;
pub mod storage;
pub mod version;

pub use error::{Error, ErrorKind, Result};
pub use index::Package;
pub use version::{Relation, Version};
