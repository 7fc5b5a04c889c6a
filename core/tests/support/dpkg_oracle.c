/*
 * The dpkg oracle of debpull's version tests: libdpkg's own parseversion,
 * dpkg_version_compare and dpkg_version_relate behind a line protocol.
 *
 * Every string travels hex-encoded, so blanks, newlines and other bytes
 * pass unchanged. One answer line per request line:
 *
 *   p HEX            ->  ok EPOCH HEXVERSION HEXREVISION | bad error|warn MESSAGE
 *   c HEXA HEXB      ->  -1 | 0 | 1                      | bad
 *   r HEXA REL HEXB  ->  1 | 0 (REL is one of << <= = >= >>) | bad
 *
 * Built by core/tests/support/dpkg_oracle.rs with
 * cc dpkg_oracle.c $(pkg-config --cflags --libs --static libdpkg).
 */
#define LIBDPKG_VOLATILE_API 1

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dpkg/dpkg.h>
#include <dpkg/dpkg-db.h>
#include <dpkg/error.h>
#include <dpkg/version.h>

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes the hex word at *p (up to a space or the end) into a new string. */
static char *
unhex(char **p)
{
	char *s = *p;
	size_t n = strcspn(s, " \n");
	char *out = malloc(n / 2 + 1);
	size_t i;

	if (out == NULL || n % 2 != 0) {
		fprintf(stderr, "dpkg_oracle: bad hex word\n");
		exit(2);
	}
	for (i = 0; i < n / 2; i++) {
		int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);

		if (hi < 0 || lo < 0) {
			fprintf(stderr, "dpkg_oracle: bad hex digit\n");
			exit(2);
		}
		out[i] = (char)(hi * 16 + lo);
	}
	out[n / 2] = '\0';
	*p = s[n] == ' ' ? s + n + 1 : s + n;
	return out;
}

static void
puthex(const char *s)
{
	for (; *s; s++)
		printf("%02x", (unsigned char)*s);
}

/* Parses hex word at *p; returns 0 when libdpkg accepts it without warning. */
static int
parse_word(char **p, struct dpkg_version *v)
{
	struct dpkg_error err = DPKG_ERROR_INIT;
	char *s = unhex(p);
	int rc = parseversion(v, s, &err);

	free(s);
	dpkg_error_destroy(&err);
	return rc;
}

static enum dpkg_relation
relation(char **p)
{
	char *s = *p;
	size_t n = strcspn(s, " \n");
	enum dpkg_relation rel = DPKG_RELATION_NONE;

	if (n == 2 && strncmp(s, "<<", 2) == 0)
		rel = DPKG_RELATION_LT;
	else if (n == 2 && strncmp(s, "<=", 2) == 0)
		rel = DPKG_RELATION_LE;
	else if (n == 1 && s[0] == '=')
		rel = DPKG_RELATION_EQ;
	else if (n == 2 && strncmp(s, ">=", 2) == 0)
		rel = DPKG_RELATION_GE;
	else if (n == 2 && strncmp(s, ">>", 2) == 0)
		rel = DPKG_RELATION_GT;
	else {
		fprintf(stderr, "dpkg_oracle: bad relation\n");
		exit(2);
	}
	*p = s[n] == ' ' ? s + n + 1 : s + n;
	return rel;
}

int
main(void)
{
	char *line = NULL;
	size_t cap = 0;

	while (getline(&line, &cap, stdin) > 0) {
		char *p = line + 2;
		struct dpkg_version a, b;

		if (line[0] == 'p') {
			struct dpkg_error err = DPKG_ERROR_INIT;
			char *s = unhex(&p);

			if (parseversion(&a, s, &err) == 0) {
				printf("ok %u ", a.epoch);
				puthex(a.version);
				putchar(' ');
				puthex(a.revision);
				putchar('\n');
			} else {
				printf("bad %s %s\n",
				       err.type == DPKG_MSG_WARN ? "warn" : "error",
				       err.str);
			}
			free(s);
			dpkg_error_destroy(&err);
		} else if (line[0] == 'c') {
			int ok = parse_word(&p, &a) == 0;

			ok = parse_word(&p, &b) == 0 && ok;
			if (ok) {
				int rc = dpkg_version_compare(&a, &b);

				printf("%d\n", rc < 0 ? -1 : rc > 0);
			} else {
				puts("bad");
			}
		} else if (line[0] == 'r') {
			int ok = parse_word(&p, &a) == 0;
			enum dpkg_relation rel = relation(&p);

			ok = parse_word(&p, &b) == 0 && ok;
			if (ok)
				printf("%d\n", dpkg_version_relate(&a, rel, &b) ? 1 : 0);
			else
				puts("bad");
		} else {
			fprintf(stderr, "dpkg_oracle: unknown request\n");
			return 2;
		}
		nffreeall();
	}
	free(line);
	return fflush(stdout) == 0 ? 0 : 1;
}
