/*
 * Table-driven TAP tests for vendor/expr.c.
 *
 * An evaluation row gives either the result as "type:text" (the type
 * name as type() says it, then the text a template would substitute)
 * or the exact error message and its byte offset.  Template rows give
 * the text out.  The environment is the one a Tork task sees, plus a
 * few values to poke at; the clock and the random source are fixed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "expr.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

struct ecase {
	const char	*src;
	const char	*want;		/* "type:text", NULL for an error */
	const char	*err;
	size_t		 pos;
};

#define OK(s, w)	{ s, w, NULL, 0 }
#define ERR(s, e, p)	{ s, NULL, e, p }

static int	 ntest, nfail;

/*
 * Print s on one TAP line: control characters escaped, and in a
 * description '#' too, which would start a directive.
 */
static void
tapstr(const char *s, int desc)
{
	for (; *s != '\0'; s++) {
		if (*s == '\n')
			fputs("\\n", stdout);
		else if (*s == '\t')
			fputs("\\t", stdout);
		else if ((unsigned char)*s < 0x20 || *s == 0x7f)
			printf("\\x%02x", (unsigned char)*s);
		else if (*s == '#' && desc)
			fputs("\\#", stdout);
		else
			putchar(*s);
	}
}

static void
ok(int cond, const char *desc, const char *got, const char *want)
{
	ntest++;
	if (!cond)
		nfail++;
	printf("%s %d - ", cond ? "ok" : "not ok", ntest);
	tapstr(desc, 1);
	putchar('\n');
	if (cond)
		return;
	fputs("# got      ", stdout);
	tapstr(got ? got : "(null)", 0);
	fputs("\n# expected ", stdout);
	tapstr(want ? want : "(null)", 0);
	putchar('\n');
}

static void
okstr(const char *got, const char *want, const char *desc)
{
	ok(got != NULL && want != NULL ? strcmp(got, want) == 0 :
	    got == want, desc, got, want);
}

static long long
fixed_clock(void)
{
	return 1700000000123LL;		/* 2023-11-14T22:13:20.123Z */
}

static unsigned long long
fixed_random(void)
{
	return 41;
}

static const char *const tnames[] = {
	"nil", "bool", "int", "float", "string", "array", "map"
};

/* "type:text" for v; the caller frees it. */
static char *
typed(const expr_val *v)
{
	char	*s, *r;
	size_t	 n;

	if ((s = expr_to_string(v)) == NULL)
		return NULL;
	n = strlen(s) + 16;
	if ((r = malloc(n)) != NULL)
		snprintf(r, n, "%s:%s", tnames[expr_type(v)], s);
	free(s);
	return r;
}

/* An error as "message @pos". */
static char *
errtext(const char *err, size_t pos)
{
	char	*r;
	size_t	 n = (err ? strlen(err) : 6) + 32;

	if ((r = malloc(n)) != NULL)
		snprintf(r, n, "%s @%zu", err ? err : "(null)", pos);
	return r;
}

static expr_val *
mkenv(void)
{
	expr_val	*env = expr_map(), *in = expr_map(), *t = expr_map();
	expr_val	*job = expr_map(), *arr = expr_array(), *m = expr_map();
	expr_val	*c = expr_array(), *d = expr_map(), *users = expr_array();
	expr_val	*u, *strs = expr_array();

	expr_map_set(in, "name", expr_str("world"));
	expr_map_set(in, "n", expr_int(3));
	expr_map_set(in, "f", expr_float(1.5));
	expr_map_set(in, "empty", expr_str(""));
	expr_map_set(in, "list", expr_str("[1,2,3]"));
	expr_map_set(in, "csv", expr_str("a,b,c"));
	expr_map_set(env, "inputs", in);
	expr_map_set(t, "t1", expr_str("out1"));
	expr_map_set(env, "tasks", t);
	expr_map_set(job, "id", expr_str("abc"));
	expr_map_set(job, "name", expr_str("job1"));
	expr_map_set(env, "job", job);
	expr_map_set(env, "secrets", expr_map());
	expr_array_push(arr, expr_int(1));
	expr_array_push(arr, expr_int(2));
	expr_array_push(arr, expr_int(3));
	expr_map_set(env, "arr", arr);
	expr_array_push(strs, expr_str("b"));
	expr_array_push(strs, expr_str("a"));
	expr_array_push(strs, expr_str("c"));
	expr_map_set(env, "strs", strs);
	expr_map_set(m, "b", expr_str("two"));
	expr_map_set(m, "a", expr_int(1));
	expr_array_push(c, expr_int(1));
	expr_array_push(c, expr_int(2));
	expr_map_set(m, "c", c);
	expr_map_set(d, "e", expr_bool(1));
	expr_map_set(m, "d", d);
	expr_map_set(env, "m", m);
	expr_map_set(env, "nilv", expr_nil());
	u = expr_map();
	expr_map_set(u, "name", expr_str("ann"));
	expr_map_set(u, "age", expr_int(30));
	expr_array_push(users, u);
	u = expr_map();
	expr_map_set(u, "name", expr_str("bob"));
	expr_map_set(u, "age", expr_int(25));
	expr_array_push(users, u);
	expr_map_set(env, "users", users);
	u = expr_map();
	expr_map_set(u, "value", expr_str("x"));
	expr_map_set(u, "index", expr_int(0));
	expr_map_set(env, "item", u);
	return env;
}

static const struct ecase precedence[] = {
	OK("1 + 2 * 3", "int:7"),
	OK("(1 + 2) * 3", "int:9"),
	OK("2 * 3 + 1", "int:7"),
	OK("10 - 4 - 3", "int:3"),
	OK("100 / 10 / 5", "float:2"),
	OK("2 * 3 % 4", "int:2"),
	OK("7 % 3 * 2", "int:2"),
	OK("10 / 4 * 2", "float:5"),
	OK("2 ** 3 ** 2", "float:512"),
	OK("(2 ** 3) ** 2", "float:64"),
	OK("2 ^ 3 ^ 2", "float:512"),
	OK("-2 ** 2", "float:-4"),
	OK("(-2) ** 2", "float:4"),
	OK("4 - 2 ** 2", "float:0"),
	OK("2 * 3 ** 2", "float:18"),
	OK("1 + 2 < 4", "bool:true"),
	OK("1 < 2 == true", "bool:false"),
	OK("true || false && false", "bool:true"),
	OK("(true || false) && false", "bool:false"),
	OK("false && true || true", "bool:true"),
	OK("true or false and false", "bool:true"),
	OK("!true == false", "bool:true"),
	OK("not true or true", "bool:true"),
	OK("not (true or true)", "bool:false"),
	OK("!(1 == 1)", "bool:false"),
	OK("1 + 1 == 2 && 3 > 2", "bool:true"),
	OK("1..3 == [1, 2, 3]", "bool:true"),
	OK("1 + 1..2 + 2", "array:[2,3,4]"),
	OK("1 + nilv ?? 2", "int:3"),
	OK("nilv ?? (1 + 2)", "int:3"),
	OK("1 + (nilv ?? 2)", "int:3"),
	OK("nilv ?? nilv ?? 3", "int:3"),
	OK("true ? 1 : 2 + 3", "int:1"),
	OK("false ? 1 : 2 + 3", "int:5"),
	OK("true ? false ? 1 : 2 : 3", "int:2"),
	OK("false ? 1 : true ? 2 : 3", "int:2"),
	OK("1 == 1 ? 'y' : 'n'", "string:y"),
	OK("true ? 1 : 2 ?? 3", "int:1"),
	OK("-3 * 2", "int:-6"),
	OK("- -3", "int:3"),
	OK("+3", "int:3"),
	OK("-(1 + 2)", "int:-3"),
	OK("2 * -3", "int:-6"),
	OK("1 - -1", "int:2"),
	OK("-arr[0]", "int:-1"),
	OK("!!true", "bool:true"),
	OK("not not false", "bool:false"),
	OK("(1 < 2) == (2 < 3)", "bool:true"),
	OK("1 in arr == true", "bool:false"),
	OK("'a' + 'b' == 'ab'", "bool:true"),
	OK("len('ab') + 1", "int:3"),
	OK("arr[0] + arr[1] * arr[2]", "int:7"),
	OK("1 < 2 && 2 < 3 || false", "bool:true"),
	OK("((((1))))", "int:1"),
	ERR("!true * 1", "cannot multiply bool and int", 6),
	ERR("!false + 1", "cannot add bool and int", 7),
	ERR("nilv ?? 1 + 2", "cannot mix '?" "?' and '+' without parentheses", 10),
	ERR("nilv ?? 1 == 1", "cannot mix '?" "?' and '==' without parentheses",
	    10),
};

static const struct ecase literals[] = {
	OK("42", "int:42"),
	OK("0", "int:0"),
	OK("007", "int:7"),
	OK("0x2A", "int:42"),
	OK("0X1f", "int:31"),
	OK("0o52", "int:42"),
	OK("0b101010", "int:42"),
	OK("1_000_000", "int:1000000"),
	OK("0xff_ff", "int:65535"),
	OK("9223372036854775807", "int:9223372036854775807"),
	OK("1.5", "float:1.5"),
	OK(".5", "float:0.5"),
	OK("2.", "float:2"),
	OK("1e3", "float:1000"),
	OK("1E2", "float:100"),
	OK("1.5e-3", "float:0.0015"),
	OK("2.5e+2", "float:250"),
	OK("1_0.5", "float:10.5"),
	OK("'abc'", "string:abc"),
	OK("\"abc\"", "string:abc"),
	OK("''", "string:"),
	OK("\"a\\nb\"", "string:a\nb"),
	OK("'a\\tb'", "string:a\tb"),
	OK("'it\\'s'", "string:it's"),
	OK("\"say \\\"hi\\\"\"", "string:say \"hi\""),
	OK("'back\\\\slash'", "string:back\\slash"),
	OK("\"\\u00e9\"", "string:\xc3\xa9"),
	OK("\"\\U0001F600\"", "string:\xf0\x9f\x98\x80"),
	OK("\"\\x41\\x42\"", "string:AB"),
	OK("\"\\101\"", "string:A"),
	OK("'\\a\\b\\f\\r\\v'", "string:\a\b\f\r\v"),
	OK("`raw\\n`", "string:raw\\n"),
	OK("`two\nlines`", "string:two\nlines"),
	OK("'}}'", "string:}}"),
	OK("'{{'", "string:{{"),
	OK("true", "bool:true"),
	OK("false", "bool:false"),
	OK("nil", "nil:<nil>"),
	OK("[1, 'a', true, nil]", "array:[1,\"a\",true,null]"),
	OK("[]", "array:[]"),
	OK("[1,]", "array:[1]"),
	OK("[[1, 2], [3]]", "array:[[1,2],[3]]"),
	OK("[1.5, 2]", "array:[1.5,2]"),
	OK("{}", "map:{}"),
	OK("{a: 1, 'b': 2, \"c\": 3}", "map:{\"a\":1,\"b\":2,\"c\":3}"),
	OK("{b: 1, a: 2}", "map:{\"a\":2,\"b\":1}"),
	OK("{a: 1,}", "map:{\"a\":1}"),
	OK("{1: 'x'}", "map:{\"1\":\"x\"}"),
	OK("{in: 1}", "map:{\"in\":1}"),
	OK("{(\"k\" + \"1\"): 1}", "map:{\"k1\":1}"),
	OK("{a: 1, a: 2}", "map:{\"a\":2}"),
	OK("{a: {b: [1]}}", "map:{\"a\":{\"b\":[1]}}"),
	OK("1 /* comment */ + 2", "int:3"),
	OK("1 + // comment\n 2", "int:3"),
	OK("  1  ", "int:1"),
	OK("\t1\n", "int:1"),
	ERR("9223372036854775808", "integer literal out of range", 0),
	ERR("0xffffffffffffffffff", "integer literal out of range", 0),
	ERR("1e400", "float literal out of range", 0),
	ERR("0x", "invalid number '0x'", 0),
	ERR("0b102", "invalid number '0b102'", 0),
	ERR("12abc", "invalid number '12abc'", 0),
	ERR("1e", "invalid number '1e'", 0),
	ERR("1 + 1x", "invalid number '1x'", 4),
	ERR("\"abc", "unterminated string", 0),
	ERR("1 + 'abc", "unterminated string", 4),
	ERR("`abc", "unterminated string", 0),
	ERR("'a\\qb'", "invalid escape sequence", 2),
	ERR("\"\\ud800\"", "invalid escape sequence", 1),
	ERR("\"\\x4\"", "invalid escape sequence", 1),
	ERR("\"\\400\"", "invalid escape sequence", 1),
	ERR("\"\\U00110000\"", "invalid escape sequence", 1),
	ERR("{(1): 2}", "map key must be a string, got int", 2),
	ERR("[1, 2", "expected ',' or ']'", 5),
	ERR("[1 2]", "expected ',' or ']'", 3),
	ERR("{a 1}", "expected ':'", 3),
	ERR("{,}", "expected a map key", 1),
	ERR("{[1]: 2}", "expected a map key", 1),
	ERR("[,]", "unexpected token ','", 1),
	ERR("/* x", "unterminated comment", 0),
	ERR("1 /* x", "unterminated comment", 2),
};

