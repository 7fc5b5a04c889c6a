//! Prints the Packages stanzas of `.deb` files, like `apt-ftparchive packages`.
//!
//! Usage: `cargo run --release --example inspect -- PATH...` where each PATH is a
//! `.deb` or a directory searched recursively for them. Files are read on all
//! cores (MD5 + SHA256); stanzas are printed in path order. Errors go to stderr
//! and make the exit status 1.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use debpull::deb::{self, InspectOptions};

fn collect(path: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    if path.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)?
            .map(|e| e.map(|e| e.path()))
            .collect::<Result<_, _>>()?;
        entries.sort();
        for entry in entries {
            if entry.is_dir() || entry.extension().is_some_and(|e| e == "deb") {
                collect(&entry, out)?;
            }
        }
    } else {
        out.push(path.to_path_buf());
    }
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    if args.is_empty() {
        eprintln!("usage: inspect PATH...  (.deb files or directories of them)");
        return ExitCode::from(2);
    }
    let mut paths = Vec::new();
    for arg in &args {
        if let Err(e) = collect(arg, &mut paths) {
            eprintln!("{}: {e}", arg.display());
            return ExitCode::FAILURE;
        }
    }
    let results = deb::inspect_all(&paths, &InspectOptions::default());
    let mut out = BufWriter::new(std::io::stdout().lock());
    let mut failed = false;
    for (path, result) in paths.iter().zip(results) {
        match result {
            Ok(package) => {
                let _ = writeln!(out, "{package}");
            }
            Err(e) => {
                eprintln!("{e}");
                let _ = path;
                failed = true;
            }
        }
    }
    if out.flush().is_err() || failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
