/*
 * http - a minimal blocking HTTP/1.1 POST client, for webhooks.
 *
 * One request per connection, plain http only.  It keeps no state
 * between calls and no global state beyond errno, so a forked child of
 * the daemon may call it.  Sockets are close-on-exec, and a peer that
 * closes early cannot raise SIGPIPE.
 */
#ifndef HTTP_H
#define HTTP_H

#include <stddef.h>

/* Big enough for any message http_post writes into err. */
#define HTTP_ERRSZ	128

/*
 * POSTs len bytes of body (NULL when len is 0) to url, which must be
 * http://host[:port][/path][?query][#fragment]; host may be a name,
 * an IPv4 address or a bracketed IPv6 one ("[::1]").  The fragment is
 * not sent.  https:// is refused ("https is not supported: use
 * http://"), as is a url with whitespace, a control character or a
 * user name in it.
 *
 * headers is NULL or a NULL-terminated array of "Name: value" strings
 * sent as they are.  The request always carries Host, Content-Length
 * and Connection: close, which headers may not set, and
 * Content-Type: application/json and User-Agent: jobrun unless headers
 * set their own.  A header with a CR or LF in it is refused.
 *
 * Name resolution aside (getaddrinfo cannot be bounded), the whole
 * exchange takes at most timeout_ms, which must be positive.  Only the
 * status line is read; interim 1xx responses are skipped and the rest
 * is discarded.
 *
 * Returns the status code (100-599), leaving err alone.  Otherwise
 * returns -1 and, unless err is NULL or errlen 0, writes a short
 * message into err, such as "connection refused", "timed out after 5s"
 * or "bad status line", cut to fit errlen like snprintf.
 */
int	 http_post(const char *url, const char *const *headers,
	    const char *body, size_t len, int timeout_ms, char *err,
	    size_t errlen);

#endif
