/* .deb files: building one (debpull_deb_builder_*), inspecting one
 * (debpull_deb_inspect), every package accessor (debpull_package_*), and
 * every error path. The Rust harness (ffi/tests/support/deb_fixture.rs)
 * passes paths and independently computed checksums in the environment
 * (DEB_*), and afterwards reads what this program built with dpkg-deb and
 * checks the checksums it reported in $DEB_OUT/report.txt. */
#include "check.h"
#include "fixture.h"

/* dir/name, malloc'ed. */
static char *join(const char *dir, const char *name) {
  size_t n = strlen(dir) + 1 + strlen(name) + 1;
  char *path = malloc(n);
  if (path == NULL) {
    abort();
  }
  snprintf(path, n, "%s/%s", dir, name);
  return path;
}

/* The size of the file at `path`, -1 if it cannot be opened. */
static long file_size(const char *path) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    return -1;
  }
  long size = -1;
  if (fseek(f, 0, SEEK_END) == 0) {
    size = ftell(f);
  }
  fclose(f);
  return size;
}

static bool exists(const char *path) { return file_size(path) >= 0; }

static const char *const ALGORITHMS[] = {"MD5", "SHA1", "SHA256", "SHA512"};
static const size_t HEX_LENGTHS[] = {32, 40, 64, 128};

/* The stanza's field names in order, checked against field_count/field_at:
 * every line that is not a continuation line starts a field. */
static void check_fields_in_order(const DebpullPackage *p) {
  const char *stanza = debpull_package_stanza(p);
  CHECK(stanza != NULL);
  if (stanza == NULL) {
    return;
  }
  size_t count = debpull_package_field_count(p);
  size_t index = 0;
  for (const char *line = stanza; *line != '\0';) {
    const char *end = strchr(line, '\n');
    size_t len = end ? (size_t)(end - line) : strlen(line);
    if (len > 0 && line[0] != ' ' && line[0] != '\t') {
      const char *colon = memchr(line, ':', len);
      CHECK(colon != NULL);
      const char *name = NULL, *value = NULL;
      CHECK_OK(debpull_package_field_at(p, index, &name, &value, &err));
      if (colon != NULL && name != NULL) {
        size_t name_len = (size_t)(colon - line);
        CHECK(strlen(name) == name_len && strncmp(name, line, name_len) == 0);
        /* The lookup by name finds the same value. */
        CHECK_STR(debpull_package_field(p, name), value);
      }
      index++;
    }
    line += len + (end ? 1 : 0);
  }
  CHECK(index == count);
  CHECK(count > 5);
  const char *name = "untouched", *value = "untouched";
  CHECK_ERROR(DEBPULL_STATUS_NOT_FOUND, "no field",
              debpull_package_field_at(p, count, &name, &value, &err));
  CHECK_ERROR(DEBPULL_STATUS_NOT_FOUND, "no field",
              debpull_package_field_at(p, SIZE_MAX, &name, &value, &err));
  CHECK_STR(name, "untouched");
  CHECK_STR(value, "untouched");
}

/* The checks every inspected package passes, whoever built it; the
 * checksums and size go to `report` (NULL: not reported). */
