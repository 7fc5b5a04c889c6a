/*
 * debpull-update: the every-minute job of a server without Ruby. Reads a small
 * configuration file, checks the repository's suite for a newer version of one
 * package and installs it (rolling back when the installer or the health check
 * fails), and logs one line per run.
 *
 *   debpull-update [--config FILE] [--check | --user-data]
 *
 * Exit status: 0 up to date, updated, skipped (another run holds the lock) or
 * on hold by the administrator; 1 the run failed; 2 the new version failed and
 * was rolled back; 3 the candidate is held back after an earlier failure;
 * 64 bad command line; 78 bad configuration (one line naming the file, the line
 * and the key). A log line that cannot be written makes a success 1. Lines start
 * with a UTC timestamp, unless they go to systemd's journal (JOURNAL_STREAM).
 *
 * The configuration (key = value; '#' at the start of a line or after a blank
 * starts a comment) is documented in
 * usage() below and in the README.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "debpull.h"

#define DEFAULT_CONFIG "/etc/debpull/update.conf"
#define EXIT_FAILED 1
#define EXIT_ROLLED_BACK 2
#define EXIT_HELD 3
#define EXIT_USAGE 64
#define EXIT_CONFIG 78
#define MAX_KEY_FILE (1024 * 1024)
#define MAX_ARGS 64

static const char *program = "debpull-update";

static void usage(FILE *out) {
  fprintf(out,
          "usage: %s [--config FILE] [--check | --user-data]\n"
          "\n"
          "Checks a debpull (apt) repository for a newer version of one package\n"
          "and installs it; logs one line. --check installs nothing: it prints the\n"
          "installed version and the suite's candidate. --user-data prints the EC2\n"
          "user-data (sh) that sets up a new server with this configuration.\n"
          "\n"
          "FILE (default " DEFAULT_CONFIG "), one 'key = value' per line ('#' at the\n"
          "start of a line or after a blank starts a comment):\n"
          "  repository        file:///srv/repo, s3://bucket/prefix?region=..., https://...\n"
          "  suite             e.g. production\n"
          "  package           the package to keep current\n"
          "  trusted-key       file with the repository's public key (armored or binary)\n"
          "  component         default main\n"
          "  architecture      default: dpkg --print-architecture\n"
          "  state-dir         default /var/lib/debpull (0700, owned by the user)\n"
          "  installer         dpkg (default), apt, or command\n"
          "  installer-command the command when installer = command (the .deb's path is\n"
          "                    appended); arguments separated by spaces, no quoting\n"
          "  policy            upgrade-only (default) or follow-repository (also go back\n"
          "                    when the suite goes back: rollback by promotion)\n"
          "  pin               install exactly this version\n"
          "  health-check      command run after an install; failing = roll back\n"
          "  health-timeout    seconds (default 60)\n"
          "  install-timeout   seconds (default 1800)\n"
          "  jitter            at most this many seconds of random delay first (default 0)\n"
          "  lock-wait         seconds to wait for another run (default 0: skip this run)\n"
          "  region, endpoint  S3 region / endpoint URL (an endpoint implies path style)\n"
          "  root, admin-dir   dpkg --root and dpkg's admin directory (default /var/lib/dpkg)\n"
          "  apt-config        an APT_CONFIG file for installer = apt\n"
          "  slack-webhook     Slack incoming-webhook URL: a run that updated, failed or\n"
          "                    rolled back is posted there (a failed post is a warning)\n"
          "  notify-timeout    seconds per post attempt (default 10)\n"
          "  notify-retries    retries of a failed post (default 3, at most 10)\n"
          "  machine-id        this machine's id for staged rollouts (32 hex digits;\n"
          "                    default: /etc/machine-id); a version published for N%%\n"
          "                    of the fleet waits until this machine is in the N%%\n"
          "\n"
          "Exit status: 0 up to date/updated/skipped/held by the administrator,\n"
          "1 failed, 2 rolled back, 3 held back after a failure, 64 usage, 78 config.\n",
          program);
}

#define KEY_COUNT 25

/* The settings of the configuration file; NULL = not set. */
struct config {
  const char *path;
  char *repository, *suite, *package, *trusted_key, *component, *architecture;
  char *state_dir, *installer, *installer_command, *policy, *pin, *health_check;
  char *health_timeout, *install_timeout, *jitter, *lock_wait;
  char *region, *endpoint, *root, *admin_dir, *apt_config;
  char *slack_webhook, *notify_timeout, *notify_retries;
  char *machine_id; /* staged rollout */
  /* The line of each key (in the order of `keys`); 0 = not set. */
  size_t lines[KEY_COUNT];
};

