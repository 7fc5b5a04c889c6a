/* Staged rollout through the C API: publish app 2.0 for 25% of the fleet, a
 * machine outside it (DEBPULL_TEST_MACHINE_OUT) installs 1.0 and sees 2.0
 * deferred, one inside (DEBPULL_TEST_MACHINE_IN) gets 2.0; the rollout
 * raised to 100 reaches the first; promoting 1.0 again is refused, and
 * debpull_repository_rollback rolls production back to it (2.0 demoted). The harness chose the two ids with core's
 * debpull::phasing (checked against apt-get in core's tests) and checks the
 * dpkg root afterwards. */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>

#include "check.h"
#include "fixture.h"

static DebpullRepository *open_repository(void) {
  size_t len = 0;
  char *secret = read_file(env("DEBPULL_TEST_SECRET_KEY"), &len);
  DebpullRepositoryOptions *o = NULL;
  CHECK_OK(debpull_repository_options_new(&o, &err));
  CHECK_OK(debpull_repository_options_set_signing_key(o, secret, NULL, &err));
  DebpullRepository *repo = NULL;
  CHECK_OK(debpull_repository_open(env("DEBPULL_TEST_URI"), o, &repo, &err));
  debpull_repository_options_free(o);
  free(secret);
  return repo;
}

static DebpullSource *open_source(const char *machine_id, const char *state) {
  DebpullSourceOptions *o = NULL;
  CHECK_OK(debpull_source_options_new(&o, &err));
  CHECK_OK(debpull_source_options_set_suite(o, "production", &err));
  CHECK_OK(debpull_source_options_set_architecture(o, "amd64", &err));
  CHECK_OK(debpull_source_options_set_admin_dir(o, env("DEBPULL_TEST_ADMIN"), &err));
  CHECK_OK(debpull_source_options_set_state_dir(o, state, &err));
  CHECK_OK(debpull_source_options_set_machine_id(o, machine_id, &err));
  size_t len = 0;
  char *keys = read_file(env("DEBPULL_TEST_PUBLIC_KEY"), &len);
  CHECK_OK(debpull_source_options_set_trusted_keys(o, (const uint8_t *)keys, len, &err));
  free(keys);
  /* Not a machine id: refused, the options unchanged. */
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "not 32 hexadecimal digits",
              debpull_source_options_set_machine_id(o, "uninitialized", &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "id is NULL",
              debpull_source_options_set_machine_id(o, NULL, &err));
  DebpullSource *s = NULL;
  CHECK_OK(debpull_source_open(env("DEBPULL_TEST_URI"), o, &s, &err));
  debpull_source_options_free(o);
  return s;
}

static DebpullUpdater *updater(const DebpullSource *source, const char *policy) {
  DebpullUpdaterOptions *o = NULL;
  CHECK_OK(debpull_updater_options_new("app", &o, &err));
  CHECK_OK(debpull_updater_options_set_root(o, env("DEBPULL_TEST_ROOT"), &err));
  CHECK_OK(debpull_updater_options_set_policy(o, policy, &err));
  DebpullUpdater *u = NULL;
  CHECK_OK(debpull_updater_new(source, o, &u, &err));
  debpull_updater_options_free(o);
  return u;
}

/* Publishes `deb` for `percentage` of the fleet (NULL: everyone, the plain publish). */
static void publish(const DebpullRepository *repo, const char *suite, const char *deb,
                    const uint8_t *percentage, size_t added, size_t rephased) {
  const char *debs[] = {deb};
  DebpullPublishReport *report = NULL;
  CHECK_OK(debpull_repository_publish_phased(repo, suite, "main", debs, 1, false, percentage,
                                             NULL, NULL, &report, &err));
  CHECK(debpull_package_list_len(debpull_publish_report_added(report)) == added);
  CHECK(debpull_package_list_len(debpull_publish_report_rephased(report)) == rephased);
  debpull_publish_report_free(report);
}

/* The one-line outcome of a run of `u`, checked to be `expected`. */
static void update(DebpullUpdater *u, const char *expected, const char *deferred) {
  DebpullOutcome *outcome = NULL;
  CHECK_OK(debpull_updater_update(u, NULL, NULL, &outcome, &err));
  CHECK_STR(debpull_outcome_line(outcome), expected);
  if (deferred == NULL) {
    CHECK(debpull_outcome_deferred_version(outcome) == NULL);
    CHECK(debpull_outcome_deferred_percentage(outcome) == 100);
  } else {
    CHECK_STR(debpull_outcome_deferred_version(outcome), deferred);
    CHECK(debpull_outcome_deferred_percentage(outcome) == 25);
  }
  debpull_outcome_free(outcome);
}

