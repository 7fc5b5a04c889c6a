/* Garbage to every function of the C API: every pointer NULL in turn, every
 * string invalid UTF-8 (four shapes), empty and 1 MiB long, every buffer and
 * array with impossible lengths, every number at 0 and its maximum, every
 * accessor past the end, every _free(NULL) twice. Each must give a typed
 * error (never DEBPULL_STATUS_INTERNAL, never a crash: ASan + UBSan + LSan
 * watch), the error object's status equal to the one returned and a message
 * naming the parameter, the same status with a NULL error pointer, and its
 * outputs untouched.
 *
 * The valid handles needed to reach each check are made with the API itself,
 * from what the harness gives (environment): DEBPULL_TEST_DIR (a scratch
 * directory), DEBPULL_TEST_TREE (files to package), DEBPULL_TEST_REPO_URI (an empty
 * file:// repository), DEBPULL_TEST_SECRET_KEY, DEBPULL_TEST_PUBLIC_KEY,
 * DEBPULL_TEST_WRONG_KEY (files: an unprotected signing key made by gpg, its
 * public key, another key's), DEBPULL_TEST_ROOT and DEBPULL_TEST_ADMIN (a dpkg root). */
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "check.h"
#include "fixture.h"

/* ---- what the checks compare against ----------------------------------- */

#define MAX_BUFFER ((size_t)64 << 20)
#define LONG_LEN ((size_t)1 << 20)

/* A status any typed failure (or success) passes: everything but INTERNAL. */
#define ANY (-1)
/* The default refusal of NULL / "": INVALID_INPUT with "<param> is NULL" /
 * "<param> is empty". */
#define REFUSE (-2)

#define INVALID DEBPULL_STATUS_INVALID_INPUT
#define LIMIT DEBPULL_STATUS_LIMIT_EXCEEDED
#define BAD_VERSION DEBPULL_STATUS_INVALID_VERSION

/* Outputs start out pointing here: a failed call must leave them so. */
static char sentinel_target;
#define SENTINEL ((void *)&sentinel_target)
#define UNTOUCHED(out) ((const void *)(out) == (const void *)SENTINEL)

/* A failure leaves `out` at SENTINEL; a success gave an owned handle: freed. */
#define UNTOUCHED_OR_FREE(status, out, free_fn) \
  do {                                          \
    if ((status) == DEBPULL_STATUS_OK)          \
      free_fn(out);                             \
    else                                        \
      CHECK(UNTOUCHED(out));                    \
  } while (0)

static const char *const BAD_UTF8[] = {
    "\x80",         /* a lone continuation byte */
    "ab\xc3",       /* a sequence cut short */
    "\xc0\xaf",     /* an overlong encoding of '/' */
    "\xed\xa0\x80", /* a UTF-16 surrogate (U+D800) */
    "x\xff",        /* a byte that is never UTF-8 */
};
#define BAD_UTF8_COUNT (sizeof BAD_UTF8 / sizeof BAD_UTF8[0])

static char *long_string; /* LONG_LEN times 'a' */

/* Every call passes `err_out`: &last_err, or NULL for the second round. */
static DebpullError *last_err;
static DebpullError **err_out = &last_err;

static const char *status_text(int status) {
  if (status == ANY) return "any typed status";
  return debpull_status_name(status);
}

/* Judges a call that just returned `got` (having written last_err when
 * err_out was not NULL): `expected` (ANY, or a status), the message holding
 * `needle` (NULL: any non-empty message). Frees the error. */
static DebpullStatus judge(const char *where, const char *call, DebpullStatus got, int expected,
                           const char *needle) {
  const char *message = last_err ? debpull_error_message(last_err) : NULL;
  const char *fault = NULL;
  checks_run++;
  if (got == DEBPULL_STATUS_INTERNAL)
    fault = "a panic (INTERNAL)";
  else if (expected != ANY && (int)got != expected)
    fault = "the wrong status";
  else if (err_out == NULL && last_err != NULL)
    fault = "an error object written through a NULL error pointer";
  else if (err_out != NULL && got == DEBPULL_STATUS_OK && last_err != NULL)
    fault = "an error object on success";
  else if (err_out != NULL && got != DEBPULL_STATUS_OK && last_err == NULL)
    fault = "no error object";
  else if (err_out != NULL && got != DEBPULL_STATUS_OK && debpull_error_status(last_err) != got)
    fault = "an error object of another status";
  else if (err_out != NULL && got != DEBPULL_STATUS_OK && (message == NULL || message[0] == '\0'))
    fault = "an error without a message";
  else if (err_out != NULL && got != DEBPULL_STATUS_OK && needle != NULL
           && strstr(message, needle) == NULL)
    fault = "a message not naming what is at fault";
  if (fault != NULL) {
    checks_failed++;
    fprintf(stderr, "%s: %s\n  %s: returned %s (%.300s), expected %s%s%s%s\n", where, call, fault,
            debpull_status_name((int)got), message ? message : "no message",
            status_text(expected), needle ? " with \"" : "", needle ? needle : "",
            needle ? "\"" : "");
  }
  debpull_error_free(last_err);
  last_err = NULL;
  return got;
}

#define STR_(x) #x
#define STR(x) STR_(x)
#define HERE "garbage.c:" STR(__LINE__)

/* `call` (passing err_out) returns `expected` with a message holding
 * `needle`; a failure is repeated with a NULL error pointer, which must give
 * the same status. Only failures are repeated: they must have no effect. */
