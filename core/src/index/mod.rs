//! Repository indexes: binary packages, Packages files, Release files.

pub mod package;
pub mod packages;
pub mod release;

pub use package::Package;
pub use packages::Packages;
pub use release::{Release, ReleaseFile};
