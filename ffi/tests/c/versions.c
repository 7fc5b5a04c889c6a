/* Versions: parse, parts, compare, relations, and every error path. */
#include "check.h"

static void parse_and_parts(void) {
  DebpullVersion *v = NULL;
  CHECK_OK(debpull_version_parse(" 1:2.0~rc1-3 ", &v, &err));
  CHECK(v != NULL);
  CHECK(debpull_version_epoch(v) == 1);
  CHECK_STR(debpull_version_string(v), "1:2.0~rc1-3");
  CHECK_STR(debpull_version_upstream(v), "2.0~rc1");
  CHECK_STR(debpull_version_revision(v), "3");

  DebpullVersion *native = NULL;
  CHECK_OK(debpull_version_parse("1.0", &native, &err));
  CHECK(debpull_version_epoch(native) == 0);
  CHECK(debpull_version_revision(native) == NULL);
  CHECK(debpull_version_cmp(native, v) < 0);
  CHECK(debpull_version_cmp(v, native) > 0);

  DebpullVersion *same = NULL;
  CHECK_OK(debpull_version_parse("0:1.00-0", &same, &err));
  CHECK(debpull_version_cmp(native, same) == 0);
  CHECK(debpull_version_cmp(NULL, native) < 0);
  CHECK(debpull_version_cmp(native, NULL) > 0);
  CHECK(debpull_version_cmp(NULL, NULL) == 0);

  debpull_version_free(v);
  debpull_version_free(native);
  debpull_version_free(same);
}

static void compare_strings(void) {
  /* dpkg's order: ~ before everything, letters before non-letters. */
  static const char *ordered[] = {"1.0~~", "1.0~~a", "1.0~", "1.0", "1.0-1", "1.0a",
                                  "1.0+", "1.0.1", "1:0.1"};
  size_t n = sizeof ordered / sizeof ordered[0];
  for (size_t i = 0; i < n; i++) {
    for (size_t j = 0; j < n; j++) {
      int result = 42;
      CHECK_OK(debpull_version_compare(ordered[i], ordered[j], &result, &err));
      int expected = i < j ? -1 : i > j ? 1 : 0;
      if (result != expected) {
        fprintf(stderr, "compare(%s, %s) = %d, expected %d\n", ordered[i],
                ordered[j], result, expected);
      }
      CHECK(result == expected);
    }
  }
  bool holds = false;
  CHECK_OK(debpull_version_relation("1.0", ">=", "1.0~rc1", &holds, &err));
  CHECK(holds);
  CHECK_OK(debpull_version_relation("1.0", "<<", "1.0~rc1", &holds, &err));
  CHECK(!holds);
  CHECK_OK(debpull_version_relation("2", "gt", "1", &holds, &err));
  CHECK(holds);
}

static void bad_input(void) {
  DebpullVersion *v = (DebpullVersion *)&checks_run; /* must stay untouched */
  DebpullVersion *const sentinel = v;
  CHECK_ERROR(DEBPULL_STATUS_INVALID_VERSION, "",
              debpull_version_parse("1.0 junk", &v, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_VERSION, "empty",
              debpull_version_parse("", &v, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "text is NULL",
              debpull_version_parse(NULL, &v, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "UTF-8",
              debpull_version_parse("1.0\xff", &v, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "out",
              debpull_version_parse("1.0", NULL, &err));
  CHECK(v == sentinel);
  /* A NULL error pointer: the status alone. */
  CHECK(debpull_version_parse(NULL, &v, NULL) == DEBPULL_STATUS_INVALID_INPUT);
  CHECK(v == sentinel);

  int result = 7;
  CHECK_ERROR(DEBPULL_STATUS_INVALID_VERSION, "a:b",
              debpull_version_compare("a:b", "1", &result, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "b is NULL",
              debpull_version_compare("1", NULL, &result, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "result",
              debpull_version_compare("1", "2", NULL, &err));
  CHECK(result == 7);
  bool holds = true;
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "obsolete",
              debpull_version_relation("1", "<", "2", &holds, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "unknown version relation",
              debpull_version_relation("1", "", "2", &holds, &err));
  CHECK_ERROR(DEBPULL_STATUS_INVALID_INPUT, "relation is NULL",
              debpull_version_relation("1", NULL, "2", &holds, &err));
  CHECK(holds);

  /* Accessors and frees take NULL. */
  CHECK(debpull_version_epoch(NULL) == 0);
  CHECK(debpull_version_string(NULL) == NULL);
  CHECK(debpull_version_upstream(NULL) == NULL);
  CHECK(debpull_version_revision(NULL) == NULL);
  debpull_version_free(NULL);
  debpull_version_free(NULL);
}

static void errors_and_names(void) {
  CHECK_STR(debpull_status_name(DEBPULL_STATUS_OK), "ok");
  CHECK_STR(debpull_status_name(DEBPULL_STATUS_NOT_FOUND), "not found");
  CHECK_STR(debpull_status_name(-1), "unknown status");
  CHECK_STR(debpull_status_name(12345), "unknown status");
  CHECK(debpull_error_status(NULL) == DEBPULL_STATUS_INVALID_INPUT);
  CHECK(debpull_error_message(NULL) == NULL);
  debpull_error_free(NULL);
  CHECK(strncmp(debpull_library_version(), "0.", 2) == 0);
}

int main(void) {
  parse_and_parts();
  compare_strings();
  bad_input();
  errors_and_names();
  return check_summary("versions");
}
