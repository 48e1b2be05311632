/*
 * expr - an interpreter for the expression language of expr-lang, the
 * subset that Tork's "{{ ... }}" templates use.
 *
 * Source text is parsed into a tree, the tree is evaluated and freed:
 * a template is short and evaluated once, so a compiled form would buy
 * nothing.  Nothing here calls exit or abort; every failure comes back
 * as a message and a byte offset.  Recursion is bounded (EXPR_MAXDEPTH
 * for trees, VALDEPTH for values) and so is the work and the memory
 * of one evaluation, so that no input, however hostile, can crash the
 * caller or make it hang.
 *
 * Nothing uses libm: the programs this file is linked into are built
 * without -lm, so the few functions needed on doubles are below.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE		/* memmem, arc4random_buf, REG_STARTEND */
#endif

#include <limits.h>
#include <locale.h>
#include <math.h>
#include <regex.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "expr.h"

#define VALDEPTH	(2 * EXPR_MAXDEPTH)	/* nesting of values */
#define MAXFRAMES	EXPR_MAXDEPTH		/* nested predicates, lets */

/*
 * Budgets of one evaluation.  A step is one tree node evaluated, or one
 * element or 64 bytes looked at by an operator or function; 2e7 steps
 * take well under a second.  Memory is counted in units of 8 bytes of
 * string or a quarter of an element made, and is never given back, so
 * that neither a loop nor a huge literal can exhaust the caller.
 */
#define MAXSTEPS	20000000ULL
#define MAXMEM		8000000ULL
#define ELEMCOST	4
#define BYTESPER	8

/* Regular expressions: longest pattern, and biggest after expansion. */
#define RXMAXLEN	1024
#define RXMAXSIZE	10000
#define RXNEST		64

#define ISDIGIT(c)	((c) >= '0' && (c) <= '9')
#define ISALPHA(c)	(((c) | 0x20) >= 'a' && ((c) | 0x20) <= 'z')
#define ISIDENT(c)	(ISALPHA(c) || ISDIGIT(c) || (c) == '_' || (c) == '$')
#define ISSPACE(c)	((c) == ' ' || (c) == '\t' || (c) == '\n' || \
			    (c) == '\r' || (c) == '\v' || (c) == '\f')
#define ISHEX(c)	(ISDIGIT(c) || (((c) | 0x20) >= 'a' && ((c) | 0x20) <= 'f'))

#define M_NIL		(1 << EXPR_NIL)
#define M_BOOL		(1 << EXPR_BOOL)
#define M_INT		(1 << EXPR_INT)
#define M_FLOAT		(1 << EXPR_FLOAT)
#define M_STR		(1 << EXPR_STR)
#define M_ARRAY		(1 << EXPR_ARRAY)
#define M_MAP		(1 << EXPR_MAP)
#define M_NUM		(M_INT | M_FLOAT)

struct kv {
	char		*k;
	size_t		 klen;
	expr_val	*v;
};

struct expr_val {
	enum expr_type	 type;
	unsigned	 depth;		/* 0 for scalars, 1 + deepest element */
	size_t		 refs;
	union {
		int		 b;
		long long	 i;
		double		 f;
		struct {
			char	*p;	/* always NUL-terminated */
			size_t	 len;
		} s;
		struct {
			expr_val **v;
			size_t	 n, cap;
		} a;
		struct {
			struct kv *kv;	/* sorted by key */
			size_t	 n, cap;
		} m;
	} u;
};

static long long	(*clockfn)(void);
static unsigned long long (*randfn)(void);

/*
 * Values
 */

static expr_val *
val_new(enum expr_type t)
{
	expr_val	*v;

	if ((v = calloc(1, sizeof(*v))) == NULL)
		return NULL;
	v->type = t;
	v->refs = 1;
	if (t == EXPR_ARRAY || t == EXPR_MAP)
		v->depth = 1;
	return v;
}

expr_val *
expr_nil(void)
{
	return val_new(EXPR_NIL);
}

expr_val *
expr_bool(int b)
{
	expr_val	*v;

	if ((v = val_new(EXPR_BOOL)) != NULL)
		v->u.b = b != 0;
	return v;
}

expr_val *
expr_int(long long i)
{
	expr_val	*v;

	if ((v = val_new(EXPR_INT)) != NULL)
		v->u.i = i;
	return v;
}

expr_val *
expr_float(double f)
{
	expr_val	*v;

	if ((v = val_new(EXPR_FLOAT)) != NULL)
		v->u.f = f;
	return v;
}

/* A string value that takes over p, which holds n bytes and a NUL. */
static expr_val *
str_own(char *p, size_t n)
{
	expr_val	*v;

	if ((v = val_new(EXPR_STR)) == NULL) {
		free(p);
		return NULL;
	}
	v->u.s.p = p;
	v->u.s.len = n;
	return v;
}

expr_val *
expr_strn(const char *s, size_t n)
{
	char	*p;

	if (n == SIZE_MAX || (p = malloc(n + 1)) == NULL)
		return NULL;
	if (n > 0)
		memcpy(p, s, n);
	p[n] = '\0';
	return str_own(p, n);
}

expr_val *
expr_str(const char *s)
{
	if (s == NULL)
		s = "";
	return expr_strn(s, strlen(s));
}

expr_val *
expr_array(void)
{
	return val_new(EXPR_ARRAY);
}

expr_val *
expr_map(void)
{
	return val_new(EXPR_MAP);
}

expr_val *
expr_ref(const expr_val *v)
{
	expr_val	*w = (expr_val *)v;	/* the count is not the value */

	if (w != NULL)
		w->refs++;
	return w;
}

void
expr_free(expr_val *v)
{
	size_t	 i;

	if (v == NULL || --v->refs > 0)
		return;
	switch (v->type) {
	case EXPR_STR:
		free(v->u.s.p);
		break;
	case EXPR_ARRAY:
		for (i = 0; i < v->u.a.n; i++)
			expr_free(v->u.a.v[i]);
		free(v->u.a.v);
		break;
	case EXPR_MAP:
		for (i = 0; i < v->u.m.n; i++) {
			free(v->u.m.kv[i].k);
			expr_free(v->u.m.kv[i].v);
		}
		free(v->u.m.kv);
		break;
	default:
		break;
	}
	free(v);
}

static void
set_depth(expr_val *c, const expr_val *v)
{
	if (v->depth + 1 > c->depth)
		c->depth = v->depth + 1;
}

/* Append v, taking it over; -1 (and v freed) when memory runs out. */
static int
arr_push(expr_val *a, expr_val *v)
{
	expr_val	**nv;
	size_t		  ncap;

	if (a->u.a.n == a->u.a.cap) {
		ncap = a->u.a.cap ? a->u.a.cap * 2 : 4;
		if (ncap > SIZE_MAX / sizeof(*nv) ||
		    (nv = realloc(a->u.a.v, ncap * sizeof(*nv))) == NULL) {
			expr_free(v);
			return -1;
		}
		a->u.a.v = nv;
		a->u.a.cap = ncap;
	}
	a->u.a.v[a->u.a.n++] = v;
	set_depth(a, v);
	return 0;
}

void
expr_array_push(expr_val *arr, expr_val *v)
{
	if (v == NULL || arr == v)	/* no cycles: and arr stays the caller's */
		return;
	if (arr == NULL || arr->type != EXPR_ARRAY)
		expr_free(v);
	else
		arr_push(arr, v);
}

static int
keycmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int	 c;

	if ((c = memcmp(a, b, alen < blen ? alen : blen)) != 0)
		return c;
	return alen < blen ? -1 : alen > blen;
}