#define EXPECT(expected, needle, call)                                        \
  do {                                                                        \
    DebpullStatus first_ = judge(HERE, #call, (call), (expected), (needle));  \
    if (first_ != DEBPULL_STATUS_OK) {                                        \
      err_out = NULL;                                                         \
      judge(HERE, #call " [error NULL]", (call), (int)first_, NULL);          \
      err_out = &last_err;                                                    \
    }                                                                         \
  } while (0)

#define OK(call) EXPECT(DEBPULL_STATUS_OK, NULL, call)

/* The same as a function, for the tables below: `run` calls the function
 * under test with `err_out`. */
typedef DebpullStatus (*runner)(const void *arg, size_t n);

static void expect_run(const char *what, runner run, const void *arg, size_t n, int expected,
                       const char *needle) {
  DebpullStatus first = judge(what, "", run(arg, n), expected, needle);
  if (first != DEBPULL_STATUS_OK) {
    err_out = NULL;
    judge(what, "[error NULL]", run(arg, n), (int)first, NULL);
    err_out = &last_err;
  }
}

/* ---- the fixture: valid handles, made with the API --------------------- */

#define PACKAGE "garbage-app"
#define SUITE "staging"

static struct {
  char *secret_key;
  uint8_t *public_key, *wrong_key;
  size_t public_len, wrong_len;
  const char *deb; /* a .deb built with the API */
  DebpullPackage *package;
  DebpullRepositoryOptions *repo_options; /* with the signing key */
  DebpullRepository *repo;                /* SUITE holds PACKAGE 1.0 */
  DebpullPackageList *list;               /* SUITE's packages */
  DebpullSourceOptions *source_options;   /* complete */
  DebpullSource *source;
  DebpullCheck *check;
  DebpullUpdaterOptions *updater_options; /* for a package SUITE lacks */
  DebpullUpdater *updater;
  /* Fresh handles that setters change (the ones above stay usable). */
  DebpullDebBuilder *builder;
  DebpullRepositoryOptions *ro;
  DebpullSourceOptions *so;
  DebpullUpdaterOptions *uo;
} fx;

static void fixture_new(void) {
  long_string = malloc(LONG_LEN + 1);
  if (long_string == NULL) exit(2);
  memset(long_string, 'a', LONG_LEN);
  long_string[LONG_LEN] = '\0';

  size_t len = 0;
  fx.secret_key = read_file(env("DEBPULL_TEST_SECRET_KEY"), &len);
  fx.public_key = (uint8_t *)read_file(env("DEBPULL_TEST_PUBLIC_KEY"), &fx.public_len);
  fx.wrong_key = (uint8_t *)read_file(env("DEBPULL_TEST_WRONG_KEY"), &fx.wrong_len);

  DebpullDebBuilder *b = NULL;
  OK(debpull_deb_builder_new(env("DEBPULL_TEST_TREE"), &b, err_out));
  OK(debpull_deb_builder_set_field(b, "Package", PACKAGE, err_out));
  OK(debpull_deb_builder_set_field(b, "Version", "1.0", err_out));
  OK(debpull_deb_builder_set_field(b, "Architecture", "amd64", err_out));
  OK(debpull_deb_builder_set_field(b, "Maintainer", "Garbage <garbage@example.org>", err_out));
  OK(debpull_deb_builder_set_field(b, "Description", "garbage in, typed errors out", err_out));
  OK(debpull_deb_builder_set_mtime(b, 1700000000, err_out));
  static char deb[4096];
  snprintf(deb, sizeof deb, "%s", scratch(PACKAGE "_1.0_amd64.deb"));
  fx.deb = deb;
  OK(debpull_deb_builder_write(b, fx.deb, err_out));
  debpull_deb_builder_free(b);
  OK(debpull_deb_inspect(fx.deb, &fx.package, err_out));

  OK(debpull_repository_options_new(&fx.repo_options, err_out));
  OK(debpull_repository_options_set_signing_key(fx.repo_options, fx.secret_key, NULL, err_out));
  OK(debpull_repository_open(env("DEBPULL_TEST_REPO_URI"), fx.repo_options, &fx.repo, err_out));
  const char *debs[] = {fx.deb};
  DebpullPublishReport *report = NULL;
  OK(debpull_repository_publish(fx.repo, SUITE, "main", debs, 1, false, NULL, NULL, &report,
                                err_out));
  CHECK(debpull_package_list_len(debpull_publish_report_added(report)) == 1);
  debpull_publish_report_free(report);
  OK(debpull_repository_list(fx.repo, SUITE, &fx.list, err_out));
  CHECK(debpull_package_list_len(fx.list) == 1);

  OK(debpull_source_options_new(&fx.source_options, err_out));
  OK(debpull_source_options_set_suite(fx.source_options, SUITE, err_out));
  OK(debpull_source_options_set_architecture(fx.source_options, "amd64", err_out));
  OK(debpull_source_options_set_state_dir(fx.source_options, scratch("state"), err_out));
  OK(debpull_source_options_set_admin_dir(fx.source_options, env("DEBPULL_TEST_ADMIN"), err_out));
  OK(debpull_source_options_set_trusted_keys(fx.source_options, fx.public_key, fx.public_len,
                                             err_out));
  OK(debpull_source_open(env("DEBPULL_TEST_REPO_URI"), fx.source_options, &fx.source, err_out));
  OK(debpull_source_check(fx.source, PACKAGE, NULL, &fx.check, err_out));
  CHECK(debpull_check_candidate(fx.check) != NULL);

  OK(debpull_updater_options_new("garbage-absent", &fx.updater_options, err_out));
  OK(debpull_updater_options_set_root(fx.updater_options, env("DEBPULL_TEST_ROOT"), err_out));
  OK(debpull_updater_new(fx.source, fx.updater_options, &fx.updater, err_out));

  OK(debpull_deb_builder_new(env("DEBPULL_TEST_TREE"), &fx.builder, err_out));
  OK(debpull_repository_options_new(&fx.ro, err_out));
  OK(debpull_source_options_new(&fx.so, err_out));
  OK(debpull_updater_options_new(PACKAGE, &fx.uo, err_out));
}

static void fixture_free(void) {
  debpull_deb_builder_free(fx.builder);
  debpull_repository_options_free(fx.ro);
  debpull_source_options_free(fx.so);
  debpull_updater_options_free(fx.uo);
  debpull_updater_free(fx.updater);
  debpull_updater_options_free(fx.updater_options);
  debpull_check_free(fx.check);
  debpull_source_free(fx.source);
  debpull_source_options_free(fx.source_options);
  debpull_package_list_free(fx.list);
  debpull_repository_free(fx.repo);
  debpull_repository_options_free(fx.repo_options);
  debpull_package_free(fx.package);
  free(fx.secret_key);
  free(fx.public_key);
  free(fx.wrong_key);
  free(long_string);
}

/* ---- string parameters ------------------------------------------------- */

/* One string parameter of one function: `run` calls it with the string
 * (`arg`) in that parameter and valid values elsewhere. What NULL, "" and
 * 1 MiB give: REFUSE (INVALID_INPUT "<param> is NULL" / "is empty"), ANY
 * or a status (then `*_needle` in the message). Invalid UTF-8 is always
 * INVALID_INPUT "<param> is not valid UTF-8". */
struct string_param {
  const char *function, *param;
  runner run;
  int on_null;
  const char *null_needle;
  int on_empty;
  const char *empty_needle;
  int on_long;
};

static void string_garbage(const struct string_param *p) {
  char what[256], needle[128];
  snprintf(what, sizeof what, "%s(%s = NULL)", p->function, p->param);
  snprintf(needle, sizeof needle, "%s is NULL", p->param);
  if (p->on_null == REFUSE)
    expect_run(what, p->run, NULL, 0, INVALID, needle);
  else
    expect_run(what, p->run, NULL, 0, p->on_null, p->null_needle);

  snprintf(needle, sizeof needle, "%s is not valid UTF-8", p->param);
  for (size_t i = 0; i < BAD_UTF8_COUNT; i++) {
    snprintf(what, sizeof what, "%s(%s = invalid UTF-8 #%zu)", p->function, p->param, i);
    expect_run(what, p->run, BAD_UTF8[i], 0, INVALID, needle);
  }

  snprintf(what, sizeof what, "%s(%s = \"\")", p->function, p->param);
  snprintf(needle, sizeof needle, "%s is empty", p->param);
  if (p->on_empty == REFUSE)
    expect_run(what, p->run, "", 0, INVALID, needle);
  else
    expect_run(what, p->run, "", 0, p->on_empty, p->empty_needle);

  snprintf(what, sizeof what, "%s(%s = 1 MiB of 'a')", p->function, p->param);
  expect_run(what, p->run, long_string, 0, p->on_long, NULL);
}

#define S(arg) ((const char *)(arg))

/* versions */
static DebpullStatus s_version_parse(const void *s, size_t n) {
  (void)n;
  DebpullVersion *v = SENTINEL;
  DebpullStatus st = debpull_version_parse(S(s), &v, err_out);
  UNTOUCHED_OR_FREE(st, v, debpull_version_free);
  return st;
}
static DebpullStatus s_version_compare_a(const void *s, size_t n) {
  (void)n;
  int result = 42;
  DebpullStatus st = debpull_version_compare(S(s), "1.0", &result, err_out);
  if (st != DEBPULL_STATUS_OK) CHECK(result == 42);
  return st;
}
static DebpullStatus s_version_compare_b(const void *s, size_t n) {
  (void)n;
  int result = 42;
  DebpullStatus st = debpull_version_compare("1.0", S(s), &result, err_out);
  if (st != DEBPULL_STATUS_OK) CHECK(result == 42);
  return st;
}
static DebpullStatus relation(const char *a, const char *rel, const char *b) {
  /* `result` is a byte the callee must not touch; bool cannot hold a sentinel. */
  union {
    bool b;
    unsigned char byte;
  } result;
  result.byte = 0x5a;
  DebpullStatus st = debpull_version_relation(a, rel, b, &result.b, err_out);
  if (st != DEBPULL_STATUS_OK) CHECK(result.byte == 0x5a);
  return st;
}
static DebpullStatus s_version_relation_a(const void *s, size_t n) {
  (void)n;
  return relation(S(s), ">=", "1.0");
}
static DebpullStatus s_version_relation_rel(const void *s, size_t n) {
  (void)n;
  return relation("1.0", S(s), "1.0");
}
static DebpullStatus s_version_relation_b(const void *s, size_t n) {
  (void)n;
  return relation("1.0", ">=", S(s));
}

/* .deb files */
static DebpullStatus s_deb_inspect(const void *s, size_t n) {
  (void)n;
  DebpullPackage *p = SENTINEL;
  DebpullStatus st = debpull_deb_inspect(S(s), &p, err_out);
  UNTOUCHED_OR_FREE(st, p, debpull_package_free);
  return st;
}
static DebpullStatus s_deb_builder_new(const void *s, size_t n) {
  (void)n;
  DebpullDebBuilder *b = SENTINEL;
  DebpullStatus st = debpull_deb_builder_new(S(s), &b, err_out);
  UNTOUCHED_OR_FREE(st, b, debpull_deb_builder_free);
  return st;
}
static DebpullStatus s_deb_builder_set_field_name(const void *s, size_t n) {
  (void)n;
  return debpull_deb_builder_set_field(fx.builder, S(s), "value", err_out);
}
static DebpullStatus s_deb_builder_set_field_value(const void *s, size_t n) {
  (void)n;
  return debpull_deb_builder_set_field(fx.builder, "X-Garbage", S(s), err_out);
}
static DebpullStatus s_deb_builder_add_control_file(const void *s, size_t n) {
  (void)n;
  return debpull_deb_builder_add_control_file(fx.builder, S(s), (const uint8_t *)"#!/bin/sh\n",
                                              10, 0755, err_out);
}
static DebpullStatus s_deb_builder_set_compression(const void *s, size_t n) {
  (void)n;
  return debpull_deb_builder_set_compression(fx.builder, S(s), err_out);
}
static DebpullStatus s_deb_builder_write(const void *s, size_t n) {
  (void)n;
  return debpull_deb_builder_write(fx.builder, S(s), err_out);
}

/* repository options */
static DebpullStatus s_set_signing_key(const void *s, size_t n) {
  (void)n;
  return debpull_repository_options_set_signing_key(fx.ro, S(s), NULL, err_out);
}
static DebpullStatus s_set_signing_key_passphrase(const void *s, size_t n) {
  (void)n;
  return debpull_repository_options_set_signing_key(fx.ro, fx.secret_key, S(s), err_out);
}
static DebpullStatus s_set_origin(const void *s, size_t n) {
  (void)n;
  return debpull_repository_options_set_origin(fx.ro, S(s), err_out);
}
static DebpullStatus s_set_label(const void *s, size_t n) {
  (void)n;
  return debpull_repository_options_set_label(fx.ro, S(s), err_out);
}
static DebpullStatus s_set_description(const void *s, size_t n) {
  (void)n;
  return debpull_repository_options_set_description(fx.ro, S(s), err_out);
}
static DebpullStatus s_repo_set_region(const void *s, size_t n) {
  (void)n;
  return debpull_repository_options_set_region(fx.ro, S(s), err_out);
}
static DebpullStatus s_repo_set_endpoint(const void *s, size_t n) {
  (void)n;
  return debpull_repository_options_set_endpoint(fx.ro, S(s), err_out);
}

/* repositories */
static DebpullStatus s_repository_open(const void *s, size_t n) {
  (void)n;
  DebpullRepository *r = SENTINEL;
  DebpullStatus st = debpull_repository_open(S(s), fx.repo_options, &r, err_out);
  UNTOUCHED_OR_FREE(st, r, debpull_repository_free);
  return st;
}
static DebpullStatus publish(const char *suite, const char *component) {
  const char *debs[] = {fx.deb};
  DebpullPublishReport *report = SENTINEL;
  DebpullStatus st =
      debpull_repository_publish(fx.repo, suite, component, debs, 1, false, NULL, NULL, &report,
                                 err_out);
  UNTOUCHED_OR_FREE(st, report, debpull_publish_report_free);
  return st;
}
static DebpullStatus s_publish_suite(const void *s, size_t n) {
  (void)n;
  return publish(S(s), "main");
}
static DebpullStatus s_publish_component(const void *s, size_t n) {
  (void)n;
  return publish(SUITE, S(s));
}
static DebpullStatus promote(const char *name, const char *version, const char *from,
                             const char *to) {
  DebpullPackageList *list = SENTINEL;
  DebpullStatus st = debpull_repository_promote(fx.repo, name, version, from, to, &list, err_out);
  UNTOUCHED_OR_FREE(st, list, debpull_package_list_free);
  return st;
}
static DebpullStatus s_promote_name(const void *s, size_t n) {
  (void)n;
  return promote(S(s), "1.0", SUITE, "production");
}
static DebpullStatus s_promote_version(const void *s, size_t n) {
  (void)n;
  return promote(PACKAGE, S(s), SUITE, "production");
}
static DebpullStatus s_promote_from(const void *s, size_t n) {
  (void)n;
  return promote(PACKAGE, "1.0", S(s), "production");
}
static DebpullStatus s_promote_to(const void *s, size_t n) {
  (void)n;
  return promote(PACKAGE, "9.9", SUITE, S(s)); /* 9.9: not there, nothing changes */
}
static DebpullStatus remove_(const char *suite, const char *name, const char *version) {
  DebpullPackageList *list = SENTINEL;
  DebpullStatus st = debpull_repository_remove(fx.repo, suite, name, version, &list, err_out);
  UNTOUCHED_OR_FREE(st, list, debpull_package_list_free);
  return st;
}
static DebpullStatus s_remove_suite(const void *s, size_t n) {
  (void)n;
  return remove_(S(s), PACKAGE, "9.9");
}
static DebpullStatus s_remove_name(const void *s, size_t n) {
  (void)n;
  return remove_(SUITE, S(s), NULL);
}
static DebpullStatus s_remove_version(const void *s, size_t n) {
  (void)n;
  return remove_(SUITE, "no-such-package", S(s));
}
static DebpullStatus s_prune_suite(const void *s, size_t n) {
  (void)n;
  DebpullPackageList *list = SENTINEL;
  DebpullStatus st = debpull_repository_prune(fx.repo, S(s), 1, &list, err_out);
  UNTOUCHED_OR_FREE(st, list, debpull_package_list_free);
  return st;
}
static DebpullStatus s_list_suite(const void *s, size_t n) {
  (void)n;
  DebpullPackageList *list = SENTINEL;
  DebpullStatus st = debpull_repository_list(fx.repo, S(s), &list, err_out);
  UNTOUCHED_OR_FREE(st, list, debpull_package_list_free);
  return st;
}
static DebpullVerifyReport verify_sentinel(void) {
  DebpullVerifyReport r;
  memset(&r, 0xab, sizeof r);
  return r;
}
static DebpullStatus verify(const char *suite, const uint8_t *keys, size_t len) {
  DebpullVerifyReport report = verify_sentinel(), before = verify_sentinel();
  DebpullStatus st = debpull_repository_verify(fx.repo, suite, keys, len, &report, err_out);
  if (st != DEBPULL_STATUS_OK) CHECK(memcmp(&report, &before, sizeof report) == 0);
  return st;
}
static DebpullStatus s_verify_suite(const void *s, size_t n) {
  (void)n;
  return verify(S(s), NULL, 0);
}

/* source options */
static DebpullStatus s_set_suite(const void *s, size_t n) {
  (void)n;
  return debpull_source_options_set_suite(fx.so, S(s), err_out);
}
static DebpullStatus s_set_component(const void *s, size_t n) {
  (void)n;
  return debpull_source_options_set_component(fx.so, S(s), err_out);
}
static DebpullStatus s_set_architecture(const void *s, size_t n) {
  (void)n;
  return debpull_source_options_set_architecture(fx.so, S(s), err_out);
}
static DebpullStatus s_set_state_dir(const void *s, size_t n) {
  (void)n;
  return debpull_source_options_set_state_dir(fx.so, S(s), err_out);
}
static DebpullStatus s_set_admin_dir(const void *s, size_t n) {
  (void)n;
  return debpull_source_options_set_admin_dir(fx.so, S(s), err_out);
}
static DebpullStatus s_source_set_region(const void *s, size_t n) {
  (void)n;
  return debpull_source_options_set_region(fx.so, S(s), err_out);
}
static DebpullStatus s_source_set_endpoint(const void *s, size_t n) {
  (void)n;
  return debpull_source_options_set_endpoint(fx.so, S(s), err_out);
}

/* sources */
static DebpullStatus s_source_open(const void *s, size_t n) {
  (void)n;
  DebpullSource *source = SENTINEL;
  DebpullStatus st = debpull_source_open(S(s), fx.source_options, &source, err_out);
  UNTOUCHED_OR_FREE(st, source, debpull_source_free);
  return st;
}
static DebpullStatus source_check(const char *package, const char *pin) {
  DebpullCheck *check = SENTINEL;
  DebpullStatus st = debpull_source_check(fx.source, package, pin, &check, err_out);
  UNTOUCHED_OR_FREE(st, check, debpull_check_free);
  return st;
}
static DebpullStatus s_check_package(const void *s, size_t n) {
  (void)n;
  return source_check(S(s), NULL);
}
static DebpullStatus s_check_pin(const void *s, size_t n) {
  (void)n;
  return source_check(PACKAGE, S(s));
}

/* updater options */
static DebpullStatus s_updater_options_new(const void *s, size_t n) {
  (void)n;
  DebpullUpdaterOptions *o = SENTINEL;
  DebpullStatus st = debpull_updater_options_new(S(s), &o, err_out);
  UNTOUCHED_OR_FREE(st, o, debpull_updater_options_free);
  return st;
}
static DebpullStatus s_set_installer(const void *s, size_t n) {
  (void)n;
  return debpull_updater_options_set_installer(fx.uo, S(s), err_out);
}
static DebpullStatus s_set_root(const void *s, size_t n) {
  (void)n;
  return debpull_updater_options_set_root(fx.uo, S(s), err_out);
}
static DebpullStatus s_set_apt_config(const void *s, size_t n) {
  (void)n;
  return debpull_updater_options_set_apt_config(fx.uo, S(s), err_out);
}
static DebpullStatus s_set_policy(const void *s, size_t n) {
  (void)n;
  return debpull_updater_options_set_policy(fx.uo, S(s), err_out);
}
static DebpullStatus s_set_pin(const void *s, size_t n) {
  (void)n;
  return debpull_updater_options_set_pin(fx.uo, S(s), err_out);
}

static const struct string_param STRING_PARAMS[] = {
    /* function, param, run, NULL gives, "" gives, 1 MiB gives */
    {"debpull_version_parse", "text", s_version_parse, REFUSE, NULL, BAD_VERSION, "empty",
     BAD_VERSION},
    {"debpull_version_compare", "a", s_version_compare_a, REFUSE, NULL, BAD_VERSION, "empty",
     BAD_VERSION},
    {"debpull_version_compare", "b", s_version_compare_b, REFUSE, NULL, BAD_VERSION, "empty",
     BAD_VERSION},
    {"debpull_version_relation", "a", s_version_relation_a, REFUSE, NULL, BAD_VERSION, "empty",
     BAD_VERSION},
    {"debpull_version_relation", "relation", s_version_relation_rel, REFUSE, NULL, INVALID,
     "relation", INVALID},
    {"debpull_version_relation", "b", s_version_relation_b, REFUSE, NULL, BAD_VERSION, "empty",
     BAD_VERSION},

    {"debpull_deb_inspect", "path", s_deb_inspect, REFUSE, NULL, REFUSE, NULL,
     DEBPULL_STATUS_IO},
    {"debpull_deb_builder_new", "root_dir", s_deb_builder_new, REFUSE, NULL, REFUSE, NULL,
     DEBPULL_STATUS_OK},
    {"debpull_deb_builder_set_field", "name", s_deb_builder_set_field_name, REFUSE, NULL, INVALID,
     "field name", ANY},
    {"debpull_deb_builder_set_field", "value", s_deb_builder_set_field_value, REFUSE, NULL, ANY,
     NULL, DEBPULL_STATUS_OK},
    {"debpull_deb_builder_add_control_file", "name", s_deb_builder_add_control_file, REFUSE, NULL,
     REFUSE, NULL, DEBPULL_STATUS_OK},
    {"debpull_deb_builder_set_compression", "compression", s_deb_builder_set_compression, REFUSE,
     NULL, INVALID, "xz, gzip, zstd, none", INVALID},
    {"debpull_deb_builder_write", "output_path", s_deb_builder_write, REFUSE, NULL, REFUSE, NULL,
     ANY},

    {"debpull_repository_options_set_signing_key", "armored_secret_key", s_set_signing_key,
     REFUSE, NULL, REFUSE, NULL, INVALID},
    {"debpull_repository_options_set_signing_key", "passphrase", s_set_signing_key_passphrase,
     DEBPULL_STATUS_OK, NULL, DEBPULL_STATUS_OK, NULL, ANY},
    {"debpull_repository_options_set_origin", "origin", s_set_origin, REFUSE, NULL, REFUSE, NULL,
     DEBPULL_STATUS_OK},
    {"debpull_repository_options_set_label", "label", s_set_label, REFUSE, NULL, REFUSE, NULL,
     DEBPULL_STATUS_OK},
    {"debpull_repository_options_set_description", "description", s_set_description, REFUSE,
     NULL, REFUSE, NULL, DEBPULL_STATUS_OK},
    {"debpull_repository_options_set_region", "region", s_repo_set_region, REFUSE, NULL, REFUSE,
     NULL, DEBPULL_STATUS_OK},
    {"debpull_repository_options_set_endpoint", "endpoint", s_repo_set_endpoint, REFUSE, NULL,
     REFUSE, NULL, DEBPULL_STATUS_OK},

    {"debpull_repository_open", "uri", s_repository_open, REFUSE, NULL, REFUSE, NULL, ANY},
    {"debpull_repository_publish", "suite", s_publish_suite, REFUSE, NULL, REFUSE, NULL, ANY},
    {"debpull_repository_publish", "component", s_publish_component, REFUSE, NULL, REFUSE, NULL,
     ANY},
    {"debpull_repository_promote", "name", s_promote_name, REFUSE, NULL, REFUSE, NULL, ANY},
    {"debpull_repository_promote", "version", s_promote_version, REFUSE, NULL, REFUSE, NULL,
     BAD_VERSION},
    {"debpull_repository_promote", "from", s_promote_from, REFUSE, NULL, REFUSE, NULL, ANY},
    {"debpull_repository_promote", "to", s_promote_to, REFUSE, NULL, REFUSE, NULL, ANY},
    {"debpull_repository_remove", "suite", s_remove_suite, REFUSE, NULL, REFUSE, NULL, ANY},
    {"debpull_repository_remove", "name", s_remove_name, REFUSE, NULL, REFUSE, NULL, ANY},
    /* NULL: every version, of a package the suite lacks. */
    {"debpull_repository_remove", "version", s_remove_version, DEBPULL_STATUS_NOT_FOUND,
     "no-such-package", BAD_VERSION, "empty", BAD_VERSION},
    {"debpull_repository_prune", "suite", s_prune_suite, REFUSE, NULL, REFUSE, NULL, ANY},
    {"debpull_repository_list", "suite", s_list_suite, REFUSE, NULL, REFUSE, NULL, ANY},
    {"debpull_repository_verify", "suite", s_verify_suite, REFUSE, NULL, REFUSE, NULL, ANY},

    {"debpull_source_options_set_suite", "suite", s_set_suite, REFUSE, NULL, REFUSE, NULL,
     DEBPULL_STATUS_OK},
    {"debpull_source_options_set_component", "component", s_set_component, REFUSE, NULL, REFUSE,
     NULL, DEBPULL_STATUS_OK},
    {"debpull_source_options_set_architecture", "architecture", s_set_architecture, REFUSE, NULL,
     REFUSE, NULL, DEBPULL_STATUS_OK},
    {"debpull_source_options_set_state_dir", "state_dir", s_set_state_dir, REFUSE, NULL, REFUSE,
     NULL, DEBPULL_STATUS_OK},
    {"debpull_source_options_set_admin_dir", "admin_dir", s_set_admin_dir, REFUSE, NULL, REFUSE,
     NULL, DEBPULL_STATUS_OK},
    {"debpull_source_options_set_region", "region", s_source_set_region, REFUSE, NULL, REFUSE,
     NULL, DEBPULL_STATUS_OK},
    {"debpull_source_options_set_endpoint", "endpoint", s_source_set_endpoint, REFUSE, NULL,
     REFUSE, NULL, DEBPULL_STATUS_OK},

    {"debpull_source_open", "uri", s_source_open, REFUSE, NULL, REFUSE, NULL, ANY},
    {"debpull_source_check", "package", s_check_package, REFUSE, NULL, REFUSE, NULL, ANY},
    /* NULL: no pin, the highest version. */
    {"debpull_source_check", "pin", s_check_pin, DEBPULL_STATUS_OK, NULL, BAD_VERSION, "empty",
     BAD_VERSION},

    {"debpull_updater_options_new", "package", s_updater_options_new, REFUSE, NULL, REFUSE, NULL,
     ANY},
    {"debpull_updater_options_set_installer", "installer", s_set_installer, REFUSE, NULL, INVALID,
     "\"dpkg\" or \"apt\"", INVALID},
    {"debpull_updater_options_set_root", "root", s_set_root, REFUSE, NULL, REFUSE, NULL,
     DEBPULL_STATUS_OK},
    {"debpull_updater_options_set_apt_config", "apt_config", s_set_apt_config, REFUSE, NULL,
     REFUSE, NULL, DEBPULL_STATUS_OK},
    {"debpull_updater_options_set_policy", "policy", s_set_policy, REFUSE, NULL, INVALID,
     "\"upgrade-only\" or \"follow-repository\"", INVALID},
    {"debpull_updater_options_set_pin", "pin", s_set_pin, REFUSE, NULL, BAD_VERSION, "empty",
     BAD_VERSION},
};

/* ---- buffers (pointer + length) ---------------------------------------- */

/* `run` gets the buffer in `arg` and its length in `n`. NULL with length 0
 * gives `on_null_empty`, a non-NULL buffer of length 0 `on_empty`; garbage
 * bytes give `on_garbage`. */
struct buffer_param {
  const char *function, *param;
  runner run;
  int on_null_empty;
  int on_empty;
  const char *empty_needle;
  int on_garbage;
};

#define B(arg) ((const uint8_t *)(arg))

static DebpullStatus b_add_control_file(const void *data, size_t len) {
  return debpull_deb_builder_add_control_file(fx.builder, "postinst", B(data), len, 0755,
                                              err_out);
}
static DebpullStatus b_adopt_keys(const void *data, size_t len) {
  return debpull_repository_options_set_adopt_keys(fx.ro, B(data), len, err_out);
}
static DebpullStatus b_verify_keys(const void *data, size_t len) {
  return verify(SUITE, B(data), len);
}
static DebpullStatus b_trusted_keys(const void *data, size_t len) {
  return debpull_source_options_set_trusted_keys(fx.so, B(data), len, err_out);
}

static const struct buffer_param BUFFER_PARAMS[] = {
    {"debpull_deb_builder_add_control_file", "data", b_add_control_file, DEBPULL_STATUS_OK,
     DEBPULL_STATUS_OK, NULL, DEBPULL_STATUS_OK},
    {"debpull_repository_options_set_adopt_keys", "keys", b_adopt_keys, INVALID, INVALID,
     "no key given", ANY},
    /* NULL, 0: the repository's own key. */
    {"debpull_repository_verify", "keys", b_verify_keys, DEBPULL_STATUS_OK, DEBPULL_STATUS_PARSE,
     "no OpenPGP", DEBPULL_STATUS_PARSE},
    {"debpull_source_options_set_trusted_keys", "keys", b_trusted_keys, DEBPULL_STATUS_PARSE,
     DEBPULL_STATUS_PARSE, "no OpenPGP", DEBPULL_STATUS_PARSE},
};

static void buffer_garbage(const struct buffer_param *p) {
  static const uint8_t small[16] = {0x99, 0x01, 0xff, 0xfe, 'g', 'a', 'r', 'b', 'a', 'g', 'e'};
  char what[256], needle[128];
  /* Lengths far past the 16 bytes there: refused before any is read. */
  const size_t huge[] = {SIZE_MAX, MAX_BUFFER + 1, SIZE_MAX / 2 + 1};
  for (size_t i = 0; i < sizeof huge / sizeof huge[0]; i++) {
    snprintf(what, sizeof what, "%s(%s, len = %zu)", p->function, p->param, huge[i]);
    snprintf(needle, sizeof needle, "%s: a length of %zu bytes", p->param, huge[i]);
    expect_run(what, p->run, small, huge[i], LIMIT, needle);
    snprintf(what, sizeof what, "%s(%s = NULL, len = %zu)", p->function, p->param, huge[i]);
    expect_run(what, p->run, NULL, huge[i], LIMIT, needle);
  }
  snprintf(what, sizeof what, "%s(%s = NULL, len = 1)", p->function, p->param);
  snprintf(needle, sizeof needle, "%s is NULL with a length of 1", p->param);
  expect_run(what, p->run, NULL, 1, INVALID, needle);
  snprintf(what, sizeof what, "%s(%s = NULL, len = MAX)", p->function, p->param);
  snprintf(needle, sizeof needle, "%s is NULL with a length of %zu", p->param, MAX_BUFFER);
  expect_run(what, p->run, NULL, MAX_BUFFER, INVALID, needle);
  snprintf(what, sizeof what, "%s(%s = NULL, len = 0)", p->function, p->param);
  expect_run(what, p->run, NULL, 0, p->on_null_empty, NULL);
  snprintf(what, sizeof what, "%s(%s, len = 0)", p->function, p->param);
  expect_run(what, p->run, small, 0, p->on_empty, p->empty_needle);
  snprintf(what, sizeof what, "%s(%s = garbage)", p->function, p->param);
  expect_run(what, p->run, small, sizeof small, p->on_garbage, NULL);
  snprintf(what, sizeof what, "%s(%s = 1 MiB of 'a')", p->function, p->param);
  expect_run(what, p->run, long_string, LONG_LEN, p->on_garbage, NULL);
  snprintf(what, sizeof what, "%s(%s = a public key cut in half)", p->function, p->param);
  expect_run(what, p->run, fx.public_key, fx.public_len / 2, p->on_garbage, NULL);
}

/* ---- string arrays (pointer + count) ----------------------------------- */

/* `run` gets the array in `arg` and its count in `n`. No string at all
 * gives INVALID_INPUT with `zero_needle`; an empty first string `on_blank`. */
struct array_param {
  const char *function, *param;
  runner run;
  const char *zero_needle;
  int on_blank;
  const char *blank_needle;
};

#define A(arg) ((const char *const *)(arg))

static DebpullStatus a_default_architectures(const void *items, size_t count) {
  return debpull_repository_options_set_default_architectures(fx.ro, A(items), count, err_out);
}
static DebpullStatus a_publish_debs(const void *items, size_t count) {
  DebpullPublishReport *report = SENTINEL;
  DebpullStatus st = debpull_repository_publish(fx.repo, SUITE, "main", A(items), count, false,
                                                NULL, NULL, &report, err_out);
  UNTOUCHED_OR_FREE(st, report, debpull_publish_report_free);
  return st;
}
static DebpullStatus a_installer_command(const void *items, size_t count) {
  return debpull_updater_options_set_installer_command(fx.uo, A(items), count, err_out);
}
static DebpullStatus a_health_check(const void *items, size_t count) {
  return debpull_updater_options_set_health_check(fx.uo, A(items), count, err_out);
}

static const struct array_param ARRAY_PARAMS[] = {
    {"debpull_repository_options_set_default_architectures", "archs", a_default_architectures,
     "at least one", DEBPULL_STATUS_OK, NULL}, /* "" is refused at open */
    {"debpull_repository_publish", "debs", a_publish_debs, "no file given", INVALID,
     "debs[0] is empty"},
    {"debpull_updater_options_set_installer_command", "argv", a_installer_command,
     "argv is empty", INVALID, "argv[0] (the program) is empty"},
    {"debpull_updater_options_set_health_check", "argv", a_health_check, "argv is empty", INVALID,
     "argv[0] (the program) is empty"},
};

static void array_garbage(const struct array_param *p) {
  const char *two[] = {"a", "b"};
  char what[256], needle[128];
  const size_t huge[] = {SIZE_MAX, MAX_BUFFER / sizeof(char *) + 1};
  for (size_t i = 0; i < sizeof huge / sizeof huge[0]; i++) {
    snprintf(what, sizeof what, "%s(%s, count = %zu)", p->function, p->param, huge[i]);
    snprintf(needle, sizeof needle, "%s: %zu strings", p->param, huge[i]);
    expect_run(what, p->run, two, huge[i], LIMIT, needle);
    snprintf(what, sizeof what, "%s(%s = NULL, count = %zu)", p->function, p->param, huge[i]);
    expect_run(what, p->run, NULL, huge[i], LIMIT, needle);
  }
  snprintf(what, sizeof what, "%s(%s = NULL, count = 2)", p->function, p->param);
  snprintf(needle, sizeof needle, "%s is NULL with a count of 2", p->param);
  expect_run(what, p->run, NULL, 2, INVALID, needle);
  snprintf(what, sizeof what, "%s(%s = NULL, count = 0)", p->function, p->param);
  expect_run(what, p->run, NULL, 0, INVALID, p->zero_needle);
  snprintf(what, sizeof what, "%s(%s, count = 0)", p->function, p->param);
  expect_run(what, p->run, two, 0, INVALID, p->zero_needle);

  const char *with_null[] = {"a", NULL, "b"};
  snprintf(what, sizeof what, "%s(%s with a NULL element)", p->function, p->param);
  snprintf(needle, sizeof needle, "%s[1] is NULL", p->param);
  expect_run(what, p->run, with_null, 3, INVALID, needle);
  const char *null_first[] = {NULL};
  snprintf(needle, sizeof needle, "%s[0] is NULL", p->param);
  expect_run(what, p->run, null_first, 1, INVALID, needle);

  for (size_t i = 0; i < BAD_UTF8_COUNT; i++) {
    const char *bad[] = {"a", BAD_UTF8[i]};
    snprintf(what, sizeof what, "%s(%s[1] = invalid UTF-8 #%zu)", p->function, p->param, i);
    snprintf(needle, sizeof needle, "%s[1] is not valid UTF-8", p->param);
    expect_run(what, p->run, bad, 2, INVALID, needle);
  }
  const char *blank[] = {""};
  snprintf(what, sizeof what, "%s(%s = {\"\"})", p->function, p->param);
  expect_run(what, p->run, blank, 1, p->on_blank, p->blank_needle);
  const char *long_one[] = {long_string};
  snprintf(what, sizeof what, "%s(%s = {1 MiB of 'a'})", p->function, p->param);
  expect_run(what, p->run, long_one, 1, ANY, NULL);
}

/* ---- numbers (seconds, keep, mtime) ------------------------------------ */

/* `run` gets the number in `n`; 0 and UINT64_MAX (SIZE_MAX for a size_t)
 * give `on_zero` and `on_max`, the message holding the needle. */
struct number_param {
  const char *function, *param;
  runner run;
  int on_zero;
  const char *zero_needle;
  int on_max;
  const char *max_needle;
};

static DebpullStatus n_set_mtime(const void *arg, size_t n) {
  (void)arg;
  return debpull_deb_builder_set_mtime(fx.builder, (uint64_t)n, err_out);
}
static DebpullStatus n_valid_for(const void *arg, size_t n) {
  (void)arg;
  return debpull_repository_options_set_valid_for(fx.ro, (uint64_t)n, err_out);
}
static DebpullStatus n_prune_keep(const void *arg, size_t n) {
  (void)arg;
  DebpullPackageList *list = SENTINEL;
  DebpullStatus st = debpull_repository_prune(fx.repo, SUITE, n, &list, err_out);
  if (st == DEBPULL_STATUS_OK) {
    CHECK(debpull_package_list_len(list) == 0); /* one version: none pruned */
    debpull_package_list_free(list);
  } else {
    CHECK(UNTOUCHED(list));
  }
  return st;
}
static DebpullStatus n_gc_grace(const void *arg, size_t n) {
  (void)arg;
  DebpullGcReport report, before;
  memset(&report, 0xab, sizeof report);
  memset(&before, 0xab, sizeof before);
  DebpullStatus st = debpull_repository_gc(fx.repo, (uint64_t)n, &report, err_out);
  if (st != DEBPULL_STATUS_OK) CHECK(memcmp(&report, &before, sizeof report) == 0);
  return st;
}
static DebpullStatus n_health_timeout(const void *arg, size_t n) {
  (void)arg;
  return debpull_updater_options_set_health_timeout(fx.uo, (uint64_t)n, err_out);
}
static DebpullStatus n_install_timeout(const void *arg, size_t n) {
  (void)arg;
  return debpull_updater_options_set_install_timeout(fx.uo, (uint64_t)n, err_out);
}
static DebpullStatus n_lock_wait(const void *arg, size_t n) {
  (void)arg;
  return debpull_updater_options_set_lock_wait(fx.uo, (uint64_t)n, err_out);
}
static DebpullStatus n_jitter(const void *arg, size_t n) {
  (void)arg;
  return debpull_updater_options_set_jitter(fx.uo, (uint64_t)n, err_out);
}

/* size_t is 64 bits here (the harness runs on 64-bit Linux): n carries
 * UINT64_MAX as SIZE_MAX. */
static const struct number_param NUMBER_PARAMS[] = {
    /* refused at write (below) */
    {"debpull_deb_builder_set_mtime", "seconds", n_set_mtime, DEBPULL_STATUS_OK, NULL,
     DEBPULL_STATUS_OK, NULL},
    {"debpull_repository_options_set_valid_for", "seconds", n_valid_for, INVALID, "0 seconds",
     INVALID, "10 years"},
    {"debpull_repository_prune", "keep", n_prune_keep, INVALID, "at least one", DEBPULL_STATUS_OK,
     NULL},
    {"debpull_repository_gc", "grace_seconds", n_gc_grace, DEBPULL_STATUS_OK, NULL, INVALID,
     "grace_seconds"},
    {"debpull_updater_options_set_health_timeout", "seconds", n_health_timeout, INVALID,
     "health_timeout is 0", INVALID, "health_timeout"},
    {"debpull_updater_options_set_install_timeout", "seconds", n_install_timeout, INVALID,
     "install_timeout is 0", INVALID, "install_timeout"},
    {"debpull_updater_options_set_lock_wait", "seconds", n_lock_wait, DEBPULL_STATUS_OK, NULL,
     INVALID, "lock_wait"},
    {"debpull_updater_options_set_jitter", "seconds", n_jitter, DEBPULL_STATUS_OK, NULL, INVALID,
     "jitter"},
};

static void number_garbage(const struct number_param *p) {
  char what[256];
  snprintf(what, sizeof what, "%s(%s = 0)", p->function, p->param);
  expect_run(what, p->run, NULL, 0, p->on_zero, p->zero_needle);
  snprintf(what, sizeof what, "%s(%s = max)", p->function, p->param);
  expect_run(what, p->run, NULL, SIZE_MAX, p->on_max, p->max_needle);
}

/* ---- each handle type: NULL handles and outputs, the rest -------------- */

static void errors_and_library(void) {
  CHECK(debpull_library_version() != NULL && debpull_library_version()[0] != '\0');
  CHECK(debpull_error_status(NULL) == INVALID);
  CHECK(debpull_error_message(NULL) == NULL);
  debpull_error_free(NULL);
  debpull_error_free(NULL);
  const int unknown[] = {INT_MIN, -1, 13, 99, 101, INT_MAX};
  for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++)
    CHECK_STR(debpull_status_name(unknown[i]), "unknown status");
  for (int s = 0; s <= 100; s++) {
    const char *name = debpull_status_name(s);
    CHECK(name != NULL && name[0] != '\0');
  }
}

static void versions(void) {
  DebpullVersion *v = SENTINEL;
  EXPECT(INVALID, "out (an output) is NULL", debpull_version_parse("1.0", NULL, err_out));
  int result = 42;
  EXPECT(INVALID, "result (an output) is NULL", debpull_version_compare("1", "2", NULL, err_out));
  EXPECT(INVALID, "result (an output) is NULL",
         debpull_version_relation("1", "<<", "2", NULL, err_out));
  EXPECT(INVALID, "a is NULL", debpull_version_compare(NULL, NULL, &result, err_out));
  CHECK(UNTOUCHED(v) && result == 42);
  CHECK(debpull_version_epoch(NULL) == 0);
  CHECK(debpull_version_string(NULL) == NULL);
  CHECK(debpull_version_upstream(NULL) == NULL);
  CHECK(debpull_version_revision(NULL) == NULL);
  CHECK(debpull_version_cmp(NULL, NULL) == 0);
  debpull_version_free(NULL);
  debpull_version_free(NULL);
}

static void debs(void) {
  DebpullPackage *p = SENTINEL;
  DebpullDebBuilder *b = SENTINEL;
  EXPECT(INVALID, "out (an output) is NULL", debpull_deb_inspect(fx.deb, NULL, err_out));
  EXPECT(DEBPULL_STATUS_IO, "missing.deb", debpull_deb_inspect(scratch("missing.deb"), &p, err_out));
  EXPECT(DEBPULL_STATUS_PARSE, "", debpull_deb_inspect(env("DEBPULL_TEST_PUBLIC_KEY"), &p, err_out));
  EXPECT(INVALID, "out (an output) is NULL",
         debpull_deb_builder_new(env("DEBPULL_TEST_TREE"), NULL, err_out));
  CHECK(UNTOUCHED(p) && UNTOUCHED(b));

  EXPECT(INVALID, "builder is NULL", debpull_deb_builder_set_field(NULL, "A", "b", err_out));
  EXPECT(INVALID, "builder is NULL",
         debpull_deb_builder_add_control_file(NULL, "postinst", NULL, 0, 0755, err_out));
  EXPECT(INVALID, "builder is NULL", debpull_deb_builder_set_compression(NULL, "xz", err_out));
  EXPECT(INVALID, "builder is NULL", debpull_deb_builder_set_mtime(NULL, 0, err_out));
  EXPECT(INVALID, "builder is NULL",
         debpull_deb_builder_write(NULL, scratch("never.deb"), err_out));
  const uint32_t modes[] = {010000, 0177777, UINT32_MAX};
  for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++)
    EXPECT(INVALID, "mode",
           debpull_deb_builder_add_control_file(fx.builder, "postinst", NULL, 0, modes[i],
                                                err_out));

  /* A builder with everything set wrong is refused at write: typed. */
  DebpullDebBuilder *bad = NULL;
  OK(debpull_deb_builder_new(scratch("no-such-tree"), &bad, err_out));
  EXPECT(INVALID, "", debpull_deb_builder_write(bad, scratch("bad.deb"), err_out));
  OK(debpull_deb_builder_set_mtime(bad, UINT64_MAX, err_out));
  EXPECT(INVALID, "too large", debpull_deb_builder_write(bad, scratch("bad.deb"), err_out));
  OK(debpull_deb_builder_set_mtime(bad, 0, err_out));
  OK(debpull_deb_builder_set_field(bad, "Package", PACKAGE, err_out));
  OK(debpull_deb_builder_set_field(bad, "Version", "1.0", err_out));
  OK(debpull_deb_builder_set_field(bad, "Architecture", "amd64", err_out));
  EXPECT(DEBPULL_STATUS_IO, "no-such-tree",
         debpull_deb_builder_write(bad, scratch("bad.deb"), err_out));
  debpull_deb_builder_free(bad);
  /* Field names and values that are not deb822, refused at once. */
  const char *bad_names[] = {"Bad Name", "A:B", "-Lead", "#Comment"};
  for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++)
    EXPECT(INVALID, "", debpull_deb_builder_set_field(fx.builder, bad_names[i], "v", err_out));
  const char *bad_values[] = {"a\nb", "a\n", "a\n\n b", "a\r\nb"};
  for (size_t i = 0; i < sizeof bad_values / sizeof bad_values[0]; i++)
    EXPECT(INVALID, "", debpull_deb_builder_set_field(fx.builder, "X-Bad", bad_values[i], err_out));
  /* Control file names that are no plain file name, refused at write. */
  const char *bad_files[] = {"../evil", "a/b", "control", ".", ".."};
  for (size_t i = 0; i < sizeof bad_files / sizeof bad_files[0]; i++) {
    DebpullDebBuilder *one = NULL;
    OK(debpull_deb_builder_new(env("DEBPULL_TEST_TREE"), &one, err_out));
    OK(debpull_deb_builder_set_field(one, "Package", PACKAGE, err_out));
    OK(debpull_deb_builder_set_field(one, "Version", "1.0", err_out));
    OK(debpull_deb_builder_set_field(one, "Architecture", "amd64", err_out));
    OK(debpull_deb_builder_add_control_file(one, bad_files[i], NULL, 0, 0644, err_out));
    EXPECT(INVALID, bad_files[i], debpull_deb_builder_write(one, scratch("bad.deb"), err_out));
    debpull_deb_builder_free(one);
  }
  /* fx.builder got every garbage the setters accepted: writing it is typed. */
  expect_run("debpull_deb_builder_write(a builder given garbage)", s_deb_builder_write,
             scratch("garbage.deb"), 0, ANY, NULL);
  debpull_deb_builder_free(NULL);
  debpull_deb_builder_free(NULL);
}

