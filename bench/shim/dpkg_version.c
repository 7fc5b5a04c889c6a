/*
 * libdpkg's version parser for the benchmarks: parseversion() behind a
 * function with a plain signature. dpkg_version_compare() itself is called
 * directly from Rust. The strings of a parsed version live in libdpkg's
 * obstack allocator until nffreeall(), which the benchmarks never call.
 */
#define LIBDPKG_VOLATILE_API 1

#include <stddef.h>

#include <dpkg/dpkg.h>
#include <dpkg/dpkg-db.h>
#include <dpkg/error.h>
#include <dpkg/version.h>

size_t
debpull_bench_dpkg_version_size(void)
{
	return sizeof(struct dpkg_version);
}

int
debpull_bench_dpkg_parse(struct dpkg_version *out, const char *s)
{
	struct dpkg_error err = DPKG_ERROR_INIT;
	int rc = parseversion(out, s, &err);

	dpkg_error_destroy(&err);
	return rc;
}
