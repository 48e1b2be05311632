/*
 * buf - a growing string, and what jobrun writes into one: JSON (for
 * --json and the spool, which reads it back as YAML) and Prometheus'
 * text format.
 *
 * A struct buf starts zeroed; s is NUL-terminated once anything was
 * added.  Running out of memory ends the process (exit 1, with a
 * message), as jobrun's own allocation wrappers do.
 */
#ifndef BUF_H
#define BUF_H

#include <stddef.h>

struct buf {
	char	*s;
	size_t	 len, cap;
};

void	 buf_addn(struct buf *, const char *, size_t);
void	 buf_add(struct buf *, const char *);
void	 buf_addf(struct buf *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
/* The string (never NULL), which the caller frees; b is empty again. */
char	*buf_take(struct buf *);

/*
 * A JSON string literal, or null for NULL.  It is valid YAML too, read
 * back byte for byte: besides what JSON must escape (", \, controls),
 * DEL, NEL, LS, PS and a BOM go as \u escapes, since YAML folds the
 * line breaks in a quoted string and takes a BOM for a mark.
 */
void	 json_str(struct buf *, const char *);
/*
 * `"key":value,` members: json_kstr writes nothing for a NULL value;
 * the key is escaped like a value.  json_end takes back a trailing comma
 * and closes the object or array with close ('}' or ']').
 */
void	 json_kstr(struct buf *, const char *, const char *);
void	 json_kint(struct buf *, const char *, long long);
void	 json_end(struct buf *, char);

/* A Prometheus label value: backslash, double quote and newline escaped. */
void	 prom_label(struct buf *, const char *);
/* # HELP and # TYPE of metric PREFIX_name. */
void	 prom_head(struct buf *, const char *, const char *, const char *,
	    const char *);

#endif
