/*
 * TAP tests for vendor/buf.c: the growing string, the JSON writer (whose
 * strings the spool reads back as YAML: checked by round trip through
 * libyaml here too) and the Prometheus helpers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "buf.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

static int ntest, nfail;

static void
is(const char *got, const char *want, const char *what)
{
	int ok = got && strcmp(got, want) == 0;

	printf("%sok %d - %s\n", ok ? "" : "not ", ++ntest, what);
	if (!ok) {
		printf("#   got: '%s'\n#  want: '%s'\n", got ? got : "(null)", want);
		nfail++;
	}
}

/* The one scalar of a YAML document, as libyaml reads it (malloc'd). */
static char *
yaml_scalar(const char *text)
{
	yaml_parser_t p;
	yaml_document_t d;
	yaml_node_t *n;
	char *s = NULL;

	yaml_parser_initialize(&p);
	yaml_parser_set_input_string(&p, (const unsigned char *)text,
	    strlen(text));
	if (yaml_parser_load(&p, &d)) {
		if ((n = yaml_document_get_root_node(&d)) != NULL &&
		    n->type == YAML_SCALAR_NODE)
			s = strdup((const char *)n->data.scalar.value);
		yaml_document_delete(&d);
	}
	yaml_parser_delete(&p);
	return s;
}

static const struct { const char *in, *want, *what; } strs[] = {
	{ "", "\"\"", "the empty string" },
	{ "plain", "\"plain\"", "plain text as it is" },
	{ "a\"b\\c", "\"a\\\"b\\\\c\"", "quote and backslash escaped" },
	{ "l1\nl2\tx\ry", "\"l1\\nl2\\tx\\ry\"", "newline, tab, CR as \\n \\t \\r" },
	{ "\x01\x1f\x7f", "\"\\u0001\\u001f\\u007f\"", "other controls and DEL as \\u" },
	{ "a\xc2\x85z", "\"a\\u0085z\"", "NEL as \\u0085 (YAML folds it)" },
	{ "\xe2\x80\xa8\xe2\x80\xa9", "\"\\u2028\\u2029\"", "LS and PS as \\u2028 \\u2029" },
	{ "\xef\xbb\xbfx", "\"\\ufeffx\"", "a BOM as \\ufeff (YAML takes it for a mark)" },
	{ "caf\xc3\xa9 \xe2\x82\xac", "\"caf\xc3\xa9 \xe2\x82\xac\"", "other UTF-8 as it is" },
	{ "\xc2", "\"\xc2\"", "a lone lead byte at the end as it is" },
};

static void
test_json(void)
{
	struct buf b = { 0 };
	char *s, *back;
	size_t i;

	for (i = 0; i < NELEM(strs); i++) {
		json_str(&b, strs[i].in);
		s = buf_take(&b);
		is(s, strs[i].want, strs[i].what);
		if (strs[i].in[0] && strcmp(strs[i].in, "\xc2") != 0) {
			back = yaml_scalar(s);
			is(back, strs[i].in, "... and YAML reads it back byte for byte");
			free(back);
		}
		free(s);
	}
	json_str(&b, NULL);
	s = buf_take(&b);
	is(s, "null", "NULL is null");
	free(s);

	buf_add(&b, "{");
	json_kstr(&b, "a", "x");
	json_kstr(&b, "skipped", NULL);
	json_kint(&b, "n", -42);
	json_kstr(&b, "k\"ey", "v");
	json_end(&b, '}');
	s = buf_take(&b);
	is(s, "{\"a\":\"x\",\"n\":-42,\"k\\\"ey\":\"v\"}",
	    "an object: NULL members left out, keys escaped, no trailing comma");
	free(s);
	buf_add(&b, "[");
	json_end(&b, ']');
	s = buf_take(&b);
	is(s, "[]", "an empty array");
	free(s);
}

static void
test_buf(void)
{
	struct buf b = { 0 };
	char *s, big[70000];
	int i;

	s = buf_take(&b);
	is(s, "", "an empty buf gives an empty string, not NULL");
	free(s);
	buf_addf(&b, "%d-%s", 7, "x");
	buf_addn(&b, "abc", 2);
	buf_add(&b, "!");
	s = buf_take(&b);
	is(s, "7-xab!", "buf_addf, buf_addn (n bytes only), buf_add");
	free(s);
	is(b.s == NULL && b.len == 0 ? "empty" : "not", "empty",
	    "buf_take leaves the buf empty");
	memset(big, 'y', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	for (i = 0; i < 3; i++)
		buf_add(&b, big);
	is(b.len == 3 * (sizeof(big) - 1) && b.s[b.len] == '\0' &&
	    b.s[b.len - 1] == 'y' ? "ok" : "bad", "ok",
	    "it grows past 200 kB, NUL-terminated");
	free(buf_take(&b));
}

static void
test_prom(void)
{
	struct buf b = { 0 };
	char *s;

	prom_label(&b, "a\\b\"c\nd");
	s = buf_take(&b);
	is(s, "a\\\\b\\\"c\\nd", "a label value: backslash, quote, newline escaped");
	free(s);
	prom_label(&b, NULL);
	s = buf_take(&b);
	is(s, "", "a NULL label value is empty");
	free(s);
	prom_head(&b, "jobrun", "up", "gauge", "Whether it runs.");
	s = buf_take(&b);
	is(s, "# HELP jobrun_up Whether it runs.\n# TYPE jobrun_up gauge\n",
	    "HELP and TYPE lines");
	free(s);
}

int
main(void)
{
	test_buf();
	test_json();
	test_prom();
	printf("1..%d\n", ntest);
	return nfail != 0;
}