struct key {
  const char *name;
  size_t offset;
};

#define KEY(name, field) {name, offsetof(struct config, field)}
static const struct key keys[] = {
    KEY("repository", repository),
    KEY("suite", suite),
    KEY("package", package),
    KEY("trusted-key", trusted_key),
    KEY("component", component),
    KEY("architecture", architecture),
    KEY("state-dir", state_dir),
    KEY("installer", installer),
    KEY("installer-command", installer_command),
    KEY("policy", policy),
    KEY("pin", pin),
    KEY("health-check", health_check),
    KEY("health-timeout", health_timeout),
    KEY("install-timeout", install_timeout),
    KEY("jitter", jitter),
    KEY("lock-wait", lock_wait),
    KEY("region", region),
    KEY("endpoint", endpoint),
    KEY("root", root),
    KEY("admin-dir", admin_dir),
    KEY("apt-config", apt_config),
    KEY("slack-webhook", slack_webhook),
    KEY("notify-timeout", notify_timeout),
    KEY("notify-retries", notify_retries),
    KEY("machine-id", machine_id),
};
_Static_assert(sizeof keys / sizeof keys[0] == KEY_COUNT, "KEY_COUNT is the number of keys");

static char **slot(struct config *config, const struct key *key) {
  return (char **)((char *)config + key->offset);
}

static void config_free(struct config *config) {
  for (size_t i = 0; i < KEY_COUNT; i++) {
    free(*slot(config, &keys[i]));
  }
}

/* The line `name` is set on; 0 when it is not set. */
static size_t line_of(const struct config *config, const char *name) {
  for (size_t i = 0; i < KEY_COUNT; i++) {
    if (strcmp(keys[i].name, name) == 0) {
      return config->lines[i];
    }
  }
  return 0;
}

/* Whether `out` is the journal's stream: systemd sets JOURNAL_STREAM to its
 * "device:inode" (systemd.exec(5)); inherited, it may name another stream. */
static bool is_journal(FILE *out) {
  const char *stream = getenv("JOURNAL_STREAM");
  if (stream == NULL || *stream < '0' || *stream > '9') {
    return false;
  }
  char *end = NULL;
  errno = 0;
  uintmax_t device = strtoumax(stream, &end, 10);
  if (errno != 0 || *end != ':' || end[1] < '0' || end[1] > '9') {
    return false;
  }
  const char *rest = end + 1;
  uintmax_t inode = strtoumax(rest, &end, 10);
  struct stat st;
  return errno == 0 && *end == '\0' && fstat(fileno(out), &st) == 0 &&
         (uintmax_t)st.st_dev == device && (uintmax_t)st.st_ino == inode;
}

/* The log line's prefix: a UTC timestamp (unless the line goes to systemd's
 * journal, which adds its own) and the program's name. */
static void log_prefix(FILE *out) {
  if (!is_journal(out)) {
    char stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    if (gmtime_r(&now, &tm) != NULL && strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm) > 0) {
      fprintf(out, "%s ", stamp);
    }
  }
  fprintf(out, "%s: ", program);
}

/* Writes debpull's `text` keeping the log line one line: line breaks (an
 * installer's output in a message) become " | ", other control characters
 * a space. */
static void put_text(FILE *out, const char *text) {
  for (const char *c = text; *c != '\0'; c++) {
    if (*c == '\n') {
      fputs(" | ", out);
    } else if (*c == '\r' || *c == '\t' || (unsigned char)*c < 0x20 || *c == 0x7f) {
      fputc(' ', out);
    } else {
      fputc(*c, out);
    }
  }
}

/* Logs a configuration error, "<file> line <n>: <what>" (no line when 0), and
 * returns EXIT_CONFIG. */
static int config_error(const struct config *config, size_t line, const char *fmt, ...) {
  log_prefix(stderr);
  fprintf(stderr, "%s", config->path);
  if (line > 0) {
    fprintf(stderr, " line %zu", line);
  }
  fputs(": ", stderr);
  va_list args;
  va_start(args, fmt);
  vfprintf(stderr, fmt, args);
  va_end(args);
  fputc('\n', stderr);
  return EXIT_CONFIG;
}