static const struct ecase members[] = {
	OK("inputs.name", "string:world"),
	OK("inputs['name']", "string:world"),
	OK("inputs[\"n\"]", "int:3"),
	OK("tasks.t1", "string:out1"),
	OK("job.id", "string:abc"),
	OK("job.name", "string:job1"),
	OK("item.value", "string:x"),
	OK("m.d.e", "bool:true"),
	OK("m['c'][1]", "int:2"),
	OK("m.c[-1]", "int:2"),
	OK("arr[0]", "int:1"),
	OK("arr[2]", "int:3"),
	OK("arr[-1]", "int:3"),
	OK("arr[-3]", "int:1"),
	OK("arr[1.9]", "int:2"),
	OK("arr[1 + 1]", "int:3"),
	OK("users[0].name", "string:ann"),
	OK("users[1]['age']", "int:25"),
	OK("[10, 20][1]", "int:20"),
	OK("{a: 5}.a", "int:5"),
	OK("{a: 5}['a']", "int:5"),
	OK("inputs.missing", "nil:<nil>"),
	OK("m['nope']", "nil:<nil>"),
	OK("inputs.missing?.x", "nil:<nil>"),
	OK("nilv?.a", "nil:<nil>"),
	OK("nilv?.a.b.c", "nil:<nil>"),
	OK("nilv?.a[0].b", "nil:<nil>"),
	OK("nilv?.[0]", "nil:<nil>"),
	OK("nil?.a", "nil:<nil>"),
	OK("m?.d?.e", "bool:true"),
	OK("m?.a", "int:1"),
	OK("m?.['b']", "string:two"),
	OK("users?.[1]?.name", "string:bob"),
	OK("(nilv?.a) ?? 'd'", "string:d"),
	OK("nilv?.a ?? 'd'", "string:d"),
	OK("m.d?.x?.y", "nil:<nil>"),
	OK("'hello'[1]", "string:e"),
	OK("'hello'[-1]", "string:o"),
	OK("arr[1:]", "array:[2,3]"),
	OK("arr[:2]", "array:[1,2]"),
	OK("arr[:]", "array:[1,2,3]"),
	OK("arr[1:-1]", "array:[2]"),
	OK("arr[-2:]", "array:[2,3]"),
	OK("arr[2:1]", "array:[]"),
	OK("arr[5:10]", "array:[]"),
	OK("arr[-10:1]", "array:[1]"),
	OK("arr[0:3][1:][0]", "int:2"),
	OK("'hello'[1:3]", "string:el"),
	OK("'hello'[:-1]", "string:hell"),
	OK("'hello'[3:]", "string:lo"),
	OK("'hello'[9:]", "string:"),
	OK("nilv?.[1:]", "nil:<nil>"),
	OK("$env.inputs.name", "string:world"),
	OK("$env['job'].id", "string:abc"),
	OK("'inputs' in $env", "bool:true"),
	OK("'nope' in $env", "bool:false"),
	OK("$env.nope", "nil:<nil>"),
	OK("m.not", "nil:<nil>"),
	OK("m.in", "nil:<nil>"),
	ERR("arr[3]", "index 3 out of range (len 3)", 3),
	ERR("arr[-4]", "index -4 out of range (len 3)", 3),
	ERR("arr[99999999999]", "index 99999999999 out of range (len 3)", 3),
	ERR("arr['x']", "cannot index array with string", 3),
	ERR("arr[nil]", "cannot index array with nil", 3),
	ERR("inputs.missing.x", "cannot get 'x' from nil", 15),
	ERR("nilv.a", "cannot get 'a' from nil", 5),
	ERR("nilv[0]", "cannot index nil", 4),
	ERR("nilv?.a + 1", "cannot add nil and int", 8),
	ERR("arr.x", "cannot get 'x' from array", 4),
	ERR("inputs.n.x", "cannot get 'x' from int", 9),
	ERR("inputs.name.x", "cannot get 'x' from string", 12),
	ERR("m[1]", "cannot index map with int", 1),
	ERR("'hi'[5]", "index 5 out of range (len 2)", 4),
	ERR("''[0]", "index 0 out of range (len 0)", 2),
	ERR("3[0]", "cannot index int", 1),
	ERR("true[0]", "cannot index bool", 4),
	ERR("3[1:]", "cannot slice int", 1),
	ERR("nilv[1:]", "cannot slice nil", 4),
	ERR("m[1:]", "cannot slice map", 1),
	ERR("arr['a':]", "slice index must be an int, got string", 3),
	ERR("arr[:'b']", "slice index must be an int, got string", 3),
	ERR("nosuch", "unknown name 'nosuch'", 0),
	ERR("1 + nosuch.x", "unknown name 'nosuch'", 4),
	ERR("inputs.name()", "cannot call method 'name'", 11),
	ERR("a.", "expected a name", 2),
	ERR("a.1", "unexpected token '.1'", 1),
	ERR("a.'b'", "expected a name", 2),
	ERR("arr[1", "expected ']'", 5),
	ERR("arr[1:2", "expected ']'", 7),
	ERR("arr[]", "unexpected token ']'", 4),
};