static void check_package(const DebpullPackage *p, const char *path,
                          const char *file, FILE *report) {
  long size = file_size(path);
  CHECK(size > 0);
  CHECK(debpull_package_size(p) == (uint64_t)size);
  char size_text[32];
  snprintf(size_text, sizeof size_text, "%ld", size);
  CHECK_STR(debpull_package_field(p, "Size"), size_text);
  /* Case-insensitive lookups; the same borrowed string each time. */
  CHECK_STR(debpull_package_field(p, "package"), debpull_package_name(p));
  CHECK(debpull_package_field(p, "PACKAGE") == debpull_package_field(p, "Package"));
  CHECK_STR(debpull_package_field(p, "version"), debpull_package_version(p));
  CHECK_STR(debpull_package_field(p, "ARCHITECTURE"), debpull_package_architecture(p));
  CHECK(debpull_package_field(p, "No-Such-Field") == NULL);
  CHECK(debpull_package_field(p, "") == NULL);
  CHECK(debpull_package_field(p, "Pack\xff") == NULL);
  /* Inspected, not published: no Filename. */
  CHECK(debpull_package_field(p, "Filename") == NULL);
  CHECK(strstr(debpull_package_stanza(p), "\nFilename:") == NULL);

  for (size_t i = 0; i < 4; i++) {
    const char *hex = debpull_package_checksum(p, ALGORITHMS[i]);
    CHECK(hex != NULL);
    if (hex == NULL) {
      continue;
    }
    CHECK(strlen(hex) == HEX_LENGTHS[i]);
    /* The stanza lists it under its Packages name. */
    const char *field = i == 0 ? "MD5sum" : ALGORITHMS[i];
    CHECK_STR(debpull_package_field(p, field), hex);
    CHECK_STR(debpull_package_checksum(p, field), hex);
    if (report != NULL) {
      fprintf(report, "%s %s %s\n", file, ALGORITHMS[i], hex);
    }
  }
  CHECK_STR(debpull_package_checksum(p, "md5"), debpull_package_checksum(p, "MD5"));
  CHECK_STR(debpull_package_checksum(p, "sha256"), debpull_package_checksum(p, "SHA256"));
  CHECK(debpull_package_checksum(p, "SHA3") == NULL);
  CHECK(debpull_package_checksum(p, "") == NULL);
  CHECK(debpull_package_checksum(p, "SHA\xff") == NULL);
  if (report != NULL) {
    fprintf(report, "%s size %ld\n", file, size);
  }
  check_fields_in_order(p);
}

/* Inspects out/<file>: the package, owned by the caller (NULL on failure). */
static DebpullPackage *inspect(const char *out, const char *file, FILE *report) {
  char *path = join(out, file);
  DebpullPackage *p = NULL;
  CHECK_OK(debpull_deb_inspect(path, &p, &err));
  if (p != NULL) {
    check_package(p, path, file, report);
  }
  free(path);
  return p;
}

static const char POSTINST[] = "#!/bin/sh\nset -e\necho configured\n";
static const char CONFFILES[] = "/etc/hello/hello.conf\n";
static const char DESCRIPTION[] = "says hello\n A longer text\n .\n over lines.";

/* A builder with everything deb_fixture.rs checks in built.deb. */
static DebpullDebBuilder *hello_builder(const char *tree, uint64_t mtime) {
  DebpullDebBuilder *b = NULL;
  CHECK_OK(debpull_deb_builder_new(tree, &b, &err));
  CHECK(b != NULL);
  CHECK_OK(debpull_deb_builder_set_field(b, "Package", "hello-c", &err));
  CHECK_OK(debpull_deb_builder_set_field(b, "Version", "0.1", &err));
  CHECK_OK(debpull_deb_builder_set_field(b, "Architecture", "all", &err));
  CHECK_OK(debpull_deb_builder_set_field(b, "Maintainer", "Ops <ops@example.com>", &err));
  CHECK_OK(debpull_deb_builder_set_field(b, "Description", DESCRIPTION, &err));
  /* Same name in another case: replaced in place, the order kept. */
  CHECK_OK(debpull_deb_builder_set_field(b, "version", "1:2.3-4", &err));
  CHECK_OK(debpull_deb_builder_add_control_file(b, "postinst", (const uint8_t *)"old", 3,
                                                0644, &err));
  CHECK_OK(debpull_deb_builder_add_control_file(b, "postinst", (const uint8_t *)POSTINST,
                                                strlen(POSTINST), 0755, &err));
  CHECK_OK(debpull_deb_builder_add_control_file(b, "conffiles", (const uint8_t *)CONFFILES,
                                                strlen(CONFFILES), 0644, &err));
  CHECK_OK(debpull_deb_builder_set_mtime(b, mtime, &err));
  return b;
}