/* A setting debpull refused: "<file> line <n>: <key>: <debpull's message>";
 * frees the error and returns EXIT_CONFIG. */
static int refused(const struct config *config, const char *key, DebpullError *error) {
  int result = config_error(config, line_of(config, key), "%s: %s", key,
                            error ? debpull_error_message(error) : "refused");
  debpull_error_free(error);
  return result;
}

/* What a config error may show of a line's text: its first word (at most
 * 64 bytes), nothing after "://" (a URL's path may be a secret). Cuts `text`
 * in place; the result lives until the next call. */
static const char *shown(char *text) {
  static char buffer[80];
  text[strcspn(text, " \t")] = '\0';
  const char *scheme = strstr(text, "://");
  if (scheme != NULL) {
    snprintf(buffer, sizeof buffer, "%.*s***", (int)(scheme + 3 - text > 64 ? 64 : scheme + 3 - text),
             text);
  } else {
    snprintf(buffer, sizeof buffer, "%.64s", text);
  }
  return buffer;
}

static char *trim(char *s) {
  while (*s == ' ' || *s == '\t') {
    s++;
  }
  size_t n = strlen(s);
  while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n')) {
    s[--n] = '\0';
  }
  return s;
}

/* Reads `config->path`; returns 0 or EXIT_CONFIG (after logging why). */
static int config_read(struct config *config) {
  FILE *file = fopen(config->path, "r");
  if (file == NULL) {
    return config_error(config, 0, "cannot open it: %s", strerror(errno));
  }
  char *buffer = NULL;
  size_t capacity = 0;
  size_t line = 0;
  int status = 0;
  while (status == 0 && getline(&buffer, &capacity, file) != -1) {
    line++;
    char *start = buffer;
    /* A UTF-8 byte order mark, as some editors write. */
    if (line == 1 && strncmp(start, "\xEF\xBB\xBF", 3) == 0) {
      start += 3;
    }
    /* A comment starts with '#' at the start of a line or after a blank (so
     * that a '#' inside a value, as in a URL, stays). */
    for (char *c = start; *c != '\0'; c++) {
      if (*c == '#' && (c == start || c[-1] == ' ' || c[-1] == '\t')) {
        *c = '\0';
        break;
      }
    }
    char *text = trim(start);
    if (*text == '\0') {
      continue;
    }
    char *equals = strchr(text, '=');
    if (equals == NULL) {
      /* Only the first word, and nothing after "://": the line may be a
       * secret (a webhook URL) that lost its key. */
      status = config_error(config, line, "expected 'key = value', found \"%s\"", shown(text));
      break;
    }
    *equals = '\0';
    char *name = trim(text);
    char *value = trim(equals + 1);
    size_t k = 0;
    while (k < KEY_COUNT && strcmp(keys[k].name, name) != 0) {
      k++;
    }
    if (k == KEY_COUNT) {
      status = config_error(config, line, "unknown key \"%s\" (see --help)", shown(name));
    } else if (*slot(config, &keys[k]) != NULL) {
      status = config_error(config, line, "\"%s\" is set twice (first on line %zu)", name,
                            config->lines[k]);
    } else if (*value == '\0') {
      status = config_error(config, line, "\"%s\" has no value", name);
    } else if ((*slot(config, &keys[k]) = strdup(value)) == NULL) {
      status = config_error(config, line, "%s", strerror(errno));
    } else {
      config->lines[k] = line;
    }
  }
  if (status == 0 && ferror(file)) {
    status = config_error(config, 0, "reading it failed: %s", strerror(errno));
  }
  free(buffer);
  fclose(file);
  static const char *required[] = {"repository", "suite", "package", "trusted-key"};
  for (size_t i = 0; status == 0 && i < sizeof required / sizeof required[0]; i++) {
    for (size_t k = 0; k < KEY_COUNT; k++) {
      if (strcmp(keys[k].name, required[i]) == 0 && *slot(config, &keys[k]) == NULL) {
        status = config_error(config, 0, "\"%s\" is required", required[i]);
      }
    }
  }
  return status;
}

