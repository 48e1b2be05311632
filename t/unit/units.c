/*
 * Table-driven TAP tests for vendor/units.c.
 *
 * Each table row is one test.  A row with err == NULL must parse to
 * want; any other row must fail with exactly that message.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "units.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))
#define MICRO		"\xc2\xb5"	/* U+00B5 MICRO SIGN */
#define MU		"\xce\xbc"	/* U+03BC GREEK SMALL LETTER MU */

struct pcase {
	const char	*in;
	long long	 want;
	const char	*err;
};

struct fcase {
	long long	 in;
	const char	*want;
};

static const struct pcase durs[] = {
	/* zero */
	{ "0", 0, NULL },
	{ "0s", 0, NULL },
	{ "0ns", 0, NULL },
	{ "0.0s", 0, NULL },
	{ "00s", 0, NULL },
	{ "0h0m0s0ms0us0ns", 0, NULL },
	/* every unit */
	{ "1ns", 1, NULL },
	{ "1us", 1, NULL },
	{ "1" MICRO "s", 1, NULL },
	{ "1" MU "s", 1, NULL },
	{ "1ms", 1, NULL },
	{ "1s", 1000, NULL },
	{ "1m", 60000, NULL },
	{ "1h", 3600000, NULL },
	/* plain values */
	{ "300ms", 300, NULL },
	{ "90s", 90000, NULL },
	{ "45m", 2700000, NULL },
	{ "72h", 259200000, NULL },
	{ "2000000ns", 2, NULL },
	{ "2500us", 2, NULL },
	{ "2500" MICRO "s", 2, NULL },
	{ "000000000000000000000000001s", 1000, NULL },
	/* compound */
	{ "1h30m", 5400000, NULL },
	{ "2h45m10s", 9910000, NULL },
	{ "1h1m1s1ms", 3661001, NULL },
	{ "1m1h", 3660000, NULL },
	{ "1s1s", 2000, NULL },
	{ "1s500ms", 1500, NULL },
	{ "1h0m0s", 3600000, NULL },
	{ "1ms999us999ns", 1, NULL },
	/* fractions */
	{ "1.5s", 1500, NULL },
	{ "0.5s", 500, NULL },
	{ ".5s", 500, NULL },
	{ "1.s", 1000, NULL },
	{ "1.2345678s", 1234, NULL },
	{ "1.5m", 90000, NULL },
	{ "0.1m", 6000, NULL },
	{ "1.5h", 5400000, NULL },
	{ "0.25h", 900000, NULL },
	{ "1.5h30.5m", 7230000, NULL },
	{ "0.3s", 300, NULL },
	{ "0.7s", 700, NULL },
	{ "1.001s", 1001, NULL },
	{ "1.9999ms", 1, NULL },
	{ "2.5us", 1, NULL },
	/* rounding: down to ms, but never from non-zero to zero */
	{ "1.0005s", 1000, NULL },
	{ "1999999ns", 1, NULL },
	{ "1999us", 1, NULL },
	{ "999999ns", 1, NULL },
	{ "0.0001s", 1, NULL },
	{ "1.5ns", 1, NULL },
	{ "0.000000000001h", 1, NULL },
	{ "0.0000000000000000000001s", 1, NULL },
	{ "0.000s", 0, NULL },
	/* parts are summed before rounding */
	{ "500us500us", 1, NULL },
	{ "600us600us", 1, NULL },
	{ "0.5ms0.5ms", 1, NULL },
	{ "999us1ms", 1, NULL },
	{ "0.6ms0.6ms0.6ms0.6ms", 2, NULL },
	/* upper boundary */
	{ "9223372036854775807ms", LLONG_MAX, NULL },
	{ "9223372036854775807.9ms", LLONG_MAX, NULL },
	{ "9223372036854775.807s", LLONG_MAX, NULL },
	{ "2562047788015h12m55s807ms", LLONG_MAX, NULL },
	{ "9223372036854775807ms999999ns", LLONG_MAX, NULL },
	{ "9223372036854775807999999ns", LLONG_MAX, NULL },
	{ "90000000000000000000000ns", 90000000000000000LL, NULL },
	{ "2562047788015h", 2562047788015LL * 3600000, NULL },
	{ "9223372036854775808ms", 0, "overflow" },
	{ "9223372036854775.808s", 0, "overflow" },
	{ "2562047788015h12m55s808ms", 0, "overflow" },
	{ "2562047788016h", 0, "overflow" },
	{ "9223372036854775807ms1ms", 0, "overflow" },
	{ "9223372036854775807ms1000000ns", 0, "overflow" },
	{ "9223372036854775808000000ns", 0, "overflow" },
	{ "99999999999999999999h", 0, "overflow" },
	{ "99999999999999999999999999999s", 0, "overflow" },
	{ "1h9223372036854775807ms", 0, "overflow" },
	/* errors */
	{ "", 0, "empty" },
	{ "-1s", 0, "negative" },
	{ "-0", 0, "negative" },
	{ "+1s", 0, "sign not allowed" },
	{ " 1s", 0, "whitespace" },
	{ "1s ", 0, "whitespace" },
	{ "1 s", 0, "whitespace" },
	{ "1h 30m", 0, "whitespace" },
	{ "1s\n", 0, "whitespace" },
	{ "\t1s", 0, "whitespace" },
	{ "1", 0, "missing unit" },
	{ "10", 0, "missing unit" },
	{ "00", 0, "missing unit" },
	{ "1.5", 0, "missing unit" },
	{ "1h30", 0, "missing unit" },
	{ "1..5s", 0, "missing unit" },
	{ "1.2.3s", 0, "missing unit" },
	{ "s", 0, "missing number" },
	{ ".", 0, "missing number" },
	{ ".s", 0, "missing number" },
	{ "1h.", 0, "missing number" },
	{ "1s.m", 0, "missing number" },
	{ "1d", 0, "unknown unit 'd'" },
	{ "1w", 0, "unknown unit 'w'" },
	{ "1S", 0, "unknown unit 'S'" },
	{ "1H", 0, "unknown unit 'H'" },
	{ "1Ms", 0, "unknown unit 'Ms'" },
	{ "1sec", 0, "unknown unit 'sec'" },
	{ "1hr", 0, "unknown unit 'hr'" },
	{ "1mss", 0, "unknown unit 'mss'" },
	{ "1s!", 0, "unknown unit 's!'" },
	{ "1h-5m", 0, "unknown unit 'h-'" },
	{ "1h_30m", 0, "unknown unit 'h_'" },
	{ "1" MICRO, 0, "unknown unit '" MICRO "'" },
	{ "1\001", 0, "unknown unit '?'" },
	{ "1e3s", 0, "unknown unit 'e'" },
	{ "0x10s", 0, "unknown unit 'x'" },
	{ "1abcdefghijklmnopqrstuvwxyz", 0,
	    "unknown unit 'abcdefghijklmnop...'" },
	{ "1h30m5", 0, "missing unit" },
};