static const struct ecase operators[] = {
	OK("1 + 2", "int:3"),
	OK("1 + 2.5", "float:3.5"),
	OK("1.5 + 1.5", "float:3"),
	OK("'a' + 'b'", "string:ab"),
	OK("'' + ''", "string:"),
	OK("[1] + [2, 3]", "array:[1,2,3]"),
	OK("[] + []", "array:[]"),
	OK("inputs.name + '!'", "string:world!"),
	OK("5 - 3", "int:2"),
	OK("3 - 5", "int:-2"),
	OK("5 - 0.5", "float:4.5"),
	OK("3 * 4", "int:12"),
	OK("1.5 * 2", "float:3"),
	OK("0.1 + 0.2", "float:0.30000000000000004"),
	OK("7 / 2", "float:3.5"),
	OK("6 / 3", "float:2"),
	OK("1 / 3", "float:0.3333333333333333"),
	OK("-7 / 2", "float:-3.5"),
	OK("7 % 3", "int:1"),
	OK("-7 % 3", "int:-1"),
	OK("7 % -3", "int:1"),
	OK("-9223372036854775807 - 1", "int:-9223372036854775808"),
	OK("(-9223372036854775807 - 1) % -1", "int:0"),
	OK("9223372036854775807 + 1", "int:-9223372036854775808"),
	OK("-9223372036854775807 - 2", "int:9223372036854775807"),
	OK("4000000000 * 4000000000", "int:-2446744073709551616"),
	OK("-(-9223372036854775807 - 1)", "int:-9223372036854775808"),
	OK("2 ** 10", "float:1024"),
	OK("2 ** -1", "float:0.5"),
	OK("4 ** 0.5", "float:2"),
	OK("2 ** 0.5", "float:1.4142135623730951"),
	OK("0 ** 0", "float:1"),
	OK("0 ** -1", "float:+Inf"),
	OK("-(0 ** -1)", "float:-Inf"),
	OK("(-8) ** (1 / 3)", "float:NaN"),
	OK("(-2) ** 3", "float:-8"),
	OK("10 ** 21", "float:1e+21"),
	OK("2 ** 0.5 ** 2", "float:1.189207115002721"),
	OK("1.5 ** 2", "float:2.25"),
	OK("1..3", "array:[1,2,3]"),
	OK("3..1", "array:[]"),
	OK("2..2", "array:[2]"),
	OK("-1..1", "array:[-1,0,1]"),
	OK("len(1..1000000)", "int:1000000"),
	OK("-1.5", "float:-1.5"),
	OK("-0.0", "float:-0"),
	OK("+1.5", "float:1.5"),
	OK("1 == 1", "bool:true"),
	OK("1 == 1.0", "bool:true"),
	OK("1 != 2", "bool:true"),
	OK("1 != 1", "bool:false"),
	OK("'a' == 'a'", "bool:true"),
	OK("'a' == 'b'", "bool:false"),
	OK("'a' == 1", "bool:false"),
	OK("'1' == 1", "bool:false"),
	OK("nil == nil", "bool:true"),
	OK("nilv == nil", "bool:true"),
	OK("inputs.missing == nil", "bool:true"),
	OK("0 == nil", "bool:false"),
	OK("false == nil", "bool:false"),
	OK("true == true", "bool:true"),
	OK("[1, 2] == [1, 2]", "bool:true"),
	OK("[1] == [1.0]", "bool:true"),
	OK("[1] == [1, 2]", "bool:false"),
	OK("[1] != [2]", "bool:true"),
	OK("{a: 1} == {a: 1}", "bool:true"),
	OK("{a: 1} == {a: 2}", "bool:false"),
	OK("{a: 1} == {b: 1}", "bool:false"),
	OK("m == m", "bool:true"),
	OK("[] == {}", "bool:false"),
	OK("1 < 2", "bool:true"),
	OK("2 < 1", "bool:false"),
	OK("2 <= 2", "bool:true"),
	OK("3 > 2.5", "bool:true"),
	OK("2 >= 3", "bool:false"),
	OK("1.5 < 2", "bool:true"),
	OK("'abc' < 'abd'", "bool:true"),
	OK("'b' > 'abc'", "bool:true"),
	OK("'a' < 'ab'", "bool:true"),
	OK("'a' >= 'a'", "bool:true"),
	OK("(0 ** -1) > 1e308", "bool:true"),
	OK("(-8) ** 0.5 < 1", "bool:false"),
	OK("(-8) ** 0.5 == (-8) ** 0.5", "bool:false"),
	OK("1 < 2 < 3", "bool:true"),
	OK("3 > 2 > 1", "bool:true"),
	OK("1 < 3 < 2", "bool:false"),
	OK("1 < 2 <= 2 < 3", "bool:true"),
	OK("2 > 3 < 'x'", "bool:false"),
	OK("1 in arr", "bool:true"),
	OK("4 in arr", "bool:false"),
	OK("1.0 in arr", "bool:true"),
	OK("'a' in strs", "bool:true"),
	OK("'name' in inputs", "bool:true"),
	OK("'zz' in inputs", "bool:false"),
	OK("1 in nil", "bool:false"),
	OK("1 in nilv", "bool:false"),
	OK("[1] in [[1], 2]", "bool:true"),
	OK("nil in [nil]", "bool:true"),
	OK("4 not in arr", "bool:true"),
	OK("1 not in arr", "bool:false"),
	OK("not (4 in arr)", "bool:true"),
	OK("'hello' contains 'ell'", "bool:true"),
	OK("'hello' contains 'x'", "bool:false"),
	OK("'hello' contains ''", "bool:true"),
	OK("'hello' not contains 'x'", "bool:true"),
	OK("'hello' startsWith 'he'", "bool:true"),
	OK("'he' startsWith 'hello'", "bool:false"),
	OK("'hello' endsWith 'lo'", "bool:true"),
	OK("'hello' endsWith 'he'", "bool:false"),
	OK("'hello' not startsWith 'x'", "bool:true"),
	OK("'hello' not endsWith 'o'", "bool:false"),
	OK("'abc123' matches '^[a-z]+[0-9]+$'", "bool:true"),
	OK("'abc' matches 'x'", "bool:false"),
	OK("'abc' not matches 'x'", "bool:true"),
	OK("'ABC' matches '(?i)^abc$'", "bool:true"),
	OK("'ABC' matches '^abc$'", "bool:false"),
	OK("'a1' matches `\\d`", "bool:true"),
	OK("'ab' matches `\\d`", "bool:false"),
	OK("'ab' matches `\\D`", "bool:true"),
	OK("'a_1' matches `^\\w+$`", "bool:true"),
	OK("'a-1' matches `^\\w+$`", "bool:false"),
	OK("'a b' matches `\\s`", "bool:true"),
	OK("'ab' matches `\\S+\\s`", "bool:false"),
	OK("'5' matches '[\\\\d]'", "bool:true"),
	OK("'a.b' matches `a\\.b`", "bool:true"),
	OK("'axb' matches `a\\.b`", "bool:false"),
	OK("'aaa' matches 'a{3}'", "bool:true"),
	OK("'v1.2.3' matches '^v[0-9]+(\\\\.[0-9]+){2}$'", "bool:true"),
	OK("'a\\x00b' matches 'b$'", "bool:true"),
	OK("'x]' matches '[]]'", "bool:true"),
	OK("'b' matches '[[:alpha:]]'", "bool:true"),
	OK("'aa' matches '^a+?$'", "bool:true"),
	OK("'a{' matches 'a{'", "bool:true"),
	OK("'ab' matches '^(a|b){2}$'", "bool:true"),
	OK("'x' matches '((x+)+)+'", "bool:true"),
	OK("'abab' matches '^(?:ab)+$'", "bool:true"),
	OK("'a b' matches `a\\b`", "bool:true"),
	OK("'ab' matches `a\\b`", "bool:false"),
	OK("true && false", "bool:false"),
	OK("true and true", "bool:true"),
	OK("false || true", "bool:true"),
	OK("false or false", "bool:false"),
	OK("false && 1", "bool:false"),
	OK("true || 1", "bool:true"),
	OK("true || nosuch", "bool:true"),
	OK("false and nosuch.x", "bool:false"),
	OK("!false", "bool:true"),
	OK("not true", "bool:false"),
	OK("true ?: 5", "bool:true"),
	OK("false ?: 5", "int:5"),
	OK("nilv ?? 'd'", "string:d"),
	OK("inputs.name ?? 'd'", "string:world"),
	OK("inputs.missing ?? 'd'", "string:d"),
	OK("false ?? 1", "bool:false"),
	OK("0 ?? 1", "int:0"),
	OK("'' ?? 1", "string:"),
	ERR("nilv ?? nosuch", "unknown name 'nosuch'", 8),
	OK("1 ?? nosuch", "int:1"),
	OK("'a,b' | split(',')", "array:[\"a\",\"b\"]"),
	OK("arr | map(# * 2) | sum()", "int:12"),
	OK("'x' | upper()", "string:X"),
	OK("arr | filter(# > 1) | len()", "int:2"),
	OK("inputs.csv | split(',') | join('-')", "string:a-b-c"),
	OK("nilv ?? 'a' | upper()", "string:A"),
	OK("let x = 2; x * 3", "int:6"),
	OK("let x = 1; let y = x + 1; y * 10", "int:20"),
	OK("let inputs = 5; inputs", "int:5"),
	OK("let a = arr; a[0] + a[2]", "int:4"),
	OK("let x = 1; (let x = 2; x) + x", "int:3"),
	ERR("'a' + 1", "cannot add string and int", 4),
	ERR("1 + 'a'", "cannot add int and string", 2),
	ERR("1 + nil", "cannot add int and nil", 2),
	ERR("[1] + 'a'", "cannot add array and string", 4),
	ERR("{} + {}", "cannot add map and map", 3),
	ERR("true + true", "cannot add bool and bool", 5),
	ERR("'a' - 1", "cannot subtract string and int", 4),
	ERR("'a' * 2", "cannot multiply string and int", 4),
	ERR("[1] * 2", "cannot multiply array and int", 4),
	ERR("'a' / 1", "cannot divide string and int", 4),
	ERR("1 / 0", "division by zero", 2),
	ERR("1 / 0.0", "division by zero", 2),
	ERR("1.5 / 0", "division by zero", 4),
	ERR("7 % 0", "division by zero", 2),
	ERR("7.5 % 2", "cannot use % on float and int", 4),
	ERR("7 % 'a'", "cannot use % on int and string", 2),
	ERR("'a' ** 2", "cannot use ** on string and int", 4),
	ERR("'a' ^ 2", "cannot use ^ on string and int", 4),
	ERR("1.5..3", "cannot use .. on float and int", 3),
	ERR("'a'..'b'", "cannot use .. on string and string", 3),
	ERR("0..1000000", "range too large", 1),
	ERR("-9223372036854775807..9223372036854775807", "range too large", 20),
	ERR("'a' < 1", "cannot compare string and int", 4),
	ERR("nil < 1", "cannot compare nil and int", 4),
	ERR("[1] < [2]", "cannot compare array and array", 4),
	ERR("true > false", "cannot compare bool and bool", 5),
	ERR("1 < 2 < 'x'", "cannot compare int and string", 6),
	ERR("'a' in 'abc'", "in: expected an array or map, got string", 4),
	ERR("1 in 2", "in: expected an array or map, got int", 2),
	ERR("1 in m", "in: map key must be a string, got int", 2),
	ERR("1 contains 'a'", "contains: expected strings, got int and string",
	    2),
	ERR("'a' startsWith nil",
	    "startsWith: expected strings, got string and nil", 4),
	ERR("'a' not endsWith 1",
	    "endsWith: expected strings, got string and int", 8),
	ERR("1 matches 'a'", "matches: expected strings, got int and string", 2),
	ERR("'x' matches '('", "matches: Unmatched ( or \\(", 4),
	ERR("'x' matches 'a{2,1}'", "matches: Invalid content of \\{\\}", 4),
	ERR("'aa' matches `(a)\\1`", "matches: back-references are not supported",
	    5),
	ERR("'a' matches '((a{100}){100}){100}'", "matches: pattern too complex",
	    4),
	ERR("'x' matches 'a\\x00'", "matches: pattern contains a NUL byte", 4),
	ERR("'x' matches 'a++'", "matches: invalid nested repetition operator",
	    4),
	ERR("'x' matches 'a*{2}'", "matches: invalid nested repetition operator",
	    4),
	ERR("'x' matches '(((((((((((((((((x+)+)+)+)+)+)+)+)+)+)+)+)+)+)+)+)+)+'",
	    "matches: pattern too complex", 4),
	ERR("1 && true", "&&: expected bool, got int", 2),
	ERR("true && 1", "&&: expected bool, got int", 5),
	ERR("true and 'x'", "and: expected bool, got string", 5),
	ERR("nil or true", "or: expected bool, got nil", 4),
	ERR("false || 0", "||: expected bool, got int", 6),
	ERR("!1", "!: expected bool, got int", 0),
	ERR("not 'a'", "not: expected bool, got string", 0),
	ERR("-'a'", "cannot use unary - on string", 0),
	ERR("+true", "cannot use unary + on bool", 0),
	ERR("-nil", "cannot use unary - on nil", 0),
	ERR("1 ? 2 : 3", "?: expected bool, got int", 2),
	ERR("nilv ? 2 : 3", "?: expected bool, got nil", 5),
	ERR("nosuch ?? 1", "unknown name 'nosuch'", 0),
	ERR("'x' | nosuch()", "unknown function 'nosuch'", 6),
	ERR("1 | 2", "expected a function name", 4),
	ERR("arr | len", "expected '('", 9),
	ERR("let x = 1 x", "expected ';'", 10),
	ERR("let 1 = 2; 3", "expected a name", 4),
	ERR("let x 1; x", "expected '='", 6),
	ERR("let x = 1;", "unexpected end of expression", 10),
	ERR("1 + let x = 1; x", "unexpected token 'let'", 4),
};

