/* First-boot user-data: options, the script, and refusals naming the
 * setting. DEBPULL_TEST_PUBLIC_KEY is a file with the repository's public key
 * (armored). */
#include "check.h"
#include "fixture.h"

static DebpullUserDataOptions *options(const uint8_t *key, size_t len) {
  DebpullUserDataOptions *o = NULL;
  CHECK_OK(debpull_user_data_options_new("s3://releases/apt", "app", key, len, &o, &err));
  CHECK(o != NULL);
  return o;
}

static void a_complete_script(const uint8_t *key, size_t len) {
  DebpullUserDataOptions *o = options(key, len);
  CHECK_OK(debpull_user_data_options_set_suite(o, "staging", &err));
  CHECK_OK(debpull_user_data_options_set_component(o, "main", &err));
  CHECK_OK(debpull_user_data_options_set_region(o, "eu-west-1", &err));
  CHECK_OK(debpull_user_data_options_set_endpoint(o, "http://127.0.0.1:9000", &err));
  CHECK_OK(debpull_user_data_options_set_tool_package(o, "debpull-update", &err));
  CHECK_OK(debpull_user_data_options_set_installer(o, "apt", &err));
  CHECK_OK(debpull_user_data_options_set_policy(o, "follow-repository", &err));
  CHECK_OK(debpull_user_data_options_set_schedule(o, "systemd", &err));
  const char *check[] = {"systemctl", "is-active", "app"};
  CHECK_OK(debpull_user_data_options_set_health_check(o, check, 3, &err));
  CHECK_OK(debpull_user_data_options_set_retries(o, 3, 10, &err));
  CHECK_OK(debpull_user_data_options_set_jitter(o, 45, &err));

  DebpullUserData *script = NULL;
  CHECK_OK(debpull_user_data_generate(o, &script, &err));
  const char *text = debpull_user_data_text(script);
  CHECK(text != NULL && strncmp(text, "#!/bin/sh\n", 10) == 0);
  CHECK(debpull_user_data_len(script) == strlen(text));
  CHECK(strstr(text, "\nSUITE='staging'\n") != NULL);
  CHECK(strstr(text, "\nSCHEDULE='systemd'\n") != NULL);
  CHECK(strstr(text, "\nBASE_URL='http://127.0.0.1:9000/releases/apt'\n") != NULL);
  CHECK(strstr(text, "\nhealth-check = systemctl is-active app\n") != NULL);
  CHECK(strstr(text, "\npolicy = follow-repository\n") != NULL);
  CHECK(strstr(text, "\ninstaller = apt\n") != NULL);
  CHECK(strstr(text, "\nRETRIES='3'\nRETRY_DELAY='10'\n") != NULL);
  CHECK(strstr(text, "\njitter = 45\n") != NULL);
  debpull_user_data_free(script);

  /* A Slack webhook: into the configuration (written 0600). */
  CHECK_OK(debpull_user_data_options_set_slack_webhook(o, "https://hooks.slack.com/services/T/B/s",
                                                       20, 0, &err));
  CHECK_OK(debpull_user_data_generate(o, &script, &err));
  CHECK(strstr(debpull_user_data_text(script),
               "\nslack-webhook = https://hooks.slack.com/services/T/B/s\nnotify-timeout = 20\n"
               "notify-retries = 0\n") != NULL);
  CHECK(strstr(debpull_user_data_text(script), "chmod 0600 \"$CONFIG_FILE.new\"") != NULL);
  debpull_user_data_free(script);
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "slack webhook",
              debpull_user_data_options_set_slack_webhook(o, "https://hooks.slack.com/x", 0, 3,
                                                          &err));
  CHECK_OK(debpull_user_data_options_set_slack_webhook(o, "ftp://hooks.slack.com/SECRET", 10, 3,
                                                       &err));
  {
    DebpullError *secret_err = NULL;
    CHECK(debpull_user_data_generate(o, &script, &secret_err) == DEBPULL_STATUS_INVALID_INPUT);
    const char *m = secret_err ? debpull_error_message(secret_err) : "";
    CHECK(strstr(m, "slack webhook") != NULL && strstr(m, "SECRET") == NULL);
    debpull_error_free(secret_err);
  }
  CHECK_OK(debpull_user_data_options_set_slack_webhook(o, "https://hooks.slack.com/services/T/B/s",
                                                       10, 3, &err));

  /* A command installer. */
  const char *installer[] = {"/usr/local/sbin/install-app", "--quiet"};
  CHECK_OK(debpull_user_data_options_set_installer_command(o, installer, 2, &err));
  CHECK_OK(debpull_user_data_generate(o, &script, &err));
  CHECK(strstr(debpull_user_data_text(script),
               "\ninstaller-command = /usr/local/sbin/install-app --quiet\n") != NULL);
  debpull_user_data_free(script);
  debpull_user_data_options_free(o);
}

static void refusals(const uint8_t *key, size_t len) {
  DebpullUserDataOptions *o = options(key, len);
  DebpullUserData *script = NULL;
  /* No region for s3://. */
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "needs a region",
              debpull_user_data_generate(o, &script, &err));
  CHECK(script == NULL);
  CHECK_OK(debpull_user_data_options_set_region(o, "us-east-1", &err));
  CHECK_OK(debpull_user_data_options_set_suite(o, "prod'; reboot; '", &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "suite",
              debpull_user_data_generate(o, &script, &err));
  CHECK_OK(debpull_user_data_options_set_suite(o, "production", &err));
  const char *check[] = {"curl", "http://x/ $(reboot)"};
  CHECK_OK(debpull_user_data_options_set_health_check(o, check, 2, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "health check",
              debpull_user_data_generate(o, &script, &err));
  CHECK_OK(debpull_user_data_options_set_health_check(o, NULL, 0, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "schedule \"hourly\"",
              debpull_user_data_options_set_schedule(o, "hourly", &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "policy \"sideways\"",
              debpull_user_data_options_set_policy(o, "sideways", &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "installer \"yum\"",
              debpull_user_data_options_set_installer(o, "yum", &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "retries",
              debpull_user_data_options_set_retries(o, 0, 5, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "jitter: 51 s",
              debpull_user_data_options_set_jitter(o, 51, &err));
  CHECK_OK(debpull_user_data_generate(o, &script, &err));
  CHECK(strstr(debpull_user_data_text(script), "\njitter = 20\n") != NULL);
  debpull_user_data_free(script);
  CHECK_OK(debpull_user_data_generate(o, &script, &err));
  CHECK(script != NULL);
  debpull_user_data_free(script);
  debpull_user_data_options_free(o);

  /* Not a key: a parse error naming the trusted key. */
  const uint8_t junk[] = "not a key";
  o = NULL;
  CHECK_OK(debpull_user_data_options_new("file:///srv/repo", "app", junk, sizeof junk - 1, &o,
                                         &err));
  script = NULL;
  CHECK_ERROR(DEBPULL_STATUS_PARSE, "trusted key", debpull_user_data_generate(o, &script, &err));
  CHECK(script == NULL);
  debpull_user_data_options_free(o);
}

int main(void) {
  size_t len = 0;
  uint8_t *key = (uint8_t *)read_file(env("DEBPULL_TEST_PUBLIC_KEY"), &len);
  a_complete_script(key, len);
  refusals(key, len);
  free(key);
  return check_summary("user_data");
}
