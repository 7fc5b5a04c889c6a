/* Updaters: options, update runs with dpkg into the harness's dpkg root, the
 * outcome and the event, and every error path. Two phases, the harness
 * publishing between them and checking with dpkg-query after each:
 *   updater install VERSION          (the suite has VERSION, nothing installed)
 *   updater rollback NEW INSTALLED   (NEW published; its health check fails) */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include "check.h"
#include "fixture.h"

/* The local repository, trusting the key in the file `key_path`, with its
 * own state directory `state`. */
static DebpullSource *open_source(const char *key_path, const char *state) {
  DebpullSourceOptions *o = NULL;
  CHECK_OK(debpull_source_options_new(&o, &err));
  CHECK_OK(debpull_source_options_set_suite(o, env("DEBPULL_TEST_SUITE"), &err));
  CHECK_OK(debpull_source_options_set_architecture(o, "amd64", &err));
  CHECK_OK(debpull_source_options_set_admin_dir(o, env("DEBPULL_TEST_ADMIN"), &err));
  CHECK_OK(debpull_source_options_set_state_dir(o, state, &err));
  size_t len = 0;
  char *keys = read_file(key_path, &len);
  CHECK_OK(debpull_source_options_set_trusted_keys(o, (const uint8_t *)keys, len, &err));
  free(keys);
  DebpullSource *s = NULL;
  CHECK_OK(debpull_source_open(env("DEBPULL_TEST_FILE_URI"), o, &s, &err));
  debpull_source_options_free(o);
  return s;
}

/* dpkg into the harness's root. */
static DebpullUpdaterOptions *dpkg_options(void) {
  DebpullUpdaterOptions *o = NULL;
  CHECK_OK(debpull_updater_options_new(env("DEBPULL_TEST_PACKAGE"), &o, &err));
  CHECK_OK(debpull_updater_options_set_installer(o, "dpkg", &err));
  CHECK_OK(debpull_updater_options_set_root(o, env("DEBPULL_TEST_ROOT"), &err));
  CHECK_OK(debpull_updater_options_set_policy(o, "upgrade-only", &err));
  CHECK_OK(debpull_updater_options_set_install_timeout(o, 600, &err));
  CHECK_OK(debpull_updater_options_set_lock_wait(o, 60, &err));
  CHECK_OK(debpull_updater_options_set_jitter(o, 0, &err));
  return o;
}

/* What the event callback saw. */
struct seen {
  int calls;
  int on_caller_thread;
  pthread_t caller;
  char line[1024];
  DebpullOutcomeKind kind;
  DebpullStatus error_status;
  char suite[256];
  int has_hostname;
  uint64_t started_unix, duration_ms, jitter_ms;
  size_t warnings;
  int warning_past_end_null;
};

static void on_event(const DebpullEvent *event, void *user_data) {
  struct seen *seen = user_data;
  seen->calls++;
  seen->on_caller_thread = pthread_equal(pthread_self(), seen->caller);
  const DebpullOutcome *outcome = debpull_event_outcome(event);
  const char *line = debpull_outcome_line(outcome);
  snprintf(seen->line, sizeof seen->line, "%s", line ? line : "(null)");
  seen->kind = debpull_outcome_kind(outcome);
  seen->error_status = debpull_outcome_error_status(outcome);
  const char *suite = debpull_event_suite(event);
  snprintf(seen->suite, sizeof seen->suite, "%s", suite ? suite : "(null)");
  const char *hostname = debpull_event_hostname(event);
  seen->has_hostname = hostname != NULL && hostname[0] != '\0';
  seen->started_unix = debpull_event_started_unix(event);
  seen->duration_ms = debpull_event_duration_ms(event);
  seen->jitter_ms = debpull_event_jitter_ms(event);
  seen->warnings = debpull_event_warning_count(event);
  seen->warning_past_end_null = debpull_event_warning_at(event, seen->warnings) == NULL;
  for (size_t i = 0; i < seen->warnings; i++) {
    CHECK(debpull_event_warning_at(event, i) != NULL);
  }
}