static void build_and_inspect(void) {
  const char *tree = env("DEB_TREE");
  const char *out = env("DEB_OUT");
  uint64_t mtime = strtoull(env("DEB_MTIME"), NULL, 10);
  char *report_path = join(out, "report.txt");
  FILE *report = fopen(report_path, "w");
  CHECK(report != NULL);
  if (report == NULL) {
    free(report_path);
    return;
  }

  DebpullDebBuilder *b = hello_builder(tree, mtime);
  char *built = join(out, "built.deb");
  CHECK_OK(debpull_deb_builder_write(b, built, &err));
  DebpullPackage *p = inspect(out, "built.deb", report);
  CHECK(p != NULL);
  if (p != NULL) {
    CHECK_STR(debpull_package_name(p), "hello-c");
    CHECK_STR(debpull_package_version(p), "1:2.3-4");
    CHECK_STR(debpull_package_architecture(p), "all");
    CHECK_STR(debpull_package_field(p, "Maintainer"), "Ops <ops@example.com>");
    CHECK_STR(debpull_package_field(p, "description"), DESCRIPTION);
    CHECK(debpull_package_field(p, "Installed-Size") != NULL);
    CHECK(strncmp(debpull_package_stanza(p), "Package: hello-c\n", 17) == 0);
    CHECK(strstr(debpull_package_stanza(p), "\nDescription: says hello\n A longer text\n .\n"
                                           " over lines.\n") != NULL);
    const char *name = NULL, *value = NULL;
    CHECK_OK(debpull_package_field_at(p, 0, &name, &value, &err));
    CHECK_STR(name, "Package");
    CHECK_STR(value, "hello-c");
  }

  /* The builder stays usable: the same bytes again, then a new version. */
  char *again_path = join(out, "again.deb");
  CHECK_OK(debpull_deb_builder_write(b, again_path, &err));
  DebpullPackage *same = inspect(out, "again.deb", NULL);
  if (p != NULL && same != NULL) {
    CHECK_STR(debpull_package_checksum(same, "SHA512"), debpull_package_checksum(p, "SHA512"));
  }
  CHECK_OK(debpull_deb_builder_set_field(b, "Version", "1:2.3-5", &err));
  CHECK_OK(debpull_deb_builder_write(b, again_path, &err));
  DebpullPackage *newer = inspect(out, "again.deb", NULL);
  if (newer != NULL && p != NULL) {
    CHECK_STR(debpull_package_version(newer), "1:2.3-5");
    CHECK(strcmp(debpull_package_checksum(newer, "SHA256"),
                 debpull_package_checksum(p, "SHA256")) != 0);
  }
  debpull_package_free(same);
  debpull_package_free(newer);
  debpull_package_free(p);
  debpull_deb_builder_free(b);

  /* Every compression (deb_fixture.rs checks the member names). */
  static const char *const compressions[] = {"xz", "gzip", "zstd", "none"};
  for (size_t i = 0; i < 4; i++) {
    DebpullDebBuilder *c = hello_builder(tree, mtime);
    CHECK_OK(debpull_deb_builder_set_compression(c, compressions[i], &err));
    char file[32];
    snprintf(file, sizeof file, "built-%s.deb", compressions[i]);
    char *path = join(out, file);
    CHECK_OK(debpull_deb_builder_write(c, path, &err));
    DebpullPackage *q = inspect(out, file, report);
    CHECK(q != NULL);
    CHECK_STR(debpull_package_version(q), "1:2.3-4");
    debpull_package_free(q);
    free(path);
    debpull_deb_builder_free(c);
  }

  fclose(report);
  free(report_path);
  free(built);
  free(again_path);
}

