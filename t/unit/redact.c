/*
 * Table-driven TAP tests for vendor/redact.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redact.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))
#define R		REDACTED

static const struct {
	const char *secrets[4];		/* NULL-terminated */
	const char *in, *want, *what;
} cases[] = {
	{ { "s3cret", NULL }, "pw=s3cret;", "pw=" R ";", "a value in the middle" },
	{ { "s3cret", NULL }, "s3cret", R, "the whole text" },
	{ { "s3cret", NULL }, "s3cret s3cret", R " " R, "every occurrence" },
	{ { "s3cret", NULL }, "s3cres3cret", "s3cre" R, "after a near miss" },
	{ { "s3cret", NULL }, "s3cre", "s3cre", "a prefix of a value stays" },
	{ { "pass", "password123", NULL }, "password123!", R "!",
	    "the longest value that matches, whatever the order (1)" },
	{ { "password123", "pass", NULL }, "password123!", R "!",
	    "the longest value that matches, whatever the order (2)" },
	{ { "pass", "password123", NULL }, "passwordX", R "wordX",
	    "a shorter one where the longer does not match" },
	{ { "ab", "bc", NULL }, "abc", R "c", "overlapping values: the first wins" },
	{ { "", NULL }, "text", "text", "an empty value matches nothing" },
	{ { "x", NULL }, "", "", "empty text" },
	{ { "\xc3\xa9t\xc3\xa9", NULL }, "l'\xc3\xa9t\xc3\xa9", "l'" R,
	    "UTF-8 values, byte for byte" },
	{ { R, NULL }, R, R, "the marker itself" },
};

int
main(void)
{
	size_t i, n, m;
	int nt = 0, nf = 0, ok;
	char *s;

	for (i = 0; i < NELEM(cases); i++) {
		for (n = 0; cases[i].secrets[n]; n++)
			;
		s = redact_str(cases[i].secrets, n, strdup(cases[i].in));
		ok = strcmp(s, cases[i].want) == 0;
		printf("%sok %d - %s\n", ok ? "" : "not ", ++nt, cases[i].what);
		if (!ok) {
			printf("#   got: '%s'\n#  want: '%s'\n", s, cases[i].want);
			nf++;
		}
		free(s);
	}
	ok = redact_str(cases[0].secrets, 1, NULL) == NULL;
	printf("%sok %d - NULL stays NULL\n", ok ? "" : "not ", ++nt);
	nf += !ok;
	s = strdup("keep");
	ok = redact_str(NULL, 0, s) == s && strcmp(s, "keep") == 0;
	printf("%sok %d - no values: the text itself, untouched\n", ok ? "" :
	    "not ", ++nt);
	nf += !ok;
	free(s);
	{
		const char *v[] = { "abc", "abcdef" };

		m = redact_match(v, 2, "abcdefg", 7);
		printf("%sok %d - redact_match: the longest length (6)\n",
		    m == 6 ? "" : "not ", ++nt);
		nf += m != 6;
		m = redact_match(v, 2, "abcdefg", 5);
		printf("%sok %d - redact_match: within len only (3)\n",
		    m == 3 ? "" : "not ", ++nt);
		nf += m != 3;
		m = redact_match(v, 2, "xabc", 4);
		printf("%sok %d - redact_match: only at the start (0)\n",
		    m == 0 ? "" : "not ", ++nt);
		nf += m != 0;
	}
	printf("1..%d\n", nt);
	return nf != 0;
}