/* Runs `u` with the callback; checks the event against the outcome. */
static DebpullOutcome *run(DebpullUpdater *u) {
  struct seen seen;
  memset(&seen, 0, sizeof seen);
  seen.caller = pthread_self();
  uint64_t before = (uint64_t)time(NULL);
  DebpullOutcome *outcome = NULL;
  CHECK_OK(debpull_updater_update(u, on_event, &seen, &outcome, &err));
  uint64_t after = (uint64_t)time(NULL);
  CHECK(outcome != NULL);
  CHECK(seen.calls == 1);
  CHECK(seen.on_caller_thread);
  CHECK_STR(seen.line, debpull_outcome_line(outcome));
  CHECK(seen.kind == debpull_outcome_kind(outcome));
  CHECK(seen.error_status == debpull_outcome_error_status(outcome));
  CHECK_STR(seen.suite, env("DEBPULL_TEST_SUITE"));
  CHECK(seen.has_hostname);
  CHECK(seen.started_unix >= before && seen.started_unix <= after);
  CHECK(seen.duration_ms >= seen.jitter_ms);
  CHECK(seen.duration_ms <= (after - before + 1) * 1000);
  CHECK(seen.jitter_ms == 0);
  CHECK(seen.warning_past_end_null);
  CHECK_STR(debpull_outcome_package(outcome), env("DEBPULL_TEST_PACKAGE"));
  return outcome;
}