static const struct ecase functions[] = {
	OK("len('hello')", "int:5"),
	OK("len('h\xc3\xa9llo')", "int:6"),
	OK("len('')", "int:0"),
	OK("len(arr)", "int:3"),
	OK("len([])", "int:0"),
	OK("len(m)", "int:4"),
	OK("len({})", "int:0"),
	OK("len(inputs.list)", "int:7"),
	OK("upper('abc')", "string:ABC"),
	OK("upper('a\xc3\xa9z')", "string:A\xc3\xa9Z"),
	OK("lower('AbC1')", "string:abc1"),
	OK("trim('  a b  ')", "string:a b"),
	OK("trim('\\t\\na\\r\\n')", "string:a"),
	OK("trim('   ')", "string:"),
	OK("trim('__a__', '_')", "string:a"),
	OK("trim('xyaxy', 'yx')", "string:a"),
	OK("trim('\xc3\xa9\xc3\xa9" "a\xc3\xa9', '\xc3\xa9')", "string:a"),
	OK("trim('abc', '')", "string:abc"),
	OK("trimPrefix('HelloWorld', 'Hello')", "string:World"),
	OK("trimPrefix('abc', 'x')", "string:abc"),
	OK("trimPrefix(' a')", "string:a"),
	OK("trimPrefix('aa', 'a')", "string:a"),
	OK("trimSuffix('HelloWorld', 'World')", "string:Hello"),
	OK("trimSuffix('a ')", "string:a"),
	OK("trimSuffix('abc', 'abcd')", "string:abc"),
	OK("split('a,b,c', ',')", "array:[\"a\",\"b\",\"c\"]"),
	OK("split('a,b,c', ',', 2)", "array:[\"a\",\"b,c\"]"),
	OK("split('a,b,c', ',', 1)", "array:[\"a,b,c\"]"),
	OK("split('a,b,c', ',', 0)", "array:[]"),
	OK("split('a,b', ',', -1)", "array:[\"a\",\"b\"]"),
	OK("split('a,,b', ',')", "array:[\"a\",\"\",\"b\"]"),
	OK("split('abc', '')", "array:[\"a\",\"b\",\"c\"]"),
	OK("split('abc', '', 2)", "array:[\"a\",\"bc\"]"),
	OK("split('ab', '', 3)", "array:[\"a\",\"b\"]"),
	OK("split('a', '', 2)", "array:[\"a\"]"),
	OK("split('', ',')", "array:[\"\"]"),
	OK("split('', '')", "array:[]"),
	OK("split('a\\nb\\nc', '\\n')", "array:[\"a\",\"b\",\"c\"]"),
	OK("split('a--b', '--')", "array:[\"a\",\"b\"]"),
	OK("split('\xc3\xa9x', '')", "array:[\"\xc3\xa9\",\"x\"]"),
	OK("splitAfter('a,b,c', ',')", "array:[\"a,\",\"b,\",\"c\"]"),
	OK("splitAfter('a,b,c', ',', 2)", "array:[\"a,\",\"b,c\"]"),
	OK("split(inputs.csv, ',')[1]", "string:b"),
	OK("replace('Hello World', 'World', 'Universe')",
	    "string:Hello Universe"),
	OK("replace('aaa', 'a', 'b')", "string:bbb"),
	OK("replace('aaa', 'a', 'b', 2)", "string:bba"),
	OK("replace('aaa', 'a', 'b', 0)", "string:aaa"),
	OK("replace('abc', 'x', 'y')", "string:abc"),
	OK("replace('abc', '', '-')", "string:-a-b-c-"),
	OK("replace('ab', '', '-', 2)", "string:-a-b"),
	OK("replace('', '', 'x')", "string:x"),
	OK("replace('abab', 'ab', '')", "string:"),
	OK("repeat('ab', 3)", "string:ababab"),
	OK("repeat('x', 0)", "string:"),
	OK("repeat('', 5)", "string:"),
	OK("repeat('', 9223372036854775807)", "string:"),
	OK("repeat('abc', 5)", "string:abcabcabcabcabc"),
	OK("len(repeat('x', 16777216))", "int:16777216"),
	OK("join(['a', 'b'], '-')", "string:a-b"),
	OK("join(['a', 'b'])", "string:ab"),
	OK("join([])", "string:"),
	OK("join(['x'], ', ')", "string:x"),
	OK("join(strs, ', ')", "string:b, a, c"),
	OK("indexOf('apple pie', 'pie')", "int:6"),
	OK("indexOf('abc', 'x')", "int:-1"),
	OK("indexOf('abc', '')", "int:0"),
	OK("lastIndexOf('apple pie apple', 'apple')", "int:10"),
	OK("lastIndexOf('abc', '')", "int:3"),
	OK("lastIndexOf('abc', 'abcd')", "int:-1"),
	OK("lastIndexOf('abcabc', 'bc')", "int:4"),
	OK("lastIndexOf('aaa', 'aa')", "int:1"),
	OK("lastIndexOf(repeat('a', 1000000), repeat('a', 500000) + 'b')",
	    "int:-1"),
	OK("indexOf(repeat('a', 1000000), repeat('a', 500000) + 'b')",
	    "int:-1"),
	OK("hasPrefix('HelloWorld', 'Hello')", "bool:true"),
	OK("hasPrefix('HelloWorld', 'World')", "bool:false"),
	OK("hasSuffix('HelloWorld', 'World')", "bool:true"),
	OK("hasSuffix('', '')", "bool:true"),
	OK("int('123')", "int:123"),
	OK("int('-5')", "int:-5"),
	OK("int('+5')", "int:5"),
	OK("int('007')", "int:7"),
	OK("int('-9223372036854775808')", "int:-9223372036854775808"),
	OK("int(3.9)", "int:3"),
	OK("int(-3.9)", "int:-3"),
	OK("int(7)", "int:7"),
	OK("int(inputs.n) + 1", "int:4"),
	OK("float('1.5')", "float:1.5"),
	OK("float(' 1'[1:])", "float:1"),
	OK("float(2)", "float:2"),
	OK("float(2.5)", "float:2.5"),
	OK("float('1e3')", "float:1000"),
	OK("float('-0.25')", "float:-0.25"),
	OK("float('NaN')", "float:NaN"),
	OK("float('inf')", "float:+Inf"),
	OK("string(123)", "string:123"),
	OK("string(-1.5)", "string:-1.5"),
	OK("string(true)", "string:true"),
	OK("string(nil)", "string:<nil>"),
	OK("string('s')", "string:s"),
	OK("string([1, 'a'])", "string:[1,\"a\"]"),
	OK("string({a: 1})", "string:{\"a\":1}"),
	OK("string(1e21)", "string:1e+21"),
	OK("string(100000000.0)", "string:1e+08"),
	OK("string(123456.0)", "string:123456"),
	OK("string(1234567.0)", "string:1.234567e+06"),
	OK("string(0.0001)", "string:0.0001"),
	OK("string(0.00001)", "string:1e-05"),
	OK("string(1.5e-300)", "string:1.5e-300"),
	OK("string(5e-324)", "string:5e-324"),
	OK("string(1.7976931348623157e308)",
	    "string:1.7976931348623157e+308"),
	OK("toJSON([1, 2])", "string:[\n  1,\n  2\n]"),
	OK("toJSON({a: [1, {b: nil}], c: {}})",
	    "string:{\n  \"a\": [\n    1,\n    {\n      \"b\": null\n    }\n"
	    "  ],\n  \"c\": {}\n}"),
	OK("toJSON({})", "string:{}"),
	OK("toJSON([])", "string:[]"),
	OK("toJSON('a<b>&c')", "string:\"a\\u003cb\\u003e\\u0026c\""),
	OK("toJSON('q\"\\\\\\n\\t\\x01')", "string:\"q\\\"\\\\\\n\\t\\u0001\""),
	OK("toJSON(nil)", "string:null"),
	OK("toJSON(true)", "string:true"),
	OK("toJSON(42)", "string:42"),
	OK("toJSON(1.5)", "string:1.5"),
	OK("toJSON(2.0)", "string:2"),
	OK("toJSON(1e21)", "string:1e+21"),
	OK("toJSON(1e20)", "string:100000000000000000000"),
	OK("toJSON(0.0000001)", "string:1e-7"),
	OK("toJSON(0.000001)", "string:0.000001"),
	OK("toJSON(1 / 3)", "string:0.3333333333333333"),
	OK("toJSON('\\xff')", "string:\"\\ufffd\""),
	OK("toJSON('\\u2028')", "string:\"\\u2028\""),
	OK("toJSON('\xc3\xa9')", "string:\"\xc3\xa9\""),
	OK("fromJSON('[1, 2]')", "array:[1,2]"),
	OK("type(fromJSON('1'))", "string:float"),
	OK("fromJSON(' {\"b\": [true, null], \"a\": \"x\"} ')",
	    "map:{\"a\":\"x\",\"b\":[true,null]}"),
	OK("fromJSON('\"x\"')", "string:x"),
	OK("fromJSON('null')", "nil:<nil>"),
	OK("fromJSON('false')", "bool:false"),
	OK("fromJSON('-1.5e2')", "float:-150"),
	OK("fromJSON('\"\\\\ud83d\\\\ude00\"')", "string:\xf0\x9f\x98\x80"),
	OK("fromJSON('\"\\\\ud83d\"')", "string:\xef\xbf\xbd"),
	OK("fromJSON('\"a\\\\/b\\\\n\"')", "string:a/b\n"),
	OK("fromJSON(inputs.list)[1]", "float:2"),
	OK("fromJSON(inputs.list)[1] + 1", "float:3"),
	OK("fromJSON(toJSON(m)) == m", "bool:true"),
	OK("toBase64('Hello World')", "string:SGVsbG8gV29ybGQ="),
	OK("toBase64('')", "string:"),
	OK("toBase64('a')", "string:YQ=="),
	OK("toBase64('ab')", "string:YWI="),
	OK("toBase64('abc')", "string:YWJj"),
	OK("toBase64('\\xff\\xfe')", "string://4="),
	OK("fromBase64('SGVsbG8gV29ybGQ=')", "string:Hello World"),
	OK("fromBase64('YQ==')", "string:a"),
	OK("fromBase64('YWI=')", "string:ab"),
	OK("fromBase64('YW\\nJj')", "string:abc"),
	OK("fromBase64('')", "string:"),
	OK("fromBase64(toBase64('x\\x00y'))", "string:x"),
	OK("len(fromBase64(toBase64('x\\x00y')))", "int:3"),
	OK("keys(m)", "array:[\"a\",\"b\",\"c\",\"d\"]"),
	OK("keys({})", "array:[]"),
	OK("values({b: 2, a: 1})", "array:[1,2]"),
	OK("toPairs({b: 2, a: 1})", "array:[[\"a\",1],[\"b\",2]]"),
	OK("fromPairs([['a', 1], ['b', 2]])", "map:{\"a\":1,\"b\":2}"),
	OK("fromPairs(toPairs(m)) == m", "bool:true"),
	OK("first(arr)", "int:1"),
	OK("last(arr)", "int:3"),
	OK("first([])", "nil:<nil>"),
	OK("last(nilv)", "nil:<nil>"),
	OK("max(1, 5, 3)", "int:5"),
	OK("min(1, 5, 3)", "int:1"),
	OK("max(1, 2.5)", "float:2.5"),
	OK("min(2, 1.5)", "float:1.5"),
	OK("min([3, 1, 2])", "int:1"),
	OK("max(arr, 10)", "int:10"),
	OK("max(7)", "int:7"),
	OK("max([])", "nil:<nil>"),
	OK("abs(-5)", "int:5"),
	OK("abs(5)", "int:5"),
	OK("abs(-1.5)", "float:1.5"),
	OK("abs(-9223372036854775807 - 1)", "int:-9223372036854775808"),
	OK("ceil(1.2)", "float:2"),
	OK("ceil(-1.5)", "float:-1"),
	OK("floor(1.8)", "float:1"),
	OK("floor(-1.5)", "float:-2"),
	OK("floor(3)", "float:3"),
	OK("round(1.5)", "float:2"),
	OK("round(-1.5)", "float:-2"),
	OK("round(2.4)", "float:2"),
	OK("round(0.49999999999999994)", "float:0"),
	OK("round(1e300)", "float:1e+300"),
	OK("now()", "string:2023-11-14T22:13:20Z"),
	OK("now() startsWith '2023-'", "bool:true"),
	OK("randomInt()", "int:20"),
	OK("randomInt(10)", "int:1"),
	OK("randomInt(100)", "int:41"),
	OK("randomInt(1)", "int:0"),
	OK("sequence(1, 4)", "array:[1,2,3]"),
	OK("sequence(-5, -2)", "array:[-5,-4,-3]"),
	OK("sequence(5, 2)", "array:[]"),
	OK("sequence(2, 2)", "array:[]"),
	OK("sequence(0, 1)", "array:[0]"),
	OK("len(sequence(0, 1000000))", "int:1000000"),
	OK("sequence(1, fromJSON('3'))", "array:[1,2]"),
	OK("type(nil)", "string:nil"),
	OK("type(true)", "string:bool"),
	OK("type(1)", "string:int"),
	OK("type(1.0)", "string:float"),
	OK("type('')", "string:string"),
	OK("type([])", "string:array"),
	OK("type({})", "string:map"),
	OK("type(7 / 7)", "string:float"),
	OK("get(arr, 1)", "int:2"),
	OK("get(arr, -1)", "int:3"),
	OK("get(arr, 9)", "nil:<nil>"),
	OK("get(m, 'a')", "int:1"),
	OK("get(m, 'zz')", "nil:<nil>"),
	OK("get(1, 1)", "nil:<nil>"),
	OK("take(arr, 2)", "array:[1,2]"),
	OK("take(arr, 9)", "array:[1,2,3]"),
	OK("take(arr, 0)", "array:[]"),
	OK("sort([3, 1, 2])", "array:[1,2,3]"),
	OK("sort(strs)", "array:[\"a\",\"b\",\"c\"]"),
	OK("sort([3, 1], 'desc')", "array:[3,1]"),
	OK("sort([3, 1], 'asc')", "array:[1,3]"),
	OK("sort([2, 1.5])", "array:[1.5,2]"),
	OK("sort([])", "array:[]"),
	OK("reverse(arr)", "array:[3,2,1]"),
	OK("reverse([])", "array:[]"),
	OK("uniq([1, 2, 1, 3, 2])", "array:[1,2,3]"),
	OK("uniq(['a', 'a'])", "array:[\"a\"]"),
	OK("concat([1], [2], [3, 4])", "array:[1,2,3,4]"),
	OK("concat([])", "array:[]"),
	OK("flatten([1, [2, [3]], []])", "array:[1,2,3]"),
	OK("mean([1, 2, 3, 4])", "float:2.5"),
	OK("mean([])", "float:0"),
	OK("median([3, 1, 2])", "float:2"),
	OK("median([1, 2, 3, 4])", "float:2.5"),
	OK("sum([1, 2, 3])", "int:6"),
	OK("sum([1, 2.5])", "float:3.5"),
	OK("sum([])", "int:0"),
	OK("sum(arr, # * 2)", "int:12"),
	ERR("len(1)", "len: expected a string, array or map, got int", 0),
	ERR("len(nil)", "len: expected a string, array or map, got nil", 0),
	ERR("len()", "len: expected 1 argument, got 0", 0),
	ERR("len(1, 2)", "len: expected 1 argument, got 2", 0),
	ERR("1 + len(true)", "len: expected a string, array or map, got bool",
	    4),
	ERR("upper(1)", "upper: expected a string, got int", 0),
	ERR("lower(nil)", "lower: expected a string, got nil", 0),
	ERR("trim(1)", "trim: expected a string, got int", 0),
	ERR("trim('a', 1)", "trim: argument 2: expected a string, got int", 0),
	ERR("trim()", "trim: expected 1 to 2 arguments, got 0", 0),
	ERR("trimPrefix(1, 'a')",
	    "trimPrefix: argument 1: expected a string, got int", 0),
	ERR("split('a')", "split: expected 2 to 3 arguments, got 1", 0),
	ERR("split('a', 1)", "split: argument 2: expected a string, got int", 0),
	ERR("split('a', ',', 'x')", "split: argument 3: expected an int, got "
	    "string", 0),
	ERR("split('a', ',', 1.5)", "split: argument 3: expected an int, got "
	    "float", 0),
	ERR("replace('a', 'b')", "replace: expected 3 to 4 arguments, got 2", 0),
	ERR("replace('a', 'b', 1)",
	    "replace: argument 3: expected a string, got int", 0),
	ERR("repeat('x', -1)", "repeat: negative count -1", 0),
	ERR("repeat('x', 16777217)", "string too long", 0),
	ERR("repeat('ab', 'c')", "repeat: argument 2: expected an int, got "
	    "string", 0),
	ERR("len(repeat('ab', 8388608) + 'x')", "string too long", 26),
	ERR("join([1])", "join: element 0 is int, not string", 0),
	ERR("join(['a', nil])", "join: element 1 is nil, not string", 0),
	ERR("join('a')", "join: expected an array, got string", 0),
	ERR("indexOf('a', 1)", "indexOf: argument 2: expected a string, got int",
	    0),
	ERR("hasPrefix(1, 'a')",
	    "hasPrefix: argument 1: expected a string, got int", 0),
	ERR("int('1.5')", "int: cannot parse \"1.5\"", 0),
	ERR("int('')", "int: cannot parse \"\"", 0),
	ERR("int(' 1')", "int: cannot parse \" 1\"", 0),
	ERR("int('99999999999999999999')",
	    "int: \"99999999999999999999\" out of range", 0),
	ERR("int(true)", "int: expected a number or string, got bool", 0),
	ERR("int(1e20)", "int: value out of range", 0),
	ERR("int(float('nan'))", "int: NaN out of range", 0),
	ERR("float('abc')", "float: cannot parse \"abc\"", 0),
	ERR("float(' 1')", "float: cannot parse \" 1\"", 0),
	ERR("float('')", "float: cannot parse \"\"", 0),
	ERR("float('1e999')", "float: \"1e999\" out of range", 0),
	ERR("float(nil)", "float: expected a number or string, got nil", 0),
	ERR("string()", "string: expected 1 argument, got 0", 0),
	ERR("toJSON(0 ** -1)", "toJSON: cannot encode NaN or infinity", 0),
	ERR("toJSON([float('nan')])", "toJSON: cannot encode NaN or infinity",
	    0),
	ERR("fromJSON('[1,')",
	    "fromJSON: invalid JSON at offset 3: unexpected end of input", 0),
	ERR("fromJSON('')",
	    "fromJSON: invalid JSON at offset 0: unexpected end of input", 0),
	ERR("fromJSON('{\"a\" 1}')",
	    "fromJSON: invalid JSON at offset 5: unexpected character", 0),
	ERR("fromJSON('[1] x')",
	    "fromJSON: invalid JSON at offset 4: unexpected character after "
	    "value", 0),
	ERR("fromJSON('01')",
	    "fromJSON: invalid JSON at offset 1: unexpected character after "
	    "value", 0),
	ERR("fromJSON('[1.]')",
	    "fromJSON: invalid JSON at offset 1: invalid number", 0),
	ERR("fromJSON('\"a\\x01\"')",
	    "fromJSON: invalid JSON at offset 2: control character in string",
	    0),
	ERR("fromJSON('\"\\\\q\"')",
	    "fromJSON: invalid JSON at offset 1: invalid escape", 0),
	ERR("fromJSON('1e999')",
	    "fromJSON: invalid JSON at offset 0: number out of range", 0),
	ERR("fromJSON('nul')",
	    "fromJSON: invalid JSON at offset 0: unexpected character", 0),
	ERR("fromJSON(1)", "fromJSON: expected a string, got int", 0),
	ERR("fromJSON('1\\x002')", "fromJSON: invalid JSON: NUL byte", 0),
	ERR("fromBase64('YQ')", "fromBase64: illegal base64 data at input byte 0",
	    0),
	ERR("fromBase64('Y!==')",
	    "fromBase64: illegal base64 data at input byte 1", 0),
	ERR("fromBase64('YQ==YQ==')",
	    "fromBase64: illegal base64 data at input byte 4", 0),
	ERR("fromBase64('====')",
	    "fromBase64: illegal base64 data at input byte 0", 0),
	ERR("fromBase64('YWJjZ')",
	    "fromBase64: illegal base64 data at input byte 4", 0),
	ERR("toBase64(1)", "toBase64: expected a string, got int", 0),
	ERR("keys(arr)", "keys: expected a map, got array", 0),
	ERR("values(1)", "values: expected a map, got int", 0),
	ERR("fromPairs([1])", "fromPairs: element 0 is not a [string, value] "
	    "pair", 0),
	ERR("fromPairs([[1, 2]])", "fromPairs: element 0 is not a [string, "
	    "value] pair", 0),
	ERR("first('abc')", "first: expected an array, got string", 0),
	ERR("max('a')", "max: expected numbers, got string", 0),
	ERR("min([1, 'a'])", "min: expected numbers, got string", 0),
	ERR("max()", "max: expected at least 1 argument, got 0", 0),
	ERR("abs('a')", "abs: expected a number, got string", 0),
	ERR("ceil('a')", "ceil: expected a number, got string", 0),
	ERR("now(1)", "now: expected 0 arguments, got 1", 0),
	ERR("randomInt(0)", "randomInt: n must be positive, got 0", 0),
	ERR("randomInt(-5)", "randomInt: n must be positive, got -5", 0),
	ERR("randomInt('a')", "randomInt: expected an int, got string", 0),
	ERR("randomInt(1.5)", "randomInt: expected an int, got float", 0),
	ERR("randomInt(1, 2)", "randomInt: expected 0 to 1 arguments, got 2", 0),
	ERR("sequence(0, 2000000)", "sequence: too many elements", 0),
	ERR("sequence('a', 2)",
	    "sequence: argument 1: expected an int, got string", 0),
	ERR("sequence(1)", "sequence: expected 2 arguments, got 1", 0),
	ERR("take(arr, -1)", "take: negative count -1", 0),
	ERR("take(1, 1)", "take: argument 1: expected an array, got int", 0),
	ERR("sort([1, 'a'])", "sort: cannot sort string and int", 0),
	ERR("sort([nil])", "sort: cannot sort nil", 0),
	ERR("sort([1], 'up')", "sort: order must be \"asc\" or \"desc\"", 0),
	ERR("concat([1], 2)", "concat: argument 2: expected an array, got int",
	    0),
	ERR("mean(['a'])", "mean: expected numbers, got string", 0),
	ERR("sum(['a'])", "sum: expected numbers, got string", 0),
	ERR("sum(1)", "sum: expected an array, got int", 0),
	ERR("foo(1)", "unknown function 'foo'", 0),
	ERR("1 + Len(1)", "unknown function 'Len'", 4),
	ERR("len(1,, 2)", "unexpected token ','", 6),
	ERR("len(1 2)", "expected ',' or ')'", 6),
	ERR("len(1", "expected ',' or ')'", 5),
	ERR("len", "unknown name 'len'", 0),
};