static void packages(void) {
  const DebpullPackage *p = fx.package;
  CHECK(debpull_package_name(NULL) == NULL);
  CHECK(debpull_package_version(NULL) == NULL);
  CHECK(debpull_package_architecture(NULL) == NULL);
  CHECK(debpull_package_size(NULL) == 0);
  CHECK(debpull_package_stanza(NULL) == NULL);
  CHECK(debpull_package_field_count(NULL) == 0);
  CHECK(debpull_package_field(NULL, "Package") == NULL);
  CHECK(debpull_package_checksum(NULL, "SHA256") == NULL);
  /* Garbage names: NULL, not UTF-8, empty, long, unknown. */
  CHECK_STR(debpull_package_field(p, "package"), PACKAGE);
  CHECK(debpull_package_checksum(p, "sha256") != NULL);
  const char *names[] = {NULL, "", "SHA3", "Packag", long_string};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    CHECK(debpull_package_field(p, names[i]) == NULL);
    CHECK(debpull_package_checksum(p, names[i]) == NULL);
  }
  for (size_t i = 0; i < BAD_UTF8_COUNT; i++) {
    CHECK(debpull_package_field(p, BAD_UTF8[i]) == NULL);
    CHECK(debpull_package_checksum(p, BAD_UTF8[i]) == NULL);
  }

  const char *name = SENTINEL, *value = SENTINEL;
  EXPECT(INVALID, "package is NULL", debpull_package_field_at(NULL, 0, &name, &value, err_out));
  EXPECT(INVALID, "name (an output) is NULL",
         debpull_package_field_at(p, 0, NULL, &value, err_out));
  EXPECT(INVALID, "value (an output) is NULL",
         debpull_package_field_at(p, 0, &name, NULL, err_out));
  size_t count = debpull_package_field_count(p);
  CHECK(count > 0);
  EXPECT(DEBPULL_STATUS_NOT_FOUND, "no field",
         debpull_package_field_at(p, count, &name, &value, err_out));
  EXPECT(DEBPULL_STATUS_NOT_FOUND, "no field",
         debpull_package_field_at(p, SIZE_MAX, &name, &value, err_out));
  CHECK(UNTOUCHED(name) && UNTOUCHED(value));
  debpull_package_free(NULL);
  debpull_package_free(NULL);

  CHECK(debpull_package_list_len(NULL) == 0);
  CHECK(debpull_package_list_get(NULL, 0) == NULL);
  CHECK(debpull_package_list_get(fx.list, debpull_package_list_len(fx.list)) == NULL);
  CHECK(debpull_package_list_get(fx.list, SIZE_MAX) == NULL);
  debpull_package_list_free(NULL);
  debpull_package_list_free(NULL);
}

