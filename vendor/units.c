/*
 * units - parse and format durations and byte sizes.
 *
 * All arithmetic is done in integers: with doubles "1.001s" rounds
 * down to 1000 ms, and sizes past 2^53 bytes lose whole bytes.
 */
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "units.h"

#define DIGITS		"0123456789"
#define NS_PER_MS	1000000LL

/*
 * Fraction digits past this place are ignored.  Even for an hour or a
 * pebibyte they are worth far less than a nanosecond or a byte, and
 * 10^18 is the largest power of ten that fits the arithmetic below.
 */
#define FRACDIG		18

/* A duration being summed: whole milliseconds plus the rest in ns. */
struct dur {
	long long	ms;
	long long	ns;	/* 0 <= ns < NS_PER_MS once carried */
};

static const struct {
	const char	*name;
	long long	 ns;
} durunits[] = {
	{ "ns", 1LL },
	{ "us", 1000LL },
	{ "\xc2\xb5s", 1000LL },	/* U+00B5 MICRO SIGN */
	{ "\xce\xbcs", 1000LL },	/* U+03BC GREEK SMALL LETTER MU */
	{ "ms", NS_PER_MS },
	{ "s", 1000 * NS_PER_MS },
	{ "m", 60 * 1000 * NS_PER_MS },
	{ "h", 60 * 60 * 1000 * NS_PER_MS },
};

static _Thread_local char errbuf[48];

static int
fail(const char **err, const char *msg)
{
	if (err != NULL)
		*err = msg;
	return -1;
}

/* Quote the offending unit, but only a bounded and printable part of it. */
static const char *
badunit(const char *u, size_t len)
{
	char		 q[20];
	unsigned char	 ch;
	size_t		 i, max = 16;

	for (i = 0; i < len && i < max; i++) {
		ch = (unsigned char)u[i];
		q[i] = (ch < 0x20 || ch == 0x7f) ? '?' : u[i];
	}
	q[i] = '\0';
	snprintf(errbuf, sizeof(errbuf), "unknown unit '%s%s'", q,
	    len > max ? "..." : "");
	return errbuf;
}

/* Problems common to both parsers, reported before any digit is read. */
static const char *
precheck(const char *s)
{
	const char	*p;

	if (*s == '\0')
		return "empty";
	for (p = s; *p != '\0'; p++)
		if (isspace((unsigned char)*p))
			return "whitespace";
	if (*s == '-')
		return "negative";
	if (*s == '+')
		return "sign not allowed";
	return NULL;
}

static int
nonzero(const char *p, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (p[i] != '0')
			return 1;
	return 0;
}

/*
 * floor(0.<digits> * unit), by long division so nothing overflows:
 * the value so far is q + r / 10^i, with r < 10^i.
 */
static unsigned long long
fracof(const char *p, size_t n, unsigned long long unit)
{
	unsigned long long	 q = 0, r = 0, pow = 1;
	size_t			 i;

	if (n > FRACDIG)
		n = FRACDIG;
	for (i = 0; i < n; i++) {
		pow *= 10;
		r = r * 10 + (unsigned long long)(p[i] - '0') * unit;
		q += r / pow;
		r %= pow;
	}
	return q;
}

static int
carry(struct dur *d)
{
	long long	c = d->ns / NS_PER_MS;

	if (d->ms > LLONG_MAX - c)
		return -1;
	d->ms += c;
	d->ns %= NS_PER_MS;
	return 0;
}

/*
 * Value of one <number><unit>.  Digits are folded in one at a time so
 * that "90000000000000000000000ns" works although its count of ns
 * would not fit in a long long.
 */
static int
component(struct dur *c, const char *ip, size_t ilen, const char *fp,
    size_t flen, long long unit)
{
	size_t	i;

	c->ms = c->ns = 0;
	for (i = 0; i < ilen; i++) {
		if (c->ms > LLONG_MAX / 10)
			return -1;
		c->ms *= 10;
		c->ns = c->ns * 10 + (ip[i] - '0') * unit;
		if (carry(c) == -1)
			return -1;
	}
	c->ns += (long long)fracof(fp, flen, (unsigned long long)unit);
	return carry(c);
}

static long long
durunit(const char *u, size_t len)
{
	size_t	i;

	for (i = 0; i < sizeof(durunits) / sizeof(durunits[0]); i++)
		if (strlen(durunits[i].name) == len &&
		    memcmp(durunits[i].name, u, len) == 0)
			return durunits[i].ns;
	return 0;
}