static const struct ecase predicates[] = {
	OK("filter(arr, # > 1)", "array:[2,3]"),
	OK("filter(arr, {# > 1})", "array:[2,3]"),
	OK("filter(arr, false)", "array:[]"),
	OK("filter([], # > 1)", "array:[]"),
	OK("map(arr, # * 10)", "array:[10,20,30]"),
	OK("map(arr, {# * 10})", "array:[10,20,30]"),
	OK("map(users, .name)", "array:[\"ann\",\"bob\"]"),
	OK("map(users, #.age)", "array:[30,25]"),
	OK("map(users, .age > 26 ? .name : 'young')", "array:[\"ann\",\"young\"]"),
	OK("filter(users, .age > 26)[0].name", "string:ann"),
	OK("map(arr, #index)", "array:[0,1,2]"),
	OK("map(arr, # + #index)", "array:[1,3,5]"),
	OK("map(arr, {{a: #}})", "array:[{\"a\":1},{\"a\":2},{\"a\":3}]"),
	OK("map([[1, 2], [3]], map(#, # + 1))", "array:[[2,3],[4]]"),
	OK("map([[1, 2], [3]], sum(#))", "array:[3,3]"),
	OK("all(arr, # > 0)", "bool:true"),
	OK("all(arr, # > 1)", "bool:false"),
	OK("all([], false)", "bool:true"),
	OK("any(arr, # > 2)", "bool:true"),
	OK("any(arr, # > 3)", "bool:false"),
	OK("any([], true)", "bool:false"),
	OK("none(arr, # > 5)", "bool:true"),
	OK("none(arr, # > 2)", "bool:false"),
	OK("none([], true)", "bool:true"),
	OK("one(arr, # == 2)", "bool:true"),
	OK("one(arr, # > 1)", "bool:false"),
	OK("one([], true)", "bool:false"),
	OK("count(arr, # > 1)", "int:2"),
	OK("count([true, false, true])", "int:2"),
	OK("count([], true)", "int:0"),
	OK("find(arr, # > 1)", "int:2"),
	OK("find(arr, # > 5)", "nil:<nil>"),
	OK("findIndex(arr, # > 1)", "int:1"),
	OK("findIndex(arr, # > 5)", "int:-1"),
	OK("findLast(arr, # < 3)", "int:2"),
	OK("findLast(arr, # > 5)", "nil:<nil>"),
	OK("findLastIndex(arr, # < 3)", "int:1"),
	OK("findLastIndex([], true)", "int:-1"),
	OK("reduce(arr, #acc + #)", "int:6"),
	OK("reduce(arr, #acc + #, 10)", "int:16"),
	OK("reduce(1..5, #acc * #)", "int:120"),
	OK("reduce(strs, #acc + #, '')", "string:bac"),
	OK("reduce([], #acc, 'x')", "string:x"),
	OK("reduce(arr, [#acc, #index], nil)", "array:[[[null,0],1],2]"),
	OK("groupBy(users, .age > 26)",
	    "map:{\"false\":[{\"age\":25,\"name\":\"bob\"}],"
	    "\"true\":[{\"age\":30,\"name\":\"ann\"}]}"),
	OK("groupBy(arr, # % 2)", "map:{\"0\":[2],\"1\":[1,3]}"),
	OK("sortBy(users, .age)[0].name", "string:bob"),
	OK("sortBy(users, .name, 'desc')[0].name", "string:bob"),
	OK("sortBy(arr, -#)", "array:[3,2,1]"),
	OK("sortBy([3, 1, 2], 0)", "array:[3,1,2]"),
	OK("sum(users, .age)", "int:55"),
	OK("arr | filter(# > 1) | map(# * 2)", "array:[4,6]"),
	OK("filter(arr, # in [1, 3])", "array:[1,3]"),
	OK("filter(strs, # matches '^[ab]$')", "array:[\"b\",\"a\"]"),
	OK("filter(strs, # not in ['a'])", "array:[\"b\",\"c\"]"),
	OK("filter(1..10, # % 3 == 0)", "array:[3,6,9]"),
	OK("any(users, .name == 'bob')", "bool:true"),
	ERR("filter(arr, 1)", "filter: expected bool from the predicate, got int",
	    0),
	ERR("all(arr, nil)", "all: expected bool from the predicate, got nil", 0),
	ERR("count([1])", "count: expected bool from the predicate, got int", 0),
	ERR("filter(1, true)", "filter: expected an array, got int", 0),
	ERR("map(m, #)", "map: expected an array, got map", 0),
	ERR("reduce([], #acc)", "reduce: empty array and no initial value", 0),
	ERR("all(arr)", "all: expected 2 arguments, got 1", 0),
	ERR("map(arr, # + 'a')", "cannot add int and string", 11),
	ERR("map(arr, .x)", "cannot get 'x' from int", 10),
	ERR("#", "'#' outside a predicate", 0),
	ERR("len(#)", "'#' outside a predicate", 4),
	ERR(".a", "unexpected token '.'", 0),
	ERR("map(arr, #foo)", "unknown pointer '#foo'", 10),
	ERR("map(arr, {# + 1)", "expected '}'", 15),
	ERR("filter(arr, # > 1", "expected ',' or ')'", 17),
};

