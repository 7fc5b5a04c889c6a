/* Repositories: options, open, publish (progress on the caller's thread),
 * list, promote, remove, prune, verify (own key, given keys, wrong key), gc,
 * and every error path. Against the repository the harness names (file:// or
 * s3:// on moto); its inputs come from environment variables (see need()).
 * The last lines, "HOLDS <suite> <name> <version> <arch>", say what the
 * repository holds at the end, for the harness to check with core. */
#include <pthread.h>

#include "check.h"
#include "fixture.h"

static const char BAD_UTF8[] = {(char)0xff, (char)0xfe, 'x', 0};

/* ---- progress ---------------------------------------------------------- */

struct progress_seen {
  pthread_t caller;
  int hashed, uploaded, committed, other_thread, bad;
  uint64_t hashed_bytes;
  char committed_suite[64];
  uint32_t committed_attempts;
};

static void on_progress(const DebpullProgress *p, void *user_data) {
  struct progress_seen *seen = user_data;
  if (!pthread_equal(pthread_self(), seen->caller)) seen->other_thread++;
  if (p == NULL || p->name == NULL || p->name[0] == '\0') {
    seen->bad++;
    return;
  }
  switch (p->kind) {
    case DEBPULL_PROGRESS_KIND_HASHED:
      seen->hashed++;
      seen->hashed_bytes += p->bytes;
      if (p->bytes == 0 || p->attempts != 0 || strstr(p->name, ".deb") == NULL) seen->bad++;
      break;
    case DEBPULL_PROGRESS_KIND_UPLOADED:
      seen->uploaded++;
      if (p->bytes == 0 || p->attempts != 0) seen->bad++;
      break;
    case DEBPULL_PROGRESS_KIND_COMMITTED:
      seen->committed++;
      snprintf(seen->committed_suite, sizeof seen->committed_suite, "%s", p->name);
      seen->committed_attempts = p->attempts;
      if (p->bytes != 0) seen->bad++;
      break;
    default:
      seen->bad++;
  }
}

/* ---- helpers ----------------------------------------------------------- */

/* Whether `list` holds name/version/arch. */
static int holds(const DebpullPackageList *list, const char *name, const char *version,
                 const char *arch) {
  for (size_t i = 0; i < debpull_package_list_len(list); i++) {
    const DebpullPackage *p = debpull_package_list_get(list, i);
    if (strcmp(debpull_package_name(p), name) == 0
        && strcmp(debpull_package_version(p), version) == 0
        && strcmp(debpull_package_architecture(p), arch) == 0)
      return 1;
  }
  return 0;
}

static DebpullPackageList *list_of(DebpullRepository *repo, const char *suite) {
  DebpullPackageList *list = NULL;
  CHECK_OK(debpull_repository_list(repo, suite, &list, &err));
  return list;
}

static DebpullRepositoryOptions *options_with_key(void) {
  size_t len = 0;
  char *key = read_file(env("DEBPULL_TEST_SECRET_KEY"), &len);
  DebpullRepositoryOptions *options = NULL;
  CHECK_OK(debpull_repository_options_new(&options, &err));
  CHECK_OK(debpull_repository_options_set_signing_key(options, key, env("DEBPULL_TEST_PASSPHRASE"),
                                                      &err));
  free(key);
  return options;
}

/* ---- options ----------------------------------------------------------- */

