/*
 * buf - a growing string; JSON and Prometheus text into it (see buf.h).
 */
#include <err.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

void
buf_addn(struct buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		if ((b->s = realloc(b->s, b->cap)) == NULL)
			err(1, "realloc");
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

void
buf_add(struct buf *b, const char *s)
{
	buf_addn(b, s, strlen(s));
}

void
buf_addf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		err(1, "vasprintf");
	buf_addn(b, s, (size_t)n);
	free(s);
}

char *
buf_take(struct buf *b)
{
	char *s = b->s;

	if (s == NULL && (s = strdup("")) == NULL)
		err(1, "strdup");
	memset(b, 0, sizeof(*b));
	return s;
}

void
json_str(struct buf *b, const char *s)
{
	const unsigned char *p;

	if (s == NULL) {
		buf_add(b, "null");
		return;
	}
	buf_add(b, "\"");
	for (p = (const unsigned char *)s; *p; p++) {
		if (p[0] == 0xc2 && p[1] == 0x85) {		/* NEL */
			buf_add(b, "\\u0085");
			p++;
			continue;
		}
		if ((p[0] == 0xe2 && p[1] == 0x80 && (p[2] == 0xa8 ||
		    p[2] == 0xa9)) || (p[0] == 0xef && p[1] == 0xbb &&
		    p[2] == 0xbf)) {				/* LS, PS, BOM */
			buf_addf(b, "\\u%s", p[0] == 0xef ? "feff" :
			    p[2] == 0xa8 ? "2028" : "2029");
			p += 2;
			continue;
		}
		switch (*p) {
		case '"':  buf_add(b, "\\\""); break;
		case '\\': buf_add(b, "\\\\"); break;
		case '\n': buf_add(b, "\\n"); break;
		case '\t': buf_add(b, "\\t"); break;
		case '\r': buf_add(b, "\\r"); break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				buf_addf(b, "\\u%04x", *p);
			else
				buf_addn(b, (const char *)p, 1);
		}
	}
	buf_add(b, "\"");
}

void
json_kstr(struct buf *b, const char *k, const char *v)
{
	if (v == NULL)
		return;
	json_str(b, k);
	buf_add(b, ":");
	json_str(b, v);
	buf_add(b, ",");
}

void
json_kint(struct buf *b, const char *k, long long v)
{
	json_str(b, k);
	buf_addf(b, ":%lld,", v);
}

void
json_end(struct buf *b, char close)
{
	if (b->len && b->s[b->len - 1] == ',')
		b->s[--b->len] = '\0';
	buf_addn(b, &close, 1);
}

void
prom_label(struct buf *b, const char *s)
{
	for (; s && *s; s++)
		if (*s == '\\' || *s == '"')
			buf_addf(b, "\\%c", *s);
		else if (*s == '\n')
			buf_add(b, "\\n");
		else
			buf_addn(b, s, 1);
}

void
prom_head(struct buf *b, const char *prefix, const char *name,
    const char *type, const char *help)
{
	buf_addf(b, "# HELP %s_%s %s\n# TYPE %s_%s %s\n", prefix, name, help,
	    prefix, name, type);
}
