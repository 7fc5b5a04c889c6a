/* The whole pipeline through the C API alone, as a C deployment tool would run
 * it: build the app's .debs, publish them to staging, promote to production,
 * and on the "server" check and update (dpkg into a root), release a new
 * version, and roll production back by removing it (follow-repository).
 *
 * The harness passes, in the environment: DEBPULL_TEST_URI (file:// or s3://),
 * DEBPULL_TEST_S3_REGION / _ENDPOINT (for s3://), DEBPULL_TEST_SECRET_KEY and
 * DEBPULL_TEST_PUBLIC_KEY (files), DEBPULL_TEST_DIR (scratch),
 * DEBPULL_TEST_ROOT and DEBPULL_TEST_ADMIN (the dpkg root). */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdint.h>
#include <sys/stat.h>

#include "check.h"
#include "fixture.h"

static bool is_s3(void) { return strncmp(env("DEBPULL_TEST_URI"), "s3://", 5) == 0; }

/* Builds app `version` for amd64; returns the .deb's path (malloc'ed). */
static char *build_app(const char *version) {
  char tree[2048], dir[4096], file[4096];
  snprintf(tree, sizeof tree, "%s/tree-%s", env("DEBPULL_TEST_DIR"), version);
  const char *parts[] = {"", "/usr", "/usr/share", "/usr/share/app"};
  for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
    snprintf(dir, sizeof dir, "%s%s", tree, parts[i]);
    mkdir(dir, 0755);
  }
  snprintf(file, sizeof file, "%s/usr/share/app/VERSION", tree);
  FILE *f = fopen(file, "w");
  CHECK(f != NULL);
  if (f != NULL) {
    fprintf(f, "app %s\n", version);
    fclose(f);
  }
  DebpullDebBuilder *b = NULL;
  CHECK_OK(debpull_deb_builder_new(tree, &b, &err));
  CHECK_OK(debpull_deb_builder_set_field(b, "Package", "app", &err));
  CHECK_OK(debpull_deb_builder_set_field(b, "Version", version, &err));
  CHECK_OK(debpull_deb_builder_set_field(b, "Architecture", "amd64", &err));
  CHECK_OK(debpull_deb_builder_set_field(b, "Maintainer", "Ops <ops@example.org>", &err));
  CHECK_OK(debpull_deb_builder_set_field(b, "Description", "the app\n the backend", &err));
  char *deb = malloc(4096);
  snprintf(deb, 4096, "%s/app_%s_amd64.deb", env("DEBPULL_TEST_DIR"), version);
  CHECK_OK(debpull_deb_builder_write(b, deb, &err));
  debpull_deb_builder_free(b);
  return deb;
}

struct progress_seen {
  pthread_t caller;
  const DebpullRepository *repo;
  int hashed, uploaded, committed, wrong_thread;
};

static void on_progress(const DebpullProgress *progress, void *user_data) {
  struct progress_seen *seen = user_data;
  if (!pthread_equal(pthread_self(), seen->caller)) {
    seen->wrong_thread++;
  }
  switch (progress->kind) {
    case DEBPULL_PROGRESS_KIND_HASHED: seen->hashed++; break;
    case DEBPULL_PROGRESS_KIND_UPLOADED: seen->uploaded++; break;
    case DEBPULL_PROGRESS_KIND_COMMITTED: seen->committed++; break;
  }
  /* A blocking call from a callback is refused, not a deadlock. */
  DebpullPackageList *list = NULL;
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "callback",
              debpull_repository_list(seen->repo, "staging", &list, &err));
  CHECK(list == NULL);
}

static DebpullRepository *open_repository(void) {
  size_t len = 0;
  char *secret = read_file(env("DEBPULL_TEST_SECRET_KEY"), &len);
  DebpullRepositoryOptions *o = NULL;
  CHECK_OK(debpull_repository_options_new(&o, &err));
  CHECK_OK(debpull_repository_options_set_signing_key(o, secret, NULL, &err));
  CHECK_OK(debpull_repository_options_set_origin(o, "Find a Player", &err));
  CHECK_OK(debpull_repository_options_set_label(o, "app", &err));
  if (is_s3()) {
    CHECK_OK(debpull_repository_options_set_region(o, env("DEBPULL_TEST_S3_REGION"), &err));
    CHECK_OK(debpull_repository_options_set_endpoint(o, env("DEBPULL_TEST_S3_ENDPOINT"), &err));
  }
  DebpullRepository *repo = NULL;
  CHECK_OK(debpull_repository_open(env("DEBPULL_TEST_URI"), o, &repo, &err));
  debpull_repository_options_free(o);
  free(secret);
  return repo;
}

