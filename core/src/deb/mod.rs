//! `.deb` files: reading (one pass, checksums included) and writing.