static const struct pcase sizes[] = {
	/* plain bytes */
	{ "0", 0, NULL },
	{ "1", 1, NULL },
	{ "512", 512, NULL },
	{ "512b", 512, NULL },
	{ "512B", 512, NULL },
	{ "000512", 512, NULL },
	{ "0b", 0, NULL },
	{ "0g", 0, NULL },
	/* every unit and spelling */
	{ "1k", 1024, NULL },
	{ "1K", 1024, NULL },
	{ "1kb", 1024, NULL },
	{ "1KB", 1024, NULL },
	{ "1kB", 1024, NULL },
	{ "1kib", 1024, NULL },
	{ "1KiB", 1024, NULL },
	{ "1KIB", 1024, NULL },
	{ "1m", 1048576, NULL },
	{ "1M", 1048576, NULL },
	{ "512MB", 536870912, NULL },
	{ "512MiB", 536870912, NULL },
	{ "1g", 1073741824, NULL },
	{ "1G", 1073741824, NULL },
	{ "1GiB", 1073741824, NULL },
	{ "2t", 2199023255552LL, NULL },
	{ "2TB", 2199023255552LL, NULL },
	{ "1p", 1125899906842624LL, NULL },
	{ "1PiB", 1125899906842624LL, NULL },
	/* fractions, rounded down to whole bytes */
	{ "1.5g", 1610612736, NULL },
	{ "0.5k", 512, NULL },
	{ "0.1k", 102, NULL },
	{ "1.0009765625k", 1025, NULL },
	{ "1.0009765624k", 1024, NULL },
	{ "2.04g", 2190433320LL, NULL },
	{ "1.5", 1, NULL },
	{ "0.5", 0, NULL },
	{ "0.5b", 0, NULL },
	{ "1.25MB", 1310720, NULL },
	/* upper boundary */
	{ "9223372036854775807", LLONG_MAX, NULL },
	{ "9223372036854775807b", LLONG_MAX, NULL },
	{ "9007199254740991k", 9223372036854774784LL, NULL },
	{ "9007199254740991.999k", 9223372036854775806LL, NULL },
	{ "9007199254740991.9999999k", LLONG_MAX, NULL },
	{ "8191p", 9222246136947933184LL, NULL },
	{ "9007199254740993", 9007199254740993LL, NULL },
	{ "8191.999999999p", 9223372036853649908LL, NULL },
	{ "9223372036854775807.99", LLONG_MAX, NULL },
	{ "9223372036854775808", 0, "overflow" },
	{ "9007199254740992k", 0, "overflow" },
	{ "8192p", 0, "overflow" },
	{ "8388608t", 0, "overflow" },
	{ "99999999999999999999", 0, "overflow" },
	{ "99999999999999999999999999g", 0, "overflow" },
	/* errors */
	{ "", 0, "empty" },
	{ "-1", 0, "negative" },
	{ "-1g", 0, "negative" },
	{ "+1g", 0, "sign not allowed" },
	{ " 1g", 0, "whitespace" },
	{ "1g ", 0, "whitespace" },
	{ "1 g", 0, "whitespace" },
	{ "1\tg", 0, "whitespace" },
	{ "1g\n", 0, "whitespace" },
	{ "g", 0, "missing number" },
	{ "kb", 0, "missing number" },
	{ ".5g", 0, "bad number" },
	{ "1.g", 0, "bad number" },
	{ "1.", 0, "bad number" },
	{ "1..5g", 0, "bad number" },
	{ "1.5.5g", 0, "unknown unit '.5g'" },
	{ "1x", 0, "unknown unit 'x'" },
	{ "1kk", 0, "unknown unit 'kk'" },
	{ "1bb", 0, "unknown unit 'bb'" },
	{ "1ib", 0, "unknown unit 'ib'" },
	{ "1ki", 0, "unknown unit 'ki'" },
	{ "1kibb", 0, "unknown unit 'kibb'" },
	{ "1bk", 0, "unknown unit 'bk'" },
	{ "1e", 0, "unknown unit 'e'" },
	{ "1e3", 0, "unknown unit 'e3'" },
	{ "1gb!", 0, "unknown unit 'gb!'" },
	{ "0x10", 0, "unknown unit 'x10'" },
	{ "1,5g", 0, "unknown unit ',5g'" },
};