/* Parses a whole number of seconds; returns false when `text` is not one. */
static bool parse_seconds(const char *text, uint64_t *seconds) {
  if (*text < '0' || *text > '9') {
    return false;
  }
  char *end = NULL;
  errno = 0;
  uintmax_t value = strtoumax(text, &end, 10);
  if (errno != 0 || *end != '\0' || value > UINT64_MAX) {
    return false;
  }
  *seconds = (uint64_t)value;
  return true;
}

/* Splits `text` at blanks, in place, into `argv`; returns how many arguments,
 * or MAX_ARGS + 1 when there are more than MAX_ARGS. */
static size_t split_args(char *text, const char **argv) {
  size_t argc = 0;
  for (char *token = strtok(text, " \t"); token != NULL; token = strtok(NULL, " \t")) {
    if (argc == MAX_ARGS) {
      return MAX_ARGS + 1;
    }
    argv[argc++] = token;
  }
  return argc;
}

/* Reads the whole key file; returns NULL (after logging why) on failure. */
static uint8_t *read_key_file(const struct config *config, size_t *len) {
  size_t line = line_of(config, "trusted-key");
  FILE *file = fopen(config->trusted_key, "rb");
  if (file == NULL) {
    config_error(config, line, "trusted-key: %s: %s", config->trusted_key, strerror(errno));
    return NULL;
  }
  uint8_t *data = malloc(MAX_KEY_FILE + 1);
  size_t n = data == NULL ? 0 : fread(data, 1, MAX_KEY_FILE + 1, file);
  bool failed = data == NULL || ferror(file);
  fclose(file);
  if (failed || n > MAX_KEY_FILE || n == 0) {
    config_error(config, line, "trusted-key: %s: %s", config->trusted_key,
                 failed ? "cannot read it" : n == 0 ? "it is empty" : "it is larger than 1 MiB");
    free(data);
    return NULL;
  }
  *len = n;
  return data;
}

/* Logs a failed debpull call (one line), frees the error and returns EXIT_FAILED. */
static int fail(const char *what, DebpullStatus status, DebpullError *error) {
  log_prefix(stderr);
  fprintf(stderr, "%s: ", what);
  put_text(stderr, error ? debpull_error_message(error) : "no message");
  fprintf(stderr, " (%s)\n", debpull_status_name((int)status));
  debpull_error_free(error);
  return EXIT_FAILED;
}

/* Applies a string setting when it is set. */
#define SET_STR(setter, options, value, key)                                    \
  do {                                                                          \
    if ((value) != NULL && setter((options), (value), &error) != DEBPULL_STATUS_OK) { \
      return refused(config, (key), error);                                     \
    }                                                                           \
  } while (0)

/* Applies a seconds setting when it is set. */
#define SET_SECONDS(setter, options, value, key)                                \
  do {                                                                          \
    if ((value) != NULL) {                                                      \
      uint64_t seconds_ = 0;                                                    \
      if (!parse_seconds((value), &seconds_)) {                                 \
        return config_error(config, line_of(config, (key)),                     \
                            "%s: must be a number of seconds, not \"%s\"", (key), (value)); \
      }                                                                         \
      if (setter((options), seconds_, &error) != DEBPULL_STATUS_OK) {           \
        return refused(config, (key), error);                                   \
      }                                                                         \
    }                                                                           \
  } while (0)

/* Applies an argument-vector setting when it is set. */
#define SET_ARGV(setter, options, value, key)                                   \
  do {                                                                          \
    if ((value) != NULL) {                                                      \
      const char *argv_[MAX_ARGS];                                              \
      size_t argc_ = split_args((value), argv_);                                \
      if (argc_ > MAX_ARGS) {                                                   \
        return config_error(config, line_of(config, (key)),                     \
                            "%s: more than %d arguments", (key), MAX_ARGS);     \
      }                                                                         \
      if (setter((options), argv_, argc_, &error) != DEBPULL_STATUS_OK) {       \
        return refused(config, (key), error);                                   \
      }                                                                         \
    }                                                                           \
  } while (0)