static void repository_options(void) {
  EXPECT(INVALID, "out (an output) is NULL", debpull_repository_options_new(NULL, err_out));
  const char *key = fx.secret_key;
  EXPECT(INVALID, "options is NULL",
         debpull_repository_options_set_signing_key(NULL, key, NULL, err_out));
  EXPECT(INVALID, "", /* a public key is no secret key */
         debpull_repository_options_set_signing_key(fx.ro, (const char *)fx.public_key, NULL,
                                                    err_out));
  EXPECT(INVALID, "options is NULL", debpull_repository_options_set_origin(NULL, "o", err_out));
  EXPECT(INVALID, "options is NULL", debpull_repository_options_set_label(NULL, "l", err_out));
  EXPECT(INVALID, "options is NULL",
         debpull_repository_options_set_description(NULL, "d", err_out));
  EXPECT(INVALID, "options is NULL", debpull_repository_options_set_valid_for(NULL, 60, err_out));
  const char *archs[] = {"amd64"};
  EXPECT(INVALID, "options is NULL",
         debpull_repository_options_set_default_architectures(NULL, archs, 1, err_out));
  EXPECT(INVALID, "options is NULL",
         debpull_repository_options_set_adopt_keys(NULL, fx.public_key, fx.public_len, err_out));
  EXPECT(INVALID, "options is NULL", debpull_repository_options_set_region(NULL, "r", err_out));
  EXPECT(INVALID, "options is NULL",
         debpull_repository_options_set_endpoint(NULL, "http://127.0.0.1:1", err_out));
  debpull_repository_options_free(NULL);
  debpull_repository_options_free(NULL);
}

