/*
 * expr - the expression language of expr-lang (github.com/expr-lang/expr)
 * as Tork uses it in "{{ ... }}" templates.
 *
 * Values are reference-counted.  Every function that returns an
 * expr_val * hands the caller one reference, which expr_free drops; the
 * value is freed with its last reference.  Accessors (expr_index,
 * expr_get) return borrowed pointers, valid while their container
 * lives.  expr_array_push and expr_map_set take over the caller's
 * reference to the element.  The counts are not atomic: a value, the
 * environment included, must not be used by two threads at once, and a
 * container must not be made to hold itself.  Evaluation never modifies
 * a value that is shared; it takes references to parts of the
 * environment instead of copying them.
 *
 * Maps have string keys and are kept sorted by key (bytewise), which is
 * the order keys(), values(), toJSON() and iteration with expr_map_key
 * see.  Strings are byte strings with a length; they may hold NUL bytes,
 * but expr_as_str shows a C string that ends at the first one.
 *
 * Constructors and expr_from_json return NULL only when memory runs
 * out; expr_array_push and expr_map_set then add nothing.
 *
 * Errors are malloc'd one-line messages, such as "unexpected token ')'"
 * or "cannot add string and int", with the byte offset in the source
 * text where the problem is.  Only when memory runs out can a failing
 * call leave *err NULL.
 *
 * The language is expr-lang's.  Literals: 42 0x2A 0o52 0b101 1_000 1.5
 * .5 1e3 "s" 's' `raw` true false nil [a, b] {k: v}.  Operators, from
 * the tightest: ?? (binds tighter than anything, and does not mix with
 * other operators unparenthesized); ** ^ (right-associative, float);
 * unary - +; * / (float) %; unary ! not; + -; ..; == != < <= > >= in
 * matches contains startsWith endsWith (chained: a < b < c is a < b &&
 * b < c; "not in" and the like); && and; || or; c ? a : b and c ?: b;
 * x | f(y), which is f(x, y).  Also a.b a?.b a[i] a[-1] a[i:j]
 * a?.[i], let x = e; body, $env, comments, the built-in functions with
 * predicates (filter(a, # > 1), map(a, .name), #index, #acc), and
 * Tork's randomInt([n]) and sequence(start, stop).  Where it differs:
 *
 *	- a name missing from env is an error, a missing map key is nil;
 *	- / and % by zero are errors (expr-lang gives +Inf for /);
 *	- s[i] is a one-byte string; len and indices count bytes;
 *	- upper, lower and trim know ASCII letters and spaces only;
 *	- matches uses POSIX extended regular expressions (see expr.c);
 *	- now() is a string, so there are no date or duration values,
 *	  and values have no methods;
 *	- keys() and values() come in key order, not Go's random one;
 *	- templates print arrays and maps as JSON, and, unlike Tork, an
 *	  unterminated "{{" or an empty "{{ }}" is an error, while a part
 *	  may span lines and hold "}}" inside a string or a map literal.
 */
#ifndef EXPR_H
#define EXPR_H

#include <stddef.h>

typedef struct expr_val expr_val;
enum expr_type {
	EXPR_NIL, EXPR_BOOL, EXPR_INT, EXPR_FLOAT, EXPR_STR, EXPR_ARRAY, EXPR_MAP
};

/*
 * Limits.  Expressions nest at most EXPR_MAXDEPTH deep; no string a
 * function makes is longer than EXPR_MAXSTR bytes (templates neither),
 * no array longer than EXPR_MAXLEN.  One evaluation may also do only so
 * much work and allocate only so much in total (see expr.c); past that
 * it fails with "expression too expensive" or "memory budget exceeded".
 */
#define EXPR_MAXDEPTH	200
#define EXPR_MAXSTR	(16 * 1024 * 1024)
#define EXPR_MAXLEN	1000000

/*
 * Constructors.  Pushing or setting a container into itself is ignored
 * (the caller keeps its reference); deeper cycles must not be made.
 */
