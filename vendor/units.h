/*
 * units - parse and format durations and byte sizes.
 *
 * Parsers accept no sign, no whitespace anywhere and no trailing junk.
 * On failure they return -1, leave the result untouched and, if err is
 * not NULL, point *err at a short message such as "missing unit".  The
 * message is static, except "unknown unit '...'", which lives in a
 * per-thread buffer that the next failing call overwrites.
 */
#ifndef UNITS_H
#define UNITS_H

#include <stddef.h>

/* Big enough for anything units_fmt_duration or units_fmt_size writes. */
#define UNITS_BUFSZ	24

/*
 * Go-style duration: one or more <number><unit>, e.g. "300ms", "1.5s",
 * "1h30m", "2h45m10s", or a lone "0".  Units: ns us µs μs ms s m h.
 * Numbers are decimal, with an optional fraction (".5s" and "1.s" work).
 * The sum is rounded down to milliseconds, but a non-zero duration
 * never becomes 0: anything below 1 ms is stored as 1 ms.
 */
int	 units_duration(const char *s, long long *ms, const char **err);

/*
 * Size like docker --memory: a decimal number with an optional fraction
 * ("1.5g") and an optional unit b k m g t p, case-insensitive, where the
 * multiples are binary (1k = 1024).  A k..p unit may be followed by "b"
 * or "ib" ("512MB", "1GiB").  Fractions of a byte are rounded down.
 */
int	 units_size(const char *s, long long *bytes, const char **err);

/*
 * Human-readable formatting, truncated rather than rounded so that no
 * value is overstated: "0s" "850ms" "1.2s" "59.9s" "3m04s" "2h05m"
 * "3d04h" and "512B" "1.5K" "500M" "2G".  Negative values get a "-".
 * Output is cut to fit n bytes, like snprintf.  Both return buf.
 */
char	*units_fmt_duration(long long ms, char *buf, size_t n);
char	*units_fmt_size(long long bytes, char *buf, size_t n);

#endif
