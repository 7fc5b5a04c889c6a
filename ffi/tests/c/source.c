/* Sources: options, open, check (against a local and an S3 repository the
 * harness published app 1.0 into), reset of the rollback floor, and every
 * error path. The harness passes paths, URIs and keys in DEBPULL_TEST_*. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdint.h>

#include "check.h"
#include "fixture.h"

/* Options with the suite, architecture, admin dir, `state` and the keys in
 * the file `key_path`. */
static DebpullSourceOptions *options_with(const char *key_path, const char *state) {
  DebpullSourceOptions *o = NULL;
  CHECK_OK(debpull_source_options_new(&o, &err));
  CHECK_OK(debpull_source_options_set_suite(o, env("DEBPULL_TEST_SUITE"), &err));
  CHECK_OK(debpull_source_options_set_component(o, "main", &err));
  CHECK_OK(debpull_source_options_set_architecture(o, "amd64", &err));
  CHECK_OK(debpull_source_options_set_admin_dir(o, env("DEBPULL_TEST_ADMIN"), &err));
  CHECK_OK(debpull_source_options_set_state_dir(o, state, &err));
  if (key_path != NULL) {
    size_t len = 0;
    char *keys = read_file(key_path, &len);
    CHECK_OK(debpull_source_options_set_trusted_keys(o, (const uint8_t *)keys, len, &err));
    free(keys);
  }
  return o;
}

static DebpullSource *open_source(const char *uri, const char *key_path, const char *state) {
  DebpullSourceOptions *o = options_with(key_path, state);
  if (strncmp(uri, "s3://", 5) == 0) {
    /* The URI names another region and no endpoint: these must win. */
    CHECK_OK(debpull_source_options_set_region(o, env("DEBPULL_TEST_S3_REGION"), &err));
    CHECK_OK(debpull_source_options_set_endpoint(o, env("DEBPULL_TEST_S3_ENDPOINT"), &err));
  }
  DebpullSource *s = NULL;
  CHECK_OK(debpull_source_open(uri, o, &s, &err));
  debpull_source_options_free(o);
  CHECK(s != NULL);
  return s;
}

/* Nothing installed: app 1.0 is the candidate, an update is available; the
 * second check is answered "not modified". */
