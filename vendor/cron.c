/*
 * cron - parse cron expressions and find when they next fire.
 *
 * The next firing is looked for in local time, by calendar arithmetic
 * on "wall" seconds (the local date and time counted as if they were
 * UTC), skipping whole months, days and hours that do not match.  Each
 * wall time found is then turned into the instants that show it, with
 * localtime_r alone.  mktime is not used: what it makes of a time that
 * is skipped or repeated differs between C libraries.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cron.h"

#define DAY		86400LL
#define ALLHOURS	0xffffffu
#define YEARS		5	/* how far ahead cron_next looks */
#define FIRST		(-62135596800LL - DAY)	/* 0001-01-01 UTC, a day more */
#define LAST		(253402300800LL + DAY)	/* 10000-01-01 UTC */

enum { SEC, MIN, HOUR, MDAY, MON, WDAY, NFIELD };

static const char *const monnames[] = {
	"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
	"JUL", "AUG", "SEP", "OCT", "NOV", "DEC", NULL
};
static const char *const daynames[] = {
	"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT", NULL
};

static const struct field {
	const char		*name;
	int			 lo, hi;	/* what "*" means */
	int			 max;		/* the largest value one may write */
	const char *const	*names;		/* names[i] is lo + i */
} fields[NFIELD] = {
	{ "second", 0, 59, 59, NULL },
	{ "minute", 0, 59, 59, NULL },
	{ "hour", 0, 23, 23, NULL },
	{ "day of month", 1, 31, 31, NULL },
	{ "month", 1, 12, 12, monnames },
	{ "day of week", 0, 6, 7, daynames },	/* 7 is Sunday again */
};

static const struct {
	const char	*name;
	const char	*expr;
} macros[] = {
	{ "@yearly", "0 0 1 1 *" },
	{ "@annually", "0 0 1 1 *" },
	{ "@monthly", "0 0 1 * *" },
	{ "@weekly", "0 0 * * 0" },
	{ "@daily", "0 0 * * *" },
	{ "@midnight", "0 0 * * *" },
	{ "@hourly", "0 * * * *" },
};

/* The field being parsed. */
struct parser {
	const char		*p, *end;
	int			 idx;		/* into fields[] */
	int			 num;		/* its place in the expression */
	const char		**why;
};

/* A local date and time. */
struct wall {
	int	y, mon, d, h, mi, s;
};

static _Thread_local char errbuf[96];

/* Own tests, so that no locale makes a letter of a byte above 0x7f. */
static int
blank(char ch)
{
	return ch == ' ' || (ch >= '\t' && ch <= '\r');
}

static int
digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

