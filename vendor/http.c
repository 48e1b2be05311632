/*
 * http - a minimal blocking HTTP/1.1 POST client, for webhooks.
 *
 * The socket is non-blocking from the start and every wait is a poll
 * against one deadline, so a peer that stalls while accepting, reading
 * or answering costs at most the timeout, never more.
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "http.h"

#define DIGITS		"0123456789"
#define URLMAX		8192	/* longer is a mistake, not a webhook */
#define LINEMAX		1024	/* longest response line read */

struct url {
	char		 host[256];
	char		 port[6];
	const char	*auth;		/* host[:port] as written, for Host: */
	size_t		 authlen;
	const char	*path;		/* path and query, possibly empty */
	size_t		 pathlen;
};

/* One exchange: the socket, its deadline and what has been read. */
struct conn {
	int		 fd;
	int		 timeout;	/* ms, for the message */
	long long	 deadline;	/* CLOCK_MONOTONIC ms */
	int		 expired;
	int		 closed;	/* the peer hung up while we sent */
	char		 buf[LINEMAX];
	size_t		 len, used;
	char		 msg[HTTP_ERRSZ];
};

/* Headers the request must carry exactly once, so callers may not add them. */
static const char *const reserved[] = {
	"Host", "Content-Length", "Connection", "Transfer-Encoding",
};

static long long
now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static const char *
timedout(struct conn *c)
{
	c->expired = 1;
	if (c->timeout % 1000 == 0)
		snprintf(c->msg, sizeof(c->msg), "timed out after %ds",
		    c->timeout / 1000);
	else
		snprintf(c->msg, sizeof(c->msg), "timed out after %dms",
		    c->timeout);
	return c->msg;
}

static const char *
syserr(struct conn *c, const char *what)
{
	if (errno == ECONNREFUSED)
		return "connection refused";
	snprintf(c->msg, sizeof(c->msg), "%s: %s", what, strerror(errno));
	return c->msg;
}

/* Waits until the socket is ready for ev, or the deadline passes. */
static const char *
await(struct conn *c, short ev)
{
	struct pollfd	 pfd;
	long long	 left;
	int		 n;

	pfd.fd = c->fd;
	pfd.events = ev;
	for (;;) {
		if ((left = c->deadline - now()) <= 0)
			return timedout(c);
		/* left <= timeout, an int. */
		if ((n = poll(&pfd, 1, (int)left)) > 0)
			return NULL;
		if (n == -1 && errno != EINTR)
			return syserr(c, "poll");
	}
}