int main(void) {
  DebpullRepository *repo = open_repository();
  const char *app1 = env("DEBPULL_TEST_APP1"), *app2 = env("DEBPULL_TEST_APP2");
  const uint8_t quarter = 25, hundred = 100, over = 101;
  publish(repo, "staging", app1, NULL, 1, 0);
  publish(repo, "production", app1, &hundred, 1, 0);
  publish(repo, "production", app2, &quarter, 1, 0);
  /* Again, identical, at 25: nothing to do; without a percentage it keeps its 25. */
  publish(repo, "production", app2, &quarter, 0, 0);
  publish(repo, "production", app2, NULL, 0, 0);
  const char *debs[] = {app2};
  DebpullPublishReport *report = (DebpullPublishReport *)&checks_run;
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "101",
              debpull_repository_publish_phased(repo, "production", "main", debs, 1, false, &over,
                                                NULL, NULL, &report, &err));
  CHECK(report == (DebpullPublishReport *)&checks_run);

  /* Outside the 25%: a first install takes 1.0, 2.0 stays deferred. */
  DebpullSource *out = open_source(env("DEBPULL_TEST_MACHINE_OUT"), scratch("state-out"));
  DebpullCheck *check = NULL;
  CHECK_OK(debpull_source_check(out, "app", NULL, &check, &err));
  CHECK_STR(debpull_check_deferred_version(check), "2.0");
  CHECK(debpull_check_deferred_percentage(check) == 25);
  CHECK_STR(debpull_package_version(debpull_check_candidate(check)), "1.0");
  debpull_check_free(check);
  DebpullUpdater *u = updater(out, "upgrade-only");
  update(u, "app: updated none -> 1.0", NULL);
  update(u, "app: up to date (1.0), 2.0 deferred (phased 25%, this machine not yet included)",
         "2.0");

  /* Inside: nothing deferred. */
  DebpullSource *in = open_source(env("DEBPULL_TEST_MACHINE_IN"), scratch("state-in"));
  check = NULL;
  CHECK_OK(debpull_source_check(in, "app", NULL, &check, &err));
  CHECK(debpull_check_deferred_version(check) == NULL);
  CHECK(debpull_check_deferred_percentage(check) == 100);
  CHECK_STR(debpull_package_version(debpull_check_candidate(check)), "2.0");
  debpull_check_free(check);

  /* Complete the rollout: the machine outside takes 2.0. */
  DebpullPackageList *changed = NULL;
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "150",
              debpull_repository_phase(repo, "production", "app", "2.0", 150, &changed, &err));
  CHECK_ERROR(DEBPULL_STATUS_NOT_FOUND, "9.0",
              debpull_repository_phase(repo, "production", "app", "9.0", 50, &changed, &err));
  CHECK(changed == NULL);
  CHECK_OK(debpull_repository_phase(repo, "production", "app", "2.0", 100, &changed, &err));
  CHECK(debpull_package_list_len(changed) == 1);
  debpull_package_list_free(changed);
  update(u, "app: updated 1.0 -> 2.0", NULL);
  debpull_updater_free(u);

  /* Promoting 1.0 again is refused (2.0 is newer): a late CI job cannot
   * roll production back; debpull_repository_rollback does, from production
   * itself: 2.0 leaves it, a follow-repository updater goes back. */
  DebpullPromoteReport *promoted = NULL;
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "101",
              debpull_repository_promote_phased(repo, "app", "1.0", "staging", "production",
                                                &over, &promoted, &err));
  CHECK_ERROR(DEBPULL_STATUS_CONFLICT, "roll back",
              debpull_repository_promote_phased(repo, "app", "1.0", "staging", "production", NULL,
                                                &promoted, &err));
  CHECK(promoted == NULL);
  DebpullPackageList *added = NULL;
  CHECK_ERROR(DEBPULL_STATUS_CONFLICT, "2.0",
              debpull_repository_promote(repo, "app", "1.0", "staging", "production", &added,
                                         &err));
  CHECK(added == NULL);
  CHECK_ERROR(DEBPULL_STATUS_NOT_FOUND, "0.5",
              debpull_repository_rollback(repo, "production", "app", "0.5", &promoted, &err));
  CHECK_OK(debpull_repository_rollback(repo, "production", "app", "1.0", &promoted, &err));
  CHECK(debpull_package_list_len(debpull_promote_report_added(promoted)) == 0);
  CHECK(debpull_package_list_len(debpull_promote_report_rephased(promoted)) == 0);
  const DebpullPackageList *demoted = debpull_promote_report_demoted(promoted);
  CHECK(debpull_package_list_len(demoted) == 1);
  CHECK_STR(debpull_package_version(debpull_package_list_get(demoted, 0)), "2.0");
  CHECK(debpull_promote_report_attempts(promoted) == 1);
  debpull_promote_report_free(promoted);
  /* A percentage promote of a version already there re-phases it. */
  CHECK_OK(debpull_repository_promote_phased(repo, "app", "1.0", "staging", "production",
                                             &quarter, &promoted, &err));
  CHECK(debpull_package_list_len(debpull_promote_report_rephased(promoted)) == 1);
  debpull_promote_report_free(promoted);
  CHECK_OK(debpull_repository_phase(repo, "production", "app", "1.0", 100, &changed, &err));
  debpull_package_list_free(changed);
  u = updater(out, "follow-repository");
  update(u, "app: updated 2.0 -> 1.0", NULL);
  debpull_updater_free(u);

  debpull_source_free(out);
  debpull_source_free(in);
  debpull_repository_free(repo);
  return check_summary("phased");
}