static void on_progress(const DebpullProgress *progress, void *user_data) {
  int *calls = user_data;
  (*calls)++;
  CHECK(progress != NULL && progress->name != NULL);
}

static void repositories(void) {
  DebpullRepository *r = SENTINEL;
  EXPECT(INVALID, "options is NULL",
         debpull_repository_open(env("DEBPULL_TEST_REPO_URI"), NULL, &r, err_out));
  EXPECT(INVALID, "out (an output) is NULL",
         debpull_repository_open(env("DEBPULL_TEST_REPO_URI"), fx.repo_options, NULL, err_out));
  DebpullRepositoryOptions *keyless = NULL;
  OK(debpull_repository_options_new(&keyless, err_out));
  EXPECT(INVALID, "no signing key",
         debpull_repository_open(env("DEBPULL_TEST_REPO_URI"), keyless, &r, err_out));
  debpull_repository_options_free(keyless);
  /* fx.ro got every garbage its setters accepted (a region and endpoint for
   * a file:// URI among them): opening with it is refused, typed. */
  OK(debpull_repository_options_set_signing_key(fx.ro, fx.secret_key, "", err_out));
  EXPECT(INVALID, "", debpull_repository_open(env("DEBPULL_TEST_REPO_URI"), fx.ro, &r, err_out));
  EXPECT(ANY, NULL, debpull_repository_open("no-scheme", fx.repo_options, &r, err_out));
  CHECK(UNTOUCHED(r));

  const char *debs[] = {fx.deb};
  DebpullPublishReport *report = SENTINEL;
  EXPECT(INVALID, "repository is NULL",
         debpull_repository_publish(NULL, SUITE, "main", debs, 1, false, NULL, NULL, &report,
                                    err_out));
  EXPECT(INVALID, "out (an output) is NULL",
         debpull_repository_publish(fx.repo, SUITE, "main", debs, 1, false, NULL, NULL, NULL,
                                    err_out));
  const char *missing[] = {scratch("missing.deb")};
  EXPECT(DEBPULL_STATUS_IO, "missing.deb",
         debpull_repository_publish(fx.repo, SUITE, "main", missing, 1, false, NULL, NULL,
                                    &report, err_out));
  const char *corrupt[] = {env("DEBPULL_TEST_PUBLIC_KEY")};
  EXPECT(DEBPULL_STATUS_PARSE, "",
         debpull_repository_publish(fx.repo, SUITE, "main", corrupt, 1, false, NULL, NULL,
                                    &report, err_out));
  CHECK(UNTOUCHED(report));
  /* Callbacks may be NULL; with one, garbage user data is passed along. */
  report = NULL;
  OK(debpull_repository_publish(fx.repo, SUITE, "main", debs, 1, true, NULL, NULL, &report,
                                err_out));
  debpull_publish_report_free(report);
  int calls = 0;
  report = NULL;
  OK(debpull_repository_publish(fx.repo, SUITE, "main", debs, 1, false, on_progress, &calls,
                                &report, err_out));
  CHECK(calls > 0);
  CHECK(debpull_package_list_len(debpull_publish_report_unchanged(report)) == 1);
  debpull_publish_report_free(report);

  CHECK(debpull_publish_report_added(NULL) == NULL);
  CHECK(debpull_publish_report_unchanged(NULL) == NULL);
  CHECK(debpull_publish_report_replaced(NULL) == NULL);
  CHECK(debpull_publish_report_attempts(NULL) == 0);
  debpull_publish_report_free(NULL);
  debpull_publish_report_free(NULL);

  DebpullPackageList *list = SENTINEL;
  EXPECT(INVALID, "repository is NULL",
         debpull_repository_promote(NULL, PACKAGE, "1.0", SUITE, "production", &list, err_out));
  EXPECT(INVALID, "out (an output) is NULL",
         debpull_repository_promote(fx.repo, PACKAGE, "1.0", SUITE, "production", NULL, err_out));
  EXPECT(BAD_VERSION, "",
         debpull_repository_promote(fx.repo, PACKAGE, "a:b", SUITE, "production", &list,
                                    err_out));
  EXPECT(DEBPULL_STATUS_NOT_FOUND, "",
         debpull_repository_promote(fx.repo, PACKAGE, "1.0", "no-such-suite", "production",
                                    &list, err_out));
  EXPECT(INVALID, "repository is NULL",
         debpull_repository_remove(NULL, SUITE, PACKAGE, NULL, &list, err_out));
  EXPECT(INVALID, "out (an output) is NULL",
         debpull_repository_remove(fx.repo, SUITE, PACKAGE, NULL, NULL, err_out));
  EXPECT(INVALID, "repository is NULL", debpull_repository_prune(NULL, SUITE, 1, &list, err_out));
  EXPECT(INVALID, "out (an output) is NULL",
         debpull_repository_prune(fx.repo, SUITE, 1, NULL, err_out));
  EXPECT(INVALID, "repository is NULL", debpull_repository_list(NULL, SUITE, &list, err_out));
  EXPECT(INVALID, "out (an output) is NULL",
         debpull_repository_list(fx.repo, SUITE, NULL, err_out));
  EXPECT(DEBPULL_STATUS_NOT_FOUND, "",
         debpull_repository_list(fx.repo, "no-such-suite", &list, err_out));
  CHECK(UNTOUCHED(list));

  DebpullVerifyReport vr = verify_sentinel(), vr_before = verify_sentinel();
  EXPECT(INVALID, "repository is NULL",
         debpull_repository_verify(NULL, SUITE, NULL, 0, &vr, err_out));
  EXPECT(INVALID, "out (an output) is NULL",
         debpull_repository_verify(fx.repo, SUITE, NULL, 0, NULL, err_out));
  EXPECT(DEBPULL_STATUS_VERIFICATION, "",
         debpull_repository_verify(fx.repo, SUITE, fx.wrong_key, fx.wrong_len, &vr, err_out));
  CHECK(memcmp(&vr, &vr_before, sizeof vr) == 0);
  OK(debpull_repository_verify(fx.repo, SUITE, NULL, 0, &vr, err_out));
  CHECK(vr.packages == 1);

  DebpullGcReport gc, gc_before;
  memset(&gc, 0xab, sizeof gc);
  memset(&gc_before, 0xab, sizeof gc_before);
  EXPECT(INVALID, "repository is NULL", debpull_repository_gc(NULL, 0, &gc, err_out));
  EXPECT(INVALID, "out (an output) is NULL", debpull_repository_gc(fx.repo, 0, NULL, err_out));
  CHECK(memcmp(&gc, &gc_before, sizeof gc) == 0);
  debpull_repository_free(NULL);
  debpull_repository_free(NULL);
}

static void source_options(void) {
  EXPECT(INVALID, "out (an output) is NULL", debpull_source_options_new(NULL, err_out));
  EXPECT(INVALID, "options is NULL", debpull_source_options_set_suite(NULL, SUITE, err_out));
  EXPECT(INVALID, "options is NULL", debpull_source_options_set_component(NULL, "main", err_out));
  EXPECT(INVALID, "options is NULL",
         debpull_source_options_set_architecture(NULL, "amd64", err_out));
  EXPECT(INVALID, "options is NULL",
         debpull_source_options_set_trusted_keys(NULL, fx.public_key, fx.public_len, err_out));
  EXPECT(INVALID, "options is NULL",
         debpull_source_options_set_insecure_unsigned(NULL, true, err_out));
  EXPECT(INVALID, "options is NULL",
         debpull_source_options_set_state_dir(NULL, scratch("s"), err_out));
  EXPECT(INVALID, "options is NULL",
         debpull_source_options_set_admin_dir(NULL, env("DEBPULL_TEST_ADMIN"), err_out));
  EXPECT(INVALID, "options is NULL", debpull_source_options_set_region(NULL, "r", err_out));
  EXPECT(INVALID, "options is NULL",
         debpull_source_options_set_endpoint(NULL, "http://127.0.0.1:1", err_out));
  OK(debpull_source_options_set_insecure_unsigned(fx.so, true, err_out));
  OK(debpull_source_options_set_insecure_unsigned(fx.so, false, err_out));
  debpull_source_options_free(NULL);
  debpull_source_options_free(NULL);
}