static int source_options(const struct config *config, DebpullSourceOptions *options) {
  DebpullError *error = NULL;
  size_t key_len = 0;
  uint8_t *key = read_key_file(config, &key_len);
  if (key == NULL) {
    return EXIT_CONFIG;
  }
  DebpullStatus status = debpull_source_options_set_trusted_keys(options, key, key_len, &error);
  free(key);
  if (status != DEBPULL_STATUS_OK) {
    int result = config_error(config, line_of(config, "trusted-key"), "trusted-key: %s: %s",
                              config->trusted_key,
                              error ? debpull_error_message(error) : "refused");
    debpull_error_free(error);
    return result;
  }
  SET_STR(debpull_source_options_set_suite, options, config->suite, "suite");
  SET_STR(debpull_source_options_set_component, options, config->component, "component");
  SET_STR(debpull_source_options_set_architecture, options, config->architecture, "architecture");
  SET_STR(debpull_source_options_set_state_dir, options,
          config->state_dir ? config->state_dir : "/var/lib/debpull", "state-dir");
  SET_STR(debpull_source_options_set_admin_dir, options, config->admin_dir, "admin-dir");
  SET_STR(debpull_source_options_set_region, options, config->region, "region");
  SET_STR(debpull_source_options_set_endpoint, options, config->endpoint, "endpoint");
  SET_STR(debpull_source_options_set_machine_id, options, config->machine_id, "machine-id");
  return 0;
}

/* slack-webhook's notify-timeout and notify-retries (defaults 10 s and 3),
 * checked; *wanted is false without slack-webhook (then a notify key alone is
 * an error). */
static int notify_settings(const struct config *config, bool *wanted, uint64_t *timeout,
                           uint64_t *retries) {
  *wanted = config->slack_webhook != NULL;
  *timeout = 10;
  *retries = 3;
  if (!*wanted) {
    const char *orphan = config->notify_timeout ? "notify-timeout"
                         : config->notify_retries ? "notify-retries"
                                                  : NULL;
    return orphan ? config_error(config, line_of(config, orphan), "%s: needs slack-webhook", orphan)
                  : 0;
  }
  if (config->notify_timeout != NULL
      && (!parse_seconds(config->notify_timeout, timeout) || *timeout < 1 || *timeout > 3600)) {
    return config_error(config, line_of(config, "notify-timeout"),
                        "notify-timeout: must be a number of seconds from 1 to 3600, not \"%s\"",
                        config->notify_timeout);
  }
  if (config->notify_retries != NULL
      && (!parse_seconds(config->notify_retries, retries) || *retries > 10)) {
    return config_error(config, line_of(config, "notify-retries"),
                        "notify-retries: must be a number from 0 to 10, not \"%s\"",
                        config->notify_retries);
  }
  return 0;
}

/* The Slack notifier of slack-webhook (notify-timeout, notify-retries), given
 * to the updater's options; nothing when slack-webhook is not set. */
static int notify_options(const struct config *config, DebpullUpdaterOptions *options) {
  DebpullError *error = NULL;
  bool wanted;
  uint64_t timeout, retries;
  int bad = notify_settings(config, &wanted, &timeout, &retries);
  if (bad != 0 || !wanted) {
    return bad;
  }
  DebpullNotifier *notifier = NULL;
  DebpullStatus status =
      debpull_notifier_new(config->slack_webhook, timeout, (uint32_t)retries, &notifier, &error);
  if (status != DEBPULL_STATUS_OK) {
    /* The timeout and retries were checked above: what is left is the URL.
     * The message names the problem, never the webhook's secret path. */
    return refused(config, "slack-webhook", error);
  }
  status = debpull_updater_options_set_notifier(options, notifier, &error);
  debpull_notifier_free(notifier);
  return status == DEBPULL_STATUS_OK ? 0 : fail("notifier", status, error);
}

