/*
 * libFuzzer target for vendor/cron.c: the input is a cron expression.
 *
 *	clang -g -O1 -fsanitize=fuzzer,address,undefined -Ivendor \
 *	    t/fuzz/cron_fuzz.c vendor/cron.c -o /tmp/cron_fuzz
 *	/tmp/cron_fuzz -max_total_time=60 t/fuzz/corpus/cron
 *
 * Besides crashes and hangs it checks, in UTC (no offset changes, so
 * every firing is a time the fields match): a refused expression leaves
 * the result untouched and says why; a firing found lies after the time
 * asked about, on a whole second, and matches every field by cron's day
 * rule; no time between the two fires (asking again from half-way, or
 * from just before, finds the same firing); the next one is later.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cron.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define BIT(set, n)	(((set) >> (n)) & 1)

static int
matches(const struct cron *c, long long ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	int md, wd;

	if (gmtime_r(&t, &tm) == NULL)
		return 0;
	md = BIT(c->mday, tm.tm_mday);
	wd = BIT(c->wday, tm.tm_wday);
	if (!BIT(c->sec, tm.tm_sec) || !BIT(c->min, tm.tm_min) ||
	    !BIT(c->hour, tm.tm_hour) || !BIT(c->mon, tm.tm_mon + 1))
		return 0;
	if (c->flags & (CRON_MDAYSTAR | CRON_WDAYSTAR))
		return md && wd;
	return md || wd;
}

/* Times asked about: an ordinary one, a leap day's eve, a year's last second. */
static const long long starts[] = {
	1700000000123LL,	/* 2023-11-14 22:13:20.123 */
	1709164799000LL,	/* 2024-02-28 23:59:59 */
	1735689599999LL,	/* 2024-12-31 23:59:59.999 */
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int init;
	struct cron c, before;
	const char *why = NULL;
	long long t, n, m;
	size_t i;
	char *s;

	if (!init) {
		setenv("TZ", "UTC0", 1);
		tzset();
		init = 1;
	}
	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	memset(&c, 0xa5, sizeof(c));
	before = c;
	if (cron_parse(s, &c, &why) < 0) {
		if (why == NULL || *why == '\0' || memcmp(&c, &before, sizeof(c)))
			__builtin_trap();
		free(s);
		return 0;
	}
	free(s);
	for (i = 0; i < sizeof(starts) / sizeof(starts[0]); i++) {
		t = starts[i];
		if ((n = cron_next(&c, t)) == -1)
			continue;
		if (n <= t || n % 1000 != 0 || !matches(&c, n))
			__builtin_trap();
		if (cron_next(&c, t + (n - t) / 2) != n || cron_next(&c, n - 1) != n)
			__builtin_trap();
		if ((m = cron_next(&c, n)) != -1 && (m <= n || !matches(&c, m)))
			__builtin_trap();
	}
	return 0;
}