static void sources(void) {
  DebpullSource *s = SENTINEL;
  EXPECT(INVALID, "options is NULL",
         debpull_source_open(env("DEBPULL_TEST_REPO_URI"), NULL, &s, err_out));
  EXPECT(INVALID, "out (an output) is NULL",
         debpull_source_open(env("DEBPULL_TEST_REPO_URI"), fx.source_options, NULL, err_out));
  DebpullSourceOptions *empty = NULL;
  OK(debpull_source_options_new(&empty, err_out));
  EXPECT(INVALID, "no suite", debpull_source_open(env("DEBPULL_TEST_REPO_URI"), empty, &s, err_out));
  debpull_source_options_free(empty);
  /* fx.so got every garbage its setters accepted: opening is typed. */
  EXPECT(ANY, NULL, debpull_source_open(env("DEBPULL_TEST_REPO_URI"), fx.so, &s, err_out));
  CHECK(UNTOUCHED(s));

  DebpullCheck *c = SENTINEL;
  EXPECT(INVALID, "source is NULL", debpull_source_check(NULL, PACKAGE, NULL, &c, err_out));
  EXPECT(INVALID, "out (an output) is NULL",
         debpull_source_check(fx.source, PACKAGE, NULL, NULL, err_out));
  EXPECT(DEBPULL_STATUS_NOT_FOUND, "", debpull_source_check(fx.source, PACKAGE, "9.9", &c, err_out));
  CHECK(UNTOUCHED(c));
  EXPECT(INVALID, "source is NULL", debpull_source_reset_rollback_floor(NULL, err_out));
  /* A package name becomes a path in the state directory: none escapes. */
  const char *hostile[] = {"../../../escape", "a/b", "a\nb", "/abs", ".."};
  for (size_t i = 0; i < sizeof hostile / sizeof hostile[0]; i++)
    EXPECT(INVALID, "not a valid package name",
           debpull_source_check(fx.source, hostile[i], NULL, &c, err_out));
  CHECK(UNTOUCHED(c));
  debpull_source_free(NULL);
  debpull_source_free(NULL);

  CHECK(debpull_check_package(NULL) == NULL);
  CHECK(debpull_check_installed(NULL) == NULL);
  CHECK(debpull_check_candidate(NULL) == NULL);
  CHECK(!debpull_check_update_available(NULL));
  CHECK(!debpull_check_repository_changed(NULL));
  CHECK(debpull_check_warning_count(NULL) == 0);
  CHECK(debpull_check_warning_at(NULL, 0) == NULL);
  CHECK(debpull_check_warning_at(fx.check, debpull_check_warning_count(fx.check)) == NULL);
  CHECK(debpull_check_warning_at(fx.check, SIZE_MAX) == NULL);
  debpull_check_free(NULL);
  debpull_check_free(NULL);
}

static void updater_options(void) {
  DebpullUpdaterOptions *o = SENTINEL;
  EXPECT(INVALID, "out (an output) is NULL", debpull_updater_options_new(PACKAGE, NULL, err_out));
  CHECK(UNTOUCHED(o));
  EXPECT(INVALID, "options is NULL", debpull_updater_options_set_installer(NULL, "dpkg", err_out));
  const char *argv[] = {"/bin/true"};
  EXPECT(INVALID, "options is NULL",
         debpull_updater_options_set_installer_command(NULL, argv, 1, err_out));
  EXPECT(INVALID, "options is NULL", debpull_updater_options_set_root(NULL, "/", err_out));
  EXPECT(INVALID, "options is NULL",
         debpull_updater_options_set_apt_config(NULL, "/etc/apt.conf", err_out));
  EXPECT(INVALID, "options is NULL",
         debpull_updater_options_set_policy(NULL, "upgrade-only", err_out));
  EXPECT(INVALID, "options is NULL", debpull_updater_options_set_pin(NULL, "1.0", err_out));
  EXPECT(INVALID, "options is NULL",
         debpull_updater_options_set_health_check(NULL, argv, 1, err_out));
  EXPECT(INVALID, "options is NULL",
         debpull_updater_options_set_health_timeout(NULL, 60, err_out));
  EXPECT(INVALID, "options is NULL",
         debpull_updater_options_set_install_timeout(NULL, 60, err_out));
  EXPECT(INVALID, "options is NULL", debpull_updater_options_set_lock_wait(NULL, 60, err_out));
  EXPECT(INVALID, "options is NULL", debpull_updater_options_set_lock_skip(NULL, err_out));
  EXPECT(INVALID, "options is NULL", debpull_updater_options_set_jitter(NULL, 0, err_out));
  OK(debpull_updater_options_set_lock_skip(fx.uo, err_out));
  debpull_updater_options_free(NULL);
  debpull_updater_options_free(NULL);
}

/* What the event callback saw. */
struct seen {
  int events;
};

static void on_event(const DebpullEvent *event, void *user_data) {
  struct seen *seen = user_data;
  seen->events++;
  CHECK(debpull_event_outcome(event) != NULL);
  CHECK(debpull_event_suite(event) != NULL);
  size_t count = debpull_event_warning_count(event);
  CHECK(debpull_event_warning_at(event, count) == NULL);
  CHECK(debpull_event_warning_at(event, SIZE_MAX) == NULL);
}

static void updaters(void) {
  DebpullUpdater *u = SENTINEL;
  EXPECT(INVALID, "source is NULL", debpull_updater_new(NULL, fx.updater_options, &u, err_out));
  EXPECT(INVALID, "options is NULL", debpull_updater_new(fx.source, NULL, &u, err_out));
  EXPECT(INVALID, "out (an output) is NULL",
         debpull_updater_new(fx.source, fx.updater_options, NULL, err_out));
  CHECK(UNTOUCHED(u));
  /* fx.uo got every garbage its setters accepted: an updater of it is fine
   * (nothing is checked before a run). */
  u = NULL;
  OK(debpull_updater_new(fx.source, fx.uo, &u, err_out));
  /* A run of it (the suite has the package): its installer, a 1 MiB
   * program name, cannot start; an outcome saying so, nothing installed. */
  DebpullOutcome *failed = NULL;
  OK(debpull_updater_update(u, NULL, NULL, &failed, err_out));
  CHECK(debpull_outcome_kind(failed) == DEBPULL_OUTCOME_KIND_FAILED);
  CHECK(debpull_outcome_error_status(failed) != DEBPULL_STATUS_OK);
  CHECK(debpull_outcome_error_status(failed) != DEBPULL_STATUS_INTERNAL);
  CHECK(debpull_outcome_installed(failed) == NULL);
  debpull_outcome_free(failed);
  debpull_updater_free(u);

  DebpullOutcome *outcome = SENTINEL;
  EXPECT(INVALID, "updater is NULL", debpull_updater_update(NULL, NULL, NULL, &outcome, err_out));
  EXPECT(INVALID, "out (an output) is NULL",
         debpull_updater_update(fx.updater, NULL, NULL, NULL, err_out));
  CHECK(UNTOUCHED(outcome));
  /* No callback (NULL), then one: the suite lacks the package, up to date. */
  outcome = NULL;
  OK(debpull_updater_update(fx.updater, NULL, NULL, &outcome, err_out));
  CHECK(debpull_outcome_kind(outcome) == DEBPULL_OUTCOME_KIND_UP_TO_DATE);
  debpull_outcome_free(outcome);
  struct seen seen = {0};
  outcome = NULL;
  OK(debpull_updater_update(fx.updater, on_event, &seen, &outcome, err_out));
  CHECK(seen.events == 1);
  debpull_outcome_free(outcome);
  debpull_updater_free(NULL);
  debpull_updater_free(NULL);

  CHECK(debpull_outcome_kind(NULL) == DEBPULL_OUTCOME_KIND_FAILED);
  CHECK(debpull_outcome_line(NULL) == NULL);
  CHECK(debpull_outcome_package(NULL) == NULL);
  CHECK(debpull_outcome_from(NULL) == NULL);
  CHECK(debpull_outcome_to(NULL) == NULL);
  CHECK(debpull_outcome_attempted(NULL) == NULL);
  CHECK(debpull_outcome_installed(NULL) == NULL);
  CHECK(debpull_outcome_candidate(NULL) == NULL);
  CHECK(debpull_outcome_error_status(NULL) == DEBPULL_STATUS_OK);
  CHECK(debpull_outcome_error_message(NULL) == NULL);
  debpull_outcome_free(NULL);
  debpull_outcome_free(NULL);

  CHECK(debpull_event_outcome(NULL) == NULL);
  CHECK(debpull_event_suite(NULL) == NULL);
  CHECK(debpull_event_hostname(NULL) == NULL);
  CHECK(debpull_event_started_unix(NULL) == 0);
  CHECK(debpull_event_duration_ms(NULL) == 0);
  CHECK(debpull_event_jitter_ms(NULL) == 0);
  CHECK(debpull_event_warning_count(NULL) == 0);
  CHECK(debpull_event_warning_at(NULL, 0) == NULL);
}

/* ---- notifications (debpull_notifier_*, debpull_message_*, SNS) -------- */

static DebpullStatus s_notifier_url(const void *s, size_t n) {
  (void)n;
  DebpullNotifier *out = SENTINEL;
  DebpullStatus st = debpull_notifier_new(S(s), 10, 3, &out, err_out);
  UNTOUCHED_OR_FREE(st, out, debpull_notifier_free);
  return st;
}
static DebpullStatus n_notifier_timeout(const void *arg, size_t n) {
  (void)arg;
  DebpullNotifier *out = SENTINEL;
  DebpullStatus st = debpull_notifier_new("http://127.0.0.1:1/hook", (uint64_t)n, 3, &out, err_out);
  UNTOUCHED_OR_FREE(st, out, debpull_notifier_free);
  return st;
}
static DebpullStatus n_notifier_retries(const void *arg, size_t n) {
  (void)arg;
  DebpullNotifier *out = SENTINEL;
  DebpullStatus st =
      debpull_notifier_new("http://127.0.0.1:1/hook", 10, (uint32_t)n, &out, err_out);
  UNTOUCHED_OR_FREE(st, out, debpull_notifier_free);
  return st;
}
static DebpullStatus b_sns(const void *data, size_t len) {
  DebpullMessage *out = SENTINEL;
  DebpullStatus st = debpull_sns_to_slack(B(data), len, &out, err_out);
  UNTOUCHED_OR_FREE(st, out, debpull_message_free);
  return st;
}

static void notifications(void) {
  static const struct string_param strings[] = {
      {"debpull_notifier_new", "webhook_url", s_notifier_url, REFUSE, NULL, REFUSE, NULL, INVALID},
  };
  static const struct number_param numbers[] = {
      {"debpull_notifier_new", "timeout_seconds", n_notifier_timeout, INVALID,
       "webhook timeout 0", INVALID, "at most an hour (3600 s)"},
      {"debpull_notifier_new", "retries", n_notifier_retries, DEBPULL_STATUS_OK, NULL, INVALID,
       "at most 10"},
  };
  /* NULL or nothing: not JSON; garbage: not UTF-8, or not JSON. */
  static const struct buffer_param buffers[] = {
      {"debpull_sns_to_slack", "json", b_sns, DEBPULL_STATUS_PARSE, DEBPULL_STATUS_PARSE,
       "not JSON", ANY},
  };
  string_garbage(&strings[0]);
  for (size_t i = 0; i < sizeof numbers / sizeof numbers[0]; i++)
    number_garbage(&numbers[i]);
  buffer_garbage(&buffers[0]);

  DebpullNotifier *n = SENTINEL;
  EXPECT(INVALID, "out (an output) is NULL",
         debpull_notifier_new("http://127.0.0.1:1/hook", 10, 3, NULL, err_out));
  EXPECT(INVALID, "must not hold credentials",
         debpull_notifier_new("http://user:pw@127.0.0.1:1/hook", 10, 3, &n, err_out));
  CHECK(UNTOUCHED(n));
  n = NULL;
  OK(debpull_notifier_new("http://127.0.0.1:1/hook", 1, 0, &n, err_out));
  EXPECT(INVALID, "notifier is NULL", debpull_notifier_set_warnings(NULL, false, err_out));
  OK(debpull_notifier_set_warnings(n, false, err_out));
  const char *sns = "{\"Type\": \"Notification\", \"Message\": \"{\\\"AlarmName\\\": \\\"a\\\", "
                    "\\\"NewStateValue\\\": \\\"OK\\\", \\\"NewStateReason\\\": \\\"r\\\"}\"}";
  DebpullMessage *m = SENTINEL;
  EXPECT(INVALID, "out (an output) is NULL",
         debpull_sns_to_slack(B(sns), strlen(sns), NULL, err_out));
  CHECK(UNTOUCHED(m));
  m = NULL;
  OK(debpull_sns_to_slack(B(sns), strlen(sns), &m, err_out));
  CHECK(debpull_message_json(m) != NULL && debpull_message_headline(m) != NULL);
  EXPECT(INVALID, "notifier is NULL", debpull_notifier_post(NULL, m, err_out));
  EXPECT(INVALID, "message is NULL", debpull_notifier_post(n, NULL, err_out));
  /* Nothing listens on port 1: a storage error, counted. */
  EXPECT(DEBPULL_STATUS_STORAGE, "(1 attempt)", debpull_notifier_post(n, m, err_out));
  CHECK(debpull_notifier_failed(n) == 2 && debpull_notifier_sent(n) == 0);
  DebpullError *last = debpull_notifier_last_error(n);
  CHECK(last != NULL && debpull_error_status(last) == DEBPULL_STATUS_STORAGE);
  debpull_error_free(last);
  CHECK(debpull_notifier_last_error(NULL) == NULL);

  DebpullRepositoryOptions *ro = NULL;
  OK(debpull_repository_options_new(&ro, err_out));
  EXPECT(INVALID, "options is NULL", debpull_repository_options_set_notifier(NULL, n, err_out));
  EXPECT(INVALID, "notifier is NULL", debpull_repository_options_set_notifier(ro, NULL, err_out));
  OK(debpull_repository_options_set_notifier(ro, n, err_out));
  debpull_repository_options_free(ro);
  DebpullUpdaterOptions *uo = NULL;
  OK(debpull_updater_options_new("app", &uo, err_out));
  EXPECT(INVALID, "options is NULL", debpull_updater_options_set_notifier(NULL, n, err_out));
  EXPECT(INVALID, "notifier is NULL", debpull_updater_options_set_notifier(uo, NULL, err_out));
  OK(debpull_updater_options_set_notifier(uo, n, err_out));
  debpull_updater_options_free(uo);

  CHECK(debpull_notifier_sent(NULL) == 0 && debpull_notifier_failed(NULL) == 0);
  CHECK(debpull_message_json(NULL) == NULL && debpull_message_headline(NULL) == NULL);
  debpull_message_free(m);
  debpull_notifier_free(n);
  debpull_message_free(NULL);
  debpull_message_free(NULL);
  debpull_notifier_free(NULL);
  debpull_notifier_free(NULL);
}