static int updater_options(const struct config *config, DebpullUpdaterOptions *options) {
  DebpullError *error = NULL;
  const char *installer = config->installer ? config->installer : "dpkg";
  if (strcmp(installer, "command") == 0) {
    if (config->installer_command == NULL) {
      return config_error(config, line_of(config, "installer"),
                          "installer: installer = command needs installer-command");
    }
    SET_ARGV(debpull_updater_options_set_installer_command, options, config->installer_command,
             "installer-command");
  } else {
    if (config->installer_command != NULL) {
      return config_error(config, line_of(config, "installer-command"),
                          "installer-command: needs installer = command, not %s", installer);
    }
    if (debpull_updater_options_set_installer(options, installer, &error) != DEBPULL_STATUS_OK) {
      debpull_error_free(error);
      return config_error(config, line_of(config, "installer"),
                          "installer: \"%s\" is not known: dpkg, apt, or command (with "
                          "installer-command)",
                          installer);
    }
  }
  SET_STR(debpull_updater_options_set_policy, options, config->policy, "policy");
  SET_STR(debpull_updater_options_set_pin, options, config->pin, "pin");
  SET_STR(debpull_updater_options_set_root, options, config->root, "root");
  SET_STR(debpull_updater_options_set_apt_config, options, config->apt_config, "apt-config");
  SET_ARGV(debpull_updater_options_set_health_check, options, config->health_check, "health-check");
  SET_SECONDS(debpull_updater_options_set_health_timeout, options, config->health_timeout,
              "health-timeout");
  SET_SECONDS(debpull_updater_options_set_install_timeout, options, config->install_timeout,
              "install-timeout");
  SET_SECONDS(debpull_updater_options_set_jitter, options, config->jitter, "jitter");
  SET_SECONDS(debpull_updater_options_set_lock_wait, options, config->lock_wait, "lock-wait");
  return notify_options(config, options);
}

static int exit_status(DebpullOutcomeKind kind) {
  switch (kind) {
    case DEBPULL_OUTCOME_KIND_UP_TO_DATE:
    case DEBPULL_OUTCOME_KIND_UPDATED:
    case DEBPULL_OUTCOME_KIND_SKIPPED:
    case DEBPULL_OUTCOME_KIND_HELD_BY_ADMIN:
      return 0;
    case DEBPULL_OUTCOME_KIND_ROLLED_BACK:
      return EXIT_ROLLED_BACK;
    case DEBPULL_OUTCOME_KIND_HELD:
      return EXIT_HELD;
    case DEBPULL_OUTCOME_KIND_FAILED:
      break;
  }
  return EXIT_FAILED;
}

/* --check: one line with the installed version and the suite's candidate
 * (whether it is newer); installs nothing. The policy, holds and earlier
 * failures decide what a run does with it. */
static int check_only(const struct config *config, const DebpullSource *source) {
  DebpullError *error = NULL;
  DebpullCheck *check = NULL;
  DebpullStatus status = debpull_source_check(source, config->package, config->pin, &check, &error);
  if (status != DEBPULL_STATUS_OK) {
    return fail(config->package, status, error);
  }
  const char *installed = debpull_check_installed(check);
  const DebpullPackage *candidate = debpull_check_candidate(check);
  log_prefix(stdout);
  printf("%s: installed %s, candidate %s%s\n", config->package, installed ? installed : "none",
         candidate ? debpull_package_version(candidate) : "none",
         debpull_check_update_available(check) ? ": update available" : "");
  /* Staged rollout: the newer version this machine is not in yet. */
  const char *deferred = debpull_check_deferred_version(check);
  if (deferred != NULL) {
    log_prefix(stdout);
    printf("%s: %s deferred (phased %" PRIu32 "%%, this machine not yet included)\n",
           config->package, deferred, debpull_check_deferred_percentage(check));
  }
  debpull_check_free(check);
  return 0;
}

/* The warnings of a run (signatures not checked, a failure record dropped...),
 * kept for its log line. */
struct warnings {
  char text[1024];
};

static void collect_warnings(const DebpullEvent *event, void *user_data) {
  struct warnings *warnings = user_data;
  for (size_t i = 0; i < debpull_event_warning_count(event); i++) {
    size_t used = strlen(warnings->text);
    snprintf(warnings->text + used, sizeof warnings->text - used, "%s%s",
             used == 0 ? "" : "; ", debpull_event_warning_at(event, i));
  }
}

/* An update run: one log line (with the run's warnings, if any). */
static int update(const struct config *config, const DebpullUpdater *updater) {
  DebpullError *error = NULL;
  DebpullOutcome *outcome = NULL;
  struct warnings warnings = {.text = ""};
  DebpullStatus status =
      debpull_updater_update(updater, collect_warnings, &warnings, &outcome, &error);
  if (status != DEBPULL_STATUS_OK) {
    return fail(config->package, status, error);
  }
  int result = exit_status(debpull_outcome_kind(outcome));
  FILE *out = result == 0 ? stdout : stderr;
  log_prefix(out);
  put_text(out, debpull_outcome_line(outcome));
  if (warnings.text[0] != '\0') {
    fputs(" (warning: ", out);
    put_text(out, warnings.text);
    fputc(')', out);
  }
  fputc('\n', out);
  debpull_outcome_free(outcome);
  return result;
}

