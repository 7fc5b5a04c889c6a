/* Notifications through the C API: Slack messages from SNS notifications,
 * a notifier posting to a real webhook on loopback (the harness's), attached
 * to a repository (publish, promote) and an updater (dpkg into a root); a
 * dead webhook fails neither.
 *
 * The harness passes, in the environment: DEBPULL_TEST_WEBHOOK (answers 200),
 * DEBPULL_TEST_DEAD_WEBHOOK (nothing listens), DEBPULL_TEST_SNS (an SNS
 * notification of an instance launch, a file), DEBPULL_TEST_REPO_URI
 * (file://, empty), DEBPULL_TEST_SECRET_KEY and DEBPULL_TEST_PUBLIC_KEY
 * (files), DEBPULL_TEST_DIR (scratch), DEBPULL_TEST_ROOT and
 * DEBPULL_TEST_ADMIN (the dpkg root). It then checks what the webhook got. */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <sys/stat.h>

#include "check.h"
#include "fixture.h"

/* Builds app `version` for amd64 into the scratch directory; returns its path. */
static const char *build_app(const char *version) {
  char tree[2048], dir[4096];
  snprintf(tree, sizeof tree, "%s/tree-%s", env("DEBPULL_TEST_DIR"), version);
  const char *parts[] = {"", "/usr", "/usr/share", "/usr/share/app"};
  for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
    snprintf(dir, sizeof dir, "%s%s", tree, parts[i]);
    mkdir(dir, 0755);
  }
  DebpullDebBuilder *b = NULL;
  CHECK_OK(debpull_deb_builder_new(tree, &b, &err));
  CHECK_OK(debpull_deb_builder_set_field(b, "Package", "app", &err));
  CHECK_OK(debpull_deb_builder_set_field(b, "Version", version, &err));
  CHECK_OK(debpull_deb_builder_set_field(b, "Architecture", "amd64", &err));
  CHECK_OK(debpull_deb_builder_set_field(b, "Maintainer", "Ops <ops@example.org>", &err));
  CHECK_OK(debpull_deb_builder_set_field(b, "Description", "the app\n the backend", &err));
  static char deb[4096];
  snprintf(deb, sizeof deb, "%s/app_%s_amd64.deb", env("DEBPULL_TEST_DIR"), version);
  CHECK_OK(debpull_deb_builder_write(b, deb, &err));
  debpull_deb_builder_free(b);
  return deb;
}

static void sns(DebpullNotifier *live) {
  size_t len = 0;
  char *json = read_file(env("DEBPULL_TEST_SNS"), &len);
  DebpullMessage *m = NULL;
  CHECK_OK(debpull_sns_to_slack((const uint8_t *)json, len, &m, &err));
  CHECK_STR(debpull_message_headline(m),
            ":rocket: Instance i-0123456789abcdef0 launched in web-production");
  const char *body = debpull_message_json(m);
  CHECK(body != NULL && strncmp(body, "{\"blocks\":[", 11) == 0);
  CHECK(body != NULL && strstr(body, "changing the desired capacity from 2 to 3") != NULL);
  CHECK_OK(debpull_notifier_post(live, m, &err));
  CHECK(debpull_notifier_sent(live) == 1);
  debpull_message_free(m);
  free(json);

  DebpullMessage *none = (DebpullMessage *)&checks_run; /* must stay untouched */
  const char *broken = "{\"Type\": \"Notification\", \"Message\": \"not json\"}";
  CHECK_ERROR(DEBPULL_STATUS_PARSE, "Message is not JSON",
              debpull_sns_to_slack((const uint8_t *)broken, strlen(broken), &none, &err));
  const char *missing = "{\"Type\": \"Notification\"}";
  CHECK_ERROR(DEBPULL_STATUS_PARSE, "Message is missing",
              debpull_sns_to_slack((const uint8_t *)missing, strlen(missing), &none, &err));
  const char *unknown =
      "{\"Type\": \"Notification\", \"Message\": \"{\\\"Event\\\": \\\"autoscaling:X\\\", "
      "\\\"AutoScalingGroupName\\\": \\\"g\\\"}\"}";
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "not a known Auto Scaling event",
              debpull_sns_to_slack((const uint8_t *)unknown, strlen(unknown), &none, &err));
  const uint8_t latin1[] = {'{', 0xe9, '}'};
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "not UTF-8",
              debpull_sns_to_slack(latin1, sizeof latin1, &none, &err));
  CHECK(none == (DebpullMessage *)&checks_run);
  CHECK(debpull_message_json(NULL) == NULL);
  CHECK(debpull_message_headline(NULL) == NULL);
}