/* ---- first-boot user-data (debpull_user_data_*) ------------------------ */

/* Fresh options for each garbage call (a setter's garbage may be accepted
 * and refused only by debpull_user_data_generate). */
static DebpullUserDataOptions *ud_options(void) {
  DebpullUserDataOptions *o = NULL;
  OK(debpull_user_data_options_new("file:///srv/repo", PACKAGE, fx.public_key, fx.public_len,
                                   &o, err_out));
  return o;
}
static DebpullStatus ud_new(const char *repository, const char *package, const uint8_t *key,
                            size_t len) {
  DebpullUserDataOptions *o = SENTINEL;
  DebpullStatus st = debpull_user_data_options_new(repository, package, key, len, &o, err_out);
  UNTOUCHED_OR_FREE(st, o, debpull_user_data_options_free);
  return st;
}
static DebpullStatus s_ud_repository(const void *s, size_t n) {
  (void)n;
  return ud_new(S(s), PACKAGE, fx.public_key, fx.public_len);
}
static DebpullStatus s_ud_package(const void *s, size_t n) {
  (void)n;
  return ud_new("file:///srv/repo", S(s), fx.public_key, fx.public_len);
}
#define UD_SETTER(fn_name, setter)                             \
  static DebpullStatus fn_name(const void *s, size_t n) {     \
    (void)n;                                                  \
    DebpullUserDataOptions *o = ud_options();                 \
    DebpullStatus st = setter(o, S(s), err_out);              \
    debpull_user_data_options_free(o);                        \
    return st;                                                \
  }
UD_SETTER(s_ud_suite, debpull_user_data_options_set_suite)
UD_SETTER(s_ud_component, debpull_user_data_options_set_component)
UD_SETTER(s_ud_region, debpull_user_data_options_set_region)
UD_SETTER(s_ud_endpoint, debpull_user_data_options_set_endpoint)
UD_SETTER(s_ud_tool_package, debpull_user_data_options_set_tool_package)
UD_SETTER(s_ud_installer, debpull_user_data_options_set_installer)
UD_SETTER(s_ud_policy, debpull_user_data_options_set_policy)
UD_SETTER(s_ud_schedule, debpull_user_data_options_set_schedule)
static DebpullStatus s_ud_slack_webhook(const void *s, size_t n) {
  (void)n;
  DebpullUserDataOptions *o = ud_options();
  DebpullStatus st = debpull_user_data_options_set_slack_webhook(o, S(s), 10, 3, err_out);
  debpull_user_data_options_free(o);
  return st;
}

/* Setters store what they get; debpull_user_data_generate checks it. */
static const struct string_param USER_DATA_STRING_PARAMS[] = {
    {"debpull_user_data_options_new", "repository", s_ud_repository, REFUSE, NULL, REFUSE, NULL,
     DEBPULL_STATUS_OK},
    {"debpull_user_data_options_new", "package", s_ud_package, REFUSE, NULL, REFUSE, NULL,
     DEBPULL_STATUS_OK},
    {"debpull_user_data_options_set_suite", "suite", s_ud_suite, REFUSE, NULL, DEBPULL_STATUS_OK,
     NULL, DEBPULL_STATUS_OK},
    {"debpull_user_data_options_set_component", "component", s_ud_component, REFUSE, NULL,
     DEBPULL_STATUS_OK, NULL, DEBPULL_STATUS_OK},
    {"debpull_user_data_options_set_region", "region", s_ud_region, REFUSE, NULL,
     DEBPULL_STATUS_OK, NULL, DEBPULL_STATUS_OK},
    {"debpull_user_data_options_set_endpoint", "endpoint", s_ud_endpoint, REFUSE, NULL,
     DEBPULL_STATUS_OK, NULL, DEBPULL_STATUS_OK},
    {"debpull_user_data_options_set_tool_package", "tool_package", s_ud_tool_package, REFUSE,
     NULL, DEBPULL_STATUS_OK, NULL, DEBPULL_STATUS_OK},
    {"debpull_user_data_options_set_installer", "installer", s_ud_installer, REFUSE, NULL,
     INVALID, "installer \"\" is not known", INVALID},
    {"debpull_user_data_options_set_policy", "policy", s_ud_policy, REFUSE, NULL, INVALID,
     "policy \"\" is not known", INVALID},
    {"debpull_user_data_options_set_schedule", "schedule", s_ud_schedule, REFUSE, NULL, INVALID,
     "schedule \"\" is not known", INVALID},
    {"debpull_user_data_options_set_slack_webhook", "url", s_ud_slack_webhook, REFUSE, NULL,
     REFUSE, NULL, DEBPULL_STATUS_OK},
};

static DebpullStatus b_ud_key(const void *data, size_t len) {
  return ud_new("file:///srv/repo", PACKAGE, B(data), len);
}
/* Stored as given: a key that is not one is refused by generate (below). */
static const struct buffer_param USER_DATA_BUFFER_PARAMS[] = {
    {"debpull_user_data_options_new", "trusted_key", b_ud_key, DEBPULL_STATUS_OK,
     DEBPULL_STATUS_OK, NULL, DEBPULL_STATUS_OK},
};

static DebpullStatus a_ud_installer_command(const void *items, size_t count) {
  DebpullUserDataOptions *o = ud_options();
  DebpullStatus st = debpull_user_data_options_set_installer_command(o, A(items), count, err_out);
  debpull_user_data_options_free(o);
  return st;
}
static const struct array_param USER_DATA_ARRAY_PARAMS[] = {
    {"debpull_user_data_options_set_installer_command", "argv", a_ud_installer_command,
     "argv is empty", DEBPULL_STATUS_OK, NULL},
};

static DebpullStatus n_ud_tries(const void *arg, size_t n) {
  (void)arg;
  DebpullUserDataOptions *o = ud_options();
  DebpullStatus st = debpull_user_data_options_set_retries(o, (uint32_t)n, 5, err_out);
  debpull_user_data_options_free(o);
  return st;
}
static DebpullStatus n_ud_delay(const void *arg, size_t n) {
  (void)arg;
  DebpullUserDataOptions *o = ud_options();
  DebpullStatus st = debpull_user_data_options_set_retries(o, 3, (uint32_t)n, err_out);
  debpull_user_data_options_free(o);
  return st;
}
static DebpullStatus n_ud_notify_timeout(const void *arg, size_t n) {
  (void)arg;
  DebpullUserDataOptions *o = ud_options();
  DebpullStatus st = debpull_user_data_options_set_slack_webhook(
      o, "https://hooks.slack.com/services/T/B/x", (uint32_t)n, 3, err_out);
  debpull_user_data_options_free(o);
  return st;
}
static DebpullStatus n_ud_notify_retries(const void *arg, size_t n) {
  (void)arg;
  DebpullUserDataOptions *o = ud_options();
  DebpullStatus st = debpull_user_data_options_set_slack_webhook(
      o, "https://hooks.slack.com/services/T/B/x", 10, (uint32_t)n, err_out);
  debpull_user_data_options_free(o);
  return st;
}
static DebpullStatus n_ud_jitter(const void *arg, size_t n) {
  (void)arg;
  DebpullUserDataOptions *o = ud_options();
  DebpullStatus st = debpull_user_data_options_set_jitter(o, (uint32_t)n, err_out);
  debpull_user_data_options_free(o);
  return st;
}
static const struct number_param USER_DATA_NUMBER_PARAMS[] = {
    {"debpull_user_data_options_set_jitter", "seconds", n_ud_jitter, DEBPULL_STATUS_OK, NULL,
     INVALID, "jitter"},
    {"debpull_user_data_options_set_slack_webhook", "timeout_seconds", n_ud_notify_timeout, INVALID,
     "slack webhook", INVALID, "slack webhook"},
    {"debpull_user_data_options_set_slack_webhook", "retries", n_ud_notify_retries,
     DEBPULL_STATUS_OK, NULL, INVALID, "slack webhook"},
    {"debpull_user_data_options_set_retries", "tries", n_ud_tries, INVALID, "retries", INVALID,
     "retries"},
    {"debpull_user_data_options_set_retries", "delay_seconds", n_ud_delay, DEBPULL_STATUS_OK,
     NULL, INVALID, "retries"},
};

static void user_data(void) {
  for (size_t i = 0; i < sizeof USER_DATA_STRING_PARAMS / sizeof USER_DATA_STRING_PARAMS[0]; i++)
    string_garbage(&USER_DATA_STRING_PARAMS[i]);
  for (size_t i = 0; i < sizeof USER_DATA_BUFFER_PARAMS / sizeof USER_DATA_BUFFER_PARAMS[0]; i++)
    buffer_garbage(&USER_DATA_BUFFER_PARAMS[i]);
  for (size_t i = 0; i < sizeof USER_DATA_ARRAY_PARAMS / sizeof USER_DATA_ARRAY_PARAMS[0]; i++)
    array_garbage(&USER_DATA_ARRAY_PARAMS[i]);
  for (size_t i = 0; i < sizeof USER_DATA_NUMBER_PARAMS / sizeof USER_DATA_NUMBER_PARAMS[0]; i++)
    number_garbage(&USER_DATA_NUMBER_PARAMS[i]);

  DebpullUserDataOptions *o = SENTINEL;
  EXPECT(INVALID, "out (an output) is NULL",
         debpull_user_data_options_new("file:///srv/repo", PACKAGE, fx.public_key, fx.public_len,
                                       NULL, err_out));
  CHECK(UNTOUCHED(o));
  const char *argv[] = {"/bin/true"};
  EXPECT(INVALID, "options is NULL", debpull_user_data_options_set_suite(NULL, SUITE, err_out));
  EXPECT(INVALID, "options is NULL",
         debpull_user_data_options_set_component(NULL, "main", err_out));
  EXPECT(INVALID, "options is NULL", debpull_user_data_options_set_region(NULL, "r", err_out));
  EXPECT(INVALID, "options is NULL",
         debpull_user_data_options_set_endpoint(NULL, "http://127.0.0.1:1", err_out));
  EXPECT(INVALID, "options is NULL",
         debpull_user_data_options_set_tool_package(NULL, "tool", err_out));
  EXPECT(INVALID, "options is NULL",
         debpull_user_data_options_set_installer(NULL, "dpkg", err_out));
  EXPECT(INVALID, "options is NULL",
         debpull_user_data_options_set_policy(NULL, "upgrade-only", err_out));
  EXPECT(INVALID, "options is NULL",
         debpull_user_data_options_set_schedule(NULL, "cron", err_out));
  EXPECT(INVALID, "options is NULL",
         debpull_user_data_options_set_health_check(NULL, argv, 1, err_out));
  EXPECT(INVALID, "options is NULL",
         debpull_user_data_options_set_installer_command(NULL, argv, 1, err_out));
  EXPECT(INVALID, "options is NULL", debpull_user_data_options_set_retries(NULL, 3, 5, err_out));
  EXPECT(INVALID, "options is NULL", debpull_user_data_options_set_jitter(NULL, 20, err_out));

  /* The health check: huge counts, NULLs, bad UTF-8; 0 removes it. */
  o = ud_options();
  const char *two[] = {"a", "b"};
  EXPECT(LIMIT, "argv: ", debpull_user_data_options_set_health_check(o, two, SIZE_MAX, err_out));
  EXPECT(INVALID, "argv is NULL with a count of 2",
         debpull_user_data_options_set_health_check(o, NULL, 2, err_out));
  const char *with_null[] = {"a", NULL};
  EXPECT(INVALID, "argv[1] is NULL",
         debpull_user_data_options_set_health_check(o, with_null, 2, err_out));
  const char *bad[] = {"a", BAD_UTF8[0]};
  EXPECT(INVALID, "argv[1] is not valid UTF-8",
         debpull_user_data_options_set_health_check(o, bad, 2, err_out));
  OK(debpull_user_data_options_set_health_check(o, NULL, 0, err_out));

  /* generate: NULLs, then garbage stored by the setters is refused, typed. */
  DebpullUserData *u = SENTINEL;
  EXPECT(INVALID, "options is NULL", debpull_user_data_generate(NULL, &u, err_out));
  EXPECT(INVALID, "out (an output) is NULL", debpull_user_data_generate(o, NULL, err_out));
  CHECK(UNTOUCHED(u));
  OK(debpull_user_data_options_set_suite(o, long_string, err_out));
  EXPECT(INVALID, "suite", debpull_user_data_generate(o, &u, err_out));
  OK(debpull_user_data_options_set_suite(o, "", err_out));
  EXPECT(INVALID, "suite", debpull_user_data_generate(o, &u, err_out));
  OK(debpull_user_data_options_set_suite(o, SUITE, err_out));
  OK(debpull_user_data_options_set_health_check(o, two, 2, err_out));
  const char *blank[] = {""};
  OK(debpull_user_data_options_set_installer_command(o, blank, 1, err_out));
  EXPECT(INVALID, "installer command", debpull_user_data_generate(o, &u, err_out));
  OK(debpull_user_data_options_set_installer(o, "dpkg", err_out));
  OK(debpull_user_data_options_set_region(o, "eu-west-1", err_out));
  EXPECT(INVALID, "only to s3://", debpull_user_data_generate(o, &u, err_out));
  CHECK(UNTOUCHED(u));
  debpull_user_data_options_free(o);
  o = NULL;
  OK(debpull_user_data_options_new("file:///srv/repo", PACKAGE, fx.wrong_key, fx.wrong_len / 2,
                                   &o, err_out));
  EXPECT(DEBPULL_STATUS_PARSE, "trusted key", debpull_user_data_generate(o, &u, err_out));
  CHECK(UNTOUCHED(u));
  debpull_user_data_options_free(o);
  o = ud_options();
  OK(debpull_user_data_generate(o, &u, err_out));
  CHECK(debpull_user_data_len(u) == strlen(debpull_user_data_text(u)));
  debpull_user_data_free(u);
  debpull_user_data_options_free(o);

  CHECK(debpull_user_data_text(NULL) == NULL);
  CHECK(debpull_user_data_len(NULL) == 0);
  debpull_user_data_free(NULL);
  debpull_user_data_free(NULL);
  debpull_user_data_options_free(NULL);
  debpull_user_data_options_free(NULL);
}