/* Builds the source and the updater from the whole configuration (so that
 * --check refuses what a run would), then checks or updates. */
static int run(const struct config *config, bool check) {
  DebpullError *error = NULL;
  DebpullSourceOptions *options = NULL;
  DebpullSource *source = NULL;
  DebpullUpdaterOptions *update_options = NULL;
  DebpullUpdater *updater = NULL;
  int result = 0;
  DebpullStatus status = debpull_source_options_new(&options, &error);
  if (status != DEBPULL_STATUS_OK) {
    result = fail("source options", status, error);
  }
  if (result == 0) {
    result = source_options(config, options);
  }
  if (result == 0) {
    status = debpull_source_open(config->repository, options, &source, &error);
    if (status == DEBPULL_STATUS_INVALID_INPUT || status == DEBPULL_STATUS_UNSUPPORTED) {
      result = refused(config, "repository", error);
    } else if (status != DEBPULL_STATUS_OK) {
      result = fail(config->repository, status, error);
    }
  }
  if (result == 0) {
    status = debpull_updater_options_new(config->package, &update_options, &error);
    result = status == DEBPULL_STATUS_OK ? updater_options(config, update_options)
                                         : refused(config, "package", error);
  }
  if (result == 0) {
    status = debpull_updater_new(source, update_options, &updater, &error);
    if (status != DEBPULL_STATUS_OK) {
      result = fail("updater", status, error);
    }
  }
  if (result == 0) {
    result = check ? check_only(config, source) : update(config, updater);
  }
  debpull_updater_free(updater);
  debpull_updater_options_free(update_options);
  debpull_source_free(source);
  debpull_source_options_free(options);
  return result;
}

/* Flushes the output: a log line that could not be written turns a success
 * into EXIT_FAILED (a failure keeps its own status). */
static int finish(int result) {
  errno = 0;
  if (fflush(stdout) != 0 || ferror(stdout)) {
    int err = errno;
    log_prefix(stderr);
    fprintf(stderr, "writing to standard output failed: %s\n",
            err != 0 ? strerror(err) : "an earlier write failed");
    result = result == 0 ? EXIT_FAILED : result;
  }
  if (fflush(stderr) != 0 || ferror(stderr)) {
    result = result == 0 ? EXIT_FAILED : result;
  }
  return result;
}

/* slack-webhook, notify-timeout, notify-retries for --user-data (the script
 * writes the configuration 0600). */
static int user_data_notify(const struct config *config, DebpullUserDataOptions *options) {
  bool wanted;
  uint64_t timeout, retries;
  int bad = notify_settings(config, &wanted, &timeout, &retries);
  if (bad != 0 || !wanted) {
    return bad;
  }
  DebpullError *error = NULL;
  if (debpull_user_data_options_set_slack_webhook(options, config->slack_webhook,
                                                  (uint32_t)timeout, (uint32_t)retries, &error)
      != DEBPULL_STATUS_OK) {
    return refused(config, "slack-webhook", error);
  }
  return 0;
}

/* The settings of --user-data from the configuration. */
static int user_data_settings(const struct config *config, DebpullUserDataOptions *options) {
  DebpullError *error = NULL;
  SET_STR(debpull_user_data_options_set_suite, options, config->suite, "suite");
  SET_STR(debpull_user_data_options_set_component, options, config->component, "component");
  SET_STR(debpull_user_data_options_set_region, options, config->region, "region");
  SET_STR(debpull_user_data_options_set_endpoint, options, config->endpoint, "endpoint");
  SET_STR(debpull_user_data_options_set_policy, options, config->policy, "policy");
  if (config->installer != NULL && strcmp(config->installer, "command") == 0) {
    if (config->installer_command == NULL) {
      return config_error(config, line_of(config, "installer"),
                          "installer: installer = command needs installer-command");
    }
    SET_ARGV(debpull_user_data_options_set_installer_command, options, config->installer_command,
             "installer-command");
  } else {
    SET_STR(debpull_user_data_options_set_installer, options, config->installer, "installer");
  }
  SET_ARGV(debpull_user_data_options_set_health_check, options, config->health_check,
           "health-check");
  /* This server's jitter (the tool's default 0 when unset), not the script's default. */
  uint64_t jitter = 0;
  if (config->jitter != NULL && !parse_seconds(config->jitter, &jitter)) {
    return config_error(config, line_of(config, "jitter"),
                        "jitter: must be a number of seconds, not \"%s\"", config->jitter);
  }
  uint32_t jitter32 = jitter > UINT32_MAX ? UINT32_MAX : (uint32_t)jitter;
  if (debpull_user_data_options_set_jitter(options, jitter32, &error) != DEBPULL_STATUS_OK) {
    return refused(config, "jitter", error);
  }
  return user_data_notify(config, options);
}