static const struct ecase syntax[] = {
	ERR("", "empty expression", 0),
	ERR("   ", "empty expression", 0),
	ERR("// only a comment", "empty expression", 0),
	ERR("1 +", "unexpected end of expression", 3),
	ERR("(1 + 2", "expected ')'", 6),
	ERR("1 + 2)", "unexpected token ')'", 5),
	ERR("1 2", "unexpected token '2'", 2),
	ERR("1 'a'", "unexpected token ''a''", 2),
	ERR("a b", "unexpected token 'b'", 2),
	ERR("@", "unexpected character '@'", 0),
	ERR("1 + \x01", "unexpected byte 0x01", 4),
	ERR("\xc3\xa9", "unexpected byte 0xc3", 0),
	ERR("1 & 2", "unexpected character '&'", 2),
	ERR("1 = 2", "unexpected token '='", 2),
	ERR("1 === 2", "unexpected token '='", 4),
	ERR("not", "unexpected end of expression", 3),
	ERR("1 not 2", "unexpected token '2'", 6),
	ERR("a not", "unexpected end of expression", 5),
	ERR("1 not == 2", "unexpected token '=='", 6),
	ERR("true ? 1", "expected ':'", 8),
	ERR("true ? 1 :", "unexpected end of expression", 10),
	ERR("and", "unexpected token 'and'", 0),
	ERR("1 + in", "unexpected token 'in'", 4),
	ERR("()", "unexpected token ')'", 1),
	ERR("[1, 2]]", "unexpected token ']'", 6),
	ERR("{a: 1}}", "unexpected token '}'", 6),
	ERR("1 ;", "unexpected token ';'", 2),
	ERR("::x", "unexpected token '::'", 0),
	ERR("a.b.", "expected a name", 4),
	ERR("x?.", "expected a name", 3),
	ERR("'very long token that goes on and on' 1",
	    "unexpected token '1'", 38),
	ERR("1 'very long token that goes on and on'",
	    "unexpected token ''very long token that goes o...'", 2),
};

struct tcase {
	const char	*tmpl;
	const char	*want;		/* NULL for an error */
	const char	*err;
	size_t		 pos;
};

static const struct tcase templates[] = {
	{ "hello {{ inputs.name }}!", "hello world!", NULL, 0 },
	{ "no parts at all", "no parts at all", NULL, 0 },
	{ "", "", NULL, 0 },
	{ "{{ 1 }}{{ 2 }}", "12", NULL, 0 },
	{ "a {{ 'x' }} b {{ 1 + 1 }} c", "a x b 2 c", NULL, 0 },
	{ "{{inputs.name}}", "world", NULL, 0 },
	{ "{{ arr }}", "[1,2,3]", NULL, 0 },
	{ "{{ m }}", "{\"a\":1,\"b\":\"two\",\"c\":[1,2],\"d\":{\"e\":true}}",
	    NULL, 0 },
	{ "{{ nilv }}", "<nil>", NULL, 0 },
	{ "{{ inputs.missing }}", "<nil>", NULL, 0 },
	{ "{{ 1.0 }} {{ 2.50 }} {{ 1e6 }} {{ 1 / 4 }}", "1 2.5 1e+06 0.25",
	    NULL, 0 },
	{ "{{ true }}/{{ false }}", "true/false", NULL, 0 },
	{ "{{ '}}' }}", "}}", NULL, 0 },
	{ "{{ \"{{\" }}", "{{", NULL, 0 },
	{ "{{ {'a': {'b': 1}} }}", "{\"a\":{\"b\":1}}", NULL, 0 },
	{ "{{ {a:1}}}", "{\"a\":1}", NULL, 0 },
	{ "{{ map(arr, {# * 2}) }}", "[2,4,6]", NULL, 0 },
	{ "}} {{ 1 }} }}", "}} 1 }}", NULL, 0 },
	{ "{ {{ 1 }} }", "{ 1 }", NULL, 0 },
	{ "{{ 1 }}}", "1}", NULL, 0 },
	{ "{{ 1 // comment }}", "1", NULL, 0 },
	{ "{{ 1 /* }} */ }}", "1", NULL, 0 },
	{ "{{ 1 +\n 2 }}", "3", NULL, 0 },
	{ "line1\n{{ inputs.n }}\nline3", "line1\n3\nline3", NULL, 0 },
	{ "{{ inputs.name | upper() }}", "WORLD", NULL, 0 },
	{ "{{ inputs.run == 'true' }}", "false", NULL, 0 },
	{ "{{ !(1 == 2) }}", "true", NULL, 0 },
	{ "{{ 1 == 1 }}", "true", NULL, 0 },
	{ "{{ randomInt() }}", "20", NULL, 0 },
	{ "{{ tasks.t1 }}-{{ job.id }}", "out1-abc", NULL, 0 },
	{ "{{ item.value }}", "x", NULL, 0 },
	{ "{{ sequence(1, 3) }}", "[1,2]", NULL, 0 },
	{ "{{ split(inputs.csv, ',') }}", "[\"a\",\"b\",\"c\"]", NULL, 0 },
	{ "{{ fromJSON(inputs.list) }}", "[1,2,3]", NULL, 0 },
	{ "{{ toJSON([1]) }}", "[\n  1\n]", NULL, 0 },
	{ "{{ 'a\\nb' }}", "a\nb", NULL, 0 },
	{ "{{ '<&>' }}", "<&>", NULL, 0 },
	{ "{{ ['<'] }}", "[\"<\"]", NULL, 0 },
	{ "{{ inputs.empty }}x", "x", NULL, 0 },
	{ "{ {{ '{' }} {", "{ { {", NULL, 0 },
	{ "{{", NULL, "unterminated '{{'", 0 },
	{ "abc {{ 1", NULL, "unterminated '{{'", 4 },
	{ "abc {{ (1", NULL, "unterminated '{{'", 4 },
	{ "abc {{ 1 +", NULL, "unterminated '{{'", 4 },
	{ "{{ 1 }} {{", NULL, "unterminated '{{'", 8 },
	{ "{{ 1 } }", NULL, "expected '}}', got '}'", 5 },
	{ "{{ 1 + }}", NULL, "unexpected token '}}'", 7 },
	{ "{{}}", NULL, "empty expression", 0 },
	{ "x {{ }}", NULL, "empty expression", 2 },
	{ "a {{ 1 2 }}", NULL, "expected '}}', got '2'", 7 },
	{ "{{ (1 }}", NULL, "expected ')'", 6 },
	{ "{{ [1, 2 }}", NULL, "expected ',' or ']'", 9 },
	{ "{{ 'abc }}", NULL, "unterminated string", 3 },
	{ "{{ foo }}", NULL, "unknown name 'foo'", 3 },
	{ "x{{ 1 }}{{ 1 + 'a' }}", NULL, "cannot add int and string", 13 },
	{ "{{ nosuch(1) }}", NULL, "unknown function 'nosuch'", 3 },
	{ "{{ 1 /* }}", NULL, "unterminated comment", 5 },
	{ "ok {{ 1 }} then {{ 2 +* 3 }}", NULL, "unexpected token '*'", 22 },
	{ "{{ 'x' | nosuch() }}", NULL, "unknown function 'nosuch'", 9 },
	{ "{{ len(repeat('x', 9000000) + repeat('x', 9000000)) }}", NULL,
	    "string too long", 28 },
};

struct ccase {
	const char	*src;
	const char	*err;		/* NULL if it checks */
	size_t		 pos;
};

static const struct ccase checks[] = {
	{ "a.b + 1", NULL, 0 },
	{ "nosuchname", NULL, 0 },
	{ "filter(x, # > 1)", NULL, 0 },
	{ "1 / 0", NULL, 0 },
	{ "1 +", "unexpected end of expression", 3 },
	{ "foo()", "unknown function 'foo'", 0 },
	{ "len()", "len: expected 1 argument, got 0", 0 },
	{ "#", "'#' outside a predicate", 0 },
	{ "", "empty expression", 0 },
	{ "'a", "unterminated string", 0 },
};

static const struct ccase tchecks[] = {
	{ "ok {{ 1 }}", NULL, 0 },
	{ "plain", NULL, 0 },
	{ "", NULL, 0 },
	{ "{{ a.b }} and {{ c[0] }}", NULL, 0 },
	{ "{{ foo(1) }}", "unknown function 'foo'", 3 },
	{ "x {{ len() }}", "len: expected 1 argument, got 0", 5 },
	{ "{{ 1 + }}", "unexpected token '}}'", 7 },
	{ "{{ 1 }} {{", "unterminated '{{'", 8 },
	{ "{{}}", "empty expression", 0 },
	{ "{{ 1 }} {{ 2 3 }}", "expected '}}', got '3'", 13 },
};

struct vcase {
	const char	*tmpl;
	const char	*want;		/* "type:text", NULL for an error */
	const char	*err;
	size_t		 pos;
};

static const struct vcase tvalues[] = {
	{ "{{ sequence(1, 3) }}", "array:[1,2]", NULL, 0 },
	{ "  {{ [1] }}\n", "array:[1]", NULL, 0 },
	{ "{{ inputs.n }}", "int:3", NULL, 0 },
	{ "{{ nilv }}", "nil:<nil>", NULL, 0 },
	{ "{{ m.d }}", "map:{\"e\":true}", NULL, 0 },
	{ "{{ split(inputs.csv, ',') }}", "array:[\"a\",\"b\",\"c\"]", NULL, 0 },
	{ "x {{ 1 }}", "string:x 1", NULL, 0 },
	{ "{{ 1 }}{{ 2 }}", "string:12", NULL, 0 },
	{ "{{ 1 }} x", "string:1 x", NULL, 0 },
	{ "plain", "string:plain", NULL, 0 },
	{ "", "string:", NULL, 0 },
	{ "{{ 1 +", NULL, "unterminated '{{'", 0 },
	{ "{{ nosuch }}", NULL, "unknown name 'nosuch'", 3 },
	{ "{{ 1 }} {{ nosuch }}", NULL, "unknown name 'nosuch'", 11 },
};

static void
run_evals(const expr_val *env, const char *group, const struct ecase *c,
    size_t n)
{
	expr_val	*v;
	char		*got, *want, *err, desc[160];
	size_t		 i, pos;

	for (i = 0; i < n; i++) {
		err = NULL;
		pos = 12345;
		v = expr_eval(c[i].src, env, &err, &pos);
		snprintf(desc, sizeof(desc), "%s: %.120s", group, c[i].src);
		if (v != NULL) {
			got = typed(v);
			want = c[i].want ? strdup(c[i].want) :
			    errtext(c[i].err, c[i].pos);
		} else {
			got = errtext(err, pos);
			want = c[i].want ? strdup(c[i].want) :
			    errtext(c[i].err, c[i].pos);
		}
		okstr(got, want, desc);
		free(got);
		free(want);
		free(err);
		expr_free(v);
	}
}