/* Publishes app `version` to staging and promotes it to production. */
static void release(const DebpullRepository *repo, const char *version) {
  char *deb = build_app(version);
  const char *debs[] = {deb};
  struct progress_seen seen = {.caller = pthread_self(), .repo = repo};
  DebpullPublishReport *report = NULL;
  CHECK_OK(debpull_repository_publish(repo, "staging", "main", debs, 1, false, on_progress, &seen,
                                      &report, &err));
  CHECK(debpull_package_list_len(debpull_publish_report_added(report)) == 1);
  CHECK_STR(debpull_package_version(debpull_package_list_get(debpull_publish_report_added(report), 0)),
            version);
  CHECK(seen.hashed == 1 && seen.committed == 1 && seen.uploaded >= 1);
  CHECK(seen.wrong_thread == 0);
  debpull_publish_report_free(report);
  free(deb);

  DebpullPackageList *promoted = NULL;
  CHECK_OK(debpull_repository_promote(repo, "app", version, "staging", "production", &promoted, &err));
  CHECK(debpull_package_list_len(promoted) == 1);
  debpull_package_list_free(promoted);
}

static DebpullUpdater *server_updater(void) {
  size_t len = 0;
  char *public_key = read_file(env("DEBPULL_TEST_PUBLIC_KEY"), &len);
  DebpullSourceOptions *so = NULL;
  CHECK_OK(debpull_source_options_new(&so, &err));
  CHECK_OK(debpull_source_options_set_suite(so, "production", &err));
  CHECK_OK(debpull_source_options_set_architecture(so, "amd64", &err));
  CHECK_OK(debpull_source_options_set_trusted_keys(so, (const uint8_t *)public_key, len, &err));
  CHECK_OK(debpull_source_options_set_state_dir(so, scratch("state"), &err));
  CHECK_OK(debpull_source_options_set_admin_dir(so, env("DEBPULL_TEST_ADMIN"), &err));
  if (is_s3()) {
    CHECK_OK(debpull_source_options_set_region(so, env("DEBPULL_TEST_S3_REGION"), &err));
    CHECK_OK(debpull_source_options_set_endpoint(so, env("DEBPULL_TEST_S3_ENDPOINT"), &err));
  }
  DebpullSource *source = NULL;
  CHECK_OK(debpull_source_open(env("DEBPULL_TEST_URI"), so, &source, &err));
  debpull_source_options_free(so);
  free(public_key);

  DebpullCheck *check = NULL;
  CHECK_OK(debpull_source_check(source, "app", NULL, &check, &err));
  CHECK(debpull_check_installed(check) == NULL);
  CHECK_STR(debpull_package_version(debpull_check_candidate(check)), "1.0");
  CHECK(debpull_check_update_available(check));
  debpull_check_free(check);

  DebpullUpdaterOptions *uo = NULL;
  CHECK_OK(debpull_updater_options_new("app", &uo, &err));
  CHECK_OK(debpull_updater_options_set_root(uo, env("DEBPULL_TEST_ROOT"), &err));
  CHECK_OK(debpull_updater_options_set_policy(uo, "follow-repository", &err));
  DebpullUpdater *updater = NULL;
  CHECK_OK(debpull_updater_new(source, uo, &updater, &err));
  debpull_updater_options_free(uo);
  debpull_source_free(source); /* the updater keeps its own */
  return updater;
}

struct events_seen {
  pthread_t caller;
  int count, wrong_thread;
  DebpullOutcomeKind kind;
};

static void on_event(const DebpullEvent *event, void *user_data) {
  struct events_seen *seen = user_data;
  seen->count++;
  if (!pthread_equal(pthread_self(), seen->caller)) {
    seen->wrong_thread++;
  }
  seen->kind = debpull_outcome_kind(debpull_event_outcome(event));
}