/* --user-data: the first-boot script that installs this very configuration
 * (the tool, the key, the file, the job) on a new server. Keys the script
 * does not carry are refused, naming them. */
static int user_data(const struct config *config) {
  static const char *not_carried[] = {"architecture", "pin", "health-timeout",
                                      "install-timeout", "lock-wait", "root",
                                      "admin-dir", "apt-config", "machine-id"};
  for (size_t i = 0; i < sizeof not_carried / sizeof not_carried[0]; i++) {
    size_t line = line_of(config, not_carried[i]);
    if (line > 0) {
      return config_error(config, line, "%s: --user-data does not carry this key", not_carried[i]);
    }
  }
  /* The script's tool uses the default state directory: only that one is carried. */
  if (config->state_dir != NULL && strcmp(config->state_dir, "/var/lib/debpull") != 0 &&
      strcmp(config->state_dir, "/var/lib/debpull/") != 0) {
    return config_error(config, line_of(config, "state-dir"),
                        "state-dir: --user-data carries only the default /var/lib/debpull, not %s",
                        config->state_dir);
  }
  size_t key_len = 0;
  uint8_t *key = read_key_file(config, &key_len);
  if (key == NULL) {
    return EXIT_CONFIG;
  }
  DebpullError *error = NULL;
  DebpullUserDataOptions *options = NULL;
  DebpullStatus status = debpull_user_data_options_new(config->repository, config->package, key,
                                                       key_len, &options, &error);
  free(key);
  if (status != DEBPULL_STATUS_OK) {
    return refused(config, "repository", error);
  }
  int result = user_data_settings(config, options);
  DebpullUserData *script = NULL;
  if (result == 0) {
    status = debpull_user_data_generate(options, &script, &error);
    if (status != DEBPULL_STATUS_OK) {
      result = config_error(config, 0, "%s", error ? debpull_error_message(error) : "refused");
      debpull_error_free(error);
    }
  }
  if (result == 0) {
    fwrite(debpull_user_data_text(script), 1, debpull_user_data_len(script), stdout);
  }
  debpull_user_data_free(script);
  debpull_user_data_options_free(options);
  return result;
}

int main(int argc, char **argv) {
  struct config config = {.path = DEFAULT_CONFIG};
  bool check = false;
  bool print_user_data = false;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--config") == 0 || strncmp(argv[i], "--config=", 9) == 0) {
      const char *path = argv[i][8] == '=' ? argv[i] + 9 : i + 1 < argc ? argv[++i] : "";
      if (*path == '\0') {
        log_prefix(stderr);
        fprintf(stderr, "--config needs a file (see --help)\n");
        return finish(EXIT_USAGE);
      }
      config.path = path;
    } else if (strcmp(argv[i], "--check") == 0) {
      check = true;
    } else if (strcmp(argv[i], "--user-data") == 0) {
      print_user_data = true;
    } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      usage(stdout);
      return finish(0);
    } else if (strcmp(argv[i], "--version") == 0) {
      printf("%s (debpull %s)\n", program, debpull_library_version());
      return finish(0);
    } else {
      log_prefix(stderr);
      fprintf(stderr, "unknown argument \"%s\" (see --help)\n", argv[i]);
      return finish(EXIT_USAGE);
    }
  }
  if (check && print_user_data) {
    log_prefix(stderr);
    fprintf(stderr, "--check and --user-data exclude each other (see --help)\n");
    return finish(EXIT_USAGE);
  }
  int result = config_read(&config);
  if (result == 0) {
    result = print_user_data ? user_data(&config) : run(&config, check);
  }
  config_free(&config);
  return finish(result);
}
