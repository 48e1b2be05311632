/*
 * libFuzzer target for vendor/expr.c: the input is a template.
 *
 *	clang -g -O1 -fsanitize=fuzzer,address,undefined -Ivendor \
 *	    t/fuzz/expr_fuzz.c vendor/expr.c -o /tmp/expr_fuzz
 *	/tmp/expr_fuzz -max_total_time=60 t/fuzz/corpus/expr
 *
 * Besides crashes, leaks and hangs it checks that a template that fails
 * the syntax check fails evaluation with the same message at the same
 * place (unless an earlier part fails to run), that error offsets lie
 * inside the input, and that the input as one expression and as JSON
 * is harmless.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "expr.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static long long
fixed_clock(void)
{
	return 1700000000123LL;
}

static unsigned long long
fixed_random(void)
{
	return 0x9e3779b97f4a7c15ULL;
}

static expr_val *
mkenv(void)
{
	expr_val	*env = expr_map(), *in = expr_map(), *t = expr_map();
	expr_val	*arr = expr_array(), *u = expr_map(), *job = expr_map();

	expr_map_set(in, "name", expr_str("world"));
	expr_map_set(in, "n", expr_int(3));
	expr_map_set(in, "f", expr_float(1.5));
	expr_map_set(in, "list", expr_str("[1,2,3]"));
	expr_map_set(env, "inputs", in);
	expr_map_set(t, "t1", expr_str("out1"));
	expr_map_set(env, "tasks", t);
	expr_map_set(job, "id", expr_str("abc"));
	expr_map_set(env, "job", job);
	expr_array_push(arr, expr_int(1));
	expr_array_push(arr, expr_str("two"));
	expr_array_push(arr, expr_nil());
	expr_map_set(env, "arr", arr);
	expr_map_set(u, "name", expr_str("ann"));
	expr_map_set(u, "age", expr_int(30));
	expr_map_set(env, "item", u);
	return env;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static expr_val	*env;
	expr_val	*v;
	char		*s, *out, *cerr = NULL, *err = NULL;
	size_t		 cpos = 0, pos = 0;
	int		 r;

	if (env == NULL) {
		env = mkenv();
		expr_set_clock(fixed_clock);
		expr_set_random(fixed_random);
	}
	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';

	r = expr_template_check(s, &cerr, &cpos);
	out = expr_template(s, env, &err, &pos);
	/*
	 * A syntax error stops evaluation too: there, or at a run-time
	 * error in an earlier part.
	 */
	if (r == -1 && (out != NULL || err == NULL || cerr == NULL ||
	    (pos >= cpos && (pos != cpos || strcmp(err, cerr) != 0))))
		__builtin_trap();
	if (out == NULL && err != NULL && pos > size)
		__builtin_trap();	/* errpos must be inside the input */
	free(out);
	free(err);
	free(cerr);

	err = NULL;
	v = expr_eval(s, env, &err, &pos);
	if (v == NULL && err != NULL && pos > size)
		__builtin_trap();
	free(err);
	if (v != NULL) {
		free(expr_to_string(v));
		free(expr_to_json(v));
	}
	expr_free(v);

	v = expr_template_value(s, env, NULL, NULL);
	expr_free(v);
	v = expr_from_json(s, NULL);
	expr_free(v);
	free(s);
	return 0;
}
