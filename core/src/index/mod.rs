//! Repository indexes: binary packages, Packages files, Release files.