/* ---- staged rollout (issue 8) ----------------------------------------- */

/* Percentages are optional inputs: a pointer to the value, NULL for none. */
static const uint8_t FIFTY = 50, ZERO = 0, HUNDRED = 100, OVER = 101, MAX8 = UINT8_MAX;

static DebpullStatus phase_string(const char *suite, const char *name, const char *version) {
  DebpullPackageList *list = SENTINEL;
  DebpullStatus st = debpull_repository_phase(fx.repo, suite, name, version, 50, &list, err_out);
  UNTOUCHED_OR_FREE(st, list, debpull_package_list_free);
  return st;
}

static DebpullStatus promote_phased_string(const char *name, const char *version,
                                           const char *from, const char *to) {
  DebpullPromoteReport *report = SENTINEL;
  DebpullStatus st =
      debpull_repository_promote_phased(fx.repo, name, version, from, to, &FIFTY, &report,
                                        err_out);
  UNTOUCHED_OR_FREE(st, report, debpull_promote_report_free);
  return st;
}

static DebpullStatus rollback_string(const char *suite, const char *name, const char *version) {
  DebpullPromoteReport *report = SENTINEL;
  DebpullStatus st = debpull_repository_rollback(fx.repo, suite, name, version, &report, err_out);
  UNTOUCHED_OR_FREE(st, report, debpull_promote_report_free);
  return st;
}

static void phased(void) {
  const char *debs[] = {fx.deb};
  DebpullPublishReport *report = SENTINEL;
  EXPECT(INVALID, "repository is NULL",
         debpull_repository_publish_phased(NULL, SUITE, "main", debs, 1, false, &FIFTY, NULL, NULL,
                                           &report, err_out));
  EXPECT(INVALID, "suite is NULL",
         debpull_repository_publish_phased(fx.repo, NULL, "main", debs, 1, false, &FIFTY, NULL, NULL,
                                           &report, err_out));
  EXPECT(INVALID, "component is empty",
         debpull_repository_publish_phased(fx.repo, SUITE, "", debs, 1, false, &FIFTY, NULL, NULL,
                                           &report, err_out));
  EXPECT(INVALID, "debs is NULL",
         debpull_repository_publish_phased(fx.repo, SUITE, "main", NULL, 1, false, &FIFTY, NULL,
                                           NULL, &report, err_out));
  EXPECT(INVALID, "out (an output) is NULL",
         debpull_repository_publish_phased(fx.repo, SUITE, "main", debs, 1, false, &FIFTY, NULL,
                                           NULL, NULL, err_out));
  EXPECT(INVALID, "255",
         debpull_repository_publish_phased(fx.repo, SUITE, "main", debs, 1, false, &MAX8, NULL,
                                           NULL, &report, err_out));
  EXPECT(INVALID, "101",
         debpull_repository_publish_phased(fx.repo, SUITE, "main", debs, 1, false, &OVER, NULL,
                                           NULL, &report, err_out));
  CHECK(UNTOUCHED(report));
  /* 0 and 100 are valid: the identical package is re-phased, then completed. */
  report = NULL;
  OK(debpull_repository_publish_phased(fx.repo, SUITE, "main", debs, 1, false, &ZERO, NULL, NULL,
                                       &report, err_out));
  CHECK(debpull_package_list_len(debpull_publish_report_rephased(report)) == 1);
  debpull_publish_report_free(report);
  report = NULL;
  OK(debpull_repository_publish_phased(fx.repo, SUITE, "main", debs, 1, false, &HUNDRED, NULL, NULL,
                                       &report, err_out));
  CHECK(debpull_package_list_len(debpull_publish_report_rephased(report)) == 1);
  debpull_publish_report_free(report);
  CHECK(debpull_publish_report_rephased(NULL) == NULL);

  DebpullPromoteReport *promoted = SENTINEL;
  EXPECT(INVALID, "repository is NULL",
         debpull_repository_promote_phased(NULL, PACKAGE, "1.0", SUITE, "production", &FIFTY,
                                           &promoted, err_out));
  EXPECT(INVALID, "out (an output) is NULL",
         debpull_repository_promote_phased(fx.repo, PACKAGE, "1.0", SUITE, "production", &FIFTY,
                                           NULL, err_out));
  EXPECT(INVALID, "255",
         debpull_repository_promote_phased(fx.repo, PACKAGE, "1.0", SUITE, "production", &MAX8,
                                           &promoted, err_out));
  EXPECT(BAD_VERSION, "",
         debpull_repository_promote_phased(fx.repo, PACKAGE, "a:b", SUITE, "production", &FIFTY,
                                           &promoted, err_out));
  EXPECT(DEBPULL_STATUS_NOT_FOUND, "",
         debpull_repository_promote_phased(fx.repo, PACKAGE, "1.0", "no-such-suite",
                                           "production", NULL, &promoted,
                                           err_out));
  CHECK(UNTOUCHED(promoted));
  EXPECT(INVALID, "repository is NULL",
         debpull_repository_rollback(NULL, "production", PACKAGE, "1.0", &promoted, err_out));
  EXPECT(INVALID, "out (an output) is NULL",
         debpull_repository_rollback(fx.repo, "production", PACKAGE, "1.0", NULL, err_out));
  EXPECT(BAD_VERSION, "",
         debpull_repository_rollback(fx.repo, "production", PACKAGE, "a:b", &promoted, err_out));
  EXPECT(DEBPULL_STATUS_NOT_FOUND, "",
         debpull_repository_rollback(fx.repo, "no-such-suite", PACKAGE, "1.0", &promoted,
                                     err_out));
  CHECK(UNTOUCHED(promoted));
  CHECK(debpull_promote_report_added(NULL) == NULL);
  CHECK(debpull_promote_report_demoted(NULL) == NULL);
  CHECK(debpull_promote_report_rephased(NULL) == NULL);
  CHECK(debpull_promote_report_attempts(NULL) == 0);
  debpull_promote_report_free(NULL);
  debpull_promote_report_free(NULL);

  DebpullPackageList *list = SENTINEL;
  EXPECT(INVALID, "repository is NULL",
         debpull_repository_phase(NULL, SUITE, PACKAGE, "1.0", 50, &list, err_out));
  EXPECT(INVALID, "out (an output) is NULL",
         debpull_repository_phase(fx.repo, SUITE, PACKAGE, "1.0", 50, NULL, err_out));
  EXPECT(INVALID, "4294967295",
         debpull_repository_phase(fx.repo, SUITE, PACKAGE, "1.0", UINT32_MAX, &list, err_out));
  EXPECT(DEBPULL_STATUS_NOT_FOUND, "",
         debpull_repository_phase(fx.repo, "no-such-suite", PACKAGE, "1.0", 0, &list, err_out));
  CHECK(UNTOUCHED(list));

  /* Every string parameter: NULL, "", invalid UTF-8 and 1 MiB. */
  const char *names[] = {"suite is NULL", "name is NULL", "version is NULL"};
  EXPECT(INVALID, names[0], phase_string(NULL, PACKAGE, "1.0"));
  EXPECT(INVALID, names[1], phase_string(SUITE, NULL, "1.0"));
  EXPECT(INVALID, names[2], phase_string(SUITE, PACKAGE, NULL));
  EXPECT(INVALID, "suite is empty", phase_string("", PACKAGE, "1.0"));
  EXPECT(INVALID, "name is empty", phase_string(SUITE, "", "1.0"));
  EXPECT(INVALID, "version is empty", phase_string(SUITE, PACKAGE, ""));
  EXPECT(ANY, NULL, phase_string(long_string, PACKAGE, "1.0"));
  EXPECT(ANY, NULL, phase_string(SUITE, long_string, "1.0"));
  EXPECT(ANY, NULL, phase_string(SUITE, PACKAGE, long_string));
  EXPECT(INVALID, "name is NULL", promote_phased_string(NULL, "1.0", SUITE, "production"));
  EXPECT(INVALID, "version is NULL", promote_phased_string(PACKAGE, NULL, SUITE, "production"));
  EXPECT(INVALID, "from is empty", promote_phased_string(PACKAGE, "1.0", "", "production"));
  EXPECT(INVALID, "to is empty", promote_phased_string(PACKAGE, "1.0", SUITE, ""));
  EXPECT(ANY, NULL, promote_phased_string(PACKAGE, "1.0", SUITE, long_string));
  EXPECT(INVALID, "suite is NULL", rollback_string(NULL, PACKAGE, "1.0"));
  EXPECT(INVALID, "name is NULL", rollback_string(SUITE, NULL, "1.0"));
  EXPECT(INVALID, "version is empty", rollback_string(SUITE, PACKAGE, ""));
  EXPECT(ANY, NULL, rollback_string(long_string, PACKAGE, "1.0"));
  EXPECT(ANY, NULL, rollback_string(SUITE, long_string, "1.0"));
  for (size_t i = 0; i < BAD_UTF8_COUNT; i++) {
    EXPECT(INVALID, "suite is not valid UTF-8", phase_string(BAD_UTF8[i], PACKAGE, "1.0"));
    EXPECT(INVALID, "version is not valid UTF-8", phase_string(SUITE, PACKAGE, BAD_UTF8[i]));
    EXPECT(INVALID, "to is not valid UTF-8",
           promote_phased_string(PACKAGE, "1.0", SUITE, BAD_UTF8[i]));
    EXPECT(INVALID, "name is not valid UTF-8", rollback_string(SUITE, BAD_UTF8[i], "1.0"));
    EXPECT(INVALID, "id is not valid UTF-8",
           debpull_source_options_set_machine_id(fx.so, BAD_UTF8[i], err_out));
  }

  EXPECT(INVALID, "options is NULL",
         debpull_source_options_set_machine_id(NULL, "3d1219c7c4c5404aaa1f6d2a48adfda4",
                                               err_out));
  EXPECT(INVALID, "id is NULL", debpull_source_options_set_machine_id(fx.so, NULL, err_out));
  EXPECT(INVALID, "32 hexadecimal digits",
         debpull_source_options_set_machine_id(fx.so, "", err_out));
  EXPECT(INVALID, "32 hexadecimal digits",
         debpull_source_options_set_machine_id(fx.so, long_string, err_out));
  OK(debpull_source_options_set_machine_id(fx.so, "3d1219c7c4c5404aaa1f6d2a48adfda4", err_out));

  CHECK(debpull_check_deferred_version(NULL) == NULL);
  CHECK(debpull_check_deferred_percentage(NULL) == 100);
  CHECK(debpull_check_deferred_version(fx.check) == NULL);
  CHECK(debpull_check_deferred_percentage(fx.check) == 100);
  CHECK(debpull_outcome_deferred_version(NULL) == NULL);
  CHECK(debpull_outcome_deferred_percentage(NULL) == 100);
}

int main(void) {
  fixture_new();
  for (size_t i = 0; i < sizeof STRING_PARAMS / sizeof STRING_PARAMS[0]; i++)
    string_garbage(&STRING_PARAMS[i]);
  for (size_t i = 0; i < sizeof BUFFER_PARAMS / sizeof BUFFER_PARAMS[0]; i++)
    buffer_garbage(&BUFFER_PARAMS[i]);
  for (size_t i = 0; i < sizeof ARRAY_PARAMS / sizeof ARRAY_PARAMS[0]; i++)
    array_garbage(&ARRAY_PARAMS[i]);
  for (size_t i = 0; i < sizeof NUMBER_PARAMS / sizeof NUMBER_PARAMS[0]; i++)
    number_garbage(&NUMBER_PARAMS[i]);
  errors_and_library();
  versions();
  debs();
  packages();
  repository_options();
  repositories();
  source_options();
  sources();
  updater_options();
  updaters();
  notifications();
  user_data();
  phased();
  fixture_free();
  return check_summary("garbage");
}