static void
run_templates(const expr_val *env)
{
	char	*got, *want, *err, desc[160];
	size_t	 i, pos;

	for (i = 0; i < NELEM(templates); i++) {
		err = NULL;
		pos = 12345;
		got = expr_template(templates[i].tmpl, env, &err, &pos);
		if (got == NULL)
			got = errtext(err, pos);
		want = templates[i].want ? strdup(templates[i].want) :
		    errtext(templates[i].err, templates[i].pos);
		snprintf(desc, sizeof(desc), "template: %.120s",
		    templates[i].tmpl);
		okstr(got, want, desc);
		free(got);
		free(want);
		free(err);
	}
}

static void
run_checks(int tmpl, const struct ccase *c, size_t n)
{
	char	*got, *want, *err, desc[160];
	size_t	 i, pos;
	int	 r;

	for (i = 0; i < n; i++) {
		err = NULL;
		pos = 12345;
		r = tmpl ? expr_template_check(c[i].src, &err, &pos) :
		    expr_check(c[i].src, &err, &pos);
		got = r == 0 ? strdup("ok") : errtext(err, pos);
		want = c[i].err ? errtext(c[i].err, c[i].pos) : strdup("ok");
		snprintf(desc, sizeof(desc), "%s: %.120s", tmpl ?
		    "template_check" : "check", c[i].src);
		okstr(got, want, desc);
		free(got);
		free(want);
		free(err);
	}
}

static void
run_tvalues(const expr_val *env)
{
	expr_val	*v;
	char		*got, *want, *err, desc[160];
	size_t		 i, pos;

	for (i = 0; i < NELEM(tvalues); i++) {
		err = NULL;
		pos = 12345;
		v = expr_template_value(tvalues[i].tmpl, env, &err, &pos);
		got = v ? typed(v) : errtext(err, pos);
		want = tvalues[i].want ? strdup(tvalues[i].want) :
		    errtext(tvalues[i].err, tvalues[i].pos);
		snprintf(desc, sizeof(desc), "template_value: %.120s",
		    tvalues[i].tmpl);
		okstr(got, want, desc);
		free(got);
		free(want);
		free(err);
		expr_free(v);
	}
}

/* The value's text as a string in a test description. */
static void
check_text(expr_val *v, const char *want, const char *desc)
{
	char	*s = expr_to_string(v);

	okstr(s, want, desc);
	free(s);
	expr_free(v);
}

static void
check_json(expr_val *v, const char *want, const char *desc)
{
	char	*s = expr_to_json(v);

	okstr(s, want, desc);
	free(s);
	expr_free(v);
}

static void
test_values(void)
{
	expr_val	*a, *m, *s, *r;
	char		 buf[64];

	a = expr_array();
	expr_array_push(a, expr_int(1));
	expr_array_push(a, expr_str("x"));
	expr_array_push(a, NULL);
	ok(expr_type(a) == EXPR_ARRAY && expr_len(a) == 2, "array: length",
	    NULL, NULL);
	ok(expr_as_int(expr_index(a, 0)) == 1, "array: index 0", NULL, NULL);
	okstr(expr_as_str(expr_index(a, 1)), "x", "array: index 1");
	ok(expr_index(a, 2) == NULL, "array: index out of range", NULL, NULL);
	ok(expr_get(a, "x") == NULL, "array: expr_get is NULL", NULL, NULL);
	expr_array_push(a, a);
	ok(expr_len(a) == 2, "array: pushing it into itself is ignored", NULL,
	    NULL);
	r = expr_ref(a);
	ok(r == a, "expr_ref returns its argument", NULL, NULL);
	expr_free(r);
	ok(expr_len(a) == 2, "a freed reference leaves the value", NULL, NULL);
	expr_free(a);

	m = expr_map();
	expr_map_set(m, "c", expr_int(3));
	expr_map_set(m, "a", expr_int(1));
	expr_map_set(m, "b", expr_int(2));
	expr_map_set(m, "a", expr_int(10));
	expr_map_set(m, NULL, expr_int(5));
	expr_map_set(m, "z", NULL);
	ok(expr_len(m) == 3, "map: replacing keeps the length", NULL, NULL);
	ok(expr_as_int(expr_get(m, "a")) == 10, "map: replaced value", NULL,
	    NULL);
	ok(expr_get(m, "nope") == NULL, "map: missing key is NULL", NULL, NULL);
	ok(expr_get(m, NULL) == NULL, "map: NULL key is NULL", NULL, NULL);
	snprintf(buf, sizeof(buf), "%s%s%s", expr_map_key(m, 0),
	    expr_map_key(m, 1), expr_map_key(m, 2));
	okstr(buf, "abc", "map: keys in order");
	ok(expr_map_key(m, 3) == NULL, "map: key out of range", NULL, NULL);
	ok(expr_as_int(expr_index(m, 1)) == 2, "map: index is a value", NULL,
	    NULL);
	check_json(m, "{\"a\":10,\"b\":2,\"c\":3}", "map: to_json");

	s = expr_strn("a\0b", 3);
	ok(expr_len(s) == 3 && memcmp(expr_as_str(s), "a\0b", 4) == 0,
	    "strn keeps a NUL byte", NULL, NULL);
	expr_free(s);
	s = expr_str(NULL);
	okstr(expr_as_str(s), "", "str(NULL) is empty");
	expr_free(s);

	ok(expr_as_str(NULL) == NULL, "as_str(NULL)", NULL, NULL);
	s = expr_int(5);
	ok(expr_as_str(s) == NULL, "as_str of an int is NULL", NULL, NULL);
	ok(expr_as_float(s) == 5.0, "as_float of an int", NULL, NULL);
	ok(expr_len(s) == 0, "len of an int is 0", NULL, NULL);
	expr_free(s);
	s = expr_float(3.9);
	ok(expr_as_int(s) == 3, "as_int truncates", NULL, NULL);
	expr_free(s);
	s = expr_float(-3.9);
	ok(expr_as_int(s) == -3, "as_int truncates toward zero", NULL, NULL);
	expr_free(s);
	s = expr_float(1e30);
	ok(expr_as_int(s) == 9223372036854775807LL, "as_int saturates", NULL,
	    NULL);
	expr_free(s);
	s = expr_bool(7);
	ok(expr_as_int(s) == 1, "as_int of true", NULL, NULL);
	expr_free(s);
	ok(expr_as_int(NULL) == 0 && expr_type(NULL) == EXPR_NIL &&
	    expr_len(NULL) == 0, "NULL is nil", NULL, NULL);

	s = expr_nil();
	ok(!expr_truthy(s), "truthy: nil", NULL, NULL);
	expr_free(s);
	s = expr_bool(0);
	ok(!expr_truthy(s), "truthy: false", NULL, NULL);
	expr_free(s);
	s = expr_int(0);
	ok(!expr_truthy(s), "truthy: 0", NULL, NULL);
	expr_free(s);
	s = expr_float(0.5);
	ok(expr_truthy(s), "truthy: 0.5", NULL, NULL);
	expr_free(s);
	s = expr_str("");
	ok(!expr_truthy(s), "truthy: empty string", NULL, NULL);
	expr_free(s);
	s = expr_str("false");
	ok(expr_truthy(s), "truthy: the string false", NULL, NULL);
	expr_free(s);
	s = expr_array();
	ok(!expr_truthy(s), "truthy: empty array", NULL, NULL);
	expr_free(s);

	check_text(expr_nil(), "<nil>", "to_string: nil");
	check_text(NULL, "<nil>", "to_string: NULL");
	check_text(expr_bool(1), "true", "to_string: true");
	check_text(expr_int(-42), "-42", "to_string: int");
	check_text(expr_int(-9223372036854775807LL - 1),
	    "-9223372036854775808", "to_string: int min");
	check_text(expr_float(100), "100", "to_string: float 100");
	check_text(expr_float(0.1), "0.1", "to_string: 0.1");
	check_text(expr_float(1e20), "1e+20", "to_string: 1e20");
	check_text(expr_float(123456), "123456", "to_string: 123456");
	check_text(expr_float(999999.5), "999999.5", "to_string: 999999.5");
	check_text(expr_float(1e-4), "0.0001", "to_string: 1e-4");
	check_text(expr_float(1.5e-7), "1.5e-07", "to_string: 1.5e-7");
	check_text(expr_float(-2.5e10), "-2.5e+10", "to_string: -2.5e10");
	check_text(expr_float(1e100), "1e+100", "to_string: 1e100");
	check_text(expr_float(-0.0), "-0", "to_string: -0");
	check_text(expr_float(3.0 / 0.0 * 0.0), "NaN", "to_string: NaN");
	check_text(expr_float(1.0 / 0.0), "+Inf", "to_string: +Inf");
	check_text(expr_float(-1.0 / 0.0), "-Inf", "to_string: -Inf");
	check_text(expr_str("as is"), "as is", "to_string: string");
	check_json(expr_float(1e21), "1e+21", "to_json: 1e21");
	check_json(expr_float(1e20), "100000000000000000000", "to_json: 1e20");
	check_json(expr_float(1e-7), "1e-7", "to_json: 1e-7");
	check_json(expr_float(1.5e-10), "1.5e-10", "to_json: 1.5e-10");
	check_json(expr_float(0.000001), "0.000001", "to_json: 1e-6");
	check_json(expr_float(-0.0), "-0", "to_json: -0");
	check_json(expr_float(1.0 / 0.0), "null", "to_json: +Inf is null");
	check_json(expr_nil(), "null", "to_json: nil");
	check_json(NULL, "null", "to_json: NULL");
	check_json(expr_str("a\"b\\c\n\x01<>&"),
	    "\"a\\\"b\\\\c\\n\\u0001<>&\"", "to_json: escapes, no HTML ones");
	check_json(expr_str("\xff" "a"), "\"\\ufffda\"",
	    "to_json: invalid UTF-8");
	check_json(expr_str("\xe2\x80\xa8"), "\"\\u2028\"", "to_json: U+2028");
	check_json(expr_strn("\0", 1), "\"\\u0000\"", "to_json: NUL");
	check_json(expr_array(), "[]", "to_json: empty array");
}