static void check_repository(const char *uri, const char *state) {
  const char *package = env("DEBPULL_TEST_PACKAGE");
  DebpullSource *s = open_source(uri, env("DEBPULL_TEST_KEY"), state);

  DebpullCheck *c = NULL;
  CHECK_OK(debpull_source_check(s, package, NULL, &c, &err));
  CHECK_STR(debpull_check_package(c), package);
  CHECK(debpull_check_installed(c) == NULL);
  const DebpullPackage *candidate = debpull_check_candidate(c);
  CHECK(candidate != NULL);
  CHECK_STR(debpull_package_name(candidate), package);
  CHECK_STR(debpull_package_version(candidate), "1.0");
  CHECK_STR(debpull_package_architecture(candidate), "amd64");
  CHECK(debpull_package_size(candidate) > 0);
  CHECK(debpull_check_update_available(c));
  CHECK(debpull_check_repository_changed(c));
  CHECK(debpull_check_warning_count(c) == 0);
  CHECK(debpull_check_warning_at(c, 0) == NULL);
  debpull_check_free(c);

  /* Unchanged since: "not modified", the same answer. */
  c = NULL;
  CHECK_OK(debpull_source_check(s, package, NULL, &c, &err));
  CHECK(!debpull_check_repository_changed(c));
  CHECK_STR(debpull_package_version(debpull_check_candidate(c)), "1.0");
  CHECK(debpull_check_update_available(c));
  debpull_check_free(c);

  /* A pin: exactly that version, or NOT_FOUND; not a version at all. */
  c = NULL;
  CHECK_OK(debpull_source_check(s, package, "1.0", &c, &err));
  CHECK_STR(debpull_package_version(debpull_check_candidate(c)), "1.0");
  debpull_check_free(c);
  DebpullCheck *untouched = (DebpullCheck *)&checks_run;
  c = untouched;
  CHECK_ERROR(DEBPULL_STATUS_NOT_FOUND, "9.9",
              debpull_source_check(s, package, "9.9", &c, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_VERSION, "",
              debpull_source_check(s, package, "not a version", &c, &err));
  CHECK(c == untouched);

  /* A package the suite lacks: no candidate, nothing to do. */
  c = NULL;
  CHECK_OK(debpull_source_check(s, "absent", NULL, &c, &err));
  CHECK(debpull_check_candidate(c) == NULL);
  CHECK(debpull_check_installed(c) == NULL);
  CHECK(!debpull_check_update_available(c));
  debpull_check_free(c);

  /* The floor forgotten: the next check fetches the suite again. */
  CHECK_OK(debpull_source_reset_rollback_floor(s, &err));
  c = NULL;
  CHECK_OK(debpull_source_check(s, package, NULL, &c, &err));
  CHECK(debpull_check_repository_changed(c));
  CHECK_STR(debpull_package_version(debpull_check_candidate(c)), "1.0");
  debpull_check_free(c);

  debpull_source_free(s);
}

struct shared_check {
  const DebpullSource *source;
  DebpullStatus status;
  char version[64];
};

static void *check_in_thread(void *arg) {
  struct shared_check *job = arg;
  DebpullCheck *c = NULL;
  job->status = debpull_source_check(job->source, env("DEBPULL_TEST_PACKAGE"), NULL, &c, NULL);
  const char *version = debpull_package_version(debpull_check_candidate(c));
  snprintf(job->version, sizeof job->version, "%s", version ? version : "(null)");
  debpull_check_free(c);
  return NULL;
}

/* One source, checked from four threads at once. */
static void threads(void) {
  DebpullSource *s = open_source(env("DEBPULL_TEST_FILE_URI"), env("DEBPULL_TEST_KEY"),
                                 scratch("state-threads"));
  enum { N = 4 };
  pthread_t threads[N];
  struct shared_check jobs[N];
  for (int i = 0; i < N; i++) {
    jobs[i].source = s;
    jobs[i].status = DEBPULL_STATUS_INTERNAL;
    CHECK(pthread_create(&threads[i], NULL, check_in_thread, &jobs[i]) == 0);
  }
  for (int i = 0; i < N; i++) {
    CHECK(pthread_join(threads[i], NULL) == 0);
    CHECK(jobs[i].status == DEBPULL_STATUS_OK);
    CHECK_STR(jobs[i].version, "1.0");
  }
  debpull_source_free(s);
}

/* Another key than the repository's: VERIFICATION, output untouched. */
static void wrong_key(void) {
  DebpullSource *s = open_source(env("DEBPULL_TEST_FILE_URI"), env("DEBPULL_TEST_WRONG_KEY"),
                                 scratch("state-wrong"));
  DebpullCheck *untouched = (DebpullCheck *)&checks_run;
  DebpullCheck *c = untouched;
  CHECK_ERROR(DEBPULL_STATUS_VERIFICATION, "",
              debpull_source_check(s, env("DEBPULL_TEST_PACKAGE"), NULL, &c, &err));
  CHECK(c == untouched);
  debpull_source_free(s);
}

/* No signature checked: it works, with a warning. */
static void insecure_unsigned(void) {
  DebpullSourceOptions *o = options_with(NULL, scratch("state-insecure"));
  CHECK_OK(debpull_source_options_set_insecure_unsigned(o, true, &err));
  DebpullSource *s = NULL;
  CHECK_OK(debpull_source_open(env("DEBPULL_TEST_FILE_URI"), o, &s, &err));
  DebpullCheck *c = NULL;
  CHECK_OK(debpull_source_check(s, env("DEBPULL_TEST_PACKAGE"), NULL, &c, &err));
  CHECK(debpull_check_warning_count(c) == 1);
  const char *warning = debpull_check_warning_at(c, 0);
  CHECK(warning != NULL && strstr(warning, "NOT checked") != NULL);
  CHECK(debpull_check_warning_at(c, 1) == NULL);
  CHECK_STR(debpull_package_version(debpull_check_candidate(c)), "1.0");
  debpull_check_free(c);
  debpull_source_free(s);

  /* Undone: no trust at all any more. */
  CHECK_OK(debpull_source_options_set_insecure_unsigned(o, false, &err));
  s = NULL;
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "debpull_source_options_set_trusted_keys",
              debpull_source_open(env("DEBPULL_TEST_FILE_URI"), o, &s, &err));
  CHECK(s == NULL);
  debpull_source_options_free(o);
}