static int
letter(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

static int
failmsg(const char **why, const char *msg)
{
	if (why != NULL)
		*why = msg;
	return -1;
}

static int
fail(struct parser *ps, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	n = snprintf(errbuf, sizeof(errbuf), "field %d (%s): ", ps->num,
	    fields[ps->idx].name);
	va_start(ap, fmt);
	vsnprintf(errbuf + n, sizeof(errbuf) - n, fmt, ap);
	va_end(ap);
	return failmsg(ps->why, errbuf);
}

/* A bounded, printable copy of s for a message. */
static const char *
quote(const char *s, size_t len, char *buf, size_t n)
{
	unsigned char	ch;
	size_t		i, max = n - 4;

	for (i = 0; i < len && i < max; i++) {
		ch = (unsigned char)s[i];
		buf[i] = (ch < 0x20 || ch >= 0x7f) ? '?' : s[i];
	}
	if (len > max) {
		memcpy(buf + i, "...", 3);
		i += 3;
	}
	buf[i] = '\0';
	return buf;
}

static int
unexpected(struct parser *ps)
{
	unsigned char	ch = (unsigned char)*ps->p;

	if (ch < 0x20 || ch >= 0x7f)
		return fail(ps, "unexpected byte 0x%02x", ch);
	return fail(ps, "unexpected '%c'", ch);
}

/* Digits, saturated past any field's range. */
static int
number(struct parser *ps)
{
	int	n = 0;

	for (; ps->p < ps->end && digit(*ps->p); ps->p++)
		if (n < 1000)
			n = n * 10 + (*ps->p - '0');
	return n;
}

/* A number or a name, after what (NULL at the start of an item). */
static int
value(struct parser *ps, int *v, const char *what)
{
	const struct field	*f = &fields[ps->idx];
	const char		*s = ps->p;
	char			 q[20];
	size_t			 len;
	int			 i;

	if (s == ps->end || *s == ',')
		return fail(ps, "missing value after '%s'", what);
	if (digit(*s)) {
		*v = number(ps);
		if (*v < f->lo || *v > f->max)
			return fail(ps, "%s is out of range %d-%d",
			    quote(s, ps->p - s, q, sizeof(q)), f->lo, f->max);
		return 0;
	}
	if (!letter(*s) || f->names == NULL)
		return unexpected(ps);
	for (len = 0; s + len < ps->end && letter(s[len]); len++)
		;
	for (i = 0; f->names[i] != NULL; i++)
		if (len == 3 && strncasecmp(s, f->names[i], 3) == 0) {
			*v = f->lo + i;
			ps->p += len;
			return 0;
		}
	return fail(ps, "unknown name '%s'", quote(s, len, q, sizeof(q)));
}

static int
step(struct parser *ps, int *n)
{
	const struct field	*f = &fields[ps->idx];
	const char		*s = ps->p;
	char			 q[20];
	int			 size = f->hi - f->lo + 1;

	if (s == ps->end || *s == ',')
		return fail(ps, "missing step after '/'");
	if (!digit(*s))
		return unexpected(ps);
	*n = number(ps);
	/* A step as long as the field still means something: its start. */
	if (*n < 1 || *n > size)
		return fail(ps, "step %s is out of range 1-%d",
		    quote(s, ps->p - s, q, sizeof(q)), size);
	return 0;
}

/* One item of a list, added to *set. */
static int
item(struct parser *ps, uint64_t *set)
{
	const struct field	*f = &fields[ps->idx];
	const char		*s = ps->p;
	char			 q[20];
	int			 lo, hi, by = 1, v, single = 0;

	if (s == ps->end || *s == ',')
		return fail(ps, "empty list item");
	if (*s == '*' || (*s == '?' && (ps->idx == MDAY || ps->idx == WDAY))) {
		ps->p++;
		lo = f->lo;
		hi = f->hi;
	} else {
		if (value(ps, &lo, NULL) == -1)
			return -1;
		hi = lo;
		single = 1;
		if (ps->p < ps->end && *ps->p == '-') {
			single = 0;
			ps->p++;
			if (value(ps, &hi, "-") == -1)
				return -1;
			/* SUN ending a range is 7, so that FRI-SUN works. */
			if (ps->idx == WDAY && hi == 0 && lo > 0 &&
			    letter(ps->p[-1]))
				hi = 7;
			if (hi < lo)
				return fail(ps, "range %s is reversed",
				    quote(s, ps->p - s, q, sizeof(q)));
		}
	}
	if (ps->p < ps->end && *ps->p == '/') {
		ps->p++;
		if (step(ps, &by) == -1)
			return -1;
		/* "a/n" is "a-max/n"; "7/n" in day of week is Sunday. */
		if (single && hi < f->hi)
			hi = f->hi;
	}
	if (ps->p < ps->end && *ps->p != ',')
		return unexpected(ps);
	for (v = lo; v <= hi; v += by)
		*set |= 1ULL << (ps->idx == WDAY && v == 7 ? 0 : v);
	return 0;
}

static int
list(struct parser *ps, uint64_t *set)
{
	*set = 0;
	for (;;) {
		if (item(ps, set) == -1)
			return -1;
		if (ps->p == ps->end)
			return 0;
		ps->p++;	/* the comma */
	}
}

static const char *
skipblanks(const char *s)
{
	while (blank(*s))
		s++;
	return s;
}

static int
macro(const char *s, struct cron *c, const char **why)
{
	const char	*rest;
	char		 q[24];
	size_t		 len, i;

	for (len = 0; s[len] != '\0' && !blank(s[len]); len++)
		;
	rest = skipblanks(s + len);
	for (i = 0; i < sizeof(macros) / sizeof(macros[0]); i++) {
		if (strlen(macros[i].name) != len ||
		    strncasecmp(s, macros[i].name, len) != 0)
			continue;
		if (*rest != '\0') {
			snprintf(errbuf, sizeof(errbuf),
			    "unexpected text after %s", macros[i].name);
			return failmsg(why, errbuf);
		}
		return cron_parse(macros[i].expr, c, why);
	}
	snprintf(errbuf, sizeof(errbuf), "unknown macro '%s'",
	    quote(s, len, q, sizeof(q)));
	return failmsg(why, errbuf);
}

int
cron_parse(const char *expr, struct cron *c, const char **why)
{
	struct parser	 ps;
	const char	*beg[NFIELD], *end[NFIELD], *s = skipblanks(expr);
	uint64_t	 set[NFIELD];
	int		 n, i, first;

	if (*s == '@')
		return macro(s, c, why);
	for (n = 0; *s != '\0'; n++, s = skipblanks(s)) {
		if (n < NFIELD)
			beg[n] = s;
		while (*s != '\0' && !blank(*s))
			s++;
		if (n < NFIELD)
			end[n] = s;
	}
	if (n == 0)
		return failmsg(why, "empty expression");
	if (n != 5 && n != 6) {
		snprintf(errbuf, sizeof(errbuf),
		    "expected 5 or 6 fields, got %d", n);
		return failmsg(why, errbuf);
	}
	first = n == 5 ? MIN : SEC;
	set[SEC] = 1;
	for (i = first; i < NFIELD; i++) {
		ps.p = beg[i - first];
		ps.end = end[i - first];
		ps.idx = i;
		ps.num = i - first + 1;
		ps.why = why;
		if (list(&ps, &set[i]) == -1)
			return -1;
	}
	c->sec = set[SEC];
	c->min = set[MIN];
	c->hour = (uint32_t)set[HOUR];
	c->mday = (uint32_t)set[MDAY];
	c->mon = (uint16_t)set[MON];
	c->wday = (uint8_t)set[WDAY];
	/* Vixie cron looks at the first character only; so do we. */
	c->flags = 0;
	if (*beg[MDAY - first] == '*' || *beg[MDAY - first] == '?')
		c->flags |= CRON_MDAYSTAR;
	if (*beg[WDAY - first] == '*' || *beg[WDAY - first] == '?')
		c->flags |= CRON_WDAYSTAR;
	return 0;
}

static long long
floordiv(long long a, long long b)
{
	return a / b - (a % b < 0);
}

/* Days since 1970-01-01 in the proleptic Gregorian calendar (Hinnant). */
static long long
daynum(long long y, int m, int d)
{
	long long	era, yoe, doy, doe;

	y -= m <= 2;
	era = floordiv(y, 400);
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void
towall(long long n, struct wall *w)
{
	long long	z, era, doe, yoe, doy, mp, sod;

	z = floordiv(n, DAY);
	sod = n - z * DAY;
	z += 719468;
	era = floordiv(z, 146097);
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	w->d = (int)(doy - (153 * mp + 2) / 5 + 1);
	w->mon = (int)(mp < 10 ? mp + 3 : mp - 9);
	w->y = (int)(yoe + era * 400 + (w->mon <= 2));
	w->h = (int)(sod / 3600);
	w->mi = (int)(sod / 60 % 60);
	w->s = (int)(sod % 60);
}

static long long
fromwall(const struct wall *w)
{
	return daynum(w->y, w->mon, w->d) * DAY + w->h * 3600 +
	    w->mi * 60 + w->s;
}

/* The wall time at instant t. */
static int
local(long long t, long long *n)
{
	struct tm	tm;
	time_t		tt = (time_t)t;

	if ((long long)tt != t || localtime_r(&tt, &tm) == NULL)
		return -1;
	*n = daynum(tm.tm_year + 1900LL, tm.tm_mon + 1, tm.tm_mday) * DAY +
	    tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec;
	return 0;
}

/* Cannot fail for the years cron_next lets through; 0 if it did. */
static long long
offset(long long t)
{
	long long	n;

	return local(t, &n) == -1 ? 0 : n - t;
}

/* The first instant in (lo, hi] whose offset is not lo's. */
static long long
transition(long long lo, long long hi)
{
	long long	o = offset(lo), mid;

	while (hi - lo > 1) {
		mid = lo + (hi - lo) / 2;
		if (offset(mid) == o)
			lo = mid;
		else
			hi = mid;
	}
	return hi;
}

static int
mdays(int y, int m)
{
	static const int	n[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30,
				    31, 30, 31 };

	if (m == 2 && y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))
		return 29;
	return n[m - 1];
}

static int
nextbit(uint64_t set, int from, int max)
{
	for (; from <= max; from++)
		if (set & 1ULL << from)
			return from;
	return -1;
}

static int
daymatch(const struct cron *c, const struct wall *w)
{
	long long	z = daynum(w->y, w->mon, w->d);
	int		md, wd;

	md = (c->mday >> w->d) & 1;
	/* 1970-01-01 was a Thursday. */
	wd = (c->wday >> (int)(z + 4 - floordiv(z + 4, 7) * 7)) & 1;
	if (c->flags & (CRON_MDAYSTAR | CRON_WDAYSTAR))
		return md && wd;
	return md || wd;
}

static void
nextday(struct wall *w)
{
	w->h = w->mi = w->s = 0;
	if (++w->d <= mdays(w->y, w->mon))
		return;
	w->d = 1;
	if (++w->mon > 12) {
		w->mon = 1;
		w->y++;
	}
}

static void
nexthour(struct wall *w)
{
	w->mi = w->s = 0;
	if (++w->h > 23)
		nextday(w);
}

static void
nextminute(struct wall *w)
{
	w->s = 0;
	if (++w->mi > 59)
		nexthour(w);
}

/* The first wall time in [n, limit] that c matches, or -1. */
static long long
nextwall(const struct cron *c, long long n, long long limit)
{
	struct wall	w, l;
	int		v;

	if (n > limit)
		return -1;
	towall(n, &w);
	towall(limit, &l);
	while (w.y <= l.y) {
		if ((v = nextbit(c->mon, w.mon, 12)) == -1) {
			w.y++;
			w.mon = w.d = 1;
			w.h = w.mi = w.s = 0;
			continue;
		}
		if (v != w.mon) {
			w.mon = v;
			w.d = 1;
			w.h = w.mi = w.s = 0;
		}
		if (!daymatch(c, &w) ||
		    (v = nextbit(c->hour, w.h, 23)) == -1) {
			nextday(&w);
			continue;
		}
		if (v != w.h) {
			w.h = v;
			w.mi = w.s = 0;
		}
		if ((v = nextbit(c->min, w.mi, 59)) == -1) {
			nexthour(&w);
			continue;
		}
		if (v != w.mi) {
			w.mi = v;
			w.s = 0;
		}
		if ((v = nextbit(c->sec, w.s, 59)) == -1) {
			nextminute(&w);
			continue;
		}
		w.s = v;
		n = fromwall(&w);
		return n <= limit ? n : -1;
	}
	return -1;
}

/*
 * The instants that show wall time n: none when it falls in a gap, two
 * when it repeats.  The offsets a day either side are those around any
 * change near n.
 */
struct when {
	int		cnt;
	long long	t[2];		/* earliest first */
	long long	ob, oa;		/* the offsets before and after */
};

static void
when(long long n, struct when *wh)
{
	long long	x;

	wh->cnt = 0;
	wh->ob = offset(n - DAY);
	wh->oa = offset(n + DAY);
	if (offset(n - wh->ob) == wh->ob)
		wh->t[wh->cnt++] = n - wh->ob;
	if (wh->oa != wh->ob && offset(n - wh->oa) == wh->oa)
		wh->t[wh->cnt++] = n - wh->oa;
	if (wh->cnt == 2 && wh->t[0] > wh->t[1]) {
		x = wh->t[0];
		wh->t[0] = wh->t[1];
		wh->t[1] = x;
	}
}

/* Where the walk goes on from n: m, but forward whatever m is. */
static long long
later(long long n, long long m)
{
	return m > n ? m : n + 1;
}

/*
 * The first firing at or after start among wall times from n on.  Wall
 * time is walked forward, so this misses only the second pass through
 * a repeated hour that start is in the first pass of (secondpass).
 */
static long long
walk(const struct cron *c, long long start, long long n, long long limit,
    int fixed)
{
	struct when	wh;
	long long	t;

	while ((n = nextwall(c, n, limit)) != -1) {
		when(n, &wh);
		if (wh.cnt == 0 && wh.oa > wh.ob) {
			/* Skipped: t is the first instant after the gap. */
			t = transition(n - wh.oa, n - wh.ob);
			if (fixed && t >= start)
				return t;
			n = later(n, t + wh.oa);
			continue;
		}
		if (wh.cnt == 2 && wh.t[0] < start) {
			/* Repeated, and start is past the first time. */
			if (!fixed && wh.t[1] >= start)
				return wh.t[1];
			if (fixed) {
				/* Go on after the repeated stretch. */
				t = transition(wh.t[0], wh.t[1]);
				n = later(n, t + wh.ob);
				continue;
			}
		}
		if (wh.cnt > 0 && wh.t[0] >= start)
			return wh.t[0];
		n++;
	}
	return -1;
}

/*
 * When clocks are about to go back and start lies in the stretch that
 * will repeat, a schedule that fires in both passes fires in the second
 * before any wall time after start's comes round again.
 */
static long long
secondpass(const struct cron *c, long long start, long long o)
{
	long long	oa = offset(start + DAY), t, n;

	if (oa >= o)
		return -1;
	t = transition(start, start + DAY);
	if (start < t - (o - oa))
		return -1;
	n = nextwall(c, t + oa, t + o - 1);
	return n == -1 ? -1 : n - oa;
}

long long
cron_next(const struct cron *c, long long after_ms)
{
	struct wall	w;
	long long	start, now, o, op, limit, t, t2;
	int		fixed;

	start = floordiv(after_ms, 1000) + 1;
	/* Spare localtime_r far-off years, which it can be slow at. */
	if (start < FIRST || start > LAST)
		return -1;
	if (local(start, &now) == -1)
		return -1;
	towall(now, &w);
	if (w.y < 1 || w.y > 9999)
		return -1;
	o = now - start;
	w.y += YEARS;
	limit = fromwall(&w);
	/* Not every hour: it keeps to its times of day (see cron.h). */
	fixed = (c->hour & ALLHOURS) != ALLHOURS;
	/* Clocks jumped forward at start: the gap's times fire now. */
	if (fixed && (op = offset(start - 1)) < o &&
	    nextwall(c, start + op, start + o - 1) != -1)
		return start * 1000;
	t = walk(c, start, now, limit, fixed);
	if (!fixed && (t2 = secondpass(c, start, o)) != -1 &&
	    (t == -1 || t2 < t))
		t = t2;
	return t == -1 ? -1 : t * 1000;
}