static void bad_options(void) {
  DebpullUpdaterOptions *untouched = (DebpullUpdaterOptions *)&checks_run;
  DebpullUpdaterOptions *o = untouched;
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "package is NULL",
              debpull_updater_options_new(NULL, &o, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "package is empty",
              debpull_updater_options_new("", &o, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "UTF-8",
              debpull_updater_options_new("app\xff", &o, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "out", debpull_updater_options_new("app", NULL, &err));
  CHECK(o == untouched);
  o = NULL;
  CHECK_OK(debpull_updater_options_new("app", &o, &err));

  /* Installer and policy: strings among known values. */
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "\"dpkg\" or \"apt\"",
              debpull_updater_options_set_installer(o, "rpm", &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "\"dpkg\" or \"apt\"",
              debpull_updater_options_set_installer(o, "", &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "installer is NULL",
              debpull_updater_options_set_installer(o, NULL, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "UTF-8",
              debpull_updater_options_set_installer(o, "dpkg\xff", &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "options is NULL",
              debpull_updater_options_set_installer(NULL, "dpkg", &err));
  CHECK_OK(debpull_updater_options_set_installer(o, "apt", &err));
  CHECK_OK(debpull_updater_options_set_installer(o, "dpkg", &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "\"upgrade-only\" or \"follow-repository\"",
              debpull_updater_options_set_policy(o, "downgrade-everything", &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "policy is NULL",
              debpull_updater_options_set_policy(o, NULL, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "UTF-8",
              debpull_updater_options_set_policy(o, "\xe2\x82", &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "options is NULL",
              debpull_updater_options_set_policy(NULL, "upgrade-only", &err));
  CHECK_OK(debpull_updater_options_set_policy(o, "follow-repository", &err));

  /* Commands: empty argv, NULL argv with a count, NULL or bad elements. */
  const char *installer[] = {"dpkg", "--force-all", "-i"};
  const char *with_null[] = {"sh", NULL};
  const char *bad_utf8[] = {"sh", "-c\xff"};
  const char *empty_program[] = {"", "x"};
  CHECK_OK(debpull_updater_options_set_installer_command(o, installer, 3, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "argv is empty",
              debpull_updater_options_set_installer_command(o, installer, 0, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "argv is empty",
              debpull_updater_options_set_installer_command(o, NULL, 0, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "argv is NULL",
              debpull_updater_options_set_installer_command(o, NULL, 2, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "argv[1] is NULL",
              debpull_updater_options_set_installer_command(o, with_null, 2, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "argv[1] is not valid UTF-8",
              debpull_updater_options_set_installer_command(o, bad_utf8, 2, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "argv[0] (the program) is empty",
              debpull_updater_options_set_installer_command(o, empty_program, 2, &err));
  CHECK_ERROR(DEBPULL_STATUS_LIMIT_EXCEEDED, "argv",
              debpull_updater_options_set_installer_command(o, installer, SIZE_MAX, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "options is NULL",
              debpull_updater_options_set_installer_command(NULL, installer, 3, &err));
  const char *health[] = {"true"};
  CHECK_OK(debpull_updater_options_set_health_check(o, health, 1, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "argv is empty",
              debpull_updater_options_set_health_check(o, health, 0, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "argv is NULL",
              debpull_updater_options_set_health_check(o, NULL, 1, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "argv[1] is NULL",
              debpull_updater_options_set_health_check(o, with_null, 2, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "UTF-8",
              debpull_updater_options_set_health_check(o, bad_utf8, 2, &err));
  CHECK_ERROR(DEBPULL_STATUS_LIMIT_EXCEEDED, "argv",
              debpull_updater_options_set_health_check(o, health, SIZE_MAX, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "options is NULL",
              debpull_updater_options_set_health_check(NULL, health, 1, &err));

  /* Paths and the pin. */
  CHECK_OK(debpull_updater_options_set_root(o, "/", &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "root is NULL",
              debpull_updater_options_set_root(o, NULL, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "root is empty",
              debpull_updater_options_set_root(o, "", &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "UTF-8",
              debpull_updater_options_set_root(o, "/\xff", &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "options is NULL",
              debpull_updater_options_set_root(NULL, "/", &err));
  CHECK_OK(debpull_updater_options_set_apt_config(o, "/etc/apt/apt.conf", &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "apt_config is NULL",
              debpull_updater_options_set_apt_config(o, NULL, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "apt_config is empty",
              debpull_updater_options_set_apt_config(o, "", &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "UTF-8",
              debpull_updater_options_set_apt_config(o, "\xff", &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "options is NULL",
              debpull_updater_options_set_apt_config(NULL, "/etc/apt/apt.conf", &err));
  CHECK_OK(debpull_updater_options_set_pin(o, "1:2.0-1", &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_VERSION, "",
              debpull_updater_options_set_pin(o, "two point oh", &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_VERSION, "",
              debpull_updater_options_set_pin(o, "", &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "pin is NULL",
              debpull_updater_options_set_pin(o, NULL, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "UTF-8",
              debpull_updater_options_set_pin(o, "1.0\xff", &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "options is NULL",
              debpull_updater_options_set_pin(NULL, "1.0", &err));

  /* Durations: up to 10 years; timeouts not 0. */
  const uint64_t ten_years = UINT64_C(10) * 366 * 24 * 3600;
  CHECK_OK(debpull_updater_options_set_health_timeout(o, 30, &err));
  CHECK_OK(debpull_updater_options_set_health_timeout(o, ten_years, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "10 years",
              debpull_updater_options_set_health_timeout(o, ten_years + 1, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "10 years",
              debpull_updater_options_set_health_timeout(o, UINT64_MAX, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "0 seconds",
              debpull_updater_options_set_health_timeout(o, 0, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "options is NULL",
              debpull_updater_options_set_health_timeout(NULL, 30, &err));
  CHECK_OK(debpull_updater_options_set_install_timeout(o, 3600, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "10 years",
              debpull_updater_options_set_install_timeout(o, UINT64_MAX, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "0 seconds",
              debpull_updater_options_set_install_timeout(o, 0, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "options is NULL",
              debpull_updater_options_set_install_timeout(NULL, 30, &err));
  CHECK_OK(debpull_updater_options_set_lock_wait(o, 0, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "10 years",
              debpull_updater_options_set_lock_wait(o, UINT64_MAX, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "options is NULL",
              debpull_updater_options_set_lock_wait(NULL, 1, &err));
  CHECK_OK(debpull_updater_options_set_lock_skip(o, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "options is NULL",
              debpull_updater_options_set_lock_skip(NULL, &err));
  CHECK_OK(debpull_updater_options_set_jitter(o, 0, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "10 years",
              debpull_updater_options_set_jitter(o, ten_years + 1, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "options is NULL",
              debpull_updater_options_set_jitter(NULL, 1, &err));

  /* New and update: NULL for every pointer, outputs untouched. */
  DebpullSource *s = open_source(env("DEBPULL_TEST_KEY"), scratch("state-bad"));
  DebpullUpdater *u_untouched = (DebpullUpdater *)&checks_run;
  DebpullUpdater *u = u_untouched;
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "source is NULL",
              debpull_updater_new(NULL, o, &u, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "options is NULL",
              debpull_updater_new(s, NULL, &u, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "out", debpull_updater_new(s, o, NULL, &err));
  CHECK(u == u_untouched);
  u = NULL;
  CHECK_OK(debpull_updater_new(s, o, &u, &err));
  DebpullOutcome *outcome_untouched = (DebpullOutcome *)&checks_run;
  DebpullOutcome *outcome = outcome_untouched;
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "updater is NULL",
              debpull_updater_update(NULL, NULL, NULL, &outcome, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "out",
              debpull_updater_update(u, NULL, NULL, NULL, &err));
  CHECK(debpull_updater_update(NULL, NULL, NULL, &outcome, NULL) == DEBPULL_STATUS_INVALID_INPUT);
  CHECK(outcome == outcome_untouched);
  debpull_updater_free(u);
  debpull_source_free(s);
  debpull_updater_options_free(o);

  /* Accessors and frees take NULL. */
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
  CHECK(debpull_event_outcome(NULL) == NULL);
  CHECK(debpull_event_suite(NULL) == NULL);
  CHECK(debpull_event_hostname(NULL) == NULL);
  CHECK(debpull_event_started_unix(NULL) == 0);
  CHECK(debpull_event_duration_ms(NULL) == 0);
  CHECK(debpull_event_jitter_ms(NULL) == 0);
  CHECK(debpull_event_warning_count(NULL) == 0);
  CHECK(debpull_event_warning_at(NULL, 0) == NULL);
  debpull_outcome_free(NULL);
  debpull_outcome_free(NULL);
  debpull_updater_free(NULL);
  debpull_updater_free(NULL);
  debpull_updater_options_free(NULL);
  debpull_updater_options_free(NULL);
}

/* The wrong key: a FAILED outcome (not an error status), VERIFICATION,
 * nothing installed. */
static void wrong_key(void) {
  DebpullSource *s = open_source(env("DEBPULL_TEST_WRONG_KEY"), scratch("state-wrong"));
  DebpullUpdaterOptions *o = dpkg_options();
  DebpullUpdater *u = NULL;
  CHECK_OK(debpull_updater_new(s, o, &u, &err));
  debpull_updater_options_free(o);
  debpull_source_free(s); /* the updater has its own copy */
  DebpullOutcome *outcome = run(u);
  CHECK(debpull_outcome_kind(outcome) == DEBPULL_OUTCOME_KIND_FAILED);
  CHECK(debpull_outcome_error_status(outcome) == DEBPULL_STATUS_VERIFICATION);
  CHECK(debpull_outcome_error_message(outcome) != NULL);
  CHECK(debpull_outcome_installed(outcome) == NULL);
  CHECK(debpull_outcome_attempted(outcome) == NULL);
  CHECK(debpull_outcome_to(outcome) == NULL);
  debpull_outcome_free(outcome);
  debpull_updater_free(u);
}

static void install(const char *version) {
  const char *package = env("DEBPULL_TEST_PACKAGE");
  DebpullSource *s = open_source(env("DEBPULL_TEST_KEY"), scratch("state"));
  DebpullCheck *c = NULL;
  CHECK_OK(debpull_source_check(s, package, NULL, &c, &err));
  CHECK(debpull_check_installed(c) == NULL);
  CHECK(debpull_check_update_available(c));
  CHECK_STR(debpull_package_version(debpull_check_candidate(c)), version);
  debpull_check_free(c);

  DebpullUpdaterOptions *o = dpkg_options();
  DebpullUpdater *u = NULL;
  CHECK_OK(debpull_updater_new(s, o, &u, &err));
  debpull_updater_options_free(o);

  DebpullOutcome *outcome = run(u);
  CHECK(debpull_outcome_kind(outcome) == DEBPULL_OUTCOME_KIND_UPDATED);
  CHECK(debpull_outcome_from(outcome) == NULL);
  CHECK_STR(debpull_outcome_to(outcome), version);
  CHECK_STR(debpull_outcome_installed(outcome), version);
  CHECK(debpull_outcome_attempted(outcome) == NULL);
  CHECK(debpull_outcome_error_status(outcome) == DEBPULL_STATUS_OK);
  CHECK(debpull_outcome_error_message(outcome) == NULL);
  const char *line = debpull_outcome_line(outcome);
  CHECK(line != NULL && strstr(line, "updated") != NULL && strstr(line, version) != NULL);
  debpull_outcome_free(outcome);

  /* Checked again: up to date. */
  c = NULL;
  CHECK_OK(debpull_source_check(s, package, NULL, &c, &err));
  CHECK_STR(debpull_check_installed(c), version);
  CHECK(!debpull_check_update_available(c));
  debpull_check_free(c);

  /* Run again, without a callback: UP_TO_DATE. */
  outcome = NULL;
  CHECK_OK(debpull_updater_update(u, NULL, NULL, &outcome, &err));
  CHECK(debpull_outcome_kind(outcome) == DEBPULL_OUTCOME_KIND_UP_TO_DATE);
  CHECK_STR(debpull_outcome_installed(outcome), version);
  CHECK_STR(debpull_outcome_candidate(outcome), version);
  CHECK(debpull_outcome_from(outcome) == NULL);
  CHECK(debpull_outcome_to(outcome) == NULL);
  CHECK(debpull_outcome_error_status(outcome) == DEBPULL_STATUS_OK);
  debpull_outcome_free(outcome);

  debpull_updater_free(u);
  debpull_source_free(s);
}

/* `attempted` published; its health check fails, printing a NUL byte (which a
 * C string cannot carry): ROLLED_BACK to `installed` all the same. */
static void rollback(const char *attempted, const char *installed) {
  DebpullSource *s = open_source(env("DEBPULL_TEST_KEY"), scratch("state"));
  DebpullUpdaterOptions *o = dpkg_options();
  const char *health[] = {"/bin/sh", "-c", "printf 'unhealthy\\000binary' >&2; false"};
  CHECK_OK(debpull_updater_options_set_health_check(o, health, 3, &err));
  CHECK_OK(debpull_updater_options_set_health_timeout(o, 60, &err));
  DebpullUpdater *u = NULL;
  CHECK_OK(debpull_updater_new(s, o, &u, &err));
  debpull_updater_options_free(o);

  DebpullOutcome *outcome = run(u);
  CHECK(debpull_outcome_kind(outcome) == DEBPULL_OUTCOME_KIND_ROLLED_BACK);
  CHECK_STR(debpull_outcome_from(outcome), installed);
  CHECK_STR(debpull_outcome_attempted(outcome), attempted);
  CHECK_STR(debpull_outcome_installed(outcome), installed);
  CHECK(debpull_outcome_to(outcome) == NULL);
  CHECK(debpull_outcome_error_status(outcome) != DEBPULL_STATUS_OK);
  const char *message = debpull_outcome_error_message(outcome);
  CHECK(message != NULL && strstr(message, "unhealthy\xef\xbf\xbd" "binary") != NULL);
  const char *line = debpull_outcome_line(outcome);
  CHECK(line != NULL && strstr(line, "rolled back") != NULL);
  debpull_outcome_free(outcome);

  /* Right after: the failed version is held back. */
  outcome = NULL;
  CHECK_OK(debpull_updater_update(u, NULL, NULL, &outcome, &err));
  CHECK(debpull_outcome_kind(outcome) == DEBPULL_OUTCOME_KIND_HELD);
  CHECK_STR(debpull_outcome_candidate(outcome), attempted);
  CHECK_STR(debpull_outcome_installed(outcome), installed);
  debpull_outcome_free(outcome);

  debpull_updater_free(u);
  debpull_source_free(s);
}

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "install") == 0) {
    bad_options();
    wrong_key();
    install(argv[2]);
  } else if (argc == 4 && strcmp(argv[1], "rollback") == 0) {
    rollback(argv[2], argv[3]);
  } else {
    fprintf(stderr, "usage: updater install VERSION | rollback NEW INSTALLED\n");
    return 2;
  }
  return check_summary("updater");
}