expr_val	*expr_nil(void);
expr_val	*expr_bool(int);
expr_val	*expr_int(long long);
expr_val	*expr_float(double);
expr_val	*expr_str(const char *);
expr_val	*expr_strn(const char *, size_t);
expr_val	*expr_array(void);
void		 expr_array_push(expr_val *arr, expr_val *v);
expr_val	*expr_map(void);
void		 expr_map_set(expr_val *map, const char *key, expr_val *v);
/* One more reference to v (v itself, or NULL for NULL). */
expr_val	*expr_ref(const expr_val *v);
void		 expr_free(expr_val *);

/*
 * Accessors.  expr_len is the byte length of a string, the number of
 * elements of an array or of keys of a map, else 0.  expr_index also
 * works on maps, giving the i-th value in key order, whose key is
 * expr_map_key(map, i).  Out-of-range indices and missing keys give
 * NULL.  expr_as_int and expr_as_float convert numbers (floats are
 * truncated, saturating) and bools, anything else is 0.  expr_truthy is
 * false for nil, false, zero, NaN, "" and an empty array or map.
 */
enum expr_type	 expr_type(const expr_val *);
size_t		 expr_len(const expr_val *);
const expr_val	*expr_index(const expr_val *arr, size_t i);
const char	*expr_map_key(const expr_val *map, size_t i);
const expr_val	*expr_get(const expr_val *map, const char *key);
long long	 expr_as_int(const expr_val *);
double		 expr_as_float(const expr_val *);
int		 expr_truthy(const expr_val *);
const char	*expr_as_str(const expr_val *);	/* NULL unless EXPR_STR */

/*
 * expr_to_string gives the text a template substitutes: strings as they
 * are, numbers the way Go's fmt %v prints them (1.5, 3, 1e+06), bools
 * true/false, nil "<nil>", arrays and maps as compact JSON.
 * expr_to_json gives compact JSON (NaN and infinities become null).
 * Both return a malloc'd string, NULL when memory runs out.
 */
char		*expr_to_string(const expr_val *);
char		*expr_to_json(const expr_val *);

/*
 * Parse JSON text.  As in Go, numbers become floats.  On error returns
 * NULL and, if err is not NULL, a malloc'd message in *err.
 */
expr_val	*expr_from_json(const char *text, char **err);

/*
 * Evaluate one expression (the text inside {{ }}) with the names in the
 * map env (NULL is an empty map).  Returns a new value, or NULL with a
 * malloc'd message in *err and the byte offset into src in *errpos (err
 * and errpos may be NULL).
 */
expr_val	*expr_eval(const char *src, const expr_val *env, char **err,
		    size_t *errpos);
/* Syntax check only, no evaluation: 0 ok, -1 with *err and *errpos. */
int		 expr_check(const char *src, char **err, size_t *errpos);

/*
 * Templates: text with any number of {{ expr }} parts, kept as they are
 * around them.  expr_template evaluates the parts and returns the
 * malloc'd result, or NULL with *err and *errpos (an offset into tmpl).
 * expr_template_check checks the syntax of every part and finds an
 * unterminated "{{".  A template that is one {{ expr }} with nothing but
 * white space around it evaluates to the expression's value with
 * expr_template_value; any other template gives its text as a string.
 */
char		*expr_template(const char *tmpl, const expr_val *env,
		    char **err, size_t *errpos);
int		 expr_template_check(const char *tmpl, char **err,
		    size_t *errpos);
expr_val	*expr_template_value(const char *tmpl, const expr_val *env,
		    char **err, size_t *errpos);

/*
 * now() returns the clock's time as an RFC 3339 string in UTC,
 * "2006-01-02T15:04:05Z"; the clock gives milliseconds since the epoch
 * (default: the real-time clock).  randomInt uses rnd (default:
 * arc4random).  NULL restores the default.
 */
void		 expr_set_clock(long long (*now_ms)(void));
void		 expr_set_random(unsigned long long (*rnd)(void));

#endif