static const struct fcase fdurs[] = {
	{ 0, "0s" },
	{ 1, "1ms" },
	{ 850, "850ms" },
	{ 999, "999ms" },
	{ 1000, "1.0s" },
	{ 1200, "1.2s" },
	{ 1299, "1.2s" },
	{ 59900, "59.9s" },
	{ 59999, "59.9s" },
	{ 60000, "1m00s" },
	{ 184000, "3m04s" },
	{ 184999, "3m04s" },
	{ 3599999, "59m59s" },
	{ 3600000, "1h00m" },
	{ 7500000, "2h05m" },
	{ 86399999, "23h59m" },
	{ 86400000, "1d00h" },
	{ 273600000, "3d04h" },
	{ 8640000000LL, "100d00h" },
	{ LLONG_MAX, "106751991167d07h" },
	{ -1, "-1ms" },
	{ -1500, "-1.5s" },
	{ -184000, "-3m04s" },
	{ LLONG_MIN, "-106751991167d07h" },
};

static const struct fcase fsizes[] = {
	{ 0, "0B" },
	{ 1, "1B" },
	{ 512, "512B" },
	{ 1023, "1023B" },
	{ 1024, "1K" },
	{ 1535, "1.4K" },
	{ 1536, "1.5K" },
	{ 10239, "9.9K" },
	{ 10240, "10K" },
	{ 10751, "10K" },
	{ 1048575, "1023K" },
	{ 1048576, "1M" },
	{ 524288000, "500M" },
	{ 1610612736, "1.5G" },
	{ 2147483648LL, "2G" },
	{ 2190433320LL, "2G" },
	{ 2199023255552LL, "2T" },
	{ 1125899906842624LL, "1P" },
	{ 1152921504606846976LL, "1E" },
	{ LLONG_MAX, "7.9E" },
	{ -1, "-1B" },
	{ -1536, "-1.5K" },
	{ LLONG_MIN, "-8E" },
};

static int	 ntest, nfail;

/* Write s as a C string literal, so odd bytes and '#' stay out of TAP. */
static void
quote(const char *s)
{
	const unsigned char	*p;

	putchar('"');
	for (p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p < 0x20 || *p >= 0x7f || *p == '#' || *p == '"' ||
		    *p == '\\')
			printf("\\x%02x", *p);
		else
			putchar(*p);
	putchar('"');
}

static void
result(int ok)
{
	ntest++;
	if (!ok)
		nfail++;
	printf("%sok %d - ", ok ? "" : "not ", ntest);
}

static void
got(int rc, long long v, const char *err)
{
	if (rc == 0)
		printf("%lld", v);
	else {
		printf("error ");
		quote(err);
	}
}

