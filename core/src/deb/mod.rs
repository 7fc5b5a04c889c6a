//! `.deb` files: reading (one pass, checksums included) and writing.
//!
//! Reading follows dpkg-deb's rules strictly: an `ar` archive whose members are
//! `debian-binary` (`2.x`), `control.tar[.gz|.xz|.zst]`, then `data.tar[...]`,
//! with members named `_*` allowed between them. The whole file is hashed as it is
//! read; the control archive is decompressed under [`Limits`]; `data.tar` never is.
//!
//! [`inspect`] returns the [`Package`](crate::Package), whose `Display` is the
//! stanza `apt-ftparchive packages` prints; [`inspect_all`] reads many files on all
//! cores. [`inspect_file`] stops before interpreting the control fields.
//!
//! Writing ([`Builder`]) produces reproducible archives from a directory tree.

mod ar;
mod build;
mod control_tar;
mod inspect;
mod tarball;

pub use crate::compress::Compression;
pub use build::Builder;
pub use inspect::{
    DebInfo, InspectOptions, Limits, inspect, inspect_all, inspect_file, inspect_files,
    inspect_with, read_deb,
};