static void bad_notifiers(void) {
  DebpullNotifier *n = NULL;
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "http:// or https://",
              debpull_notifier_new("ftp://example.org/x", 10, 3, &n, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "webhook timeout 0 ms",
              debpull_notifier_new(env("DEBPULL_TEST_WEBHOOK"), 0, 3, &n, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "webhook retries 11",
              debpull_notifier_new(env("DEBPULL_TEST_WEBHOOK"), 10, 11, &n, &err));
  CHECK(n == NULL);
  CHECK(debpull_notifier_sent(NULL) == 0 && debpull_notifier_failed(NULL) == 0);
  CHECK(debpull_notifier_last_error(NULL) == NULL);
}

static DebpullRepository *open_repository(const DebpullNotifier *notifier) {
  size_t len = 0;
  char *secret = read_file(env("DEBPULL_TEST_SECRET_KEY"), &len);
  DebpullRepositoryOptions *o = NULL;
  CHECK_OK(debpull_repository_options_new(&o, &err));
  CHECK_OK(debpull_repository_options_set_signing_key(o, secret, NULL, &err));
  CHECK_OK(debpull_repository_options_set_notifier(o, notifier, &err));
  DebpullRepository *repo = NULL;
  CHECK_OK(debpull_repository_open(env("DEBPULL_TEST_REPO_URI"), o, &repo, &err));
  debpull_repository_options_free(o);
  free(secret);
  return repo;
}

static void publish(const DebpullRepository *repo, const char *version) {
  const char *debs[] = {build_app(version)};
  DebpullPublishReport *report = NULL;
  CHECK_OK(debpull_repository_publish(repo, "staging", "main", debs, 1, false, NULL, NULL, &report,
                                      &err));
  debpull_publish_report_free(report);
  DebpullPackageList *promoted = NULL;
  CHECK_OK(debpull_repository_promote(repo, "app", version, "staging", "production", &promoted,
                                      &err));
  CHECK(debpull_package_list_len(promoted) == 1);
  debpull_package_list_free(promoted);
}

static void update(const DebpullNotifier *notifier, DebpullOutcomeKind expected) {
  size_t len = 0;
  char *public_key = read_file(env("DEBPULL_TEST_PUBLIC_KEY"), &len);
  DebpullSourceOptions *so = NULL;
  CHECK_OK(debpull_source_options_new(&so, &err));
  CHECK_OK(debpull_source_options_set_suite(so, "production", &err));
  CHECK_OK(debpull_source_options_set_architecture(so, "amd64", &err));
  CHECK_OK(debpull_source_options_set_trusted_keys(so, (const uint8_t *)public_key, len, &err));
  CHECK_OK(debpull_source_options_set_state_dir(so, scratch("state"), &err));
  CHECK_OK(debpull_source_options_set_admin_dir(so, env("DEBPULL_TEST_ADMIN"), &err));
  DebpullSource *source = NULL;
  CHECK_OK(debpull_source_open(env("DEBPULL_TEST_REPO_URI"), so, &source, &err));
  debpull_source_options_free(so);
  DebpullUpdaterOptions *uo = NULL;
  CHECK_OK(debpull_updater_options_new("app", &uo, &err));
  CHECK_OK(debpull_updater_options_set_root(uo, env("DEBPULL_TEST_ROOT"), &err));
  CHECK_OK(debpull_updater_options_set_notifier(uo, notifier, &err));
  DebpullUpdater *updater = NULL;
  CHECK_OK(debpull_updater_new(source, uo, &updater, &err));
  debpull_updater_options_free(uo);
  debpull_source_free(source);
  DebpullOutcome *outcome = NULL;
  CHECK_OK(debpull_updater_update(updater, NULL, NULL, &outcome, &err));
  CHECK(debpull_outcome_kind(outcome) == expected);
  printf("update: %s\n", debpull_outcome_line(outcome));
  debpull_outcome_free(outcome);
  debpull_updater_free(updater);
  free(public_key);
}

int main(void) {
  DebpullNotifier *live = NULL, *dead = NULL;
  CHECK_OK(debpull_notifier_new(env("DEBPULL_TEST_WEBHOOK"), 10, 2, &live, &err));
  CHECK_OK(debpull_notifier_new(env("DEBPULL_TEST_DEAD_WEBHOOK"), 1, 0, &dead, &err));
  CHECK_OK(debpull_notifier_set_warnings(dead, false, &err));
  sns(live);
  bad_notifiers();

  /* The explicit post of a message fails with its error... */
  DebpullMessage *m = NULL;
  size_t len = 0;
  char *json = read_file(env("DEBPULL_TEST_SNS"), &len);
  CHECK_OK(debpull_sns_to_slack((const uint8_t *)json, len, &m, &err));
  CHECK_ERROR(DEBPULL_STATUS_STORAGE, "(1 attempt)", debpull_notifier_post(dead, m, &err));
  CHECK(debpull_notifier_failed(dead) == 1);
  debpull_message_free(m);
  free(json);
  /* ...and the notifier keeps it: a copy the caller owns. */
  CHECK(debpull_notifier_last_error(live) == NULL);
  DebpullError *first = debpull_notifier_last_error(dead);
  CHECK(first != NULL && debpull_error_status(first) == DEBPULL_STATUS_STORAGE);
  CHECK(first != NULL && strstr(debpull_error_message(first), "(1 attempt)") != NULL);
  CHECK(first != NULL && strstr(debpull_error_message(first), "B0/dead") == NULL);

  /* ...a repository's and an updater's never fail them. */
  DebpullRepository *repo = open_repository(live);
  publish(repo, "1.0"); /* 2 posts */
  debpull_repository_free(repo);
  update(live, DEBPULL_OUTCOME_KIND_UPDATED); /* 1 post */
  update(live, DEBPULL_OUTCOME_KIND_UP_TO_DATE); /* none */
  CHECK(debpull_notifier_sent(live) == 4);

  repo = open_repository(dead);
  publish(repo, "1.1");
  debpull_repository_free(repo);
  update(dead, DEBPULL_OUTCOME_KIND_UPDATED);
  CHECK(debpull_notifier_failed(dead) == 4);
  CHECK(debpull_notifier_sent(live) == 4);
  /* Later failures made a new last error; the first copy is still readable. */
  DebpullError *last = debpull_notifier_last_error(dead);
  CHECK(last != NULL && last != first && debpull_error_status(last) == DEBPULL_STATUS_STORAGE);
  CHECK(first != NULL && strstr(debpull_error_message(first), "(1 attempt)") != NULL);
  debpull_error_free(first);
  debpull_error_free(last);
  CHECK(debpull_notifier_last_error(live) == NULL);

  debpull_notifier_free(live);
  debpull_notifier_free(dead);
  debpull_notifier_free(NULL);
  debpull_message_free(NULL);
  return check_summary("notify");
}