static void
checkparse(const char *what, int (*fn)(const char *, long long *,
    const char **), const struct pcase *c)
{
	long long	 v = -42;
	const char	*err = NULL;
	int		 rc, ok;

	rc = fn(c->in, &v, &err);
	if (c->err == NULL)
		ok = rc == 0 && v == c->want;
	else
		ok = rc == -1 && v == -42 && err != NULL &&
		    strcmp(err, c->err) == 0;
	result(ok);
	printf("%s ", what);
	quote(c->in);
	printf(" -> ");
	got(c->err == NULL ? 0 : -1, c->want, c->err);
	putchar('\n');
	if (ok)
		return;
	printf("# got ");
	got(rc, v, err == NULL ? "(null)" : err);
	printf(" expected ");
	got(c->err == NULL ? 0 : -1, c->want, c->err);
	putchar('\n');
}

static void
checkfmt(const char *what, char *(*fn)(long long, char *, size_t),
    const struct fcase *c)
{
	char	 buf[UNITS_BUFSZ], *r;
	int	 ok;

	memset(buf, 'X', sizeof(buf));
	r = fn(c->in, buf, sizeof(buf));
	ok = r == buf && strcmp(buf, c->want) == 0;
	result(ok);
	printf("%s %lld -> ", what, c->in);
	quote(c->want);
	putchar('\n');
	if (ok)
		return;
	printf("# got ");
	quote(r == buf ? buf : "(wrong pointer)");
	printf(" expected ");
	quote(c->want);
	putchar('\n');
}

static void
checkstr(const char *desc, const char *gotstr, const char *want)
{
	int	ok = strcmp(gotstr, want) == 0;

	result(ok);
	printf("%s\n", desc);
	if (ok)
		return;
	printf("# got ");
	quote(gotstr);
	printf(" expected ");
	quote(want);
	putchar('\n');
}

/* Things a table row cannot say. */
static void
misc(void)
{
	char		 buf[UNITS_BUFSZ], small[4];
	long long	 v;
	const char	*err = "untouched";

	checkstr("duration accepts a NULL err",
	    units_duration("1d", &v, NULL) == -1 ? "-1" : "0", "-1");
	checkstr("size accepts a NULL err",
	    units_size("1x", &v, NULL) == -1 ? "-1" : "0", "-1");
	units_duration("1s", &v, &err);
	checkstr("duration leaves err alone on success", err, "untouched");
	units_size("1k", &v, &err);
	checkstr("size leaves err alone on success", err, "untouched");

	/* The unknown-unit buffer is reused; a static message is not. */
	units_duration("1d", &v, &err);
	units_duration("1w", &v, NULL);
	checkstr("unknown unit message is overwritten by the next failure",
	    err, "unknown unit 'w'");
	units_duration("", &v, &err);
	units_duration("1d", &v, NULL);
	checkstr("static message survives the next failure", err, "empty");

	checkstr("fmt_duration truncates to n", units_fmt_duration(184000,
	    small, sizeof(small)), "3m0");
	checkstr("fmt_size truncates to n", units_fmt_size(1536, small,
	    sizeof(small)), "1.5");
	memcpy(buf, "keep", 5);
	checkstr("fmt_duration with n == 0 writes nothing",
	    units_fmt_duration(1, buf, 0), "keep");
	checkstr("fmt_size with n == 0 writes nothing",
	    units_fmt_size(1, buf, 0), "keep");
	checkstr("fmt_duration with n == 1 writes an empty string",
	    units_fmt_duration(1, buf, 1), "");

	/* Round trips through both directions. */
	units_size("1.5g", &v, NULL);
	checkstr("size 1.5g formats back as 1.5G",
	    units_fmt_size(v, buf, sizeof(buf)), "1.5G");
	units_duration("2h45m10s", &v, NULL);
	checkstr("duration 2h45m10s formats as 2h45m",
	    units_fmt_duration(v, buf, sizeof(buf)), "2h45m");
}

int
main(void)
{
	size_t	i;

	for (i = 0; i < NELEM(durs); i++)
		checkparse("duration", units_duration, &durs[i]);
	for (i = 0; i < NELEM(sizes); i++)
		checkparse("size", units_size, &sizes[i]);
	for (i = 0; i < NELEM(fdurs); i++)
		checkfmt("fmt_duration", units_fmt_duration, &fdurs[i]);
	for (i = 0; i < NELEM(fsizes); i++)
		checkfmt("fmt_size", units_fmt_size, &fsizes[i]);
	misc();
	/* A trailing plan: a crash before here is then a failure too. */
	printf("1..%d\n", ntest);
	if (nfail > 0)
		printf("# failed %d of %d\n", nfail, ntest);
	return nfail > 0;
}
