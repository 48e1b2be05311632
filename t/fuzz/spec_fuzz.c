/*
 * libFuzzer target for the job-file parser (spec_parse in jobrun.c): the
 * input is a job file, YAML or JSON.
 *
 *	make fuzz FUZZ_SECONDS=60	(both fuzzers; see the Makefile)
 *	t/fuzz/spec_fuzz -dict=t/fuzz/spec.dict CORPUS-COPY-DIR
 *
 * jobrun.c is included whole, its main renamed, so that its static
 * functions are reachable.  Besides crashes, leaks and hangs it checks:
 *
 *	- spec_parse returns a job (with at least one task) or errors,
 *	  never both nor neither; errors are "fuzz.yaml:LINE:COL: ..." lines
 *	  (LINE, COL >= 1) ending in a newline;
 *	- an extra input (-i) never makes a valid job invalid;
 *	- the text the daemon stores (spec_store_text: the secrets' values
 *	  cut out), when it can be made, is still a valid job with as many
 *	  tasks and as many secrets, all empty: the daemon parses it again
 *	  after a restart.  (t/fuzz/ingest_fuzz checks submit against ingest.)
 *	  SPEC_FUZZ_NO_SCRUB=1 in the environment turns this check off.
 */
#define main jobrun_main
#include "../../jobrun.c"
#undef main

#include <stdint.h>

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_errs(const char *errs)
{
	const char *p;
	char *end;
	unsigned long line, col;

	if (errs == NULL || *errs == '\0' || errs[strlen(errs) - 1] != '\n')
		__builtin_trap();
	if (strncmp(errs, "fuzz.yaml:", 10) != 0)
		__builtin_trap();
	p = errs + 10;
	line = strtoul(p, &end, 10);
	if (end == p || *end != ':' || line == 0)
		__builtin_trap();
	p = end + 1;
	col = strtoul(p, &end, 10);
	if (end == p || *end != ':' || col == 0)
		__builtin_trap();
}

static void
check_scrub(const char *text, size_t size, const struct job *j)
{
	struct job *s;
	char *scrubbed, *errs = NULL;
	size_t i;

	/* submit refuses a job whose secrets cannot be cut out cleanly */
	if ((scrubbed = spec_store_text(text, size, j)) == NULL)
		return;
	s = spec_parse("fuzz.yaml", scrubbed, strlen(scrubbed), NULL, NULL, &errs);
	if (s == NULL || s->ntasks != j->ntasks || s->secrets.n != j->secrets.n)
		__builtin_trap();
	for (i = 0; i < s->secrets.n; i++)
		if (*s->secrets.v[i].val != '\0')
			__builtin_trap();
	spec_free(s);
	free(errs);
	free(scrubbed);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int noscrub = -1;
	struct kvlist over = { 0 };
	struct job *j, *k;
	char *text, *errs = NULL, *errs2 = NULL;

	if (noscrub < 0)
		noscrub = getenv("SPEC_FUZZ_NO_SCRUB") != NULL;
	if ((text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';

	j = spec_parse("fuzz.yaml", text, size, NULL, NULL, &errs);
	if ((j == NULL) == (errs == NULL))
		__builtin_trap();	/* a job, or errors: exactly one */
	if (j == NULL)
		check_errs(errs);
	else if (j->ntasks == 0)
		__builtin_trap();
	else if (!noscrub)
		check_scrub(text, size, j);

	kv_set(&over, "fuzz", "x");
	k = spec_parse("fuzz.yaml", text, size, &over, NULL, &errs2);
	if (j != NULL && k == NULL)
		__builtin_trap();
	if (k != NULL && kv_get(&k->inputs, "fuzz") == NULL)
		__builtin_trap();
	spec_free(k);
	free(errs2);
	kv_free(&over);

	spec_free(j);
	free(errs);
	free(text);
	return 0;
}
