/* The C tests' few helpers: checks that count and report failures (file:line,
 * the expression, debpull's error message), and a summary line at the end. */
#ifndef DEBPULL_TEST_CHECK_H
#define DEBPULL_TEST_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "debpull.h"

static int checks_run;
static int checks_failed;

#define CHECK(cond)                                                        \
  do {                                                                     \
    checks_run++;                                                          \
    if (!(cond)) {                                                         \
      checks_failed++;                                                     \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__,     \
              #cond);                                                      \
    }                                                                      \
  } while (0)

/* A string check that prints both strings when they differ. */
#define CHECK_STR(actual, expected)                                        \
  do {                                                                     \
    const char *check_a_ = (actual), *check_e_ = (expected);               \
    checks_run++;                                                          \
    if (check_a_ == NULL || check_e_ == NULL                               \
        || strcmp(check_a_, check_e_) != 0) {                              \
      checks_failed++;                                                     \
      fprintf(stderr, "%s:%d: %s is \"%s\", expected \"%s\"\n", __FILE__,  \
              __LINE__, #actual, check_a_ ? check_a_ : "(null)",           \
              check_e_ ? check_e_ : "(null)");                             \
    }                                                                      \
  } while (0)

/* Runs a debpull call that takes `DebpullError **` last (passed as &err)
 * and checks its status; a failure prints the message. The error is freed. */
#define CHECK_STATUS(expected, call_with_err)                              \
  do {                                                                     \
    DebpullError *err = NULL;                                              \
    DebpullStatus check_s_ = (call_with_err);                              \
    checks_run++;                                                          \
    if (check_s_ != (expected)) {                                          \
      checks_failed++;                                                     \
      fprintf(stderr, "%s:%d: %s\n  returned %s (%s), expected %s\n",      \
              __FILE__, __LINE__, #call_with_err,                          \
              debpull_status_name((int)check_s_),                          \
              err ? debpull_error_message(err) : "no error object",        \
              debpull_status_name((int)(expected)));                       \
    } else if (check_s_ != DEBPULL_STATUS_OK                               \
               && (err == NULL || debpull_error_status(err) != check_s_  \
                   || debpull_error_message(err) == NULL                   \
                   || debpull_error_message(err)[0] == '\0')) {            \
      checks_failed++;                                                     \
      fprintf(stderr, "%s:%d: %s: no error object with a message\n",       \
              __FILE__, __LINE__, #call_with_err);                         \
    } else if (check_s_ == DEBPULL_STATUS_OK && err != NULL) {             \
      checks_failed++;                                                     \
      fprintf(stderr, "%s:%d: %s: an error object on success\n",           \
              __FILE__, __LINE__, #call_with_err);                         \
    }                                                                      \
    debpull_error_free(err);                                               \
  } while (0)

#define CHECK_OK(call_with_err) CHECK_STATUS(DEBPULL_STATUS_OK, call_with_err)

/* Like CHECK_STATUS, and the message must contain `needle`. */
#define CHECK_ERROR(expected, needle, call_with_err)                       \
  do {                                                                     \
    DebpullError *err = NULL;                                              \
    DebpullStatus check_s_ = (call_with_err);                              \
    const char *check_m_ = err ? debpull_error_message(err) : NULL;        \
    checks_run++;                                                          \
    if (check_s_ != (expected) || check_m_ == NULL                         \
        || debpull_error_status(err) != check_s_                           \
        || strstr(check_m_, (needle)) == NULL) {                           \
      checks_failed++;                                                     \
      fprintf(stderr,                                                      \
              "%s:%d: %s\n  returned %s (%s), expected %s with \"%s\"\n",  \
              __FILE__, __LINE__, #call_with_err,                          \
              debpull_status_name((int)check_s_),                          \
              check_m_ ? check_m_ : "no error object",                     \
              debpull_status_name((int)(expected)), (needle));             \
    }                                                                      \
    debpull_error_free(err);                                               \
  } while (0)

/* The last line of every test program; its exit status. */
static int check_summary(const char *program) {
  printf("%s: %d checks, %d failed\n", program, checks_run, checks_failed);
  return checks_failed == 0 ? 0 : 1;
}

#endif
