/*
 * libFuzzer target, differential: what submit accepts, the daemon ingests.
 * The input is a job file.  It goes the way a job goes:
 *
 *	submit	spec_parse (with the policy), spec_store_text (can the
 *		secrets be cut out?), env_text (the spool file);
 *	ingest	spool_parse (the spool file read back), spool_job_of (the
 *		same parser and policy), spec_store_text (the text stored);
 *	later	spool_job_of on the stored envelope, with the secrets put
 *		back from their own store (a restarted daemon's reparse).
 *
 * If submit accepts, every later step must succeed and give the same job:
 * name, inputs, secrets (names and values), tasks (count and nesting);
 * and the stored text, parsed alone, must have every secret empty.  Traps
 * otherwise.  jobrun.c is included whole, its main renamed.
 *
 *	make fuzz	(all fuzzers; see the Makefile)
 *	t/fuzz/ingest_fuzz CORPUS-COPY-DIR
 */
#define main jobrun_main
#include "../../jobrun.c"
#undef main

#include <stdint.h>

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* The parts of two parsed jobs that must agree. */
static void
same_job(const struct job *a, const struct job *b, int values)
{
	size_t i;

	if (spec_ntasks(a->tasks, a->ntasks) != spec_ntasks(b->tasks, b->ntasks) ||
	    a->ntasks != b->ntasks || (a->name == NULL) != (b->name == NULL) ||
	    (a->name && strcmp(a->name, b->name) != 0) ||
	    a->inputs.n != b->inputs.n || a->secrets.n != b->secrets.n)
		__builtin_trap();
	for (i = 0; i < a->inputs.n; i++)
		if (strcmp(a->inputs.v[i].key, b->inputs.v[i].key) ||
		    strcmp(a->inputs.v[i].val, b->inputs.v[i].val))
			__builtin_trap();
	for (i = 0; i < a->secrets.n; i++)
		if (strcmp(a->secrets.v[i].key, b->secrets.v[i].key) ||
		    (values && strcmp(a->secrets.v[i].val, b->secrets.v[i].val)))
			__builtin_trap();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct env e = { 0 }, in, st;
	struct job *j, *k, *r;
	char *text, *errs = NULL, *store, *spooled, *stored, *kept;
	size_t i;

	if (home == NULL)
		home = "/nonexistent/jobrun-fuzz";
	if ((text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';

	/* submit */
	j = spec_parse("fuzz.yaml", text, size, NULL, &pol, &errs);
	free(errs);
	if (j == NULL || (store = spec_store_text(text, size, j)) == NULL ||
	    strlen(text) != size) {	/* a NUL: submit's read keeps it */
		if (j)
			free(store);
		spec_free(j);
		free(text);
		return 0;
	}
	free(store);
	memcpy(j->id, "0123456789ab", ID_LEN + 1);
	e.op = "submit";
	e.id = j->id;
	e.created = 1;
	e.file = "fuzz.yaml";
	e.secrets = j->secrets;
	e.source = text;
	spooled = env_text(&e, 1);

	/* ingest */
	if (spool_parse(spooled, &in) < 0 || strcmp(in.source, text) != 0)
		__builtin_trap();
	if ((k = spool_job_of(&in, &pol)) == NULL)
		__builtin_trap();
	same_job(j, k, 1);
	st = in;
	if ((st.source = spec_store_text(in.source, strlen(in.source), k)) == NULL)
		__builtin_trap();
	stored = env_text(&st, 0);
	free(st.source);

	/* a restarted daemon parses the stored envelope, secrets put back */
	if (spool_parse(stored, &st) < 0 || st.secrets.n != 0 ||
	    (r = spool_job_of(&st, NULL)) == NULL)
		__builtin_trap();
	same_job(k, r, 0);
	for (i = 0; i < r->secrets.n; i++)
		if (*r->secrets.v[i].val != '\0')
			__builtin_trap();
	spec_free(r);
	for (i = 0; i < k->secrets.n; i++)
		kv_set(&st.secrets, k->secrets.v[i].key, k->secrets.v[i].val);
	if ((r = spool_job_of(&st, NULL)) == NULL)
		__builtin_trap();
	same_job(k, r, 1);
	/* and cutting the stored text again changes nothing */
	if ((kept = spec_store_text(st.source, strlen(st.source), r)) == NULL ||
	    strcmp(kept, st.source) != 0)
		__builtin_trap();

	free(kept);
	spec_free(r);
	env_free(&st);
	free(stored);
	spec_free(k);
	env_free(&in);
	free(spooled);
	spec_free(j);
	free(text);
	return 0;
}
