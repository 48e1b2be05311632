/*
 * redact - cut secret values out of text (see redact.h).
 */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "redact.h"

size_t
redact_match(const char *const *v, size_t n, const char *s, size_t len)
{
	size_t k, m, best = 0;

	for (k = 0; k < n; k++)
		if ((m = strlen(v[k])) > best && m <= len &&
		    memcmp(s, v[k], m) == 0)
			best = m;
	return best;
}

char *
redact_str(const char *const *v, size_t n, char *s)
{
	struct buf b = { 0 };
	size_t i, from = 0, m, len;

	if (s == NULL || n == 0)
		return s;
	len = strlen(s);
	for (i = 0; i < len; ) {
		if ((m = redact_match(v, n, s + i, len - i)) == 0) {
			i++;
			continue;
		}
		buf_addn(&b, s + from, i - from);
		buf_add(&b, REDACTED);
		i += m;
		from = i;
	}
	buf_addn(&b, s + from, len - from);
	free(s);
	return buf_take(&b);
}