static void options_and_open_errors(void) {
  DebpullRepositoryOptions *sentinel_options = (DebpullRepositoryOptions *)&checks_run;
  DebpullRepositoryOptions *options = sentinel_options;
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "out", debpull_repository_options_new(NULL, &err));
  CHECK(debpull_repository_options_new(NULL, NULL) == DEBPULL_STATUS_INVALID_INPUT);
  CHECK_OK(debpull_repository_options_new(&options, &err));
  CHECK(options != sentinel_options && options != NULL);

  size_t len = 0;
  char *key = read_file(env("DEBPULL_TEST_SECRET_KEY"), &len);
  size_t public_len = 0;
  char *public_key = read_file(env("DEBPULL_TEST_PUBLIC_KEY"), &public_len);
  const char *pass = env("DEBPULL_TEST_PASSPHRASE");

  /* Signing key: NULL, bad text, wrong and missing passphrase, a public key. */
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "options is NULL",
              debpull_repository_options_set_signing_key(NULL, key, pass, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "armored_secret_key is NULL",
              debpull_repository_options_set_signing_key(options, NULL, pass, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "armored_secret_key is empty",
              debpull_repository_options_set_signing_key(options, "", pass, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "not valid UTF-8",
              debpull_repository_options_set_signing_key(options, BAD_UTF8, pass, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "passphrase is not valid UTF-8",
              debpull_repository_options_set_signing_key(options, key, BAD_UTF8, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "not an OpenPGP secret key",
              debpull_repository_options_set_signing_key(options, "garbage", NULL, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "public key",
              debpull_repository_options_set_signing_key(options, public_key, NULL, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "passphrase",
              debpull_repository_options_set_signing_key(options, key, "not the passphrase", &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "passphrase",
              debpull_repository_options_set_signing_key(options, key, NULL, &err));

  /* No signing key set: open says so. */
  DebpullRepository *sentinel_repo = (DebpullRepository *)&checks_failed;
  DebpullRepository *repo = sentinel_repo;
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "no signing key",
              debpull_repository_open(env("DEBPULL_TEST_FILE_URI"), options, &repo, &err));
  CHECK(repo == sentinel_repo);

  /* Text options. */
  typedef DebpullStatus (*set_text)(DebpullRepositoryOptions *, const char *, DebpullError **);
  const set_text setters[] = {debpull_repository_options_set_origin,
                              debpull_repository_options_set_label,
                              debpull_repository_options_set_description,
                              debpull_repository_options_set_region,
                              debpull_repository_options_set_endpoint};
  const char *names[] = {"origin", "label", "description", "region", "endpoint"};
  for (size_t i = 0; i < sizeof setters / sizeof setters[0]; i++) {
    CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "options is NULL", setters[i](NULL, "x", &err));
    CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, names[i], setters[i](options, NULL, &err));
    CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "empty", setters[i](options, "", &err));
    CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "UTF-8", setters[i](options, BAD_UTF8, &err));
    CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "line break", setters[i](options, "a\nb", &err));
  }

  /* Valid-for: 0 and more than 10 years. */
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "options is NULL",
              debpull_repository_options_set_valid_for(NULL, 60, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "0 seconds",
              debpull_repository_options_set_valid_for(options, 0, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "10 years",
              debpull_repository_options_set_valid_for(options, UINT64_MAX, &err));
  CHECK_OK(debpull_repository_options_set_valid_for(options, 7 * 24 * 3600, &err));

  /* Default architectures: NULL, none, bad strings; a bad name fails at open. */
  const char *archs[] = {"amd64", "arm64"};
  const char *bad_archs[] = {"amd64", NULL};
  const char *utf8_archs[] = {BAD_UTF8};
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "options is NULL",
              debpull_repository_options_set_default_architectures(NULL, archs, 2, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "archs is NULL",
              debpull_repository_options_set_default_architectures(options, NULL, 2, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "at least one",
              debpull_repository_options_set_default_architectures(options, archs, 0, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "archs[1] is NULL",
              debpull_repository_options_set_default_architectures(options, bad_archs, 2, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "archs[0] is not valid UTF-8",
              debpull_repository_options_set_default_architectures(options, utf8_archs, 1, &err));
  CHECK_ERROR(DEBPULL_STATUS_LIMIT_EXCEEDED, "archs",
              debpull_repository_options_set_default_architectures(options, archs, SIZE_MAX, &err));

  /* Adopted keys: NULL, empty, garbage, a huge length; a real key is fine. */
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "options is NULL",
              debpull_repository_options_set_adopt_keys(NULL, (const uint8_t *)public_key,
                                                        public_len, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "keys is NULL",
              debpull_repository_options_set_adopt_keys(options, NULL, 10, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "no key",
              debpull_repository_options_set_adopt_keys(options, NULL, 0, &err));
  CHECK(debpull_repository_options_set_adopt_keys(options, (const uint8_t *)"garbage", 7, NULL)
        != DEBPULL_STATUS_OK);
  CHECK_ERROR(DEBPULL_STATUS_LIMIT_EXCEEDED, "keys",
              debpull_repository_options_set_adopt_keys(options, (const uint8_t *)public_key,
                                                        SIZE_MAX, &err));
  CHECK_OK(debpull_repository_options_set_adopt_keys(options, (const uint8_t *)public_key,
                                                     public_len, &err));

  /* With the key: a bad architecture fails at open; so does a file:// URI with
   * an endpoint or a region. */
  CHECK_OK(debpull_repository_options_set_signing_key(options, key, pass, &err));
  const char *wrong_arch[] = {"Not An Arch"};
  CHECK_OK(debpull_repository_options_set_default_architectures(options, wrong_arch, 1, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "default architectures",
              debpull_repository_open(env("DEBPULL_TEST_FILE_URI"), options, &repo, &err));
  CHECK_OK(debpull_repository_options_set_default_architectures(options, archs, 2, &err));
  CHECK_OK(debpull_repository_options_set_endpoint(options, "http://127.0.0.1:9", &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "endpoint applies only to s3://",
              debpull_repository_open(env("DEBPULL_TEST_FILE_URI"), options, &repo, &err));

  /* open's own arguments. */
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "uri is NULL",
              debpull_repository_open(NULL, options, &repo, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "uri is empty",
              debpull_repository_open("", options, &repo, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "uri is not valid UTF-8",
              debpull_repository_open(BAD_UTF8, options, &repo, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "options is NULL",
              debpull_repository_open(env("DEBPULL_TEST_FILE_URI"), NULL, &repo, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "out",
              debpull_repository_open(env("DEBPULL_TEST_FILE_URI"), options, NULL, &err));
  DebpullRepositoryOptions *plain = options_with_key();
  CHECK_ERROR(DEBPULL_STATUS_UNSUPPORTED, "ftp",
              debpull_repository_open("ftp://example.org/x", plain, &repo, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "not a storage URI",
              debpull_repository_open("no scheme", plain, &repo, &err));
  debpull_repository_options_free(plain);
  CHECK(repo == sentinel_repo);

  free(key);
  free(public_key);
  debpull_repository_options_free(options);
  debpull_repository_options_free(NULL);
  debpull_repository_free(NULL);
}

/* ---- the operations ---------------------------------------------------- */

static void publish_and_the_rest(void) {
  DebpullRepositoryOptions *options = options_with_key();
  CHECK_OK(debpull_repository_options_set_origin(options, "C tests", &err));
  CHECK_OK(debpull_repository_options_set_label(options, "C tests label", &err));
  CHECK_OK(debpull_repository_options_set_description(options, "published from C", &err));
  const char *endpoint = getenv("DEBPULL_TEST_ENDPOINT");
  if (endpoint != NULL) {
    CHECK_OK(debpull_repository_options_set_endpoint(options, endpoint, &err));
    CHECK_OK(debpull_repository_options_set_region(options, env("DEBPULL_TEST_REGION"), &err));
  }
  DebpullRepository *repo = NULL;
  CHECK_OK(debpull_repository_open(env("DEBPULL_TEST_URI"), options, &repo, &err));
  debpull_repository_options_free(options); /* open borrowed it only */
  if (repo == NULL) return;

  const char *app1 = env("DEBPULL_TEST_APP1"), *app2 = env("DEBPULL_TEST_APP2"),
             *app3 = env("DEBPULL_TEST_APP3"), *other = env("DEBPULL_TEST_APP1_OTHER"),
             *tool = env("DEBPULL_TEST_TOOL");

  /* Publish three, with progress on this thread. */
  struct progress_seen seen;
  memset(&seen, 0, sizeof seen);
  seen.caller = pthread_self();
  const char *first[] = {app1, app2, tool};
  DebpullPublishReport *report = NULL;
  CHECK_OK(debpull_repository_publish(repo, "staging", "main", first, 3, false, on_progress,
                                      &seen, &report, &err));
  CHECK(debpull_package_list_len(debpull_publish_report_added(report)) == 3);
  CHECK(holds(debpull_publish_report_added(report), "app", "1.0", "amd64"));
  CHECK(holds(debpull_publish_report_added(report), "tool", "1.0", "all"));
  CHECK(debpull_package_list_len(debpull_publish_report_unchanged(report)) == 0);
  CHECK(debpull_package_list_len(debpull_publish_report_replaced(report)) == 0);
  CHECK(debpull_publish_report_attempts(report) >= 1);
  CHECK(seen.hashed == 3);
  CHECK(seen.hashed_bytes > 0);
  CHECK(seen.uploaded >= 3); /* three pool files, then indexes */
  CHECK(seen.committed == 1);
  CHECK_STR(seen.committed_suite, "staging");
  CHECK(seen.committed_attempts == debpull_publish_report_attempts(report));
  CHECK(seen.other_thread == 0);
  CHECK(seen.bad == 0);
  debpull_publish_report_free(report);

  /* Again: nothing to do, no callback needed. */
  report = NULL;
  CHECK_OK(debpull_repository_publish(repo, "staging", "main", first, 1, false, NULL, NULL,
                                      &report, &err));
  CHECK(debpull_package_list_len(debpull_publish_report_added(report)) == 0);
  CHECK(holds(debpull_publish_report_unchanged(report), "app", "1.0", "amd64"));
  CHECK(debpull_publish_report_attempts(report) == 0);
  debpull_publish_report_free(report);

  /* Same name and version, other content: a conflict, nothing published. */
  DebpullPublishReport *const sentinel_report = (DebpullPublishReport *)&checks_run;
  report = sentinel_report;
  const char *conflicting[] = {other};
  CHECK_ERROR(DEBPULL_STATUS_CONFLICT, "already has app 1.0",
              debpull_repository_publish(repo, "staging", "main", conflicting, 1, false, NULL,
                                         NULL, &report, &err));
  CHECK(report == sentinel_report);
  /* Replacing it is allowed. */
  CHECK_OK(debpull_repository_publish(repo, "staging", "main", conflicting, 1, true, NULL, NULL,
                                      &report, &err));
  CHECK(holds(debpull_publish_report_replaced(report), "app", "1.0", "amd64"));
  CHECK(debpull_package_list_len(debpull_publish_report_added(report)) == 0);
  debpull_publish_report_free(report);
  const char *third[] = {app3};
  CHECK_OK(debpull_repository_publish(repo, "staging", "main", third, 1, false, NULL, NULL,
                                      &report, &err));
  debpull_publish_report_free(report);

  /* List, and the list accessors. */
  DebpullPackageList *list = list_of(repo, "staging");
  CHECK(debpull_package_list_len(list) == 4);
  CHECK(holds(list, "app", "1.0", "amd64") && holds(list, "app", "2.0", "amd64")
        && holds(list, "app", "3.0", "amd64") && holds(list, "tool", "1.0", "all"));
  CHECK_STR(debpull_package_name(debpull_package_list_get(list, 0)), "app"); /* sorted */
  CHECK(debpull_package_list_get(list, 4) == NULL);
  CHECK(debpull_package_list_get(list, SIZE_MAX) == NULL);
  CHECK(debpull_package_list_get(NULL, 0) == NULL);
  CHECK(debpull_package_list_len(NULL) == 0);
  debpull_package_list_free(list);
  debpull_package_list_free(NULL);

  /* Promote app 3.0 to production. */
  list = NULL;
  CHECK_OK(debpull_repository_promote(repo, "app", "3.0", "staging", "production", &list, &err));
  CHECK(debpull_package_list_len(list) == 1 && holds(list, "app", "3.0", "amd64"));
  debpull_package_list_free(list);
  list = NULL;
  CHECK_OK(debpull_repository_promote(repo, "app", "3.0", "staging", "production", &list, &err));
  CHECK(list != NULL && debpull_package_list_len(list) == 0); /* there already */
  debpull_package_list_free(list);

  /* Remove every version of tool, then prune app to the newest 2. */
  list = NULL;
  CHECK_OK(debpull_repository_remove(repo, "staging", "tool", NULL, &list, &err));
  CHECK(debpull_package_list_len(list) == 1 && holds(list, "tool", "1.0", "all"));
  debpull_package_list_free(list);
  list = NULL;
  CHECK_OK(debpull_repository_prune(repo, "staging", 2, &list, &err));
  CHECK(debpull_package_list_len(list) == 1 && holds(list, "app", "1.0", "amd64"));
  debpull_package_list_free(list);
  list = NULL;
  CHECK_OK(debpull_repository_remove(repo, "production", "app", "3.0", &list, &err));
  CHECK(debpull_package_list_len(list) == 1);
  debpull_package_list_free(list);
  list = NULL;
  CHECK_OK(debpull_repository_promote(repo, "app", "3.0", "staging", "production", &list, &err));
  debpull_package_list_free(list);

  /* Verify: the repository's own key, the key given, the wrong key. */
  DebpullVerifyReport verified;
  memset(&verified, 0, sizeof verified);
  CHECK_OK(debpull_repository_verify(repo, "staging", NULL, 0, &verified, &err));
  CHECK(verified.packages == 2 && verified.pool_files == 2);
  CHECK(verified.index_files > 0 && verified.bytes > 0);
  size_t public_len = 0, wrong_len = 0;
  char *public_key = read_file(env("DEBPULL_TEST_PUBLIC_KEY"), &public_len);
  char *wrong_key = read_file(env("DEBPULL_TEST_WRONG_KEY"), &wrong_len);
  memset(&verified, 0, sizeof verified);
  CHECK_OK(debpull_repository_verify(repo, "production", (const uint8_t *)public_key, public_len,
                                     &verified, &err));
  CHECK(verified.packages == 1 && verified.pool_files == 1);
  DebpullVerifyReport untouched;
  memset(&untouched, 0x5a, sizeof untouched);
  DebpullVerifyReport before = untouched;
  CHECK_STATUS(DEBPULL_STATUS_VERIFICATION,
               debpull_repository_verify(repo, "staging", (const uint8_t *)wrong_key, wrong_len,
                                         &untouched, &err));
  CHECK_ERROR(DEBPULL_STATUS_NOT_FOUND, "unknown",
              debpull_repository_verify(repo, "unknown", NULL, 0, &untouched, &err));
  CHECK_ERROR(DEBPULL_STATUS_LIMIT_EXCEEDED, "keys",
              debpull_repository_verify(repo, "staging", (const uint8_t *)public_key, SIZE_MAX,
                                        &untouched, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "keys is NULL",
              debpull_repository_verify(repo, "staging", NULL, 5, &untouched, &err));
  CHECK(debpull_repository_verify(repo, "staging", (const uint8_t *)"junk", 4, &untouched, NULL)
        != DEBPULL_STATUS_OK);
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "repository is NULL",
              debpull_repository_verify(NULL, "staging", NULL, 0, &untouched, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "suite is NULL",
              debpull_repository_verify(repo, NULL, NULL, 0, &untouched, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "suite is empty",
              debpull_repository_verify(repo, "", NULL, 0, &untouched, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "out",
              debpull_repository_verify(repo, "staging", NULL, 0, NULL, &err));
  CHECK(memcmp(&untouched, &before, sizeof before) == 0);
  free(public_key);
  free(wrong_key);

  /* gc: the replaced, pruned and removed files go with no grace period. */
  DebpullGcReport gc;
  memset(&gc, 0x5a, sizeof gc);
  DebpullGcReport gc_before = gc;
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "10 years",
              debpull_repository_gc(repo, UINT64_MAX, &gc, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "repository is NULL",
              debpull_repository_gc(NULL, 0, &gc, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "out", debpull_repository_gc(repo, 0, NULL, &err));
  CHECK(memcmp(&gc, &gc_before, sizeof gc) == 0);
  CHECK_OK(debpull_repository_gc(repo, 3600, &gc, &err));
  CHECK(gc.suites == 2 && gc.deleted == 0 && gc.pending >= 3 && gc.referenced >= 2);
  CHECK_OK(debpull_repository_gc(repo, 0, &gc, &err));
  CHECK(gc.suites == 2 && gc.deleted >= 3 && gc.pending == 0 && gc.referenced >= 2);
  printf("gc: %zu suites, %zu deleted, %zu pending, %zu referenced\n", gc.suites, gc.deleted,
         gc.pending, gc.referenced);
  CHECK_OK(debpull_repository_verify(repo, "staging", NULL, 0, &verified, &err));
  CHECK_OK(debpull_repository_verify(repo, "production", NULL, 0, &verified, &err));

  /* What the repository holds, for the harness. */
  const char *suites[] = {"staging", "production"};
  for (size_t s = 0; s < 2; s++) {
    list = list_of(repo, suites[s]);
    for (size_t i = 0; i < debpull_package_list_len(list); i++) {
      const DebpullPackage *p = debpull_package_list_get(list, i);
      printf("HOLDS %s %s %s %s %s\n", suites[s], debpull_package_name(p),
             debpull_package_version(p), debpull_package_architecture(p),
             debpull_package_field(p, "Filename"));
    }
    debpull_package_list_free(list);
  }
  debpull_repository_free(repo);
}

/* ---- the operations' error paths --------------------------------------- */

static void operation_errors(void) {
  DebpullRepositoryOptions *options = options_with_key();
  const char *endpoint = getenv("DEBPULL_TEST_ENDPOINT");
  if (endpoint != NULL) {
    CHECK_OK(debpull_repository_options_set_endpoint(options, endpoint, &err));
    CHECK_OK(debpull_repository_options_set_region(options, env("DEBPULL_TEST_REGION"), &err));
  }
  DebpullRepository *repo = NULL;
  CHECK_OK(debpull_repository_open(env("DEBPULL_TEST_URI"), options, &repo, &err));
  debpull_repository_options_free(options);
  if (repo == NULL) return;

  const char *app1 = env("DEBPULL_TEST_APP1");
  const char *good[] = {app1};
  const char *missing[] = {env("DEBPULL_TEST_MISSING")};
  const char *corrupt[] = {env("DEBPULL_TEST_CORRUPT")};
  const char *with_null[] = {app1, NULL};
  const char *with_empty[] = {""};
  const char *with_bad[] = {BAD_UTF8};
  DebpullPublishReport *const sentinel_report = (DebpullPublishReport *)&checks_run;
  DebpullPublishReport *report = sentinel_report;
#define PUBLISH(repo_, suite_, comp_, debs_, n_, out_)                                      \
  debpull_repository_publish(repo_, suite_, comp_, debs_, n_, false, NULL, NULL, out_, &err)
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "repository is NULL",
              PUBLISH(NULL, "staging", "main", good, 1, &report));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "suite is NULL",
              PUBLISH(repo, NULL, "main", good, 1, &report));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "suite is empty",
              PUBLISH(repo, "", "main", good, 1, &report));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "suite is not valid UTF-8",
              PUBLISH(repo, BAD_UTF8, "main", good, 1, &report));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "not a valid name",
              PUBLISH(repo, "../up", "main", good, 1, &report));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "component is NULL",
              PUBLISH(repo, "staging", NULL, good, 1, &report));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "component is empty",
              PUBLISH(repo, "staging", "", good, 1, &report));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "debs is NULL",
              PUBLISH(repo, "staging", "main", NULL, 1, &report));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "no file",
              PUBLISH(repo, "staging", "main", good, 0, &report));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "debs[1] is NULL",
              PUBLISH(repo, "staging", "main", with_null, 2, &report));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "debs[0] is empty",
              PUBLISH(repo, "staging", "main", with_empty, 1, &report));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "debs[0] is not valid UTF-8",
              PUBLISH(repo, "staging", "main", with_bad, 1, &report));
  CHECK_ERROR(DEBPULL_STATUS_LIMIT_EXCEEDED, "debs",
              PUBLISH(repo, "staging", "main", good, SIZE_MAX, &report));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "out",
              PUBLISH(repo, "staging", "main", good, 1, NULL));
  CHECK_ERROR(DEBPULL_STATUS_IO, missing[0], PUBLISH(repo, "staging", "main", missing, 1, &report));
  CHECK_ERROR(DEBPULL_STATUS_PARSE, corrupt[0],
              PUBLISH(repo, "staging", "main", corrupt, 1, &report));
  CHECK(report == sentinel_report);
#undef PUBLISH

  DebpullPackageList *const sentinel_list = (DebpullPackageList *)&checks_run;
  DebpullPackageList *list = sentinel_list;
  /* promote */
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "repository is NULL",
              debpull_repository_promote(NULL, "app", "1.0", "staging", "x", &list, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "name is NULL",
              debpull_repository_promote(repo, NULL, "1.0", "staging", "x", &list, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "name is empty",
              debpull_repository_promote(repo, "", "1.0", "staging", "x", &list, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "version is NULL",
              debpull_repository_promote(repo, "app", NULL, "staging", "x", &list, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "from is NULL",
              debpull_repository_promote(repo, "app", "1.0", NULL, "x", &list, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "to is NULL",
              debpull_repository_promote(repo, "app", "1.0", "staging", NULL, &list, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "to is not valid UTF-8",
              debpull_repository_promote(repo, "app", "1.0", "staging", BAD_UTF8, &list, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "out",
              debpull_repository_promote(repo, "app", "1.0", "staging", "x", NULL, &err));
  CHECK_STATUS(DEBPULL_STATUS_INVALID_VERSION,
               debpull_repository_promote(repo, "app", "not a version", "staging", "x", &list,
                                          &err));
  CHECK_ERROR(DEBPULL_STATUS_NOT_FOUND, "unknown",
              debpull_repository_promote(repo, "app", "1.0", "unknown", "x", &list, &err));
  CHECK_STATUS(DEBPULL_STATUS_NOT_FOUND,
               debpull_repository_promote(repo, "nothing", "1.0", "staging", "x", &list, &err));
  /* remove */
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "repository is NULL",
              debpull_repository_remove(NULL, "staging", "app", NULL, &list, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "suite is NULL",
              debpull_repository_remove(repo, NULL, "app", NULL, &list, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "suite is empty",
              debpull_repository_remove(repo, "", "app", NULL, &list, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "name is NULL",
              debpull_repository_remove(repo, "staging", NULL, NULL, &list, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "version is not valid UTF-8",
              debpull_repository_remove(repo, "staging", "app", BAD_UTF8, &list, &err));
  CHECK_STATUS(DEBPULL_STATUS_INVALID_VERSION,
               debpull_repository_remove(repo, "staging", "app", "", &list, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "out",
              debpull_repository_remove(repo, "staging", "app", NULL, NULL, &err));
  CHECK_ERROR(DEBPULL_STATUS_NOT_FOUND, "nothing",
              debpull_repository_remove(repo, "staging", "nothing", NULL, &list, &err));
  CHECK_ERROR(DEBPULL_STATUS_NOT_FOUND, "9.9",
              debpull_repository_remove(repo, "staging", "app", "9.9", &list, &err));
  /* prune */
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "repository is NULL",
              debpull_repository_prune(NULL, "staging", 1, &list, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "suite is NULL",
              debpull_repository_prune(repo, NULL, 1, &list, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "suite is empty",
              debpull_repository_prune(repo, "", 1, &list, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "at least one",
              debpull_repository_prune(repo, "staging", 0, &list, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "out",
              debpull_repository_prune(repo, "staging", 1, NULL, &err));
  CHECK_ERROR(DEBPULL_STATUS_NOT_FOUND, "unknown",
              debpull_repository_prune(repo, "unknown", 1, &list, &err));
  /* list */
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "repository is NULL",
              debpull_repository_list(NULL, "staging", &list, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "suite is NULL",
              debpull_repository_list(repo, NULL, &list, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "suite is empty",
              debpull_repository_list(repo, "", &list, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "suite is not valid UTF-8",
              debpull_repository_list(repo, BAD_UTF8, &list, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "out",
              debpull_repository_list(repo, "staging", NULL, &err));
  CHECK_ERROR(DEBPULL_STATUS_NOT_FOUND, "unknown",
              debpull_repository_list(repo, "unknown", &list, &err));
  CHECK(debpull_repository_list(repo, "unknown", &list, NULL) == DEBPULL_STATUS_NOT_FOUND);
  CHECK(list == sentinel_list);

  /* Report accessors on NULL. */
  CHECK(debpull_publish_report_added(NULL) == NULL);
  CHECK(debpull_publish_report_unchanged(NULL) == NULL);
  CHECK(debpull_publish_report_replaced(NULL) == NULL);
  CHECK(debpull_publish_report_attempts(NULL) == 0);
  debpull_publish_report_free(NULL);
  debpull_repository_free(repo);
}

int main(void) {
  options_and_open_errors();
  publish_and_the_rest();
  operation_errors();
  return check_summary("repository");
}
