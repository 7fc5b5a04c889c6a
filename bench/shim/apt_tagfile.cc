// apt's own deb822 parser (libapt-pkg), behind a C interface for the benchmarks:
// pkgTagSection::Scan over text in memory, and pkgTagFile over a file.
// Each reads Package and Version of every stanza, as the Rust side does.
#include <apt-pkg/fileutl.h>
#include <apt-pkg/tagfile.h>

#include <cstddef>

extern "C" {

// Scans `len` bytes of Packages text; returns the number of stanzas and adds the
// lengths of every Package and Version value to `*value_bytes`.
size_t debpull_bench_apt_scan(const char *text, size_t len, size_t *value_bytes) {
  const char *p = text;
  const char *end = text + len;
  size_t stanzas = 0;
  pkgTagSection section;
  while (p < end && section.Scan(p, end - p)) {
    *value_bytes += section.Find("Package").size() + section.Find("Version").size();
    stanzas++;
    p += section.size();
    while (p < end && *p == '\n')
      p++;
  }
  return stanzas;
}

// Reads the Packages file at `path` with pkgTagFile; same results as above.
size_t debpull_bench_apt_tagfile(const char *path, size_t *value_bytes) {
  FileFd fd(path, FileFd::ReadOnly);
  pkgTagFile file(&fd);
  pkgTagSection section;
  size_t stanzas = 0;
  while (file.Step(section)) {
    *value_bytes += section.Find("Package").size() + section.Find("Version").size();
    stanzas++;
  }
  return stanzas;
}

}