static void
test_json(void)
{
	static const struct {
		const char	*in;
		const char	*want;	/* to_json, or the error */
	} cases[] = {
		{ "[1, 2.5, \"x\", true, false, null]",
		    "[1,2.5,\"x\",true,false,null]" },
		{ "{\"b\": {}, \"a\": []}", "{\"a\":[],\"b\":{}}" },
		{ " \t\n\r7 ", "7" },
		{ "-0", "-0" },
		{ "1E+2", "100" },
		{ "123456789012345678901234567890",
		    "1.2345678901234568e+29" },
		{ "\"\\u00e9\\t\"", "\"\xc3\xa9\\t\"" },
		{ "\"\\/\"", "\"/\"" },
		{ "{\"a\": 1, \"a\": 2}", "{\"a\":2}" },
		{ "", "invalid JSON at offset 0: unexpected end of input" },
		{ "[", "invalid JSON at offset 1: unexpected end of input" },
		{ "[1 2]", "invalid JSON at offset 3: unexpected character" },
		{ "{\"a\"}", "invalid JSON at offset 4: unexpected character" },
		{ "{1: 2}", "invalid JSON at offset 1: unexpected character" },
		{ "tru", "invalid JSON at offset 0: unexpected character" },
		{ "-", "invalid JSON at offset 0: invalid number" },
		{ "+1", "invalid JSON at offset 0: unexpected character" },
		{ "1.", "invalid JSON at offset 0: invalid number" },
		{ "1e", "invalid JSON at offset 0: invalid number" },
		{ ".5", "invalid JSON at offset 0: unexpected character" },
		{ "\"a", "invalid JSON at offset 2: unterminated string" },
		{ "\"\\u12\"", "invalid JSON at offset 1: invalid escape" },
		{ "[1,]", "invalid JSON at offset 3: unexpected character" },
		{ "{} {}",
		    "invalid JSON at offset 3: unexpected character after value" },
	};
	expr_val	*v;
	char		*err, *got, desc[96], deep[1200];
	size_t		 i;

	for (i = 0; i < NELEM(cases); i++) {
		err = NULL;
		v = expr_from_json(cases[i].in, &err);
		got = v ? expr_to_json(v) : err;
		snprintf(desc, sizeof(desc), "from_json: %s", cases[i].in);
		okstr(got, cases[i].want, desc);
		if (v != NULL) {
			free(got);
			free(err);
		} else
			free(err);
		expr_free(v);
	}
	memset(deep, '[', 500);
	memset(deep + 500, ']', 500);
	deep[1000] = '\0';
	err = NULL;
	v = expr_from_json(deep, &err);
	okstr(err, "invalid JSON at offset 401: nested too deeply",
	    "from_json: 500 deep");
	free(err);
	expr_free(v);
	v = expr_from_json(deep + 100, NULL);
	ok(v == NULL, "from_json: error with err NULL", NULL, NULL);
	memset(deep, '[', 300);
	memset(deep + 300, ']', 300);
	deep[600] = '\0';
	v = expr_from_json(deep, NULL);
	ok(v != NULL, "from_json: 300 deep is fine", NULL, NULL);
	expr_free(v);
	v = expr_from_json(NULL, NULL);
	ok(v == NULL, "from_json: NULL text", NULL, NULL);
}

static void
test_api(expr_val *env)
{
	expr_val	*v, *arr;
	char		*s, *err;
	size_t		 pos;

	v = expr_eval("1 + 1", NULL, NULL, NULL);
	ok(v != NULL && expr_as_int(v) == 2, "eval: NULL env", NULL, NULL);
	expr_free(v);
	v = expr_eval("$env", NULL, NULL, NULL);
	ok(v != NULL && expr_type(v) == EXPR_MAP && expr_len(v) == 0,
	    "eval: $env of NULL env is an empty map", NULL, NULL);
	expr_free(v);
	v = expr_eval("nosuch", NULL, NULL, NULL);
	ok(v == NULL, "eval: error with err and errpos NULL", NULL, NULL);
	arr = expr_array();
	err = NULL;
	v = expr_eval("x", arr, &err, &pos);
	okstr(err, "unknown name 'x'", "eval: env that is not a map");
	free(err);
	expr_free(arr);
	v = expr_eval(NULL, env, &err, &pos);
	okstr(err, "empty expression", "eval: NULL source");
	free(err);
	s = expr_template(NULL, env, NULL, NULL);
	okstr(s, "", "template: NULL");
	free(s);
	ok(expr_template_check(NULL, NULL, NULL) == 0, "template_check: NULL",
	    NULL, NULL);
	ok(expr_check(NULL, NULL, NULL) == -1, "check: NULL", NULL, NULL);
	s = expr_template("{{ 1 + }}", env, NULL, NULL);
	ok(s == NULL, "template: error with err NULL", NULL, NULL);

	/* The environment is shared, not copied, and stays intact. */
	v = expr_eval("inputs", env, NULL, NULL);
	ok(v == expr_get(env, "inputs"), "eval: a name is the env's value",
	    NULL, NULL);
	expr_free(v);
	v = expr_eval("[inputs, inputs]", env, NULL, NULL);
	expr_free(v);
	s = expr_template("{{ inputs.name }}", env, NULL, NULL);
	okstr(s, "world", "env intact after sharing");
	free(s);

	/* Many parts, each with its own {{ }}. */
	{
		char	*big = malloc(6 * 5000 + 1), *p = big;
		int	 i;

		for (i = 0; i < 5000; i++, p += 6)
			memcpy(p, "{{1}} ", 6);
		*p = '\0';
		s = expr_template(big, env, NULL, NULL);
		ok(s != NULL && strlen(s) == 2 * 5000, "template: 5000 parts",
		    NULL, NULL);
		free(s);
		free(big);
	}

	expr_set_clock(NULL);
	v = expr_eval("now()", env, NULL, NULL);
	ok(v != NULL && expr_len(v) == 20 && expr_as_str(v)[19] == 'Z',
	    "now: default clock", NULL, NULL);
	expr_free(v);
	expr_set_clock(fixed_clock);
	expr_set_random(NULL);
	v = expr_eval("randomInt(1000000) < 1000000 && randomInt() >= 0",
	    env, NULL, NULL);
	ok(v != NULL && expr_truthy(v), "randomInt: default source", NULL,
	    NULL);
	expr_free(v);
	expr_set_random(fixed_random);
}

/* Nesting, budgets and size limits. */
static void
test_limits(const expr_val *env)
{
	char		 src[4096], *err;
	expr_val	*v;
	size_t		 pos, i;

	memset(src, '(', 300);
	strcpy(src + 300, "1");
	memset(src + 301, ')', 300);
	src[601] = '\0';
	err = NULL;
	v = expr_eval(src, env, &err, &pos);
	ok(v == NULL && err && strcmp(err, "expression nested too deeply") == 0
	    && pos == 200, "limits: 300 parentheses", err, NULL);
	free(err);

	memset(src, '(', 150);
	strcpy(src + 150, "1");
	memset(src + 151, ')', 150);
	src[301] = '\0';
	v = expr_eval(src, env, NULL, NULL);
	ok(v != NULL && expr_as_int(v) == 1, "limits: 150 parentheses", NULL,
	    NULL);
	expr_free(v);

	memset(src, '-', 300);
	strcpy(src + 300, "1");
	err = NULL;
	v = expr_eval(src, env, &err, &pos);
	ok(v == NULL && err && strcmp(err, "expression nested too deeply") == 0,
	    "limits: 300 unary minuses", err, NULL);
	free(err);

	memset(src, '[', 300);
	memset(src + 300, ']', 300);
	src[600] = '\0';
	err = NULL;
	v = expr_eval(src, env, &err, &pos);
	ok(v == NULL && err && strcmp(err, "expression nested too deeply") == 0,
	    "limits: 300 nested arrays", err, NULL);
	free(err);

	strcpy(src, "1");
	for (i = 0; i < 300; i++)
		strcat(src, "+1");
	err = NULL;
	v = expr_eval(src, env, &err, &pos);
	ok(v == NULL && err && strcmp(err, "expression nested too deeply") == 0
	    && pos < strlen(src), "limits: 300 additions", err, NULL);
	free(err);

	strcpy(src, "1");
	for (i = 0; i < 150; i++)
		strcat(src, "+1");
	v = expr_eval(src, env, NULL, NULL);
	ok(v != NULL && expr_as_int(v) == 151, "limits: 150 additions", NULL,
	    NULL);
	expr_free(v);

	strcpy(src, "m");
	for (i = 0; i < 300; i++)
		strcat(src, ".a");
	err = NULL;
	v = expr_eval(src, env, &err, &pos);
	ok(v == NULL && err && strcmp(err, "expression nested too deeply") == 0,
	    "limits: 300 members", err, NULL);
	free(err);

	strcpy(src, "{{ ");
	memset(src + 3, '(', 300);
	strcpy(src + 303, "1 }}");
	err = NULL;
	v = expr_template_value(src, env, &err, &pos);
	ok(v == NULL && err != NULL, "limits: deep template part", err, NULL);
	free(err);

	err = NULL;
	v = expr_eval("reduce(1..500, [#acc], [])", env, &err, &pos);
	ok(v == NULL && err && strcmp(err, "value nested too deeply") == 0 &&
	    pos == 15, "limits: value nesting", err, NULL);
	free(err);

	v = expr_eval("len(reduce(1..300, [#acc], []))", env, NULL, NULL);
	ok(v != NULL && expr_as_int(v) == 1, "limits: 300 deep value", NULL,
	    NULL);
	expr_free(v);

	err = NULL;
	v = expr_eval("len(1..1000000) + len(1..1000000)", env, &err, &pos);
	ok(v == NULL && err && strcmp(err, "memory budget exceeded") == 0 &&
	    pos == 23, "limits: memory budget", err, NULL);
	free(err);

	err = NULL;
	v = expr_eval("let a = 1..5000; all(a, all(a, true))", env, &err,
	    &pos);
	ok(v == NULL && err && strcmp(err, "expression too expensive") == 0 &&
	    pos == 31, "limits: work budget", err, NULL);
	free(err);

	err = NULL;
	v = expr_eval("let a = 1..5000; all(a, # in a)", env, &err, &pos);
	ok(v == NULL && err && strcmp(err, "expression too expensive") == 0,
	    "limits: work budget inside 'in'", err, NULL);
	free(err);

	err = NULL;
	v = expr_eval("map(1..1000, repeat('x', 1000000))", env, &err, &pos);
	ok(v == NULL && err && strcmp(err, "memory budget exceeded") == 0,
	    "limits: strings in a loop", err, NULL);
	free(err);

	err = NULL;
	v = expr_eval("let s = repeat('a', 1000000); "
	    "all(1..100, s matches '(a|aa){1000}b')", env, &err, &pos);
	ok(v == NULL && err && strcmp(err, "expression too expensive") == 0,
	    "limits: a big pattern on a long string", err, NULL);
	free(err);

	err = NULL;
	v = expr_eval("let s = repeat('a', 1000000); "
	    "len(sort(map(1..2000, s)))", env, &err, &pos);
	ok(v == NULL && err && strcmp(err, "expression too expensive") == 0,
	    "limits: sorting long strings", err, NULL);
	free(err);

	err = NULL;
	v = expr_eval("let s = '0.' + repeat('1', 10000000); all(1..1000, "
	    "float(s) > 0)", env, &err, &pos);
	ok(v == NULL && err && strcmp(err, "expression too expensive") == 0,
	    "limits: float of a long string, often", err, NULL);
	free(err);

	err = NULL;
	v = expr_eval("fromJSON(repeat('[1,', 500000) + '1' + "
	    "repeat(']', 500000))", env, &err, &pos);
	ok(v == NULL && err != NULL, "limits: fromJSON of a deep array", err,
	    NULL);
	free(err);

	err = NULL;
	v = expr_eval("len(fromJSON('[' + repeat('0,', 3000000) + '0]'))", env,
	    &err, &pos);
	ok(v == NULL && err && strncmp(err, "fromJSON: invalid JSON", 22) == 0,
	    "limits: fromJSON of a long array", err, NULL);
	free(err);

	v = expr_eval("len(fromJSON('[' + repeat('0,', 100000) + '0]'))", env,
	    NULL, NULL);
	ok(v != NULL && expr_as_int(v) == 100001, "limits: fromJSON of 1e5",
	    NULL, NULL);
	expr_free(v);
}

int
main(void)
{
	expr_val	*env;

	expr_set_clock(fixed_clock);
	expr_set_random(fixed_random);
	env = mkenv();
	run_evals(env, "precedence", precedence, NELEM(precedence));
	run_evals(env, "literal", literals, NELEM(literals));
	run_evals(env, "member", members, NELEM(members));
	run_evals(env, "operator", operators, NELEM(operators));
	run_evals(env, "function", functions, NELEM(functions));
	run_evals(env, "predicate", predicates, NELEM(predicates));
	run_evals(env, "syntax", syntax, NELEM(syntax));
	run_templates(env);
	run_checks(0, checks, NELEM(checks));
	run_checks(1, tchecks, NELEM(tchecks));
	run_tvalues(env);
	test_values();
	test_json();
	test_api(env);
	test_limits(env);
	expr_free(env);
	printf("1..%d\n", ntest);
	return nfail != 0;
}