static const char *
parseurl(const char *s, struct url *u)
{
	const char	*h, *e, *p;
	size_t		 n, hl, pl;
	int		 port;

	if (strncasecmp(s, "https://", 8) == 0)
		return "https is not supported: use http://";
	if (strncasecmp(s, "http://", 7) != 0)
		return "url must start with http://";
	if (strlen(s) > URLMAX)
		return "url too long";
	for (p = s; *p != '\0'; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return "url has a space or control character in it";
	s += 7;
	n = strcspn(s, "/?#");
	u->auth = s;
	u->authlen = n;
	u->path = s + n;
	u->pathlen = strcspn(u->path, "#");
	if (memchr(s, '@', n) != NULL)
		return "url with a user name is not supported";
	if (*s == '[') {
		if ((e = memchr(s, ']', n)) == NULL)
			return "url has an unclosed [";
		h = s + 1;
		p = e + 1;
	} else {
		h = s;
		p = e = s + strcspn(s, ":/?#");
	}
	if ((hl = (size_t)(e - h)) == 0)
		return "url has no host";
	if (hl >= sizeof(u->host))
		return "url host too long";
	memcpy(u->host, h, hl);
	u->host[hl] = '\0';
	if (p == s + n) {
		strcpy(u->port, "80");
		return NULL;
	}
	pl = (size_t)(s + n - p - 1);
	if (*p != ':' || pl == 0 || pl > 5 || strspn(p + 1, DIGITS) < pl ||
	    (port = atoi(p + 1)) < 1 || port > 65535)
		return "bad port in url";
	snprintf(u->port, sizeof(u->port), "%d", port);
	return NULL;
}

/* Whether the caller's headers are safe to send, and which they set. */
static const char *
checkhdrs(struct conn *c, const char *const *h, int *ct, int *ua)
{
	const char	*p;
	size_t		 n, i;

	for (; h != NULL && *h != NULL; h++) {
		/* A CR or LF would let a value start a header of its own. */
		if (strpbrk(*h, "\r\n") != NULL)
			return "header has a CR or LF in it";
		for (p = *h; *p != '\0'; p++)
			if (((unsigned char)*p < ' ' && *p != '\t') ||
			    *p == 0x7f)
				return "header has a control character in it";
		n = strcspn(*h, ":");
		for (i = 0; i < n && (*h)[i] > ' '; i++)
			;
		if (n == 0 || i < n || (*h)[n] == '\0')
			return "header is not \"Name: value\"";
		for (i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
			if (strlen(reserved[i]) == n &&
			    strncasecmp(*h, reserved[i], n) == 0) {
				snprintf(c->msg, sizeof(c->msg),
				    "header %s is set by http_post",
				    reserved[i]);
				return c->msg;
			}
		*ct |= n == 12 && strncasecmp(*h, "Content-Type", n) == 0;
		*ua |= n == 10 && strncasecmp(*h, "User-Agent", n) == 0;
	}
	return NULL;
}

/* The whole request in one buffer, so it leaves in as few segments. */
static char *
request(const struct url *u, const char *const *h, int ct, int ua,
    const char *body, size_t len, size_t *reqlen)
{
	FILE	*f;
	char	*s = NULL;

	if ((f = open_memstream(&s, reqlen)) == NULL)
		return NULL;
	fprintf(f, "POST %s%.*s HTTP/1.1\r\nHost: %.*s\r\n",
	    u->pathlen > 0 && *u->path == '/' ? "" : "/", (int)u->pathlen,
	    u->path, (int)u->authlen, u->auth);
	for (; h != NULL && *h != NULL; h++)
		fprintf(f, "%s\r\n", *h);
	if (!ct)
		fputs("Content-Type: application/json\r\n", f);
	if (!ua)
		fputs("User-Agent: jobrun\r\n", f);
	fprintf(f, "Content-Length: %zu\r\nConnection: close\r\n\r\n", len);
	if (len > 0)
		fwrite(body, 1, len, f);
	if ((ferror(f) | fclose(f)) != 0) {
		free(s);
		return NULL;
	}
	return s;
}

static const char *
attempt(struct conn *c, const struct addrinfo *ai)
{
	const char	*msg;
	socklen_t	 elen = sizeof(int);
	int		 e = 0;

	c->fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, ai->ai_protocol);
	if (c->fd == -1)
		return syserr(c, "socket");
	if (connect(c->fd, ai->ai_addr, ai->ai_addrlen) == 0)
		return NULL;
	if (errno != EINPROGRESS && errno != EINTR)
		return syserr(c, "connect");
	if ((msg = await(c, POLLOUT)) != NULL)
		return msg;
	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &elen) == -1)
		return syserr(c, "connect");
	errno = e;
	return e == 0 ? NULL : syserr(c, "connect");
}

/* Tries each address in turn: "localhost" may be ::1 first, say. */
static const char *
dial(struct conn *c, const struct url *u)
{
	struct addrinfo	 hints, *res, *ai;
	const char	*msg = "no address";
	int		 rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if ((rc = getaddrinfo(u->host, u->port, &hints, &res)) != 0) {
		snprintf(c->msg, sizeof(c->msg), "cannot resolve %.64s: %s",
		    u->host, rc == EAI_SYSTEM ? strerror(errno) :
		    gai_strerror(rc));
		return c->msg;
	}
	for (ai = res; ai != NULL && !c->expired; ai = ai->ai_next) {
		if ((msg = attempt(c, ai)) == NULL)
			break;
		if (c->fd != -1)
			close(c->fd);
		c->fd = -1;
	}
	freeaddrinfo(res);
	return msg;
}