/* A .deb built by dpkg-deb --build, its checksums from the coreutils. */
static void inspect_dpkg_built(void) {
  const char *path = env("DEB_DPKG_BUILT");
  DebpullPackage *p = NULL;
  CHECK_OK(debpull_deb_inspect(path, &p, &err));
  CHECK(p != NULL);
  if (p == NULL) {
    return;
  }
  check_package(p, path, "dpkg-built.deb", NULL);
  CHECK_STR(debpull_package_name(p), "dpkg-built");
  CHECK_STR(debpull_package_version(p), "2:3.4-5");
  CHECK_STR(debpull_package_architecture(p), "all");
  CHECK_STR(debpull_package_field(p, "Description"),
            "built by dpkg-deb\n A second line.\n .\n After an empty line.");
  CHECK(debpull_package_size(p) == strtoull(env("DEB_DPKG_BUILT_SIZE"), NULL, 10));
  static const char *const vars[] = {"DEB_DPKG_BUILT_MD5", "DEB_DPKG_BUILT_SHA1",
                                     "DEB_DPKG_BUILT_SHA256", "DEB_DPKG_BUILT_SHA512"};
  for (size_t i = 0; i < 4; i++) {
    CHECK_STR(debpull_package_checksum(p, ALGORITHMS[i]), env(vars[i]));
  }
  debpull_package_free(p);
}

