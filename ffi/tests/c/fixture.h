/* What the C tests read from their harness: environment variables, files,
 * and paths under the scratch directory DEBPULL_TEST_DIR. */
#ifndef DEBPULL_TEST_FIXTURE_H
#define DEBPULL_TEST_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>

/* The environment variable `name`; exits 2 when the harness did not set it. */
static inline const char *env(const char *name) {
  const char *value = getenv(name);
  if (value == NULL || value[0] == '\0') {
    fprintf(stderr, "the harness did not set %s\n", name);
    exit(2);
  }
  return value;
}

/* The whole file at `path`, NUL-terminated (malloc'ed: the caller frees it);
 * its length, without the NUL, in *len. Exits 2 when it cannot be read. */
static inline char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    fprintf(stderr, "cannot open %s\n", path);
    exit(2);
  }
  char *data = NULL;
  size_t used = 0, size = 0, n;
  do {
    if (used + 4096 + 1 > size) {
      size = (size + 4096) * 2;
      char *grown = realloc(data, size);
      if (grown == NULL) {
        exit(2);
      }
      data = grown;
    }
    n = fread(data + used, 1, 4096, f);
    used += n;
  } while (n > 0);
  fclose(f);
  data[used] = '\0';
  *len = used;
  return data;
}

/* DEBPULL_TEST_DIR/name, in a static buffer (the last 8 stay valid). */
static inline const char *scratch(const char *name) {
  static char paths[8][4096];
  static unsigned next;
  char *path = paths[next++ % 8];
  snprintf(path, sizeof paths[0], "%s/%s", env("DEBPULL_TEST_DIR"), name);
  return path;
}

#endif