static const char *
sendall(struct conn *c, const char *p, size_t n)
{
	const char	*msg;
	ssize_t		 w;

	while (n > 0) {
		/* Not a signal when the peer has gone: we are in a daemon. */
		if ((w = send(c->fd, p, n, MSG_NOSIGNAL)) >= 0) {
			p += w;
			n -= (size_t)w;
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			if ((msg = await(c, POLLOUT)) != NULL)
				return msg;
		} else if (errno != EINTR) {
			c->closed = errno == EPIPE || errno == ECONNRESET;
			return syserr(c, "send");
		}
	}
	return NULL;
}

/* The next line of the response, without its CR LF, in c->buf. */
static const char *
nextline(struct conn *c, char **line)
{
	const char	*msg;
	char		*nl;
	ssize_t		 r;

	memmove(c->buf, c->buf + c->used, c->len - c->used);
	c->len -= c->used;
	while ((nl = memchr(c->buf, '\n', c->len)) == NULL) {
		if (c->len == sizeof(c->buf) - 1)
			return "response line too long";
		r = recv(c->fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len,
		    0);
		if (r > 0)
			c->len += (size_t)r;
		else if (r == 0 && c->len == 0)
			return "connection closed without a response";
		else if (r == 0)	/* a last line without its LF */
			break;
		else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			if ((msg = await(c, POLLIN)) != NULL)
				return msg;
		} else if (errno != EINTR)
			return syserr(c, "recv");
	}
	if (nl == NULL)
		nl = c->buf + c->len;
	c->used = (size_t)(nl - c->buf) + (nl < c->buf + c->len);
	if (nl > c->buf && nl[-1] == '\r')
		nl--;
	*nl = '\0';
	*line = c->buf;
	return NULL;
}

/* "HTTP/1.1 200 OK" (the reason may be missing): the code, or -1. */
static int
statuscode(const char *s)
{
	const char	*pat = "HTTP/d.d ddd";
	int		 i, code;

	for (i = 0; pat[i] != '\0'; i++)
		if (pat[i] == 'd' ? s[i] < '0' || s[i] > '9' : s[i] != pat[i])
			return -1;
	if (s[i] != '\0' && s[i] != ' ')
		return -1;
	code = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
	return code >= 100 && code <= 599 ? code : -1;
}

static const char *
response(struct conn *c, int *code)
{
	const char	*msg;
	char		*line;

	for (;;) {
		if ((msg = nextline(c, &line)) != NULL)
			return msg;
		if ((*code = statuscode(line)) == -1)
			return "bad status line";
		/* Other 1xx are interim: the real answer follows. */
		if (*code >= 200 || *code == 101)
			return NULL;
		do {
			if ((msg = nextline(c, &line)) != NULL)
				return msg;
		} while (*line != '\0');
	}
}

static const char *
exchange(struct conn *c, const struct url *u, const char *req,
    size_t reqlen, int *code)
{
	const char	*msg, *rmsg;

	if ((msg = dial(c, u)) != NULL)
		return msg;
	if ((msg = sendall(c, req, reqlen)) != NULL && !c->closed)
		return msg;
	/* A server may answer (413, say) and hang up before the body ends. */
	rmsg = response(c, code);
	return msg != NULL && rmsg != NULL ? msg : rmsg;
}

int
http_post(const char *url, const char *const *headers, const char *body,
    size_t len, int timeout_ms, char *err, size_t errlen)
{
	struct conn	 c;
	struct url	 u;
	const char	*msg;
	char		*req = NULL;
	size_t		 reqlen;
	int		 ct = 0, ua = 0, code = -1;

	memset(&c, 0, sizeof(c));
	c.fd = -1;
	c.timeout = timeout_ms;
	c.deadline = now() + timeout_ms;
	if (url == NULL)
		msg = "no url";
	else if (timeout_ms <= 0)
		msg = "timeout must be positive";
	else if (body == NULL && len > 0)
		msg = "no body";
	else if ((msg = parseurl(url, &u)) != NULL ||
	    (msg = checkhdrs(&c, headers, &ct, &ua)) != NULL)
		;
	else if ((req = request(&u, headers, ct, ua, body, len,
	    &reqlen)) == NULL)
		msg = "out of memory";
	else
		msg = exchange(&c, &u, req, reqlen, &code);
	if (c.fd != -1)
		close(c.fd);
	free(req);
	if (msg == NULL)
		return code;
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s", msg);
	return -1;
}