int
units_duration(const char *s, long long *ms, const char **err)
{
	struct dur	 t = { 0, 0 }, c;
	const char	*ip, *fp, *u, *msg;
	size_t		 ilen, flen, ulen;
	long long	 unit;
	int		 nz = 0;

	if ((msg = precheck(s)) != NULL)
		return fail(err, msg);
	/* Go's exception: a bare zero needs no unit. */
	if (strcmp(s, "0") == 0) {
		*ms = 0;
		return 0;
	}
	while (*s != '\0') {
		ip = s;
		ilen = strspn(s, DIGITS);
		s += ilen;
		fp = s;
		flen = 0;
		if (*s == '.') {
			fp = ++s;
			flen = strspn(s, DIGITS);
			s += flen;
		}
		if (ilen == 0 && flen == 0)
			return fail(err, "missing number");
		/* Like Go, a unit is anything up to the next number. */
		u = s;
		ulen = strcspn(s, DIGITS ".");
		s += ulen;
		if (ulen == 0)
			return fail(err, "missing unit");
		if ((unit = durunit(u, ulen)) == 0)
			return fail(err, badunit(u, ulen));
		if (component(&c, ip, ilen, fp, flen, unit) == -1 ||
		    t.ms > LLONG_MAX - c.ms)
			return fail(err, "overflow");
		t.ms += c.ms;
		t.ns += c.ns;
		if (carry(&t) == -1)
			return fail(err, "overflow");
		nz |= nonzero(ip, ilen) | nonzero(fp, flen);
	}
	/* Rounding "1us" down to 0 would turn a tiny timeout into none. */
	*ms = (t.ms == 0 && nz) ? 1 : t.ms;
	return 0;
}

/* Bits to shift by for a size unit, or -1. */
static int
sizeshift(const char *u)
{
	static const char	 pfx[] = "kmgtp";
	const char		*p;
	int			 shift = 0;

	if (*u != '\0' &&
	    (p = strchr(pfx, tolower((unsigned char)*u))) != NULL) {
		shift = 10 * (int)(p - pfx + 1);
		u++;
		if (tolower((unsigned char)*u) == 'i' &&
		    tolower((unsigned char)u[1]) == 'b')
			u++;
	}
	if (tolower((unsigned char)*u) == 'b')
		u++;
	return *u == '\0' ? shift : -1;
}

int
units_size(const char *s, long long *bytes, const char **err)
{
	unsigned long long	 v = 0, f;
	const char		*ip, *fp = "", *msg;
	size_t			 ilen, flen = 0, i;
	unsigned		 d;
	int			 shift;

	if ((msg = precheck(s)) != NULL)
		return fail(err, msg);
	ip = s;
	ilen = strspn(s, DIGITS);
	s += ilen;
	/* Docker wants digits on both sides of the point. */
	if (ilen == 0 && *s != '.')
		return fail(err, "missing number");
	if (*s == '.') {
		fp = ++s;
		flen = strspn(s, DIGITS);
		s += flen;
		if (ilen == 0 || flen == 0)
			return fail(err, "bad number");
	}
	if ((shift = sizeshift(s)) == -1)
		return fail(err, badunit(s, strlen(s)));
	for (i = 0; i < ilen; i++) {
		d = (unsigned)(ip[i] - '0');
		if (v > ((unsigned long long)LLONG_MAX - d) / 10)
			return fail(err, "overflow");
		v = v * 10 + d;
	}
	if (v > (unsigned long long)LLONG_MAX >> shift)
		return fail(err, "overflow");
	v <<= shift;
	f = fracof(fp, flen, 1ULL << shift);
	if (f > (unsigned long long)LLONG_MAX - v)
		return fail(err, "overflow");
	*bytes = (long long)(v + f);
	return 0;
}

/* Magnitude without the undefined behaviour of -LLONG_MIN. */
static unsigned long long
mag(long long x, const char **sign)
{
	*sign = x < 0 ? "-" : "";
	if (x < 0)
		return (unsigned long long)-(x + 1) + 1;
	return (unsigned long long)x;
}

char *
units_fmt_duration(long long ms, char *buf, size_t n)
{
	const char		*sg;
	unsigned long long	 v = mag(ms, &sg);

	if (v == 0)
		snprintf(buf, n, "0s");
	else if (v < 1000)
		snprintf(buf, n, "%s%llums", sg, v);
	else if (v < 60 * 1000ULL)
		snprintf(buf, n, "%s%llu.%llus", sg, v / 1000, v % 1000 / 100);
	else if (v < 60 * 60 * 1000ULL)
		snprintf(buf, n, "%s%llum%02llus", sg, v / 60000,
		    v / 1000 % 60);
	else if (v < 24 * 60 * 60 * 1000ULL)
		snprintf(buf, n, "%s%lluh%02llum", sg, v / 3600000,
		    v / 60000 % 60);
	else
		snprintf(buf, n, "%s%llud%02lluh", sg, v / 86400000,
		    v / 3600000 % 24);
	return buf;
}

char *
units_fmt_size(long long bytes, char *buf, size_t n)
{
	static const char	 sfx[] = "KMGTPE";
	const char		*sg;
	unsigned long long	 v = mag(bytes, &sg), whole, tenth;
	int			 i, shift;

	if (v < 1024) {
		snprintf(buf, n, "%s%lluB", sg, v);
		return buf;
	}
	for (i = 0; i < 5 && v >= 1ULL << (10 * (i + 2)); i++)
		;
	shift = 10 * (i + 1);
	whole = v >> shift;
	/* The remainder is below 2^60, so times ten still fits. */
	tenth = ((v & ((1ULL << shift) - 1)) * 10) >> shift;
	/* A tenth is noise next to two or more digits: "1.5K" but "10K". */
	if (whole < 10 && tenth != 0)
		snprintf(buf, n, "%s%llu.%llu%c", sg, whole, tenth, sfx[i]);
	else
		snprintf(buf, n, "%s%llu%c", sg, whole, sfx[i]);
	return buf;
}
