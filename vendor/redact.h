/*
 * redact - cut secret values out of text.
 *
 * At each position the longest value that matches is cut: with the
 * values "pass" and "password123", "password123" leaves no "word123" in
 * the clear.  Empty values never match.
 */
#ifndef REDACT_H
#define REDACT_H

#include <stddef.h>

/* The marker each cut value is replaced by. */
#define REDACTED	"[REDACTED]"

/*
 * The length of the longest of the n values v that s (len bytes, not
 * necessarily NUL-terminated) starts with, or 0.
 */
size_t	 redact_match(const char *const *v, size_t n, const char *s,
	    size_t len);

/*
 * s with every value of v replaced by REDACTED, in a new string
 * (malloc'd); s is freed.  NULL stays NULL.  Running out of memory ends
 * the process (exit 1).
 */
char	*redact_str(const char *const *v, size_t n, char *s);

#endif
