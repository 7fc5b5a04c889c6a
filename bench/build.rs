//! Compiles every C file in `shim/` (and every C++ file, `*.cc`) into static
//! libraries and links the C libraries they wrap: libdpkg always, apt-pkg when
//! there are C++ shims. Libraries are found with pkg-config.

use std::path::{Path, PathBuf};

fn main() {
    let shim = Path::new("shim");
    println!("cargo:rerun-if-changed={}", shim.display());
    let c_files = sources(shim, "c");
    let cc_files = sources(shim, "cc");

    // Shims first, then the libraries they use: static archives are linked in order.
    let dpkg = probe("libdpkg", "libdpkg-dev");
    if !c_files.is_empty() {
        cc::Build::new()
            .files(&c_files)
            .includes(&dpkg.include_paths)
            .warnings(true)
            .extra_warnings(true)
            .compile("debpull_bench_shim_c");
    }
    let mut libraries = vec![dpkg];
    if !cc_files.is_empty() {
        let apt = probe("apt-pkg", "libapt-pkg-dev");
        cc::Build::new()
            .cpp(true)
            .files(&cc_files)
            .includes(&apt.include_paths)
            .warnings(true)
            .compile("debpull_bench_shim_cc");
        libraries.push(apt);
    }
    for library in &libraries {
        for path in &library.link_paths {
            println!("cargo:rustc-link-search=native={}", path.display());
        }
        for lib in &library.libs {
            println!("cargo:rustc-link-lib={lib}");
        }
    }
}

/// The files in `dir` whose names end in `.{ext}`, sorted.
fn sources(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut files: Vec<PathBuf> = entries
        .map(|e| {
            e.unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
                .path()
        })
        .filter(|p| p.extension().is_some_and(|x| x == ext))
        .collect();
    files.sort();
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
    }
    files
}

/// pkg-config's flags for `name` (with its private libraries: libdpkg is static),
/// without letting the crate print them yet.
fn probe(name: &str, package: &str) -> pkg_config::Library {
    pkg_config::Config::new()
        .statik(true)
        .cargo_metadata(false)
        .probe(name)
        .unwrap_or_else(|e| {
            panic!("{e}\nthe benchmarks link {name}: apt-get install -y {package} pkg-config")
        })
}