/* Where key k is, or would go: binary search of the sorted keys. */
static size_t
map_find(const expr_val *m, const char *k, size_t klen, int *found)
{
	size_t	 lo = 0, hi = m->u.m.n, mid;
	int	 c;

	*found = 0;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = keycmp(m->u.m.kv[mid].k, m->u.m.kv[mid].klen, k, klen);
		if (c == 0) {
			*found = 1;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static const expr_val *
map_getn(const expr_val *m, const char *k, size_t klen)
{
	size_t	 i;
	int	 found;

	i = map_find(m, k, klen, &found);
	return found ? m->u.m.kv[i].v : NULL;
}

/* Set key k to v, taking v over; -1 (and v freed) without memory. */
static int
map_put(expr_val *m, const char *k, size_t klen, expr_val *v)
{
	struct kv	*nkv;
	char		*key;
	size_t		 i, ncap;
	int		 found;

	i = map_find(m, k, klen, &found);
	if (found) {
		expr_free(m->u.m.kv[i].v);
		m->u.m.kv[i].v = v;
		set_depth(m, v);
		return 0;
	}
	if (m->u.m.n == m->u.m.cap) {
		ncap = m->u.m.cap ? m->u.m.cap * 2 : 4;
		if (ncap > SIZE_MAX / sizeof(*nkv) ||
		    (nkv = realloc(m->u.m.kv, ncap * sizeof(*nkv))) == NULL) {
			expr_free(v);
			return -1;
		}
		m->u.m.kv = nkv;
		m->u.m.cap = ncap;
	}
	if (klen == SIZE_MAX || (key = malloc(klen + 1)) == NULL) {
		expr_free(v);
		return -1;
	}
	memcpy(key, k, klen);
	key[klen] = '\0';
	memmove(&m->u.m.kv[i + 1], &m->u.m.kv[i],
	    (m->u.m.n - i) * sizeof(*m->u.m.kv));
	m->u.m.kv[i].k = key;
	m->u.m.kv[i].klen = klen;
	m->u.m.kv[i].v = v;
	m->u.m.n++;
	set_depth(m, v);
	return 0;
}

void
expr_map_set(expr_val *map, const char *key, expr_val *v)
{
	if (v == NULL || map == v)	/* no cycles: and map stays the caller's */
		return;
	if (map == NULL || map->type != EXPR_MAP || key == NULL)
		expr_free(v);
	else
		map_put(map, key, strlen(key), v);
}

enum expr_type
expr_type(const expr_val *v)
{
	return v ? v->type : EXPR_NIL;
}

size_t
expr_len(const expr_val *v)
{
	if (v == NULL)
		return 0;
	switch (v->type) {
	case EXPR_STR:
		return v->u.s.len;
	case EXPR_ARRAY:
		return v->u.a.n;
	case EXPR_MAP:
		return v->u.m.n;
	default:
		return 0;
	}
}

const expr_val *
expr_index(const expr_val *v, size_t i)
{
	if (v != NULL && v->type == EXPR_ARRAY && i < v->u.a.n)
		return v->u.a.v[i];
	if (v != NULL && v->type == EXPR_MAP && i < v->u.m.n)
		return v->u.m.kv[i].v;
	return NULL;
}

const char *
expr_map_key(const expr_val *v, size_t i)
{
	if (v != NULL && v->type == EXPR_MAP && i < v->u.m.n)
		return v->u.m.kv[i].k;
	return NULL;
}

const expr_val *
expr_get(const expr_val *v, const char *key)
{
	if (v == NULL || v->type != EXPR_MAP || key == NULL)
		return NULL;
	return map_getn(v, key, strlen(key));
}

/* Truncate toward zero, saturating, as a conversion must not be UB. */
static long long
f2ll(double f)
{
	if (f != f)
		return 0;
	if (f >= 9223372036854775807.0)
		return LLONG_MAX;
	if (f <= -9223372036854775808.0)
		return LLONG_MIN;
	return (long long)f;
}

long long
expr_as_int(const expr_val *v)
{
	if (v == NULL)
		return 0;
	switch (v->type) {
	case EXPR_BOOL:
		return v->u.b;
	case EXPR_INT:
		return v->u.i;
	case EXPR_FLOAT:
		return f2ll(v->u.f);
	default:
		return 0;
	}
}

double
expr_as_float(const expr_val *v)
{
	if (v == NULL)
		return 0;
	switch (v->type) {
	case EXPR_BOOL:
		return v->u.b;
	case EXPR_INT:
		return (double)v->u.i;
	case EXPR_FLOAT:
		return v->u.f;
	default:
		return 0;
	}
}

int
expr_truthy(const expr_val *v)
{
	if (v == NULL)
		return 0;
	switch (v->type) {
	case EXPR_BOOL:
		return v->u.b;
	case EXPR_INT:
		return v->u.i != 0;
	case EXPR_FLOAT:
		return v->u.f != 0 && v->u.f == v->u.f;
	case EXPR_STR:
	case EXPR_ARRAY:
	case EXPR_MAP:
		return expr_len(v) > 0;
	default:
		return 0;
	}
}

const char *
expr_as_str(const expr_val *v)
{
	return v != NULL && v->type == EXPR_STR ? v->u.s.p : NULL;
}

static const char *
tname(const expr_val *v)
{
	static const char *names[] = {
		"nil", "bool", "int", "float", "string", "array", "map"
	};

	return names[expr_type(v)];
}

static int
isnum(const expr_val *v)
{
	return v->type == EXPR_INT || v->type == EXPR_FLOAT;
}

static double
numf(const expr_val *v)
{
	return v->type == EXPR_INT ? (double)v->u.i : v->u.f;
}

/*
 * Growable strings
 */

struct buf {
	char	*s;
	size_t	 len, cap;
	size_t	 max;		/* longest allowed, 0 for no limit */
	int	 bad;		/* 1 out of memory, 2 past max */
};

static void
buf_addn(struct buf *b, const void *p, size_t n)
{
	size_t	 ncap, max = b->max ? b->max : SIZE_MAX / 4;
	char	*ns;

	if (b->bad || n == 0)
		return;
	if (n > max - b->len) {
		b->bad = 2;
		return;
	}
	if (b->len + n + 1 > b->cap) {
		ncap = b->cap ? b->cap : 64;
		while (ncap < b->len + n + 1)
			ncap *= 2;
		if ((ns = realloc(b->s, ncap)) == NULL) {
			b->bad = 1;
			return;
		}
		b->s = ns;
		b->cap = ncap;
	}
	memcpy(b->s + b->len, p, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void
buf_adds(struct buf *b, const char *s)
{
	buf_addn(b, s, strlen(s));
}

static void
buf_addc(struct buf *b, int c)
{
	char	 ch = (char)c;

	buf_addn(b, &ch, 1);
}

/* The string, or NULL (and the buffer freed) if anything went wrong. */
static char *
buf_take(struct buf *b)
{
	if (b->bad) {
		free(b->s);
		b->s = NULL;
		return NULL;
	}
	if (b->s == NULL)
		return strdup("");
	return b->s;
}

/* n bytes of s for a message: bounded, and no control characters. */
static void
quote(char *dst, size_t dn, const char *s, size_t n)
{
	size_t	 i, max = dn > 4 ? dn - 4 : 0;

	for (i = 0; i < n && i < max; i++)
		dst[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	if (i < n && dn > 4) {
		memcpy(dst + i, "...", 3);
		i += 3;
	}
	dst[i] = '\0';
}

/*
 * UTF-8
 */

/* Length of the valid UTF-8 sequence at s, 0 if there is none. */
static size_t
utf8dec(const char *str, size_t n, unsigned *cp)
{
	const unsigned char	*s = (const unsigned char *)str;
	unsigned		 c = s[0], v, min;
	size_t			 l, i;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		l = 2;
		v = c & 0x1f;
		min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		l = 3;
		v = c & 0x0f;
		min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		l = 4;
		v = c & 0x07;
		min = 0x10000;
	} else
		return 0;
	if (n < l)
		return 0;
	for (i = 1; i < l; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = v << 6 | (s[i] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return l;
}

/* Bytes of the character at s as Go steps over them: 1 if invalid. */
static size_t
runelen(const char *s, size_t n)
{
	unsigned	 cp;
	size_t		 l = utf8dec(s, n, &cp);

	return l ? l : 1;
}

static size_t
utf8enc(unsigned cp, char *out)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | cp >> 12);
		out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | cp >> 18);
	out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/*
 * Numbers
 */

/*
 * strtod on n bytes of s, which use '.' whatever the locale says: the
 * host program may have called setlocale.  *ok is 0 unless all n bytes
 * were used.
 */
static double
c_strtod(const char *s, size_t n, int *ok)
{
	const char	*dp = localeconv()->decimal_point;
	char		*t, *end;
	double		 d;
	size_t		 i;

	*ok = 0;
	if ((t = malloc(n + 1)) == NULL)
		return 0;
	for (i = 0; i < n; i++)
		t[i] = s[i] == '.' && dp[0] != '\0' && dp[1] == '\0' ? dp[0] :
		    s[i];
	t[n] = '\0';
	d = strtod(t, &end);
	*ok = n > 0 && end == t + n;
	free(t);
	return d;
}

/*
 * The fewest significant digits that read back as d (finite, > 0), into
 * dig without a point, and the decimal exponent: d = D.DDD * 10^exp.
 */
static int
float_digits(double d, char dig[24])
{
	char	 tmp[64], *p;
	int	 prec;
	size_t	 j = 0;

	for (prec = 0; prec < 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*e", prec, d);
		if (strtod(tmp, NULL) == d)	/* same locale both ways */
			break;
	}
	for (p = tmp; *p != '\0' && *p != 'e'; p++)
		if (ISDIGIT(*p) && j < 23)
			dig[j++] = *p;
	dig[j] = '\0';
	while (j > 1 && dig[j - 1] == '0')
		dig[--j] = '\0';
	return *p == 'e' ? atoi(p + 1) : 0;
}

static void
put_exp(struct buf *b, const char *dig, int e, int json)
{
	char	 tmp[16];

	buf_addc(b, dig[0]);
	if (dig[1] != '\0') {
		buf_addc(b, '.');
		buf_adds(b, dig + 1);
	}
	/* Go pads the exponent to two digits; its JSON undoes that for e-0X. */
	snprintf(tmp, sizeof(tmp), json && e < 0 ? "e%c%d" : "e%c%02d",
	    e < 0 ? '-' : '+', e < 0 ? -e : e);
	buf_adds(b, tmp);
}

static void
put_fixed(struct buf *b, const char *dig, int e)
{
	size_t	 nd = strlen(dig);
	int	 i;

	if (e < 0) {
		buf_adds(b, "0.");
		for (i = -1; i > e; i--)
			buf_addc(b, '0');
		buf_adds(b, dig);
		return;
	}
	for (i = 0; i <= e; i++)
		buf_addc(b, (size_t)i < nd ? dig[i] : '0');
	if (nd > (size_t)e + 1) {
		buf_addc(b, '.');
		buf_adds(b, dig + e + 1);
	}
}

/*
 * A float as Go prints it: fmt's %v (shortest digits, exponent form
 * below 1e-4 and from 1e6 on) or encoding/json (exponent form below
 * 1e-6 and from 1e21 on).  Non-finite values are for %v only.
 */
static void
put_float(struct buf *b, double d, int json)
{
	char	 dig[24];
	int	 e;

	if (d != d) {
		buf_adds(b, "NaN");
		return;
	}
	if (d > 1.7976931348623157e308 || d < -1.7976931348623157e308) {
		buf_adds(b, d > 0 ? "+Inf" : "-Inf");
		return;
	}
	if (d == 0) {
		buf_adds(b, signbit(d) ? "-0" : "0");
		return;
	}
	if (d < 0) {
		buf_addc(b, '-');
		d = -d;
	}
	e = float_digits(d, dig);
	if (json ? d < 1e-6 || d >= 1e21 : e < -4 || e >= 6)
		put_exp(b, dig, e, json);
	else
		put_fixed(b, dig, e);
}

static int
isfinitef(double d)
{
	return d == d && d <= 1.7976931348623157e308 &&
	    d >= -1.7976931348623157e308;
}

/* Doubles without libm: floor, ceil, round half away from zero. */
static double
f_trunc(double d)
{
	if (!isfinitef(d) || d >= 4503599627370496.0 ||
	    d <= -4503599627370496.0)
		return d;		/* already integral, or not a number */
	return (double)(long long)d;
}

static double
f_floor(double d)
{
	double	 t = f_trunc(d);

	return t > d ? t - 1 : t;
}

static double
f_ceil(double d)
{
	double	 t = f_trunc(d);

	return t < d ? t + 1 : t;
}

static double
f_round(double d)
{
	double	 t = f_trunc(d);

	if (d - t >= 0.5)
		return t + 1;
	if (t - d >= 0.5)
		return t - 1;
	return t;
}

/* x^n for an integral n, by squaring, in long double for accuracy. */
static double
ipow(long double x, unsigned long long n)
{
	long double	 r = 1;

	while (n > 0) {
		if (n & 1)
			r *= x;
		x *= x;
		n >>= 1;
	}
	return (double)r;
}

/* Natural logarithm of x > 0, finite: x = m 2^e, atanh series for m. */
static long double
f_log(double x)
{
	long double	 m, s, s2, term, sum = 0;
	int		 e, k;

	m = frexp(x, &e);
	if (m < 0.70710678118654752440L) {
		m *= 2;
		e--;
	}
	s = (m - 1) / (m + 1);
	s2 = s * s;
	term = s;
	for (k = 1; k < 60; k += 2) {
		sum += term / k;
		term *= s2;
	}
	return 2 * sum + e * 0.693147180559945309417232121458176568L;
}

/* e^y: y = k ln2 + r with |r| <= ln2/2, Taylor series for e^r. */
static double
f_exp(long double y)
{
	long double	 ln2 = 0.693147180559945309417232121458176568L;
	long double	 r, term = 1, sum = 1, k;
	int		 i;

	if (y > 710)
		return HUGE_VAL;
	if (y < -746)
		return 0;
	k = (long double)(long long)(y / ln2 + (y < 0 ? -0.5L : 0.5L));
	r = y - k * ln2;
	for (i = 1; i < 30; i++) {
		term *= r / i;
		sum += term;
	}
	/* Scale in two steps so that neither overflows on its own. */
	return ldexp(ldexp((double)sum, (int)k / 2), (int)k - (int)k / 2);
}

/* x ** y, with Go's math.Pow for the special cases that matter. */
static double
f_pow(double x, double y)
{
	if (y == 0 || x == 1)
		return 1;
	if (x != x || y != y)
		return NAN;
	if (y == f_trunc(y) && y >= -1e18 && y <= 1e18) {
		if (y < 0)
			return (double)(1 / (long double)ipow(x,
			    (unsigned long long)-y));
		return ipow(x, (unsigned long long)y);
	}
	if (x == 0)
		return y < 0 ? HUGE_VAL : 0;
	if (!isfinitef(y) || !isfinitef(x)) {
		if (!isfinitef(y)) {
			if (x == -1)
				return 1;
			if ((x > -1 && x < 1) == (y > 0))
				return 0;
			return HUGE_VAL;
		}
		return (x > 0) == (y > 0) ? HUGE_VAL : 0;
	}
	if (x < 0) {
		if (y != f_trunc(y))
			return NAN;
		x = -x;		/* an integral y this large is even */
	}
	return f_exp(y * f_log(x));
}

/*
 * JSON and text output
 */

static void
json_str(struct buf *b, const char *s, size_t n, int html)
{
	static const char hex[] = "0123456789abcdef";
	char		 esc[8];
	unsigned	 cp;
	unsigned char	 c;
	size_t		 i = 0, l;

	buf_addc(b, '"');
	while (i < n) {
		c = (unsigned char)s[i];
		if (c >= 0x80) {
			if ((l = utf8dec(s + i, n - i, &cp)) == 0) {
				buf_adds(b, "\\ufffd");
				i++;
			} else {
				if (cp == 0x2028 || cp == 0x2029)
					buf_adds(b, cp == 0x2028 ? "\\u2028" :
					    "\\u2029");
				else
					buf_addn(b, s + i, l);
				i += l;
			}
			continue;
		}
		i++;
		if (c == '"' || c == '\\') {
			buf_addc(b, '\\');
			buf_addc(b, c);
		} else if (c == '\n')
			buf_adds(b, "\\n");
		else if (c == '\r')
			buf_adds(b, "\\r");
		else if (c == '\t')
			buf_adds(b, "\\t");
		else if (c == '\b')
			buf_adds(b, "\\b");
		else if (c == '\f')
			buf_adds(b, "\\f");
		else if (c < 0x20 || (html && (c == '<' || c == '>' ||
		    c == '&'))) {
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			buf_addn(b, esc, 6);
		} else
			buf_addc(b, c);
	}
	buf_addc(b, '"');
}

struct jsonw {
	struct buf	*b;
	int		 pretty;	/* Go's MarshalIndent with "  " */
	int		 html;		/* escape < > & as Go's Marshal does */
	int		 strict;	/* fail on NaN and infinities */
};

static void
json_nl(struct jsonw *w, int lvl)
{
	int	 i;

	if (!w->pretty)
		return;
	buf_addc(w->b, '\n');
	for (i = 0; i < lvl; i++)
		buf_adds(w->b, "  ");
}

static int
json_put(struct jsonw *w, const expr_val *v, int lvl)
{
	size_t	 i, n;

	switch (expr_type(v)) {
	case EXPR_NIL:
		buf_adds(w->b, "null");
		return 0;
	case EXPR_BOOL:
		buf_adds(w->b, v->u.b ? "true" : "false");
		return 0;
	case EXPR_INT:
		{
			char	 tmp[32];

			snprintf(tmp, sizeof(tmp), "%lld", v->u.i);
			buf_adds(w->b, tmp);
		}
		return 0;
	case EXPR_FLOAT:
		if (!isfinitef(v->u.f)) {
			if (w->strict)
				return -1;
			buf_adds(w->b, "null");
		} else
			put_float(w->b, v->u.f, 1);
		return 0;
	case EXPR_STR:
		json_str(w->b, v->u.s.p, v->u.s.len, w->html);
		return 0;
	default:
		break;
	}
	n = expr_len(v);
	buf_addc(w->b, v->type == EXPR_ARRAY ? '[' : '{');
	for (i = 0; i < n && !w->b->bad; i++) {
		if (i > 0)
			buf_addc(w->b, ',');
		json_nl(w, lvl + 1);
		if (v->type == EXPR_MAP) {
			json_str(w->b, v->u.m.kv[i].k, v->u.m.kv[i].klen,
			    w->html);
			buf_adds(w->b, w->pretty ? ": " : ":");
		}
		if (json_put(w, expr_index(v, i), lvl + 1) == -1)
			return -1;
	}
	if (n > 0)
		json_nl(w, lvl);
	buf_addc(w->b, v->type == EXPR_ARRAY ? ']' : '}');
	return 0;
}

/* What a template substitutes for v. */
static void
put_text(struct buf *b, const expr_val *v)
{
	struct jsonw	 w = { b, 0, 0, 0 };
	char		 tmp[32];

	switch (expr_type(v)) {
	case EXPR_NIL:
		buf_adds(b, "<nil>");
		break;
	case EXPR_BOOL:
		buf_adds(b, v->u.b ? "true" : "false");
		break;
	case EXPR_INT:
		snprintf(tmp, sizeof(tmp), "%lld", v->u.i);
		buf_adds(b, tmp);
		break;
	case EXPR_FLOAT:
		put_float(b, v->u.f, 0);
		break;
	case EXPR_STR:
		buf_addn(b, v->u.s.p, v->u.s.len);
		break;
	default:
		json_put(&w, v, 0);
		break;
	}
}

char *
expr_to_string(const expr_val *v)
{
	struct buf	 b = { 0 };

	put_text(&b, v);
	return buf_take(&b);
}

char *
expr_to_json(const expr_val *v)
{
	struct buf	 b = { 0 };
	struct jsonw	 w = { &b, 0, 0, 0 };

	json_put(&w, v, 0);
	return buf_take(&b);
}

/*
 * JSON input
 */

struct jsonr {
	const char	*s;
	size_t		 pos;
	size_t		 left;		/* values it may still make */
	const char	*msg;
};

static void
jr_space(struct jsonr *r)
{
	while (r->s[r->pos] == ' ' || r->s[r->pos] == '\t' ||
	    r->s[r->pos] == '\n' || r->s[r->pos] == '\r')
		r->pos++;
}

static expr_val *
jr_fail(struct jsonr *r, const char *msg)
{
	if (r->msg == NULL)
		r->msg = msg;
	return NULL;
}

static int
jr_hex4(const char *s, unsigned *v)
{
	int	 i;

	*v = 0;
	for (i = 0; i < 4; i++) {
		if (!ISHEX(s[i]))
			return -1;
		*v = *v << 4 | (unsigned)(ISDIGIT(s[i]) ? s[i] - '0' :
		    (s[i] | 0x20) - 'a' + 10);
	}
	return 0;
}

/* A \u escape, surrogate pairs joined, lone halves U+FFFD as in Go. */
static int
jr_uescape(struct jsonr *r, struct buf *b)
{
	unsigned	 cp, lo;
	char		 out[4];

	if (jr_hex4(r->s + r->pos + 2, &cp) == -1)
		return -1;
	r->pos += 6;
	if (cp >= 0xd800 && cp < 0xdc00 && r->s[r->pos] == '\\' &&
	    r->s[r->pos + 1] == 'u' && jr_hex4(r->s + r->pos + 2, &lo) == 0 &&
	    lo >= 0xdc00 && lo <= 0xdfff) {
		cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
		r->pos += 6;
	} else if (cp >= 0xd800 && cp <= 0xdfff)
		cp = 0xfffd;
	buf_addn(b, out, utf8enc(cp, out));
	return 0;
}

static expr_val *
jr_string(struct jsonr *r)
{
	struct buf	 b = { 0 };
	const char	*esc = "\"\"\\\\//b\bf\fn\nr\rt\t", *e;
	unsigned char	 c;
	char		*p;

	r->pos++;
	for (;;) {
		c = (unsigned char)r->s[r->pos];
		if (c == '"')
			break;
		if (c == '\0' || c < 0x20) {
			free(b.s);
			return jr_fail(r, c ? "control character in string" :
			    "unterminated string");
		}
		if (c != '\\') {
			buf_addc(&b, c);
			r->pos++;
			continue;
		}
		c = (unsigned char)r->s[r->pos + 1];
		if (c == 'u') {
			if (jr_uescape(r, &b) == -1)
				goto badesc;
			continue;
		}
		for (e = esc; *e != '\0' && *e != (char)c; e += 2)
			;
		if (c == '\0' || *e == '\0')
			goto badesc;
		buf_addc(&b, e[1]);
		r->pos += 2;
	}
	r->pos++;
	if ((p = buf_take(&b)) == NULL)
		return jr_fail(r, "out of memory");
	return str_own(p, b.len);
badesc:
	free(b.s);
	return jr_fail(r, "invalid escape");
}

static expr_val *
jr_number(struct jsonr *r)
{
	const char	*s = r->s;
	size_t		 i = r->pos;
	double		 d;
	int		 ok;

	if (s[i] == '-')
		i++;
	if (s[i] == '0')
		i++;
	else if (ISDIGIT(s[i]))
		while (ISDIGIT(s[i]))
			i++;
	else
		return jr_fail(r, "invalid number");
	if (s[i] == '.') {
		if (!ISDIGIT(s[i + 1]))
			return jr_fail(r, "invalid number");
		for (i++; ISDIGIT(s[i]); i++)
			;
	}
	if (s[i] == 'e' || s[i] == 'E') {
		i++;
		if (s[i] == '+' || s[i] == '-')
			i++;
		if (!ISDIGIT(s[i]))
			return jr_fail(r, "invalid number");
		while (ISDIGIT(s[i]))
			i++;
	}
	d = c_strtod(s + r->pos, i - r->pos, &ok);
	if (!ok || !isfinitef(d))
		return jr_fail(r, "number out of range");
	r->pos = i;
	return expr_float(d);
}

static expr_val *jr_value(struct jsonr *, int);

/* The elements of an array or the members of an object. */
static expr_val *
jr_list(struct jsonr *r, int depth, int obj)
{
	expr_val	*c, *k = NULL, *v;
	int		 close = obj ? '}' : ']';

	if ((c = obj ? expr_map() : expr_array()) == NULL)
		return jr_fail(r, "out of memory");
	r->pos++;
	jr_space(r);
	if (r->s[r->pos] == close) {
		r->pos++;
		return c;
	}
	for (;;) {
		jr_space(r);
		if (obj) {
			if (r->s[r->pos] != '"')
				goto bad;
			if ((k = jr_string(r)) == NULL)
				goto fail;
			jr_space(r);
			if (r->s[r->pos++] != ':') {
				r->pos--;
				goto bad;
			}
		}
		if ((v = jr_value(r, depth + 1)) == NULL)
			goto fail;
		if (obj ? map_put(c, k->u.s.p, k->u.s.len, v) :
		    arr_push(c, v)) {
			jr_fail(r, "out of memory");
			goto fail;
		}
		expr_free(k);
		k = NULL;
		jr_space(r);
		if (r->s[r->pos] == close) {
			r->pos++;
			return c;
		}
		if (r->s[r->pos] != ',')
			goto bad;
		r->pos++;
	}
bad:
	jr_fail(r, r->s[r->pos] ? "unexpected character" :
	    "unexpected end of input");
fail:
	expr_free(k);
	expr_free(c);
	return NULL;
}

static expr_val *
jr_value(struct jsonr *r, int depth)
{
	const char	*s;

	if (depth > VALDEPTH)
		return jr_fail(r, "nested too deeply");
	if (r->left == 0)
		return jr_fail(r, "too large");
	r->left--;
	jr_space(r);
	s = r->s + r->pos;
	switch (*s) {
	case '{':
	case '[':
		return jr_list(r, depth, *s == '{');
	case '"':
		return jr_string(r);
	case '\0':
		return jr_fail(r, "unexpected end of input");
	}
	if (strncmp(s, "true", 4) == 0 || strncmp(s, "null", 4) == 0) {
		r->pos += 4;
		return *s == 't' ? expr_bool(1) : expr_nil();
	}
	if (strncmp(s, "false", 5) == 0) {
		r->pos += 5;
		return expr_bool(0);
	}
	if (*s == '-' || ISDIGIT(*s))
		return jr_number(r);
	return jr_fail(r, "unexpected character");
}

/* Parse text making at most *left values (less those made); *err. */
static expr_val *
json_parse(const char *text, size_t *left, char **err)
{
	struct jsonr	 r = { text, 0, *left, NULL };
	expr_val	*v;
	char		 msg[128];

	if ((v = jr_value(&r, 0)) != NULL) {
		jr_space(&r);
		if (text[r.pos] != '\0') {
			expr_free(v);
			v = jr_fail(&r, "unexpected character after value");
		}
	}
	if (v == NULL && err != NULL) {
		snprintf(msg, sizeof(msg), "invalid JSON at offset %zu: %s",
		    r.pos, r.msg ? r.msg : "out of memory");
		*err = strdup(msg);
	}
	*left = r.left;
	return v;
}

expr_val *
expr_from_json(const char *text, char **err)
{
	size_t	 left = SIZE_MAX;

	if (err != NULL)
		*err = NULL;
	return json_parse(text ? text : "", &left, err);
}

/*
 * Lexer
 */

enum tkind { T_EOF, T_END, T_INT, T_FLOAT, T_STR, T_NAME, T_OP };

struct tok {
	enum tkind	 kind;
	size_t		 pos, len;	/* the text in the source */
	long long	 i;
	double		 f;
	char		*s;		/* T_STR: decoded, malloc'd */
	size_t		 slen;
};

struct lexer {
	const char	*src;
	size_t		 pos;
	int		 tmpl;		/* inside {{ }}: "}}" ends it */
	int		 braces;	/* '{' open in a template part */
};

struct parser {
	struct lexer	 lx;
	struct tok	 cur;
	size_t		 prevend;	/* where the previous token ended */
	char		*err;
	size_t		 errpos;
	int		 lexerr;
	int		 depth;
	int		 pred;		/* inside a predicate */
	size_t		 start;		/* template: where "{{" is */
};

static void
verr(char **err, size_t *errpos, size_t pos, const char *fmt, va_list ap)
{
	char	 msg[256];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	*err = strdup(msg);
	*errpos = pos;
}

/* A lexer error: the first error is the one reported. */
static int
lerr(struct parser *p, size_t pos, const char *fmt, ...)
{
	va_list	 ap;

	if (p->err == NULL && !p->lexerr) {
		va_start(ap, fmt);
		verr(&p->err, &p->errpos, pos, fmt, ap);
		va_end(ap);
		p->lexerr = 1;
	}
	return -1;
}

/*
 * A parser error.  In a template, whatever the parser stumbles on at
 * the very end is a part whose "}}" is missing: say so, and where the
 * part starts, not where the text ends.
 */
static void *
perr(struct parser *p, size_t pos, const char *fmt, ...)
{
	va_list	 ap;

	if (p->err != NULL || p->lexerr)
		return NULL;
	if (p->lx.tmpl && p->cur.kind == T_EOF && pos == p->cur.pos) {
		p->err = strdup("unterminated '{{'");
		p->errpos = p->start;
		if (p->err == NULL)
			p->lexerr = 1;
		return NULL;
	}
	va_start(ap, fmt);
	verr(&p->err, &p->errpos, pos, fmt, ap);
	va_end(ap);
	if (p->err == NULL)
		p->lexerr = 1;		/* out of memory: still an error */
	return NULL;
}

static int
failed(const struct parser *p)
{
	return p->err != NULL || p->lexerr;
}

static int
skip_space(struct parser *p)
{
	const char	*s = p->lx.src;
	size_t		 i = p->lx.pos;
	const char	*e;

	for (;;) {
		while (ISSPACE(s[i]))
			i++;
		if (s[i] == '/' && s[i + 1] == '/') {
			/* In a template the comment must not hide "}}". */
			while (s[i] != '\0' && s[i] != '\n' &&
			    !(p->lx.tmpl && p->lx.braces == 0 &&
			    s[i] == '}' && s[i + 1] == '}'))
				i++;
		} else if (s[i] == '/' && s[i + 1] == '*') {
			if ((e = strstr(s + i + 2, "*/")) == NULL)
				return lerr(p, i, "unterminated comment");
			i = (size_t)(e - s) + 2;
		} else
			break;
	}
	p->lx.pos = i;
	return 0;
}

static int
hexval(int c)
{
	return ISDIGIT(c) ? c - '0' : (c | 0x20) - 'a' + 10;
}

/* One escape sequence at s[*i] (the backslash) into b. */
static int
lex_escape(struct parser *p, size_t *i, struct buf *b)
{
	static const char simple[] = "a\ab\bf\fn\nr\rt\tv\v\\\\''\"\"``";
	const char	*s = p->lx.src, *e;
	size_t		 at = *i, n = 0, k;
	unsigned	 cp = 0;
	char		 out[4], c = s[at + 1];

	for (e = simple; *e != '\0' && *e != c; e += 2)
		;
	if (c != '\0' && *e != '\0') {
		buf_addc(b, e[1]);
		*i += 2;
		return 0;
	}
	if (c == 'x')
		n = 2;
	else if (c == 'u')
		n = 4;
	else if (c == 'U')
		n = 8;
	if (n > 0) {
		for (k = 0; k < n; k++) {
			if (!ISHEX(s[at + 2 + k]))
				goto bad;
			cp = cp << 4 | (unsigned)hexval(s[at + 2 + k]);
		}
		*i += 2 + n;
		if (c == 'x') {
			buf_addc(b, (int)cp);
			return 0;
		}
		if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			goto bad;
		buf_addn(b, out, utf8enc(cp, out));
		return 0;
	}
	if (c >= '0' && c <= '7') {
		for (k = 1; k <= 3; k++) {
			if (s[at + k] < '0' || s[at + k] > '7')
				goto bad;
			cp = cp << 3 | (unsigned)(s[at + k] - '0');
		}
		if (cp > 255)
			goto bad;
		buf_addc(b, (int)cp);
		*i += 4;
		return 0;
	}
bad:
	return lerr(p, at, "invalid escape sequence");
}

static int
lex_string(struct parser *p, struct tok *t)
{
	const char	*s = p->lx.src;
	struct buf	 b = { 0 };
	size_t		 i = t->pos + 1;
	char		 q = s[t->pos];

	for (;;) {
		if (s[i] == '\0') {
			free(b.s);
			return lerr(p, t->pos, "unterminated string");
		}
		if (s[i] == q)
			break;
		if (s[i] == '\\' && q != '`') {
			if (lex_escape(p, &i, &b) == -1) {
				free(b.s);
				return -1;
			}
		} else
			buf_addc(&b, s[i++]);
	}
	if ((t->s = buf_take(&b)) == NULL)
		return lerr(p, t->pos, "out of memory");
	t->slen = b.len;
	t->kind = T_STR;
	t->len = i + 1 - t->pos;
	p->lx.pos = i + 1;
	return 0;
}

/* The value of a number token without its underscores. */
static int
lex_numval(struct parser *p, struct tok *t, int isfloat, int base)
{
	const char		*s = p->lx.src + t->pos;
	char			 tmp[32], *d;
	unsigned long long	 v = 0;
	size_t			 i, n = 0;
	int			 ok, digit;

	if ((d = malloc(t->len + 1)) == NULL)
		return lerr(p, t->pos, "out of memory");
	for (i = base == 10 ? 0 : 2; i < t->len; i++)
		if (s[i] != '_')
			d[n++] = s[i];
	d[n] = '\0';
	if (isfloat) {
		t->kind = T_FLOAT;
		t->f = c_strtod(d, n, &ok);
		free(d);
		if (!ok)
			goto bad;
		if (!isfinitef(t->f))
			return lerr(p, t->pos, "float literal out of range");
		return 0;
	}
	t->kind = T_INT;
	for (i = 0; i < n; i++) {
		digit = hexval(d[i]);
		if (digit >= base || v > (ULLONG_MAX - (unsigned)digit) /
		    (unsigned)base) {
			free(d);
			if (digit < base)
				return lerr(p, t->pos,
				    "integer literal out of range");
			goto bad;
		}
		v = v * (unsigned)base + (unsigned)digit;
	}
	free(d);
	if (n == 0)
		goto bad;
	if (v > LLONG_MAX)
		return lerr(p, t->pos, "integer literal out of range");
	t->i = (long long)v;
	return 0;
bad:
	quote(tmp, sizeof(tmp), s, t->len);
	return lerr(p, t->pos, "invalid number '%s'", tmp);
}

static int
lex_number(struct parser *p, struct tok *t)
{
	const char	*s = p->lx.src;
	size_t		 i = t->pos, j;
	int		 isfloat = 0, base = 10;
	char		 tmp[32];

	if (s[i] == '0' && ((s[i + 1] | 0x20) == 'x' ||
	    (s[i + 1] | 0x20) == 'o' || (s[i + 1] | 0x20) == 'b')) {
		base = (s[i + 1] | 0x20) == 'x' ? 16 :
		    (s[i + 1] | 0x20) == 'o' ? 8 : 2;
		for (i += 2; ISHEX(s[i]) || s[i] == '_'; i++)
			;
	} else {
		while (ISDIGIT(s[i]) || s[i] == '_')
			i++;
		if (s[i] == '.' && s[i + 1] != '.') {
			isfloat = 1;
			for (i++; ISDIGIT(s[i]) || s[i] == '_'; i++)
				;
		}
		if ((s[i] | 0x20) == 'e') {
			j = i + 1;
			if (s[j] == '+' || s[j] == '-')
				j++;
			if (ISDIGIT(s[j])) {
				isfloat = 1;
				for (i = j; ISDIGIT(s[i]) || s[i] == '_'; i++)
					;
			}
		}
	}
	if (ISIDENT(s[i])) {
		while (ISIDENT(s[i]))
			i++;
		quote(tmp, sizeof(tmp), s + t->pos, i - t->pos);
		return lerr(p, t->pos, "invalid number '%s'", tmp);
	}
	t->len = i - t->pos;
	p->lx.pos = i;
	return lex_numval(p, t, isfloat, base);
}

/* Operators, longest first. */
static const char *const puncts[] = {
	"::", "?.", "??", "..", "**", "==", "!=", "<=", ">=", "&&", "||",
	"?", ".", ":", "+", "-", "*", "/", "%", "^", "!", "<", ">", "=",
	"|", "(", ")", "{", "}", "[", "]", ",", "#", ";",
};

static int
lex_punct(struct parser *p, struct tok *t)
{
	const char	*s = p->lx.src + t->pos;
	size_t		 i, n;
	unsigned char	 c = (unsigned char)*s;

	for (i = 0; i < sizeof(puncts) / sizeof(puncts[0]); i++) {
		n = strlen(puncts[i]);
		if (strncmp(s, puncts[i], n) != 0)
			continue;
		/* "a?.5:1" is a conditional, not optional chaining */
		if (n == 2 && s[0] == '?' && s[1] == '.' && ISDIGIT(s[2]))
			continue;
		if (p->lx.tmpl && *s == '{')
			p->lx.braces++;
		if (p->lx.tmpl && *s == '}' && p->lx.braces > 0)
			p->lx.braces--;
		t->kind = T_OP;
		t->len = n;
		p->lx.pos = t->pos + n;
		return 0;
	}
	if (c >= 0x20 && c < 0x7f)
		return lerr(p, t->pos, "unexpected character '%c'", c);
	return lerr(p, t->pos, "unexpected byte 0x%02x", c);
}

static int
lex(struct parser *p, struct tok *t)
{
	const char	*s = p->lx.src;
	size_t		 i;

	memset(t, 0, sizeof(*t));
	if (skip_space(p) == -1)
		return -1;
	i = t->pos = p->lx.pos;
	if (s[i] == '\0') {
		t->kind = T_EOF;
		return 0;
	}
	if (p->lx.tmpl && p->lx.braces == 0 && s[i] == '}' && s[i + 1] == '}') {
		t->kind = T_END;
		t->len = 2;
		p->lx.pos = i + 2;
		return 0;
	}
	if (ISDIGIT(s[i]) || (s[i] == '.' && ISDIGIT(s[i + 1])))
		return lex_number(p, t);
	if (s[i] == '"' || s[i] == '\'' || s[i] == '`')
		return lex_string(p, t);
	if (ISALPHA(s[i]) || s[i] == '_' || s[i] == '$') {
		while (ISIDENT(s[i]))
			i++;
		t->kind = T_NAME;
		t->len = i - t->pos;
		p->lx.pos = i;
		return 0;
	}
	return lex_punct(p, t);
}

static void
advance(struct parser *p)
{
	free(p->cur.s);
	p->cur.s = NULL;
	p->prevend = p->cur.pos + p->cur.len;
	if (failed(p) || lex(p, &p->cur) == -1) {
		free(p->cur.s);
		memset(&p->cur, 0, sizeof(p->cur));
		p->cur.kind = T_EOF;
		p->cur.pos = p->lx.pos;
	}
}

/* The token after the current one, without moving. */
static int
peek(struct parser *p, struct tok *t)
{
	struct lexer	 save = p->lx;
	int		 r;

	r = lex(p, t);
	p->lx = save;
	free(t->s);
	t->s = NULL;
	return r;
}

static int
tok_is(const struct parser *p, const struct tok *t, enum tkind k,
    const char *text)
{
	size_t	 n = strlen(text);

	return t->kind == k && t->len == n &&
	    memcmp(p->lx.src + t->pos, text, n) == 0;
}

static int
isop(const struct parser *p, const char *op)
{
	return tok_is(p, &p->cur, T_OP, op);
}

static int
isname(const struct parser *p, const char *name)
{
	return tok_is(p, &p->cur, T_NAME, name);
}

/* The current token for a message: "'foo'" or "end of expression". */
static const char *
tokdesc(const struct parser *p, char *buf, size_t n)
{
	char	 q[32];

	if (p->cur.kind == T_EOF)
		return "end of expression";
	quote(q, sizeof(q), p->lx.src + p->cur.pos, p->cur.len);
	snprintf(buf, n, "'%s'", q);
	return buf;
}

static int
expect(struct parser *p, const char *op)
{
	if (isop(p, op)) {
		advance(p);
		return 0;
	}
	perr(p, p->cur.pos, "expected '%s'", op);
	return -1;
}

/* The ',' between elements, which must be there unless close is. */
static int
sep(struct parser *p, const char *close)
{
	if (isop(p, ",")) {
		advance(p);
		return 0;
	}
	perr(p, p->cur.pos, "expected ',' or '%s'", close);
	return -1;
}

/*
 * Syntax tree
 */

enum nkind {
	N_LIT, N_NAME, N_ENV, N_PTR, N_ARRAY, N_MAP, N_UNARY, N_BINARY,
	N_AND, N_OR, N_COALESCE, N_CMP, N_COND, N_MEMBER, N_SLICE, N_OPT,
	N_CALL, N_LET
};

enum op {
	O_OR, O_AND, O_EQ, O_NE, O_LT, O_GT, O_LE, O_GE, O_IN, O_MATCHES,
	O_CONTAINS, O_STARTS, O_ENDS, O_RANGE, O_ADD, O_SUB, O_MUL, O_DIV,
	O_MOD, O_POW, O_COALESCE, O_PIPE, O_NOT, O_NEG, O_PLUS
};

enum { P_ITEM, P_INDEX, P_ACC };	/* what a # refers to */

struct link {
	int		 op;
	size_t		 pos;
};

struct node {
	enum nkind	 kind;
	int		 op;		/* operator, function, pointer */
	int		 opt;		/* member: after "?." */
	int		 dot;		/* member: a.name, not a[k] */
	size_t		 pos, len;	/* the operator or name in the source */
	int		 depth;
	expr_val	*val;		/* N_LIT */
	struct link	*links;		/* N_CMP: the operators, in order */
	struct node	**kid;
	size_t		 nkid, cap;
};

static const struct binop {
	const char	*text;
	enum op		 op;
	int		 prec;
	int		 right;		/* right-associative */
} binops[] = {
	{ "|", O_PIPE, 0, 0 },
	{ "or", O_OR, 10, 0 }, { "||", O_OR, 10, 0 },
	{ "and", O_AND, 15, 0 }, { "&&", O_AND, 15, 0 },
	{ "==", O_EQ, 20, 0 }, { "!=", O_NE, 20, 0 }, { "<", O_LT, 20, 0 },
	{ ">", O_GT, 20, 0 }, { "<=", O_LE, 20, 0 }, { ">=", O_GE, 20, 0 },
	{ "in", O_IN, 20, 0 }, { "matches", O_MATCHES, 20, 0 },
	{ "contains", O_CONTAINS, 20, 0 },
	{ "startsWith", O_STARTS, 20, 0 }, { "endsWith", O_ENDS, 20, 0 },
	{ "..", O_RANGE, 25, 0 },
	{ "+", O_ADD, 30, 0 }, { "-", O_SUB, 30, 0 },
	{ "*", O_MUL, 60, 0 }, { "/", O_DIV, 60, 0 }, { "%", O_MOD, 60, 0 },
	{ "**", O_POW, 100, 1 }, { "^", O_POW, 100, 1 },
	{ "??", O_COALESCE, 500, 0 },
};

#define PREC_CMP	20
#define PREC_NOT	50
#define PREC_NEG	90

/* Words that are operators, and so not names. */
static const char *const keywords[] = {
	"not", "and", "or", "in", "matches", "contains", "startsWith",
	"endsWith", "let",
};

static int
iskeyword(const struct parser *p, const struct tok *t)
{
	size_t	 i;

	for (i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++)
		if (tok_is(p, t, T_NAME, keywords[i]))
			return 1;
	return 0;
}

static const struct binop *
binop_of(const struct parser *p, const struct tok *t)
{
	size_t	 i;

	if (t->kind != T_OP && t->kind != T_NAME)
		return NULL;
	for (i = 0; i < sizeof(binops) / sizeof(binops[0]); i++)
		if (tok_is(p, t, t->kind, binops[i].text) &&
		    (t->kind == T_NAME) == ISALPHA(binops[i].text[0]))
			return &binops[i];
	return NULL;
}

static void
node_free(struct node *n)
{
	size_t	 i;

	if (n == NULL)
		return;
	for (i = 0; i < n->nkid; i++)
		node_free(n->kid[i]);
	free(n->kid);
	free(n->links);
	expr_free(n->val);
	free(n);
}

static struct node *
mknode(struct parser *p, enum nkind kind, size_t pos, size_t len)
{
	struct node	*n;

	if ((n = calloc(1, sizeof(*n))) == NULL)
		return perr(p, pos, "out of memory");
	n->kind = kind;
	n->pos = pos;
	n->len = len;
	n->depth = 1;
	return n;
}

/* Add kid k (may be NULL, for slices) to n, which takes it over. */
static int
addkid(struct parser *p, struct node *n, struct node *k)
{
	struct node	**nk;
	size_t		  ncap;

	if (n->nkid == n->cap) {
		ncap = n->cap ? n->cap * 2 : 2;
		if (ncap > SIZE_MAX / sizeof(*nk) ||
		    (nk = realloc(n->kid, ncap * sizeof(*nk))) == NULL) {
			node_free(k);
			perr(p, n->pos, "out of memory");
			return -1;
		}
		n->kid = nk;
		n->cap = ncap;
	}
	n->kid[n->nkid++] = k;
	if (k != NULL && k->depth + 1 > n->depth) {
		n->depth = k->depth + 1;
		if (n->depth > EXPR_MAXDEPTH) {
			perr(p, k->pos, "expression nested too deeply");
			return -1;
		}
	}
	return 0;
}

/* A node with the given kids; all of them freed if anything fails. */
static struct node *
mknode2(struct parser *p, enum nkind kind, int op, size_t pos, size_t len,
    struct node *a, struct node *b)
{
	struct node	*n;

	if ((n = mknode(p, kind, pos, len)) == NULL) {
		node_free(a);
		node_free(b);
		return NULL;
	}
	n->op = op;
	if (addkid(p, n, a) == -1) {
		node_free(b);
		node_free(n);
		return NULL;
	}
	if (addkid(p, n, b) == -1) {
		node_free(n);
		return NULL;
	}
	return n;
}

static struct node *
mklit(struct parser *p, size_t pos, size_t len, expr_val *v)
{
	struct node	*n;

	if (v == NULL)
		return perr(p, pos, "out of memory");
	if ((n = mknode(p, N_LIT, pos, len)) == NULL) {
		expr_free(v);
		return NULL;
	}
	n->val = v;
	return n;
}

/*
 * Functions.  The arity is checked when parsing; pred is set for those
 * whose second argument is a predicate, evaluated once per element.
 */
struct call;
typedef expr_val *(*fnimpl)(struct call *);

struct func {
	const char	*name;
	int		 min, max;	/* max -1: any number */
	int		 pred;
	fnimpl		 fn;
};

static int find_func(const char *, size_t);
static const struct func *func_at(int);
static struct node *parse_expr(struct parser *, int);

static struct node *
parse_pred(struct parser *p)
{
	struct node	*n;
	int		 braces = isop(p, "{");

	if (braces)
		advance(p);
	p->pred++;
	n = parse_expr(p, 0);
	p->pred--;
	if (n != NULL && braces && expect(p, "}") == -1) {
		node_free(n);
		return NULL;
	}
	return n;
}

/* A call of the function named at pos; first is the piped argument. */
static struct node *
parse_call(struct parser *p, size_t pos, size_t len, struct node *first)
{
	const struct func	*f;
	struct node		*n, *a;
	char			 q[48];
	size_t			 base;
	int			 fi;

	if ((fi = find_func(p->lx.src + pos, len)) == -1) {
		node_free(first);
		quote(q, sizeof(q), p->lx.src + pos, len);
		return perr(p, pos, "unknown function '%s'", q);
	}
	f = func_at(fi);
	if (!isop(p, "(")) {
		node_free(first);
		return perr(p, p->cur.pos, "expected '('");
	}
	advance(p);
	if ((n = mknode(p, N_CALL, pos, len)) == NULL) {
		node_free(first);
		return NULL;
	}
	n->op = fi;
	if (first != NULL && addkid(p, n, first) == -1)
		goto fail;
	base = n->nkid;
	while (!isop(p, ")") && !failed(p)) {
		if (n->nkid > base && sep(p, ")") == -1)
			goto fail;
		if (isop(p, ")"))
			break;
		a = f->pred && n->nkid == 1 ? parse_pred(p) : parse_expr(p, 0);
		if (a == NULL || addkid(p, n, a) == -1)
			goto fail;
	}
	if (expect(p, ")") == -1)
		goto fail;
	if ((int)n->nkid < f->min || (f->max >= 0 && (int)n->nkid > f->max)) {
		if (f->min == f->max)
			perr(p, pos, "%s: expected %d argument%s, got %zu",
			    f->name, f->min, f->min == 1 ? "" : "s", n->nkid);
		else if (f->max < 0)
			perr(p, pos, "%s: expected at least %d argument%s, "
			    "got %zu", f->name, f->min, f->min == 1 ? "" : "s",
			    n->nkid);
		else
			perr(p, pos, "%s: expected %d to %d arguments, got %zu",
			    f->name, f->min, f->max, n->nkid);
		goto fail;
	}
	return n;
fail:
	node_free(n);
	return NULL;
}

static struct node *
parse_list(struct parser *p, int map)
{
	struct node	*n, *k, *v;
	const char	*close = map ? "}" : "]";

	if ((n = mknode(p, map ? N_MAP : N_ARRAY, p->cur.pos, 1)) == NULL)
		return NULL;
	advance(p);
	while (!isop(p, close) && !failed(p)) {
		if (n->nkid > 0 && sep(p, close) == -1)
			goto fail;
		if (isop(p, close))
			break;
		if (map) {
			if (p->cur.kind == T_STR) {
				k = mklit(p, p->cur.pos, p->cur.len,
				    str_own(p->cur.s, p->cur.slen));
				p->cur.s = NULL;
				advance(p);
			} else if (p->cur.kind == T_NAME ||
			    p->cur.kind == T_INT || p->cur.kind == T_FLOAT) {
				k = mklit(p, p->cur.pos, p->cur.len,
				    expr_strn(p->lx.src + p->cur.pos,
				    p->cur.len));
				advance(p);
			} else if (isop(p, "("))
				k = parse_expr(p, 0);
			else {
				perr(p, p->cur.pos, "expected a map key");
				goto fail;
			}
			if (k == NULL || addkid(p, n, k) == -1 ||
			    expect(p, ":") == -1)
				goto fail;
		}
		if ((v = parse_expr(p, 0)) == NULL || addkid(p, n, v) == -1)
			goto fail;
	}
	if (expect(p, close) == -1)
		goto fail;
	return n;
fail:
	node_free(n);
	return NULL;
}

/* After '[': an index or a slice of base. */
static struct node *
parse_index(struct parser *p, struct node *base, int opt, size_t pos)
{
	struct node	*n, *from = NULL, *to = NULL;

	if (!isop(p, ":")) {
		if ((from = parse_expr(p, 0)) == NULL)
			goto fail;
		if (!isop(p, ":")) {
			if (expect(p, "]") == -1)
				goto fail;
			if ((n = mknode2(p, N_MEMBER, 0, pos, 1, base,
			    from)) != NULL)
				n->opt = opt;
			return n;
		}
	}
	advance(p);		/* the ':' */
	if (!isop(p, "]") && (to = parse_expr(p, 0)) == NULL)
		goto fail;
	if (expect(p, "]") == -1)
		goto fail;
	if ((n = mknode2(p, N_SLICE, 0, pos, 1, base, from)) == NULL) {
		node_free(to);
		return NULL;
	}
	base = from = NULL;
	n->opt = opt;
	if (addkid(p, n, to) == -1) {
		node_free(n);
		return NULL;
	}
	return n;
fail:
	node_free(base);
	node_free(from);
	node_free(to);
	return NULL;
}

/* a.name, a?.name, a[k], a[i:j], a?.[k]; any "?." makes a chain. */
static struct node *
parse_postfix(struct parser *p, struct node *n)
{
	struct node	*k;
	char		 q[48];
	size_t		 pos;
	int		 opt, chain = 0;

	while (n != NULL && !failed(p)) {
		if (isop(p, "[")) {
			pos = p->cur.pos;
			advance(p);
			n = parse_index(p, n, 0, pos);
			continue;
		}
		if (!isop(p, ".") && !isop(p, "?."))
			break;
		opt = isop(p, "?.");
		chain |= opt;
		pos = p->cur.pos;
		advance(p);
		if (opt && isop(p, "[")) {
			advance(p);
			n = parse_index(p, n, 1, pos);
			continue;
		}
		if (p->cur.kind != T_NAME) {
			node_free(n);
			return perr(p, p->cur.pos, "expected a name");
		}
		k = mklit(p, p->cur.pos, p->cur.len,
		    expr_strn(p->lx.src + p->cur.pos, p->cur.len));
		if ((n = mknode2(p, N_MEMBER, 0, p->cur.pos, p->cur.len, n,
		    k)) == NULL)
			return NULL;
		n->opt = opt;
		n->dot = 1;
		advance(p);
		if (isop(p, "(")) {
			quote(q, sizeof(q), p->lx.src + n->pos, n->len);
			node_free(n);
			return perr(p, p->cur.pos, "cannot call method '%s'",
			    q);
		}
	}
	if (n != NULL && failed(p)) {
		node_free(n);
		return NULL;
	}
	if (n != NULL && chain)
		n = mknode2(p, N_OPT, 0, n->pos, n->len, n, NULL);
	return n;
}

/* #, #index, #acc, and the # that ".name" leaves out. */
static struct node *
parse_pointer(struct parser *p)
{
	struct node	*n;
	int		 hash = isop(p, "#");

	if (p->pred == 0) {
		if (hash)
			return perr(p, p->cur.pos, "'#' outside a predicate");
		return perr(p, p->cur.pos, "unexpected token '.'");
	}
	if ((n = mknode(p, N_PTR, p->cur.pos, 1)) == NULL)
		return NULL;
	n->op = P_ITEM;
	if (!hash)
		return parse_postfix(p, n);
	advance(p);
	if (p->cur.kind == T_NAME && p->cur.pos == p->prevend) {
		if (isname(p, "index"))
			n->op = P_INDEX;
		else if (isname(p, "acc"))
			n->op = P_ACC;
		else {
			node_free(n);
			return perr(p, p->cur.pos, "unknown pointer '#%.*s'",
			    (int)(p->cur.len > 32 ? 32 : p->cur.len),
			    p->lx.src + p->cur.pos);
		}
		n->len = p->cur.len + 1;
		advance(p);
	}
	return parse_postfix(p, n);
}

static struct node *
parse_name(struct parser *p)
{
	struct node	*n;
	size_t		 pos = p->cur.pos, len = p->cur.len;
	const char	*s = p->lx.src + pos;
	char		 buf[48];

	if (isname(p, "true") || isname(p, "false") || isname(p, "nil")) {
		advance(p);
		return parse_postfix(p, mklit(p, pos, len, *s == 'n' ?
		    expr_nil() : expr_bool(*s == 't')));
	}
	if (iskeyword(p, &p->cur))
		return perr(p, pos, "unexpected token %s",
		    tokdesc(p, buf, sizeof(buf)));
	advance(p);
	if (isop(p, "("))
		return parse_postfix(p, parse_call(p, pos, len, NULL));
	if (len == 4 && memcmp(s, "$env", 4) == 0)
		n = mknode(p, N_ENV, pos, len);
	else
		n = mknode(p, N_NAME, pos, len);
	return parse_postfix(p, n);
}

static struct node *
parse_primary(struct parser *p)
{
	struct node	*n;
	char		 buf[48];
	size_t		 pos = p->cur.pos, len = p->cur.len;
	int		 neg;

	if (isname(p, "not") || isop(p, "!") || isop(p, "-") || isop(p, "+")) {
		neg = isop(p, "-") ? O_NEG : isop(p, "+") ? O_PLUS : O_NOT;
		advance(p);
		n = parse_expr(p, neg == O_NOT ? PREC_NOT : PREC_NEG);
		return parse_postfix(p, mknode2(p, N_UNARY, neg, pos, len, n,
		    NULL));
	}
	if (isop(p, "(")) {
		advance(p);
		if ((n = parse_expr(p, 0)) != NULL && expect(p, ")") == -1) {
			node_free(n);
			return NULL;
		}
		return parse_postfix(p, n);
	}
	if (isop(p, "#") || isop(p, "."))
		return parse_pointer(p);
	switch (p->cur.kind) {
	case T_NAME:
		return parse_name(p);
	case T_INT:
	case T_FLOAT:
		n = mklit(p, pos, len, p->cur.kind == T_INT ?
		    expr_int(p->cur.i) : expr_float(p->cur.f));
		advance(p);
		return parse_postfix(p, n);
	case T_STR:
		n = mklit(p, pos, len, str_own(p->cur.s, p->cur.slen));
		p->cur.s = NULL;
		advance(p);
		return parse_postfix(p, n);
	default:
		break;
	}
	if (isop(p, "[") || isop(p, "{"))
		return parse_postfix(p, parse_list(p, isop(p, "{")));
	if (p->cur.kind == T_EOF)
		return perr(p, pos, "unexpected end of expression");
	return perr(p, pos, "unexpected token %s", tokdesc(p, buf, sizeof(buf)));
}

/* left, then a chain of comparisons: a < b < c is a < b && b < c. */
static struct node *
parse_cmp(struct parser *p, struct node *left, const struct binop *op,
    size_t pos, size_t len)
{
	struct node	*n, *r;
	struct link	*l;

	if ((n = mknode2(p, N_CMP, 0, pos, len, left, NULL)) == NULL)
		return NULL;
	n->nkid = 1;
	for (;;) {
		if (n->nkid > SIZE_MAX / sizeof(*l) ||
		    (l = realloc(n->links, n->nkid * sizeof(*l))) == NULL) {
			node_free(n);
			return perr(p, pos, "out of memory");
		}
		n->links = l;
		n->links[n->nkid - 1].op = (int)op->op;
		n->links[n->nkid - 1].pos = pos;
		if ((r = parse_expr(p, PREC_CMP + 1)) == NULL ||
		    addkid(p, n, r) == -1) {
			node_free(n);
			return NULL;
		}
		if ((op = binop_of(p, &p->cur)) == NULL || op->prec != PREC_CMP)
			break;
		pos = p->cur.pos;
		advance(p);
	}
	return n;
}

/* x | f(args) is f(x, args). */
static struct node *
parse_pipe(struct parser *p, struct node *left)
{
	size_t	 pos = p->cur.pos, len = p->cur.len;

	if (p->cur.kind != T_NAME) {
		node_free(left);
		return perr(p, pos, "expected a function name");
	}
	advance(p);
	return parse_postfix(p, parse_call(p, pos, len, left));
}

static struct node *
parse_cond(struct parser *p, struct node *cond)
{
	struct node	*n, *a = NULL, *b;
	size_t		 pos;

	while (cond != NULL && isop(p, "?")) {
		pos = p->cur.pos;
		advance(p);
		if (isop(p, ":"))
			advance(p);	/* a ?: b */
		else if ((a = parse_expr(p, 0)) == NULL ||
		    expect(p, ":") == -1) {
			node_free(a);
			node_free(cond);
			return NULL;
		}
		if ((b = parse_expr(p, 0)) == NULL ||
		    (n = mknode2(p, N_COND, 0, pos, 1, cond, a)) == NULL) {
			if (b == NULL)
				node_free(cond);
			node_free(b);
			if (b == NULL)
				node_free(a);
			return NULL;
		}
		if (addkid(p, n, b) == -1) {
			node_free(n);
			return NULL;
		}
		cond = n;
		a = NULL;
	}
	return cond;
}

static struct node *
parse_let(struct parser *p)
{
	struct node	*n, *v, *body;
	size_t		 pos, len;

	advance(p);
	if (p->cur.kind != T_NAME || iskeyword(p, &p->cur))
		return perr(p, p->cur.pos, "expected a name");
	pos = p->cur.pos;
	len = p->cur.len;
	advance(p);
	if (expect(p, "=") == -1 || (v = parse_expr(p, 0)) == NULL)
		return NULL;
	if (expect(p, ";") == -1) {
		node_free(v);
		return NULL;
	}
	if ((body = parse_expr(p, 0)) == NULL) {
		node_free(v);
		return NULL;
	}
	n = mknode2(p, N_LET, 0, pos, len, v, body);
	return n;
}

/* "not" before in, matches, contains, startsWith, endsWith. */
static int
negated(struct parser *p, int prec, int *neg)
{
	struct tok		 t;
	const struct binop	*op;
	char			 q[32];

	*neg = 0;
	if (!isname(p, "not"))
		return 0;
	if (peek(p, &t) == -1)
		return -1;
	op = binop_of(p, &t);
	if (op == NULL || op->prec != PREC_CMP || !ISALPHA(op->text[0])) {
		quote(q, sizeof(q), p->lx.src + t.pos, t.len);
		perr(p, t.pos, t.kind == T_EOF ? "unexpected end of expression" :
		    "unexpected token '%s'", q);
		return -1;
	}
	if (op->prec < prec)
		return 1;	/* binds less tightly: the caller stops */
	*neg = 1;
	advance(p);
	return 0;
}

/* The right operand of op at pos, and the node joining it to left. */
static struct node *
parse_binary(struct parser *p, struct node *left, const struct binop *op,
    size_t pos, size_t len)
{
	struct node	*right;
	enum nkind	 kind = N_BINARY;

	if (op->op == O_PIPE)
		return parse_pipe(p, left);
	if (op->prec == PREC_CMP)
		return parse_cmp(p, left, op, pos, len);
	if ((right = parse_expr(p, op->right ? op->prec : op->prec + 1)) ==
	    NULL) {
		node_free(left);
		return NULL;
	}
	if (op->op == O_AND || op->op == O_OR || op->op == O_COALESCE)
		kind = op->op == O_AND ? N_AND : op->op == O_OR ? N_OR :
		    N_COALESCE;		/* these evaluate lazily */
	return mknode2(p, kind, op->op, pos, len, left, right);
}

/* Precedence climbing, as expr-lang does it, ternaries at level 0. */
static struct node *
parse_expr(struct parser *p, int prec)
{
	const struct binop	*op;
	struct node		*left;
	size_t			 pos, len, notpos = 0;
	int			 neg, coalesced = 0, r;

	if (++p->depth > EXPR_MAXDEPTH) {
		p->depth--;
		return perr(p, p->cur.pos, "expression nested too deeply");
	}
	if (prec == 0 && isname(p, "let"))
		left = parse_let(p);
	else
		left = parse_primary(p);
	while (left != NULL && !failed(p)) {
		notpos = p->cur.pos;
		if ((r = negated(p, prec, &neg)) != 0) {
			if (r == -1) {
				node_free(left);
				left = NULL;
			}
			break;
		}
		op = binop_of(p, &p->cur);
		if (op == NULL || op->prec < prec)
			break;
		pos = p->cur.pos;
		len = p->cur.len;
		if (coalesced && op->op != O_COALESCE && op->op != O_PIPE) {
			node_free(left);
			left = perr(p, pos, "cannot mix '?" "?' and '%s' without "
			    "parentheses", op->text);
			break;
		}
		advance(p);
		left = parse_binary(p, left, op, pos, len);
		if (neg && left != NULL)
			left = mknode2(p, N_UNARY, O_NOT, notpos, 3, left, NULL);
		coalesced = op->op == O_COALESCE;
	}
	if (left != NULL && failed(p)) {
		node_free(left);
		left = NULL;
	}
	if (prec == 0)
		left = parse_cond(p, left);
	p->depth--;
	return left;
}

static void
parser_init(struct parser *p, const char *src, size_t pos, int tmpl)
{
	memset(p, 0, sizeof(*p));
	p->lx.src = src;
	p->lx.pos = pos;
	p->lx.tmpl = tmpl;
	p->start = pos >= 2 && tmpl ? pos - 2 : pos;
	advance(p);
}

static void
parser_done(struct parser *p, char **err, size_t *errpos)
{
	free(p->cur.s);
	p->cur.s = NULL;
	if (err != NULL)
		*err = p->err;
	else
		free(p->err);
	if (errpos != NULL)
		*errpos = p->errpos;
	p->err = NULL;
}

/* A whole expression: src to its end. */
static struct node *
parse_src(struct parser *p, const char *src)
{
	struct node	*n;
	char		 buf[48];

	parser_init(p, src, 0, 0);
	if (p->cur.kind == T_EOF && !failed(p))
		return perr(p, 0, "empty expression");
	if ((n = parse_expr(p, 0)) != NULL && p->cur.kind != T_EOF) {
		perr(p, p->cur.pos, "unexpected token %s",
		    tokdesc(p, buf, sizeof(buf)));
		node_free(n);
		return NULL;
	}
	return n;
}

/* The template part whose "{{" is at open; *end is just past "}}". */
static struct node *
parse_part(struct parser *p, const char *tmpl, size_t open, size_t *end)
{
	struct node	*n;
	char		 buf[48];

	parser_init(p, tmpl, open + 2, 1);
	if (p->cur.kind == T_END)
		return perr(p, open, "empty expression");
	if ((n = parse_expr(p, 0)) == NULL)
		return NULL;
	if (p->cur.kind != T_END) {
		if (p->cur.kind == T_EOF)
			perr(p, p->cur.pos, "unterminated '{{'");
		else
			perr(p, p->cur.pos, "expected '}}', got %s",
			    tokdesc(p, buf, sizeof(buf)));
		node_free(n);
		return NULL;
	}
	*end = p->cur.pos + 2;
	return n;
}

/*
 * Evaluation
 */

struct frame {
	const expr_val	*item;
	long long	 index;
	const expr_val	*acc;
};

struct var {
	const char	*name;
	size_t		 len;
	expr_val	*v;
};

struct ev {
	const expr_val		*env;
	const char		*src;
	char			*err;
	size_t			 errpos;
	int			 failed;
	size_t			 pos;		/* of the node being evaluated */
	unsigned long long	 steps, mem;
	int			 chainnil;	/* a?.b met nil: skip the rest */
	struct frame		 fr[MAXFRAMES];
	int			 nfr;
	struct var		 var[MAXFRAMES];
	int			 nvar;
};

struct call {
	struct ev		*ev;
	const struct node	*n;
	const char		*name;
	int			 pred;
	expr_val		**a;
	size_t			 na;
};

static void *
efail(struct ev *ev, const char *fmt, ...)
{
	va_list	 ap;

	if (!ev->failed) {
		va_start(ap, fmt);
		verr(&ev->err, &ev->errpos, ev->pos, fmt, ap);
		va_end(ap);
		ev->failed = 1;
	}
	return NULL;
}

static void *
oom(struct ev *ev)
{
	return efail(ev, "out of memory");
}

/* Count work done; fail once the budget is spent. */
static int
work(struct ev *ev, unsigned long long n)
{
	ev->steps += n;
	if (ev->steps > MAXSTEPS) {
		efail(ev, "expression too expensive");
		return -1;
	}
	return 0;
}

static int
charge(struct ev *ev, size_t elems, size_t bytes)
{
	ev->mem += (unsigned long long)elems * ELEMCOST + bytes / BYTESPER;
	if (ev->mem > MAXMEM) {
		efail(ev, "memory budget exceeded");
		return -1;
	}
	return work(ev, bytes / 64);
}

static expr_val *
mkval(struct ev *ev, expr_val *v)
{
	return v != NULL ? v : oom(ev);
}

static expr_val *
mkstr(struct ev *ev, const char *s, size_t n)
{
	if (n > EXPR_MAXSTR)
		return efail(ev, "string too long");
	if (charge(ev, 1, n) == -1)
		return NULL;
	return mkval(ev, expr_strn(s, n));
}

/* A buffer's contents as a string value, the buffer emptied. */
static expr_val *
bufstr(struct ev *ev, struct buf *b)
{
	char	*s;
	size_t	 n = b->len;
	int	 bad = b->bad;

	if ((s = buf_take(b)) == NULL)
		return bad == 2 ? efail(ev, "string too long") : oom(ev);
	if (charge(ev, 1, n) == -1) {
		free(s);
		return NULL;
	}
	return mkval(ev, str_own(s, n));
}

static void
evbuf(struct buf *b)
{
	memset(b, 0, sizeof(*b));
	b->max = EXPR_MAXSTR;
}

static expr_val *
mkarr(struct ev *ev)
{
	if (charge(ev, 1, 0) == -1)
		return NULL;
	return mkval(ev, expr_array());
}

/* Append v (taken over; NULL means an error is already set). */
static int
apush(struct ev *ev, expr_val *a, expr_val *v)
{
	if (v == NULL)
		return -1;
	if (a->u.a.n >= EXPR_MAXLEN) {
		expr_free(v);
		efail(ev, "array too long");
		return -1;
	}
	if (charge(ev, 1, 0) == -1) {
		expr_free(v);
		return -1;
	}
	if (arr_push(a, v) == -1) {
		oom(ev);
		return -1;
	}
	return 0;
}

static int
mput(struct ev *ev, expr_val *m, const char *k, size_t klen, expr_val *v)
{
	if (v == NULL)
		return -1;
	if (charge(ev, 1, klen) == -1) {
		expr_free(v);
		return -1;
	}
	if (map_put(m, k, klen, v) == -1) {
		oom(ev);
		return -1;
	}
	return 0;
}

static expr_val *eval(struct ev *, const struct node *);

/* The operator's text as written, for messages. */
static const char *
optext(struct ev *ev, const struct node *n, char *buf, size_t sz)
{
	quote(buf, sz, ev->src + n->pos, n->len);
	return buf;
}

static int
equal(struct ev *ev, const expr_val *a, const expr_val *b)
{
	size_t	 i;
	int	 r;

	if (isnum(a) && isnum(b)) {
		if (a->type == EXPR_INT && b->type == EXPR_INT)
			return a->u.i == b->u.i;
		return numf(a) == numf(b);
	}
	if (a->type != b->type)
		return 0;
	switch (a->type) {
	case EXPR_NIL:
		return 1;
	case EXPR_BOOL:
		return a->u.b == b->u.b;
	case EXPR_STR:
		if (work(ev, a->u.s.len / 64) == -1)
			return -1;
		return a->u.s.len == b->u.s.len &&
		    memcmp(a->u.s.p, b->u.s.p, a->u.s.len) == 0;
	default:
		break;
	}
	if (expr_len(a) != expr_len(b))
		return 0;
	if (work(ev, expr_len(a)) == -1)
		return -1;
	for (i = 0; i < expr_len(a); i++) {
		if (a->type == EXPR_MAP && keycmp(a->u.m.kv[i].k,
		    a->u.m.kv[i].klen, b->u.m.kv[i].k, b->u.m.kv[i].klen) != 0)
			return 0;
		if ((r = equal(ev, expr_index(a, i), expr_index(b, i))) != 1)
			return r;
	}
	return 1;
}

/*
 * Regular expressions are POSIX extended ones (with glibc's \b \< \>),
 * with what Go patterns use most translated: \d \w \s and their
 * negations, (?:x) and a leading (?i).  Back-references are refused,
 * and so are patterns that expand too much (glibc copies the operand of
 * + and {n}), as either can make matching take exponential time or
 * memory.
 */
static const char *
rx_class(char c, int inbracket)
{
	switch (c) {
	case 'd':
		return inbracket ? "0-9" : "[0-9]";
	case 'D':
		return inbracket ? NULL : "[^0-9]";
	case 'w':
		return inbracket ? "[:alnum:]_" : "[[:alnum:]_]";
	case 'W':
		return inbracket ? NULL : "[^[:alnum:]_]";
	case 's':
		return inbracket ? "[:space:]" : "[[:space:]]";
	case 'S':
		return inbracket ? NULL : "[^[:space:]]";
	default:
		return NULL;
	}
}

/* A bracket expression at pat[*i]; copied with \d \w \s translated. */
static void
rx_bracket(const char *pat, size_t len, size_t *i, struct buf *b)
{
	size_t		 j = *i + 1;
	const char	*cls;

	buf_addc(b, '[');
	if (j < len && pat[j] == '^')
		buf_addc(b, pat[j++]);
	if (j < len && pat[j] == ']')
		buf_addc(b, pat[j++]);
	while (j < len && pat[j] != ']') {
		if (pat[j] == '[' && j + 1 < len && (pat[j + 1] == ':' ||
		    pat[j + 1] == '=' || pat[j + 1] == '.')) {
			char	 d = pat[j + 1];

			buf_addn(b, pat + j, 2);
			for (j += 2; j < len && !(pat[j] == d && j + 1 < len &&
			    pat[j + 1] == ']'); j++)
				buf_addc(b, pat[j]);
			if (j < len) {
				buf_addn(b, pat + j, 2);
				j += 2;
			}
			continue;
		}
		if (pat[j] == '\\' && j + 1 < len &&
		    (cls = rx_class(pat[j + 1], 1)) != NULL) {
			buf_adds(b, cls);
			j += 2;
			continue;
		}
		if (pat[j] == '\\' && j + 1 < len && pat[j + 1] == '\\')
			j++;
		buf_addc(b, pat[j++]);
	}
	if (j < len)
		buf_addc(b, pat[j++]);
	*i = j;
}

/* Read {m,n} at pat[*i] for the size estimate: the largest count. */
static unsigned long long
rx_interval(const char *pat, size_t len, size_t i)
{
	unsigned long long	 m = 0, n = 0;
	int			 comma = 0, any = 0;

	for (i++; i < len && (ISDIGIT(pat[i]) || pat[i] == ','); i++) {
		if (pat[i] == ',') {
			comma = 1;
			continue;
		}
		any = 1;
		if (comma)
			n = n < 100000 ? n * 10 + (unsigned)(pat[i] - '0') : n;
		else
			m = m < 100000 ? m * 10 + (unsigned)(pat[i] - '0') : m;
	}
	if (!any)
		return 1;
	if (comma && n == 0)
		return m + 1;
	return m > n ? m : n;
}

/* Copy a repetition operator at pat[*i]; how many times it copies. */
static unsigned long long
rx_quant(const char *pat, size_t len, size_t *i, struct buf *b)
{
	unsigned long long	 k = pat[*i] == '+' ? 2 : 1;
	size_t			 j = *i;

	if (pat[j] == '{') {
		k = rx_interval(pat, len, j);
		while (j < len && pat[j] != '}')
			buf_addc(b, pat[j++]);
	}
	if (j < len)
		buf_addc(b, pat[j++]);
	/* Lazy a*? matches what a* does: the question is only whether. */
	if (j < len && pat[j] == '?')
		j++;
	*i = j;
	return k ? k : 1;
}

static int
rx_isquant(const char *pat, size_t len, size_t i)
{
	return pat[i] == '*' || pat[i] == '+' || pat[i] == '?' ||
	    (pat[i] == '{' && i + 1 < len && ISDIGIT(pat[i + 1]));
}

static int
rx_fail(struct ev *ev, const char *msg)
{
	efail(ev, "matches: %s", msg);
	return -1;
}

/* Copy one atom at pat[*i]: a character, an escape or a bracket. */
static void
rx_atom(const char *pat, size_t len, size_t *i, struct buf *b)
{
	const char	*cls;

	if (pat[*i] == '[')
		rx_bracket(pat, len, i, b);
	else if (pat[*i] == '\\' && *i + 1 < len &&
	    (cls = rx_class(pat[*i + 1], 0)) != NULL) {
		buf_adds(b, cls);
		*i += 2;
	} else if (pat[*i] == '\\' && *i + 1 < len) {
		buf_addn(b, pat + *i, 2);
		*i += 2;
	} else if (pat[*i] == '{') {
		buf_adds(b, "\\{");	/* not a repetition: literal, as in Go */
		(*i)++;
	} else
		buf_addc(b, pat[(*i)++]);
}

/*
 * Translate pat into b, and estimate the size of the automaton glibc
 * will build: the atoms, with the operands of + and {n} copied.
 */
static int
rx_translate(struct ev *ev, const char *pat, size_t len, struct buf *b,
    int *flags, unsigned long long *total)
{
	unsigned long long	 size[RXNEST], last = 0, k;
	size_t			 i = 0;
	int			 d = 0, quant = 0;

	if (len >= 4 && memcmp(pat, "(?i)", 4) == 0) {
		*flags |= REG_ICASE;
		i = 4;
	}
	size[0] = 0;
	while (i < len) {
		if (size[d] > RXMAXSIZE || last > RXMAXSIZE)
			goto complex;
		if (pat[i] == '\0')
			return rx_fail(ev, "pattern contains a NUL byte");
		if (pat[i] == '\\' && i + 1 < len && ISDIGIT(pat[i + 1]) &&
		    pat[i + 1] != '0')
			return rx_fail(ev, "back-references are not supported");
		if (rx_isquant(pat, len, i)) {
			if (quant)
				return rx_fail(ev, "invalid nested repetition "
				    "operator");
			k = rx_quant(pat, len, &i, b);
			size[d] += last * (k - 1);
			last *= k;
			quant = 1;
			continue;
		}
		quant = 0;
		if (pat[i] == '(') {
			if (++d >= RXNEST)
				goto complex;
			size[d] = last = 0;
			buf_addc(b, pat[i++]);
			if (i + 1 < len && pat[i] == '?' && pat[i + 1] == ':')
				i += 2;		/* (?:x) groups as (x) does */
		} else if (pat[i] == ')' && d > 0) {
			last = size[d--];
			size[d] += last;
			buf_addc(b, pat[i++]);
		} else {
			rx_atom(pat, len, &i, b);
			size[d] += last = 1;
		}
	}
	if (size[d] > RXMAXSIZE || last > RXMAXSIZE)
		goto complex;
	if (b->bad) {
		oom(ev);
		return -1;
	}
	*total = size[0] + 1;
	return 0;
complex:
	return rx_fail(ev, "pattern too complex");
}

static int
rx_match(struct ev *ev, const expr_val *s, const expr_val *pat)
{
	struct buf	 b = { 0 };
	regex_t		 re;
	regmatch_t		 m;
	char			 msg[128];
	unsigned long long	 size = 1;
	int			 r, flags = REG_EXTENDED | REG_NOSUB;

	if (pat->u.s.len > RXMAXLEN) {
		efail(ev, "matches: pattern too long");
		return -1;
	}
	if (rx_translate(ev, pat->u.s.p, pat->u.s.len, &b, &flags,
	    &size) == -1) {
		free(b.s);
		return -1;
	}
	if ((r = regcomp(&re, b.s ? b.s : "", flags)) != 0) {
		regerror(r, &re, msg, sizeof(msg));
		free(b.s);
		efail(ev, "matches: %s", msg);
		return -1;
	}
	free(b.s);
	/* glibc simulates the automaton: time grows with both sizes. */
	if (work(ev, (s->u.s.len + 1) * size / 16) == -1) {
		regfree(&re);
		return -1;
	}
	m.rm_so = 0;
	m.rm_eo = (regoff_t)s->u.s.len;
	r = regexec(&re, s->u.s.p, 1, &m, REG_STARTEND);
	regfree(&re);
	return r == 0;
}

static int
has_at(const expr_val *s, const expr_val *sub, int end)
{
	size_t	 n = s->u.s.len, k = sub->u.s.len;

	if (k > n)
		return 0;
	return memcmp(s->u.s.p + (end ? n - k : 0), sub->u.s.p, k) == 0;
}

static const char *
find_sub(const expr_val *s, const expr_val *sub)
{
	return memmem(s->u.s.p, s->u.s.len, sub->u.s.p, sub->u.s.len);
}

/* a in b: an element of an array, a key of a map, false in nil. */
static int
in(struct ev *ev, const expr_val *a, const expr_val *b)
{
	size_t	 i;
	int	 r;

	switch (b->type) {
	case EXPR_NIL:
		return 0;
	case EXPR_ARRAY:
		if (work(ev, b->u.a.n) == -1)
			return -1;
		for (i = 0; i < b->u.a.n; i++)
			if ((r = equal(ev, a, b->u.a.v[i])) != 0)
				return r;
		return 0;
	case EXPR_MAP:
		if (a->type != EXPR_STR) {
			efail(ev, "in: map key must be a string, got %s",
			    tname(a));
			return -1;
		}
		return map_getn(b, a->u.s.p, a->u.s.len) != NULL;
	default:
		efail(ev, "in: expected an array or map, got %s", tname(b));
		return -1;
	}
}

/* One comparison: 1 true, 0 false, -1 error. */
static int
compare(struct ev *ev, int op, const expr_val *a, const expr_val *b)
{
	static const char *names[] = { "matches", "contains", "startsWith",
	    "endsWith" };
	double	 x, y;
	int	 c, r;

	switch (op) {
	case O_EQ:
	case O_NE:
		if ((r = equal(ev, a, b)) == -1)
			return -1;
		return op == O_EQ ? r : !r;
	case O_IN:
		return in(ev, a, b);
	default:
		break;
	}
	if (op >= O_MATCHES && op <= O_ENDS) {
		if (a->type != EXPR_STR || b->type != EXPR_STR) {
			efail(ev, "%s: expected strings, got %s and %s",
			    names[op - O_MATCHES], tname(a), tname(b));
			return -1;
		}
		if (work(ev, (a->u.s.len + b->u.s.len) / 64) == -1)
			return -1;
		if (op == O_MATCHES)
			return rx_match(ev, a, b);
		if (op == O_CONTAINS)
			return find_sub(a, b) != NULL;
		return has_at(a, b, op == O_ENDS);
	}
	if (a->type == EXPR_INT && b->type == EXPR_INT)
		c = a->u.i < b->u.i ? -1 : a->u.i > b->u.i;
	else if (isnum(a) && isnum(b)) {
		x = numf(a);
		y = numf(b);
		if (x != x || y != y)
			return 0;
		c = x < y ? -1 : x > y;
	} else if (a->type == EXPR_STR && b->type == EXPR_STR) {
		if (work(ev, a->u.s.len / 64) == -1)
			return -1;
		c = keycmp(a->u.s.p, a->u.s.len, b->u.s.p, b->u.s.len);
	} else {
		efail(ev, "cannot compare %s and %s", tname(a), tname(b));
		return -1;
	}
	switch (op) {
	case O_LT:
		return c < 0;
	case O_GT:
		return c > 0;
	case O_LE:
		return c <= 0;
	default:
		return c >= 0;
	}
}

/* Go's integers wrap around; C's must not overflow: go unsigned. */
static long long
wrap(unsigned long long u)
{
	return u > LLONG_MAX ? -(long long)(~u) - 1 : (long long)u;
}

static expr_val *
range(struct ev *ev, long long a, long long b)
{
	expr_val	*r;

	if ((r = mkarr(ev)) == NULL)
		return NULL;
	if (b < a)
		return r;
	if ((unsigned long long)b - (unsigned long long)a >= EXPR_MAXLEN) {
		expr_free(r);
		return efail(ev, "range too large");
	}
	for (;; a++) {
		if (apush(ev, r, mkval(ev, expr_int(a))) == -1) {
			expr_free(r);
			return NULL;
		}
		if (a == b)
			break;
	}
	return r;
}

static expr_val *
concat(struct ev *ev, const expr_val *a, const expr_val *b)
{
	struct buf	 sb;
	expr_val	*r;
	size_t		 i;

	if (a->type == EXPR_STR) {
		evbuf(&sb);
		buf_addn(&sb, a->u.s.p, a->u.s.len);
		buf_addn(&sb, b->u.s.p, b->u.s.len);
		return bufstr(ev, &sb);
	}
	if ((r = mkarr(ev)) == NULL)
		return NULL;
	for (i = 0; i < a->u.a.n + b->u.a.n; i++)
		if (apush(ev, r, expr_ref(i < a->u.a.n ? a->u.a.v[i] :
		    b->u.a.v[i - a->u.a.n])) == -1) {
			expr_free(r);
			return NULL;
		}
	return r;
}

static expr_val *
arith(struct ev *ev, const struct node *n, const expr_val *a,
    const expr_val *b)
{
	static const char *verbs[] = { "add", "subtract", "multiply", "divide" };
	unsigned long long	 x, y;
	char			 t[32];
	int			 op = n->op;

	if (op == O_ADD && a->type == b->type && (a->type == EXPR_STR ||
	    a->type == EXPR_ARRAY))
		return concat(ev, a, b);
	if (op == O_RANGE) {
		if (a->type != EXPR_INT || b->type != EXPR_INT)
			return efail(ev, "cannot use .. on %s and %s",
			    tname(a), tname(b));
		return range(ev, a->u.i, b->u.i);
	}
	if (!isnum(a) || !isnum(b)) {
		if (op >= O_ADD && op <= O_DIV)
			return efail(ev, "cannot %s %s and %s", verbs[op - O_ADD],
			    tname(a), tname(b));
		return efail(ev, "cannot use %s on %s and %s",
		    optext(ev, n, t, sizeof(t)), tname(a), tname(b));
	}
	if ((op == O_DIV || op == O_MOD) && numf(b) == 0)
		return efail(ev, "division by zero");
	if (op == O_DIV)
		return mkval(ev, expr_float(numf(a) / numf(b)));
	if (op == O_POW)
		return mkval(ev, expr_float(f_pow(numf(a), numf(b))));
	if (a->type == EXPR_INT && b->type == EXPR_INT) {
		x = (unsigned long long)a->u.i;
		y = (unsigned long long)b->u.i;
		switch (op) {
		case O_ADD:
			return mkval(ev, expr_int(wrap(x + y)));
		case O_SUB:
			return mkval(ev, expr_int(wrap(x - y)));
		case O_MUL:
			return mkval(ev, expr_int(wrap(x * y)));
		default:	/* O_MOD; Go: LLONG_MIN % -1 is 0 */
			return mkval(ev, expr_int(b->u.i == -1 ? 0 :
			    a->u.i % b->u.i));
		}
	}
	switch (op) {
	case O_ADD:
		return mkval(ev, expr_float(numf(a) + numf(b)));
	case O_SUB:
		return mkval(ev, expr_float(numf(a) - numf(b)));
	case O_MUL:
		return mkval(ev, expr_float(numf(a) * numf(b)));
	default:
		return efail(ev, "cannot use %s on %s and %s",
		    optext(ev, n, t, sizeof(t)), tname(a), tname(b));
	}
}

/* An index from an int or a float (truncated, as Go's ToInt does). */
static int
toindex(const expr_val *v, long long *i)
{
	if (v->type == EXPR_INT) {
		*i = v->u.i;
		return 0;
	}
	if (v->type == EXPR_FLOAT && isfinitef(v->u.f) &&
	    v->u.f < 9.2e18 && v->u.f > -9.2e18) {
		*i = (long long)v->u.f;
		return 0;
	}
	return -1;
}

static expr_val *
getindex(struct ev *ev, const struct node *n, const expr_val *b,
    const expr_val *k)
{
	const expr_val	*v;
	long long	 i, orig;
	char		 q[48];
	size_t		 len;

	if (n->dot)
		quote(q, sizeof(q), k->u.s.p, k->u.s.len);
	if (b->type == EXPR_MAP) {
		if (k->type != EXPR_STR)
			return efail(ev, "cannot index map with %s", tname(k));
		v = map_getn(b, k->u.s.p, k->u.s.len);
		return mkval(ev, v ? expr_ref(v) : expr_nil());
	}
	if (n->dot)
		return efail(ev, "cannot get '%s' from %s", q, tname(b));
	if (b->type != EXPR_ARRAY && b->type != EXPR_STR)
		return efail(ev, "cannot index %s", tname(b));
	if (toindex(k, &i) == -1)
		return efail(ev, "cannot index %s with %s", tname(b), tname(k));
	len = expr_len(b);
	orig = i;
	if (i < 0)
		i += (long long)len;
	if (i < 0 || (unsigned long long)i >= len)
		return efail(ev, "index %lld out of range (len %zu)", orig, len);
	if (b->type == EXPR_STR)
		return mkstr(ev, b->u.s.p + i, 1);
	return expr_ref(b->u.a.v[i]);
}

static expr_val *
slice(struct ev *ev, const expr_val *b, const expr_val *from,
    const expr_val *to)
{
	expr_val	*r;
	long long	 len = (long long)expr_len(b), i, j;

	if (b->type != EXPR_ARRAY && b->type != EXPR_STR)
		return efail(ev, "cannot slice %s", tname(b));
	i = 0;
	j = len;
	if ((from != NULL && toindex(from, &i) == -1) ||
	    (to != NULL && toindex(to, &j) == -1))
		return efail(ev, "slice index must be an int, got %s",
		    tname(from != NULL && toindex(from, &i) == -1 ? from : to));
	if (i < 0)
		i = i + len < 0 ? 0 : i + len;
	if (j < 0)
		j = j + len < 0 ? 0 : j + len;
	if (j > len)
		j = len;
	if (i > j)
		i = j;
	if (b->type == EXPR_STR)
		return mkstr(ev, b->u.s.p + i, (size_t)(j - i));
	if ((r = mkarr(ev)) == NULL)
		return NULL;
	for (; i < j; i++)
		if (apush(ev, r, expr_ref(b->u.a.v[i])) == -1) {
			expr_free(r);
			return NULL;
		}
	return r;
}

static expr_val *
eval_member(struct ev *ev, const struct node *n)
{
	expr_val	*b, *k = NULL, *f = NULL, *t = NULL, *r = NULL;

	if ((b = eval(ev, n->kid[0])) == NULL || ev->chainnil)
		return b;
	if (b->type == EXPR_NIL && n->opt) {
		ev->chainnil = 1;
		return b;
	}
	if (n->kind == N_MEMBER) {
		if ((k = eval(ev, n->kid[1])) != NULL)
			r = getindex(ev, n, b, k);
	} else if ((n->kid[1] == NULL || (f = eval(ev, n->kid[1])) != NULL) &&
	    (n->kid[2] == NULL || (t = eval(ev, n->kid[2])) != NULL))
		r = slice(ev, b, f, t);
	expr_free(b);
	expr_free(k);
	expr_free(f);
	expr_free(t);
	return r;
}

static int
wantbool(struct ev *ev, const struct node *n, const expr_val *v)
{
	char	 t[32];

	if (v->type == EXPR_BOOL)
		return v->u.b;
	efail(ev, "%s: expected bool, got %s", optext(ev, n, t, sizeof(t)),
	    tname(v));
	return -1;
}

static expr_val *
eval_unary(struct ev *ev, const struct node *n)
{
	expr_val	*v, *r;
	char		 t[32];
	int		 b;

	if ((v = eval(ev, n->kid[0])) == NULL)
		return NULL;
	if (n->op == O_NOT) {
		b = wantbool(ev, n, v);
		expr_free(v);
		return b == -1 ? NULL : mkval(ev, expr_bool(!b));
	}
	if (v->type == EXPR_INT)
		r = n->op == O_PLUS ? expr_ref(v) :
		    mkval(ev, expr_int(wrap(-(unsigned long long)v->u.i)));
	else if (v->type == EXPR_FLOAT)
		r = n->op == O_PLUS ? expr_ref(v) : mkval(ev, expr_float(-v->u.f));
	else
		r = efail(ev, "cannot use unary %s on %s",
		    optext(ev, n, t, sizeof(t)), tname(v));
	expr_free(v);
	return r;
}

static expr_val *
eval_logic(struct ev *ev, const struct node *n)
{
	expr_val	*v;
	int		 b;

	if ((v = eval(ev, n->kid[0])) == NULL)
		return NULL;
	if (n->kind == N_COALESCE) {
		if (v->type != EXPR_NIL)
			return v;
		expr_free(v);
		return eval(ev, n->kid[1]);
	}
	b = wantbool(ev, n, v);
	expr_free(v);
	if (b == -1)
		return NULL;
	if (b == (n->kind == N_OR))
		return mkval(ev, expr_bool(b));
	if ((v = eval(ev, n->kid[1])) == NULL)
		return NULL;
	b = wantbool(ev, n, v);
	expr_free(v);
	return b == -1 ? NULL : mkval(ev, expr_bool(b));
}

static expr_val *
eval_cmp(struct ev *ev, const struct node *n)
{
	expr_val	*a, *b;
	size_t		 i;
	int		 r = 1;

	if ((a = eval(ev, n->kid[0])) == NULL)
		return NULL;
	for (i = 1; i < n->nkid && r == 1; i++) {
		if ((b = eval(ev, n->kid[i])) == NULL) {
			expr_free(a);
			return NULL;
		}
		ev->pos = n->links[i - 1].pos;
		r = compare(ev, n->links[i - 1].op, a, b);
		expr_free(a);
		a = b;
	}
	expr_free(a);
	return r == -1 ? NULL : mkval(ev, expr_bool(r));
}

static expr_val *
eval_cond(struct ev *ev, const struct node *n)
{
	expr_val	*c;
	int		 b;

	if ((c = eval(ev, n->kid[0])) == NULL)
		return NULL;
	if (c->type != EXPR_BOOL) {
		efail(ev, "?: expected bool, got %s", tname(c));
		expr_free(c);
		return NULL;
	}
	b = c->u.b;
	if (b && n->kid[1] == NULL)
		return c;
	expr_free(c);
	return eval(ev, n->kid[b ? 1 : 2]);
}

static expr_val *
eval_list(struct ev *ev, const struct node *n)
{
	expr_val	*r, *k, *v;
	size_t		 i;

	if (n->kind == N_ARRAY) {
		if ((r = mkarr(ev)) == NULL)
			return NULL;
		for (i = 0; i < n->nkid; i++)
			if (apush(ev, r, eval(ev, n->kid[i])) == -1) {
				expr_free(r);
				return NULL;
			}
		return r;
	}
	if (charge(ev, 1, 0) == -1 || (r = mkval(ev, expr_map())) == NULL)
		return NULL;
	for (i = 0; i + 1 < n->nkid; i += 2) {
		if ((k = eval(ev, n->kid[i])) == NULL)
			goto fail;
		if (k->type != EXPR_STR) {
			ev->pos = n->kid[i]->pos;
			efail(ev, "map key must be a string, got %s", tname(k));
			expr_free(k);
			goto fail;
		}
		v = eval(ev, n->kid[i + 1]);
		if (mput(ev, r, k->u.s.p, k->u.s.len, v) == -1) {
			expr_free(k);
			goto fail;
		}
		expr_free(k);
	}
	return r;
fail:
	expr_free(r);
	return NULL;
}

static expr_val *
eval_name(struct ev *ev, const struct node *n)
{
	const expr_val	*v = NULL;
	const char	*s = ev->src + n->pos;
	char		 q[48];
	int		 i;

	for (i = ev->nvar - 1; i >= 0; i--)
		if (ev->var[i].len == n->len &&
		    memcmp(ev->var[i].name, s, n->len) == 0)
			return expr_ref(ev->var[i].v);
	if (ev->env != NULL && ev->env->type == EXPR_MAP)
		v = map_getn(ev->env, s, n->len);
	if (v == NULL) {
		quote(q, sizeof(q), s, n->len);
		return efail(ev, "unknown name '%s'", q);
	}
	return expr_ref(v);
}

static expr_val *
eval_let(struct ev *ev, const struct node *n)
{
	expr_val	*v, *r;

	if (ev->nvar >= MAXFRAMES)
		return efail(ev, "too many variables");
	if ((v = eval(ev, n->kid[0])) == NULL)
		return NULL;
	ev->var[ev->nvar].name = ev->src + n->pos;
	ev->var[ev->nvar].len = n->len;
	ev->var[ev->nvar].v = v;
	ev->nvar++;
	r = eval(ev, n->kid[1]);
	ev->nvar--;
	expr_free(v);
	return r;
}

static expr_val *
eval_ptr(struct ev *ev, const struct node *n)
{
	const struct frame	*f;

	if (ev->nfr == 0)
		return efail(ev, "'#' outside a predicate");
	f = &ev->fr[ev->nfr - 1];
	if (n->op == P_INDEX)
		return mkval(ev, expr_int(f->index));
	if (n->op == P_ACC)
		return mkval(ev, f->acc ? expr_ref(f->acc) : expr_nil());
	return expr_ref(f->item);
}

static expr_val *
eval_call(struct ev *ev, const struct node *n)
{
	const struct func	*f = func_at(n->op);
	struct call		 c;
	expr_val		*r = NULL;
	size_t			 i;

	c.ev = ev;
	c.n = n;
	c.name = f->name;
	c.pred = f->pred;
	c.na = n->nkid;
	if ((c.a = calloc(n->nkid + 1, sizeof(*c.a))) == NULL)
		return oom(ev);
	for (i = 0; i < n->nkid; i++)
		if ((!f->pred || i != 1) &&
		    (c.a[i] = eval(ev, n->kid[i])) == NULL)
			goto out;
	r = f->fn(&c);
out:
	for (i = 0; i < n->nkid; i++)
		expr_free(c.a[i]);
	free(c.a);
	return r;
}

static expr_val *
eval_node(struct ev *ev, const struct node *n)
{
	expr_val	*v;

	switch (n->kind) {
	case N_LIT:
		return expr_ref(n->val);
	case N_NAME:
		return eval_name(ev, n);
	case N_ENV:
		if (ev->env != NULL && ev->env->type == EXPR_MAP)
			return expr_ref(ev->env);
		return mkval(ev, expr_map());
	case N_PTR:
		return eval_ptr(ev, n);
	case N_ARRAY:
	case N_MAP:
		return eval_list(ev, n);
	case N_UNARY:
		return eval_unary(ev, n);
	case N_AND:
	case N_OR:
	case N_COALESCE:
		return eval_logic(ev, n);
	case N_CMP:
		return eval_cmp(ev, n);
	case N_COND:
		return eval_cond(ev, n);
	case N_MEMBER:
	case N_SLICE:
		return eval_member(ev, n);
	case N_OPT:
		v = eval(ev, n->kid[0]);
		ev->chainnil = 0;
		return v;
	case N_CALL:
		return eval_call(ev, n);
	case N_LET:
		return eval_let(ev, n);
	case N_BINARY:
		break;
	}
	{
		expr_val	*a, *b, *r;

		if ((a = eval(ev, n->kid[0])) == NULL)
			return NULL;
		if ((b = eval(ev, n->kid[1])) == NULL) {
			expr_free(a);
			return NULL;
		}
		r = arith(ev, n, a, b);
		expr_free(a);
		expr_free(b);
		return r;
	}
}

static expr_val *
eval(struct ev *ev, const struct node *n)
{
	expr_val	*v;
	size_t		 saved = ev->pos;

	ev->pos = n->pos;
	if (work(ev, 1) == -1)
		return NULL;
	v = eval_node(ev, n);
	if (v != NULL && v->depth > VALDEPTH) {
		expr_free(v);
		v = efail(ev, "value nested too deeply");
	}
	if (v == NULL && !ev->failed)
		v = oom(ev);
	ev->pos = saved;
	return v;
}

static void
ev_init(struct ev *ev, const expr_val *env, const char *src)
{
	memset(ev, 0, sizeof(*ev));
	ev->env = env;
	ev->src = src;
}

/*
 * Built-in functions
 */

static void *
cfail(struct call *c, const char *fmt, ...)
{
	char	 msg[200];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return efail(c->ev, "%s: %s", c->name, msg);
}

/* Argument i must be one of the types in mask, described by what. */
static int
want(struct call *c, size_t i, int mask, const char *what)
{
	if (mask & (1 << c->a[i]->type))
		return 0;
	if (c->na == 1 || c->pred)	/* a predicate is not an argument */
		cfail(c, "expected %s, got %s", what, tname(c->a[i]));
	else
		cfail(c, "argument %zu: expected %s, got %s", i + 1, what,
		    tname(c->a[i]));
	return -1;
}

static int
wantstr(struct call *c, size_t i)
{
	return want(c, i, M_STR, "a string");
}

/* An int argument; integral floats too (fromJSON makes floats). */
static int
wantint(struct call *c, size_t i, long long *out)
{
	const expr_val	*v = c->a[i];

	if (v->type == EXPR_INT) {
		*out = v->u.i;
		return 0;
	}
	if (v->type == EXPR_FLOAT && v->u.f == f_trunc(v->u.f) &&
	    v->u.f < 9.2e18 && v->u.f > -9.2e18) {
		*out = (long long)v->u.f;
		return 0;
	}
	return want(c, i, M_INT, "an int");
}

static expr_val *
fn_len(struct call *c)
{
	if (want(c, 0, M_STR | M_ARRAY | M_MAP, "a string, array or map"))
		return NULL;
	return mkval(c->ev, expr_int((long long)expr_len(c->a[0])));
}

static expr_val *
fn_type(struct call *c)
{
	return mkstr(c->ev, tname(c->a[0]), strlen(tname(c->a[0])));
}

static expr_val *
fn_abs(struct call *c)
{
	const expr_val	*v = c->a[0];

	if (want(c, 0, M_NUM, "a number"))
		return NULL;
	if (v->type == EXPR_INT)
		return mkval(c->ev, expr_int(v->u.i < 0 ?
		    wrap(-(unsigned long long)v->u.i) : v->u.i));
	return mkval(c->ev, expr_float(v->u.f < 0 ? -v->u.f : v->u.f));
}

static expr_val *
fn_round(struct call *c)
{
	double	 d;

	if (want(c, 0, M_NUM, "a number"))
		return NULL;
	d = numf(c->a[0]);
	if (c->name[0] == 'c')
		d = f_ceil(d);
	else if (c->name[0] == 'f')
		d = f_floor(d);
	else
		d = f_round(d);
	return mkval(c->ev, expr_float(d));
}

/* Go's strconv.Atoi: an optional sign and decimal digits, nothing else. */
static int
atoi_go(const char *s, size_t n, long long *out)
{
	unsigned long long	 v = 0, lim;
	size_t			 i = 0;
	int			 neg = 0;

	if (n > 0 && (s[0] == '+' || s[0] == '-'))
		neg = s[i++] == '-';
	if (i == n)
		return -1;
	lim = neg ? (unsigned long long)LLONG_MAX + 1 : LLONG_MAX;
	for (; i < n; i++) {
		if (!ISDIGIT(s[i]))
			return -1;
		if (v > (lim - (unsigned)(s[i] - '0')) / 10)
			return -2;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	*out = neg ? wrap(-v) : (long long)v;
	return 0;
}

static expr_val *
fn_int(struct call *c)
{
	const expr_val	*v = c->a[0];
	long long	 i;
	char		 q[40];
	int		 r;

	switch (v->type) {
	case EXPR_INT:
		return expr_ref(v);
	case EXPR_FLOAT:
		if (!isfinitef(v->u.f) || v->u.f >= 9223372036854775808.0 ||
		    v->u.f < -9223372036854775808.0)
			return cfail(c, "%s out of range", v->u.f != v->u.f ?
			    "NaN" : "value");
		return mkval(c->ev, expr_int((long long)v->u.f));
	case EXPR_STR:
		if ((r = atoi_go(v->u.s.p, v->u.s.len, &i)) == 0)
			return mkval(c->ev, expr_int(i));
		quote(q, sizeof(q), v->u.s.p, v->u.s.len);
		return cfail(c, r == -2 ? "\"%s\" out of range" :
		    "cannot parse \"%s\"", q);
	default:
		want(c, 0, M_NUM | M_STR, "a number or string");
		return NULL;
	}
}

/* Go's ParseFloat, roughly: no spaces, all of it a number. */
static expr_val *
fn_float(struct call *c)
{
	const expr_val	*v = c->a[0];
	const char	*s;
	char		 q[40];
	double		 d;
	int		 ok;

	if (isnum(v))
		return mkval(c->ev, expr_float(numf(v)));
	if (want(c, 0, M_NUM | M_STR, "a number or string") ||
	    work(c->ev, v->u.s.len / 64) == -1)
		return NULL;
	s = v->u.s.p;
	d = c_strtod(s, v->u.s.len, &ok);
	if (v->u.s.len > 0 && (ISSPACE(s[0]) || memchr(s, '\0',
	    v->u.s.len) != NULL))
		ok = 0;
	quote(q, sizeof(q), s, v->u.s.len);
	if (!ok)
		return cfail(c, "cannot parse \"%s\"", q);
	if (!isfinitef(d) && memchr(s, 'n', v->u.s.len) == NULL &&
	    memchr(s, 'N', v->u.s.len) == NULL)
		return cfail(c, "\"%s\" out of range", q);
	return mkval(c->ev, expr_float(d));
}

static expr_val *
fn_string(struct call *c)
{
	struct buf	 b;

	evbuf(&b);
	put_text(&b, c->a[0]);
	return bufstr(c->ev, &b);
}

static expr_val *
fn_upper(struct call *c)
{
	expr_val	*r;
	size_t		 i;
	char		*p;

	if (wantstr(c, 0) || (r = mkstr(c->ev, c->a[0]->u.s.p,
	    c->a[0]->u.s.len)) == NULL)
		return NULL;
	for (p = r->u.s.p, i = 0; i < r->u.s.len; i++)
		if (ISALPHA(p[i]))
			p[i] = c->name[0] == 'u' ? (char)(p[i] & ~0x20) :
			    (char)(p[i] | 0x20);
	return r;
}

/* Is the character at s (n bytes) one of those in set? */
static int
inset(const char *s, size_t n, const expr_val *set, size_t *l)
{
	size_t	 i, k;

	*l = runelen(s, n);
	if (set == NULL)
		return ISSPACE(*s);
	for (i = 0; i < set->u.s.len; i += k) {
		k = runelen(set->u.s.p + i, set->u.s.len - i);
		if (k == *l && memcmp(set->u.s.p + i, s, k) == 0)
			return 1;
	}
	return 0;
}

static expr_val *
fn_trim(struct call *c)
{
	const expr_val	*set = c->na > 1 ? c->a[1] : NULL;
	const char	*s;
	size_t		 i, j, l, k;

	if (wantstr(c, 0) || (set != NULL && wantstr(c, 1)))
		return NULL;
	s = c->a[0]->u.s.p;
	j = c->a[0]->u.s.len;
	if (work(c->ev, j * (set ? set->u.s.len + 1 : 1) / 64) == -1)
		return NULL;
	for (i = 0; i < j && inset(s + i, j - i, set, &l); i += l)
		;
	/* Backwards: find where the last character starts. */
	while (j > i) {
		for (k = j - 1; k > i && j - k < 4 &&
		    ((unsigned char)s[k] & 0xc0) == 0x80; k--)
			;
		if (runelen(s + k, j - k) != j - k)
			k = j - 1;
		if (!inset(s + k, j - k, set, &l))
			break;
		j = k;
	}
	return mkstr(c->ev, s + i, j - i);
}

static expr_val *
fn_trimfix(struct call *c)
{
	const expr_val	*s = c->a[0];
	expr_val	 sp;
	int		 suffix = c->name[4] == 'S';

	sp.type = EXPR_STR;
	sp.u.s.p = " ";
	sp.u.s.len = 1;
	if (wantstr(c, 0) || (c->na > 1 && wantstr(c, 1)))
		return NULL;
	if (c->na > 1)
		sp = *c->a[1];
	if (!has_at(s, &sp, suffix))
		return expr_ref(s);
	return mkstr(c->ev, s->u.s.p + (suffix ? 0 : sp.u.s.len),
	    s->u.s.len - sp.u.s.len);
}

/* Go's strings.SplitN and SplitAfterN; n < 0 is no limit. */
static expr_val *
fn_split(struct call *c)
{
	const expr_val	*s = c->a[0], *sep = c->a[1];
	const char	*p, *end, *hit;
	expr_val	*r;
	long long	 n = -1, k = 0;
	size_t		 step, after = c->name[5] == 'A';

	if (wantstr(c, 0) || wantstr(c, 1) || (c->na > 2 && wantint(c, 2, &n)))
		return NULL;
	if ((r = mkarr(c->ev)) == NULL || n == 0)
		return r;
	if (work(c->ev, s->u.s.len / 16) == -1)
		goto fail;
	p = s->u.s.p;
	end = p + s->u.s.len;
	for (;;) {
		if (sep->u.s.len == 0 && p == end)
			return r;
		if (n > 0 && ++k == n)
			break;
		if (sep->u.s.len == 0) {
			hit = p + runelen(p, (size_t)(end - p));
			step = (size_t)(hit - p);
			hit = p;
		} else {
			hit = memmem(p, (size_t)(end - p), sep->u.s.p,
			    sep->u.s.len);
			step = sep->u.s.len;
		}
		if (hit == NULL)
			break;
		if (apush(c->ev, r, mkstr(c->ev, p, (size_t)(hit - p) +
		    (after || sep->u.s.len == 0 ? step : 0))) == -1)
			goto fail;
		p = hit + step;
	}
	if (apush(c->ev, r, mkstr(c->ev, p, (size_t)(end - p))) == -1)
		goto fail;
	return r;
fail:
	expr_free(r);
	return NULL;
}

/* Go's strings.Replace: an empty old matches before every character. */
static expr_val *
fn_replace(struct call *c)
{
	const expr_val	*s = c->a[0], *old = c->a[1], *new = c->a[2];
	const char	*p, *end, *hit;
	struct buf	 b;
	long long	 n = -1;

	if (wantstr(c, 0) || wantstr(c, 1) || wantstr(c, 2) ||
	    (c->na > 3 && wantint(c, 3, &n)))
		return NULL;
	if (work(c->ev, s->u.s.len / 16) == -1)
		return NULL;
	evbuf(&b);
	p = s->u.s.p;
	end = p + s->u.s.len;
	for (; n != 0 && !b.bad; n--) {
		if (old->u.s.len == 0) {
			buf_addn(&b, new->u.s.p, new->u.s.len);
			if (p == end) {
				n = 1;		/* done: nothing left */
				continue;
			}
			hit = p + runelen(p, (size_t)(end - p));
			buf_addn(&b, p, (size_t)(hit - p));
			p = hit;
			continue;
		}
		if ((hit = memmem(p, (size_t)(end - p), old->u.s.p,
		    old->u.s.len)) == NULL)
			break;
		buf_addn(&b, p, (size_t)(hit - p));
		buf_addn(&b, new->u.s.p, new->u.s.len);
		p = hit + old->u.s.len;
	}
	if (p < end)
		buf_addn(&b, p, (size_t)(end - p));
	return bufstr(c->ev, &b);
}

static expr_val *
fn_repeat(struct call *c)
{
	const expr_val	*s = c->a[0];
	char		*p;
	size_t		 len, have;
	long long	 n;

	if (wantstr(c, 0) || wantint(c, 1, &n))
		return NULL;
	if (n < 0)
		return cfail(c, "negative count %lld", n);
	if (s->u.s.len == 0 || n == 0)
		return mkstr(c->ev, "", 0);
	if ((unsigned long long)n > EXPR_MAXSTR / s->u.s.len)
		return efail(c->ev, "string too long");
	len = s->u.s.len * (size_t)n;
	if (charge(c->ev, 1, len) == -1)
		return NULL;
	if ((p = malloc(len + 1)) == NULL)
		return oom(c->ev);
	memcpy(p, s->u.s.p, s->u.s.len);
	for (have = s->u.s.len; have < len; have *= 2)
		memcpy(p + have, p, have < len - have ? have : len - have);
	p[len] = '\0';
	return mkval(c->ev, str_own(p, len));
}

static expr_val *
fn_join(struct call *c)
{
	const expr_val	*a = c->a[0];
	struct buf	 b;
	size_t		 i;

	if (want(c, 0, M_ARRAY, "an array") || (c->na > 1 && wantstr(c, 1)))
		return NULL;
	evbuf(&b);
	for (i = 0; i < a->u.a.n; i++) {
		if (a->u.a.v[i]->type != EXPR_STR) {
			free(b.s);
			return cfail(c, "element %zu is %s, not string", i,
			    tname(a->u.a.v[i]));
		}
		if (i > 0 && c->na > 1)
			buf_addn(&b, c->a[1]->u.s.p, c->a[1]->u.s.len);
		buf_addn(&b, a->u.a.v[i]->u.s.p, a->u.a.v[i]->u.s.len);
	}
	return bufstr(c->ev, &b);
}

static char *
reversed(const expr_val *s)
{
	char	*r;
	size_t	 i, n = s->u.s.len;

	if ((r = malloc(n + 1)) == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		r[i] = s->u.s.p[n - 1 - i];
	r[n] = '\0';
	return r;
}

/* indexOf and lastIndexOf, in bytes; memmem is linear, so reverse. */
static expr_val *
fn_index(struct call *c)
{
	const expr_val	*s = c->a[0], *sub = c->a[1];
	const char	*hit;
	char		*rs, *rsub;
	long long	 at = -1;

	if (wantstr(c, 0) || wantstr(c, 1))
		return NULL;
	if (work(c->ev, s->u.s.len / 16) == -1)
		return NULL;
	if (c->name[0] == 'i') {
		if ((hit = find_sub(s, sub)) != NULL)
			at = hit - s->u.s.p;
		return mkval(c->ev, expr_int(at));
	}
	if (charge(c->ev, 2, s->u.s.len + sub->u.s.len) == -1)
		return NULL;
	rs = reversed(s);
	rsub = reversed(sub);
	if (rs == NULL || rsub == NULL) {
		free(rs);
		free(rsub);
		return oom(c->ev);
	}
	if ((hit = memmem(rs, s->u.s.len, rsub, sub->u.s.len)) != NULL)
		at = (long long)(s->u.s.len - sub->u.s.len) - (hit - rs);
	free(rs);
	free(rsub);
	return mkval(c->ev, expr_int(at));
}

static expr_val *
fn_hasfix(struct call *c)
{
	if (wantstr(c, 0) || wantstr(c, 1) ||
	    work(c->ev, c->a[1]->u.s.len / 64) == -1)
		return NULL;
	return mkval(c->ev, expr_bool(has_at(c->a[0], c->a[1],
	    c->name[3] == 'S')));
}

/* max and min: of numbers, and of the numbers in array arguments. */
static expr_val *
fn_minmax(struct call *c)
{
	const expr_val	*best = NULL, *v;
	size_t		 i, j, n;
	int		 max = c->name[1] == 'a';

	for (i = 0; i < c->na; i++) {
		n = c->a[i]->type == EXPR_ARRAY ? c->a[i]->u.a.n : 1;
		if (work(c->ev, n) == -1)
			return NULL;
		for (j = 0; j < n; j++) {
			v = c->a[i]->type == EXPR_ARRAY ? c->a[i]->u.a.v[j] :
			    c->a[i];
			if (!isnum(v))
				return cfail(c, "expected numbers, got %s",
				    tname(v));
			if (best == NULL || (max ? numf(v) > numf(best) :
			    numf(v) < numf(best)) ||
			    (v->type == EXPR_INT && best->type == EXPR_INT &&
			    (max ? v->u.i > best->u.i : v->u.i < best->u.i)))
				best = v;
		}
	}
	return best ? expr_ref(best) : mkval(c->ev, expr_nil());
}

/* Sum, as an int while every term is one. */
struct sum {
	unsigned long long	 i;
	double			 f;
	int			 isf;
};

static int
sum_add(struct call *c, struct sum *s, const expr_val *v)
{
	if (!isnum(v)) {
		cfail(c, "expected numbers, got %s", tname(v));
		return -1;
	}
	if (v->type == EXPR_FLOAT && !s->isf) {
		s->isf = 1;
		s->f = (double)wrap(s->i);
	}
	if (s->isf)
		s->f += numf(v);
	else
		s->i += (unsigned long long)v->u.i;
	return 0;
}

static expr_val *
sum_val(struct call *c, const struct sum *s)
{
	return mkval(c->ev, s->isf ? expr_float(s->f) : expr_int(wrap(s->i)));
}

static int
dblcmp(const void *a, const void *b)
{
	double	 x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* mean and median of an array of numbers, 0 for none, as in expr. */
static expr_val *
fn_mean(struct call *c)
{
	const expr_val	*a = c->a[0];
	double		*d, r = 0;
	size_t		 i, n;

	if (want(c, 0, M_ARRAY, "an array") || work(c->ev, a->u.a.n) == -1)
		return NULL;
	if ((n = a->u.a.n) == 0)
		return mkval(c->ev, expr_float(0));
	if ((d = calloc(n, sizeof(*d))) == NULL)
		return oom(c->ev);
	for (i = 0; i < n; i++) {
		if (!isnum(a->u.a.v[i])) {
			free(d);
			return cfail(c, "expected numbers, got %s",
			    tname(a->u.a.v[i]));
		}
		d[i] = numf(a->u.a.v[i]);
		r += d[i];
	}
	if (c->name[2] == 'a')		/* mean, not median */
		r /= (double)n;
	else {
		qsort(d, n, sizeof(*d), dblcmp);
		r = n % 2 ? d[n / 2] : (d[n / 2 - 1] + d[n / 2]) / 2;
	}
	free(d);
	return mkval(c->ev, expr_float(r));
}

static expr_val *
fn_tojson(struct call *c)
{
	struct buf	 b;
	struct jsonw	 w = { &b, 1, 1, 1 };

	evbuf(&b);
	if (json_put(&w, c->a[0], 0) == -1) {
		free(b.s);
		return cfail(c, "cannot encode NaN or infinity");
	}
	return bufstr(c->ev, &b);
}

static expr_val *
fn_fromjson(struct call *c)
{
	expr_val	*v;
	char		*err = NULL;
	size_t		 left, made;

	if (wantstr(c, 0) || charge(c->ev, 0, c->a[0]->u.s.len) == -1)
		return NULL;
	if (memchr(c->a[0]->u.s.p, '\0', c->a[0]->u.s.len) != NULL)
		return cfail(c, "invalid JSON: NUL byte");
	made = left = (size_t)((MAXMEM - c->ev->mem) / ELEMCOST);
	if ((v = json_parse(c->a[0]->u.s.p, &left, &err)) == NULL) {
		cfail(c, "%s", err ? err : "out of memory");
		free(err);
		return NULL;
	}
	if (charge(c->ev, made - left, 0) == -1) {
		expr_free(v);
		return NULL;
	}
	return v;
}

static expr_val *
fn_tobase64(struct call *c)
{
	static const char	 b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char	*s;
	struct buf		 b;
	unsigned long		 v;
	size_t			 i, n;
	char			 out[4];

	if (wantstr(c, 0))
		return NULL;
	s = (const unsigned char *)c->a[0]->u.s.p;
	n = c->a[0]->u.s.len;
	evbuf(&b);
	for (i = 0; i < n && !b.bad; i += 3) {
		v = (unsigned long)s[i] << 16;
		if (i + 1 < n)
			v |= (unsigned long)s[i + 1] << 8;
		if (i + 2 < n)
			v |= s[i + 2];
		out[0] = b64[v >> 18 & 63];
		out[1] = b64[v >> 12 & 63];
		out[2] = i + 1 < n ? b64[v >> 6 & 63] : '=';
		out[3] = i + 2 < n ? b64[v & 63] : '=';
		buf_addn(&b, out, 4);
	}
	return bufstr(c->ev, &b);
}

static int
b64val(int ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ISDIGIT(ch))
		return ch - '0' + 52;
	return ch == '+' ? 62 : ch == '/' ? 63 : -1;
}

/* Go's StdEncoding: padding required, CR and LF ignored. */
static expr_val *
fn_frombase64(struct call *c)
{
	const char	*s;
	struct buf	 b;
	unsigned long	 v = 0;
	size_t		 i, n, k = 0, pad = 0;
	int		 d;
	char		 out[3];

	if (wantstr(c, 0))
		return NULL;
	s = c->a[0]->u.s.p;
	n = c->a[0]->u.s.len;
	evbuf(&b);
	for (i = 0; i < n; i++) {
		if (s[i] == '\r' || s[i] == '\n')
			continue;
		if (s[i] == '=' && k >= 2 && pad < 2 && (pad > 0 || k % 4 >= 2)) {
			pad++;
			d = 0;
		} else if (pad > 0 || (d = b64val((unsigned char)s[i])) < 0)
			goto bad;
		v = v << 6 | (unsigned long)d;
		if (++k % 4 == 0) {
			out[0] = (char)(v >> 16);
			out[1] = (char)(v >> 8);
			out[2] = (char)v;
			buf_addn(&b, out, 3 - pad);
			v = 0;
		}
	}
	if (k % 4 != 0) {
		i = n - k % 4;		/* Go points at the short quantum */
		goto bad;
	}
	return bufstr(c->ev, &b);
bad:
	free(b.s);
	return cfail(c, "illegal base64 data at input byte %zu", i);
}

static long long
default_clock(void)
{
	struct timespec	 ts;

	if (timespec_get(&ts, TIME_UTC) == 0)
		return 0;
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static unsigned long long
default_random(void)
{
	unsigned long long	 r;

	arc4random_buf(&r, sizeof(r));
	return r;
}

void
expr_set_clock(long long (*fn)(void))
{
	clockfn = fn;
}

void
expr_set_random(unsigned long long (*fn)(void))
{
	randfn = fn;
}

/* RFC 3339 in UTC, years 0 to 9999; days to dates as in Hinnant's. */
static expr_val *
fn_now(struct call *c)
{
	long long	 ms, secs, z, era, doe, yoe, y, doy, mp, d, m;
	char		 buf[64];

	ms = (clockfn ? clockfn : default_clock)();
	if (ms < -62167219200000LL)
		ms = -62167219200000LL;
	if (ms > 253402300799999LL)
		ms = 253402300799999LL;
	secs = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
	z = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
	secs -= z * 86400;
	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = doy - (153 * mp + 2) / 5 + 1;
	m = mp < 10 ? mp + 3 : mp - 9;
	y += m <= 2;
	snprintf(buf, sizeof(buf), "%04lld-%02lld-%02lldT%02lld:%02lld:%02lldZ",
	    y, m, d, secs / 3600, secs / 60 % 60, secs % 60);
	return mkstr(c->ev, buf, strlen(buf));
}

static expr_val *
fn_randomint(struct call *c)
{
	unsigned long long	 (*rnd)(void) = randfn ? randfn : default_random;
	unsigned long long	 r, lim;
	long long		 n;
	int			 tries;

	if (c->na == 0)
		return mkval(c->ev, expr_int((long long)(rnd() >> 1)));
	if (want(c, 0, M_INT, "an int") || (n = c->a[0]->u.i) <= 0)
		return c->ev->failed ? NULL : cfail(c, "n must be positive, "
		    "got %lld", c->a[0]->u.i);
	/* Reject the top, uneven part of the range, but not forever. */
	lim = ULLONG_MAX - ULLONG_MAX % (unsigned long long)n;
	for (tries = 0; (r = rnd()) >= lim && tries < 64; tries++)
		;
	return mkval(c->ev, expr_int((long long)(r % (unsigned long long)n)));
}

/* Tork's sequence(start, stop): start, start + 1, ..., stop - 1. */
static expr_val *
fn_sequence(struct call *c)
{
	long long	 a, b;

	if (wantint(c, 0, &a) || wantint(c, 1, &b))
		return NULL;
	if (b <= a)
		return mkarr(c->ev);
	if ((unsigned long long)b - (unsigned long long)a > EXPR_MAXLEN)
		return cfail(c, "too many elements");
	return range(c->ev, a, b - 1);
}

static expr_val *
fn_firstlast(struct call *c)
{
	const expr_val	*a = c->a[0];

	if (a->type == EXPR_NIL)
		return expr_ref(a);
	if (want(c, 0, M_ARRAY, "an array"))
		return NULL;
	if (a->u.a.n == 0)
		return mkval(c->ev, expr_nil());
	return expr_ref(a->u.a.v[c->name[0] == 'f' ? 0 : a->u.a.n - 1]);
}

/* get(v, k): v[k], or nil wherever v[k] would fail. */
static expr_val *
fn_get(struct call *c)
{
	const expr_val	*v = c->a[0], *k = c->a[1], *r = NULL;
	long long	 i;

	if (v->type == EXPR_MAP && k->type == EXPR_STR)
		r = map_getn(v, k->u.s.p, k->u.s.len);
	else if (v->type == EXPR_ARRAY && toindex(k, &i) == 0) {
		if (i < 0)
			i += (long long)v->u.a.n;
		if (i >= 0 && (unsigned long long)i < v->u.a.n)
			r = v->u.a.v[i];
	}
	return r ? expr_ref(r) : mkval(c->ev, expr_nil());
}

static expr_val *
fn_take(struct call *c)
{
	expr_val	 from, to;
	long long	 n;

	if (want(c, 0, M_ARRAY, "an array") || wantint(c, 1, &n))
		return NULL;
	if (n < 0)
		return cfail(c, "negative count %lld", n);
	from.type = to.type = EXPR_INT;
	from.u.i = 0;
	to.u.i = n;
	return slice(c->ev, c->a[0], &from, &to);
}

static expr_val *
fn_keys(struct call *c)
{
	const expr_val	*m = c->a[0];
	expr_val	*r, *pair;
	size_t		 i;
	int		 what = c->name[0];	/* keys, values, toPairs */

	if (want(c, 0, M_MAP, "a map") || (r = mkarr(c->ev)) == NULL)
		return NULL;
	for (i = 0; i < m->u.m.n; i++) {
		if (what == 'v')
			pair = expr_ref(m->u.m.kv[i].v);
		else
			pair = mkstr(c->ev, m->u.m.kv[i].k, m->u.m.kv[i].klen);
		if (what == 't' && pair != NULL) {
			expr_val	*k = pair;

			if ((pair = mkarr(c->ev)) == NULL)
				expr_free(k);
			else if (apush(c->ev, pair, k) == -1 ||
			    apush(c->ev, pair, expr_ref(m->u.m.kv[i].v)) == -1) {
				expr_free(pair);
				pair = NULL;
			}
		}
		if (apush(c->ev, r, pair) == -1) {
			expr_free(r);
			return NULL;
		}
	}
	return r;
}

static expr_val *
fn_frompairs(struct call *c)
{
	const expr_val	*a = c->a[0], *p;
	expr_val	*r;
	size_t		 i;

	if (want(c, 0, M_ARRAY, "an array"))
		return NULL;
	if (charge(c->ev, 1, 0) == -1 || (r = mkval(c->ev, expr_map())) == NULL)
		return NULL;
	for (i = 0; i < a->u.a.n; i++) {
		p = a->u.a.v[i];
		if (p->type != EXPR_ARRAY || p->u.a.n != 2 ||
		    p->u.a.v[0]->type != EXPR_STR) {
			expr_free(r);
			return cfail(c, "element %zu is not a [string, value] "
			    "pair", i);
		}
		if (mput(c->ev, r, p->u.a.v[0]->u.s.p, p->u.a.v[0]->u.s.len,
		    expr_ref(p->u.a.v[1])) == -1) {
			expr_free(r);
			return NULL;
		}
	}
	return r;
}

/*
 * Sorting: a stable merge sort of indices into keys, which are all
 * numbers or all strings.
 */
struct sortctx {
	struct ev	 *ev;
	const expr_val	**key;
	int		  desc;
};

static int
sort_less(const struct sortctx *s, size_t a, size_t b)
{
	const expr_val	*x = s->key[a], *y = s->key[b];
	int		 c;

	if (s->ev->failed)
		return 0;	/* out of budget: just finish */
	if (x->type == EXPR_STR) {
		if (work(s->ev, (x->u.s.len < y->u.s.len ? x->u.s.len :
		    y->u.s.len) / 64) == -1)
			return 0;
		c = keycmp(x->u.s.p, x->u.s.len, y->u.s.p, y->u.s.len);
	} else if (x->type == EXPR_INT && y->type == EXPR_INT)
		c = x->u.i < y->u.i ? -1 : x->u.i > y->u.i;
	else
		c = numf(x) < numf(y) ? -1 : numf(x) > numf(y);
	return s->desc ? c > 0 : c < 0;
}

static void
msort(const struct sortctx *s, size_t *ix, size_t *tmp, size_t n)
{
	size_t	 h = n / 2, i = 0, j = h, k = 0;

	if (n < 2)
		return;
	msort(s, ix, tmp, h);
	msort(s, ix + h, tmp, n - h);
	while (i < h && j < n)
		tmp[k++] = sort_less(s, ix[j], ix[i]) ? ix[j++] : ix[i++];
	while (i < h)
		tmp[k++] = ix[i++];
	while (j < n)
		tmp[k++] = ix[j++];
	memcpy(ix, tmp, n * sizeof(*ix));
}

/* Sort the elements of arr by keys (one per element). */
static expr_val *
sort_by(struct call *c, const expr_val *arr, const expr_val **key,
    const expr_val *order)
{
	struct sortctx	 s = { c->ev, key, 0 };
	size_t		*ix, *tmp, i, n = arr->u.a.n;
	expr_val	*r = NULL;

	if (order != NULL) {
		if (order->type != EXPR_STR || (strcmp(order->u.s.p, "asc") &&
		    strcmp(order->u.s.p, "desc")))
			return cfail(c, "order must be \"asc\" or \"desc\"");
		s.desc = order->u.s.p[0] == 'd';
	}
	for (i = 0; i < n; i++)
		if ((!isnum(key[i]) && key[i]->type != EXPR_STR) ||
		    (i > 0 && (key[i]->type == EXPR_STR) !=
		    (key[0]->type == EXPR_STR)))
			return cfail(c, "cannot sort %s%s%s", tname(key[i]),
			    i > 0 ? " and " : "", i > 0 ? tname(key[0]) : "");
	if (work(c->ev, n * 20) == -1)
		return NULL;
	ix = calloc(n + 1, sizeof(*ix));
	tmp = calloc(n + 1, sizeof(*tmp));
	if (ix == NULL || tmp == NULL)
		goto out;
	for (i = 0; i < n; i++)
		ix[i] = i;
	msort(&s, ix, tmp, n);
	if (c->ev->failed || (r = mkarr(c->ev)) == NULL)
		goto out;
	for (i = 0; i < n; i++)
		if (apush(c->ev, r, expr_ref(arr->u.a.v[ix[i]])) == -1) {
			expr_free(r);
			r = NULL;
			break;
		}
out:
	if (r == NULL && !c->ev->failed)
		oom(c->ev);
	free(ix);
	free(tmp);
	return r;
}

static expr_val *
fn_sort(struct call *c)
{
	if (want(c, 0, M_ARRAY, "an array"))
		return NULL;
	return sort_by(c, c->a[0], (const expr_val **)c->a[0]->u.a.v,
	    c->na > 1 ? c->a[1] : NULL);
}

static expr_val *
fn_reverse(struct call *c)
{
	const expr_val	*a = c->a[0];
	expr_val	*r;
	size_t		 i;

	if (want(c, 0, M_ARRAY, "an array") || (r = mkarr(c->ev)) == NULL)
		return NULL;
	for (i = a->u.a.n; i > 0; i--)
		if (apush(c->ev, r, expr_ref(a->u.a.v[i - 1])) == -1) {
			expr_free(r);
			return NULL;
		}
	return r;
}

static expr_val *
fn_uniq(struct call *c)
{
	const expr_val	*a = c->a[0];
	expr_val	*r;
	size_t		 i, j;
	int		 e = 0;

	if (want(c, 0, M_ARRAY, "an array") || (r = mkarr(c->ev)) == NULL)
		return NULL;
	for (i = 0; i < a->u.a.n; i++) {
		if (work(c->ev, r->u.a.n) == -1)
			goto fail;
		for (j = 0; j < r->u.a.n; j++)
			if ((e = equal(c->ev, a->u.a.v[i], r->u.a.v[j])) != 0)
				break;
		if (e == -1)
			goto fail;
		if (j == r->u.a.n && apush(c->ev, r, expr_ref(a->u.a.v[i])))
			goto fail;
	}
	return r;
fail:
	expr_free(r);
	return NULL;
}

static int
flatten(struct call *c, expr_val *r, const expr_val *a)
{
	size_t	 i;

	for (i = 0; i < a->u.a.n; i++) {
		if (a->u.a.v[i]->type == EXPR_ARRAY) {
			if (flatten(c, r, a->u.a.v[i]) == -1)
				return -1;
		} else if (apush(c->ev, r, expr_ref(a->u.a.v[i])) == -1)
			return -1;
	}
	return 0;
}

static int
concat_into(struct call *c, expr_val *r, const expr_val *a)
{
	size_t	 i;

	for (i = 0; i < a->u.a.n; i++)
		if (apush(c->ev, r, expr_ref(a->u.a.v[i])) == -1)
			return -1;
	return 0;
}

/* concat(arrays...) and flatten(array), which goes all the way down. */
static expr_val *
fn_concat(struct call *c)
{
	expr_val	*r;
	size_t		 i;

	for (i = 0; i < c->na; i++)
		if (want(c, i, M_ARRAY, "an array"))
			return NULL;
	if ((r = mkarr(c->ev)) == NULL)
		return NULL;
	for (i = 0; i < c->na; i++) {
		if (c->name[0] == 'f' ? flatten(c, r, c->a[i]) == -1 :
		    concat_into(c, r, c->a[i]) == -1) {
			expr_free(r);
			return NULL;
		}
	}
	return r;
}

/*
 * Predicates: the second argument is evaluated once per element, with
 * # the element, #index its index and #acc reduce's accumulator.
 */
static expr_val *
pred_eval(struct call *c, size_t i, const expr_val *acc)
{
	struct ev	*ev = c->ev;
	expr_val	*v;

	if (ev->nfr >= MAXFRAMES)
		return efail(ev, "predicates nested too deeply");
	ev->fr[ev->nfr].item = c->a[0]->u.a.v[i];
	ev->fr[ev->nfr].index = (long long)i;
	ev->fr[ev->nfr].acc = acc;
	ev->nfr++;
	v = eval(ev, c->n->kid[1]);
	ev->nfr--;
	return v;
}

/* The predicate on element i as a bool; count alone uses the element. */
static int
pred_bool(struct call *c, size_t i)
{
	expr_val	*v;
	int		 b;

	if (c->na < 2)
		v = expr_ref(c->a[0]->u.a.v[i]);
	else if ((v = pred_eval(c, i, NULL)) == NULL)
		return -1;
	if (v->type != EXPR_BOOL) {
		cfail(c, "expected bool from the predicate, got %s", tname(v));
		expr_free(v);
		return -1;
	}
	b = v->u.b;
	expr_free(v);
	return b;
}

/* all any none one count filter find findIndex findLast findLastIndex */
static expr_val *
fn_pred(struct call *c)
{
	const char	*f = c->name;
	expr_val	*r = NULL;
	size_t		 i, k, n;
	long long	 count = 0;
	int		 b, rev = strncmp(f, "findLast", 8) == 0;
	int		 index = strstr(f, "Index") != NULL;

	if (want(c, 0, M_ARRAY, "an array"))
		return NULL;
	if (strcmp(f, "filter") == 0 && (r = mkarr(c->ev)) == NULL)
		return NULL;
	n = c->a[0]->u.a.n;
	for (k = 0; k < n; k++) {
		i = rev ? n - 1 - k : k;
		if ((b = pred_bool(c, i)) == -1) {
			expr_free(r);
			return NULL;
		}
		if (b == (strcmp(f, "all") == 0))
			continue;
		if (strcmp(f, "all") == 0 || strcmp(f, "none") == 0 ||
		    strcmp(f, "any") == 0)
			return mkval(c->ev, expr_bool(f[1] == 'n'));
		if (r != NULL && apush(c->ev, r,
		    expr_ref(c->a[0]->u.a.v[i])) == -1)
			return NULL;
		if (f[0] == 'f' && r == NULL)
			return mkval(c->ev, index ? expr_int((long long)i) :
			    expr_ref(c->a[0]->u.a.v[i]));
		if (++count > 1 && f[0] == 'o')
			return mkval(c->ev, expr_bool(0));
	}
	if (r != NULL)
		return r;
	switch (f[0]) {
	case 'a':
		return mkval(c->ev, expr_bool(f[1] == 'l'));
	case 'n':
		return mkval(c->ev, expr_bool(1));
	case 'o':
		return mkval(c->ev, expr_bool(count == 1));
	case 'c':
		return mkval(c->ev, expr_int(count));
	default:
		return mkval(c->ev, index ? expr_int(-1) : expr_nil());
	}
}

static expr_val *
fn_map(struct call *c)
{
	expr_val	*r;
	size_t		 i;

	if (want(c, 0, M_ARRAY, "an array") || (r = mkarr(c->ev)) == NULL)
		return NULL;
	for (i = 0; i < c->a[0]->u.a.n; i++)
		if (apush(c->ev, r, pred_eval(c, i, NULL)) == -1) {
			expr_free(r);
			return NULL;
		}
	return r;
}

static expr_val *
fn_sum(struct call *c)
{
	struct sum	 s = { 0, 0, 0 };
	expr_val	*v;
	size_t		 i;
	int		 r;

	if (want(c, 0, M_ARRAY, "an array") || work(c->ev, c->a[0]->u.a.n))
		return NULL;
	for (i = 0; i < c->a[0]->u.a.n; i++) {
		if (c->na > 1)
			v = pred_eval(c, i, NULL);
		else
			v = expr_ref(c->a[0]->u.a.v[i]);
		if (v == NULL)
			return NULL;
		r = sum_add(c, &s, v);
		expr_free(v);
		if (r == -1)
			return NULL;
	}
	return sum_val(c, &s);
}

static expr_val *
fn_reduce(struct call *c)
{
	const expr_val	*a = c->a[0];
	expr_val	*acc, *v;
	size_t		 i = 0;

	if (want(c, 0, M_ARRAY, "an array"))
		return NULL;
	if (c->na > 2)
		acc = expr_ref(c->a[2]);
	else if (a->u.a.n > 0)
		acc = expr_ref(a->u.a.v[i++]);
	else
		return cfail(c, "empty array and no initial value");
	for (; i < a->u.a.n; i++) {
		v = pred_eval(c, i, acc);
		expr_free(acc);
		if ((acc = v) == NULL)
			return NULL;
	}
	return acc;
}

/* groupBy: a map from each predicate value, as text, to its elements. */
static expr_val *
fn_groupby(struct call *c)
{
	expr_val	*r, *k, *g;
	struct buf	 b;
	size_t		 i;

	if (want(c, 0, M_ARRAY, "an array") || charge(c->ev, 1, 0) == -1 ||
	    (r = mkval(c->ev, expr_map())) == NULL)
		return NULL;
	for (i = 0; i < c->a[0]->u.a.n; i++) {
		if ((k = pred_eval(c, i, NULL)) == NULL)
			goto fail;
		evbuf(&b);
		put_text(&b, k);
		expr_free(k);
		if (!b.bad && work(c->ev, b.len / 64) == -1) {
			free(b.s);
			goto fail;
		}
		if (b.bad) {
			free(b.s);
			efail(c->ev, "string too long");
			goto fail;
		}
		g = (expr_val *)map_getn(r, b.s ? b.s : "", b.len);
		if (g == NULL && ((g = mkarr(c->ev)) == NULL ||
		    mput(c->ev, r, b.s ? b.s : "", b.len, g) == -1)) {
			free(b.s);
			goto fail;
		}
		free(b.s);
		if (apush(c->ev, g, expr_ref(c->a[0]->u.a.v[i])) == -1)
			goto fail;
		set_depth(r, g);
	}
	return r;
fail:
	expr_free(r);
	return NULL;
}

static expr_val *
fn_sortby(struct call *c)
{
	const expr_val	**key;
	expr_val	 *r = NULL;
	size_t		  i, n;

	if (want(c, 0, M_ARRAY, "an array"))
		return NULL;
	n = c->a[0]->u.a.n;
	if ((key = calloc(n + 1, sizeof(*key))) == NULL)
		return oom(c->ev);
	for (i = 0; i < n; i++)
		if ((key[i] = pred_eval(c, i, NULL)) == NULL)
			goto out;
	r = sort_by(c, c->a[0], key, c->na > 2 ? c->a[2] : NULL);
out:
	for (i = 0; i < n; i++)
		expr_free((expr_val *)key[i]);
	free(key);
	return r;
}

static const struct func funcs[] = {
	{ "abs", 1, 1, 0, fn_abs },
	{ "all", 2, 2, 1, fn_pred },
	{ "any", 2, 2, 1, fn_pred },
	{ "ceil", 1, 1, 0, fn_round },
	{ "concat", 1, -1, 0, fn_concat },
	{ "count", 1, 2, 1, fn_pred },
	{ "filter", 2, 2, 1, fn_pred },
	{ "find", 2, 2, 1, fn_pred },
	{ "findIndex", 2, 2, 1, fn_pred },
	{ "findLast", 2, 2, 1, fn_pred },
	{ "findLastIndex", 2, 2, 1, fn_pred },
	{ "first", 1, 1, 0, fn_firstlast },
	{ "flatten", 1, 1, 0, fn_concat },
	{ "float", 1, 1, 0, fn_float },
	{ "floor", 1, 1, 0, fn_round },
	{ "fromBase64", 1, 1, 0, fn_frombase64 },
	{ "fromJSON", 1, 1, 0, fn_fromjson },
	{ "fromPairs", 1, 1, 0, fn_frompairs },
	{ "get", 2, 2, 0, fn_get },
	{ "groupBy", 2, 2, 1, fn_groupby },
	{ "hasPrefix", 2, 2, 0, fn_hasfix },
	{ "hasSuffix", 2, 2, 0, fn_hasfix },
	{ "indexOf", 2, 2, 0, fn_index },
	{ "int", 1, 1, 0, fn_int },
	{ "join", 1, 2, 0, fn_join },
	{ "keys", 1, 1, 0, fn_keys },
	{ "last", 1, 1, 0, fn_firstlast },
	{ "lastIndexOf", 2, 2, 0, fn_index },
	{ "len", 1, 1, 0, fn_len },
	{ "lower", 1, 1, 0, fn_upper },
	{ "map", 2, 2, 1, fn_map },
	{ "max", 1, -1, 0, fn_minmax },
	{ "mean", 1, 1, 0, fn_mean },
	{ "median", 1, 1, 0, fn_mean },
	{ "min", 1, -1, 0, fn_minmax },
	{ "none", 2, 2, 1, fn_pred },
	{ "now", 0, 0, 0, fn_now },
	{ "one", 2, 2, 1, fn_pred },
	{ "randomInt", 0, 1, 0, fn_randomint },
	{ "reduce", 2, 3, 1, fn_reduce },
	{ "repeat", 2, 2, 0, fn_repeat },
	{ "replace", 3, 4, 0, fn_replace },
	{ "reverse", 1, 1, 0, fn_reverse },
	{ "round", 1, 1, 0, fn_round },
	{ "sequence", 2, 2, 0, fn_sequence },
	{ "sort", 1, 2, 0, fn_sort },
	{ "sortBy", 2, 3, 1, fn_sortby },
	{ "split", 2, 3, 0, fn_split },
	{ "splitAfter", 2, 3, 0, fn_split },
	{ "string", 1, 1, 0, fn_string },
	{ "sum", 1, 2, 1, fn_sum },
	{ "take", 2, 2, 0, fn_take },
	{ "toBase64", 1, 1, 0, fn_tobase64 },
	{ "toJSON", 1, 1, 0, fn_tojson },
	{ "toPairs", 1, 1, 0, fn_keys },
	{ "trim", 1, 2, 0, fn_trim },
	{ "trimPrefix", 1, 2, 0, fn_trimfix },
	{ "trimSuffix", 1, 2, 0, fn_trimfix },
	{ "type", 1, 1, 0, fn_type },
	{ "uniq", 1, 1, 0, fn_uniq },
	{ "upper", 1, 1, 0, fn_upper },
	{ "values", 1, 1, 0, fn_keys },
};

static int
find_func(const char *name, size_t len)
{
	size_t	 i;

	for (i = 0; i < sizeof(funcs) / sizeof(funcs[0]); i++)
		if (strlen(funcs[i].name) == len &&
		    memcmp(funcs[i].name, name, len) == 0)
			return (int)i;
	return -1;
}

static const struct func *
func_at(int i)
{
	return &funcs[i];
}

/*
 * The interface
 */

static void
report(char **err, size_t *errpos, char *msg, size_t pos)
{
	if (err != NULL)
		*err = msg;
	else
		free(msg);
	if (errpos != NULL)
		*errpos = pos;
}

/* Evaluate n; NULL and the error reported if it fails. */
static expr_val *
run(struct ev *ev, struct node *n, char **err, size_t *errpos)
{
	expr_val	*v;

	v = eval(ev, n);
	node_free(n);
	if (ev->failed) {
		expr_free(v);
		report(err, errpos, ev->err, ev->errpos);
		ev->err = NULL;
		return NULL;
	}
	return v;
}

expr_val *
expr_eval(const char *src, const expr_val *env, char **err, size_t *errpos)
{
	struct parser	 p;
	struct node	*n;
	struct ev	 ev;

	report(err, errpos, NULL, 0);
	if (src == NULL)
		src = "";
	n = parse_src(&p, src);
	parser_done(&p, err, errpos);
	if (n == NULL)
		return NULL;
	ev_init(&ev, env, src);
	return run(&ev, n, err, errpos);
}

int
expr_check(const char *src, char **err, size_t *errpos)
{
	struct parser	 p;
	struct node	*n;

	report(err, errpos, NULL, 0);
	n = parse_src(&p, src ? src : "");
	parser_done(&p, err, errpos);
	node_free(n);
	return n ? 0 : -1;
}

/*
 * Go through the parts of a template: check them, or with ev evaluate
 * them and append text and values to out.
 */
static int
walk(const char *tmpl, struct ev *ev, struct buf *out, char **err,
    size_t *errpos)
{
	struct parser	 p;
	struct node	*n;
	expr_val	*v;
	const char	*s = tmpl, *q;
	size_t		 end;

	while ((q = strstr(s, "{{")) != NULL) {
		buf_addn(out, s, (size_t)(q - s));
		n = parse_part(&p, tmpl, (size_t)(q - tmpl), &end);
		parser_done(&p, err, errpos);
		if (n == NULL)
			return -1;
		if (ev != NULL) {
			if ((v = run(ev, n, err, errpos)) == NULL)
				return -1;
			put_text(out, v);
			expr_free(v);
		} else
			node_free(n);
		if (out->bad) {
			report(err, errpos, strdup(out->bad == 2 ?
			    "template result too long" : "out of memory"),
			    (size_t)(q - tmpl));
			return -1;
		}
		s = tmpl + end;
	}
	buf_adds(out, s);
	if (out->bad) {
		report(err, errpos, strdup(out->bad == 2 ?
		    "template result too long" : "out of memory"), 0);
		return -1;
	}
	return 0;
}

char *
expr_template(const char *tmpl, const expr_val *env, char **err,
    size_t *errpos)
{
	struct buf	 out;
	struct ev	 ev;

	report(err, errpos, NULL, 0);
	if (tmpl == NULL)
		tmpl = "";
	evbuf(&out);
	ev_init(&ev, env, tmpl);
	if (walk(tmpl, &ev, &out, err, errpos) == -1) {
		free(out.s);
		return NULL;
	}
	if (out.s == NULL && (out.s = strdup("")) == NULL)
		report(err, errpos, strdup("out of memory"), 0);
	return out.s;
}

int
expr_template_check(const char *tmpl, char **err, size_t *errpos)
{
	struct buf	 out = { 0 };
	int		 r;

	report(err, errpos, NULL, 0);
	r = walk(tmpl ? tmpl : "", NULL, &out, err, errpos);
	free(out.s);
	return r;
}

expr_val *
expr_template_value(const char *tmpl, const expr_val *env, char **err,
    size_t *errpos)
{
	struct parser	 p;
	struct node	*n;
	struct ev	 ev;
	char		*s;
	size_t		 i = 0, end;

	report(err, errpos, NULL, 0);
	if (tmpl == NULL)
		tmpl = "";
	while (ISSPACE(tmpl[i]))
		i++;
	if (strncmp(tmpl + i, "{{", 2) == 0) {
		n = parse_part(&p, tmpl, i, &end);
		parser_done(&p, err, errpos);
		if (n == NULL)
			return NULL;
		while (ISSPACE(tmpl[end]))
			end++;
		if (tmpl[end] == '\0') {
			ev_init(&ev, env, tmpl);
			return run(&ev, n, err, errpos);
		}
		node_free(n);
	}
	if ((s = expr_template(tmpl, env, err, errpos)) == NULL)
		return NULL;
	return str_own(s, strlen(s));
}