/* One update run: its kind must be `kind`, its line `line`. */
static void update(const DebpullUpdater *updater, DebpullOutcomeKind kind, const char *line) {
  struct events_seen seen = {.caller = pthread_self()};
  DebpullOutcome *outcome = NULL;
  CHECK_OK(debpull_updater_update(updater, on_event, &seen, &outcome, &err));
  CHECK(debpull_outcome_kind(outcome) == kind);
  CHECK_STR(debpull_outcome_line(outcome), line);
  CHECK(seen.count == 1 && seen.kind == kind && seen.wrong_thread == 0);
  printf("update: %s\n", debpull_outcome_line(outcome));
  debpull_outcome_free(outcome);
}

/* Handles shared between threads: repositories and updaters are documented
 * as safe to use from several threads at once. */
struct shared {
  const DebpullRepository *repo;
  const DebpullUpdater *updater;
  const char *deb;
  DebpullStatus publish_status;
  DebpullOutcomeKind outcome;
};

static void *publish_and_update(void *arg) {
  struct shared *job = arg;
  const char *debs[] = {job->deb};
  DebpullPublishReport *report = NULL;
  job->publish_status =
      debpull_repository_publish(job->repo, "concurrent", "main", debs, 1, false, NULL, NULL,
                                 &report, NULL);
  debpull_publish_report_free(report);
  DebpullOutcome *outcome = NULL;
  if (debpull_updater_update(job->updater, NULL, NULL, &outcome, NULL) == DEBPULL_STATUS_OK) {
    job->outcome = debpull_outcome_kind(outcome);
  }
  debpull_outcome_free(outcome);
  return NULL;
}

/* Four threads publish four versions into one suite at once (each commit
 * retried against the others) and run the same updater at once (one runs,
 * the others skip or find it up to date). */
static void threads(const DebpullRepository *repo, const DebpullUpdater *updater) {
  static const char *versions[] = {"2.0", "2.1", "2.2", "2.3"};
  enum { N = sizeof versions / sizeof versions[0] };
  struct shared jobs[N];
  pthread_t threads[N];
  for (size_t i = 0; i < N; i++) {
    jobs[i] = (struct shared){.repo = repo, .updater = updater, .deb = build_app(versions[i]),
                              .publish_status = DEBPULL_STATUS_INTERNAL,
                              .outcome = DEBPULL_OUTCOME_KIND_FAILED};
  }
  for (size_t i = 0; i < N; i++) {
    CHECK(pthread_create(&threads[i], NULL, publish_and_update, &jobs[i]) == 0);
  }
  for (size_t i = 0; i < N; i++) {
    pthread_join(threads[i], NULL);
    CHECK(jobs[i].publish_status == DEBPULL_STATUS_OK);
    CHECK(jobs[i].outcome == DEBPULL_OUTCOME_KIND_UP_TO_DATE ||
          jobs[i].outcome == DEBPULL_OUTCOME_KIND_SKIPPED);
    free((char *)jobs[i].deb);
  }
  DebpullPackageList *all = NULL;
  CHECK_OK(debpull_repository_list(repo, "concurrent", &all, &err));
  CHECK(debpull_package_list_len(all) == N);
  debpull_package_list_free(all);
}

int main(void) {
  DebpullRepository *repo = open_repository();
  release(repo, "1.0");

  DebpullUpdater *updater = server_updater();
  update(updater, DEBPULL_OUTCOME_KIND_UPDATED, "app: updated none -> 1.0");
  update(updater, DEBPULL_OUTCOME_KIND_UP_TO_DATE, "app: up to date (1.0)");

  release(repo, "1.1");
  update(updater, DEBPULL_OUTCOME_KIND_UPDATED, "app: updated 1.0 -> 1.1");

  /* Roll production back: 1.1 leaves it; the server follows. */
  DebpullPackageList *removed = NULL;
  CHECK_OK(debpull_repository_remove(repo, "production", "app", "1.1", &removed, &err));
  CHECK(debpull_package_list_len(removed) == 1);
  debpull_package_list_free(removed);
  update(updater, DEBPULL_OUTCOME_KIND_UPDATED, "app: updated 1.1 -> 1.0");

  DebpullVerifyReport verified = {0};
  CHECK_OK(debpull_repository_verify(repo, "production", NULL, 0, &verified, &err));
  CHECK(verified.packages == 1 && verified.pool_files == 1);
  DebpullPackageList *staging = NULL;
  CHECK_OK(debpull_repository_list(repo, "staging", &staging, &err));
  CHECK(debpull_package_list_len(staging) == 2);
  debpull_package_list_free(staging);

  threads(repo, updater);

  debpull_updater_free(updater);
  debpull_repository_free(repo);
  return check_summary("e2e");
}