static void bad_options(void) {
  DebpullSourceOptions *o = NULL;
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "out", debpull_source_options_new(NULL, &err));
  CHECK(debpull_source_options_new(NULL, NULL) == DEBPULL_STATUS_INVALID_INPUT);
  CHECK_OK(debpull_source_options_new(&o, &err));

  /* NULL options, NULL / invalid UTF-8 / empty strings. */
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "options is NULL",
              debpull_source_options_set_suite(NULL, "production", &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "suite is NULL",
              debpull_source_options_set_suite(o, NULL, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "suite is empty",
              debpull_source_options_set_suite(o, "", &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "UTF-8",
              debpull_source_options_set_suite(o, "prod\xc3", &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "options is NULL",
              debpull_source_options_set_region(NULL, "eu-west-1", &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "region is NULL",
              debpull_source_options_set_region(o, NULL, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "region is empty",
              debpull_source_options_set_region(o, "", &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "UTF-8",
              debpull_source_options_set_region(o, "eu\xc3", &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "options is NULL",
              debpull_source_options_set_endpoint(NULL, "http://127.0.0.1:1", &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "endpoint is NULL",
              debpull_source_options_set_endpoint(o, NULL, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "endpoint is empty",
              debpull_source_options_set_endpoint(o, "", &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "UTF-8",
              debpull_source_options_set_endpoint(o, "http://\xff", &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "options is NULL",
              debpull_source_options_set_component(NULL, "main", &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "component is NULL",
              debpull_source_options_set_component(o, NULL, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "component is empty",
              debpull_source_options_set_component(o, "", &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "UTF-8",
              debpull_source_options_set_component(o, "\xff", &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "options is NULL",
              debpull_source_options_set_architecture(NULL, "amd64", &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "architecture is NULL",
              debpull_source_options_set_architecture(o, NULL, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "architecture is empty",
              debpull_source_options_set_architecture(o, "", &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "UTF-8",
              debpull_source_options_set_architecture(o, "amd\x80", &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "options is NULL",
              debpull_source_options_set_state_dir(NULL, "/tmp", &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "state_dir is NULL",
              debpull_source_options_set_state_dir(o, NULL, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "state_dir is empty",
              debpull_source_options_set_state_dir(o, "", &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "UTF-8",
              debpull_source_options_set_state_dir(o, "/tmp/\xfe", &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "options is NULL",
              debpull_source_options_set_admin_dir(NULL, "/var/lib/dpkg", &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "admin_dir is NULL",
              debpull_source_options_set_admin_dir(o, NULL, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "admin_dir is empty",
              debpull_source_options_set_admin_dir(o, "", &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "UTF-8",
              debpull_source_options_set_admin_dir(o, "/\xc0", &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "options is NULL",
              debpull_source_options_set_insecure_unsigned(NULL, true, &err));

  /* Keys: NULL options, NULL with a length, a huge length, garbage, none. */
  size_t len = 0;
  char *keys = read_file(env("DEBPULL_TEST_KEY"), &len);
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "options is NULL",
              debpull_source_options_set_trusted_keys(NULL, (const uint8_t *)keys, len, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "keys is NULL",
              debpull_source_options_set_trusted_keys(o, NULL, 10, &err));
  CHECK_ERROR(DEBPULL_STATUS_LIMIT_EXCEEDED, "keys",
              debpull_source_options_set_trusted_keys(o, (const uint8_t *)keys, SIZE_MAX, &err));
  static const uint8_t garbage[] = "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nnot a key\n";
  CHECK_ERROR(DEBPULL_STATUS_PARSE, "not OpenPGP public keys",
              debpull_source_options_set_trusted_keys(o, garbage, sizeof garbage - 1, &err));
  CHECK_ERROR(DEBPULL_STATUS_PARSE, "no OpenPGP public key found",
              debpull_source_options_set_trusted_keys(o, (const uint8_t *)keys, 0, &err));
  CHECK_ERROR(DEBPULL_STATUS_PARSE, "no OpenPGP public key found",
              debpull_source_options_set_trusted_keys(o, NULL, 0, &err));
  /* Half a key is no key. */
  CHECK_ERROR(DEBPULL_STATUS_PARSE, "not OpenPGP public keys",
              debpull_source_options_set_trusted_keys(o, (const uint8_t *)keys, len / 2, &err));

  /* None of those set anything: open says what is missing, and how. */
  DebpullSource *untouched = (DebpullSource *)&checks_run;
  DebpullSource *s = untouched;
  const char *uri = env("DEBPULL_TEST_FILE_URI");
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "debpull_source_options_set_suite",
              debpull_source_open(uri, o, &s, &err));
  CHECK_OK(debpull_source_options_set_suite(o, env("DEBPULL_TEST_SUITE"), &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "debpull_source_options_set_trusted_keys",
              debpull_source_open(uri, o, &s, &err));
  CHECK_OK(debpull_source_options_set_trusted_keys(o, (const uint8_t *)keys, len, &err));
  free(keys);
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "debpull_source_options_set_state_dir",
              debpull_source_open(uri, o, &s, &err));
  CHECK_OK(debpull_source_options_set_state_dir(o, scratch("state-bad"), &err));
  CHECK_OK(debpull_source_options_set_architecture(o, "amd64", &err));

  /* Open: NULL, invalid UTF-8, empty, unknown schemes, a missing output. */
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "uri is NULL",
              debpull_source_open(NULL, o, &s, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "uri is empty",
              debpull_source_open("", o, &s, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "UTF-8",
              debpull_source_open("file:///\xff", o, &s, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "not a storage URI",
              debpull_source_open("no scheme", o, &s, &err));
  CHECK_ERROR(DEBPULL_STATUS_UNSUPPORTED, "ftp", debpull_source_open("ftp://host/x", o, &s, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "options is NULL",
              debpull_source_open(uri, NULL, &s, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "out", debpull_source_open(uri, o, NULL, &err));
  CHECK(s == untouched);

  /* An S3 endpoint for a file:// URI: refused at open, naming it. */
  DebpullSourceOptions *with_endpoint = options_with(env("DEBPULL_TEST_KEY"), scratch("state-ep"));
  CHECK_OK(debpull_source_options_set_endpoint(with_endpoint, "http://127.0.0.1:1", &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "endpoint",
              debpull_source_open(uri, with_endpoint, &s, &err));
  debpull_source_options_free(with_endpoint);
  CHECK(s == untouched);

  /* Names that are not plain: refused when set, the options as they were. */
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "not a plain name",
              debpull_source_options_set_suite(o, "../production", &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "not a plain name",
              debpull_source_options_set_component(o, "a b", &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "not a plain name",
              debpull_source_options_set_architecture(o, "..", &err));
  CHECK_OK(debpull_source_open(uri, o, &s, &err));
  debpull_source_free(s);
  s = untouched;

  /* A state directory that cannot be made (its parent is a file). */
  FILE *f = fopen(scratch("a-file"), "w");
  CHECK(f != NULL);
  if (f != NULL) fclose(f);
  CHECK_OK(debpull_source_options_set_state_dir(o, scratch("a-file/state"), &err));
  s = NULL;
  CHECK_OK(debpull_source_open(uri, o, &s, &err));
  DebpullCheck *c_untouched = (DebpullCheck *)&checks_run;
  DebpullCheck *c = c_untouched;
  CHECK_ERROR(DEBPULL_STATUS_IO, "a-file/state",
              debpull_source_check(s, env("DEBPULL_TEST_PACKAGE"), NULL, &c, &err));
  CHECK_ERROR(DEBPULL_STATUS_IO, "a-file/state", debpull_source_reset_rollback_floor(s, &err));
  debpull_source_free(s);

  /* A repository directory that does not exist. */
  CHECK_OK(debpull_source_options_set_state_dir(o, scratch("state-missing"), &err));
  char missing[4200];
  snprintf(missing, sizeof missing, "file://%s", scratch("no-repository"));
  s = NULL;
  CHECK_OK(debpull_source_open(missing, o, &s, &err));
  CHECK_ERROR(DEBPULL_STATUS_NOT_FOUND, "neither dists/production/InRelease nor",
              debpull_source_check(s, env("DEBPULL_TEST_PACKAGE"), NULL, &c, &err));
  debpull_source_free(s);

  /* Check: NULL source, package, output; empty and invalid package names. */
  s = NULL;
  CHECK_OK(debpull_source_options_set_state_dir(o, scratch("state-bad"), &err));
  CHECK_OK(debpull_source_open(uri, o, &s, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "source is NULL",
              debpull_source_check(NULL, "app", NULL, &c, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "package is NULL",
              debpull_source_check(s, NULL, NULL, &c, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "package is empty",
              debpull_source_check(s, "", NULL, &c, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "UTF-8",
              debpull_source_check(s, "app\xff", NULL, &c, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "pin",
              debpull_source_check(s, "app", "1.0\xff", &c, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "",
              debpull_source_check(s, "Not/A/Package", NULL, &c, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "out",
              debpull_source_check(s, "app", NULL, NULL, &err));
  CHECK(c == c_untouched);
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "source is NULL",
              debpull_source_reset_rollback_floor(NULL, &err));
  CHECK(debpull_source_reset_rollback_floor(NULL, NULL) == DEBPULL_STATUS_INVALID_INPUT);
  debpull_source_free(s);
  debpull_source_options_free(o);

  /* Accessors and frees take NULL. */
  CHECK(debpull_check_package(NULL) == NULL);
  CHECK(debpull_check_installed(NULL) == NULL);
  CHECK(debpull_check_candidate(NULL) == NULL);
  CHECK(!debpull_check_update_available(NULL));
  CHECK(!debpull_check_repository_changed(NULL));
  CHECK(debpull_check_warning_count(NULL) == 0);
  CHECK(debpull_check_warning_at(NULL, 0) == NULL);
  debpull_check_free(NULL);
  debpull_check_free(NULL);
  debpull_source_free(NULL);
  debpull_source_free(NULL);
  debpull_source_options_free(NULL);
  debpull_source_options_free(NULL);
}

int main(void) {
  bad_options();
  check_repository(env("DEBPULL_TEST_FILE_URI"), scratch("state-file"));
  check_repository(env("DEBPULL_TEST_S3_URI"), scratch("state-s3"));
  threads();
  wrong_key();
  insecure_unsigned();
  return check_summary("source");
}