static void inspect_errors(void) {
  const char *out = env("DEB_OUT");
  DebpullPackage *p = (DebpullPackage *)&checks_run; /* must stay untouched */
  DebpullPackage *const sentinel = p;
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "path is NULL", debpull_deb_inspect(NULL, &p, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "path is empty", debpull_deb_inspect("", &p, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "UTF-8",
              debpull_deb_inspect("/tmp/\xff.deb", &p, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "out",
              debpull_deb_inspect(env("DEB_DPKG_BUILT"), NULL, &err));
  char *missing = join(out, "missing.deb");
  CHECK_ERROR(DEBPULL_STATUS_IO, missing, debpull_deb_inspect(missing, &p, &err));
  /* Without an error object: the status alone. */
  CHECK(debpull_deb_inspect(missing, &p, NULL) == DEBPULL_STATUS_IO);
  free(missing);
  static const char *const corrupt[] = {"DEB_TRUNCATED", "DEB_GARBAGE", "DEB_NO_CONTROL"};
  for (size_t i = 0; i < 3; i++) {
    const char *path = env(corrupt[i]);
    CHECK_ERROR(DEBPULL_STATUS_PARSE, path, debpull_deb_inspect(path, &p, &err));
  }
  CHECK_ERROR(DEBPULL_STATUS_PARSE, "control", debpull_deb_inspect(env("DEB_NO_CONTROL"), &p, &err));
  CHECK(p == sentinel);
}

static void builder_errors(void) {
  const char *tree = env("DEB_TREE");
  const char *out = env("DEB_OUT");
  DebpullDebBuilder *b = (DebpullDebBuilder *)&checks_run; /* must stay untouched */
  DebpullDebBuilder *const sentinel = b;
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "root_dir is NULL",
              debpull_deb_builder_new(NULL, &b, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "root_dir is empty",
              debpull_deb_builder_new("", &b, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "UTF-8", debpull_deb_builder_new("\xff", &b, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "out", debpull_deb_builder_new(tree, NULL, &err));
  CHECK(debpull_deb_builder_new(NULL, &b, NULL) == DEBPULL_STATUS_INVALID_INPUT);
  CHECK(b == sentinel);

  /* NULL builder everywhere. */
  uint8_t byte = 'x';
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "builder is NULL",
              debpull_deb_builder_set_field(NULL, "Package", "x", &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "builder is NULL",
              debpull_deb_builder_add_control_file(NULL, "postinst", &byte, 1, 0755, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "builder is NULL",
              debpull_deb_builder_set_compression(NULL, "xz", &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "builder is NULL",
              debpull_deb_builder_set_mtime(NULL, 0, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "builder is NULL",
              debpull_deb_builder_write(NULL, "/tmp/x.deb", &err));

  /* Fields: names and values checked when set. */
  b = hello_builder(tree, 0);
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "name is NULL",
              debpull_deb_builder_set_field(b, NULL, "x", &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "value is NULL",
              debpull_deb_builder_set_field(b, "Section", NULL, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "empty field name",
              debpull_deb_builder_set_field(b, "", "x", &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "Bad Name",
              debpull_deb_builder_set_field(b, "Bad Name", "x", &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "Bad:Name",
              debpull_deb_builder_set_field(b, "Bad:Name", "x", &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "#",
              debpull_deb_builder_set_field(b, "#Comment", "x", &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "UTF-8",
              debpull_deb_builder_set_field(b, "Na\xffme", "x", &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "UTF-8",
              debpull_deb_builder_set_field(b, "Section", "x\xff", &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "Description",
              debpull_deb_builder_set_field(b, "Description", "first\nnot indented", &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "Description",
              debpull_deb_builder_set_field(b, "Description", "first\n \n blank above", &err));

  /* Control files. */
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "name is NULL",
              debpull_deb_builder_add_control_file(b, NULL, &byte, 1, 0755, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "name is empty",
              debpull_deb_builder_add_control_file(b, "", &byte, 1, 0755, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "UTF-8",
              debpull_deb_builder_add_control_file(b, "post\xff", &byte, 1, 0755, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "data is NULL",
              debpull_deb_builder_add_control_file(b, "prerm", NULL, 5, 0755, &err));
  /* SIZE_MAX bytes: refused before the memory is read (ASan would see it). */
  CHECK_ERROR(DEBPULL_STATUS_LIMIT_EXCEEDED, "data",
              debpull_deb_builder_add_control_file(b, "prerm", &byte, SIZE_MAX, 0755, &err));
  CHECK_ERROR(DEBPULL_STATUS_LIMIT_EXCEEDED, "67108865",
              debpull_deb_builder_add_control_file(b, "prerm", &byte, ((size_t)64 << 20) + 1,
                                                   0755, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "0o100755",
              debpull_deb_builder_add_control_file(b, "prerm", &byte, 1, 0100755, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "0o10000",
              debpull_deb_builder_add_control_file(b, "prerm", &byte, 1, 010000, &err));
  /* NULL with length 0: an empty file; mode 07777 is the most allowed. */
  CHECK_OK(debpull_deb_builder_add_control_file(b, "triggers", NULL, 0, 07777, &err));

  /* Compression: one of the names, listed when refused. */
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "compression is NULL",
              debpull_deb_builder_set_compression(b, NULL, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "xz, gzip, zstd, none",
              debpull_deb_builder_set_compression(b, "bzip2", &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "xz, gzip, zstd, none",
              debpull_deb_builder_set_compression(b, "", &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "\"XZ\"",
              debpull_deb_builder_set_compression(b, "XZ", &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "UTF-8",
              debpull_deb_builder_set_compression(b, "x\xff", &err));

  /* Writing: arguments, then what only writing finds. The builder still
   * writes a good .deb after all the refusals above. */
  char *path = join(out, "errors.deb");
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "output_path is NULL",
              debpull_deb_builder_write(b, NULL, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "output_path is empty",
              debpull_deb_builder_write(b, "", &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "UTF-8",
              debpull_deb_builder_write(b, "/tmp/\xff.deb", &err));
  char *in_missing_dir = join(out, "no-such-dir/x.deb");
  CHECK_ERROR(DEBPULL_STATUS_IO, in_missing_dir,
              debpull_deb_builder_write(b, in_missing_dir, &err));
  CHECK_OK(debpull_deb_builder_write(b, path, &err));
  DebpullPackage *p = NULL;
  CHECK_OK(debpull_deb_inspect(path, &p, &err));
  CHECK_STR(debpull_package_version(p), "1:2.3-4");
  CHECK_STR(debpull_package_field(p, "Description"), DESCRIPTION);
  debpull_package_free(p);
  remove(path);

  /* A control file name only writing refuses. */
  CHECK_OK(debpull_deb_builder_add_control_file(b, "../evil", &byte, 1, 0644, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "../evil", debpull_deb_builder_write(b, path, &err));
  CHECK(!exists(path));
  debpull_deb_builder_free(b);
  b = hello_builder(tree, 0);
  CHECK_OK(debpull_deb_builder_add_control_file(b, "control", &byte, 1, 0644, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "\"control\"",
              debpull_deb_builder_write(b, path, &err));
  debpull_deb_builder_free(b);

  /* A timestamp too large for a .deb. */
  b = hello_builder(tree, 0);
  CHECK_OK(debpull_deb_builder_set_mtime(b, UINT64_MAX, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "timestamp", debpull_deb_builder_write(b, path, &err));
  debpull_deb_builder_free(b);

  /* An invalid version; each identifying field missing. */
  b = hello_builder(tree, 0);
  CHECK_OK(debpull_deb_builder_set_field(b, "Version", "x1.0", &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_VERSION, "Version", debpull_deb_builder_write(b, path, &err));
  debpull_deb_builder_free(b);
  static const char *const fields[] = {"Package", "Version", "Architecture"};
  for (size_t missing = 0; missing < 3; missing++) {
    CHECK_OK(debpull_deb_builder_new(tree, &b, &err));
    for (size_t i = 0; i < 3; i++) {
      if (i != missing) {
        const char *value = i == 0 ? "hello-c" : i == 1 ? "1.0" : "all";
        CHECK_OK(debpull_deb_builder_set_field(b, fields[i], value, &err));
      }
    }
    CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, fields[missing],
                debpull_deb_builder_write(b, path, &err));
    debpull_deb_builder_free(b);
  }

  /* A root directory that does not exist (yet) when writing. */
  char *no_root = join(out, "no-such-root");
  CHECK_OK(debpull_deb_builder_new(no_root, &b, &err));
  CHECK_OK(debpull_deb_builder_set_field(b, "Package", "hello-c", &err));
  CHECK_OK(debpull_deb_builder_set_field(b, "Version", "1.0", &err));
  CHECK_OK(debpull_deb_builder_set_field(b, "Architecture", "all", &err));
  CHECK_ERROR(DEBPULL_STATUS_IO, no_root, debpull_deb_builder_write(b, path, &err));
  debpull_deb_builder_free(b);
  CHECK(!exists(path));

  /* Freeing NULL, twice. */
  debpull_deb_builder_free(NULL);
  debpull_deb_builder_free(NULL);
  debpull_package_free(NULL);
  debpull_package_free(NULL);
  free(no_root);
  free(in_missing_dir);
  free(path);
}

/* Every package accessor with NULL: NULL or 0 out, never a crash. */
static void package_null_arguments(void) {
  CHECK(debpull_package_name(NULL) == NULL);
  CHECK(debpull_package_version(NULL) == NULL);
  CHECK(debpull_package_architecture(NULL) == NULL);
  CHECK(debpull_package_size(NULL) == 0);
  CHECK(debpull_package_field(NULL, "Package") == NULL);
  CHECK(debpull_package_field_count(NULL) == 0);
  CHECK(debpull_package_checksum(NULL, "SHA256") == NULL);
  CHECK(debpull_package_stanza(NULL) == NULL);
  const char *name = "untouched", *value = "untouched";
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "package is NULL",
              debpull_package_field_at(NULL, 0, &name, &value, &err));

  DebpullPackage *p = NULL;
  CHECK_OK(debpull_deb_inspect(env("DEB_DPKG_BUILT"), &p, &err));
  CHECK(debpull_package_field(p, NULL) == NULL);
  CHECK(debpull_package_checksum(p, NULL) == NULL);
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "name",
              debpull_package_field_at(p, 0, NULL, &value, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "value",
              debpull_package_field_at(p, 0, &name, NULL, &err));
  CHECK(debpull_package_field_at(p, 0, &name, NULL, NULL) == DEBPULL_STATUS_INVALID_INPUT);
  CHECK_STR(name, "untouched");
  CHECK_STR(value, "untouched");
  debpull_package_free(p);
}

int main(void) {
  build_and_inspect();
  inspect_dpkg_built();
  inspect_errors();
  builder_errors();
  package_null_arguments();
  return check_summary("deb");
}
